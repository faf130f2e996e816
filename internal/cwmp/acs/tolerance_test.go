package acs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Issue 7, point 4: a real client answers Reboot with <cwmp:Reboot><RebootResponse/></cwmp:Reboot>.
// It is the Reboot's answer: the task ends done, no fault goes to the CPE, the next task follows,
// and the quirk is warned about once per device.
func TestMalformedRebootResponseTakenAsAnswer(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	for session := range 2 {
		h.enqueue("00147F-SN0001", reboot, gpv)
		c := newCPE(t, acs.url)
		c.openSession(informOpts{})
		r := c.post("").expect(t, "Reboot")
		r = c.post(cpeMessage("", r.Env.ID, `<cwmp:Reboot><RebootResponse/></cwmp:Reboot>`)).expect(t, "GetParameterValues")
		if d := h.waitTask(t); d.Err != nil || d.Task.Request != reboot {
			t.Fatalf("session %d: Reboot ended with %v", session, d.Err)
		} else if _, ok := d.Resp.(*soap.RebootResponse); !ok {
			t.Errorf("session %d: Reboot answered %#v", session, d.Resp)
		}
		c.post(cpeMessage("", r.Env.ID, gpvResponseBody)).expectEnd(t)
		if d := h.waitTask(t); d.Err != nil {
			t.Errorf("session %d: the GPV after it: %v", session, d.Err)
		}
		if e := h.waitEnded(t); e.Reason != EndDone {
			t.Errorf("session %d ended %s", session, e.Reason)
		}
	}
	if st := acs.srv.Stats(); st.Faults != 0 || st.Mismatches != 0 {
		t.Errorf("faults sent %d, mismatches %d", st.Faults, st.Mismatches)
	}
	warned := acs.logs.FilterMessage("CPE quirk tolerated").FilterField(zap.String("device", "00147F-SN0001")).
		FilterField(zap.String("quirk", quirkWrappedResponse))
	if n := warned.Filter(func(e observer.LoggedEntry) bool { return e.Level == zapcore.WarnLevel }).Len(); n != 1 || warned.Len() != 2 {
		t.Errorf("quirk logged %d times, %d at WARN; want twice, once at WARN", warned.Len(), n)
	}
}

// A response in a foreign namespace is taken too; one for another method is a mismatch as before.
func TestResponseInForeignNamespaceTakenAsAnswer(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", reboot, gpv)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	r := c.post("").expect(t, "Reboot")
	r = c.post(cpeMessage("", r.Env.ID, `<x:RebootResponse xmlns:x="urn:acme-cwmp"/>`)).expect(t, "GetParameterValues")
	if d := h.waitTask(t); d.Err != nil {
		t.Errorf("Reboot: %v", d.Err)
	}
	c.post(cpeMessage("", r.Env.ID, `<cwmp:GetParameterValues><RebootResponse/></cwmp:GetParameterValues>`)).expectEnd(t)
	if d := h.waitTask(t); !errors.Is(d.Err, ErrMismatch) {
		t.Errorf("GPV answered with a wrapped RebootResponse: %v", d.Err)
	}
	if n := acs.logs.FilterMessage("CPE quirk tolerated").FilterField(zap.String("quirk", quirkForeignResponse)).Len(); n != 1 {
		t.Errorf("foreign-namespace quirk logged %d times", n)
	}
	if st := acs.srv.Stats(); st.Faults != 0 {
		t.Errorf("%d faults sent", st.Faults)
	}
}

// While a request is outstanding, whatever the CPE sends that is not a CPE request could be its
// answer: the task fails as a mismatch and the session goes on, but the CPE never gets a fault.
func TestNoFaultForWhatCouldBeThePendingAnswer(t *testing.T) {
	for name, body := range map[string]string{
		"unknown method":          `<cwmp:X_ACME_Done/>`,
		"ACS method":              `<cwmp:Reboot><CommandKey>x</CommandKey></cwmp:Reboot>`,
		"request element wrapped": `<cwmp:GetParameterValues><Status>0</Status></cwmp:GetParameterValues>`,
	} {
		t.Run(name, func(t *testing.T) {
			h := newRecHandler()
			acs := startACS(t, Config{}, h)
			h.enqueue("00147F-SN0001", gpv, reboot)
			c := newCPE(t, acs.url)
			c.openSession(informOpts{})
			r := c.post("").expect(t, "GetParameterValues")
			r = c.post(cpeMessage("", r.Env.ID, body)).expect(t, "Reboot")
			if d := h.waitTask(t); !errors.Is(d.Err, ErrMismatch) || !strings.Contains(d.Err.Error(), "GetParameterValuesResponse") {
				t.Errorf("GPV: %v", d.Err)
			}
			c.post(cpeMessage("", r.Env.ID, `<cwmp:RebootResponse/>`)).expectEnd(t)
			if d := h.waitTask(t); d.Err != nil {
				t.Errorf("Reboot after it: %v", d.Err)
			}
			if st := acs.srv.Stats(); st.Faults != 0 {
				t.Errorf("%d faults sent", st.Faults)
			}
		})
	}
}

