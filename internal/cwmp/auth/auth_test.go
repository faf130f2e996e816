package auth_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

// seen is what the test ACS observed for one request.
type seen struct {
	authorization string
	remote        string
	err           error
	challenge     string
}

// acs is a real HTTP server guarded by a Verifier, recording every request.
type acs struct {
	*httptest.Server
	v    *auth.Verifier
	mu   sync.Mutex
	reqs []seen
}

func newACS(t *testing.T, v *auth.Verifier) *acs {
	t.Helper()
	a := &acs{v: v}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := v.Check(r)
		s := seen{authorization: r.Header.Get("Authorization"), remote: r.RemoteAddr, err: err}
		if err != nil {
			v.Challenge(w, errors.Is(err, auth.ErrStaleNonce))
			s.challenge = w.Header().Get("WWW-Authenticate")
			a.record(s)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		a.record(s)
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "user=%s body=%s", user, body)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *acs) record(s seen) {
	a.mu.Lock()
	a.reqs = append(a.reqs, s)
	a.mu.Unlock()
}

func (a *acs) seen() []seen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]seen(nil), a.reqs...)
}

func mustVerifier(t testing.TB, mode auth.Mode, creds auth.Credentials, opts ...auth.Option) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(mode, "cwmp2mqtt", creds, []byte("test secret"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// post sends body through client and returns status and response body.
func post(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	resp, err := c.Post(url, "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var ncRe = regexp.MustCompile(`nc=([0-9a-f]{8})`)

func TestChecklist16DigestClientAgainstVerifier(t *testing.T) {
	a := newACS(t, mustVerifier(t, auth.ModeDigest, auth.Static{User: "cpe", Pass: "s3cret"}))
	c := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "s3cret", auth.ClientOptions{})}

	for i := 1; i <= 3; i++ {
		code, body := post(t, c, a.URL+"/acs", fmt.Sprintf("<Inform %d/>", i))
		if code != http.StatusOK || body != fmt.Sprintf("user=cpe body=<Inform %d/>", i) {
			t.Fatalf("request %d: %d %q; want 200 with the body replayed after the challenge", i, code, body)
		}
	}
	reqs := a.seen()
	// One challenge for the session, then Digest pre-emptively with nc counting up.
	if len(reqs) != 4 || !errors.Is(reqs[0].err, auth.ErrNoCredentials) {
		t.Fatalf("server saw %d requests (%+v); want 1 challenged + 3 authenticated", len(reqs), reqs)
	}
	for i, want := range []string{"00000001", "00000002", "00000003"} {
		h := reqs[i+1].authorization
		m := ncRe.FindStringSubmatch(h)
		if reqs[i+1].err != nil || m == nil || m[1] != want {
			t.Errorf("request %d: Authorization %q err %v; want nc=%s", i+1, h, reqs[i+1].err, want)
		}
		for _, field := range []string{`username="cpe"`, `realm="cwmp2mqtt"`, `uri="/acs"`, "qop=auth", `cnonce="`, "algorithm=MD5"} {
			if !strings.Contains(h, field) {
				t.Errorf("request %d: Authorization %q lacks %s", i+1, h, field)
			}
		}
	}
}

func TestChecklist16WrongPasswordRejected(t *testing.T) {
	for _, mode := range []auth.Mode{auth.ModeDigest, auth.ModeBasic} {
		t.Run(string(mode), func(t *testing.T) {
			a := newACS(t, mustVerifier(t, mode, auth.Static{User: "cpe", Pass: "s3cret"}))
			c := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "guess", auth.ClientOptions{AllowBasic: true})}
			if code, _ := post(t, c, a.URL+"/acs", "x"); code != http.StatusUnauthorized {
				t.Fatalf("wrong password got %d, want 401", code)
			}
			reqs := a.seen()
			if len(reqs) != 2 || !errors.Is(reqs[1].err, auth.ErrBadCredentials) {
				t.Fatalf("server saw %+v; want one challenge, one rejected answer, no loop", reqs)
			}
		})
	}
}

