package auth

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
)

// Digest algorithms (RFC 2617 §3.2.1). The spelling a CPE uses is echoed back as received.
const (
	algMD5     = "MD5"
	algMD5Sess = "MD5-SESS" // upper-cased for comparison; "MD5-sess" on the wire
)

// qopAuth is the only quality of protection supported; auth-int would need the body hashed,
// and no CPE or ACS in the field requires it.
const qopAuth = "auth"

// digestParams are the inputs of one Digest computation (RFC 2617 §3.2.2.1–3).
type digestParams struct {
	algorithm                 string // "", "MD5" or "MD5-sess", any case
	username, realm, password string
	nonce, cnonce, nc, qop    string
	method, uri               string
}

// response computes request-digest. Without qop it is the RFC 2069 form that old CPEs use.
func (p digestParams) response() string {
	ha1 := md5Hex(p.username, p.realm, p.password)
	if strings.EqualFold(p.algorithm, algMD5Sess) {
		ha1 = md5Hex(ha1, p.nonce, p.cnonce)
	}
	ha2 := md5Hex(p.method, p.uri)
	if p.qop == "" {
		return md5Hex(ha1, p.nonce, ha2)
	}
	return md5Hex(ha1, p.nonce, p.nc, p.cnonce, p.qop, ha2)
}

// md5Hex is lower-case hex MD5 of the parts joined by ':'.
func md5Hex(parts ...string) string {
	h := md5.New()
	for i, s := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// supportedAlgorithm reports whether a Digest algorithm parameter can be computed.
func supportedAlgorithm(alg string) bool {
	switch strings.ToUpper(alg) {
	case "", algMD5, algMD5Sess:
		return true
	}
	return false
}
