package standard

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard/standardtest"
)

func csvParams(t testing.TB, file string) map[string]sdk.Value {
	t.Helper()
	p, err := standardtest.ParamsFromCSV(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func huaweiParams(t testing.TB) map[string]sdk.Value {
	return csvParams(t, "datamodel-huawei-bm632w-tr098.csv")
}

func routerParams(t testing.TB) map[string]sdk.Value { return csvParams(t, "tr181-router.csv") }

// informParams reads the ParameterList of a captured Inform (enough XML for a fixture; the
// real decoding is internal/cwmp/soap's job).
func informParams(t *testing.T, path string) map[string]sdk.Value {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Params []struct {
			Name  string `xml:"Name"`
			Value struct {
				Type string `xml:"type,attr"`
				Text string `xml:",chardata"`
			} `xml:"Value"`
		} `xml:"Body>Inform>ParameterList>ParameterValueStruct"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]sdk.Value{}
	for _, p := range doc.Params {
		_, typ, _ := strings.Cut(p.Value.Type, ":")
		out[p.Name] = sdk.Value{Value: p.Value.Text, Type: typ}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no parameters", path)
	}
	return out
}

func normalize(t *testing.T, tr *Translator, dev sdk.DeviceInfo, params map[string]sdk.Value) (sdk.State, []Skip) {
	t.Helper()
	st, skips, err := tr.NormalizeReport(sdk.NormalizeRequest{Device: dev, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return st, skips
}

func wantValues(t *testing.T, st sdk.State, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if got, ok := st[k]; !ok || got != w {
			t.Errorf("%s = %#v (present %v), want %#v", k, got, ok, w)
		}
	}
}

func TestNormalizeHuaweiTR098(t *testing.T) {
	st, skips := normalize(t, New(Options{}), sdk.DeviceInfo{ID: "202BC1-BM632w-8KA8WA1151100043"}, huaweiParams(t))
	standardtest.Golden(t, "huawei-bm632w-tr098", st)
	wantValues(t, st, map[string]any{
		"model":                               ModelVersion,
		"device.manufacturer":                 "Huawei Technologies Co., Ltd.",
		"device.firmware":                     "V100R001IRQC56B017",
		"device.uptime":                       int64(213138),
		"device.current_time":                 "2013-08-16T17:14:42Z",
		"wan.access_type":                     "WiMAX",
		"wan.connection_type":                 "dhcp",
		"wan.status":                          "connected",
		"wan.ipv4_address":                    "172.3.89.139",
		"wan.gateway":                         "172.16.0.1",
		"wan.dns_servers":                     "5.42.195.218,5.42.195.219",
		"wan.bytes_received":                  int64(971470946),
		"lan.ipv4_address":                    "192.168.1.1",
		"lan.dhcp_server_enabled":             true,
		"lan.dhcp_pool_start":                 "192.168.1.2",
		"lan.dhcp_lease_time":                 int64(86400),
		"wifi.radio.1.channel":                int64(6),
		"wifi.radio.1.band":                   "2.4GHz",
		"wifi.radio.1.auto_channel":           true,
		"wifi.ssid.1.ssid":                    "404 WiMAX Not Found",
		"wifi.ssid.1.radio":                   int64(1),
		"wifi.ssid.1.clients":                 int64(3),
		"wifi.ssid.1.security_mode":           "WPAWPA2", // not a TR-098 BeaconType: passed through
		"hosts.count":                         int64(6),
		"hosts.6.mac":                         "20:10:7a:08:4d:43",
		"hosts.3.name":                        "Lena-PC",
		"hosts.1.active":                      true,
		"management.periodic_inform_interval": int64(300),
		"management.periodic_inform_enabled":  true,
		"management.connection_request_url":   "http://127.0.0.1:57543/",
	})
	for k := range st {
		if strings.Contains(k, "passphrase") {
			t.Errorf("write-only key %s published", k)
		}
	}
	if len(skips) != 0 {
		t.Errorf("skips on a clean dump: %+v", skips)
	}
}

// The Sagemcom capture carries three IP interfaces; the WAN is the one holding the
// connection-request host, not the private 172.21/12 one.
func TestNormalizeSagemcomFixture07(t *testing.T) {
	params := informParams(t, filepath.Join("testdata", "07-sagemcom-router-hgw4-inform-periodic-tr181.xml"))
	st, skips := normalize(t, New(Options{}), sdk.DeviceInfo{Root: RootTR181}, params)
	standardtest.Golden(t, "sagemcom-07-tr181", st)
	wantValues(t, st, map[string]any{
		"wan.ipv4_address":                  "2.110.222.109",
		"device.firmware":                   "SG72113250226",
		"management.parameter_key":          "96da521ed9bc97819416c8a5afb2e245",
		"management.connection_request_url": "http://2.110.222.109:7548/jkflHRnJu3gaSEvt",
	})
	if _, ok := st["lan.ipv4_address"]; ok {
		t.Error("no DHCP pool names the LAN interface: lan.ipv4_address must stay unknown")
	}
	if len(skips) != 0 {
		t.Errorf("skips: %+v", skips)
	}
}

func TestNormalizeTR181Router(t *testing.T) {
	st, skips := normalize(t, New(Options{}), sdk.DeviceInfo{}, routerParams(t))
	standardtest.Golden(t, "router-tr181", st)
	wantValues(t, st, map[string]any{
		"wan.ipv4_address":            "203.0.113.7",
		"wan.ipv6_address":            "2001:db8:7::7", // the link-local fe80:: one is skipped
		"wan.gateway":                 "203.0.113.1",
		"wan.dns_servers":             "203.0.113.53,198.51.100.53", // server 2 is disabled
		"wan.connection_type":         "dhcp",
		"wan.status":                  "connected",
		"wan.bytes_received":          int64(72000000000),
		"lan.ipv4_address":            "192.168.1.1",
		"lan.dhcp_pool_end":           "192.168.1.200",
		"wifi.ssid.1.radio":           int64(1),
		"wifi.ssid.2.radio":           int64(2),
		"wifi.radio.2.transmit_power": int64(-1),
		// AccessPoint 1 serves SSID 2 and AccessPoint 2 SSID 1.
		"wifi.ssid.1.security_mode": "WPA2-Personal",
		"wifi.ssid.1.clients":       int64(3),
		"wifi.ssid.2.security_mode": "WPA3-Personal-Transition",
		"wifi.ssid.2.broadcast":     false,
		"hosts.1.interface":         "wifi",
		"hosts.2.interface":         "ethernet",
		"device.current_time":       "2016-01-31T13:28:09+01:00",
	})
	if len(skips) != 1 || skips[0].Key != "hosts.2.active" || skips[0].Param != "Device.Hosts.Host.2.Active" {
		t.Errorf("want exactly the empty hosts.2.active skipped, got %+v", skips)
	}
}

// Checklist 34: odd values never fail the call; each is skipped with a reason.
func TestChecklist34OddValuesSkippedAndReported(t *testing.T) {
	params := map[string]sdk.Value{
		"InternetGatewayDevice.DeviceInfo.UpTime":                             {Value: "", Type: "unsignedInt"},
		"InternetGatewayDevice.DeviceInfo.ProcessStatus.CPUUsage":             {Value: "12%", Type: "unsignedInt"},
		"InternetGatewayDevice.ManagementServer.PeriodicInformEnable":         {Value: "yes", Type: "boolean"},
		"InternetGatewayDevice.Time.CurrentLocalTime":                         {Value: "yesterday", Type: "dateTime"},
		"InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel":       {Value: "0", Type: "unsignedInt"},
		"InternetGatewayDevice.DeviceInfo.SoftwareVersion":                    {Value: "1.0", Type: ""},
		"InternetGatewayDevice.DeviceInfo.MemoryStatus.Total":                 {Value: "18446744073709551615", Type: "unsignedLong"},
		"InternetGatewayDevice.LANDevice.1.Hosts.Host.99999999999.MACAddress": {Value: "x", Type: "string"},
		"InternetGatewayDevice.A.1.B.2.C.3.D.4.E.5.F.6.G.7.H":                 {Value: "deep", Type: "string"},
	}
	st, skips := normalize(t, New(Options{}), sdk.DeviceInfo{}, params)
	want := map[string]string{
		"device.uptime":                      "empty value",
		"device.cpu_usage":                   "not an integer",
		"management.periodic_inform_enabled": "not a boolean (true, false, 1, 0)",
		"device.current_time":                "not a dateTime",
		"wifi.radio.1.band":                  "channel outside the 2.4 and 5 GHz bands",
		"device.memory_total":                "not an integer",
	}
	got := map[string]string{}
	for _, s := range skips {
		got[s.Key] = s.Reason
		if !strings.HasPrefix(s.Param, "InternetGatewayDevice.") {
			t.Errorf("skip %+v does not name the raw parameter", s)
		}
	}
	for k, r := range want {
		if got[k] != r {
			t.Errorf("skip %s: reason %q, want %q", k, got[k], r)
		}
		if _, ok := st[k]; ok {
			t.Errorf("%s published despite its odd value", k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("skips %v, want %v", got, want)
	}
	wantValues(t, st, map[string]any{"device.firmware": "1.0", "wifi.radio.1.channel": int64(0)})
}

// Checklist 35: booleans arrive as true/false/1/0 in any case.
func TestChecklist35BooleanSpellings(t *testing.T) {
	for raw, want := range map[string]bool{"true": true, "1": true, "TRUE": true, " True ": true, "false": false, "0": false, "False": false} {
		st, _ := normalize(t, New(Options{}), sdk.DeviceInfo{}, map[string]sdk.Value{
			"Device.ManagementServer.PeriodicInformEnable": {Value: raw, Type: "boolean"}})
		if st["management.periodic_inform_enabled"] != want {
			t.Errorf("%q → %v, want %v", raw, st["management.periodic_inform_enabled"], want)
		}
	}
}

// Checklist 32: dateTime with Z, offset, no zone, fractions; 0001-01-01 means unknown.
func TestChecklist32DateTimes(t *testing.T) {
	cases := map[string]any{
		"2013-08-16T17:14:42.000Z":  "2013-08-16T17:14:42Z",
		"2016-01-31T13:28:09+01:00": "2016-01-31T13:28:09+01:00",
		"2016-01-31T13:28:09.25":    "2016-01-31T13:28:09.25",
		"2016-01-31T13:28:09":       "2016-01-31T13:28:09",
		"2016-01-31T13:28:09+0100":  "2016-01-31T13:28:09+01:00",
		"0001-01-01T00:00:00Z":      nil,
		"1970-01-01T00:00:00Z":      "1970-01-01T00:00:00Z",
	}
	for raw, want := range cases {
		st, skips := normalize(t, New(Options{}), sdk.DeviceInfo{}, map[string]sdk.Value{
			"Device.Time.CurrentLocalTime": {Value: raw, Type: "dateTime"}})
		got, ok := st["device.current_time"]
		if want == nil {
			if ok || len(skips) != 1 || skips[0].Reason != errUnknownTime.Error() {
				t.Errorf("%q: want skipped as unknown, got %v %+v", raw, got, skips)
			}
			continue
		}
		if got != want {
			t.Errorf("%q → %v, want %v", raw, got, want)
		}
	}
}

func TestNormalizeRootDetection(t *testing.T) {
	tr := New(Options{})
	st, _ := normalize(t, tr, sdk.DeviceInfo{}, nil)
	if len(st) != 1 || st[KeyModel] != ModelVersion {
		t.Errorf("empty params: %v", st)
	}
	_, _, err := tr.NormalizeReport(sdk.NormalizeRequest{Params: map[string]sdk.Value{".ExternalIPAddress": {Value: "1.2.3.4"}}})
	if err != ErrUnknownRoot {
		t.Errorf("rootless names: err %v, want ErrUnknownRoot", err)
	}
	// TR-098 objects under a TR-106 Device. root (Thomson SpeedTouch full tree, fixture 20).
	st, _ = normalize(t, tr, sdk.DeviceInfo{Root: RootTR181}, map[string]sdk.Value{
		"Device.DeviceInfo.SoftwareVersion":                                             {Value: "5.4.0.14"},
		"Device.WANDevice.1.WANConnectionDevice.3.WANPPPConnection.1.ExternalIPAddress": {Value: "81.1.2.3"},
		"Device.WANDevice.1.WANConnectionDevice.3.WANPPPConnection.1.ConnectionStatus":  {Value: "Connected"},
		"Device.WANDevice.1.WANConnectionDevice.3.WANPPPConnection.1.TransportType":     {Value: "PPPoA"},
	})
	wantValues(t, st, map[string]any{"wan.ipv4_address": "81.1.2.3", "wan.connection_type": "pppoa",
		"wan.status": "connected", "device.firmware": "5.4.0.14"})
}

// The default connection named by Layer3Forwarding wins over the first connected one.
func TestNormalizeTR098DefaultConnectionService(t *testing.T) {
	const c1 = "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1."
	const c2 = "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.2.WANPPPConnection.1."
	params := map[string]sdk.Value{
		c1 + "ExternalIPAddress": {Value: "10.0.0.2"}, c1 + "ConnectionStatus": {Value: "Connected"},
		c2 + "ExternalIPAddress": {Value: "81.1.2.3"}, c2 + "ConnectionStatus": {Value: "Connected"},
		c2 + "Username": {Value: "user@isp"},
	}
	st, _ := normalize(t, New(Options{}), sdk.DeviceInfo{}, params)
	if st["wan.ipv4_address"] != "10.0.0.2" {
		t.Errorf("without DefaultConnectionService the first path wins, got %v", st["wan.ipv4_address"])
	}
	params["InternetGatewayDevice.Layer3Forwarding.DefaultConnectionService"] = sdk.Value{Value: strings.TrimSuffix(c2, ".")}
	st, _ = normalize(t, New(Options{}), sdk.DeviceInfo{}, params)
	wantValues(t, st, map[string]any{"wan.ipv4_address": "81.1.2.3", "wan.ppp_username": "user@isp", "wan.connection_type": "ppp"})
}

func BenchmarkNormalizeHuaweiTR098(b *testing.B) {
	params := huaweiParams(b)
	tr := New(Options{})
	req := sdk.NormalizeRequest{Device: sdk.DeviceInfo{Root: RootTR098}, Params: params}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Normalize(req); err != nil {
			b.Fatal(err)
		}
	}
}
