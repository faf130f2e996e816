package acs

// Checklist items that the other tests of this package leave partly open (docs/checklist.md):
// each test is named after the item it pins and drives the real server over real HTTP.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// oneConnCPE is a CPE without a cookie jar whose HTTP client may use exactly one TCP
// connection: every POST goes on it (a second dial fails the request), so the server can only
// find the session by the connection. closed is closed when the server closes that connection.
func oneConnCPE(t *testing.T, acs *testACS) (c *cpe, closed <-chan struct{}) {
	t.Helper()
	eof := make(chan struct{})
	var dialed atomic.Bool
	tr := &http.Transport{MaxConnsPerHost: 1, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dialed.Swap(true) {
			return nil, errors.New("the CPE keeps its one connection: no second dial")
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &watchedConn{Conn: conn, eof: eof}, nil
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c = newCPE(t, acs.url)
	c.hc = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return c, eof
}

// watchedConn closes eof when a read sees the peer's close (the transport keeps reading an idle
// connection to notice exactly that).
type watchedConn struct {
	net.Conn
	eof  chan struct{}
	once sync.Once
}

func (w *watchedConn) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	if errors.Is(err, io.EOF) {
		w.once.Do(func() { close(w.eof) })
	}
	return n, err
}

// TestChecklist10RPCLimitCountsCPERequests: MaxRPCsPerSession also bounds a CPE that keeps
// sending its own requests (a looping GetRPCMethods): past the limit it gets 8004 and the session
// ends with EndLimit. (acs.TestRPCLimitPerSession covers the ACS's own tasks.)
func TestChecklist10RPCLimitCountsCPERequests(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{MaxRPCsPerSession: 2}, h)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	for i := range 2 {
		c.post(cpeMessage("", fmt.Sprint("g", i), `<cwmp:GetRPCMethods/>`)).expect(t, "GetRPCMethodsResponse")
	}
	r := c.post(cpeMessage("", "g-over", `<cwmp:GetRPCMethods/>`)).expectFault(t, soap.FaultResourcesExceeded)
	if r.Env.ID != "g-over" {
		t.Errorf("limit fault carries cwmp:ID %q, want the CPE's g-over", r.Env.ID)
	}
	if e := h.waitEnded(t); e.Reason != EndLimit {
		t.Errorf("session ended %s, want limit", e.Reason)
	}
	h.mu.Lock()
	n := len(h.cpeReqs)
	h.mu.Unlock()
	if n != 2 {
		t.Errorf("handler saw %d CPE requests, want only the 2 within the limit", n)
	}
	// The session is gone: its cookie leads nowhere, a further empty POST is stray.
	c.post("").expectEnd(t)
	if st := acs.srv.Stats(); st.Open != 0 || st.Ended[EndLimit] != 1 {
		t.Errorf("stats: %+v", st)
	}
}

// TestChecklist10IdleConnectionClosed: a kept-alive connection that goes quiet is closed by the
// server after IdleTimeout, so idle sockets cannot pile up.
func TestChecklist10IdleConnectionClosed(t *testing.T) {
	acs := startACS(t, Config{IdleTimeout: 150 * time.Millisecond}, newRecHandler())
	c, closed := oneConnCPE(t, acs)
	c.post("").expectEnd(t) // a stray empty POST: 204, connection kept alive
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("idle keep-alive connection still open 10 s after a 150 ms IdleTimeout")
	}
}

// TestChecklist10ConcurrentSessionsBound: MaxConcurrentSessions counts open sessions, not
// requests or connections: at the limit a new device gets 503 while both sessions go on; once
// one ends, the refused device gets in.
func TestChecklist10ConcurrentSessionsBound(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{MaxConcurrentSessions: 2}, h)
	h.enqueue("00147F-A", gpv)
	a, b := newCPE(t, acs.url), newCPE(t, acs.url)
	a.openSession(informOpts{Serial: "A"})
	b.openSession(informOpts{Serial: "B"})
	c := newCPE(t, acs.url)
	if r := c.post(informXML(informOpts{Serial: "C"})); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("third device at the limit of 2: got %d, want 503", r.Status)
	}
	task := a.post("").expect(t, "GetParameterValues") // A's session goes on at the limit
	a.post(cpeMessage("", task.Env.ID, gpvResponseBody)).expectEnd(t)
	h.waitEnded(t)
	c.openSession(informOpts{Serial: "C"})
	if st := acs.srv.Stats(); st.Open != 2 || st.Overload != 1 {
		t.Errorf("stats: %+v, want 2 open (B, C) and 1 refusal", st)
	}
}