func TestChecklist16BasicOnlyWhenAllowed(t *testing.T) {
	a := newACS(t, mustVerifier(t, auth.ModeBasic, auth.Static{User: "cpe", Pass: "pw"}))

	strict := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "pw", auth.ClientOptions{})}
	if code, _ := post(t, strict, a.URL+"/acs", "x"); code != http.StatusUnauthorized {
		t.Fatalf("client without AllowBasic answered a Basic challenge: %d", code)
	}
	if n := len(a.seen()); n != 1 {
		t.Fatalf("client without AllowBasic sent %d requests, want 1 (no password in clear)", n)
	}

	loose := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "pw", auth.ClientOptions{AllowBasic: true})}
	for i := 0; i < 2; i++ {
		if code, body := post(t, loose, a.URL+"/acs", "x"); code != http.StatusOK || body != "user=cpe body=x" {
			t.Fatalf("AllowBasic request %d: %d %q", i, code, body)
		}
	}
	reqs := a.seen()[1:]
	if len(reqs) != 3 || reqs[2].authorization != "Basic Y3BlOnB3" {
		t.Fatalf("server saw %+v; want challenge, answer, then Basic pre-emptively", reqs)
	}
}

func TestChecklist16ModeAnyAcceptsBothChallengesDigest(t *testing.T) {
	a := newACS(t, mustVerifier(t, auth.ModeAny, auth.Static{User: "cpe", Pass: "pw"}))

	basic := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "pw", auth.ClientOptions{Preemptive: true})}
	if code, body := post(t, basic, a.URL+"/acs", "b"); code != http.StatusOK || body != "user=cpe body=b" {
		t.Fatalf("preemptive Basic in mode any: %d %q", code, body)
	}
	digest := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "pw", auth.ClientOptions{})}
	if code, body := post(t, digest, a.URL+"/acs", "d"); code != http.StatusOK || body != "user=cpe body=d" {
		t.Fatalf("Digest in mode any: %d %q", code, body)
	}
	reqs := a.seen()
	if len(reqs) != 3 || !strings.HasPrefix(reqs[1].challenge, "Digest ") || !strings.HasPrefix(reqs[2].authorization, "Digest ") {
		t.Fatalf("server saw %+v; want Basic accepted, then a Digest challenge answered", reqs)
	}
}

func TestChecklist16PerDeviceCredentialsWinOverShared(t *testing.T) {
	creds := auth.Chain{auth.Map{"dev1": "p1", "shared": "per-device"}, auth.Static{User: "shared", Pass: "site"}}
	a := newACS(t, mustVerifier(t, auth.ModeDigest, creds))
	for _, tc := range []struct {
		user, pass string
		want       int
	}{
		{"dev1", "p1", http.StatusOK},
		{"shared", "per-device", http.StatusOK},
		{"shared", "site", http.StatusUnauthorized}, // per-device entry overrides the shared one
		{"dev2", "site", http.StatusUnauthorized},
		{"dev1", "", http.StatusUnauthorized},
	} {
		c := &http.Client{Transport: auth.NewClientTransport(nil, tc.user, tc.pass, auth.ClientOptions{})}
		if code, _ := post(t, c, a.URL+"/acs", "x"); code != tc.want {
			t.Errorf("%s/%s: %d, want %d", tc.user, tc.pass, code, tc.want)
		}
	}
}

// --- hand-written Authorization headers ----------------------------------------------------

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

var nonceRe = regexp.MustCompile(`nonce="([0-9a-f]+)"`)

// freshNonce takes a nonce from a real challenge of v.
func freshNonce(t testing.TB, v *auth.Verifier) string {
	t.Helper()
	rec := httptest.NewRecorder()
	v.Challenge(rec, false)
	m := nonceRe.FindStringSubmatch(rec.Header().Get("WWW-Authenticate"))
	if m == nil {
		t.Fatalf("challenge %q carries no nonce", rec.Header().Get("WWW-Authenticate"))
	}
	return m[1]
}

// rfcResponse is request-digest computed from the RFC 2617 formulas, independently of the package.
func rfcResponse(user, pass, nonce, method, uri, qop, nc, cnonce string, sess bool) string {
	ha1 := md5hex(user + ":cwmp2mqtt:" + pass)
	if sess {
		ha1 = md5hex(ha1 + ":" + nonce + ":" + cnonce)
	}
	ha2 := md5hex(method + ":" + uri)
	if qop == "" {
		return md5hex(ha1 + ":" + nonce + ":" + ha2)
	}
	return md5hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
}

