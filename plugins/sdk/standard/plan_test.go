package standard

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

func TestResolveGet(t *testing.T) {
	tr := New(Options{})
	igd := sdk.DeviceInfo{Root: RootTR098}
	cases := []struct {
		name    string
		dev     sdk.DeviceInfo
		keys    []string
		want    []string
		unknown []string
	}{
		{"exact", igd, []string{"wifi.ssid.1.ssid", "device.uptime"},
			[]string{"InternetGatewayDevice.DeviceInfo.UpTime", "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"}, nil},
		{"wildcard instance", igd, []string{"wifi.ssid.*.ssid"},
			[]string{"InternetGatewayDevice.LANDevice.1.WLANConfiguration."}, nil},
		{"prefix with instance", igd, []string{"hosts.2"}, []string{
			"InternetGatewayDevice.LANDevice.1.Hosts.Host.2.Active",
			"InternetGatewayDevice.LANDevice.1.Hosts.Host.2.HostName",
			"InternetGatewayDevice.LANDevice.1.Hosts.Host.2.IPAddress",
			"InternetGatewayDevice.LANDevice.1.Hosts.Host.2.InterfaceType",
			"InternetGatewayDevice.LANDevice.1.Hosts.Host.2.MACAddress"}, nil},
		{"prefix covers its names", igd, []string{"hosts", "hosts.1.mac"}, []string{
			"InternetGatewayDevice.LANDevice.1.Hosts.Host.",
			"InternetGatewayDevice.LANDevice.1.Hosts.HostNumberOfEntries"}, nil},
		{"WAN is read from its table", igd, []string{"wan.ipv4_address"}, []string{"InternetGatewayDevice.WANDevice."}, nil},
		{"unknown kept", igd, []string{"wifi.ssid.1.colour", "", "wifi.ssid.x.ssid"}, nil,
			[]string{"wifi.ssid.1.colour", "", "wifi.ssid.x.ssid"}},
		{"TR-181 derived keys read their sources", sdk.DeviceInfo{Root: RootTR181}, []string{"wan.gateway", "wan.dns_servers"},
			[]string{"Device.DNS.Client.Server.", "Device.Routing.Router."}, nil},
		{"TR-181 access point keys read the whole table", sdk.DeviceInfo{Root: RootTR181}, []string{"wifi.ssid.2.clients"},
			[]string{"Device.WiFi.AccessPoint."}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := tr.ResolveGet(sdk.GetRequest{Device: c.dev, Keys: c.keys})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(plan.Names, c.want) || !slices.Equal(plan.Unknown, c.unknown) {
				t.Errorf("names %q unknown %q\nwant  %q unknown %q", plan.Names, plan.Unknown, c.want, c.unknown)
			}
		})
	}
	if _, err := tr.ResolveGet(sdk.GetRequest{Keys: []string{"device.uptime"}}); err != ErrNoRoot {
		t.Errorf("no root: err %v", err)
	}
}

func spv(params ...[]any) sdk.RPC {
	list := make([]any, len(params))
	for i, p := range params {
		list[i] = p
	}
	return sdk.RPC{Method: "SetParameterValues", Args: map[string]any{"parameters": list, "parameter_key": ""}}
}

