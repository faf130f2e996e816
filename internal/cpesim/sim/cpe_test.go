package sim

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

const igd = "InternetGatewayDevice."

func eventCodes(evs []soap.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Code
	}
	return out
}

func informValue(inf *soap.Inform, name string) (string, bool) {
	for _, p := range inf.ParameterList {
		if p.Name == name {
			return p.Value.Raw, true
		}
	}
	return "", false
}

func TestBootstrapInformAndSessionEnd(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, nil)
	inf := acs.lastInform()
	if got := eventCodes(inf.Events); !slices.Equal(got, []string{EventBootstrap, EventBoot}) {
		t.Errorf("power-on events = %v", got)
	}
	if inf.DeviceID.SerialNumber != "TEST0001" || inf.DeviceID.OUI != "202BC1" || inf.DeviceID.ProductClass != "BM632w" {
		t.Errorf("DeviceId = %+v", inf.DeviceID)
	}
	if inf.MaxEnvelopes != 1 || inf.RetryCount != 0 {
		t.Errorf("MaxEnvelopes %d RetryCount %d", inf.MaxEnvelopes, inf.RetryCount)
	}
	for _, name := range []string{"DeviceSummary", "DeviceInfo.SoftwareVersion", "ManagementServer.ConnectionRequestURL",
		"ManagementServer.ParameterKey", "WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"} {
		if _, ok := informValue(inf, igd+name); !ok {
			t.Errorf("Inform lacks %s", name)
		}
	}
	if v, _ := informValue(inf, igd+"DeviceInfo.SoftwareVersion"); v != "V100R001IRQC56B017" {
		t.Errorf("SoftwareVersion = %q", v)
	}
	// The second session is no longer a bootstrap; the cookie came back on each post.
	resp := tc.run(t, acs, &soap.GetRPCMethods{})
	if got := eventCodes(acs.lastInform().Events); !slices.Equal(got, []string{EventConnectionRequest}) {
		t.Errorf("second session events = %v", got)
	}
	if m, ok := resp[0].(*soap.GetRPCMethodsResponse); !ok || !slices.Contains(m.MethodList, "ChangeDUState") || len(m.MethodList) != len(rpcMethods) {
		t.Errorf("GetRPCMethods = %#v", resp[0])
	}
	acs.mu.Lock()
	defer acs.mu.Unlock()
	if acs.noCookie != 0 || acs.badIDs != 0 {
		t.Errorf("posts without cookie: %d, responses with a wrong cwmp:ID: %d", acs.noCookie, acs.badIDs)
	}
	if acs.namespaces[0] != soap.NSCWMP10 {
		t.Errorf("namespace %s", acs.namespaces[0])
	}
}

func TestChecklist7EmptyOKEndsSession(t *testing.T) {
	acs := newScriptedACS(t)
	acs.emptyOK = true
	tc := startCPE(t, acs, datamodel.LoadTR181, func(c *Config) { c.NS = soap.NSCWMP12 })
	resp := tc.run(t, acs, &soap.GetParameterValues{ParameterNames: []string{"Device.DeviceInfo.SerialNumber"}})
	gpv := resp[0].(*soap.GetParameterValuesResponse)
	if len(gpv.ParameterList) != 1 || gpv.ParameterList[0].Value.Raw != "TEST0001" {
		t.Errorf("GPV = %+v", gpv)
	}
	if acs.namespaces[1] != soap.NSCWMP12 {
		t.Errorf("namespace %s, want cwmp-1-2", acs.namespaces[1])
	}
}