func TestChecklist16HandWrittenDigestHeaders(t *testing.T) {
	const odd = `cpe,"7"` // a user name with a comma and quotes, quoted and escaped on the wire
	v := mustVerifier(t, auth.ModeDigest, auth.Map{"cpe": "pw", odd: "pw2"})
	n := freshNonce(t, v)
	ok := rfcResponse("cpe", "pw", n, "POST", "/acs", "auth", "00000001", "c1", false)

	cases := []struct {
		name, header string
		want         error // nil = accepted
	}{
		{"standard", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=00000001, cnonce="c1", response="%s", algorithm=MD5`, n, ok), nil},
		{"quoted comma and escapes in username", fmt.Sprintf(`Digest username="cpe,\"7\"", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop="auth", nc=00000001, cnonce="a,b", response="%s"`,
			n, rfcResponse(odd, "pw2", n, "POST", "/acs", "auth", "00000001", "a,b", false)), nil},
		{"upper-case names, no spaces", fmt.Sprintf(`digest USERNAME="cpe",Realm="cwmp2mqtt",NONCE="%s",URI="/acs",QOP=auth,NC=00000001,CNonce="c1",Response="%s"`, n, ok), nil},
		{"tab after scheme", fmt.Sprintf("Digest\tusername=\"cpe\", realm=\"cwmp2mqtt\", nonce=\"%s\", uri=\"/acs\", qop=auth, nc=00000001, cnonce=\"c1\", response=\"%s\"", n, ok), nil},
		{"upper-case hex response", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=00000001, cnonce="c1", response="%s"`, n, strings.ToUpper(ok)), nil},
		{"RFC 2069 without qop", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", response="%s"`,
			n, rfcResponse("cpe", "pw", n, "POST", "/acs", "", "", "", false)), nil},
		{"MD5-sess", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", algorithm=MD5-sess, qop=auth, nc=00000001, cnonce="c9", response="%s"`,
			n, rfcResponse("cpe", "pw", n, "POST", "/acs", "auth", "00000001", "c9", true)), nil},
		{"absolute uri", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="http://acs.example:7547/acs", qop=auth, nc=00000001, cnonce="c1", response="%s"`,
			n, rfcResponse("cpe", "pw", n, "POST", "http://acs.example:7547/acs", "auth", "00000001", "c1", false)), nil},

		{"no header", "", auth.ErrNoCredentials},
		{"basic in digest mode", "Basic Y3BlOnB3", auth.ErrNoCredentials},
		{"missing response", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs"`, n), auth.ErrMalformed},
		{"missing nonce", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", uri="/acs", response="%s"`, ok), auth.ErrMalformed},
		{"qop without cnonce", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=00000001, response="%s"`, n, ok), auth.ErrMalformed},
		{"auth-int", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth-int, nc=00000001, cnonce="c1", response="%s"`, n, ok), auth.ErrMalformed},
		{"SHA-256", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", algorithm=SHA-256, response="%s"`, n, ok), auth.ErrMalformed},
		{"unterminated quote", `Digest username="cpe, realm="cwmp2mqtt`, auth.ErrMalformed},
		{"repeated parameter", fmt.Sprintf(`Digest username="cpe", username="x", realm="cwmp2mqtt", nonce="%s", uri="/acs", response="%s"`, n, ok), auth.ErrMalformed},
		{"uri of another path", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/other", qop=auth, nc=00000001, cnonce="c1", response="%s"`,
			n, rfcResponse("cpe", "pw", n, "POST", "/other", "auth", "00000001", "c1", false)), auth.ErrBadCredentials},
		{"other realm", fmt.Sprintf(`Digest username="cpe", realm="other", nonce="%s", uri="/acs", qop=auth, nc=00000001, cnonce="c1", response="%s"`, n, ok), auth.ErrBadCredentials},
		{"forged nonce", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=00000001, cnonce="c1", response="%s"`,
			strings.Repeat("0", len(n)), rfcResponse("cpe", "pw", strings.Repeat("0", len(n)), "POST", "/acs", "auth", "00000001", "c1", false)), auth.ErrBadCredentials},
		{"wrong password", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=00000001, cnonce="c1", response="%s"`,
			n, rfcResponse("cpe", "nope", n, "POST", "/acs", "auth", "00000001", "c1", false)), auth.ErrBadCredentials},
		{"unknown user", fmt.Sprintf(`Digest username="ghost", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=00000001, cnonce="c1", response="%s"`, n, ok), auth.ErrBadCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://acs.example:7547/acs", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			// A verifier per case: several cases use the same nonce, cnonce and nc, which one
			// verifier refuses the second time as a replay (TestDigestReplay…).
			v := mustVerifier(t, auth.ModeDigest, auth.Map{"cpe": "pw", odd: "pw2"})
			user, err := v.Check(r)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want == nil && user != "cpe" && user != odd:
				t.Fatalf("accepted as %q", user)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v (user %q), want %v", err, user, tc.want)
			}
		})
	}
}

