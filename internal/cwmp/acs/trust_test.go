package acs

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

// failures records Config.OnAuthFailure calls.
type failures struct {
	mu   sync.Mutex
	list []AuthFailure
}

func (f *failures) add(a AuthFailure) {
	f.mu.Lock()
	f.list = append(f.list, a)
	f.mu.Unlock()
}

func (f *failures) all() []AuthFailure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AuthFailure(nil), f.list...)
}

// authRecorder remembers the Authorization header of every request the ACS accepted.
type authRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	ok   []string
}

func (a *authRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK && r.Header.Get("Authorization") != "" {
		a.mu.Lock()
		a.ok = append(a.ok, r.Header.Get("Authorization"))
		a.mu.Unlock()
	}
	return resp, err
}

func (a *authRecorder) first(t *testing.T) string {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ok) == 0 {
		t.Fatal("no authenticated request recorded")
	}
	return a.ok[0]
}

// digestCPE is a CPE that answers Digest challenges with user/pass (and records its headers).
func digestCPE(t *testing.T, url, user, pass string) (*cpe, *authRecorder) {
	c := newCPE(t, url)
	rec := &authRecorder{next: c.hc.Transport}
	c.hc.Transport = auth.NewClientTransport(rec, user, pass, auth.ClientOptions{})
	return c, rec
}

