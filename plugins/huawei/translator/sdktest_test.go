package translator_test

import (
	"os"
	"strings"
	"testing"

	huawei "github.com/cwmp2mqtt/cwmp2mqtt/plugins/huawei/translator"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/sdktest"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard/standardtest"
)

// TestSDKTest is the test a vendor keeps in its own CI, as docs/plugins.md (Testing) shows it:
// the gateway's harness on the translator in process and as the built plugin binary, on the
// BM632w's real parameters. The BM632w is TR-098 with an IP WAN, so wan.ipv6_address (TR-181
// only) must come back absent, wifi.radio.1.band and .standard read-only in TR-098,
// wan.ppp_username absent; any other key refused or not covered fails.
func TestSDKTest(t *testing.T) {
	// The same options both ways: the plugin process reads them with sdk.Options().
	options := map[string]string{standard.OptionParameterKey: "huawei"}
	opts, err := standard.ParseOptions(options)
	if err != nil {
		t.Fatal(err)
	}
	params, err := standardtest.ParamsFromCSV("testdata/datamodel-huawei-bm632w-tr098.csv")
	if err != nil {
		t.Fatal(err)
	}
	bm632w := sdk.DeviceInfo{ID: "202BC1-BM632w-8KA8WA1151100043", Manufacturer: huawei.Manufacturer,
		OUI: huawei.OUI, ProductClass: huawei.ProductClass, SerialNumber: "8KA8WA1151100043",
		Root: standard.RootTR098}
	sdktest.Run(t, huawei.New(opts), sdktest.Config{
		Main:    "github.com/cwmp2mqtt/cwmp2mqtt/plugins/huawei", // or "./cmd/acme-translator"
		Options: options,
		// Writable keys whose default sample ("sdktest", 1, true …) the translator rightly refuses.
		SetValues: map[string]any{
			"huawei.firewall_level":         "high",
			"huawei.wifi.radio.1.bandwidth": "20/40",
			"wifi.ssid.1.passphrase":        "correct horse battery",
			"wifi.ssid.1.security_mode":     "WPA2-Personal",
		},
	}, sdktest.Case{
		Name: "BM632w dump", Device: bm632w, Params: params,
		Want: sdk.State{"huawei.telnet_enabled": true, "huawei.firewall_level": "low", "huawei.wimax.rssi": -43.7},
	})
}

// The vendor guide shows TestSDKTest as it stands here, so copying it copies a passing test.
func TestDocShowsTestSDKTest(t *testing.T) {
	body := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(b), "func TestSDKTest(t *testing.T) {\n")
		fn, _, closed := strings.Cut(rest, "\n}\n")
		if !ok || !closed {
			t.Fatalf("%s shows no func TestSDKTest", path)
		}
		return fn
	}
	if doc, code := body("../../../docs/plugins.md"), body("sdktest_test.go"); doc != code {
		t.Errorf("docs/plugins.md shows another TestSDKTest than sdktest_test.go:\n%s\n---\n%s", doc, code)
	}
}