// TestChecklist14SupersedeAtSessionLimit: a CPE that reboots mid-session while the server is at
// MaxConcurrentSessions sends an Inform that replaces its own session and adds none: it must
// supersede, not be locked out with 503 until its old session times out.
func TestChecklist14SupersedeAtSessionLimit(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{MaxConcurrentSessions: 1}, h)
	h.enqueue("00147F-SN0001", reboot)
	before := newCPE(t, acs.url)
	before.openSession(informOpts{})
	before.post("").expect(t, "Reboot")
	r := newCPE(t, acs.url).post(informXML(informOpts{Events: []string{"1 BOOT", "M Reboot"}}))
	if r.Status == http.StatusServiceUnavailable {
		t.Fatal("the Inform of a device that already has a session got 503 at the session limit: it must supersede (checklist 14)")
	}
	r.expect(t, "InformResponse")
	if e := h.waitEnded(t); e.Reason != EndSuperseded || e.Outstanding == nil {
		t.Fatalf("old session: %s outstanding=%v, want superseded with the Reboot handed back", e.Reason, e.Outstanding)
	}
}

// TestChecklist12CookieDroppedMidSession: a CPE that got the cookie on InformResponse but never
// sends it back stays in its session as long as it keeps its TCP connection; a cookie-less POST
// on another connection does not reach that session (it is a stray POST).
func TestChecklist12CookieDroppedMidSession(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", gpv, reboot)
	c, _ := oneConnCPE(t, acs)
	r := c.post(informXML(informOpts{})).expect(t, "InformResponse")
	if !strings.HasPrefix(r.Header.Get("Set-Cookie"), CookieName+"=") {
		t.Fatalf("no session cookie on InformResponse: %q", r.Header.Get("Set-Cookie"))
	}

	// Another socket without a cookie: not this session.
	other, _ := oneConnCPE(t, acs)
	other.post("").expectEnd(t)
	if q := h.pending("00147F-SN0001"); len(q) != 2 {
		t.Fatalf("a cookie-less POST on another connection took a task of the session (%d left)", len(q))
	}

	task := c.post("").expect(t, "GetParameterValues")
	task = c.post(cpeMessage("", task.Env.ID, gpvResponseBody)).expect(t, "Reboot")
	c.post(cpeMessage("", task.Env.ID, `<cwmp:RebootResponse/>`)).expectEnd(t)
	for _, want := range []string{"GetParameterValuesResponse", "RebootResponse"} {
		if d := h.waitTask(t); d.Err != nil || d.Resp == nil || d.Resp.MethodName() != want {
			t.Fatalf("TaskDone(%v, %v), want %s", d.Resp, d.Err, want)
		}
	}
	if e := h.waitEnded(t); e.Reason != EndDone {
		t.Errorf("session ended %s, want done", e.Reason)
	}
}

// TestChecklist26NoStrayHeaderTowardHeaderlessCPE: toward a CPE that sent no SOAP Header
// (MikroTik), the InformResponse and faults carry no Header element at all, and tasks carry only
// the cwmp:ID the ACS needs to match the answer.
func TestChecklist26NoStrayHeaderTowardHeaderlessCPE(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, acs.url)
	r := c.openSession(informOpts{NoHeader: true})
	if bytes.Contains(r.Body, []byte("Header")) {
		t.Errorf("InformResponse to a header-less Inform has a Header:\n%s", r.Body)
	}
	r = c.post(strings.Replace(cpeMessage("", "x", `<cwmp:X_ACME_Hello/>`),
		`<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">x</cwmp:ID></soap-env:Header>`, "", 1)).expectFault(t, soap.FaultMethodNotSupported)
	if bytes.Contains(r.Body, []byte("Header")) {
		t.Errorf("fault to a header-less request has a Header:\n%s", r.Body)
	}
	r = c.post("").expect(t, "GetParameterValues")
	if len(r.Env.HeaderElems) != 1 || r.Env.HeaderElems[0] != "ID" || r.Env.ID == "" {
		t.Errorf("task header elements %v (ID %q), want exactly a non-empty cwmp:ID", r.Env.HeaderElems, r.Env.ID)
	}
	// The CPE answers without a header too: tolerated (checklist 24), the task succeeds.
	c.post(strings.Replace(cpeMessage("", r.Env.ID, gpvResponseBody),
		`<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">`+r.Env.ID+`</cwmp:ID></soap-env:Header>`, "", 1)).expectEnd(t)
	if d := h.waitTask(t); d.Err != nil {
		t.Errorf("header-less answer: %v", d.Err)
	}
}

