package acs

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"go.uber.org/zap"
)

func TestChecklist11SessionCookie(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	r := newCPE(t, acs.url).openSession(informOpts{})
	sc := r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(sc, CookieName+"=") || !strings.Contains(sc, "; Path=/") || !strings.Contains(sc, "HttpOnly") {
		t.Fatalf("Set-Cookie %q: want %s=…; Path=/; HttpOnly", sc, CookieName)
	}
	id := strings.TrimPrefix(strings.SplitN(sc, ";", 2)[0], CookieName+"=")

	// The ways real CPEs send it back: plain, quoted, RFC 2965 with $Version/$Path, ','
	// separated, and genieacs-sim echoing the whole Set-Cookie.
	h.enqueue("00147F-SN0001", gpv, gpv, gpv, gpv, gpv)
	for _, cookie := range []string{
		CookieName + "=" + id,
		`$Version="1"; ` + CookieName + `="` + id + `"; $Path="/"`,
		`other=1, ` + CookieName + `=` + id + `, $Path=/`,
		sc,
		`theme=dark;` + CookieName + `=` + id,
	} {
		req, _ := http.NewRequest(http.MethodPost, acs.url, nil)
		req.Header.Set("Cookie", cookie)
		// A fresh client per request: no jar and no shared connection, only the header.
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("Cookie %q: got %d, want the next task", cookie, resp.StatusCode)
		}
	}
	if n := len(h.pending("00147F-SN0001")); n != 0 {
		t.Errorf("%d tasks left: some Cookie header was not recognised", n)
	}
}

func TestCookieValues(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  []string
	}{
		{[]string{"cwmpsid=abc"}, []string{"abc"}},
		{[]string{`$Version="1"; cwmpsid="abc"; $Path="/"`}, []string{"abc"}},
		{[]string{`a=1, cwmpsid=abc`}, []string{"abc"}},
		{[]string{`cwmpsid=abc; Path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT`}, []string{"abc"}},
		{[]string{`x="q;u,o\"te"; cwmpsid=abc`}, []string{"abc"}},
		{[]string{`cwmpsid="a\"b"`}, []string{`a"b`}},
		{[]string{"cwmpsid=old", "CWMPSID=new"}, []string{"old", "new"}},
		{[]string{"cwmpsid=; other", "=x;;,", `cwmpsid="`, ""}, []string{`"`}},
		{nil, nil},
	} {
		got := slices.Collect(cookieValues(tc.lines, CookieName))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.lines, got, tc.want)
		}
	}
}

// TestChecklist12CookieNotSocket: each POST on a new TCP connection, found by cookie; and a CPE
// that drops the cookie but keeps its connection.
func TestChecklist12CookieNotSocket(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, acs.url)
	c.hc.Transport = &http.Transport{DisableKeepAlives: true}
	c.openSession(informOpts{})
	r := c.post("").expect(t, "GetParameterValues")
	c.post(cpeMessage("", r.Env.ID, gpvResponseBody)).expectEnd(t)
	if d := h.waitTask(t); d.Err != nil || d.Resp == nil {
		t.Fatalf("task over new connections: %v", d.Err)
	}
	h.waitEnded(t)

	// No cookie jar, one kept-alive connection.
	h.enqueue("00147F-SN0001", gpv)
	nojar := newCPE(t, acs.url)
	nojar.hc.Jar = nil
	nojar.openSession(informOpts{})
	r = nojar.post("").expect(t, "GetParameterValues")
	nojar.post(cpeMessage("", r.Env.ID, gpvResponseBody)).expectEnd(t)
	if d := h.waitTask(t); d.Err != nil {
		t.Fatalf("cookie-less CPE on one connection: %v", d.Err)
	}
	if e := h.waitEnded(t); e.Reason != EndDone {
		t.Errorf("ended %s", e.Reason)
	}
}

// TestChecklist13InformWithStaleCookie: an Inform always starts a new session.
func TestChecklist13InformWithStaleCookie(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	c := newCPE(t, acs.url)
	old := c.openSession(informOpts{}).Header.Get("Set-Cookie")
	c.post("").expectEnd(t)
	h.waitEnded(t)

	req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader(informXML(informOpts{ID: "second"})))
	req.Header.Set("Cookie", strings.SplitN(old, ";", 2)[0]) // the dead session's cookie
	r := newCPE(t, acs.url).do(req).expect(t, "InformResponse")
	if r.Env.ID != "second" || r.Header.Get("Set-Cookie") == old {
		t.Errorf("a stale cookie must not prevent a new session: %q %q", r.Env.ID, r.Header.Get("Set-Cookie"))
	}
	if st := acs.srv.Stats(); st.Started != 2 || st.Open != 1 {
		t.Errorf("stats: %+v", st)
	}
}

