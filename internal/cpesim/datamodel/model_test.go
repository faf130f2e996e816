package datamodel

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

func huaweiModel(t *testing.T) *Model {
	t.Helper()
	m, err := LoadTR098Huawei()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func faultCode(t *testing.T, err error) int {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *datamodel.Error", err)
	}
	return e.Code
}

func TestLoadTR098HuaweiKnownParameters(t *testing.T) {
	m := huaweiModel(t)
	if got := m.Root(); got != "InternetGatewayDevice." {
		t.Errorf("Root = %q", got)
	}
	// 1006 data rows - 4 DeviceID rows - 210 objects.
	if got := m.Len(); got != 792 {
		t.Errorf("Len = %d parameters, want 792", got)
	}
	id := m.DeviceID()
	if id.Manufacturer != "Huawei Technologies Co., Ltd." || id.OUI != "202BC1" || id.ProductClass != "BM632w" || id.SerialNumber != "8KA8WA1151100043" {
		t.Errorf("DeviceID = %+v", id)
	}
	for _, want := range []Param{
		{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", Type: TypeString, Value: "V100R001IRQC56B017"},
		{Name: "InternetGatewayDevice.DeviceInfo.UpTime", Type: TypeUnsignedInt, Value: "213138"},
		{Name: "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", Type: TypeUnsignedInt, Value: "300", Writable: true},
		{Name: "InternetGatewayDevice.DeviceInfo.X_HUAWEI_ServiceManage.TelnetPort", Type: TypeInt, Value: "23", Writable: true},
		{Name: "InternetGatewayDevice.Time.CurrentLocalTime", Type: TypeDateTime, Value: "2013-08-16T17:14:42.000Z"},
		{Name: "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.DNSServers", Type: TypeString, Value: "5.42.195.218,5.42.195.219", Writable: true},
		{Name: "InternetGatewayDevice.LANDevice.1.Hosts.Host.1.Active", Type: TypeBoolean, Value: "true"},
		{Name: "InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.DHCPStaticAddress.", Object: true, Writable: true},
	} {
		got, ok := m.Lookup(want.Name)
		if !ok {
			t.Errorf("%s missing", want.Name)
			continue
		}
		if got.Object != want.Object || got.Writable != want.Writable || got.Type != want.Type || got.Value != want.Value {
			t.Errorf("%s = %+v, want %+v", want.Name, got, want)
		}
	}
}

func TestLoadTR181GeneratedSubset(t *testing.T) {
	m, err := LoadTR181()
	if err != nil {
		t.Fatal(err)
	}
	if m.Root() != "Device." {
		t.Errorf("Root = %q", m.Root())
	}
	if n := m.Len(); n < 500 {
		t.Errorf("only %d parameters", n)
	}
	for name, want := range map[string]Param{
		"Device.WiFi.SSID.2.SSID":                          {Type: TypeString, Value: "SimNet-2", Writable: true},
		"Device.WiFi.SSIDNumberOfEntries":                  {Type: TypeUnsignedInt, Value: "2"},
		"Device.ManagementServer.PeriodicInformInterval":   {Type: TypeUnsignedInt, Value: "300", Writable: true},
		"Device.ManagementServer.ConnectionRequestURL":     {Type: TypeString, Value: "http://127.0.0.1:7548/"},
		"Device.Ethernet.Interface.1.Stats.BytesSent":      {Type: TypeUnsignedLong, Value: "0"},
		"Device.Hosts.Host.1.IPAddress":                    {Type: TypeString, Value: "192.168.1.101"},
		"Device.DeviceInfo.UpTime":                         {Type: TypeUnsignedInt, Value: "3600"},
		"Device.IP.Interface.2.IPv4Address.1.IPAddress":    {Type: TypeString, Value: "10.0.0.2", Writable: true},
		"Device.DHCPv4.Server.Pool.1.StaticAddress.":       {Object: true, Writable: true},
		"Device.NAT.PortMapping.":                          {Object: true, Writable: true},
		"Device.Hosts.Host.":                               {Object: true}, // readOnly table
		"Device.ManagementServer.PeriodicInformEnable":     {Type: TypeBoolean, Value: "true", Writable: true},
		"Device.Time.CurrentLocalTime":                     {Type: TypeDateTime, Value: "2025-01-01T00:00:00Z"},
		"Device.DNS.Client.Server.1.DNSServer":             {Type: TypeString, Value: "9.9.9.9", Writable: true},
		"Device.WiFi.AccessPoint.1.Security.ModeEnabled":   {Type: TypeString, Writable: true, Value: mustLookup(t, m, "Device.WiFi.AccessPoint.1.Security.ModeEnabled").Value},
		"Device.IP.Diagnostics.IPPing.NumberOfRepetitions": {Type: TypeUnsignedInt, Writable: true, Value: mustLookup(t, m, "Device.IP.Diagnostics.IPPing.NumberOfRepetitions").Value},
	} {
		got, ok := m.Lookup(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if got.Object != want.Object || got.Writable != want.Writable || got.Type != want.Type || got.Value != want.Value {
			t.Errorf("%s = %+v, want %+v", name, got, want)
		}
	}
	if _, ok := m.Lookup("Device.NAT.PortMapping.{i}."); ok {
		t.Error("templates must be invisible")
	}
}

func mustLookup(t *testing.T, m *Model, name string) Param {
	p, ok := m.Lookup(name)
	if !ok {
		t.Fatalf("%s missing", name)
	}
	return p
}

func TestLoadCSVErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no header column": "Parameter,Object,Writable,Value\nA.B,false,false,1\n",
		"bad type":         "Parameter,Object,Writable,Value,Value type\nA.B,false,false,1,xsd:float\n",
		"value not int":    "Parameter,Object,Writable,Value,Value type\nA.B,false,false,x,xsd:int\n",
		"empty":            "",
		"duplicate":        "Parameter,Object,Writable,Value,Value type\nA.B,false,false,1,xsd:int\nA.B,false,false,1,xsd:int\n",
		"under parameter":  "Parameter,Object,Writable,Value,Value type\nA.B,false,false,1,xsd:int\nA.B.C,false,false,1,xsd:int\n",
		"two roots":        "Parameter,Object,Writable,Value,Value type\nA.B,false,false,1,xsd:int\nC.D,false,false,1,xsd:int\n",
		"unknown DeviceID": "Parameter,Object,Writable,Value,Value type\nDeviceID.Colour,false,false,red,xsd:string\n",
	} {
		if _, err := LoadCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func names(list []soap.ParameterInfo) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.Name
	}
	return out
}