func TestEveryRPCAnsweredOverHTTP(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, nil)
	const interval = "Device.ManagementServer.PeriodicInformInterval"
	resp := tc.run(t, acs,
		&soap.GetParameterNames{ParameterPath: "Device.WiFi.SSID.", NextLevel: true},
		&soap.GetParameterValues{ParameterNames: []string{"Device.WiFi.SSID.1.", interval}},
		&soap.SetParameterValues{ParameterList: []soap.ParameterValue{{Name: interval, Value: soap.Value{Type: "unsignedInt", Raw: "600"}}}, ParameterKey: "pk-1"},
		&soap.SetParameterValues{ParameterList: []soap.ParameterValue{
			{Name: "Device.Nope", Value: soap.Value{Type: "string", Raw: "x"}},
			{Name: "Device.DeviceInfo.UpTime", Value: soap.Value{Type: "unsignedInt", Raw: "1"}},
			{Name: interval, Value: soap.Value{Type: "unsignedInt", Raw: "soon"}},
		}},
		&soap.SetParameterAttributes{ParameterList: []soap.SetParameterAttribute{{Name: "Device.WiFi.SSID.1.SSID", NotificationChange: true, Notification: 2}}},
		&soap.GetParameterAttributes{ParameterNames: []string{"Device.WiFi.SSID.1.SSID"}},
		&soap.AddObject{ObjectName: "Device.NAT.PortMapping.", ParameterKey: "pk-2"},
		&soap.DeleteObject{ObjectName: "Device.NAT.PortMapping.1.", ParameterKey: "pk-3"},
		&soap.DeleteObject{ObjectName: "Device.NAT.PortMapping.1."},
		&soap.GetQueuedTransfers{},
		&soap.GetAllQueuedTransfers{},
		&soap.CancelTransfer{CommandKey: "none"},
		&soap.ScheduleInform{DelaySeconds: 0, CommandKey: "sched-1"},
		&soap.Kicked{Command: "x"}, // a CPE→ACS method: not one a CPE executes
		&soap.GetParameterValues{ParameterNames: []string{"Device.ManagementServer.ParameterKey"}},
	)
	gpn := resp[0].(*soap.GetParameterNamesResponse)
	if len(gpn.ParameterList) != 2 || gpn.ParameterList[0].Name != "Device.WiFi.SSID.1." || !gpn.ParameterList[0].Writable {
		t.Errorf("GPN = %+v", gpn.ParameterList)
	}
	gpv := resp[1].(*soap.GetParameterValuesResponse)
	var ssid, iv soap.Value
	for _, p := range gpv.ParameterList {
		switch p.Name {
		case "Device.WiFi.SSID.1.SSID":
			ssid = p.Value
		case interval:
			iv = p.Value
		}
	}
	if ssid != (soap.Value{Type: "string", Raw: "SimNet-1"}) || iv != (soap.Value{Type: "unsignedInt", Raw: "300"}) || len(gpv.ParameterList) < 10 {
		t.Errorf("GPV: SSID %+v interval %+v (%d values)", ssid, iv, len(gpv.ParameterList))
	}
	if r, ok := resp[2].(*soap.SetParameterValuesResponse); !ok || r.Status != 0 {
		t.Errorf("SPV = %#v", resp[2])
	}
	if pv, _ := tc.Model().Get(interval); pv.Value.Raw != "600" {
		t.Errorf("interval after SPV = %s", pv.Value.Raw)
	}
	f, ok := resp[3].(*soap.Fault)
	if !ok || f.Code != soap.FaultCPEInvalidArguments || len(f.SetParameterValuesFaults) != 3 {
		t.Fatalf("bad SPV answered %#v", resp[3])
	}
	for i, want := range []int{soap.FaultCPEInvalidParameterName, soap.FaultCPENonWritableParameter, soap.FaultCPEInvalidParameterValue} {
		if got := f.SetParameterValuesFaults[i].FaultCode; got != want {
			t.Errorf("SetParameterValuesFault %d = %d, want %d", i, got, want)
		}
	}
	if _, ok := resp[4].(*soap.SetParameterAttributesResponse); !ok {
		t.Errorf("SPA = %#v", resp[4])
	}
	if gpa := resp[5].(*soap.GetParameterAttributesResponse); gpa.ParameterList[0].Notification != 2 {
		t.Errorf("GPA = %+v", gpa)
	}
	if r, ok := resp[6].(*soap.AddObjectResponse); !ok || r.InstanceNumber != 1 {
		t.Errorf("AddObject = %#v", resp[6])
	}
	if _, ok := resp[7].(*soap.DeleteObjectResponse); !ok {
		t.Errorf("DeleteObject = %#v", resp[7])
	}
	if f, ok := resp[8].(*soap.Fault); !ok || f.Code != soap.FaultCPEInvalidParameterName {
		t.Errorf("second DeleteObject = %#v", resp[8])
	}
	if r, ok := resp[9].(*soap.GetQueuedTransfersResponse); !ok || len(r.TransferList) != 0 {
		t.Errorf("GetQueuedTransfers = %#v", resp[9])
	}
	if _, ok := resp[10].(*soap.GetAllQueuedTransfersResponse); !ok {
		t.Errorf("GetAllQueuedTransfers = %#v", resp[10])
	}
	if f, ok := resp[11].(*soap.Fault); !ok || f.Code != soap.FaultCPEInvalidArguments {
		t.Errorf("CancelTransfer of nothing = %#v", resp[11])
	}
	if _, ok := resp[12].(*soap.ScheduleInformResponse); !ok {
		t.Errorf("ScheduleInform = %#v", resp[12])
	}
	if f, ok := resp[13].(*soap.Fault); !ok || f.Code != soap.FaultCPEMethodNotSupported {
		t.Errorf("unknown method = %#v", resp[13])
	}
	// ParameterKey follows the last successful SPV/AddObject/DeleteObject.
	if pk := resp[14].(*soap.GetParameterValuesResponse).ParameterList[0].Value.Raw; pk != "pk-3" {
		t.Errorf("ParameterKey = %q", pk)
	}
	// ScheduleInform with delay 0: a session with 3 SCHEDULED and M ScheduleInform.
	tc.waitSession(t, Mark{}, func(s SessionResult) bool {
		return s.HasEvent("M ScheduleInform", "sched-1") && s.HasEvent(EventScheduled)
	})
}

