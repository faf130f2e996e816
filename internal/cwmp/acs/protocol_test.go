package acs

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// TestFullSessionWithFault runs a real-capture session: Google Fiber BOOTSTRAP Inform (cwmp-1-2),
// GetRPCMethods from the CPE, then three tasks answered by a response, a CPE fault and a
// response, then 204.
func TestFullSessionWithFault(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	const dev = "F88FCA-GFHD100-G00223301811"
	spv := &soap.SetParameterValues{ParameterList: []soap.ParameterValue{{Name: "Device.X.Y", Value: soap.Value{Type: "string", Raw: "z"}}}, ParameterKey: "k1"}
	tasks := h.enqueue(dev, gpv, spv, reboot)
	c := newCPE(t, acs.url)

	r := c.post(fixture(t, "09-googlefiber-gfhd100-inform-bootstrap-cwmp12.xml")).expect(t, "InformResponse")
	if r.Env.MethodNS != soap.NSCWMP12 || r.Env.ID != "catawampus.1370208445.785391" {
		t.Errorf("InformResponse in %q with ID %q, want the CPE's namespace and ID", r.Env.MethodNS, r.Env.ID)
	}
	h.mu.Lock()
	s := h.informs[0]
	h.mu.Unlock()
	if s.DeviceID != dev || s.NS != soap.NSCWMP12 || s.CWMPVersion != "1.2" || len(s.Events) != 2 || s.Events[0].Code != "0 BOOTSTRAP" {
		t.Errorf("Session given to the handler: %+v", s)
	}

	c.post(cpeMessage(soap.NSCWMP12, "cpe-1", `<cwmp:GetRPCMethods/>`)).expect(t, "GetRPCMethodsResponse")

	r = c.post("").expect(t, "GetParameterValues")
	if r.Env.MethodNS != soap.NSCWMP12 || !r.Env.HasID || r.Env.ID == "" {
		t.Errorf("task: ns %q id %q", r.Env.MethodNS, r.Env.ID)
	}
	r = c.post(cpeMessage(soap.NSCWMP12, r.Env.ID, gpvResponseBody)).expect(t, "SetParameterValues")
	r = c.post(withID(fixture(t, "32-googlefiber-gfhd100-fault-9005.xml"), r.Env.ID)).expect(t, "Reboot")
	c.post(cpeMessage(soap.NSCWMP12, r.Env.ID, `<cwmp:RebootResponse></cwmp:RebootResponse>`)).expectEnd(t)

	var got []doneRec
	for range 3 {
		got = append(got, h.waitTask(t))
	}
	if got[0].Task != tasks[0] || got[0].Err != nil || got[0].Resp.(*soap.GetParameterValuesResponse).ParameterList[0].Value.Raw != "42" {
		t.Errorf("GPV: %+v", got[0])
	}
	var f *soap.Fault
	if got[1].Task != tasks[1] || got[1].Resp != nil || !errors.As(got[1].Err, &f) || f.Code != 9005 {
		t.Errorf("SPV should fail with the CPE's 9005: %+v", got[1])
	}
	if got[2].Task != tasks[2] || got[2].Err != nil || got[2].Resp.MethodName() != "RebootResponse" {
		t.Errorf("Reboot: %+v", got[2])
	}
	if e := h.waitEnded(t); e.Reason != EndDone || e.Outstanding != nil {
		t.Errorf("ended %s outstanding=%v", e.Reason, e.Outstanding)
	}
	if st := acs.srv.Stats(); st.CPEFaults != 1 || st.Mismatches != 0 || st.Faults != 0 {
		t.Errorf("stats: %+v", st)
	}
}