// TestChecklist14SupersedeOnNewInform: the CPE reboots mid-session; its new Inform ends the old
// session, the outstanding task returns to the queue and is sent again in the new session.
func TestChecklist14SupersedeOnNewInform(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", reboot)
	before := newCPE(t, acs.url)
	before.openSession(informOpts{})
	before.post("").expect(t, "Reboot")

	after := newCPE(t, acs.url) // new TCP connection, no cookie
	after.openSession(informOpts{Events: []string{"1 BOOT"}})
	e := h.waitEnded(t)
	if e.Reason != EndSuperseded || e.Outstanding == nil || e.Outstanding.Request != reboot {
		t.Fatalf("old session: reason %s outstanding %v, want superseded with the Reboot", e.Reason, e.Outstanding)
	}
	// No lock-out: the new session gets the returned task.
	r := after.post("").expect(t, "Reboot")
	after.post(cpeMessage("", r.Env.ID, `<cwmp:RebootResponse/>`)).expectEnd(t)
	if d := h.waitTask(t); d.Err != nil || d.Resp.MethodName() != "RebootResponse" {
		t.Fatalf("TaskDone: %v %v", d.Resp, d.Err)
	}
	// The old session's cookie is dead now: its empty POST is a stray one.
	before.post("").expectEnd(t)
	if e := h.waitEnded(t); e.Reason != EndDone {
		t.Errorf("new session ended %s", e.Reason)
	}
	h.noEnd(t)
}

// TestChecklist14SupersedeWhileHandlerBusy: the superseding Inform cancels the old session's
// context, so a handler call blocked on it returns and the old session ends first.
func TestChecklist14SupersedeWhileHandlerBusy(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	entered := make(chan struct{})
	h.nextHook = func(ctx context.Context, s *Session) {
		if s.CWMPVersion == "1.0" && len(s.Events) == 1 && s.Events[0].Code == "2 PERIODIC" {
			close(entered)
			<-ctx.Done()
		}
	}
	h.enqueue("00147F-SN0001", gpv)
	stuck := newCPE(t, acs.url)
	stuck.openSession(informOpts{})
	status := make(chan int, 1)
	go func() {
		resp, err := stuck.hc.Post(stuck.url, "", nil)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-entered
	newCPE(t, acs.url).openSession(informOpts{Events: []string{"1 BOOT"}})
	e := h.waitEnded(t)
	if e.Reason != EndSuperseded || e.Outstanding == nil {
		t.Fatalf("old session: %s outstanding=%v, want superseded with the GPV handed back", e.Reason, e.Outstanding)
	}
	if st := <-status; st != http.StatusNoContent {
		t.Errorf("the superseded session's pending POST got %d, want 204", st)
	}
	if q := h.pending("00147F-SN0001"); len(q) != 1 || q[0].Request != gpv {
		t.Errorf("the GPV should be back in the queue, got %v", q)
	}
}

// TestChecklist15IdleTimeoutReturnsTask: a CPE that vanishes mid-session is reaped and its
// task goes back.
func TestChecklist15IdleTimeoutReturnsTask(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{IdleTimeout: 200 * time.Millisecond}, h)
	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	c.post("").expect(t, "GetParameterValues")
	e := h.waitEnded(t)
	if e.Reason != EndTimeout || e.Outstanding == nil || e.Outstanding.Request != gpv {
		t.Fatalf("got %s outstanding=%v, want timeout with the GPV", e.Reason, e.Outstanding)
	}
	if st := acs.srv.Stats(); st.Open != 0 || st.Ended[EndTimeout] != 1 {
		t.Errorf("stats: %+v", st)
	}
	// The late answer finds no session. (New connection: the server also closed the idle one.)
	c.hc.CloseIdleConnections()
	c.post(cpeMessage("", "whatever", gpvResponseBody)).expectFault(t, soap.FaultInvalidArguments)
}

// TestChecklist15SessionTimeoutHeader: the CPE's SessionTimeout (capital S) replaces the
// default idle timeout: here 1 s instead of 10 min.
func TestChecklist15SessionTimeoutHeader(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{IdleTimeout: 10 * time.Minute, MaxSessionDuration: time.Hour}, h)
	start := time.Now()
	newCPE(t, acs.url).openSession(informOpts{NS: soap.NSCWMP12, Header: `<cwmp:SessionTimeout>1</cwmp:SessionTimeout>`})
	e := h.waitEnded(t)
	if e.Reason != EndTimeout {
		t.Fatalf("ended %s, want timeout", e.Reason)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("ended after %s, before the CPE's 1 s", el)
	}
}

