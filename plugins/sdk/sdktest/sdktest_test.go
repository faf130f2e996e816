package sdktest_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator"
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
	if os.Getenv("SDKTEST_CHILD") == "broken" {
		sdktest.Run(t, broken{testtranslator.New(nil)}, sdktest.Config{}, cases()...)
		return
	}
	failsInChild(t, "broken",
		`key "device.uptime": string value for type integer`,
		`key "wifi.ssid" is not exposed`,
		"ResolveGet device.uptime: readable key not covered",
		"Unknown = [], want exactly [sdktest.no_such_key]",
		"DenormalizeSet wifi.access_points.1.passphrase: writable key produces no RPC",
		"sdktest.Config.Main not set",
	)
}

// claims says keys are missing on the device: absent from ResolveGet, refused by DenormalizeSet
// with a code. Truthfully for keys the case's parameters lack, falsely for others.
type claims struct {
	*testtranslator.Translator
	absent string
	codes  map[string]sdk.RejectCode
}

func (c claims) ResolveGet(req sdk.GetRequest) (sdk.GetPlan, error) {
	rest := slices.DeleteFunc(slices.Clone(req.Keys), func(k string) bool { return k == c.absent })
	plan, err := c.Translator.ResolveGet(sdk.GetRequest{Device: req.Device, Keys: rest})
	if len(rest) < len(req.Keys) {
		plan.Absent = []string{c.absent}
	}
	return plan, err
}

func (c claims) DenormalizeSet(req sdk.SetRequest) (sdk.SetPlan, error) {
	for k := range req.Values {
		if code, ok := c.codes[k]; ok {
			return sdk.SetPlan{Rejected: map[string]string{k: "not on this box"}, Codes: map[string]sdk.RejectCode{k: code}}, nil
		}
	}
	return c.Translator.DenormalizeSet(req)
}

// A device without CPU usage, whose periodic Inform switch is read-only and which has no access
// point passes: the translator says so with GetPlan.Absent and reject codes.
func TestRunAcceptsKeysTheDeviceLacks(t *testing.T) {
	sdktest.Run(t, claims{testtranslator.New(nil), "device.cpu_usage", map[string]sdk.RejectCode{
		"management.periodic_inform_enable": sdk.RejectReadOnlyHere,
		"wifi.access_points.1.passphrase":   sdk.RejectAbsent,
	}}, sdktest.Config{}, cases()...)
}

// Claims of absence are checked against the device's own state, and a writable key refused as
// read-only or unknown is a finding: Absent is no way to hide a broken key.
func TestRunReportsFalseAbsences(t *testing.T) {
	if os.Getenv("SDKTEST_CHILD") == "liar" {
		sdktest.Run(t, claims{testtranslator.New(nil), "device.uptime", map[string]sdk.RejectCode{
			"wifi.ssids.1.ssid":                   sdk.RejectAbsent,
			"management.periodic_inform_interval": sdk.RejectReadOnly,
			"wifi.ssids.1.enabled":                sdk.RejectUnknown,
		}}, sdktest.Config{}, cases()...)
		return
	}
	failsInChild(t, "liar",
		"ResolveGet device.uptime: listed Absent, yet Normalize of the same device's parameters returns it",
		"DenormalizeSet wifi.ssids.1.ssid: rejected as absent (not on this box), yet Normalize of the same device's parameters returns it",
		"DenormalizeSet management.periodic_inform_interval: writable key rejected as read_only: not on this box",
		"DenormalizeSet wifi.ssids.1.enabled: writable key rejected as unknown: not on this box",
	)
}

// failsInChild reruns the calling test in a child process with SDKTEST_CHILD=child and checks
// the harness fails there, its output naming every problem in want.
func failsInChild(t *testing.T, child string, want ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), "SDKTEST_CHILD="+child)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the harness passed a %s translator:\n%s", child, out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("harness output lacks %q:\n%s", w, out)
		}
	}
}