// TestRealCaptures drives sessions with captured CPE messages: Thomson Inform, GPV response and
// a 9001 fault; MikroTik Inform without SOAP Header.
func TestRealCaptures(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	const thomson = "00147F-SpeedTouch%20780-CP0644JTHJ4"
	h.enqueue(thomson, gpv, reboot)
	c := newCPE(t, acs.url)
	req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader(fixture(t, "01-thomson-speedtouch780-inform-periodic.xml")))
	req.Header.Set("Content-Type", "text/xml; charset=ISO-8859-1")
	c.do(req).expect(t, "InformResponse")
	r := c.post("").expect(t, "GetParameterValues")
	r = c.post(withID(fixture(t, "18-thomson-speedtouch780-getparametervaluesresponse.xml"), r.Env.ID)).expect(t, "Reboot")
	c.post(withID(fixture(t, "30-thomson-speedtouch780-fault-9001.xml"), r.Env.ID)).expectEnd(t)
	if d := h.waitTask(t); d.Err != nil {
		t.Errorf("GPV: %v", d.Err)
	}
	var f *soap.Fault
	if d := h.waitTask(t); !errors.As(d.Err, &f) || f.Code != 9001 {
		t.Errorf("Reboot: want the 9001 fault, got %v", d.Err)
	}
	h.waitEnded(t)

	// MikroTik: no SOAP Header at all, so no cwmp:ID to echo and none invented (checklist 24, 26).
	m := newCPE(t, acs.url)
	r = m.post(fixture(t, "10-mikrotik-hap-lite-inform-diagnostics-complete.xml")).expect(t, "InformResponse")
	if r.Env.HasID {
		t.Errorf("InformResponse invented a cwmp:ID %q for a CPE that sent none", r.Env.ID)
	}
	m.post("").expectEnd(t)
	if e := h.waitEnded(t); e.Session.DeviceID != "E48D8C-hAP%20lite-XXXXXXXXXXXX" {
		t.Errorf("MikroTik device id %q", e.Session.DeviceID)
	}
}

func TestChecklist23VersionNegotiation(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	for _, tc := range []struct {
		supported, want string
	}{
		{"1.0,1.1,1.2,1.3,1.4", "1.4"},
		{"1.0, 1.2 ,1.3", "1.3"},
		{"1.4,1.5,2.0", "1.4"},
		{"", ""},
	} {
		hdr := ""
		if tc.supported != "" {
			hdr = `<cwmp:SupportedCWMPVersions soap-env:mustUnderstand="0">` + tc.supported + `</cwmp:SupportedCWMPVersions>`
		}
		c := newCPE(t, acs.url)
		r := c.openSession(informOpts{NS: soap.NSCWMP12, Header: hdr})
		if r.Env.UseCWMPVersion != tc.want {
			t.Errorf("SupportedCWMPVersions %q: UseCWMPVersion %q, want %q", tc.supported, r.Env.UseCWMPVersion, tc.want)
		}
		if tc.want == "" && (len(r.Env.HeaderElems) != 1 || r.Env.HeaderElems[0] != "ID") {
			t.Errorf("without negotiation the header must hold only cwmp:ID, got %v", r.Env.HeaderElems)
		}
		c.post("").expectEnd(t)
		e := h.waitEnded(t)
		want := tc.want
		if want == "" {
			want = "1.2"
		}
		if e.Session.CWMPVersion != want {
			t.Errorf("Session.CWMPVersion %q, want %q", e.Session.CWMPVersion, want)
		}
	}
	// Nothing in common: fault 8006, no session.
	r := newCPE(t, acs.url).post(informXML(informOpts{NS: soap.NSCWMP12, Header: `<cwmp:SupportedCWMPVersions>2.0</cwmp:SupportedCWMPVersions>`}))
	r.expectFault(t, soap.FaultACSVersionIncompatible)
	if st := acs.srv.Stats(); st.Open != 0 {
		t.Errorf("a refused version left a session open")
	}
}

