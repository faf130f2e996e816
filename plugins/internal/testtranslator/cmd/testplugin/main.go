// Command testplugin serves testtranslator as a plugin process for the host's and the SDK
// harness's tests; the plugin option "mode" chooses how it misbehaves.
package main

import (
	"os"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/internal/testtranslator"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

func main() {
	t := testtranslator.New(sdk.Options())
	if t.Mode() == testtranslator.ExitAtStart {
		os.Exit(2)
	}
	sdk.Serve(t)
}
