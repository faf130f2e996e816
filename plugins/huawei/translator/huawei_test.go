package translator

import (
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard/standardtest"
)

const dump = "datamodel-huawei-bm632w-tr098.csv"

var bm632w = sdk.DeviceInfo{ID: "202BC1-BM632w-8KA8WA1151100043", Manufacturer: Manufacturer, OUI: OUI,
	ProductClass: ProductClass, SerialNumber: "8KA8WA1151100043", Root: standard.RootTR098}

func params(t testing.TB) map[string]sdk.Value {
	t.Helper()
	p, err := standardtest.ParamsFromCSV(filepath.Join("testdata", dump))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNormalizeBM632w(t *testing.T) {
	st, skips, err := New(standard.Options{}).NormalizeReport(sdk.NormalizeRequest{Device: bm632w, Params: params(t)})
	if err != nil {
		t.Fatal(err)
	}
	standardtest.Golden(t, "huawei-bm632w", st)
	if len(skips) != 0 {
		t.Errorf("skips: %+v", skips)
	}
	for k, want := range map[string]any{
		"huawei.telnet_enabled":              true,
		"huawei.telnet_port":                 int64(23),
		"huawei.firewall_level":              "low",
		"huawei.wifi.radio.1.channel_in_use": int64(9),
		"huawei.wifi.radio.1.transmit_power": int64(12),
		"huawei.wifi.ssid.1.max_clients":     int64(32),
		"huawei.wimax.rssi":                  -43.7,
		"huawei.wimax.frequency":             3532500.0,
		"huawei.wimax.signal_strength":       int64(100),
		"huawei.wan.services":                "INTERNET_TR069_VOICE",
		"huawei.hosts.6.device_type":         "Computer",
		"wifi.ssid.1.security_mode":          "WPA-WPA2-Personal", // Huawei's "WPAWPA2"
		"wifi.ssid.1.clients":                int64(3),            // the standard count, not the limit
		"hosts.1.interface":                  "wifi",              // from Layer2Interface
		"wan.ipv4_address":                   "172.3.89.139",
	} {
		if st[k] != want {
			t.Errorf("%s = %#v, want %#v", k, st[k], want)
		}
	}
}

// Every readable key the translator exposes appears in the state of the full dump with the Go
// type the SDK expects for its Expose type.
func TestHuaweiKeysPresentAndTyped(t *testing.T) {
	tr := New(standard.Options{})
	d, _ := tr.Describe()
	st, err := tr.Normalize(sdk.NormalizeRequest{Device: bm632w, Params: params(t)})
	if err != nil {
		t.Fatal(err)
	}
	goType := map[string]reflect.Type{sdk.TypeString: reflect.TypeFor[string](), sdk.TypeInteger: reflect.TypeFor[int64](),
		sdk.TypeNumber: reflect.TypeFor[float64](), sdk.TypeBoolean: reflect.TypeFor[bool]()}
	for _, e := range d.Exposes {
		if !strings.HasPrefix(e.Key, "huawei.") {
			continue
		}
		re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(e.Key), `\*`, `[0-9]+`) + "$")
		n := 0
		for k, v := range st {
			if re.MatchString(k) {
				n++
				if reflect.TypeOf(v) != goType[e.Type] {
					t.Errorf("%s = %#v: want a %s", k, v, e.Type)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: exposed but absent from the BM632w state", e.Key)
		}
	}
}

// The BM632w dump is the vendor's data-model reference: every Huawei binding names a parameter
// of it, with its type, and writable keys map to writable parameters.
func TestBindingsMatchDataModel(t *testing.T) {
	p := params(t)
	writable, err := standardtest.WritableFromCSV(filepath.Join("testdata", dump))
	if err != nil {
		t.Fatal(err)
	}
	const wanIP = "WANDevice.1.WANConnectionDevice.1.WANIPConnection.1."
	access := map[string]sdk.Access{}
	for _, e := range Extension.Exposes {
		access[e.Key] = e.Access
	}
	for _, b := range Extension.TR098 {
		name := standard.RootTR098 + strings.ReplaceAll(strings.Replace(b.Param, "{wanip}", wanIP, 1), "{i}", "1")
		v, ok := p[name]
		if !ok {
			t.Errorf("%s: %s not in the BM632w data model", b.Key, name)
			continue
		}
		if v.Type != b.XSD {
			t.Errorf("%s: %s is %s, binding says %s", b.Key, name, v.Type, b.XSD)
		}
		if a, ok := access[b.Key]; ok && a != sdk.Read && !writable[name] {
			t.Errorf("%s: writable key on read-only %s", b.Key, name)
		}
	}
}

func setPlan(t *testing.T, opts standard.Options, values map[string]any) sdk.SetPlan {
	t.Helper()
	plan, err := New(opts).DenormalizeSet(sdk.SetRequest{Device: bm632w, Params: params(t), Values: values})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func spv(params ...any) []sdk.RPC {
	return []sdk.RPC{{Method: "SetParameterValues", Args: map[string]any{"parameters": params, "parameter_key": ""}}}
}

// Switching Telnet off is one typed SetParameterValues.
func TestTelnetOff(t *testing.T) {
	const telnet = "InternetGatewayDevice.DeviceInfo.X_HUAWEI_ServiceManage.TelnetEnable"
	plan := setPlan(t, standard.Options{}, map[string]any{"huawei.telnet_enabled": false})
	if want := spv([]any{telnet, "false", "xsd:boolean"}); !reflect.DeepEqual(plan.RPCs, want) || len(plan.Rejected) != 0 {
		t.Errorf("got %v %v, want %v", plan.RPCs, plan.Rejected, want)
	}
	plan = setPlan(t, standard.Options{BoolAsNumber: true}, map[string]any{"huawei.telnet_enabled": "false"})
	if want := spv([]any{telnet, "0", "xsd:boolean"}); !reflect.DeepEqual(plan.RPCs, want) {
		t.Errorf("BoolAsNumber: got %v, want %v", plan.RPCs, want)
	}
}

func TestHuaweiWrites(t *testing.T) {
	const wlan = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1."
	plan := setPlan(t, standard.Options{}, map[string]any{
		"huawei.firewall_level":              "high",
		"wifi.ssid.1.passphrase":             "correct horse battery",
		"wifi.ssid.1.security_mode":          "WPA-WPA2-Personal",
		"huawei.wifi.radio.1.bandwidth":      "40",
		"huawei.wan.dmz_host":                "192.168.1.3",
		"huawei.wifi.radio.1.channel_in_use": 3,
		"huawei.firewall_level.x":            1,
		"huawei.wifi.ssid.1.max_clients":     -1,
	})
	want := spv(
		[]any{"InternetGatewayDevice.X_HUAWEI_FireWall.CurrentLevel", "High", "xsd:string"},
		[]any{"InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.X_HUAWEI_DMZ.DMZHostIPAddress", "192.168.1.3", "xsd:string"},
		[]any{wlan + "X_HUAWEI_Wlan11NBWControl", "40", "xsd:string"},
		[]any{wlan + "PreSharedKey.1.PreSharedKey", "correct horse battery", "xsd:string"},
		[]any{wlan + "BeaconType", "WPAWPA2", "xsd:string"},
	)
	if !reflect.DeepEqual(plan.RPCs, want) {
		t.Errorf("RPCs\n%v\nwant\n%v", plan.RPCs, want)
	}
	wantRejected := map[string]string{
		"huawei.wifi.radio.1.channel_in_use": "read-only key",
		"huawei.firewall_level.x":            "unknown key",
		"huawei.wifi.ssid.1.max_clients":     "-1 is out of range for unsignedInt",
	}
	if !reflect.DeepEqual(plan.Rejected, wantRejected) {
		t.Errorf("rejected %v, want %v", plan.Rejected, wantRejected)
	}
	plan = setPlan(t, standard.Options{}, map[string]any{"huawei.firewall_level": "max", "huawei.wifi.radio.1.bandwidth": "80"})
	if plan.Rejected["huawei.firewall_level"] != "expects one of disabled, high, low, medium" ||
		plan.Rejected["huawei.wifi.radio.1.bandwidth"] != "expects one of 20, 40, 20/40" || plan.RPCs != nil {
		t.Errorf("bad values: %v %v", plan.RPCs, plan.Rejected)
	}
}

func TestDescribeHuawei(t *testing.T) {
	d, err := New(standard.Options{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != Name || d.Version != Version || !reflect.DeepEqual(d.Match, Match) || d.ModelVersion != standard.ModelVersion {
		t.Errorf("description %+v", d)
	}
	keys := map[string]bool{}
	for _, e := range d.Exposes {
		keys[e.Key] = true
	}
	for _, k := range []string{"huawei.firewall_level", "huawei.wifi.radio.*.channel_in_use", "wifi.ssid.*.ssid", "model"} {
		if !keys[k] {
			t.Errorf("%s not exposed", k)
		}
	}
	// The match rules name the device of the dump.
	p, _ := standardtest.ParamsFromCSV(filepath.Join("testdata", dump))
	for name, want := range map[string]string{"DeviceInfo.Manufacturer": Manufacturer, "DeviceInfo.ManufacturerOUI": OUI, "DeviceInfo.ProductClass": ProductClass} {
		if got := p[standard.RootTR098+name].Value; got != want {
			t.Errorf("%s = %q in the dump, match rule says %q", name, got, want)
		}
	}
}

// A Huawei device on TR-181 gets the standard mapping.
func TestHuaweiTR181IsStandard(t *testing.T) {
	st, err := New(standard.Options{}).Normalize(sdk.NormalizeRequest{Device: sdk.DeviceInfo{Root: standard.RootTR181},
		Params: map[string]sdk.Value{"Device.DeviceInfo.UpTime": {Value: "42", Type: "unsignedInt"}}})
	if err != nil || st["device.uptime"] != int64(42) || len(st) != 2 {
		t.Errorf("%v %v", st, err)
	}
}

func BenchmarkNormalizeBM632w(b *testing.B) {
	tr := New(standard.Options{})
	req := sdk.NormalizeRequest{Device: bm632w, Params: params(b)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Normalize(req); err != nil {
			b.Fatal(err)
		}
	}
}
