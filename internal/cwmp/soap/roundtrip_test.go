package soap

import (
	"reflect"
	"strings"
	"testing"
)

func mustTime(raw string) DateTime {
	d := ParseDateTime(raw)
	if !d.Valid {
		panic("bad test time " + raw)
	}
	return d
}

// sampleMessages returns one message of every type with every field set to a non-zero value.
func sampleMessages() []Message {
	t1 := mustTime("2024-05-01T10:20:30Z")
	t2 := mustTime("2024-05-01T12:20:31.250+02:00")
	fault := FaultStruct{FaultCode: 9010, FaultString: "Download failed: <404> & gone"}
	params := []ParameterValue{
		{Name: "Device.DeviceInfo.SoftwareVersion", Value: StringValue("1.2.3 \"beta\" <rc>")},
		{Name: "Device.ManagementServer.PeriodicInformEnable", Value: BoolValue(true)},
		{Name: "Device.ManagementServer.PeriodicInformInterval", Value: UintValue(300)},
		{Name: "Device.X_ACME.Offset", Value: IntValue(-42)},
		{Name: "Device.X_ACME.Bytes", Value: UnsignedLongValue(1 << 40)},
		{Name: "Device.Time.CurrentLocalTime", Value: DateTimeValue(t1.Time)},
		{Name: "Device.X_ACME.Blob", Value: Base64Value([]byte{0, 1, 2, 0xff})},
		{Name: "Device.X_ACME.Text", Value: StringValue("line1\r\nline2\ttab")},
	}
	opResult := OpResult{
		UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", DeploymentUnitRef: "Device.SoftwareModules.DeploymentUnit.1",
		Version: "2.0", CurrentState: "Installed", Resolved: true,
		ExecutionUnitRefList: "Device.SoftwareModules.ExecutionUnit.1", StartTime: t1, CompleteTime: t2,
		Fault: FaultStruct{FaultCode: 9023, FaultString: "Unknown Execution Environment"},
	}
	auton := opResult
	auton.OperationPerformed = "Install"
	return []Message{
		&Inform{
			DeviceID: DeviceID{Manufacturer: "ACME\nNetworks", OUI: "00a0c6", ProductClass: "HGW 4", SerialNumber: "SN-1&2"},
			Events: []Event{
				{Code: "0 BOOTSTRAP"}, {Code: "1 BOOT"},
				{Code: "7 TRANSFER COMPLETE"}, {Code: "M Download", CommandKey: "fw-42"},
				{Code: "X 00A0C6 SPECIAL", CommandKey: "k"},
			},
			MaxEnvelopes: 1, CurrentTime: t2, RetryCount: 3, ParameterList: params,
		},
		&InformResponse{MaxEnvelopes: 1},
		&GetRPCMethods{},
		&GetRPCMethodsResponse{MethodList: []string{"GetRPCMethods", "Inform", "TransferComplete"}},
		&TransferComplete{CommandKey: "fw-42", Fault: fault, StartTime: t1, CompleteTime: t2},
		&TransferCompleteResponse{},
		&AutonomousTransferComplete{
			AnnounceURL: "http://announce.example/", TransferURL: "http://files.example/fw.bin", IsDownload: true,
			FileType: "1 Firmware Upgrade Image", FileSize: 123456789, TargetFileName: "fw.bin",
			Fault: fault, StartTime: t1, CompleteTime: t2,
		},
		&AutonomousTransferCompleteResponse{},
		&RequestDownload{FileType: "2 Web Content", FileTypeArg: []ArgStruct{{Name: "Version", Value: "v1 "}, {Name: "Lang", Value: "fr"}}},
		&RequestDownloadResponse{},
		&DUStateChangeComplete{Results: []OpResult{opResult, opResult}, CommandKey: "du-1"},
		&DUStateChangeCompleteResponse{},
		&AutonomousDUStateChangeComplete{Results: []OpResult{auton}},
		&AutonomousDUStateChangeCompleteResponse{},
		&Kicked{Command: "provision", Referer: "http://portal.example/", Arg: "a=b&c=d", Next: "http://portal.example/next"},
		&KickedResponse{NextURL: "http://portal.example/done"},
		&GetParameterNames{ParameterPath: "Device.", NextLevel: true},
		&GetParameterNamesResponse{ParameterList: []ParameterInfo{{Name: "Device.DeviceInfo.", Writable: false}, {Name: "Device.DeviceInfo.ProvisioningCode", Writable: true}}},
		&GetParameterValues{ParameterNames: []string{"Device.DeviceInfo.", "Device.ManagementServer.URL"}},
		&GetParameterValuesResponse{ParameterList: params},
		&SetParameterValues{ParameterList: params, ParameterKey: "key 1"},
		&SetParameterValuesResponse{Status: 1},
		&GetParameterAttributes{ParameterNames: []string{"Device.DeviceInfo.SoftwareVersion"}},
		&GetParameterAttributesResponse{ParameterList: []ParameterAttribute{{Name: "Device.DeviceInfo.SoftwareVersion", Notification: 2, AccessList: []string{"Subscriber"}}}},
		&SetParameterAttributes{ParameterList: []SetParameterAttribute{{
			Name: "Device.DeviceInfo.SoftwareVersion", NotificationChange: true, Notification: 2,
			AccessListChange: true, AccessList: []string{"Subscriber", "X_ACME"},
		}}},
		&SetParameterAttributesResponse{},
		&AddObject{ObjectName: "Device.IP.Interface.", ParameterKey: "add-1"},
		&AddObjectResponse{InstanceNumber: 7, Status: 1},
		&DeleteObject{ObjectName: "Device.IP.Interface.7.", ParameterKey: "del-1"},
		&DeleteObjectResponse{Status: 1},
		&Reboot{CommandKey: "reboot-1"},
		&RebootResponse{},
		&FactoryReset{},
		&FactoryResetResponse{},
		&Download{
			CommandKey: "fw-42", FileType: "1 Firmware Upgrade Image", URL: "http://files.example/fw.bin?a=1&b=2",
			Username: "user", Password: " p@ss ", FileSize: 4096, TargetFileName: "fw.bin", DelaySeconds: 5,
			SuccessURL: "http://portal.example/ok", FailureURL: "http://portal.example/ko",
		},
		&DownloadResponse{Status: 1, StartTime: t1, CompleteTime: t2},
		&Upload{CommandKey: "up-1", FileType: "3 Vendor Configuration File", URL: "http://files.example/up", Username: "u", Password: "p", DelaySeconds: 9},
		&UploadResponse{Status: 1, StartTime: t1, CompleteTime: t2},
		&ScheduleInform{DelaySeconds: 60, CommandKey: "si-1"},
		&ScheduleInformResponse{},
		&ScheduleDownload{
			CommandKey: "sd-1", FileType: "1 Firmware Upgrade Image", URL: "http://files.example/fw.bin",
			Username: "u", Password: "p", FileSize: 99, TargetFileName: "fw.bin",
			TimeWindowList: []TimeWindow{
				{WindowStart: 10, WindowEnd: 3600, WindowMode: "1 At Any Time", UserMessage: "Upgrading", MaxRetries: -1},
				{WindowStart: 7200, WindowEnd: 9000, WindowMode: "2 Immediately", UserMessage: "Again", MaxRetries: 3},
			},
		},
		&ScheduleDownloadResponse{},
		&CancelTransfer{CommandKey: "sd-1"},
		&CancelTransferResponse{},
		&GetQueuedTransfers{},
		&GetQueuedTransfersResponse{TransferList: []QueuedTransfer{{CommandKey: "fw-42", State: 2}}},
		&GetAllQueuedTransfers{},
		&GetAllQueuedTransfersResponse{TransferList: []AllQueuedTransfer{{
			CommandKey: "fw-42", State: 2, IsDownload: true, FileType: "1 Firmware Upgrade Image", FileSize: 4096, TargetFileName: "fw.bin",
		}}},
		&ChangeDUState{
			Operations: []DUOperation{
				{Op: DUInstall, URL: "http://files.example/du.ipk", UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Username: "u", Password: "p", ExecutionEnvRef: "Device.SoftwareModules.ExecEnv.1"},
				{Op: DUUpdate, UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Version: "2.0", URL: "http://files.example/du2.ipk", Username: "u", Password: "p"},
				{Op: DUUninstall, UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Version: "2.0", ExecutionEnvRef: "Device.SoftwareModules.ExecEnv.1"},
			},
			CommandKey: "du-1",
		},
		&ChangeDUStateResponse{},
		&Fault{SOAPCode: "Client", Code: FaultCPEInvalidArguments, String: "Invalid arguments", SetParameterValuesFaults: []ParameterFault{
			{ParameterName: "Device.WiFi.SSID.1.SSID", FaultCode: FaultCPEInvalidParameterValue, FaultString: "too long"},
			{ParameterName: "Device.DeviceInfo.SerialNumber", FaultCode: FaultCPENonWritableParameter, FaultString: "read-only"},
		}},
	}
}