// TestChecklist25CWMPIDEchoAndCheck: the CPE's ID comes back XML-escaped; a response carrying
// another ID than the one sent is a fault for the task.
func TestChecklist25CWMPIDEchoAndCheck(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", gpv, gpv)
	c := newCPE(t, acs.url)
	const nasty = `a<b>&"c'`
	r := c.post(informXML(informOpts{ID: nasty})).expect(t, "InformResponse")
	if r.Env.ID != nasty {
		t.Errorf("echoed ID %q, want %q", r.Env.ID, nasty)
	}
	r = c.post(cpeMessage("", `tc&1`, `<cwmp:TransferComplete><CommandKey>x</CommandKey><FaultStruct><FaultCode>0</FaultCode><FaultString/></FaultStruct><StartTime>2026-01-01T00:00:00Z</StartTime><CompleteTime>2026-01-01T00:00:01Z</CompleteTime></cwmp:TransferComplete>`))
	if r.expect(t, "TransferCompleteResponse").Env.ID != "tc&1" {
		t.Errorf("TransferCompleteResponse ID %q", r.Env.ID)
	}

	first := c.post("").expect(t, "GetParameterValues")
	second := c.post(cpeMessage("", first.Env.ID+"-wrong", gpvResponseBody)).expect(t, "GetParameterValues")
	if d := h.waitTask(t); !errors.Is(d.Err, ErrMismatch) || d.Resp != nil {
		t.Errorf("wrong cwmp:ID: TaskDone(%v, %v), want ErrMismatch", d.Resp, d.Err)
	}
	if second.Env.ID == first.Env.ID {
		t.Errorf("every RPC needs a fresh cwmp:ID, got %q twice", first.Env.ID)
	}
	c.post(cpeMessage("", second.Env.ID, gpvResponseBody)).expectEnd(t)
	if d := h.waitTask(t); d.Err != nil {
		t.Errorf("matching ID: %v", d.Err)
	}
}

func TestChecklist31MaxEnvelopes(t *testing.T) {
	acs := startACS(t, Config{}, newRecHandler())
	// The Thomson announces MaxEnvelopes 2; the ACS still answers 1.
	r := newCPE(t, acs.url).post(fixture(t, "01-thomson-speedtouch780-inform-periodic.xml")).expect(t, "InformResponse")
	if r.Env.MaxEnvelopes != "1" {
		t.Errorf("MaxEnvelopes %q, want 1", r.Env.MaxEnvelopes)
	}
}

// TestChecklist42TransferCompleteOnlyInCPETurn: answered while the CPE holds the turn (empty
// CommandKey included); refused with a fault when the ACS holds it, the task failing.
func TestChecklist42TransferCompleteOnlyInCPETurn(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{Events: []string{"7 TRANSFER COMPLETE", "M Download"}})
	c.post(withID(fixture(t, "34-unknown-fullrate-cpe-transfercomplete.xml"), "tc1")).expect(t, "TransferCompleteResponse")
	emptyKey := `<cwmp:TransferComplete><CommandKey></CommandKey><FaultStruct><FaultCode>0</FaultCode><FaultString></FaultString></FaultStruct><StartTime>0001-01-01T00:00:00Z</StartTime><CompleteTime>0001-01-01T00:00:00Z</CompleteTime></cwmp:TransferComplete>`
	c.post(cpeMessage("", "tc2", emptyKey)).expect(t, "TransferCompleteResponse")

	c.post("").expect(t, "GetParameterValues") // the ACS holds the turn now
	r := c.post(cpeMessage("", "tc3", emptyKey)).expectFault(t, soap.FaultInvalidArguments)
	if !strings.Contains(r.Env.FaultString, "turn") {
		t.Errorf("fault string %q should say why", r.Env.FaultString)
	}
	if d := h.waitTask(t); !errors.Is(d.Err, ErrMismatch) {
		t.Errorf("the GPV got no answer: want ErrMismatch, got %v", d.Err)
	}
	h.mu.Lock()
	n := len(h.cpeReqs)
	h.mu.Unlock()
	if n != 2 {
		t.Errorf("handler saw %d TransferCompletes, want the 2 in turn", n)
	}
	c.post("").expectEnd(t)
}

