package connreq_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
)

// cpe is a real HTTP server playing the CPE's connection-request listener; it records every
// request and lets the test script the answers.
type cpe struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newCPE(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *cpe {
	t.Helper()
	c := &cpe{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		n := len(c.seen)
		c.seen = append(c.seen, r)
		c.mu.Unlock()
		answer(w, r, n)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *cpe) requests() []*http.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*http.Request(nil), c.seen...)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

var paramRe = regexp.MustCompile(`(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))`)

// digestFields splits a Digest Authorization header into its fields.
func digestFields(h string) map[string]string {
	out := map[string]string{}
	if !strings.HasPrefix(h, "Digest ") {
		return out
	}
	for _, m := range paramRe.FindAllStringSubmatch(h[len("Digest "):], -1) {
		out[m[1]] = m[2] + m[3]
	}
	return out
}

// digestOK recomputes the response from RFC 2617 (RFC 2069 when qop is absent).
func digestOK(f map[string]string, method, user, pass, realm string) bool {
	ha1 := md5hex(user + ":" + realm + ":" + pass)
	ha2 := md5hex(method + ":" + f["uri"])
	want := md5hex(ha1 + ":" + f["nonce"] + ":" + ha2)
	if f["qop"] != "" {
		want = md5hex(ha1 + ":" + f["nonce"] + ":" + f["nc"] + ":" + f["cnonce"] + ":" + f["qop"] + ":" + ha2)
	}
	return f["username"] == user && f["realm"] == realm && f["response"] == want
}

// digestCPE challenges with the given WWW-Authenticate and accepts the right Digest answer.
func digestCPE(t *testing.T, challenge, realm, user, pass string) *cpe {
	return newCPE(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if digestOK(digestFields(r.Header.Get("Authorization")), r.Method, user, pass, realm) {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("WWW-Authenticate", challenge)
		w.WriteHeader(http.StatusUnauthorized)
	})
}

func fast(opts connreq.Options) *connreq.Client {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	opts.RetryBackoff, opts.UDPInterval = time.Millisecond, time.Millisecond
	return connreq.New(nil, opts)
}

func TestChecklist47SuccessOn200And204(t *testing.T) {
	for _, code := range []int{http.StatusOK, http.StatusNoContent} {
		c := newCPE(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(code) })
		if err := fast(connreq.Options{}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: c.URL + "/cr/abc"}); err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		reqs := c.requests()
		if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].URL.Path != "/cr/abc" {
			t.Fatalf("%d: CPE saw %v; want one GET /cr/abc", code, reqs)
		}
	}
}

func TestChecklist47DigestWithQop(t *testing.T) {
	c := digestCPE(t, `Digest realm="IGD", nonce="n1,2", qop="auth,auth-int", opaque="op1", algorithm=MD5`, "IGD", "acs", "pw")
	target := connreq.Target{DeviceID: "d", URL: c.URL + "/cr?k=1", Username: "acs", Password: "pw"}
	if err := fast(connreq.Options{}).Wake(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	reqs := c.requests()
	if len(reqs) != 2 {
		t.Fatalf("CPE saw %d requests, want challenge + answer", len(reqs))
	}
	f := digestFields(reqs[1].Header.Get("Authorization"))
	want := map[string]string{"username": "acs", "realm": "IGD", "nonce": "n1,2", "uri": "/cr?k=1", "qop": "auth", "nc": "00000001", "opaque": "op1", "algorithm": "MD5"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q (header %q)", k, f[k], v, reqs[1].Header.Get("Authorization"))
		}
	}
	if f["cnonce"] == "" {
		t.Errorf("no cnonce with qop=auth")
	}
}