func TestChecklist16BasicHeaders(t *testing.T) {
	v := mustVerifier(t, auth.ModeBasic, auth.Static{User: "cpe", Pass: "p:w"})
	for _, tc := range []struct {
		header string
		want   error
	}{
		{"Basic Y3BlOnA6dw==", nil},                // cpe:p:w, the password may hold ':'
		{"basic Y3BlOnA6dw", nil},                  // lower-case scheme, unpadded base64
		{"Basic Y3BlOnA=", auth.ErrBadCredentials}, // cpe:p
		{"Basic bm9jb2xvbg==", auth.ErrMalformed},  // "nocolon"
		{"Basic !!!", auth.ErrMalformed},
		{`Digest username="cpe"`, auth.ErrNoCredentials},
	} {
		r := httptest.NewRequest(http.MethodPost, "/acs", nil)
		r.Header.Set("Authorization", tc.header)
		if _, err := v.Check(r); (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v, want %v", tc.header, err, tc.want)
		}
	}
}

// --- checklist 17: stateless nonce ---------------------------------------------------------------

func TestChecklist17NonceSurvivesNewConnection(t *testing.T) {
	v := mustVerifier(t, auth.ModeDigest, auth.Static{User: "fritz", Pass: "box"})
	a := newACS(t, v)
	// Like an AVM Fritzbox: a new TCP connection for every request, the answer to the 401 included.
	base := &http.Transport{DisableKeepAlives: true}
	c := &http.Client{Transport: auth.NewClientTransport(base, "fritz", "box", auth.ClientOptions{})}
	for i := 0; i < 2; i++ {
		if code, _ := post(t, c, a.URL+"/acs", "x"); code != http.StatusOK {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	reqs := a.seen()
	if len(reqs) != 3 || reqs[1].err != nil || reqs[2].err != nil {
		t.Fatalf("server saw %+v; want one challenge and two accepted answers", reqs)
	}
	if reqs[0].remote == reqs[1].remote || reqs[1].remote == reqs[2].remote {
		t.Fatalf("requests shared a connection (%s, %s, %s); the test needs new ones", reqs[0].remote, reqs[1].remote, reqs[2].remote)
	}

	// Another instance with the same secret (a restart, or a second gateway process) accepts it too.
	twin := mustVerifier(t, auth.ModeDigest, auth.Static{User: "fritz", Pass: "box"})
	r := httptest.NewRequest(http.MethodPost, "/acs", nil)
	r.Header.Set("Authorization", reqs[2].authorization)
	if user, err := twin.Check(r); err != nil || user != "fritz" {
		t.Fatalf("twin verifier: %q %v", user, err)
	}
}

func TestChecklist17ExpiredNonceIsStale(t *testing.T) {
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	a := newACS(t, mustVerifier(t, auth.ModeDigest, auth.Static{User: "cpe", Pass: "pw"}, auth.WithClock(clock)))
	c := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "pw", auth.ClientOptions{})}

	if code, _ := post(t, c, a.URL+"/acs", "1"); code != http.StatusOK {
		t.Fatalf("first request: %d", code)
	}
	skew.Store(int64(auth.DefaultNonceTTL + time.Minute))
	if code, _ := post(t, c, a.URL+"/acs", "2"); code != http.StatusOK {
		t.Fatalf("request with an expired nonce was not re-answered: %d", code)
	}
	reqs := a.seen()
	if len(reqs) != 4 || !errors.Is(reqs[2].err, auth.ErrStaleNonce) || !strings.Contains(reqs[2].challenge, "stale=true") || reqs[3].err != nil {
		t.Fatalf("server saw %+v; want challenge, ok, stale (stale=true challenge), ok", reqs)
	}
}