// rawPost sends body on a fresh connection with exactly the given headers (no jar, no auth).
func rawPost(t *testing.T, url, body string, hdr map[string]string) reply {
	t.Helper()
	c := newCPE(t, url)
	c.hc.Jar = nil
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

// TestPerDeviceCredentialsBoundToTheirDevice is issue 9 point 1: with per-device credentials,
// DEVA0001's password no longer opens DEVB0002's session: 403, B's queued request stays queued,
// and the failure is reported with both names. The rule also accepts OUI-serial and an explicit
// device in the devices file; shared credentials speak for any device.
func TestPerDeviceCredentialsBoundToTheirDevice(t *testing.T) {
	creds := auth.Chain{
		auth.Devices{
			"DEVA0001":        {Password: "pa"},
			"DEVB0002":        {Password: "pb"},
			"00147F-DEVC0003": {Password: "pc"},
			"cpe-d":           {Password: "pd", ID: "00147F-DEVD0004"},
		},
		auth.Static{User: "site", Pass: "shared"},
	}
	v, err := auth.NewVerifier(auth.ModeDigest, "cwmp", creds, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	var fails failures
	h := newRecHandler()
	acs := startACS(t, Config{Auth: v, OnAuthFailure: fails.add}, h)
	h.enqueue("00147F-DEVB0002", gpv)

	impostor, _ := digestCPE(t, acs.url, "DEVA0001", "pa")
	if r := impostor.post(informXML(informOpts{Serial: "DEVB0002"})); r.Status != http.StatusForbidden {
		t.Fatalf("A's credentials with B's serial: %d %s, want 403", r.Status, r.Body)
	}
	if got := len(h.pending("00147F-DEVB0002")); got != 1 {
		t.Fatalf("B's queue holds %d requests after the impostor, want 1", got)
	}
	h.mu.Lock()
	informs := len(h.informs)
	h.mu.Unlock()
	if informs != 0 {
		t.Fatalf("the handler saw %d Informs from the impostor", informs)
	}
	f := fails.all()
	if len(f) != 1 || f[0].Device != "00147F-DEVB0002" || f[0].User != "DEVA0001" || f[0].Status != http.StatusForbidden || !f[0].Remote.IsValid() {
		t.Fatalf("auth failures %+v, want one 403 naming device 00147F-DEVB0002 and user DEVA0001 with the remote address", f)
	}

	for _, ok := range []struct{ user, pass, serial string }{
		{"DEVA0001", "pa", "DEVA0001"},        // user = serial
		{"00147F-DEVC0003", "pc", "DEVC0003"}, // user = OUI-serial
		{"cpe-d", "pd", "DEVD0004"},           // explicit device in the devices file
		{"site", "shared", "DEVB0002"},        // shared credentials: any device (documented)
	} {
		c, _ := digestCPE(t, acs.url, ok.user, ok.pass)
		c.openSession(informOpts{Serial: ok.serial})
		c.post("")
	}
	if r := func() reply {
		c, _ := digestCPE(t, acs.url, "cpe-d", "pd")
		return c.post(informXML(informOpts{Serial: "cpe-d"}))
	}(); r.Status != http.StatusForbidden {
		t.Fatalf("an explicitly bound user naming itself as serial: %d, want 403", r.Status)
	}
}

// TestDigestReplayOnNewConnection is issue 9 point 2: a captured Digest Authorization header,
// replayed on a new connection for another serial or for the same one, is refused (401 with a
// fresh stale challenge) and reported; the original session is untouched.
func TestDigestReplayOnNewConnection(t *testing.T) {
	v, err := auth.NewVerifier(auth.ModeDigest, "cwmp", auth.Static{User: "site", Pass: "shared"}, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	var fails failures
	h := newRecHandler()
	acs := startACS(t, Config{Auth: v, OnAuthFailure: fails.add}, h)
	victim, rec := digestCPE(t, acs.url, "site", "shared")
	victim.openSession(informOpts{Serial: "VICTIM01"})
	captured := rec.first(t)

	for i, serial := range []string{"OTHER001", "OTHER002", "VICTIM01"} {
		r := rawPost(t, acs.url, informXML(informOpts{Serial: serial}), map[string]string{
			"Authorization": captured, "Content-Type": `text/xml; charset="utf-8"`})
		if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), "stale=true") {
			t.Fatalf("replay %d (serial %s): %d %q, want 401 with a stale challenge", i+1, serial, r.Status, r.Header.Get("WWW-Authenticate"))
		}
	}
	if n := len(fails.all()); n != 3 {
		t.Errorf("%d auth failures reported for 3 replays", n)
	}
	h.mu.Lock()
	informs := len(h.informs)
	h.mu.Unlock()
	if informs != 1 {
		t.Errorf("the handler saw %d Informs, want only the victim's", informs)
	}
	victim.post("").expectEnd(t)
}

// TestSessionCookieWithoutCredentialsRefused is issue 9 point 3: a session cookie presented on
// another connection, without credentials, gets 401: no CPE request reaches the handler, no
// queued task is handed out, and the session goes on for its CPE. With credentials that
// authenticate the same device, the cookie is honoured on the new connection.
func TestSessionCookieWithoutCredentialsRefused(t *testing.T) {
	v, err := auth.NewVerifier(auth.ModeDigest, "cwmp", auth.Devices{"SN0001": {Password: "p1"}, "SN0002": {Password: "p2"}}, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	var fails failures
	h := newRecHandler()
	acs := startACS(t, Config{Auth: v, OnAuthFailure: fails.add}, h)
	h.enqueue("00147F-SN0001", gpv)
	c, _ := digestCPE(t, acs.url, "SN0001", "p1")
	r := c.openSession(informOpts{Serial: "SN0001"})
	cookie := strings.Split(r.Header.Get("Set-Cookie"), ";")[0]

	tc := cpeMessage("", "tc-1", `<cwmp:TransferComplete><CommandKey>k</CommandKey><FaultStruct><FaultCode>0</FaultCode><FaultString></FaultString></FaultStruct><StartTime>2024-01-01T00:00:00Z</StartTime><CompleteTime>2024-01-01T00:00:01Z</CompleteTime></cwmp:TransferComplete>`)
	for _, body := range []string{tc, ""} {
		if r := rawPost(t, acs.url, body, map[string]string{"Cookie": cookie}); r.Status != http.StatusUnauthorized {
			t.Fatalf("cookie alone on a new connection (%.20q): %d %s, want 401", body, r.Status, r.Body)
		}
	}
	// Another device's valid credentials do not buy the session either.
	other, _ := digestCPE(t, acs.url, "SN0002", "p2")
	req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader(""))
	req.Header.Set("Cookie", cookie)
	if r := other.do(req); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
		t.Fatalf("cookie with another device's credentials: %d, want 401/403", r.Status)
	}
	h.mu.Lock()
	reqs := len(h.cpeReqs)
	h.mu.Unlock()
	if reqs != 0 {
		t.Fatalf("%d CPE requests reached the handler through a borrowed cookie", reqs)
	}
	// A request without credentials is the normal first leg of a challenge, not reported; the
	// other device's credentials are.
	if f := fails.all(); len(f) != 1 || f[0].User != "SN0002" || f[0].Device != "00147F-SN0001" {
		t.Errorf("auth failures %+v, want one naming user SN0002 and device 00147F-SN0001", f)
	}
	// The session is intact: its CPE gets the queued request.
	task := c.post("").expect(t, "GetParameterValues")

	// The same device's credentials on a new connection carry the cookie.
	again, _ := digestCPE(t, acs.url, "SN0001", "p1")
	req, _ = http.NewRequest(http.MethodPost, acs.url, strings.NewReader(cpeMessage("", task.Env.ID, gpvResponseBody)))
	req.Header.Set("Cookie", cookie)
	again.do(req).expectEnd(t)
	if d := h.waitTask(t); d.Err != nil {
		t.Fatalf("task answered on the new connection: %v", d.Err)
	}
}

