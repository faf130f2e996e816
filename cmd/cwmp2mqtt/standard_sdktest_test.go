package main

import (
	"path/filepath"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/sdktest"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard/standardtest"
)

// TestSDKTestBothDataModels is the vendor harness on the standard translator, as the gateway
// ships it: in process, and out of process as the gateway binary's `cwmp2mqtt plugin standard`.
// The TR-098 and the TR-181 device each get every key probed; keys only the other data model
// has must come back absent, not unknown.
func TestSDKTestBothDataModels(t *testing.T) {
	csv := func(name string) map[string]sdk.Value {
		p, err := standardtest.ParamsFromCSV(filepath.Join("..", "..", "plugins", "sdk", "standard", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The same options both ways: the plugin reads them from its environment (sdk.Options).
	options := map[string]string{standard.OptionPeriodicInformInterval: "600", standard.OptionBoolAsNumber: "true"}
	opts, err := standard.ParseOptions(options)
	if err != nil {
		t.Fatal(err)
	}
	sdktest.Run(t, standard.New(opts), sdktest.Config{
		Main:    ".", // this directory: the gateway binary
		Args:    []string{"plugin", "standard"},
		Options: options,
		SetValues: map[string]any{
			"wifi.ssid.1.passphrase":    "correct horse battery",
			"wifi.ssid.1.security_mode": "WPA2-Personal",
		},
	}, sdktest.Case{
		Name: "TR-098 BM632w dump",
		Device: sdk.DeviceInfo{ID: "202BC1-BM632w-8KA8WA1151100043", Manufacturer: "Huawei Technologies Co., Ltd.",
			OUI: "202BC1", ProductClass: "BM632w", SerialNumber: "8KA8WA1151100043", Root: standard.RootTR098},
		Params: csv("datamodel-huawei-bm632w-tr098.csv"),
		Want:   sdk.State{"model": standard.ModelVersion, "wan.ipv4_address": "172.3.89.139"},
	}, sdktest.Case{
		Name:   "TR-181 router",
		Device: sdk.DeviceInfo{ID: "ACME-Router-1", Manufacturer: "Acme", Root: standard.RootTR181},
		Params: csv("tr181-router.csv"),
		Want:   sdk.State{"model": standard.ModelVersion},
	})
}
