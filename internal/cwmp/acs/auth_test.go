package acs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

// TestChecklist18PreemptiveBasicWithAuthOff: genieacs-sim sends Basic with an empty password on
// its first Inform; with auth off (no Verifier, or mode none) it is accepted, never challenged.
func TestChecklist18PreemptiveBasicWithAuthOff(t *testing.T) {
	none, err := auth.NewVerifier(auth.ModeNone, "cwmp", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]*auth.Verifier{"nil": nil, "none": none} {
		h := newRecHandler()
		acs := startACS(t, Config{Auth: v}, h)
		c := newCPE(t, acs.url)
		req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader(informXML(informOpts{})))
		req.SetBasicAuth("00147F-SN0001", "")
		r := c.do(req)
		if r.Status != http.StatusOK || r.Header.Get("WWW-Authenticate") != "" {
			t.Fatalf("%s: preemptive Basic got %d %q, want 200 and no challenge", name, r.Status, r.Header.Get("WWW-Authenticate"))
		}
		c.post("").expectEnd(t)
		if e := h.waitEnded(t); e.Session.Username != "" {
			t.Errorf("%s: Username %q with auth off", name, e.Session.Username)
		}
	}
}

// TestBasicAuthOnSessionStart: the Inform is authenticated; a failure is a 401 with a challenge,
// logged with the remote address; later POSTs of the session ride on the cookie.
func TestBasicAuthOnSessionStart(t *testing.T) {
	v, err := auth.NewVerifier(auth.ModeBasic, "cwmp", auth.Map{"cpe1": "s3cret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newRecHandler()
	acs := startACS(t, Config{Auth: v}, h)
	c := newCPE(t, acs.url)
	for _, pw := range []string{"", "wrong"} {
		req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader(informXML(informOpts{})))
		if pw != "" {
			req.SetBasicAuth("cpe1", pw)
		}
		r := c.do(req)
		if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
			t.Fatalf("password %q: got %d %q, want 401 with a Basic challenge", pw, r.Status, r.Header.Get("WWW-Authenticate"))
		}
	}
	// The request without credentials is the normal first leg (challenged quietly); only the
	// wrong password is a failure worth a warning.
	if n := acs.logs.FilterMessage("authentication failed").FilterFieldKey("remote").Len(); n != 1 {
		t.Errorf("%d auth failures logged with the remote address, want 1", n)
	}
	// A stray empty POST is no way around authentication either.
	if r := c.post(""); r.Status != http.StatusUnauthorized {
		t.Errorf("unauthenticated empty POST: %d", r.Status)
	}

	h.enqueue("00147F-SN0001", gpv)
	req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader(informXML(informOpts{})))
	req.SetBasicAuth("cpe1", "s3cret")
	c.do(req).expect(t, "InformResponse")
	r := c.post("").expect(t, "GetParameterValues") // cookie, no Authorization header
	req, _ = http.NewRequest(http.MethodPost, acs.url, strings.NewReader(cpeMessage("", r.Env.ID, gpvResponseBody)))
	req.SetBasicAuth("cpe1", "s3cret") // per-request credentials inside a session are fine too
	c.do(req).expectEnd(t)
	if e := h.waitEnded(t); e.Session.Username != "cpe1" || e.Reason != EndDone {
		t.Errorf("session: user %q reason %s", e.Session.Username, e.Reason)
	}
	if st := acs.srv.Stats(); st.AuthFailures != 1 {
		t.Errorf("AuthFailures %d, want 1 (the wrong password)", st.AuthFailures)
	}
}

// TestDigestAuthAcrossConnections: a Digest CPE answers the 401 on a new TCP connection (AVM
// Fritzbox); the stateless nonce still verifies (checklist 16, 17).
func TestDigestAuthAcrossConnections(t *testing.T) {
	v, err := auth.NewVerifier(auth.ModeDigest, "cwmp", auth.Map{"cpe1": "s3cret"}, []byte("gateway secret"))
	if err != nil {
		t.Fatal(err)
	}
	h := newRecHandler()
	acs := startACS(t, Config{Auth: v}, h)
	c := newCPE(t, acs.url)
	c.hc.Transport = auth.NewClientTransport(&http.Transport{DisableKeepAlives: true}, "cpe1", "s3cret", auth.ClientOptions{})
	c.openSession(informOpts{})
	c.post("").expectEnd(t)
	if e := h.waitEnded(t); e.Session.Username != "cpe1" {
		t.Errorf("Username %q", e.Session.Username)
	}
}

// TestChecklist19TLSClientCertificates: HTTPS on the ACS port; with client certificates
// requested the CPE's certificate reaches the handler, and a CPE without one still works when
// they are optional.
func TestChecklist19TLSClientCertificates(t *testing.T) {
	ca, caKey := newCA(t)
	serverCert := issue(t, ca, caKey, "acs.test", true)
	clientCert := issue(t, ca, caKey, "00147F-SN0001", false)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	h := newRecHandler()
	acs := startACS(t, Config{TLS: &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}}, h)
	if !strings.HasPrefix(acs.url, "https://") {
		t.Fatal(acs.url)
	}
	for _, withCert := range []bool{true, false} {
		tc := &tls.Config{RootCAs: pool, ServerName: "acs.test"}
		if withCert {
			tc.Certificates = []tls.Certificate{clientCert}
		}
		c := newCPE(t, acs.url)
		c.hc.Transport = &http.Transport{TLSClientConfig: tc}
		r := c.openSession(informOpts{})
		if !strings.Contains(r.Header.Get("Set-Cookie"), "Secure") {
			t.Errorf("cookie over TLS should be Secure: %q", r.Header.Get("Set-Cookie"))
		}
		c.post("").expectEnd(t)
		e := h.waitEnded(t)
		switch {
		case withCert && (e.Session.ClientCert == nil || e.Session.ClientCert.Subject.CommonName != "00147F-SN0001"):
			t.Errorf("handler did not get the client certificate: %v", e.Session.ClientCert)
		case !withCert && e.Session.ClientCert != nil:
			t.Errorf("ClientCert set without one")
		}
	}

	// A certificate from another CA is refused in the handshake.
	otherCA, otherKey := newCA(t)
	rogue := issue(t, otherCA, otherKey, "rogue", false)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "acs.test", Certificates: []tls.Certificate{rogue}}}}
	if resp, err := c.Post(acs.url, "text/xml", strings.NewReader(informXML(informOpts{}))); err == nil {
		resp.Body.Close()
		t.Errorf("client certificate of an unknown CA accepted: %d", resp.StatusCode)
	}
	// Plain HTTP on the TLS port gets nowhere.
	if resp, err := http.Post(strings.Replace(acs.url, "https", "http", 1), "text/xml", strings.NewReader(informXML(informOpts{}))); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the TLS port")
		}
	}
	h.noEnd(t)
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{cn}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