func TestChecklist37GetParameterNamesSemantics(t *testing.T) {
	m := huaweiModel(t)
	// Empty path, NextLevel: only the root object.
	got, err := m.Names("", true)
	if err != nil || !slices.Equal(names(got), []string{"InternetGatewayDevice."}) {
		t.Fatalf(`Names("", true) = %v, %v`, names(got), err)
	}
	// Empty path, whole tree: every object and parameter.
	all, err := m.Names("", false)
	if err != nil || len(all) != 792+210 {
		t.Fatalf(`Names("", false) = %d entries, %v; want 1002`, len(all), err)
	}
	// Partial path, NextLevel: direct children only, objects with a trailing dot.
	got, err = m.Names("InternetGatewayDevice.ManagementServer.", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].Name != "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword" || !got[0].Writable {
		t.Errorf("ManagementServer children = %+v", got)
	}
	got, _ = m.Names("InternetGatewayDevice.LANDevice.1.Hosts.", true)
	if !slices.Contains(names(got), "InternetGatewayDevice.LANDevice.1.Hosts.Host.") {
		t.Errorf("Hosts. children = %v", names(got))
	}
	// Partial path, not NextLevel: the object itself first, then all below.
	got, _ = m.Names("InternetGatewayDevice.ManagementServer.", false)
	if len(got) != 11 || got[0].Name != "InternetGatewayDevice.ManagementServer." {
		t.Errorf("ManagementServer subtree = %v", names(got))
	}
	// A parameter: itself; with NextLevel 9003.
	got, err = m.Names("InternetGatewayDevice.DeviceInfo.UpTime", false)
	if err != nil || len(got) != 1 || got[0].Writable {
		t.Errorf("UpTime = %+v, %v", got, err)
	}
	if _, err := m.Names("InternetGatewayDevice.DeviceInfo.UpTime", true); faultCode(t, err) != soap.FaultCPEInvalidArguments {
		t.Errorf("NextLevel on a parameter: %v", err)
	}
	// Unknown names and an object without its dot: 9005.
	for _, bad := range []string{"InternetGatewayDevice.Nope.", "InternetGatewayDevice.DeviceInfo", "Device."} {
		if _, err := m.Names(bad, false); faultCode(t, err) != soap.FaultCPEInvalidParameterName {
			t.Errorf("Names(%q): %v", bad, err)
		}
	}
}