// TestRoundTripEveryMessage builds each message type with every field set, encodes it in cwmp-1-0
// and cwmp-1-2 with every header field set, decodes it again, and expects the same Envelope.
func TestRoundTripEveryMessage(t *testing.T) {
	samples := sampleMessages()
	covered := map[string]bool{}
	for _, m := range samples {
		covered[m.MethodName()] = true
	}
	for _, name := range MethodNames() {
		if !covered[name] {
			t.Errorf("no round-trip sample for %s", name)
		}
	}
	for _, ns := range []string{NSCWMP10, NSCWMP12} {
		for _, m := range samples {
			t.Run(ns[len(ns)-3:]+"/"+m.MethodName(), func(t *testing.T) {
				in := &Envelope{
					NS: ns, ID: "id <1> & \"2\"", HasID: true, HoldRequests: true, SessionTimeout: 45,
					SupportedCWMPVersions: "1.0,1.1,1.2,1.3,1.4", UseCWMPVersion: "1.4", Body: m,
				}
				b, err := Encode(in)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				out, err := Decode(b, "text/xml; charset=utf-8")
				if err != nil {
					t.Fatalf("decode: %v\n%s", err, b)
				}
				if len(out.Warnings) > 0 {
					t.Errorf("warnings on our own output: %q", out.Warnings)
				}
				if !reflect.DeepEqual(in, out) {
					t.Errorf("round trip differs\n in: %s\nout: %s\nxml: %s", renderGolden(in, nil), renderGolden(out, nil), b)
				}
			})
		}
	}
}