func TestDownloadTransferCompleteInLaterSession(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/fw.bin" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("firmware"))
	}))
	defer files.Close()
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, func(c *Config) { c.FetchDownloads = true })
	mark := tc.rec.Mark()
	resp := tc.run(t, acs,
		&soap.Download{CommandKey: "fw-1", FileType: "1 Firmware Upgrade Image", URL: files.URL + "/fw.bin", FileSize: 8},
		&soap.Download{CommandKey: "fw-404", FileType: "1 Firmware Upgrade Image", URL: files.URL + "/missing.bin"},
	)
	if r, ok := resp[0].(*soap.DownloadResponse); !ok || r.Status != 1 || !r.StartTime.Unknown() {
		t.Fatalf("DownloadResponse = %#v", resp[0])
	}
	s := tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent("M Download", "fw-404") })
	if !s.HasEvent(EventTransferComplete) {
		t.Errorf("events %v lack 7 TRANSFER COMPLETE", eventCodes(s.Events))
	}
	tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent("M Download", "fw-1") })
	byKey := map[string]*soap.TransferComplete{}
	for _, m := range acs.cpeRequests() {
		if tcm, ok := m.(*soap.TransferComplete); ok {
			byKey[tcm.CommandKey] = tcm
		}
	}
	if ok := byKey["fw-1"]; ok == nil || ok.Fault.FaultCode != 0 || !ok.CompleteTime.Valid {
		t.Errorf("TransferComplete fw-1 = %+v", ok)
	}
	if bad := byKey["fw-404"]; bad == nil || bad.Fault.FaultCode != soap.FaultCPEDownloadFailure {
		t.Errorf("TransferComplete fw-404 = %+v", bad)
	}
}

func TestRunningCPEStartsWithPeriodicInform(t *testing.T) {
	acs := newScriptedACS(t)
	startCPE(t, acs, datamodel.LoadTR098Huawei, func(c *Config) { c.Running = true })
	if got := eventCodes(acs.lastInform().Events); !slices.Equal(got, []string{EventPeriodic}) {
		t.Errorf("first events of a running CPE = %v, want only %s", got, EventPeriodic)
	}
}

