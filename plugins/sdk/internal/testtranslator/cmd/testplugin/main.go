// Command testplugin serves testtranslator as a plugin process for the host's and the SDK
// harness's tests; the plugin option "mode" chooses how it misbehaves.
package main

import (
	"fmt"
	"os"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator"
)

func main() {
	t := testtranslator.New(sdk.Options())
	switch t.Mode() {
	case testtranslator.ExitAtStart:
		os.Exit(1)
	case testtranslator.BadOption:
		fmt.Fprintln(os.Stderr, "testplugin: option n: not a number")
		os.Exit(2)
	}
	sdk.Serve(t)
}
