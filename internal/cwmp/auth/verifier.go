package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Mode selects what the ACS asks of CPEs (checklist 16, 18).
type Mode string

const (
	// ModeNone accepts every request, including a preemptive Basic header (genieacs-sim sends one
	// with an empty password): it never challenges (checklist 18).
	ModeNone Mode = "none"
	// ModeBasic accepts Basic only and challenges Basic.
	ModeBasic Mode = "basic"
	// ModeDigest accepts Digest only and challenges Digest.
	ModeDigest Mode = "digest"
	// ModeAny accepts Basic or Digest and challenges Digest, the stronger one.
	ModeAny Mode = "any"
)

// Verifier authenticates CPE requests on the ACS side. It is safe for concurrent use. Nonces are
// stateless (see nonces); the uses of verified Digest responses are remembered to refuse replays
// (see nonceUses).
type Verifier struct {
	mode   Mode
	realm  string
	creds  Credentials
	nonces nonces
	uses   nonceUses
}

// Grant is what Authenticate proved: the user, and for Digest the nonce use it rode on (which
// Admit ties to one device).
type Grant struct {
	User string
	use  string
}

// Option tunes a Verifier.
type Option func(*Verifier)

// WithNonceTTL sets how long a Digest nonce is fresh (default DefaultNonceTTL).
func WithNonceTTL(d time.Duration) Option { return func(v *Verifier) { v.nonces.ttl = d } }

// WithClock replaces time.Now, for tests and for instances that share a secret.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.nonces.now = now } }

// NewVerifier builds a Verifier. creds may be nil only in ModeNone. secret keys the stateless
// nonce; give every gateway instance behind one address the same secret. An empty secret gets a
// random one: nonces then die with the process, which only costs a CPE one more 401.
func NewVerifier(mode Mode, realm string, creds Credentials, secret []byte, opts ...Option) (*Verifier, error) {
	switch mode {
	case ModeNone, ModeBasic, ModeDigest, ModeAny:
	default:
		return nil, fmt.Errorf("auth: unknown mode %q (want none, basic, digest or any)", mode)
	}
	if mode != ModeNone && creds == nil {
		return nil, fmt.Errorf("auth: mode %q needs credentials", mode)
	}
	if strings.ContainsAny(realm, "\"\\\r\n") {
		return nil, fmt.Errorf("auth: realm %q contains a quote, backslash or line break", realm)
	}
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("auth: nonce secret: %w", err)
		}
	}
	v := &Verifier{
		mode:   mode,
		realm:  realm,
		creds:  creds,
		nonces: nonces{secret: append([]byte(nil), secret...), realm: realm, ttl: DefaultNonceTTL, now: time.Now},
	}
	for _, o := range opts {
		o(v)
	}
	if v.nonces.ttl <= 0 {
		return nil, fmt.Errorf("auth: nonce TTL must be positive, got %s", v.nonces.ttl)
	}
	return v, nil
}

// Check authenticates r. A nil error means authenticated; username is "" in ModeNone.
// Errors wrap ErrNoCredentials, ErrBadCredentials, ErrStaleNonce, ErrReplayed or ErrMalformed; for
// all of them the caller calls Challenge (stale = errors.Is(err, ErrStaleNonce) ||
// errors.Is(err, ErrReplayed)) and writes 401.
func (v *Verifier) Check(r *http.Request) (username string, err error) {
	g, err := v.Authenticate(r)
	return g.User, err
}

// Authenticate is Check returning a Grant, for callers that then learn who the client claims to
// be and call Admit (the ACS, once it has read the Inform).
func (v *Verifier) Authenticate(r *http.Request) (Grant, error) {
	if v.mode == ModeNone {
		return Grant{}, nil // checklist 18: a preemptive Basic header is not an invitation to challenge
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return Grant{}, ErrNoCredentials
	}
	scheme, rest := h, ""
	if i := strings.IndexAny(h, " \t"); i >= 0 {
		scheme, rest = h[:i], h[i+1:]
	}
	switch {
	case strings.EqualFold(scheme, "Basic") && v.mode != ModeDigest:
		user, err := v.checkBasic(strings.TrimSpace(rest))
		return Grant{User: user}, err
	case strings.EqualFold(scheme, "Digest") && v.mode != ModeBasic:
		return v.checkDigest(r, rest)
	}
	return Grant{}, fmt.Errorf("%w: scheme %q not accepted in mode %s", ErrNoCredentials, scheme, v.mode)
}

// Admit checks that an authenticated client may speak for the device it named: per-device
// credentials (Devices) only for their own device, and a Digest nonce never for a second device.
// Errors wrap ErrWrongDevice (answer 403) or ErrReplayed (challenge with stale=true, 401).
func (v *Verifier) Admit(g Grant, id Identity) error {
	if v.mode == ModeNone {
		return nil
	}
	if err := permits(v.creds, g.User, id); err != nil {
		return err
	}
	if g.use != "" {
		return v.uses.bind(g.use, id.DeviceID)
	}
	return nil
}

// Challenge sets the WWW-Authenticate header for the mode; the caller writes the 401.
// stale=true tells a Digest client its password was right and only the nonce expired.
func (v *Verifier) Challenge(w http.ResponseWriter, stale bool) {
	switch v.mode {
	case ModeBasic:
		w.Header().Set("WWW-Authenticate", "Basic realm="+quote(v.realm))
	case ModeDigest, ModeAny:
		c := "Digest realm=" + quote(v.realm) + `, qop="auth", algorithm=MD5, nonce="` + v.nonces.issue() + `"`
		if stale {
			c += ", stale=true"
		}
		w.Header().Set("WWW-Authenticate", c)
	}
}