func TestChecklist47DigestWithoutQop(t *testing.T) {
	c := digestCPE(t, `Digest realm="IGD", nonce="n2", opaque="op2"`, "IGD", "acs", "pw")
	target := connreq.Target{DeviceID: "d", URL: c.URL + "/", Username: "acs", Password: "pw"}
	if err := fast(connreq.Options{}).Wake(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	h := c.requests()[1].Header.Get("Authorization")
	f := digestFields(h)
	for _, absent := range []string{"qop", "nc", "cnonce", "algorithm"} {
		if _, ok := f[absent]; ok {
			t.Errorf("%s sent although the CPE offered none: %q", absent, h)
		}
	}
	if f["opaque"] != "op2" || f["uri"] != "/" {
		t.Errorf("opaque %q uri %q, want op2 and /", f["opaque"], f["uri"])
	}
}

func TestChecklist47WrongPasswordIsErrAuth(t *testing.T) {
	c := digestCPE(t, `Digest realm="IGD", nonce="n3", qop="auth"`, "IGD", "acs", "pw")
	err := fast(connreq.Options{}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: c.URL, Username: "acs", Password: "nope"})
	if !errors.Is(err, connreq.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if n := len(c.requests()); n != 2 {
		t.Fatalf("CPE saw %d requests, want 2 (no retry loop on a wrong password)", n)
	}
}

func TestChecklist47BasicOnlyWhenAllowed(t *testing.T) {
	c := newCPE(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if u, p, ok := r.BasicAuth(); ok && u == "acs" && p == "pw" {
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="IGD"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	target := connreq.Target{DeviceID: "d", URL: c.URL, Username: "acs", Password: "pw"}

	err := fast(connreq.Options{}).Wake(context.Background(), target)
	if !errors.Is(err, connreq.ErrAuth) || !strings.Contains(err.Error(), "only Basic") {
		t.Fatalf("Basic not allowed: err = %v, want ErrAuth naming Basic", err)
	}
	if reqs := c.requests(); len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "" {
		t.Fatalf("the password went out in clear without AllowBasic: %v", reqs)
	}
	if err := fast(connreq.Options{AllowBasic: true}).Wake(context.Background(), target); err != nil {
		t.Fatalf("Basic allowed: %v", err)
	}
}

func TestChecklist47BusyIsErrBusy(t *testing.T) {
	c := newCPE(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusServiceUnavailable) })
	err := fast(connreq.Options{Retries: 3}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: c.URL})
	if !errors.Is(err, connreq.ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	if n := len(c.requests()); n != 1 {
		t.Fatalf("a busy CPE got %d requests; it will run the task in its current session", n)
	}
}

func TestChecklist47OtherStatusIsUnexpected(t *testing.T) {
	c := newCPE(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	err := fast(connreq.Options{}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: c.URL})
	if !errors.Is(err, connreq.ErrUnexpectedStatus) || len(c.requests()) != 1 {
		t.Fatalf("err = %v after %d requests; want ErrUnexpectedStatus and no redirect followed", err, len(c.requests()))
	}
}

// closedPort is a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestChecklist47ClosedPortIsUnreachable(t *testing.T) {
	err := fast(connreq.Options{Retries: 1}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: "http://" + closedPort(t) + "/"})
	if !errors.Is(err, connreq.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
}