// TestSessionCookieFromAnotherAddressWithAuthOff: with authentication off there is no credential
// to prove, so a cookie is honoured from another connection only from the session's IP address.
func TestSessionCookieFromAnotherAddressWithAuthOff(t *testing.T) {
	h := newRecHandler()
	var fails failures
	acs := startACS(t, Config{OnAuthFailure: fails.add}, h)
	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, acs.url)
	r := c.openSession(informOpts{})
	cookie := strings.Split(r.Header.Get("Set-Cookie"), ";")[0]

	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}, Timeout: 10 * time.Second}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, acs.url, strings.NewReader(""))
	req.Header.Set("Cookie", cookie)
	resp, err := other.Do(req)
	if err != nil {
		t.Skipf("cannot connect from 127.0.0.2: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("cookie from another address: %d, want 401", resp.StatusCode)
	}
	if f := fails.all(); len(f) != 1 || f[0].Device != "00147F-SN0001" {
		t.Fatalf("auth failures %+v", f)
	}
	// Same address, another connection: a CPE that reconnects mid-session keeps working.
	jar, _ := cookiejar.New(nil)
	same := newCPE(t, acs.url)
	same.hc.Jar = jar
	req, _ = http.NewRequest(http.MethodPost, acs.url, strings.NewReader(""))
	req.Header.Set("Cookie", cookie)
	same.do(req).expect(t, "GetParameterValues")
}

// TestWrongPasswordReportedWithClaimedUser: a wrong password is reported before the body is
// read, so with the claimed user name and address but no device; a request without credentials
// (the first leg of Digest) is not reported.
func TestWrongPasswordReportedWithClaimedUser(t *testing.T) {
	v, err := auth.NewVerifier(auth.ModeAny, "cwmp", auth.Static{User: "site", Pass: "shared"}, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	var fails failures
	acs := startACS(t, Config{Auth: v, OnAuthFailure: fails.add}, newRecHandler())
	rawPost(t, acs.url, informXML(informOpts{}), nil)
	c, _ := digestCPE(t, acs.url, "site", "wrong")
	if r := c.post(informXML(informOpts{})); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.Status)
	}
	f := fails.all()
	if len(f) != 1 || f[0].User != "site" || f[0].Device != "" || f[0].Status != http.StatusUnauthorized || !f[0].Remote.IsValid() {
		t.Fatalf("auth failures %+v, want one for user site from a known address", f)
	}
}