func (v *Verifier) checkBasic(token string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(token); err != nil {
			return "", fmt.Errorf("%w: basic credentials are not base64", ErrMalformed)
		}
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", fmt.Errorf("%w: basic credentials without ':'", ErrMalformed)
	}
	want, known := v.creds.Password(user)
	if !known {
		return "", fmt.Errorf("%w: unknown user %q", ErrBadCredentials, user)
	}
	if !secretEqual(pass, want) {
		return "", fmt.Errorf("%w: wrong password for user %q", ErrBadCredentials, user)
	}
	return user, nil
}

// checkDigest verifies RFC 2617 credentials (checklist 16–17) and records the use of the nonce.
func (v *Verifier) checkDigest(r *http.Request, rest string) (Grant, error) {
	user, d, until, err := v.verifyDigest(r, rest)
	if err != nil {
		return Grant{}, err
	}
	var nc uint64
	if d.qop != "" {
		if nc, err = strconv.ParseUint(d.nc, 16, 64); err != nil {
			return Grant{}, fmt.Errorf("%w: nonce count %q is not hexadecimal", ErrMalformed, d.nc)
		}
	}
	key := d.nonce + "\x00" + d.cnonce
	if err := v.uses.record(key, nc, d.qop != "", until, v.nonces.now()); err != nil {
		return Grant{}, fmt.Errorf("%w (user %q)", err, user)
	}
	return Grant{User: user, use: key}, nil
}

// verifyDigest checks the Digest response; until is when its nonce stops being fresh.
func (v *Verifier) verifyDigest(r *http.Request, rest string) (user string, d digestParams, until time.Time, err error) {
	fail := func(err error) (string, digestParams, time.Time, error) { return "", digestParams{}, time.Time{}, err }
	p, err := parseDigestCredentials(rest)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	for _, k := range []string{"username", "realm", "nonce", "uri", "response"} {
		if _, ok := p[k]; !ok {
			return fail(fmt.Errorf("%w: digest without %s", ErrMalformed, k))
		}
	}
	d = digestParams{
		algorithm: p["algorithm"],
		username:  p["username"],
		realm:     p["realm"],
		nonce:     p["nonce"],
		cnonce:    p["cnonce"],
		nc:        p["nc"],
		qop:       p["qop"],
		method:    r.Method,
		uri:       p["uri"],
	}
	if !supportedAlgorithm(d.algorithm) {
		return fail(fmt.Errorf("%w: digest algorithm %q not supported", ErrMalformed, d.algorithm))
	}
	switch d.qop {
	case "":
		if strings.EqualFold(d.algorithm, algMD5Sess) {
			return fail(fmt.Errorf("%w: MD5-sess without qop has no cnonce", ErrMalformed))
		}
	case qopAuth:
		if d.nc == "" || d.cnonce == "" {
			return fail(fmt.Errorf("%w: qop=auth without nc or cnonce", ErrMalformed))
		}
	default:
		return fail(fmt.Errorf("%w: qop %q not supported", ErrMalformed, d.qop))
	}
	if d.realm != v.realm {
		return fail(fmt.Errorf("%w: realm %q is not %q", ErrBadCredentials, d.realm, v.realm))
	}
	if err := uriMatches(d.uri, r.URL); err != nil {
		return fail(err)
	}
	expired, until, err := v.nonces.check(d.nonce)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadCredentials, err))
	}
	want, known := v.creds.Password(d.username)
	if !known {
		return fail(fmt.Errorf("%w: unknown user %q", ErrBadCredentials, d.username))
	}
	d.password = want
	if !secretEqual(strings.ToLower(p["response"]), d.response()) {
		return fail(fmt.Errorf("%w: wrong digest response for user %q", ErrBadCredentials, d.username))
	}
	// Stale only once the response proved the password (RFC 7616 §3.3), so a wrong password
	// never earns a silent retry.
	if expired {
		return fail(fmt.Errorf("%w: user %q", ErrStaleNonce, d.username))
	}
	return d.username, d, until, nil
}

// uriMatches checks the digest uri against the request: same path (either may be escaped
// differently; an absolute URI is reduced to its path), and the same query when the digest uri
// carries one.
func uriMatches(digestURI string, req *url.URL) error {
	du, err := url.Parse(digestURI)
	if err != nil {
		return fmt.Errorf("%w: digest uri %q: %v", ErrMalformed, digestURI, err)
	}
	dp, rp := du.Path, req.Path
	if dp == "" {
		dp = "/"
	}
	if rp == "" {
		rp = "/"
	}
	if dp != rp || (du.RawQuery != "" && du.RawQuery != req.RawQuery) {
		return fmt.Errorf("%w: digest uri %q does not match request %q", ErrBadCredentials, digestURI, req.RequestURI())
	}
	return nil
}

// secretEqual compares in constant time; hashing first hides the length as well.
func secretEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// ClaimedUser is the user name an Authorization header claims, unverified, for logs and
// auth_failed events ("" without one). It is cut to 64 bytes: it comes from anybody.
func ClaimedUser(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, rest, _ := strings.Cut(h, " ")
	var user string
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return ""
		}
		user, _, _ = strings.Cut(string(raw), ":")
	case strings.EqualFold(scheme, "Digest"):
		p, err := parseDigestCredentials(rest)
		if err != nil {
			return ""
		}
		user = p["username"]
	}
	if len(user) > 64 {
		user = user[:64]
	}
	return strings.ToValidUTF8(user, "\uFFFD")
}