func TestGetParameterValuesPartialPaths(t *testing.T) {
	m := huaweiModel(t)
	got, err := m.Values([]string{"InternetGatewayDevice.ManagementServer.", "InternetGatewayDevice.DeviceInfo.UpTime"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 11 {
		t.Fatalf("got %d values", len(got))
	}
	byName := map[string]soap.Value{}
	for _, pv := range got {
		byName[pv.Name] = pv.Value
	}
	if v := byName["InternetGatewayDevice.ManagementServer.PeriodicInformEnable"]; v != (soap.Value{Type: "boolean", Raw: "true"}) {
		t.Errorf("PeriodicInformEnable = %+v", v)
	}
	if v := byName["InternetGatewayDevice.DeviceInfo.UpTime"]; v != (soap.Value{Type: "unsignedInt", Raw: "213138"}) {
		t.Errorf("UpTime = %+v", v)
	}
	// Passwords read empty, though stored.
	if v := byName["InternetGatewayDevice.ManagementServer.ConnectionRequestPassword"]; v.Raw != "" {
		t.Errorf("password read as %q", v.Raw)
	}
	if pv, _ := m.Get("InternetGatewayDevice.ManagementServer.ConnectionRequestPassword"); pv.Value.Raw != "69t0mkjya1" {
		t.Errorf("stored password = %q", pv.Value.Raw)
	}
	all, err := m.Values([]string{""})
	if err != nil || len(all) != 792 {
		t.Errorf("whole tree: %d values, %v", len(all), err)
	}
	if _, err := m.Values([]string{"InternetGatewayDevice.DeviceInfo.Nope"}); faultCode(t, err) != soap.FaultCPEInvalidParameterName {
		t.Errorf("unknown name: %v", err)
	}
}

func TestSetParameterValuesFaults(t *testing.T) {
	m := huaweiModel(t)
	const interval = "InternetGatewayDevice.ManagementServer.PeriodicInformInterval"
	err := m.SetValues([]soap.ParameterValue{
		{Name: interval, Value: soap.Value{Type: "unsignedInt", Raw: "60"}},
		{Name: "InternetGatewayDevice.Nope", Value: soap.Value{Type: "string", Raw: "x"}},
		{Name: "InternetGatewayDevice.DeviceInfo.UpTime", Value: soap.Value{Type: "unsignedInt", Raw: "1"}},
		{Name: "InternetGatewayDevice.ManagementServer.PeriodicInformEnable", Value: soap.Value{Type: "boolean", Raw: "maybe"}},
		{Name: "InternetGatewayDevice.DeviceInfo.X_HUAWEI_ServiceManage.TelnetPort", Value: soap.Value{Type: "string", Raw: "23"}},
		{Name: "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", Value: soap.Value{Type: "unsignedInt", Raw: "-5"}},
	})
	var se *SetError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *SetError", err)
	}
	var codes []int
	for _, f := range se.Faults {
		codes = append(codes, f.Code)
	}
	want := []int{soap.FaultCPEInvalidParameterName, soap.FaultCPENonWritableParameter, soap.FaultCPEInvalidParameterValue,
		soap.FaultCPEInvalidParameterType, soap.FaultCPEInvalidParameterValue}
	if !slices.Equal(codes, want) {
		t.Errorf("fault codes = %v, want %v", codes, want)
	}
	// All or nothing: the good one was not applied.
	if pv, _ := m.Get(interval); pv.Value.Raw != "300" {
		t.Errorf("interval = %s after refused set", pv.Value.Raw)
	}
	// A good set applies; a boolean sent as 1 is stored as true (checklist 35).
	if err := m.SetValues([]soap.ParameterValue{
		{Name: interval, Value: soap.Value{Type: "unsignedInt", Raw: "60"}},
		{Name: "InternetGatewayDevice.ManagementServer.PeriodicInformEnable", Value: soap.Value{Type: "boolean", Raw: "0"}},
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Values([]string{interval, "InternetGatewayDevice.ManagementServer.PeriodicInformEnable"})
	if got[0].Value.Raw != "60" || got[1].Value.Raw != "false" {
		t.Errorf("after set: %+v", got)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	a := huaweiModel(t)
	b := a.Clone()
	if err := b.Set("InternetGatewayDevice.DeviceInfo.UpTime", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddObject("InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.DHCPStaticAddress."); err != nil {
		t.Fatal(err)
	}
	if pv, _ := a.Get("InternetGatewayDevice.DeviceInfo.UpTime"); pv.Value.Raw != "213138" {
		t.Errorf("clone's Set leaked into the original: %s", pv.Value.Raw)
	}
	if _, ok := a.Lookup("InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.DHCPStaticAddress.1."); ok {
		t.Error("clone's AddObject leaked into the original")
	}
	if a.Len() != 792 {
		t.Errorf("original Len = %d", a.Len())
	}
}

func TestAddDeleteObjectFromTemplate(t *testing.T) {
	m, err := LoadTR181()
	if err != nil {
		t.Fatal(err)
	}
	const table = "Device.NAT.PortMapping."
	n, err := m.AddObject(table)
	if err != nil || n != 1 {
		t.Fatalf("AddObject = %d, %v", n, err)
	}
	p, ok := m.Lookup("Device.NAT.PortMapping.1.ExternalPort")
	if !ok || p.Type != TypeUnsignedInt || !p.Writable || p.Value != "0" {
		t.Errorf("new instance param = %+v, %v", p, ok)
	}
	if err := m.SetValues([]soap.ParameterValue{{Name: "Device.NAT.PortMapping.1.ExternalPort", Value: soap.Value{Type: "unsignedInt", Raw: "8080"}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Names(table, true)
	if !slices.Equal(names(got), []string{"Device.NAT.PortMapping.1."}) || !got[0].Writable {
		t.Errorf("table children = %+v", got)
	}
	if n, _ := m.AddObject(table); n != 2 {
		t.Errorf("second instance = %d", n)
	}
	if err := m.DeleteObject("Device.NAT.PortMapping.1."); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get("Device.NAT.PortMapping.1.ExternalPort"); faultCode(t, err) != soap.FaultCPEInvalidParameterName {
		t.Errorf("deleted parameter still readable: %v", err)
	}
	// Instance numbers are not reused.
	if n, _ := m.AddObject(table); n != 3 {
		t.Errorf("after delete, instance = %d, want 3", n)
	}
	// A recreated name does not inherit the deleted value.
	for _, bad := range []struct {
		path string
		code int
	}{
		{"Device.Hosts.Host.", soap.FaultCPEInvalidParameterName},     // read-only table
		{"Device.DeviceInfo.", soap.FaultCPEInvalidParameterName},     // not a table
		{"Device.NAT.PortMapping", soap.FaultCPEInvalidParameterName}, // no dot
		{"Device.Nope.", soap.FaultCPEInvalidParameterName},
	} {
		if _, err := m.AddObject(bad.path); faultCode(t, err) != bad.code {
			t.Errorf("AddObject(%q): %v", bad.path, err)
		}
	}
	for _, bad := range []string{"Device.Hosts.Host.1.", "Device.DeviceInfo.", "Device.NAT.PortMapping.9.", "Device.NAT.PortMapping."} {
		if err := m.DeleteObject(bad); faultCode(t, err) != soap.FaultCPEInvalidParameterName {
			t.Errorf("DeleteObject(%q): %v", bad, err)
		}
	}
}

func TestAddObjectWithoutTemplateCopiesInstance(t *testing.T) {
	m := huaweiModel(t)
	const table = "InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.DHCPConditionalServingPool."
	n, err := m.AddObject(table)
	if err != nil || n != 5 {
		t.Fatalf("AddObject = %d, %v; want 5 after 4 existing", n, err)
	}
	p, ok := m.Lookup(table + "5.Enable")
	if !ok || p.Type != TypeBoolean || p.Value != "false" || !p.Writable {
		t.Errorf("copied parameter = %+v, %v", p, ok)
	}
	// An empty table without template gets an empty instance.
	n, err = m.AddObject("InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.DHCPStaticAddress.")
	if err != nil || n != 1 {
		t.Errorf("empty table AddObject = %d, %v", n, err)
	}
}

func TestParameterAttributes(t *testing.T) {
	m := huaweiModel(t)
	err := m.SetAttributes([]soap.SetParameterAttribute{
		{Name: "InternetGatewayDevice.ManagementServer.", NotificationChange: true, Notification: 2},
		{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", NotificationChange: true, Notification: 1, AccessListChange: true, AccessList: []string{"Subscriber"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Attributes([]string{"InternetGatewayDevice.ManagementServer.URL", "InternetGatewayDevice.DeviceInfo.SoftwareVersion", "InternetGatewayDevice.DeviceInfo.UpTime"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Notification != 2 || got[1].Notification != 1 || !slices.Equal(got[1].AccessList, []string{"Subscriber"}) || got[2].Notification != 0 {
		t.Errorf("attributes = %+v", got)
	}
	// Active notification on UpTime is refused with 9009, and nothing of the call applies.
	err = m.SetAttributes([]soap.SetParameterAttribute{
		{Name: "InternetGatewayDevice.DeviceInfo.HardwareVersion", NotificationChange: true, Notification: 2},
		{Name: "InternetGatewayDevice.DeviceInfo.UpTime", NotificationChange: true, Notification: 2},
	})
	if faultCode(t, err) != soap.FaultCPENotificationRejected {
		t.Errorf("UpTime active: %v", err)
	}
	if p, _ := m.Lookup("InternetGatewayDevice.DeviceInfo.HardwareVersion"); p.Notification != 0 {
		t.Error("refused SetAttributes partly applied")
	}
	if err := m.SetAttributes([]soap.SetParameterAttribute{{Name: "X.", NotificationChange: true}}); faultCode(t, err) != soap.FaultCPEInvalidParameterName {
		t.Errorf("unknown: %v", err)
	}
}
