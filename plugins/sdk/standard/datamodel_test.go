package standard

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// modelOf is the data model of raw parameters: the names, as GetParameterNames lists them
// (parameters; objects follow from Has on partial paths).
func modelOf(params map[string]sdk.Value, drop ...string) *sdk.DataModel {
	names := slices.Collect(maps.Keys(params))
	names = slices.DeleteFunc(names, func(n string) bool {
		return slices.ContainsFunc(drop, func(d string) bool { return strings.HasPrefix(n, d) })
	})
	return sdk.NewDataModel(names)
}

// A get without keys on an interviewed device names nothing its data model lacks: the Huawei
// BM632w has no DeviceInfo.ProcessStatus, MemoryStatus or Time, which the tables alone would read.
func TestResolveGetNamesOnlyWhatTheDeviceHas(t *testing.T) {
	tr := New(Options{})
	dev := sdk.DeviceInfo{Root: RootTR098}
	model := modelOf(huaweiParams(t))
	const cpu = "InternetGatewayDevice.DeviceInfo.ProcessStatus.CPUUsage"
	blind, err := tr.ResolveGet(sdk.GetRequest{Device: dev})
	if err != nil || !slices.Contains(blind.Names, cpu) {
		t.Fatalf("without the data model the plan reads %v (%v): want %s, the case this test is about", blind.Names, err, cpu)
	}
	plan, err := tr.ResolveGet(sdk.GetRequest{Device: dev, Model: model})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range plan.Names {
		if !model.Has(n) {
			t.Errorf("plan names %s, which the device lacks", n)
		}
	}
	for _, want := range []string{"InternetGatewayDevice.DeviceInfo.UpTime", "InternetGatewayDevice.WANDevice.",
		"InternetGatewayDevice.LANDevice.1.WLANConfiguration.", "InternetGatewayDevice.LANDevice.1.Hosts.Host."} {
		if !slices.Contains(plan.Names, want) {
			t.Errorf("plan lacks %s: %v", want, plan.Names)
		}
	}
	if len(plan.Missing) != 0 || len(plan.Unknown) != 0 {
		t.Errorf("a get without keys rejects nothing: %+v", plan)
	}
}

// An asked key whose parameter the device lacks is Missing, with the parameter; the others are
// planned as usual.
func TestResolveGetMissingKeyNamesTheParameter(t *testing.T) {
	tr := New(Options{})
	plan, err := tr.ResolveGet(sdk.GetRequest{Device: sdk.DeviceInfo{Root: RootTR098}, Model: modelOf(huaweiParams(t)),
		Keys: []string{"device.cpu_usage", "wifi.ssid.9.ssid", "device.uptime"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"device.cpu_usage": "InternetGatewayDevice.DeviceInfo.ProcessStatus.CPUUsage",
		"wifi.ssid.9.ssid": "InternetGatewayDevice.LANDevice.1.WLANConfiguration.9.SSID",
	}
	if !maps.Equal(plan.Missing, want) || !slices.Equal(plan.Names, []string{"InternetGatewayDevice.DeviceInfo.UpTime"}) {
		t.Errorf("plan %+v, want missing %v and only UpTime read", plan, want)
	}
}

// The TR-098 passphrase goes to the parameter the device has: KeyPassphrase, else
// PreSharedKey.1.KeyPassphrase, else PreSharedKey.1.PreSharedKey (the Huawei BM632w); a device
// with none rejects the key naming the parameter. Unknown model: KeyPassphrase, as before.
func TestDenormalizeSetPassphraseWhereTheDeviceHasIt(t *testing.T) {
	tr := New(Options{})
	params := huaweiParams(t)
	const wlan = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1."
	withKP := maps.Clone(params)
	withKP[wlan+"PreSharedKey.1.KeyPassphrase"] = sdk.Value{Type: "string"}
	for _, c := range []struct {
		name  string
		model *sdk.DataModel
		want  string // the parameter written, "" rejected
	}{
		{"unknown model", nil, wlan + "KeyPassphrase"},
		{"Huawei", modelOf(params), wlan + "PreSharedKey.1.PreSharedKey"},
		{"PreSharedKey.1.KeyPassphrase", modelOf(withKP), wlan + "PreSharedKey.1.KeyPassphrase"},
		{"none", modelOf(params, wlan+"PreSharedKey."), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan, err := tr.DenormalizeSet(sdk.SetRequest{Device: sdk.DeviceInfo{Root: RootTR098}, Params: params, Model: c.model,
				Values: map[string]any{"wifi.ssid.1.passphrase": "correct horse battery"}})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if why := plan.Rejected["wifi.ssid.1.passphrase"]; !strings.Contains(why, wlan+"KeyPassphrase") ||
					plan.Codes["wifi.ssid.1.passphrase"] != sdk.RejectAbsent || len(plan.RPCs) != 0 {
					t.Errorf("plan %+v: want the key rejected absent, naming %sKeyPassphrase", plan, wlan)
				}
				return
			}
			if len(plan.Rejected) != 0 || len(plan.RPCs) != 1 {
				t.Fatalf("plan %+v", plan)
			}
			if p := plan.RPCs[0].Args["parameters"].([]any)[0].([]any); p[0] != c.want {
				t.Errorf("wrote %v, want %s", p[0], c.want)
			}
		})
	}
}

// lan.* in TR-181 hang on the interface the first DHCPv4 pool names: a get of them reads the
// pools too, or the LAN interface is never known and the keys never appear.
func TestResolveGetTR181LANReadsTheDHCPPool(t *testing.T) {
	tr := New(Options{})
	plan, err := tr.ResolveGet(sdk.GetRequest{Device: sdk.DeviceInfo{Root: RootTR181}, Keys: []string{"lan.ipv4_address", "lan.ipv4_netmask"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Device.DHCPv4.Server.Pool.", "Device.IP.Interface."}; !slices.Equal(plan.Names, want) {
		t.Errorf("names %v, want %v", plan.Names, want)
	}
	// And what they read is enough: the state of those tables alone has the LAN keys.
	params := routerParams(t)
	read := map[string]sdk.Value{}
	for n, v := range params {
		if strings.HasPrefix(n, "Device.DHCPv4.Server.Pool.") || strings.HasPrefix(n, "Device.IP.Interface.") {
			read[n] = v
		}
	}
	st, err := tr.Normalize(sdk.NormalizeRequest{Device: sdk.DeviceInfo{Root: RootTR181}, Params: read})
	if err != nil {
		t.Fatal(err)
	}
	if st["lan.ipv4_address"] == nil || st["lan.ipv4_netmask"] == nil {
		t.Errorf("state of the read tables lacks lan.*: %v", st)
	}
}