func TestChecklist47TimeoutIsUnreachable(t *testing.T) {
	c := newCPE(t, func(_ http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
	err := fast(connreq.Options{Timeout: 100 * time.Millisecond}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: c.URL})
	if !errors.Is(err, connreq.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	// Told apart from a CPE that is off, so the caller can back off and ask again.
	if !errors.Is(err, connreq.ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout too", err)
	}
	if _, busy := connreq.RetryAfter(err); busy {
		t.Errorf("a timeout reads as busy: %v", err)
	}
}

func TestClosedPortIsNoTimeout(t *testing.T) {
	err := fast(connreq.Options{}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: "http://" + closedPort(t) + "/"})
	if !errors.Is(err, connreq.ErrUnreachable) || errors.Is(err, connreq.ErrTimeout) {
		t.Fatalf("err = %v, want ErrUnreachable without ErrTimeout", err)
	}
}

// A CPE that answers 503 (busy after a FactoryReset, issue 7 point 7) gives a *BusyError with the
// Retry-After it sent, in seconds or as an HTTP-date, so the caller can come back then.
func TestBusyCarriesRetryAfter(t *testing.T) {
	for name, c := range map[string]struct {
		header   string
		min, max time.Duration
	}{
		"seconds":   {"7", 7 * time.Second, 7 * time.Second},
		"HTTP-date": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 50 * time.Minute, time.Hour},
		"absent":    {"", 0, 0},
		"garbage":   {"later please", 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newCPE(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				if c.header != "" {
					w.Header().Set("Retry-After", c.header)
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			})
			err := fast(connreq.Options{}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: srv.URL})
			var be *connreq.BusyError
			if !errors.Is(err, connreq.ErrBusy) || !errors.As(err, &be) || be.Header != c.header {
				t.Fatalf("err = %#v, want a *BusyError with Retry-After %q", err, c.header)
			}
			d, ok := connreq.RetryAfter(err)
			if !ok || d < c.min || d > c.max {
				t.Errorf("RetryAfter = %v, %v; want %v..%v", d, ok, c.min, c.max)
			}
			if errors.Is(err, connreq.ErrUnreachable) {
				t.Errorf("busy reads as unreachable: %v", err)
			}
		})
	}
	if _, ok := connreq.RetryAfter(connreq.ErrAuth); ok {
		t.Error("RetryAfter of a non-busy error")
	}
}

func TestChecklist47UnreachableIsRetried(t *testing.T) {
	// A listener that resets every connection before any credentials were sent.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 10)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	}()
	err = fast(connreq.Options{Retries: 2}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: "http://" + l.Addr().String()})
	if !errors.Is(err, connreq.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if n := len(accepted); n != 3 {
		t.Fatalf("%d attempts, want 1 + 2 retries", n)
	}
}

// resetAfterAuthCPE challenges Digest (closing the connection, as CPEs do), then resets the
// first `resets` connections that carry credentials, then accepts.
// resetConn drops the request's connection with a TCP reset, as some CPEs do.
func resetConn(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
	conn.Close()
}