// TestAllowNetworksRefuseOutsiders is issue 9 point 7 (addresses): with Config.AllowNetworks
// (the gateway sets it while CPE authentication is off) a CPE from elsewhere gets 403 and an auth
// failure before anything is read; X-Forwarded-For counts only from a trusted proxy, and then
// its right-most untrusted entry.
func TestAllowNetworksRefuseOutsiders(t *testing.T) {
	lan := netip.MustParsePrefix("10.0.0.0/8")
	loop := netip.MustParsePrefix("127.0.0.0/8")
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		xff     string
		want    int
	}{
		{"peer outside", nil, "", http.StatusForbidden},
		{"forwarded header from an untrusted peer", nil, "10.1.2.3", http.StatusForbidden},
		{"trusted proxy, client inside", []netip.Prefix{loop}, "10.1.2.3", http.StatusOK},
		{"trusted proxy, spoofed left entry", []netip.Prefix{loop}, "10.1.2.3, 203.0.113.9", http.StatusForbidden},
		{"trusted proxy, malformed chain", []netip.Prefix{loop}, "10.1.2.3, nonsense", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fails failures
			h := newRecHandler()
			acs := startACS(t, Config{AllowNetworks: []netip.Prefix{lan}, TrustedProxies: tc.trusted, OnAuthFailure: fails.add}, h)
			hdr := map[string]string{"Content-Type": `text/xml; charset="utf-8"`}
			if tc.xff != "" {
				hdr["X-Forwarded-For"] = tc.xff
			}
			r := rawPost(t, acs.url, informXML(informOpts{}), hdr)
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d", r.Status, tc.want)
			}
			if f := fails.all(); tc.want == http.StatusForbidden && (len(f) != 1 || f[0].Status != http.StatusForbidden) {
				t.Fatalf("auth failures %+v, want one 403", f)
			}
			if tc.want == http.StatusOK {
				if e := func() Session { h.mu.Lock(); defer h.mu.Unlock(); return h.informs[0] }(); e.RemoteAddr.Addr() != netip.MustParseAddr("10.1.2.3") {
					t.Fatalf("session address %s, want the forwarded client", e.RemoteAddr)
				}
			}
		})
	}
}

// TestBusyInformGets503WithRetryAfter: a handler that will not take a device now (max_devices,
// registration rate) makes the ACS answer 503 with Retry-After, not a fault.
func TestBusyInformGets503WithRetryAfter(t *testing.T) {
	h := newRecHandler()
	h.informErr = &BusyError{RetryAfter: 1500 * time.Millisecond, Reason: "registration rate"}
	acs := startACS(t, Config{}, h)
	r := newCPE(t, acs.url).post(informXML(informOpts{}))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "2" {
		t.Fatalf("%d Retry-After %q, want 503 and 2", r.Status, r.Header.Get("Retry-After"))
	}
}

// TestBorrowedCookieWithGarbledBodyLeavesSessionIntact: a cookie presented on another connection,
// with another device's valid credentials and an undecodable body, is refused like any borrowed
// cookie instead of ending the session it names on a protocol error: the session's own CPE still
// gets its queued request.
func TestBorrowedCookieWithGarbledBodyLeavesSessionIntact(t *testing.T) {
	v, err := auth.NewVerifier(auth.ModeDigest, "cwmp", auth.Devices{"SN0001": {Password: "p1"}, "SN0002": {Password: "p2"}}, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	h := newRecHandler()
	acs := startACS(t, Config{Auth: v}, h)
	h.enqueue("00147F-SN0001", gpv)
	c, _ := digestCPE(t, acs.url, "SN0001", "p1")
	r := c.openSession(informOpts{Serial: "SN0001"})
	cookie := strings.Split(r.Header.Get("Set-Cookie"), ";")[0]

	other, _ := digestCPE(t, acs.url, "SN0002", "p2")
	req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader("<soap:Envelope><garbled"))
	req.Header.Set("Cookie", cookie)
	if r := other.do(req); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
		t.Fatalf("borrowed cookie with a garbled body: %d %s, want 401/403", r.Status, r.Body)
	}
	c.post("").expect(t, "GetParameterValues")
}