func TestRebootNextSessionBootAndMReboot(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, nil)
	mark := tc.rec.Mark()
	if _, ok := tc.run(t, acs, &soap.Reboot{CommandKey: "rb-7"})[0].(*soap.RebootResponse); !ok {
		t.Fatal("no RebootResponse")
	}
	s := tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent("M Reboot") })
	if !s.HasEvent(EventBoot) || !s.HasEvent("M Reboot", "rb-7") || s.HasEvent(EventBootstrap) {
		t.Errorf("after reboot: events %+v", s.Events)
	}
}

func TestFactoryResetBootstrapsAgain(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, nil)
	const name = igd + "ManagementServer.PeriodicInformInterval"
	mark := tc.rec.Mark()
	tc.run(t, acs,
		&soap.SetParameterValues{ParameterList: []soap.ParameterValue{{Name: name, Value: soap.Value{Type: "unsignedInt", Raw: "77"}}}},
		&soap.FactoryReset{})
	s := tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent(EventBootstrap) })
	if !s.HasEvent(EventBoot) {
		t.Errorf("events %+v", s.Events)
	}
	if pv, _ := tc.Model().Get(name); pv.Value.Raw != "300" {
		t.Errorf("after factory reset interval = %s", pv.Value.Raw)
	}
	if pv, _ := tc.Model().Get(igd + "DeviceInfo.SerialNumber"); pv.Value.Raw != "TEST0001" {
		t.Errorf("serial after reset = %s", pv.Value.Raw)
	}
}

func TestFaultPlan(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, nil)
	tc.Faults().FailMethod("GetParameterValues", FaultRule{Code: soap.FaultCPEInternalError, Times: 1})
	tc.Faults().FailName(igd+"DeviceInfo.ProvisioningCode", FaultRule{Code: soap.FaultCPERequestDenied, String: "locked"})
	tc.Faults().FailMethod("TransferComplete", FaultRule{Code: soap.FaultCPEFileCorrupted, Times: 1})
	gpv := &soap.GetParameterValues{ParameterNames: []string{igd + "DeviceInfo.UpTime"}}
	spv := &soap.SetParameterValues{ParameterList: []soap.ParameterValue{{Name: igd + "DeviceInfo.ProvisioningCode", Value: soap.Value{Type: "string", Raw: "x"}}}}
	mark := tc.rec.Mark()
	resp := tc.run(t, acs, gpv, gpv, spv, &soap.Download{CommandKey: "dl", URL: "http://unused.invalid/"})
	if f, ok := resp[0].(*soap.Fault); !ok || f.Code != soap.FaultCPEInternalError {
		t.Errorf("first GPV = %#v", resp[0])
	}
	if _, ok := resp[1].(*soap.GetParameterValuesResponse); !ok {
		t.Errorf("second GPV (rule used up) = %#v", resp[1])
	}
	f, ok := resp[2].(*soap.Fault)
	if !ok || f.Code != soap.FaultCPEInvalidArguments || len(f.SetParameterValuesFaults) != 1 ||
		f.SetParameterValuesFaults[0].FaultCode != soap.FaultCPERequestDenied || f.SetParameterValuesFaults[0].FaultString != "locked" {
		t.Errorf("planned SPV fault = %#v", resp[2])
	}
	rpc, err := tc.rec.WaitRPC(tc.ctx, mark, func(e RPCEvent) bool { return e.Method == "SetParameterValues" })
	if err != nil || rpc.Fault == nil || !slices.Equal(rpc.Names, []string{igd + "DeviceInfo.ProvisioningCode"}) {
		t.Errorf("RPC hook = %+v, %v", rpc, err)
	}
	tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent("M Download", "dl") })
	for _, m := range acs.cpeRequests() {
		if tcm := m.(*soap.TransferComplete); tcm.CommandKey == "dl" && tcm.Fault.FaultCode != soap.FaultCPEFileCorrupted {
			t.Errorf("planned TransferComplete fault = %+v", tcm.Fault)
		}
	}
}