// TestChecklist43UnknownCPEMethods: an unknown method and one the handler does not support both
// get a well-formed 8000; the session goes on.
func TestChecklist43UnknownCPEMethods(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	r := c.post(cpeMessage("", "u1", `<cwmp:X_ACME_Hello><A>1</A></cwmp:X_ACME_Hello>`)).expectFault(t, soap.FaultMethodNotSupported)
	if r.Env.ID != "u1" || r.Env.SOAPFaultCode != "Client" {
		t.Errorf("8000 fault: id %q faultcode %q", r.Env.ID, r.Env.SOAPFaultCode)
	}
	// Kicked is a CPE method the test handler does not support.
	c.post(cpeMessage("", "k1", `<cwmp:Kicked><Command>x</Command><Referer>y</Referer><Arg>z</Arg><Next>n</Next></cwmp:Kicked>`)).expectFault(t, soap.FaultMethodNotSupported)
	// An ACS-side method sent by the CPE.
	c.post(cpeMessage("", "g1", `<cwmp:GetParameterValues><ParameterNames><string>A.</string></ParameterNames></cwmp:GetParameterValues>`)).expectFault(t, soap.FaultMethodNotSupported)
	c.post(cpeMessage("", "ok", `<cwmp:GetRPCMethods/>`)).expect(t, "GetRPCMethodsResponse")
	c.post("").expectEnd(t)
	if e := h.waitEnded(t); e.Reason != EndDone {
		t.Errorf("ended %s", e.Reason)
	}
}

// TestChecklist46ResponseMismatch: the wrong response method fails the task; the session goes on.
func TestChecklist46ResponseMismatch(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", gpv, reboot)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	r := c.post("").expect(t, "GetParameterValues")
	r = c.post(cpeMessage("", r.Env.ID, `<cwmp:SetParameterValuesResponse><Status>0</Status></cwmp:SetParameterValuesResponse>`)).expect(t, "Reboot")
	d := h.waitTask(t)
	if !errors.Is(d.Err, ErrMismatch) || d.Resp != nil || !strings.Contains(d.Err.Error(), "GetParameterValuesResponse") {
		t.Errorf("mismatch: TaskDone(%v, %v)", d.Resp, d.Err)
	}
	c.post(cpeMessage("", r.Env.ID, `<cwmp:RebootResponse/>`)).expectEnd(t)
	if d := h.waitTask(t); d.Err != nil {
		t.Errorf("the session should go on normally: %v", d.Err)
	}
	if st := acs.srv.Stats(); st.Mismatches != 1 {
		t.Errorf("Mismatches = %d", st.Mismatches)
	}
}

func TestInformRejectedByHandler(t *testing.T) {
	h := newRecHandler()
	h.informErr = soap.NewACSFault(soap.FaultRequestDenied, "unknown device")
	acs := startACS(t, Config{}, h)
	r := newCPE(t, acs.url).post(informXML(informOpts{})).expectFault(t, soap.FaultRequestDenied)
	if r.Env.FaultString != "unknown device" || r.Header.Get("Set-Cookie") != "" {
		t.Errorf("fault %q, cookie %q", r.Env.FaultString, r.Header.Get("Set-Cookie"))
	}
	if e := h.waitEnded(t); e.Reason != EndError {
		t.Errorf("ended %s", e.Reason)
	}

	h.informErr = errors.New("database down")
	r = newCPE(t, acs.url).post(informXML(informOpts{})).expectFault(t, soap.FaultInternalError)
	if strings.Contains(r.Env.FaultString, "database") {
		t.Errorf("internal error text leaked to the CPE: %q", r.Env.FaultString)
	}
	h.waitEnded(t)
	if st := acs.srv.Stats(); st.InformsRefused != 2 {
		t.Errorf("InformsRefused = %d, want 2", st.InformsRefused)
	}
}

func TestInvalidTaskSkipped(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", &soap.TransferCompleteResponse{}, nil, gpv)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	r := c.post("").expect(t, "GetParameterValues")
	for range 2 {
		if d := h.waitTask(t); !errors.Is(d.Err, ErrInvalidTask) {
			t.Errorf("invalid task: %v", d.Err)
		}
	}
	c.post(cpeMessage("", r.Env.ID, gpvResponseBody)).expectEnd(t)
}