func TestDenormalizeSetTR098(t *testing.T) {
	tr := New(Options{})
	params := huaweiParams(t)
	plan, err := tr.DenormalizeSet(sdk.SetRequest{
		Device: sdk.DeviceInfo{Root: RootTR098},
		Params: params,
		Values: map[string]any{
			"wifi.ssid.1.ssid":                    "guest",
			"wifi.ssid.1.passphrase":              "correct horse battery",
			"wifi.ssid.1.security_mode":           "WPA2-Personal",
			"wifi.radio.1.channel":                float64(11), // as decoded from JSON
			"wifi.radio.1.auto_channel":           false,
			"management.periodic_inform_interval": json.Number("600"),
			"wan.enabled":                         "1",
			// refused
			"wifi.ssid.2.ssid":                      "no such SSID",
			"wifi.ssid.1.clients":                   int64(4),
			"wifi.radio.1.standard":                 "n",
			"wifi.radio.1.band":                     "5GHz",
			"device.colour":                         "blue",
			"wifi.ssid.1.enabled":                   "maybe",
			"wifi.radio.1.transmit_power":           -5,
			"management.periodic_inform_interval.x": 1,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const wlan = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1."
	want := []sdk.RPC{spv(
		[]any{"InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "600", "xsd:unsignedInt"},
		[]any{"InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.Enable", "true", "xsd:boolean"},
		[]any{wlan + "AutoChannelEnable", "false", "xsd:boolean"},
		[]any{wlan + "Channel", "11", "xsd:unsignedInt"},
		[]any{wlan + "KeyPassphrase", "correct horse battery", "xsd:string"},
		[]any{wlan + "BeaconType", "11i", "xsd:string"},
		[]any{wlan + "SSID", "guest", "xsd:string"},
	)}
	if !reflect.DeepEqual(plan.RPCs, want) {
		t.Errorf("RPCs\n%v\nwant\n%v", plan.RPCs, want)
	}
	wantRejected := map[string]string{
		"wifi.ssid.2.ssid":                      reasonNoInstance,
		"wifi.ssid.1.clients":                   reasonReadOnly,
		"wifi.radio.1.standard":                 reasonModelAccess,
		"wifi.radio.1.band":                     reasonModelAccess,
		"device.colour":                         reasonUnknown,
		"wifi.ssid.1.enabled":                   `expects a boolean, got "maybe"`,
		"wifi.radio.1.transmit_power":           "-5 is out of range for unsignedInt",
		"management.periodic_inform_interval.x": reasonUnknown,
	}
	if !reflect.DeepEqual(plan.Rejected, wantRejected) {
		t.Errorf("rejected\n%v\nwant\n%v", plan.Rejected, wantRejected)
	}
	// The codes tell the device's lacks from the request's faults.
	wantCodes := map[string]sdk.RejectCode{
		"wifi.ssid.2.ssid":                      sdk.RejectAbsent,
		"wifi.ssid.1.clients":                   sdk.RejectReadOnly,
		"wifi.radio.1.standard":                 sdk.RejectReadOnlyHere,
		"wifi.radio.1.band":                     sdk.RejectReadOnlyHere,
		"device.colour":                         sdk.RejectUnknown,
		"wifi.ssid.1.enabled":                   sdk.RejectInvalid,
		"wifi.radio.1.transmit_power":           sdk.RejectInvalid,
		"management.periodic_inform_interval.x": sdk.RejectUnknown,
	}
	if !reflect.DeepEqual(plan.Codes, wantCodes) {
		t.Errorf("codes\n%v\nwant\n%v", plan.Codes, wantCodes)
	}
}

// A key of the other data model is absent on the device, not unknown: a get goes on without it,
// a set names what the device lacks. "model" needs nothing read: Normalize always gives it.
func TestKeysOfTheOtherDataModelAreAbsent(t *testing.T) {
	tr := New(Options{})
	for _, c := range []struct {
		root          string
		keys          []string
		absent, names []string
	}{
		{RootTR098, []string{"wan.ipv6_address", "model", "device.uptime", "no.such"}, []string{"wan.ipv6_address"},
			[]string{"InternetGatewayDevice.DeviceInfo.UpTime"}},
		{RootTR181, []string{"wan.uptime", "wan.access_type", "wan.ppp_username", "model"},
			[]string{"wan.uptime", "wan.access_type", "wan.ppp_username"}, nil},
	} {
		plan, err := tr.ResolveGet(sdk.GetRequest{Device: sdk.DeviceInfo{Root: c.root}, Keys: c.keys})
		if err != nil {
			t.Fatal(err)
		}
		wantUnknown := slices.DeleteFunc(slices.Clone(c.keys), func(k string) bool { return k != "no.such" })
		if !slices.Equal(plan.Absent, c.absent) || !slices.Equal(plan.Names, c.names) || !slices.Equal(plan.Unknown, wantUnknown) {
			t.Errorf("%s: %+v, want absent %v names %v unknown %v", c.root, plan, c.absent, c.names, wantUnknown)
		}
	}

	plan, err := tr.DenormalizeSet(sdk.SetRequest{Device: sdk.DeviceInfo{Root: RootTR181}, Params: routerParams(t),
		Values: map[string]any{"wan.ppp_username": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Rejected["wan.ppp_username"] != reasonNotInModel || plan.Codes["wan.ppp_username"] != sdk.RejectAbsent {
		t.Errorf("TR-181 ppp_username: %+v", plan)
	}
	plan, err = tr.DenormalizeSet(sdk.SetRequest{Device: sdk.DeviceInfo{Root: RootTR098}, Params: huaweiParams(t),
		Values: map[string]any{"wan.ppp_username": "alice", "wan.enabled": true}})
	if err != nil {
		t.Fatal(err)
	}
	// The BM632w's WAN is an IP connection: no PPP user name to write, but its Enable is there.
	if want := reasonNoInterface("PPP WAN connection"); plan.Rejected["wan.ppp_username"] != want ||
		plan.Codes["wan.ppp_username"] != sdk.RejectAbsent || len(plan.Rejected) != 1 || len(plan.RPCs) != 1 {
		t.Errorf("TR-098 ppp_username: %+v, want rejected %q", plan, want)
	}
}

func TestDenormalizeSetValidation(t *testing.T) {
	tr := New(Options{BoolAsNumber: true, ParameterKey: "k1"})
	dev := sdk.DeviceInfo{Root: RootTR181}
	plan, err := tr.DenormalizeSet(sdk.SetRequest{Device: dev, Values: map[string]any{
		"wifi.ssid.1.ssid":                    "a-name-that-is-longer-than-32-bytes",
		"wifi.ssid.2.passphrase":              "short",
		"wifi.ssid.3.passphrase":              "caf\u00e9-latte-1",
		"wifi.ssid.1.enabled":                 true,
		"management.periodic_inform_interval": 0,
		"lan.dhcp_lease_time":                 1.5,
		"wan.enabled":                         true, // no raw state: the WAN interface is unknown
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.RPC{{Method: "SetParameterValues", Args: map[string]any{"parameter_key": "k1",
		"parameters": []any{[]any{"Device.WiFi.SSID.1.Enable", "1", "xsd:boolean"}}}}}
	if !reflect.DeepEqual(plan.RPCs, want) {
		t.Errorf("RPCs %v, want %v", plan.RPCs, want)
	}
	for key, reason := range map[string]string{
		"wifi.ssid.1.ssid":                    "an SSID has 1 to 32 bytes, got 35",
		"wifi.ssid.2.passphrase":              "a WPA passphrase has 8 to 63 characters (or 64 hex digits)",
		"wifi.ssid.3.passphrase":              "a WPA passphrase is printable ASCII only",
		"management.periodic_inform_interval": "expects an interval of at least 1 s, got 0",
		"lan.dhcp_lease_time":                 "expects an integer, got 1.5",
		"wan.enabled":                         reasonNoContext,
	} {
		if plan.Rejected[key] != reason {
			t.Errorf("%s: rejected %q, want %q", key, plan.Rejected[key], reason)
		}
	}
	// Without raw state nothing is known of the device: no claim that it lacks the WAN.
	if code, ok := plan.Codes["wan.enabled"]; ok {
		t.Errorf("wan.enabled without raw state has code %q", code)
	}
}

// TR-181 security lives on the AccessPoint whose SSIDReference names the SSID; the WAN is the
// interface the scan picked from the last raw state.
func TestDenormalizeSetTR181AccessPointAndWAN(t *testing.T) {
	plan, err := New(Options{}).DenormalizeSet(sdk.SetRequest{Device: sdk.DeviceInfo{Root: RootTR181}, Params: routerParams(t),
		Values: map[string]any{"wifi.ssid.1.passphrase": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"wan.enabled": false, "lan.ipv4_address": "192.168.2.1", "wifi.radio.2.band": "6GHz"}})
	if err != nil {
		t.Fatal(err)
	}
	// One SetParameterValues, parameters in key order.
	want := []sdk.RPC{spv(
		[]any{"Device.IP.Interface.1.IPv4Address.1.IPAddress", "192.168.2.1", "xsd:string"},
		[]any{"Device.IP.Interface.2.Enable", "false", "xsd:boolean"},
		[]any{"Device.WiFi.Radio.2.OperatingFrequencyBand", "6GHz", "xsd:string"},
		[]any{"Device.WiFi.AccessPoint.2.Security.KeyPassphrase", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "xsd:string"},
	)}
	if !reflect.DeepEqual(plan.RPCs, want) || len(plan.Rejected) != 0 {
		t.Errorf("RPCs %v rejected %v\nwant %v", plan.RPCs, plan.Rejected, want)
	}
}

func TestProvision(t *testing.T) {
	params := huaweiParams(t)
	rpcs, err := New(Options{}).Provision(sdk.ProvisionRequest{Device: sdk.DeviceInfo{Root: RootTR098},
		Events: []string{"0 BOOTSTRAP", "1 BOOT"}, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.RPC{
		spv([]any{"InternetGatewayDevice.ManagementServer.PeriodicInformEnable", "true", "xsd:boolean"},
			[]any{"InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt"}),
		{Method: "SetParameterAttributes", Args: map[string]any{"parameters": []any{map[string]any{
			"name": "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress", "notification": NotifyActive}}}},
		{Method: "SetParameterAttributes", Args: map[string]any{"parameters": []any{map[string]any{
			"name": "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID", "notification": NotifyPassive}}}},
	}
	if !reflect.DeepEqual(rpcs, want) {
		t.Errorf("provision\n%v\nwant\n%v", rpcs, want)
	}

	// The Sagemcom Inform: TR-181, WAN from the connection-request host, SSID 1 assumed.
	rpcs, err = New(Options{PeriodicInformInterval: 3600e9, BoolAsNumber: true}).Provision(sdk.ProvisionRequest{
		Device: sdk.DeviceInfo{Root: RootTR181}, Events: []string{"1 BOOT"},
		Params: informParams(t, "testdata/07-sagemcom-router-hgw4-inform-periodic-tr181.xml")})
	if err != nil {
		t.Fatal(err)
	}
	want = []sdk.RPC{
		spv([]any{"Device.ManagementServer.PeriodicInformEnable", "1", "xsd:boolean"},
			[]any{"Device.ManagementServer.PeriodicInformInterval", "3600", "xsd:unsignedInt"}),
		{Method: "SetParameterAttributes", Args: map[string]any{"parameters": []any{map[string]any{
			"name": "Device.IP.Interface.2.IPv4Address.1.IPAddress", "notification": NotifyActive}}}},
		{Method: "SetParameterAttributes", Args: map[string]any{"parameters": []any{map[string]any{
			"name": "Device.WiFi.SSID.1.SSID", "notification": NotifyPassive}}}},
	}
	if !reflect.DeepEqual(rpcs, want) {
		t.Errorf("provision TR-181\n%v\nwant\n%v", rpcs, want)
	}

	for _, events := range [][]string{{"2 PERIODIC"}, {"6 CONNECTION REQUEST"}, nil} {
		rpcs, err := New(Options{}).Provision(sdk.ProvisionRequest{Events: events, Params: params})
		if err != nil || rpcs != nil {
			t.Errorf("%v: want nothing, got %v %v", events, rpcs, err)
		}
	}
	rpcs, _ = New(Options{PeriodicInformInterval: -1}).Provision(sdk.ProvisionRequest{Events: []string{"1 BOOT"}, Params: params})
	if len(rpcs) != 2 || rpcs[0].Method != "SetParameterAttributes" {
		t.Errorf("interval disabled: %v", rpcs)
	}
}

// The RPC args must survive the JSON the bridge speaks, in the documented shapes.
func TestRPCArgsAreBridgeJSON(t *testing.T) {
	rpcs, _ := New(Options{}).Provision(sdk.ProvisionRequest{Events: []string{"0 BOOTSTRAP"}, Params: huaweiParams(t)})
	b, err := json.Marshal(rpcs[0].Args)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"parameter_key":"","parameters":[["InternetGatewayDevice.ManagementServer.PeriodicInformEnable","true","xsd:boolean"],["InternetGatewayDevice.ManagementServer.PeriodicInformInterval","300","xsd:unsignedInt"]]}`
	if string(b) != want {
		t.Errorf("%s\nwant %s", b, want)
	}
	b, _ = json.Marshal(rpcs[2].Args)
	if string(b) != `{"parameters":[{"name":"InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID","notification":1}]}` {
		t.Errorf("SetParameterAttributes args %s", b)
	}
}

func TestDescribe(t *testing.T) {
	d, err := New(Options{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "standard" || d.ModelVersion != "1" || len(d.Match) != 1 || d.Match[0] != (sdk.Match{}) {
		t.Errorf("description %+v", d)
	}
	types := []string{sdk.TypeString, sdk.TypeInteger, sdk.TypeNumber, sdk.TypeBoolean, sdk.TypeDateTime}
	seen := map[string]bool{}
	for _, e := range d.Exposes {
		if seen[e.Key] {
			t.Errorf("%s exposed twice", e.Key)
		}
		seen[e.Key] = true
		if !slices.Contains(types, e.Type) || e.Description == "" {
			t.Errorf("%+v: bad type or no description", e)
		}
		if slices.Contains([]string{"{", "}"}, e.Key) {
			t.Errorf("%s: instances must be written as * for the gateway", e.Key)
		}
	}
	for _, k := range []string{"model", "wifi.ssid.*.passphrase", "hosts.*.mac", "wan.ipv4_address"} {
		if !seen[k] {
			t.Errorf("%s not exposed", k)
		}
	}
}

// Every exposed key is bound in at least one model, and a vendor extension that breaks the
// tables is refused with the key named.
func TestTablesConsistent(t *testing.T) {
	tr := New(Options{})
	for _, e := range standardKeys {
		if e.Key != KeyModel && tr.tr098.byKey[e.Key] == nil && tr.tr181.byKey[e.Key] == nil {
			t.Errorf("%s exposed but bound in no model", e.Key)
		}
	}
	_, err := build(Options{Extensions: []Extension{{TR098: []Binding{{Key: "acme.x", Param: "X_ACME.X", XSD: "string"}}}}})
	if err == nil || err.Error() != `TR-098 binding "acme.x" → "X_ACME.X": key not exposed` {
		t.Errorf("unexposed key: %v", err)
	}
	_, err = build(Options{Extensions: []Extension{{
		Exposes: []sdk.Expose{{Key: "acme.port.{i}.x", Type: "string", Access: sdk.Read}},
		TR181:   []Binding{{Key: "acme.port.{i}.x", Param: "X_ACME.Port.X", XSD: "string"}}}}})
	if err == nil || err.Error() != `TR-181 binding "acme.port.{i}.x" → "X_ACME.Port.X": 0 instances in the parameter, 1 in the key` {
		t.Errorf("instance mismatch: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]string{"periodic_inform_interval": "900", "bool_as_number": "true", "parameter_key": "p"})
	if err != nil || o.PeriodicInformInterval != 900e9 || !o.BoolAsNumber || o.ParameterKey != "p" {
		t.Errorf("%+v %v", o, err)
	}
	if o, err := ParseOptions(map[string]string{"periodic_inform_interval": "5m"}); err != nil || o.PeriodicInformInterval != 300e9 {
		t.Errorf("duration: %+v %v", o, err)
	}
	for opts, want := range map[string]string{
		"periodic_inform_interval=soon": `option periodic_inform_interval: "soon" is neither seconds nor a duration`,
		"periodic_inform_interval=0":    `option periodic_inform_interval: "0" is below 1 s`,
		"bool_as_number=perhaps":        `option bool_as_number: "perhaps" is not a boolean`,
	} {
		k, v, _ := strings.Cut(opts, "=")
		if _, err := ParseOptions(map[string]string{k: v}); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", opts, err, want)
		}
	}
}

// An empty get reads every readable key, and never a write-only one.
func TestResolveGetEmptyMeansAll(t *testing.T) {
	tr := New(Options{})
	for _, root := range []string{RootTR098, RootTR181} {
		plan, err := tr.ResolveGet(sdk.GetRequest{Device: sdk.DeviceInfo{Root: root}})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Names) == 0 || len(plan.Unknown) != 0 {
			t.Fatalf("%s: plan %+v", root, plan)
		}
		joined := strings.Join(plan.Names, " ")
		if !strings.Contains(joined, root+"DeviceInfo.") && !strings.Contains(joined, root+"DeviceInfo.UpTime") {
			t.Errorf("%s: DeviceInfo not read: %v", root, plan.Names)
		}
		for _, n := range plan.Names {
			if strings.Contains(n, "KeyPassphrase") || strings.HasSuffix(n, "PreSharedKey") {
				t.Errorf("%s: write-only passphrase read: %s", root, n)
			}
			if !strings.HasPrefix(n, root) {
				t.Errorf("%s: name outside the root: %s", root, n)
			}
		}
	}
}