func TestTransferQueueAndCancel(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, nil)
	resp := tc.run(t, acs,
		&soap.Download{CommandKey: "later", FileType: "3 Vendor Configuration File", URL: "http://x/", FileSize: 5, DelaySeconds: 3600},
		&soap.ScheduleDownload{CommandKey: "window", FileType: "1 Firmware Upgrade Image", URL: "http://x/",
			TimeWindowList: []soap.TimeWindow{{WindowStart: 3600, WindowEnd: 7200, WindowMode: "1 At Any Time"}}},
		&soap.Upload{CommandKey: "up", FileType: "1 Vendor Configuration File", URL: "http://x/", DelaySeconds: 3600},
	)
	if r, ok := resp[2].(*soap.UploadResponse); !ok || r.Status != 1 {
		t.Errorf("Upload = %#v", resp[2])
	}
	resp = tc.run(t, acs, &soap.GetAllQueuedTransfers{}, &soap.CancelTransfer{CommandKey: "later"}, &soap.GetQueuedTransfers{})
	all := resp[0].(*soap.GetAllQueuedTransfersResponse).TransferList
	if len(all) != 3 || all[0] != (soap.AllQueuedTransfer{CommandKey: "later", State: 1, IsDownload: true, FileType: "3 Vendor Configuration File", FileSize: 5}) || all[2].IsDownload {
		t.Errorf("GetAllQueuedTransfers = %+v", all)
	}
	if _, ok := resp[1].(*soap.CancelTransferResponse); !ok {
		t.Errorf("CancelTransfer = %#v", resp[1])
	}
	if q := resp[2].(*soap.GetQueuedTransfersResponse).TransferList; len(q) != 2 || q[0].CommandKey != "window" {
		t.Errorf("queue after cancel = %+v", q)
	}
}

func TestChangeDUStateCompleteInLaterSession(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, nil)
	mark := tc.rec.Mark()
	tc.run(t, acs, &soap.ChangeDUState{CommandKey: "du-1", Operations: []soap.DUOperation{
		{Op: "Install", URL: "http://x/app.ipk", UUID: "6ba7b810-9dad-51d1-80b4-00c04fd430c8"},
		{Op: "Uninstall", UUID: "6ba7b811-9dad-51d1-80b4-00c04fd430c8"},
	}})
	s := tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent("M ChangeDUState", "du-1") })
	if !s.HasEvent(EventDUStateChange) {
		t.Errorf("events %+v", s.Events)
	}
	var du *soap.DUStateChangeComplete
	for _, m := range acs.cpeRequests() {
		if d, ok := m.(*soap.DUStateChangeComplete); ok {
			du = d
		}
	}
	if du == nil || du.CommandKey != "du-1" || len(du.Results) != 2 || du.Results[0].CurrentState != "Installed" || du.Results[1].CurrentState != "Uninstalled" {
		t.Errorf("DUStateChangeComplete = %+v", du)
	}
}

func TestValueChangeActiveNotificationInforms(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, nil)
	const ssid = "Device.WiFi.SSID.1.SSID"
	tc.run(t, acs, &soap.SetParameterAttributes{ParameterList: []soap.SetParameterAttribute{{Name: ssid, NotificationChange: true, Notification: 2}}})
	mark := tc.rec.Mark()
	if err := tc.SetValue(ssid, "Renamed"); err != nil {
		t.Fatal(err)
	}
	tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent(EventValueChange) })
	if v, ok := informValue(acs.lastInform(), ssid); !ok || v != "Renamed" {
		t.Errorf("Inform carries %s = %q, %v", ssid, v, ok)
	}
}

