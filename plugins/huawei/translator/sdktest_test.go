package translator

import (
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/sdktest"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/standard"
)

// TestSDKTest is the test a vendor keeps in its own CI (docs/plugins.md, Testing): the gateway's
// harness on the translator in process and as the built plugin binary, on the BM632w's real
// parameters. The BM632w is TR-098 without PPP, so wan.ipv6_address (TR-181 only) must come back
// absent, wifi.radio.1.band and .standard read-only in TR-098, wan.ppp_username absent; anything
// else refused or uncovered fails.
func TestSDKTest(t *testing.T) {
	options := map[string]string{standard.OptionParameterKey: "huawei"}
	opts, err := standard.ParseOptions(options)
	if err != nil {
		t.Fatal(err)
	}
	sdktest.Run(t, New(opts), sdktest.Config{
		Main:    "github.com/cwmp2mqtt/cwmp2mqtt/plugins/huawei", // or "..", relative to this directory
		Options: options,
		// Writable keys whose default sample ("sdktest", 1, true …) the translator rightly refuses.
		SetValues: map[string]any{
			"huawei.firewall_level":         "high",
			"huawei.wifi.radio.1.bandwidth": "20/40",
			"wifi.ssid.1.passphrase":        "correct horse battery",
			"wifi.ssid.1.security_mode":     "WPA2-Personal",
		},
	}, sdktest.Case{
		Name: "BM632w dump", Device: bm632w, Params: params(t),
		Want: sdk.State{"huawei.telnet_enabled": true, "huawei.firewall_level": "low", "huawei.wimax.rssi": -43.7},
	})
}