// TestChecklist28MissingSerialIsClearFault: an Inform without SerialNumber (or OUI) gets fault
// 8003 naming the missing field, with the CPE's cwmp:ID, and opens no session.
func TestChecklist28MissingSerialIsClearFault(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	for field, body := range map[string]string{
		"SerialNumber": strings.Replace(informXML(informOpts{ID: "no-sn"}), "<SerialNumber>SN0001</SerialNumber>", "", 1),
		"OUI":          strings.Replace(informXML(informOpts{ID: "no-sn"}), "<OUI>00147F</OUI>", "", 1),
	} {
		r := newCPE(t, acs.url).post(body).expectFault(t, soap.FaultInvalidArguments)
		if !strings.Contains(r.Env.FaultString, field) || r.Env.ID != "no-sn" || r.Env.SOAPFaultCode != "Client" {
			t.Errorf("missing %s: fault %s %q with ID %q; want Client, naming %s, ID echoed", field, r.Env.SOAPFaultCode, r.Env.FaultString, r.Env.ID, field)
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Errorf("missing %s: a session cookie was set", field)
		}
	}
	if st := acs.srv.Stats(); st.Started != 0 || st.Open != 0 {
		t.Errorf("an invalid Inform started a session: %+v", st)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.informs) != 0 {
		t.Errorf("handler saw %d informs", len(h.informs))
	}
}

// TestChecklist33MissingRetryCountAndEventWarned: an Inform without RetryCount and Event starts
// a normal session (RetryCount 0, no events) and the ACS logs one warning per missing field.
func TestChecklist33MissingRetryCountAndEventWarned(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	body := informXML(informOpts{Serial: "WARN1"})
	start, end := strings.Index(body, "<Event "), strings.Index(body, "</Event>")+len("</Event>")
	body = body[:start] + body[end:]
	body = strings.Replace(body, "<RetryCount>0</RetryCount>", "", 1)
	c := newCPE(t, acs.url)
	c.post(body).expect(t, "InformResponse")
	c.post("").expectEnd(t)
	e := h.waitEnded(t)
	if e.Reason != EndDone || len(e.Session.Events) != 0 {
		t.Errorf("session %s with events %v, want done with none", e.Reason, e.Session.Events)
	}
	warned := map[string]bool{}
	for _, l := range acs.logs.FilterMessage("envelope warning").All() {
		w, _ := l.ContextMap()["warning"].(string)
		for _, field := range []string{"RetryCount", "Event"} {
			if strings.Contains(w, field+" is missing") {
				warned[field] = true
			}
		}
	}
	if !warned["RetryCount"] || !warned["Event"] {
		t.Errorf("warnings logged for %v, want RetryCount and Event; log: %v", warned, acs.logs.FilterMessage("envelope warning").All())
	}
}

// TestChecklist33InformWarningsNameTheDevice: the warnings about a tolerated Inform name the
// device (docs/design.md §5: device id on every device line), though the session does not exist yet
// when the envelope is decoded.
func TestChecklist33InformWarningsNameTheDevice(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	body := strings.Replace(informXML(informOpts{Serial: "WARN2"}), "<RetryCount>0</RetryCount>", "", 1)
	newCPE(t, acs.url).post(body).expect(t, "InformResponse")
	lines := acs.logs.FilterMessage("envelope warning").All()
	if len(lines) == 0 {
		t.Fatal("no warning logged for the missing RetryCount")
	}
	for _, l := range lines {
		if l.ContextMap()["device"] != "00147F-WARN2" {
			t.Fatalf("Inform warning logged without the device id: fields %v", l.ContextMap())
		}
	}
}

// TestChecklist15DefaultIdleTimeout: without configuration a session idles out after 30 s,
// and the HTTP server's keep-alive timeout is the same (waiting 30 s is not worth a test run).
func TestChecklist15DefaultIdleTimeout(t *testing.T) {
	srv, err := New(Config{}, newRecHandler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv.cfg.IdleTimeout != 30*time.Second || srv.http.IdleTimeout != 30*time.Second {
		t.Errorf("default idle timeout %s (keep-alive %s), want 30s", srv.cfg.IdleTimeout, srv.http.IdleTimeout)
	}
	if got := idleFor(0, &srv.cfg); got != 30*time.Second {
		t.Errorf("session without a SessionTimeout header idles out after %s, want 30s", got)
	}
}