func TestChecklist17StaleOnlyWithTheRightPassword(t *testing.T) {
	past := func() time.Time { return time.Now().Add(-auth.DefaultNonceTTL - time.Minute) }
	old := mustVerifier(t, auth.ModeDigest, auth.Static{User: "cpe", Pass: "pw"}, auth.WithClock(past))
	v := mustVerifier(t, auth.ModeDigest, auth.Static{User: "cpe", Pass: "pw"})
	n := freshNonce(t, old)
	for pass, want := range map[string]error{"pw": auth.ErrStaleNonce, "bad": auth.ErrBadCredentials} {
		r := httptest.NewRequest(http.MethodPost, "/acs", nil)
		r.Header.Set("Authorization", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=00000001, cnonce="c", response="%s"`,
			n, rfcResponse("cpe", pass, n, "POST", "/acs", "auth", "00000001", "c", false)))
		if _, err := v.Check(r); !errors.Is(err, want) {
			t.Errorf("password %q with an expired nonce: %v, want %v", pass, err, want)
		}
	}
}

// --- checklist 18: preemptive Basic ------------------------------------------------------------

func TestChecklist18PreemptiveBasicWithAuthOff(t *testing.T) {
	a := newACS(t, mustVerifier(t, auth.ModeNone, nil))
	// genieacs-sim: Basic on the first Inform, empty password.
	sim := &http.Client{Transport: auth.NewClientTransport(nil, "sim", "", auth.ClientOptions{Preemptive: true})}
	resp, err := sim.Post(a.URL+"/acs", "text/xml", strings.NewReader("<Inform/>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("auth off: %d with challenge %q; want 200 and no challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if reqs := a.seen(); len(reqs) != 1 || reqs[0].authorization != "Basic c2ltOg==" {
		t.Fatalf("server saw %+v; want the one preemptive Basic request", reqs)
	}
}

func TestChecklist18PreemptiveBasicEmptyPasswordIsChecked(t *testing.T) {
	open := newACS(t, mustVerifier(t, auth.ModeBasic, auth.Static{User: "sim", Pass: ""}))
	locked := newACS(t, mustVerifier(t, auth.ModeBasic, auth.Static{User: "sim", Pass: "set"}))
	sim := &http.Client{Transport: auth.NewClientTransport(nil, "sim", "", auth.ClientOptions{Preemptive: true, AllowBasic: true})}
	if code, _ := post(t, sim, open.URL+"/acs", "x"); code != http.StatusOK || len(open.seen()) != 1 {
		t.Fatalf("configured empty password: %d after %d requests; want 200 at once", code, len(open.seen()))
	}
	if code, _ := post(t, sim, locked.URL+"/acs", "x"); code != http.StatusUnauthorized {
		t.Fatalf("empty password against a set one: %d, want 401", code)
	}
}

// --- client transport details -------------------------------------------------------------------

func TestClientNeedsReplayableBody(t *testing.T) {
	a := newACS(t, mustVerifier(t, auth.ModeDigest, auth.Static{User: "cpe", Pass: "pw"}))
	c := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "pw", auth.ClientOptions{})}
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/acs", io.NopCloser(strings.NewReader("x")))
	_, err := c.Do(req)
	if !errors.Is(err, auth.ErrBodyNotReplayable) {
		t.Fatalf("err = %v, want ErrBodyNotReplayable", err)
	}
}

func TestClientTransportConcurrentSession(t *testing.T) {
	a := newACS(t, mustVerifier(t, auth.ModeDigest, auth.Static{User: "cpe", Pass: "pw"}))
	c := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "pw", auth.ClientOptions{})}
	if code, _ := post(t, c, a.URL+"/acs", "warm-up"); code != http.StatusOK {
		t.Fatal(code)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				resp, err := c.Post(a.URL+"/acs", "text/xml", strings.NewReader("x"))
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ncs := map[string]bool{}
	for _, s := range a.seen()[1:] {
		m := ncRe.FindStringSubmatch(s.authorization)
		if m == nil || ncs[m[1]] {
			t.Fatalf("nc missing or reused in %q", s.authorization)
		}
		ncs[m[1]] = true
	}
}

func TestNewVerifierRejectsBadConfig(t *testing.T) {
	for name, f := range map[string]func() (*auth.Verifier, error){
		"unknown mode":   func() (*auth.Verifier, error) { return auth.NewVerifier("ntlm", "r", auth.Map{}, nil) },
		"no credentials": func() (*auth.Verifier, error) { return auth.NewVerifier(auth.ModeDigest, "r", nil, nil) },
		"quote in realm": func() (*auth.Verifier, error) { return auth.NewVerifier(auth.ModeDigest, `a"b`, auth.Map{}, nil) },
		"non-positive TTL": func() (*auth.Verifier, error) {
			return auth.NewVerifier(auth.ModeDigest, "r", auth.Map{}, nil, auth.WithNonceTTL(0))
		},
	} {
		if v, err := f(); err == nil || v != nil {
			t.Errorf("%s: got %v, %v; want an error", name, v, err)
		}
	}
}

// FuzzCheck: whatever the Authorization header, Check returns one of its errors and never panics.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`Digest username="a", realm="cwmp2mqtt", nonce="00", uri="/", response="x"`,
		`Digest username="a,b\"", qop=auth,nc=1`, `Digest ="x"`, `Digest a=`, `Digest a="\`,
		`Basic `, `Basic Og==`, `Negotiate abc==`, `Digest uri="%zz", username="", realm="cwmp2mqtt", nonce="", response=""`,
	} {
		f.Add(s)
	}
	v := mustVerifier(f, auth.ModeAny, auth.Static{User: "a", Pass: "b"})
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest(http.MethodPost, "/acs", nil)
		r.Header.Set("Authorization", h)
		if _, err := v.Check(r); err != nil && !(errors.Is(err, auth.ErrNoCredentials) || errors.Is(err, auth.ErrBadCredentials) ||
			errors.Is(err, auth.ErrStaleNonce) || errors.Is(err, auth.ErrMalformed)) {
			t.Fatalf("untyped error %v for %q", err, h)
		}
	})
}

func BenchmarkVerifierCheckDigest(b *testing.B) {
	v := mustVerifier(b, auth.ModeDigest, auth.Map{"cpe": "pw"})
	n := freshNonce(b, v)
	r := httptest.NewRequest(http.MethodPost, "/acs", nil)
	r.Header.Set("Authorization", fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=00000001, cnonce="c1", response="%s", algorithm=MD5`,
		n, rfcResponse("cpe", "pw", n, "POST", "/acs", "auth", "00000001", "c1", false)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Check(r); err != nil {
			b.Fatal(err)
		}
	}
}

