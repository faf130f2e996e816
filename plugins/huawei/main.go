// Command huawei is the example vendor translator: a plugin process the gateway starts for
// Huawei CPEs (CPE → cwmp → bridge → mqtt → platform, with this process beside the bridge).
// Copy this folder to write your own: main only reads the plugin options and serves the
// translator package, which tests use in process.
package main

import (
	"fmt"
	"os"

	huawei "github.com/cwmp2mqtt/cwmp2mqtt/plugins/huawei/translator"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard"
)

func main() {
	opts, err := standard.ParseOptions(sdk.Options())
	if err != nil {
		fmt.Fprintln(os.Stderr, "huawei translator:", err)
		os.Exit(2)
	}
	opts.Logger = newLogger(sdk.Logger())
	sdk.Serve(huawei.New(opts))
}
