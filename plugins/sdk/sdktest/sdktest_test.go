package sdktest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/internal/testtranslator"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/sdktest"
)

var box = sdk.DeviceInfo{ID: "00D09E-TestBox-S1", Manufacturer: "Acme", OUI: "00D09E", ProductClass: "TestBox", SerialNumber: "S1", Root: "Device."}

func cases() []sdktest.Case {
	params := testtranslator.Params100()
	params["Device.DeviceInfo.UpTime"] = sdk.Value{Value: "3600", Type: "unsignedInt"}
	return []sdktest.Case{
		{Name: "periodic inform", Device: box, Params: params, Events: []string{"2 PERIODIC"},
			Want: sdk.State{"device.uptime": 3600, "wifi.ssids.2.ssid": "acme-2", "wifi.ssids.2.enabled": true}},
		{Name: "bootstrap", Device: box, Params: map[string]sdk.Value{}},
	}
}

func TestRunPassesAGoodTranslatorInProcessAndAsPlugin(t *testing.T) {
	sdktest.Run(t, testtranslator.New(nil), sdktest.Config{
		Main:    testtranslator.MainPackage,
		Options: map[string]string{"mode": "normal"},
	}, cases()...)
}

// broken gets the contract wrong in the ways vendors do.
type broken struct{ *testtranslator.Translator }

// Normalize answers a number as a string and a key it never declared.
func (broken) Normalize(sdk.NormalizeRequest) (sdk.State, error) {
	return sdk.State{"device.uptime": "3600", "wifi.ssid": "x"}, nil
}

// ResolveGet silently drops what it does not know.
func (broken) ResolveGet(req sdk.GetRequest) (sdk.GetPlan, error) { return sdk.GetPlan{}, nil }

// DenormalizeSet forgets the passphrase.
func (b broken) DenormalizeSet(req sdk.SetRequest) (sdk.SetPlan, error) {
	if _, ok := req.Values["wifi.access_points.1.passphrase"]; ok {
		return sdk.SetPlan{}, nil
	}
	return b.Translator.DenormalizeSet(req)
}

// TestRunReportsABrokenTranslator runs the harness on a broken translator in a child test
// process and checks it fails, saying why.
func TestRunReportsABrokenTranslator(t *testing.T) {
	if os.Getenv("SDKTEST_BROKEN") == "1" {
		sdktest.Run(t, broken{testtranslator.New(nil)}, sdktest.Config{}, cases()...)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunReportsABrokenTranslator$", "-test.v")
	cmd.Env = append(os.Environ(), "SDKTEST_BROKEN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the harness passed a broken translator:\n%s", out)
	}
	for _, want := range []string{
		`key "device.uptime": string value for type integer`,
		`key "wifi.ssid" is not exposed`,
		"ResolveGet device.uptime: readable key not covered",
		"Unknown = [], want exactly [sdktest.no_such_key]",
		"DenormalizeSet wifi.access_points.1.passphrase: writable key produces no RPC",
		"sdktest.Config.Main not set",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("harness output lacks %q:\n%s", want, out)
		}
	}
}