func TestChecklist9RetryAfter503(t *testing.T) {
	acs := newScriptedACS(t)
	acs.busy = 1
	tc := launchCPE(t, acs, datamodel.LoadTR098Huawei, nil)
	first, err := tc.rec.WaitSession(tc.ctx, Mark{}, nil)
	var se *SessionError
	if err != nil || !errors.As(first.Err, &se) || se.Kind != KindBusy || se.RetryAfter.Seconds() != 1 {
		t.Fatalf("first session = %+v, %v", first, err)
	}
	s, err := tc.rec.WaitSession(tc.ctx, Mark{}, func(s SessionResult) bool { return s.Err == nil })
	if err != nil {
		t.Fatal(err)
	}
	if s.Retry != 1 || !s.HasEvent(EventBootstrap) {
		t.Errorf("retried session: RetryCount %d events %+v", s.Retry, s.Events)
	}
	if inf := acs.lastInform(); inf.RetryCount != 1 {
		t.Errorf("Inform RetryCount = %d", inf.RetryCount)
	}
}

func TestChecklist16DigestTowardACS(t *testing.T) {
	acs := newScriptedACS(t)
	v, err := auth.NewVerifier(auth.ModeDigest, "acs", auth.Static{User: "cpe", Pass: "s3cret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	acs.verifier = v
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, func(c *Config) {
		c.Auth, c.Username, c.Password = AuthDigest, "cpe", "s3cret"
	})
	if _, ok := tc.run(t, acs, &soap.GetRPCMethods{})[0].(*soap.GetRPCMethodsResponse); !ok {
		t.Error("no GetRPCMethodsResponse through Digest")
	}
	bad := launchCPE(t, acs, datamodel.LoadTR098Huawei, func(c *Config) {
		c.Auth, c.Username, c.Password = AuthDigest, "cpe", "wrong"
	})
	s, err := bad.rec.WaitSession(bad.ctx, Mark{}, nil)
	var se *SessionError
	if err != nil || !errors.As(s.Err, &se) || se.Kind != KindAuth {
		t.Errorf("wrong password session = %+v, %v", s, err)
	}
}

func TestConnectionRequestDigestWakesCPE(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, nil)
	url, err := tc.ListenCR(tc.ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if pv, _ := tc.Model().Get(igd + "ManagementServer.ConnectionRequestURL"); pv.Value.Raw != url {
		t.Errorf("ConnectionRequestURL = %q, listener %q", pv.Value.Raw, url)
	}
	wake := func(user, pass string) (int, error) {
		client := &http.Client{Transport: auth.NewClientTransport(nil, user, pass, auth.ClientOptions{})}
		resp, err := client.Get(url)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// The Huawei dump's own credentials.
	mark := tc.rec.Mark()
	if code, err := wake("202BC1-BM632w-000000", "69t0mkjya1"); err != nil || code != http.StatusOK {
		t.Fatalf("connection request: %d, %v", code, err)
	}
	tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent(EventConnectionRequest) })
	if code, _ := wake("202BC1-BM632w-000000", "nope"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	// The ACS sets new credentials (checklist 49): the listener uses them at once.
	tc.run(t, acs, &soap.SetParameterValues{ParameterList: []soap.ParameterValue{
		{Name: igd + "ManagementServer.ConnectionRequestUsername", Value: soap.Value{Type: "string", Raw: "gw-user"}},
		{Name: igd + "ManagementServer.ConnectionRequestPassword", Value: soap.Value{Type: "string", Raw: "gw-pass"}},
	}})
	if code, _ := wake("202BC1-BM632w-000000", "69t0mkjya1"); code != http.StatusUnauthorized {
		t.Errorf("old credentials still accepted: %d", code)
	}
	mark = tc.rec.Mark()
	if code, err := wake("gw-user", "gw-pass"); err != nil || code != http.StatusOK {
		t.Errorf("new credentials: %d, %v", code, err)
	}
	tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent(EventConnectionRequest) })
	// Muted: the connection is dropped without an answer.
	tc.SetMuted(true)
	if code, err := wake("gw-user", "gw-pass"); err == nil {
		t.Errorf("muted CPE answered %d", code)
	}
	// Anything but GET is refused.
	resp, err := http.Post(url, "text/plain", strings.NewReader("x"))
	if err == nil {
		resp.Body.Close()
	}
	tc.SetMuted(false)
	resp, err = http.Post(url, "text/plain", strings.NewReader("x"))
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to CR: %v %v", resp, err)
	}
	resp.Body.Close()
}