func resetAfterAuthCPE(t *testing.T, resets int) *cpe {
	var authed int
	return newCPE(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Digest realm="IGD", nonce="n4", qop="auth"`)
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if authed++; authed <= resets {
			resetConn(t, w)
			return
		}
		if !digestOK(digestFields(r.Header.Get("Authorization")), r.Method, "acs", "pw", "IGD") {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
}

func TestChecklist47ResetAfterAuthRetriedOnce(t *testing.T) {
	c := resetAfterAuthCPE(t, 1)
	target := connreq.Target{DeviceID: "d", URL: c.URL + "/cr", Username: "acs", Password: "pw"}
	if err := fast(connreq.Options{}).Wake(context.Background(), target); err != nil {
		t.Fatalf("Wake after one reset: %v", err)
	}
	reqs := c.requests()
	if len(reqs) != 3 {
		t.Fatalf("CPE saw %d requests, want challenge, reset answer, retried answer", len(reqs))
	}
	// The retry reuses the nonce pre-emptively with the next nonce count.
	if f := digestFields(reqs[2].Header.Get("Authorization")); f["nonce"] != "n4" || f["nc"] != "00000002" {
		t.Fatalf("retry carried %q", reqs[2].Header.Get("Authorization"))
	}

	// Only once: a CPE that keeps resetting is unreachable.
	c = resetAfterAuthCPE(t, 10)
	target.URL = c.URL + "/cr"
	err := fast(connreq.Options{}).Wake(context.Background(), target)
	if !errors.Is(err, connreq.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if n := len(c.requests()); n != 3 {
		t.Fatalf("CPE saw %d requests, want challenge + 2 answers (one retry only)", n)
	}
}

func TestChecklist48PrivateAddressTarget(t *testing.T) {
	c := newCPE(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusNoContent) })
	u, _ := url.Parse(c.URL)
	if ap := netip.MustParseAddrPort(u.Host); !ap.Addr().IsLoopback() && !ap.Addr().IsPrivate() {
		t.Fatalf("test server on %s is not site-local", ap)
	}
	if err := fast(connreq.Options{}).Wake(context.Background(), connreq.Target{DeviceID: "d", URL: c.URL + "/"}); err != nil {
		t.Fatalf("site-local target: %v", err)
	}
	if len(c.requests()) != 1 {
		t.Fatal("the private-address target was skipped")
	}
}

func TestChecklist49FallbackCredentials(t *testing.T) {
	c := digestCPE(t, `Digest realm="IGD", nonce="n5", qop="auth"`, "IGD", "site", "fallback")
	client := fast(connreq.Options{FallbackUsername: "site", FallbackPassword: "fallback"})
	if err := client.Wake(context.Background(), connreq.Target{DeviceID: "new", URL: c.URL}); err != nil {
		t.Fatalf("device without stored credentials: %v", err)
	}
	// Stored per-device credentials win over the fallbacks.
	err := client.Wake(context.Background(), connreq.Target{DeviceID: "known", URL: c.URL, Username: "dev", Password: "own"})
	if !errors.Is(err, connreq.ErrAuth) {
		t.Fatalf("stored credentials: err = %v, want ErrAuth (the CPE knows only the fallback)", err)
	}
	if f := digestFields(c.requests()[3].Header.Get("Authorization")); f["username"] != "dev" {
		t.Fatalf("stored credentials not used: %v", f)
	}
}

func TestWakeLogsNameTheDevice(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	c := digestCPE(t, `Digest realm="IGD", nonce="n6", qop="auth"`, "IGD", "acs", "s3cret")
	client := connreq.New(zap.New(core), connreq.Options{})
	if err := client.Wake(context.Background(), connreq.Target{DeviceID: "00D09E-IGD-123", URL: c.URL, Username: "acs", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	_ = client.Wake(context.Background(), connreq.Target{DeviceID: "00D09E-IGD-123", URL: "http://" + closedPort(t)})
	entries := logs.All()
	if len(entries) < 2 {
		t.Fatalf("%d log entries, want success and failure", len(entries))
	}
	for _, e := range entries {
		fields := e.ContextMap()
		if e.LoggerName != "connreq" || fields["device"] != "00D09E-IGD-123" {
			t.Errorf("entry %q: logger %q fields %v; want connreq with the device id", e.Message, e.LoggerName, fields)
		}
		if strings.Contains(fmt.Sprint(fields), "s3cret") {
			t.Errorf("entry %q leaks the password: %v", e.Message, fields)
		}
	}
}

func TestWakeBadTarget(t *testing.T) {
	for _, target := range []connreq.Target{
		{DeviceID: "none"},
		{DeviceID: "ftp", URL: "ftp://10.0.0.1/"},
		{DeviceID: "relative", URL: "/cr"},
		{DeviceID: "udp", UDPAddr: "10.0.0.1"}, // no port
	} {
		if err := fast(connreq.Options{}).Wake(context.Background(), target); !errors.Is(err, connreq.ErrBadTarget) {
			t.Errorf("%+v: err = %v, want ErrBadTarget", target, err)
		}
	}
}

func TestWakeHonoursCallerCancel(t *testing.T) {
	arrived := make(chan struct{}, 1)
	c := newCPE(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- fast(connreq.Options{Timeout: time.Minute, Retries: 5}).Wake(ctx, connreq.Target{DeviceID: "d", URL: c.URL})
	}()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// strictCPE issues a new nonce with every challenge and takes only the last one, resetting the
// connection (resetOld) or challenging again when an answer carries an older one.
func strictCPE(t *testing.T, resetOld bool) *cpe {
	var mu sync.Mutex
	nonce, issued := "", 0
	return newCPE(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		mu.Lock()
		defer mu.Unlock()
		f := digestFields(r.Header.Get("Authorization"))
		if f["nonce"] != "" && f["nonce"] == nonce && digestOK(f, r.Method, "acs", "pw", "IGD") {
			w.WriteHeader(http.StatusOK)
			return
		}
		if f["nonce"] != "" && f["nonce"] != nonce && resetOld {
			resetConn(t, w)
			return
		}
		issued++
		nonce = fmt.Sprintf("n%d", issued)
		w.Header().Set("WWW-Authenticate", `Digest realm="IGD", nonce="`+nonce+`", qop="auth"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
}

// The CPE's Digest challenge is remembered from one connection request to the next: the next
// one answers it at once with the next nonce count (RFC 7616 §3.4), without a 401 round trip.
func TestTheNextConnectionRequestAnswersTheCPEsLastChallengeWithoutA401(t *testing.T) {
	c := digestCPE(t, `Digest realm="IGD", nonce="n1", qop="auth"`, "IGD", "acs", "pw")
	client := fast(connreq.Options{})
	target := connreq.Target{DeviceID: "d", URL: c.URL + "/cr", Username: "acs", Password: "pw"}
	for i := 0; i < 2; i++ {
		if err := client.Wake(context.Background(), target); err != nil {
			t.Fatalf("wake %d: %v", i+1, err)
		}
	}
	reqs := c.requests()
	if len(reqs) != 3 {
		t.Fatalf("the CPE saw %d requests for two connection requests; want 3 (challenge, answer, then the answer alone)", len(reqs))
	}
	if f := digestFields(reqs[2].Header.Get("Authorization")); f["nonce"] != "n1" || f["nc"] != "00000002" {
		t.Fatalf("the second connection request carried %q; want nonce n1 with nc 00000002", reqs[2].Header.Get("Authorization"))
	}

	// Another CPE at the same address (another path) and other credentials keep their own.
	other := connreq.Target{DeviceID: "e", URL: c.URL + "/cr2", Username: "acs", Password: "pw"}
	if err := client.Wake(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if reqs := c.requests(); len(reqs) != 5 || reqs[3].Header.Get("Authorization") != "" {
		t.Fatalf("a CPE never challenged got credentials first (%d requests)", len(reqs))
	}
}

// A CPE that does not take the remembered nonce is woken all the same: one that challenges again
// gets its fresh challenge answered, one that resets the connection is asked again as the first
// time.
func TestACPEThatRefusesTheRememberedNonceIsStillWoken(t *testing.T) {
	for _, reset := range []bool{false, true} {
		c := strictCPE(t, reset)
		client := fast(connreq.Options{})
		target := connreq.Target{DeviceID: "d", URL: c.URL + "/cr", Username: "acs", Password: "pw"}
		if err := client.Wake(context.Background(), target); err != nil {
			t.Fatalf("reset %v: first wake: %v", reset, err)
		}
		// Another client's challenge in between: the CPE now takes only n2.
		if err := fast(connreq.Options{}).Wake(context.Background(), target); err != nil {
			t.Fatalf("reset %v: other client: %v", reset, err)
		}
		if err := client.Wake(context.Background(), target); err != nil {
			t.Fatalf("reset %v: a CPE that refused the remembered nonce was not woken: %v", reset, err)
		}
		reqs := c.requests()
		if f := digestFields(reqs[4].Header.Get("Authorization")); f["nonce"] != "n1" {
			t.Fatalf("reset %v: the third wake started with %q; want this client's remembered nonce n1", reset, reqs[4].Header.Get("Authorization"))
		}
		if last := digestFields(reqs[len(reqs)-1].Header.Get("Authorization")); last["nonce"] != "n3" {
			t.Fatalf("reset %v: the third wake ended with %q; want an answer to the fresh challenge n3", reset, reqs[len(reqs)-1].Header.Get("Authorization"))
		}
	}
}
