package auth

import "testing"

// The worked example of RFC 2617 §3.5 pins the qop=auth computation; the RFC 2069 form and
// MD5-sess are pinned against hand-expanded formulas.
func TestDigestResponseRFC2617Example(t *testing.T) {
	d := digestParams{
		username: "Mufasa", realm: "testrealm@host.com", password: "Circle Of Life",
		nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", cnonce: "0a4f113b", nc: "00000001", qop: "auth",
		method: "GET", uri: "/dir/index.html",
	}
	if got, want := d.response(), "6629fae49393a05397450978507c4ef1"; got != want {
		t.Fatalf("qop=auth response = %s, want %s (RFC 2617 §3.5)", got, want)
	}

	d.qop, d.nc, d.cnonce = "", "", ""
	ha1 := md5Hex("Mufasa", "testrealm@host.com", "Circle Of Life")
	if got, want := d.response(), md5Hex(ha1, d.nonce, md5Hex("GET", "/dir/index.html")); got != want {
		t.Fatalf("RFC 2069 response = %s, want %s", got, want)
	}

	d.algorithm, d.qop, d.nc, d.cnonce = "MD5-sess", "auth", "00000001", "0a4f113b"
	sess := md5Hex(ha1, d.nonce, d.cnonce)
	want := md5Hex(sess, d.nonce, "00000001", "0a4f113b", "auth", md5Hex("GET", "/dir/index.html"))
	if got := d.response(); got != want {
		t.Fatalf("MD5-sess response = %s, want %s", got, want)
	}
}

func TestParseChallenges(t *testing.T) {
	chs := parseChallenges([]string{
		`Negotiate abc==`,
		`Basic realm="a, b", Digest REALM="x", Nonce="n1", qop="auth,auth-int", algorithm=MD5-sess, opaque="o"`,
		`NTLM`,
	})
	// A token68 scheme (Negotiate) may come out as noise; it must not hide the others.
	by := map[string]challenge{}
	for _, c := range chs {
		by[c.scheme] = c
	}
	if b, ok := by["basic"]; !ok || b.params["realm"] != "a, b" {
		t.Errorf("basic = %+v in %+v", b, chs)
	}
	d, ok := by["digest"]
	if !ok || d.params["realm"] != "x" || d.params["nonce"] != "n1" ||
		d.params["qop"] != "auth,auth-int" || d.params["algorithm"] != "MD5-sess" || d.params["opaque"] != "o" {
		t.Errorf("digest = %+v in %+v", d, chs)
	}
	if n, ok := by["ntlm"]; !ok || len(n.params) != 0 {
		t.Errorf("ntlm = %+v in %+v", n, chs)
	}
}
