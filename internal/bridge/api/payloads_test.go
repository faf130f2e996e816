package api_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

var received = time.Date(2024, 5, 1, 9, 12, 3, 418e6, time.UTC)

// mustValid marshals v and checks it against its schema: what the constructors build is what the
// documentation promises.
func mustValid(t *testing.T, schema string, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	if err := apitest.ValidatePayload(schema, b); err != nil {
		t.Errorf("%s payload %s\n%v", schema, b, err)
	}
	return b
}

// thomsonInform mirrors fixtures/real/01 (SpeedTouch 780, periodic, clock unset) with a few
// values of other captures: boolean "1" (14), an empty unsignedInt and a missing type (checklist 34).
func thomsonInform() *soap.Inform {
	return &soap.Inform{
		DeviceID:     soap.DeviceID{Manufacturer: "THOMSON", OUI: "00147F", ProductClass: "SpeedTouch 780", SerialNumber: "CP0644JTHJ4"},
		Events:       []soap.Event{{Code: "2 PERIODIC"}},
		MaxEnvelopes: 2,
		CurrentTime:  soap.ParseDateTime("1970-01-01T00:02:16Z"),
		RetryCount:   0,
		ParameterList: []soap.ParameterValue{
			{Name: "InternetGatewayDevice.DeviceInfo.HardwareVersion", Value: soap.Value{Type: "string", Raw: "BANT-R"}},
			{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", Value: soap.Value{Type: "string", Raw: "7.4.1.7"}},
			{Name: "InternetGatewayDevice.ManagementServer.ConnectionRequestURL", Value: soap.Value{Type: "string", Raw: "http://10.0.0.2:51005/"}},
			{Name: "InternetGatewayDevice.ManagementServer.ParameterKey", Value: soap.Value{Type: "string", Raw: ""}},
			{Name: "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", Value: soap.Value{Type: "unsignedInt", Raw: " 300 "}},
			{Name: "InternetGatewayDevice.X.Enable", Value: soap.Value{Type: "boolean", Raw: "1"}},
			{Name: "InternetGatewayDevice.X.Counter", Value: soap.Value{Type: "unsignedInt", Raw: ""}},
			{Name: "InternetGatewayDevice.X.Offset", Value: soap.Value{Type: "int", Raw: "-12"}},
			{Name: "InternetGatewayDevice.X.Untyped", Value: soap.Value{Raw: "v"}},
			{Name: "InternetGatewayDevice.X.When", Value: soap.Value{Type: "dateTime", Raw: "2024-05-01T09:00:00Z"}},
		},
	}
}

const thomsonID = "00147F-SpeedTouch%20780-CP0644JTHJ4"

func TestInformMessage(t *testing.T) {
	got := mustValid(t, "inform", api.InformMessage(thomsonID, thomsonInform(), received.In(time.FixedZone("CEST", 7200))))
	want := `{"device":{"id":"00147F-SpeedTouch%20780-CP0644JTHJ4","manufacturer":"THOMSON","oui":"00147F","product_class":"SpeedTouch 780","serial":"CP0644JTHJ4"},` +
		`"events":[{"code":"2 PERIODIC","name":"periodic","command_key":""}],"retry_count":0,"max_envelopes":2,` +
		`"current_time":{"raw":"1970-01-01T00:02:16Z","time":"1970-01-01T00:02:16Z"},"received":"2024-05-01T09:12:03.418Z",` +
		`"parameters":{"InternetGatewayDevice.DeviceInfo.HardwareVersion":{"value":"BANT-R","type":"string"},` +
		`"InternetGatewayDevice.DeviceInfo.SoftwareVersion":{"value":"7.4.1.7","type":"string"},` +
		`"InternetGatewayDevice.ManagementServer.ConnectionRequestURL":{"value":"http://10.0.0.2:51005/","type":"string"},` +
		`"InternetGatewayDevice.ManagementServer.ParameterKey":{"value":"","type":"string"},` +
		`"InternetGatewayDevice.ManagementServer.PeriodicInformInterval":{"value":300,"type":"unsignedInt"},` +
		`"InternetGatewayDevice.X.Counter":{"value":"","type":"unsignedInt"},` +
		`"InternetGatewayDevice.X.Enable":{"value":true,"type":"boolean"},` +
		`"InternetGatewayDevice.X.Offset":{"value":-12,"type":"int"},` +
		`"InternetGatewayDevice.X.Untyped":{"value":"v","type":"string"},` +
		`"InternetGatewayDevice.X.When":{"value":"2024-05-01T09:00:00Z","type":"dateTime"}}}`
	if string(got) != want {
		t.Errorf("inform:\n got %s\nwant %s", got, want)
	}
}

// Checklist 32: an unparseable CurrentTime (fixtures/real/06) and the "unknown" time keep only
// their raw text.
func TestChecklist32InformTimeKeepsRaw(t *testing.T) {
	for _, raw := range []string{"2019-03-05T11:54::14", "0001-01-01T00:00:00Z"} {
		inf := thomsonInform()
		inf.CurrentTime = soap.ParseDateTime(raw)
		m := api.InformMessage(thomsonID, inf, received)
		if m.CurrentTime.Raw != raw || m.CurrentTime.Time != nil {
			t.Errorf("%s: current_time = %+v", raw, m.CurrentTime)
		}
		mustValid(t, "inform", m)
	}
	// No zone (fixtures/real/17): parsed, kept raw.
	inf := thomsonInform()
	inf.CurrentTime = soap.ParseDateTime("2018-04-27T07:09:16")
	if m := api.InformMessage(thomsonID, inf, received); m.CurrentTime.Time == nil || m.CurrentTime.Raw != "2018-04-27T07:09:16" {
		t.Errorf("zone-less time: %+v", m.CurrentTime)
	}
}

// Checklist 29–30: every code by name, vendor and method codes verbatim, request-borne codes left
// to their request.
func TestChecklist30DeviceEventsFromInform(t *testing.T) {
	inf := thomsonInform()
	inf.Events = []soap.Event{
		{Code: "0 BOOTSTRAP"}, {Code: "1 BOOT"}, {Code: "M Reboot", CommandKey: "reboot-42"},
		{Code: "7 TRANSFER COMPLETE"}, {Code: "M Download", CommandKey: "fw-1"}, {Code: "X 00147F LINE DOWN"},
		{Code: "15 SOMETHING NEW"}, {Code: "6 CONNECTION REQUEST"}, {Code: "M X_ACME_Blink"},
		{Code: "4 VALUE CHANGE"}, {Code: "8 DIAGNOSTICS COMPLETE"}, {Code: "13 WAKEUP"}, {Code: "14 HEARTBEAT"},
		{Code: "3 SCHEDULED"}, {Code: "2 PERIODIC"}, {Code: "10 AUTONOMOUS TRANSFER COMPLETE"}, {Code: "M TRANSFERCOMPLETE"},
	}
	evs := api.DeviceEventsFromInform(thomsonID, inf, received)
	var got []string
	for _, e := range evs {
		s := string(e.Event) + "|" + e.Code + "|" + e.CommandKey
		if md, ok := e.Data.(api.MethodData); ok {
			s += "|" + md.Method
		}
		got = append(got, s)
		if e.Device != thomsonID || !e.Time.Equal(received) {
			t.Errorf("event %+v lacks device or time", e)
		}
		mustValid(t, "device-event", e)
	}
	want := []string{
		"bootstrap|0 BOOTSTRAP|", "boot|1 BOOT|", "method|M Reboot|reboot-42|Reboot", "method|M Download|fw-1|Download",
		"vendor|X 00147F LINE DOWN|", "unknown|15 SOMETHING NEW|", "connection_request|6 CONNECTION REQUEST|",
		"method|M X_ACME_Blink||X_ACME_Blink", "value_change|4 VALUE CHANGE|", "diagnostics_complete|8 DIAGNOSTICS COMPLETE|",
		"wakeup|13 WAKEUP|", "heartbeat|14 HEARTBEAT|", "scheduled|3 SCHEDULED|", "periodic|2 PERIODIC|",
		"method|M TRANSFERCOMPLETE||TRANSFERCOMPLETE",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
	// An empty EventStruct[0] is no event at all.
	inf.Events = nil
	if evs := api.DeviceEventsFromInform(thomsonID, inf, received); len(evs) != 0 {
		t.Errorf("no codes gave %v", evs)
	}
	if n := api.EventName(" 7 TRANSFER_COMPLETE "); n != api.EventTransferComplete {
		t.Errorf("sloppy code 7 = %s", n)
	}
}

func TestDeviceEventFromRequest(t *testing.T) {
	start, done := soap.ParseDateTime("2018-04-27T07:09:00Z"), soap.ParseDateTime("2018-04-27T07:09:16Z")
	tests := []struct {
		req  soap.Message
		want string
	}{
		// Checklist 42: FaultCode 0 is success.
		{&soap.TransferComplete{CommandKey: "fw-1", StartTime: start, CompleteTime: done},
			`{"event":"transfer_complete","device":"D-1","command_key":"fw-1","data":{"success":true,"start_time":"2018-04-27T07:09:00Z","complete_time":"2018-04-27T07:09:16Z"},"time":"2024-05-01T09:12:03.418Z"}`},
		// An empty CommandKey and unknown times (fixtures/real/34).
		{&soap.TransferComplete{Fault: soap.FaultStruct{FaultCode: 9010, FaultString: "Download failed"}, StartTime: soap.ParseDateTime("0001-01-01T00:00:00Z"), CompleteTime: soap.ParseDateTime("0001-01-01T00:00:00Z")},
			`{"event":"transfer_complete","device":"D-1","data":{"success":false,"fault":{"code":9010,"string":"Download failed"}},"time":"2024-05-01T09:12:03.418Z"}`},
		{&soap.AutonomousTransferComplete{TransferURL: "http://fw/x.bin", IsDownload: true, FileType: "1 Firmware Upgrade Image", FileSize: 10, TargetFileName: "x.bin", StartTime: start, CompleteTime: done},
			`{"event":"autonomous_transfer_complete","device":"D-1","data":{"success":true,"start_time":"2018-04-27T07:09:00Z","complete_time":"2018-04-27T07:09:16Z","announce_url":"","transfer_url":"http://fw/x.bin","is_download":true,"file_type":"1 Firmware Upgrade Image","file_size":10,"target_file_name":"x.bin"},"time":"2024-05-01T09:12:03.418Z"}`},
		{&soap.RequestDownload{FileType: "3 Vendor Configuration File", FileTypeArg: []soap.ArgStruct{{Name: "Version", Value: "7"}}},
			`{"event":"request_download","device":"D-1","data":{"file_type":"3 Vendor Configuration File","args":{"Version":"7"}},"time":"2024-05-01T09:12:03.418Z"}`},
		{&soap.DUStateChangeComplete{CommandKey: "du", Results: []soap.OpResult{{UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", DeploymentUnitRef: "Device.SoftwareModules.DeploymentUnit.1", Version: "2", CurrentState: "Failed", Fault: soap.FaultStruct{FaultCode: 9018, FaultString: "bad package"}}}},
			`{"event":"du_state_change_complete","device":"D-1","command_key":"du","data":{"results":[{"uuid":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","deployment_unit_ref":"Device.SoftwareModules.DeploymentUnit.1","version":"2","current_state":"Failed","resolved":false,"execution_unit_ref_list":"","success":false,"fault":{"code":9018,"string":"bad package"}}]},"time":"2024-05-01T09:12:03.418Z"}`},
		{&soap.AutonomousDUStateChangeComplete{Results: []soap.OpResult{{UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", CurrentState: "Installed", Resolved: true, OperationPerformed: "Install", StartTime: start}}},
			`{"event":"autonomous_du_state_change_complete","device":"D-1","data":{"results":[{"uuid":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","deployment_unit_ref":"","version":"","current_state":"Installed","resolved":true,"execution_unit_ref_list":"","operation":"Install","success":true,"start_time":"2018-04-27T07:09:00Z"}]},"time":"2024-05-01T09:12:03.418Z"}`},
		{&soap.Kicked{Command: "reset", Referer: "http://portal/", Next: "http://portal/done"},
			`{"event":"kicked","device":"D-1","data":{"command":"reset","referer":"http://portal/","arg":"","next":"http://portal/done"},"time":"2024-05-01T09:12:03.418Z"}`},
	}
	for _, tt := range tests {
		ev, ok := api.DeviceEventFromRequest("D-1", tt.req, received)
		if !ok {
			t.Errorf("%s: no event", tt.req.MethodName())
			continue
		}
		if got := mustValid(t, "device-event", ev); string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.req.MethodName(), got, tt.want)
		}
	}
	if ev, ok := api.DeviceEventFromRequest("D-1", &soap.GetRPCMethods{}, received); ok {
		t.Errorf("GetRPCMethods from the CPE is no event: %+v", ev)
	}
}

// Every CPE response renders as documented, and as a done result it fits the rpc-result schema.
func TestResultFromMessage(t *testing.T) {
	tests := []struct {
		resp soap.Message
		want string
	}{
		{&soap.GetRPCMethodsResponse{MethodList: []string{"GetRPCMethods", "Reboot"}}, `{"methods":["GetRPCMethods","Reboot"]}`},
		{&soap.GetRPCMethodsResponse{}, `{"methods":[]}`},
		{&soap.GetParameterNamesResponse{ParameterList: []soap.ParameterInfo{{Name: "Device.WiFi.", Writable: false}, {Name: "Device.WiFi.SSID.1.SSID", Writable: true}}},
			`{"parameters":[{"name":"Device.WiFi.","writable":false},{"name":"Device.WiFi.SSID.1.SSID","writable":true}]}`},
		{&soap.GetParameterValuesResponse{ParameterList: []soap.ParameterValue{
			{Name: "Device.DeviceInfo.UpTime", Value: soap.Value{Type: "unsignedInt", Raw: "86400"}},
			{Name: "Device.X.Big", Value: soap.Value{Type: "unsignedLong", Raw: "18446744073709551615"}},
			{Name: "Device.X.Bad", Value: soap.Value{Type: "boolean", Raw: "yes"}},
			{Name: "Device.X.Bin", Value: soap.Value{Type: "base64", Raw: "AAE="}},
		}}, `{"parameters":{"Device.DeviceInfo.UpTime":{"value":86400,"type":"unsignedInt"},"Device.X.Bad":{"value":"yes","type":"boolean"},"Device.X.Big":{"value":18446744073709551615,"type":"unsignedLong"},"Device.X.Bin":{"value":"AAE=","type":"base64"}}}`},
		{&soap.GetParameterValuesResponse{}, `{"parameters":{}}`},
		{&soap.GetParameterAttributesResponse{ParameterList: []soap.ParameterAttribute{{Name: "Device.X", Notification: 2, AccessList: []string{"Subscriber"}}, {Name: "Device.Y"}}},
			`{"parameters":[{"name":"Device.X","notification":2,"access_list":["Subscriber"]},{"name":"Device.Y","notification":0,"access_list":[]}]}`},
		// Checklist 38: status 1 is reported as applied later.
		{&soap.SetParameterValuesResponse{Status: 1}, `{"status":1,"applied_later":true}`},
		{&soap.AddObjectResponse{InstanceNumber: 3}, `{"instance_number":3,"status":0,"applied_later":false}`},
		{&soap.DeleteObjectResponse{Status: 1}, `{"status":1,"applied_later":true}`},
		// Checklist 41: status 1 = a TransferComplete follows; unknown times are left out.
		{&soap.DownloadResponse{Status: 1, StartTime: soap.ParseDateTime("0001-01-01T00:00:00Z"), CompleteTime: soap.ParseDateTime("0001-01-01T00:00:00Z")}, `{"status":1,"pending":true}`},
		{&soap.UploadResponse{StartTime: soap.ParseDateTime("2024-05-01T10:00:11Z"), CompleteTime: soap.ParseDateTime("2024-05-01T10:00:12+02:00")},
			`{"status":0,"pending":false,"start_time":"2024-05-01T10:00:11Z","complete_time":"2024-05-01T10:00:12+02:00"}`},
		{&soap.GetQueuedTransfersResponse{TransferList: []soap.QueuedTransfer{{CommandKey: "a", State: 1}, {CommandKey: "b", State: 2}, {CommandKey: "c", State: 3}, {CommandKey: "d", State: 9}}},
			`{"transfers":[{"command_key":"a","state":"not_started"},{"command_key":"b","state":"in_progress"},{"command_key":"c","state":"completed"},{"command_key":"d","state":"9"}]}`},
		{&soap.GetAllQueuedTransfersResponse{TransferList: []soap.AllQueuedTransfer{{CommandKey: "fw", State: 2, IsDownload: true, FileType: "1 Firmware Upgrade Image", FileSize: 7, TargetFileName: "f"}, {CommandKey: "up", State: 1}}},
			`{"transfers":[{"command_key":"fw","state":"in_progress","is_download":true,"file_type":"1 Firmware Upgrade Image","file_size":7,"target_file_name":"f"},{"command_key":"up","state":"not_started","is_download":false}]}`},
		{&soap.SetParameterAttributesResponse{}, `{}`},
		{&soap.RebootResponse{}, `{}`},
		{&soap.FactoryResetResponse{}, `{}`},
		{&soap.ScheduleInformResponse{}, `{}`},
		{&soap.ScheduleDownloadResponse{}, `{}`},
		{&soap.CancelTransferResponse{}, `{}`},
		{&soap.ChangeDUStateResponse{}, `{}`},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		method := strings.TrimSuffix(tt.resp.MethodName(), "Response")
		covered[method] = true
		res, err := api.ResultFromMessage(tt.resp)
		if err != nil {
			t.Errorf("%s: %v", method, err)
			continue
		}
		b, _ := json.Marshal(res)
		if string(b) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", method, b, tt.want)
		}
		mustValid(t, "rpc-result", api.RPCResult{ID: "r1", Device: thomsonID, Method: method, Status: api.StatusDone, Result: res, Time: received})
	}
	for _, m := range api.MethodNames() {
		if !covered[m] {
			t.Errorf("no ResultFromMessage case for %sResponse", m)
		}
	}
}

func TestResultFromMessageRefusesNonResponses(t *testing.T) {
	fault := &soap.Fault{Code: 9005, String: "Invalid parameter name"}
	if _, err := api.ResultFromMessage(fault); !errors.Is(err, fault) {
		t.Errorf("a fault comes back as the error, got %v", err)
	}
	if _, err := api.ResultFromMessage(&soap.Inform{}); err == nil || err.Error() != "Inform is not a response to an ACS request" {
		t.Errorf("Inform: %v", err)
	}
	if _, err := api.ResultFromMessage(nil); err == nil {
		t.Error("nil message accepted")
	}
}

// Checklist 45: code, string and every SetParameterValuesFault reach the platform.
func TestChecklist45FaultResult(t *testing.T) {
	f := &soap.Fault{SOAPCode: "Client", Code: 9003, String: "Invalid arguments", SetParameterValuesFaults: []soap.ParameterFault{
		{ParameterName: "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel", FaultCode: 9007, FaultString: "Invalid parameter value"},
		{ParameterName: "InternetGatewayDevice.X", FaultCode: 9008},
	}}
	fi := api.FaultResult(f)
	got := mustValid(t, "rpc-result", api.RPCResult{ID: "r2", Device: thomsonID, Method: "SetParameterValues", Status: api.StatusFault, Fault: &fi, Time: received})
	want := `{"id":"r2","device":"00147F-SpeedTouch%20780-CP0644JTHJ4","method":"SetParameterValues","status":"fault","fault":{"code":9003,"string":"Invalid arguments","parameters":[{"name":"InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel","code":9007,"string":"Invalid parameter value"},{"name":"InternetGatewayDevice.X","code":9008,"string":""}]},"time":"2024-05-01T09:12:03.418Z"}`
	if string(got) != want {
		t.Errorf("fault result:\n got %s\nwant %s", got, want)
	}
	// A fault without details (fixtures/real/30: 9001 alone) has no parameters key.
	if b, _ := json.Marshal(api.FaultResult(&soap.Fault{Code: 9001, String: "Request denied"})); string(b) != `{"code":9001,"string":"Request denied"}` {
		t.Errorf("plain fault: %s", b)
	}
}

// The results the bridge builds around a parse: accepted, and a rejection carrying the reason.
func TestRejectedResultFromParseError(t *testing.T) {
	req, _, err := api.ParseRPCRequest([]byte(`{"id":"r3","method":"GetParameterValues","args":{"names":["A.",2]}}`))
	res := api.RPCResult{ID: req.ID, Device: thomsonID, Method: req.Method, Status: api.StatusRejected, Error: err.Error(), Time: received}
	got := mustValid(t, "rpc-result", res)
	want := `{"id":"r3","device":"00147F-SpeedTouch%20780-CP0644JTHJ4","method":"GetParameterValues","status":"rejected","error":"args.names[1]: must be a string, got a number","time":"2024-05-01T09:12:03.418Z"}`
	if string(got) != want {
		t.Errorf("rejected:\n got %s\nwant %s", got, want)
	}
	// Not even JSON: no id, no method, still a valid result.
	_, _, err = api.ParseRPCRequest([]byte(`GetParameterValues please`))
	mustValid(t, "rpc-result", api.RPCResult{Device: thomsonID, Status: api.StatusRejected, Error: err.Error(), Time: received})
	mustValid(t, "rpc-result", api.RPCResult{ID: "r4", Device: thomsonID, Method: "Reboot", Status: api.StatusAccepted, Time: received})
	for _, s := range []api.Status{api.StatusTimeout, api.StatusExpired, api.StatusOffline} {
		mustValid(t, "rpc-result", api.RPCResult{ID: "r5", Device: thomsonID, Method: "Reboot", Status: s, Error: "why", Time: received})
		if !s.Terminal() {
			t.Errorf("%s is terminal", s)
		}
	}
	if api.StatusAccepted.Terminal() {
		t.Error("accepted is not terminal")
	}
}

func TestBridgePayloads(t *testing.T) {
	started := received.Add(-time.Hour)
	last := received
	if got := mustValid(t, "bridge-state", api.BridgeState{State: api.Offline}); string(got) != `{"state":"offline"}` {
		t.Errorf("will payload = %s", got)
	}
	mustValid(t, "bridge-state", api.BridgeState{State: api.Online, Version: "1.0.0", Started: &started})

	std := api.TranslatorInfo{Name: "standard", Version: "1.0.0", ModelVersion: "1", State: "running", Builtin: true, Devices: 1}
	mustValid(t, "bridge-info", api.BridgeInfo{
		Version: "1.0.0", Started: started, BaseTopic: "cwmp2mqtt",
		Listeners:   []api.Listener{{Name: "acs", Address: ":7547", Path: "/"}},
		Broker:      api.Broker{URL: "tcp://127.0.0.1:1883", Embedded: true, ClientID: "cwmp2mqtt-host", Connected: true},
		Translators: []api.TranslatorInfo{std},
		Config:      map[string]any{"cwmp.auth.mode": "none"},
	})

	mustValid(t, "bridge-devices", api.DeviceCounts{Updated: received})
	mustValid(t, "bridge-devices", api.DeviceCounts{Devices: 100000, Online: 99000, Offline: 1000, Updated: received})
	dev := api.DeviceSummary{ID: thomsonID, Manufacturer: "THOMSON", OUI: "00147F", ProductClass: "SpeedTouch 780", SerialNumber: "CP0644JTHJ4",
		Model: "SpeedTouch 780", Firmware: "7.4.1.7", Hardware: "BANT-R", Translator: "standard", Online: true, LastInform: last, IP: "10.0.0.2"}
	mustValid(t, "device-info", dev)
	if got := mustValid(t, "bridge-response", api.BridgeResponse{Op: api.OpListDevices, Status: api.BridgeOK, Data: api.DeviceList(nil), Time: received}); !strings.Contains(string(got), `"data":[]`) {
		t.Errorf("an empty page = %s", got)
	}
	total := 2500
	mustValid(t, "bridge-response", api.BridgeResponse{Op: api.OpListDevices, Status: api.BridgeOK, Data: api.DeviceList{dev}, Total: &total, NextOffset: 1001, Time: received})

	for _, ev := range []api.BridgeEvent{
		{Event: api.BridgeDeviceRegistered, Device: thomsonID, Time: received},
		{Event: api.BridgeDeviceOffline, Device: thomsonID, Reason: "no session for 750 s", Time: received},
		{Event: api.BridgeDeviceRemoved, Device: thomsonID, Time: received},
		{Event: api.BridgeDeviceOnline, Device: thomsonID, Time: received},
		{Event: api.BridgePluginFailed, Plugin: "acme", Reason: "exit status 2", Time: received},
		{Event: api.BridgePluginRestarted, Plugin: "acme", Time: received},
		{Event: api.BridgeOutboxDropped, Count: 5, Time: received},
		{Event: api.BridgeAuthFailed, Device: thomsonID, Reason: "bad digest", Time: received},
		{Event: api.BridgeSessionFault, Device: thomsonID, Reason: "8003", Time: received},
	} {
		mustValid(t, "bridge-event", ev)
	}

	withExposes := std
	withExposes.Exposes = []api.Expose{{Key: "wifi.ssids.1.ssid", Type: "string", Access: "read_write"}}
	for _, r := range []api.BridgeResponse{
		{Transaction: "t", Op: api.OpListDevices, Status: api.BridgeOK, Data: api.DeviceList{dev}, Time: received},
		{Op: api.OpListDevices, Status: api.BridgeOK, Data: api.DeviceList(nil), Time: received},
		{Transaction: "t", Op: api.OpRemoveDevice, Status: api.BridgeOK, Data: api.RemovedDevice{Device: thomsonID}, Time: received},
		{Transaction: "t", Op: api.OpRemoveDevice, Status: api.BridgeError, Error: "unknown device", Time: received},
		{Op: api.OpHealth, Status: api.BridgeOK, Data: api.Health{Status: "ok", Uptime: 3600, BrokerConnected: true, Devices: 1, Online: 1, Translators: map[string]string{"standard": "running"}}, Time: received},
		{Op: api.OpListTranslators, Status: api.BridgeOK, Data: []api.TranslatorInfo{withExposes}, Time: received},
	} {
		mustValid(t, "bridge-response", r)
	}
	// A list_devices answer with the wrong data is caught by the schema.
	bad, _ := json.Marshal(api.BridgeResponse{Op: api.OpListDevices, Status: api.BridgeOK, Data: api.Health{Status: "ok"}, Time: received})
	if apitest.ValidatePayload("bridge-response", bad) == nil {
		t.Errorf("schema accepted %s", bad)
	}
	mustValid(t, "bridge-request", api.BridgeRequest{Transaction: "t", Op: api.OpRemoveDevice, Device: thomsonID})
}

func TestDevicePayloads(t *testing.T) {
	mustValid(t, "state", api.State{Device: thomsonID, Model: "1", Translator: "standard", Updated: received,
		Values: map[string]any{"wifi.ssids.1.ssid": "home", "device.uptime": int64(86400), "wifi.ssids.1.enable": true}})
	mustValid(t, "state", api.State{Device: thomsonID, Model: "1", Translator: "acme", Stale: true, Error: "timeout", Updated: received, Values: map[string]any{}})
	if bad, _ := json.Marshal(api.State{Device: thomsonID, Model: "1", Error: "x", Updated: received, Values: map[string]any{}}); apitest.ValidatePayload("state", bad) == nil {
		t.Errorf("an error on a fresh state passed: %s", bad)
	}
	if got := mustValid(t, "availability", api.NewAvailability(true, received.In(time.FixedZone("CEST", 7200)))); string(got) != `{"state":"online","since":"2024-05-01T09:12:03.418Z"}` {
		t.Errorf("online = %s", got)
	}
	if a := api.NewAvailability(false, received); a.State != api.Offline {
		t.Errorf("offline = %+v", a)
	}
	mustValid(t, "availability", api.Availability{State: api.Offline, Since: received, Reason: "no session for 750 s"})
	mustValid(t, "set-request", api.SetRequest{Request: api.Request{ID: "s"}, Values: map[string]any{"a.b": 1}})
	mustValid(t, "get-request", api.GetRequest{Request: api.Request{ID: "g", Expires: 60}})
	mustValid(t, "rpc-result", api.RPCResult{ID: "g", Device: thomsonID, Method: "get", Status: api.StatusDone, Result: api.GetResult{Values: map[string]any{"a.b": 1}}, Time: received})
}