// TestRoundTripUnknownMethod: an unknown method survives encode → decode, in the envelope's
// namespace and in a foreign one.
func TestRoundTripUnknownMethod(t *testing.T) {
	for _, u := range []*Unknown{
		{Name: "X_ACME_Frobnicate", NS: NSCWMP12},
		{Name: "Inform", NS: "urn:example:not-cwmp"},
	} {
		in := &Envelope{NS: NSCWMP12, Body: u}
		b, err := Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Decode(b, "")
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Errorf("got %#v, want %#v", out.Body, u)
		}
	}
}

func TestEncodeEmptyEnvelopeIsEmptyPost(t *testing.T) {
	b, err := Encode(&Envelope{})
	if err != nil || len(b) != 0 {
		t.Fatalf("Encode(&Envelope{}) = %q, %v; want empty body", b, err)
	}
	if _, err := Encode(&Envelope{HasID: true, ID: "1"}); err == nil {
		t.Error("header without Body encoded without error")
	}
	if _, err := Encode(nil); err == nil {
		t.Error("nil envelope encoded without error")
	}
}

func TestEncodeRejectsWhatXMLCannotCarry(t *testing.T) {
	cases := map[string]Message{
		"control char":    &GetParameterValues{ParameterNames: []string{"Device.\x01"}},
		"invalid utf-8":   &SetParameterValues{ParameterList: []ParameterValue{{Name: "a", Value: StringValue("\xff")}}},
		"unknown DU op":   &ChangeDUState{Operations: []DUOperation{{Op: "Explode"}}},
		"nil message":     (*Inform)(nil),
		"bad method name": &Unknown{Name: "a b"},
	}
	for name, m := range cases {
		dst := []byte("prefix")
		out, err := AppendEncode(dst, &Envelope{Body: m})
		if err == nil {
			t.Errorf("%s: encoded without error: %s", name, out)
			continue
		}
		if !strings.Contains(err.Error(), "cannot encode") || string(out) != "prefix" {
			t.Errorf("%s: err %v, dst %q; want ErrUnencodable and dst untouched", name, err, out)
		}
	}
}

func TestAppendEncodeAppends(t *testing.T) {
	env := &Envelope{Body: &Reboot{CommandKey: "r"}}
	want, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendEncode([]byte("x"), env)
	if err != nil || string(got) != "x"+string(want) {
		t.Fatalf("AppendEncode = %q, %v", got, err)
	}
}

func TestNewMessageAndIsCPERequest(t *testing.T) {
	cpe := map[string]bool{
		"Inform": true, "GetRPCMethods": true, "TransferComplete": true, "AutonomousTransferComplete": true,
		"RequestDownload": true, "DUStateChangeComplete": true, "AutonomousDUStateChangeComplete": true, "Kicked": true,
	}
	for _, name := range MethodNames() {
		m, ok := NewMessage(name)
		if !ok || m.MethodName() != name {
			t.Fatalf("NewMessage(%q) = %v, %v", name, m, ok)
		}
		if IsCPERequest(m) != cpe[name] {
			t.Errorf("IsCPERequest(%s) = %v", name, !cpe[name])
		}
	}
	if _, ok := NewMessage("SetVouchers"); ok {
		t.Error("NewMessage knows a method without a type")
	}
}