// A shared challenge store lets a new transport (a new connection) answer the server's last
// challenge at once, with the next nonce count against the real Verifier, and keeps at most its
// bound, forgetting the least recently used first.
func TestSharedChallengesSkipThe401AndStayBounded(t *testing.T) {
	v := mustVerifier(t, auth.ModeDigest, auth.Static{User: "acs", Pass: "pw"})
	a := newACS(t, v)
	store := auth.NewChallenges(2)
	use := func(path string) {
		t.Helper()
		c := &http.Client{Transport: auth.NewClientTransport(&http.Transport{}, "acs", "pw", auth.ClientOptions{Challenges: store})}
		if code, _ := post(t, c, a.URL+path, "x"); code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
	}
	use("/a")
	use("/a") // a new transport: no 401 this time
	reqs := a.seen()
	if len(reqs) != 3 || reqs[2].err != nil || !strings.Contains(reqs[2].authorization, "nc=00000002") {
		t.Fatalf("server saw %+v; want a challenge, its answer, then the next answer alone with nc 2", reqs)
	}
	use("/b")
	use("/a") // /a is now the most recently used
	use("/c") // over the bound: /b goes
	u := func(path string) *url.URL { p, _ := url.Parse(a.URL + path); return p }
	if store.Len() != 2 || !store.Has("acs", u("/a")) || store.Has("acs", u("/b")) || !store.Has("acs", u("/c")) {
		t.Fatalf("store holds %d: /a %v /b %v /c %v; want /a and /c", store.Len(), store.Has("acs", u("/a")), store.Has("acs", u("/b")), store.Has("acs", u("/c")))
	}
	store.Forget("acs", u("/a"))
	if store.Has("acs", u("/a")) {
		t.Fatal("Forget kept the challenge")
	}
}