// TestChecklist15TotalSessionCap: a session cannot outlive MaxSessionDuration, even with a
// request in flight (which the idle timeout rightly leaves alone).
func TestChecklist15TotalSessionCap(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{IdleTimeout: 200 * time.Millisecond, MaxSessionDuration: 800 * time.Millisecond}, h)
	h.nextHook = func(ctx context.Context, s *Session) { <-ctx.Done() } // a handler that hangs
	c := newCPE(t, acs.url)
	start := time.Now()
	c.openSession(informOpts{})
	c.post("").expectEnd(t)
	if e := h.waitEnded(t); e.Reason != EndTimeout {
		t.Fatalf("ended %s, want timeout", e.Reason)
	}
	if el := time.Since(start); el < 800*time.Millisecond {
		t.Errorf("ended after %s: the idle timeout hit a session with a request in flight", el)
	}
}

func TestRPCLimitPerSession(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{MaxRPCsPerSession: 3}, h)
	var tasks []soap.Message
	for range 5 {
		tasks = append(tasks, gpv)
	}
	h.enqueue("00147F-SN0001", tasks...)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	r := c.post("")
	for i := 0; r.Status == http.StatusOK; i++ {
		if i > 3 {
			t.Fatal("more RPCs than MaxRPCsPerSession")
		}
		r = c.post(cpeMessage("", r.Env.ID, gpvResponseBody))
	}
	r.expectEnd(t)
	if e := h.waitEnded(t); e.Reason != EndLimit {
		t.Errorf("ended %s, want limit", e.Reason)
	}
	if q := h.pending("00147F-SN0001"); len(q) != 2 {
		t.Errorf("%d tasks left, want 2", len(q))
	}
}

func TestShutdownEndsOpenSessions(t *testing.T) {
	h := newRecHandler()
	srv, err := New(Config{Listen: "127.0.0.1:0", Path: testPath}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, fmt.Sprintf("http://%s%s", srv.Addr(), testPath))
	c.openSession(informOpts{})
	c.post("").expect(t, "GetParameterValues")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	e := h.waitEnded(t)
	if e.Reason != EndShutdown || e.Outstanding == nil {
		t.Errorf("got %s outstanding=%v, want shutdown with the GPV", e.Reason, e.Outstanding)
	}
	if _, err := http.Post(c.url, "text/xml", nil); err == nil {
		t.Error("server still accepts connections after Shutdown")
	}
}

// TestShutdownDeadlineWithStuckHandler: a handler call that ignores its context cannot hold
// Shutdown past its deadline; the session still ends, with its task, once the call returns.
func TestShutdownDeadlineWithStuckHandler(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	release, entered := make(chan struct{}), make(chan struct{})
	h.nextHook = func(context.Context, *Session) {
		close(entered)
		<-release
	}
	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := c.hc.Post(c.url, "", nil); err == nil { // the connection may be closed instead
			resp.Body.Close()
		}
	}()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := acs.srv.Shutdown(ctx); err == nil {
		t.Error("Shutdown returned nil with a request still running past its deadline")
	}
	h.noEnd(t)
	close(release)
	e := h.waitEnded(t)
	if e.Reason != EndShutdown || e.Outstanding == nil || e.Outstanding.Request != gpv {
		t.Errorf("got %s outstanding=%v, want shutdown with the GPV", e.Reason, e.Outstanding)
	}
	<-done
}

// TestShutdownDoesNotWaitForUnusedConnections: an HTTP client may dial a spare connection and
// park it unused in its pool; http.Server.Shutdown alone waits 5 s for it to count as idle (the
// `cpesim floor -acs` exit failed with "context deadline exceeded" that way). Shutdown closes
// connections that never carried a request, so a 3 s deadline is plenty.
func TestShutdownDoesNotWaitForUnusedConnections(t *testing.T) {
	srv, err := New(Config{Listen: "127.0.0.1:0", Path: testPath}, newRecHandler(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The server has accepted it (StateNew) once a request on another connection is answered.
	c2 := newCPE(t, "http://"+srv.Addr().String()+testPath)
	c2.openSession(informOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an unused connection open: %v", err)
	}
}