// Every fault the ACS sends is logged with the device (or, before any session, the remote
// address) and why.
func TestEveryFaultSentIsLogged(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	c.post(cpeMessage("", "u1", `<cwmp:X_ACME_Hello/>`)).expectFault(t, soap.FaultMethodNotSupported)
	c.post("").expectEnd(t)
	h.waitEnded(t)
	newCPE(t, acs.url).post(cpeMessage("", "s1", `<cwmp:RebootResponse/>`)).expectFault(t, soap.FaultInvalidArguments)

	sent := acs.logs.FilterMessage("fault sent to the CPE").All()
	if len(sent) != 2 {
		t.Fatalf("%d fault lines for 2 faults: %+v", len(sent), sent)
	}
	first, second := sent[0].ContextMap(), sent[1].ContextMap()
	if first["device"] != "00147F-SN0001" || first["fault_code"] != int64(8000) || !strings.Contains(first["why"].(string), "X_ACME_Hello") {
		t.Errorf("in-session fault logged as %v", first)
	}
	if second["remote"] == nil || second["fault_code"] != int64(8003) || !strings.Contains(second["why"].(string), "Inform") {
		t.Errorf("out-of-session fault logged as %v", second)
	}
	if sent[0].Level != zapcore.WarnLevel {
		t.Errorf("fault logged at %s", sent[0].Level)
	}
}

// A session that ends on a protocol error is reported through Config.OnSessionFault with the
// device, the CPE's address and the reason: an undecodable answer, or silence while a request
// is outstanding (a CPE that crashed on it).
func TestSessionFaultReported(t *testing.T) {
	h := newRecHandler()
	faults := make(chan SessionFault, 4)
	acs := startACS(t, Config{IdleTimeout: 300 * time.Millisecond, OnSessionFault: func(f SessionFault) { faults <- f }}, h)
	next := func() SessionFault {
		t.Helper()
		select {
		case f := <-faults:
			return f
		case <-time.After(10 * time.Second):
			t.Fatal("no SessionFault within 10s")
			return SessionFault{}
		}
	}

	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	r := c.post("").expect(t, "GetParameterValues")
	c.post(cpeMessage("", r.Env.ID, `<cwmp:GetParameterValuesResponse><ParameterList><ParameterValueStruct>`)).expectEnd(t)
	f := next()
	if f.Device != "00147F-SN0001" || !f.Remote.IsValid() || !f.Remote.Addr().IsLoopback() ||
		!strings.Contains(f.Reason, "undecodable answer to GetParameterValues") {
		t.Errorf("undecodable answer reported as %+v", f)
	}
	h.waitTask(t)
	h.waitEnded(t)

	h.enqueue("00147F-SN0001", reboot)
	c = newCPE(t, acs.url)
	c.openSession(informOpts{})
	c.post("").expect(t, "Reboot") // and the CPE goes silent
	if e := h.waitEnded(t); e.Reason != EndTimeout || e.Outstanding == nil {
		t.Errorf("silent CPE: session ended %s with outstanding %v", e.Reason, e.Outstanding)
	}
	if f := next(); f.Device != "00147F-SN0001" || !strings.Contains(f.Reason, "no answer to Reboot") {
		t.Errorf("silence reported as %+v", f)
	}

	// A CPE that comes back with a new Inform while a request is outstanding (it restarted on it).
	c = newCPE(t, acs.url)
	c.openSession(informOpts{})
	c.post("").expect(t, "Reboot")
	c = newCPE(t, acs.url)
	c.openSession(informOpts{Events: []string{"1 BOOT"}})
	if e := h.waitEnded(t); e.Reason != EndSuperseded || e.Outstanding == nil {
		t.Errorf("restarted CPE: session ended %s with outstanding %v", e.Reason, e.Outstanding)
	}
	if f := next(); !strings.Contains(f.Reason, "no answer to Reboot: the CPE opened a new session") {
		t.Errorf("restart reported as %+v", f)
	}

	// A session that ends normally reports nothing.
	r = c.post("").expect(t, "Reboot") // the task handed back
	c.post(cpeMessage("", r.Env.ID, `<cwmp:RebootResponse/>`)).expectEnd(t)
	h.waitTask(t)
	h.waitEnded(t)
	select {
	case f := <-faults:
		t.Errorf("normal session reported %+v", f)
	default:
	}
}
