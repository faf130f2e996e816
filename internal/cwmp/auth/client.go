package auth

import (
	"container/list"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// ClientOptions tunes NewClientTransport.
type ClientOptions struct {
	// AllowBasic lets the transport answer a Basic challenge. Off by default: Basic sends the
	// password in clear and checklist 47 wants Basic only when configured.
	AllowBasic bool
	// Preemptive sends Basic credentials on a host's first request, before any challenge, as
	// genieacs-sim does (checklist 18). Once a host has challenged Digest, Digest is used.
	Preemptive bool
	// Challenges, when set, is where the transport keeps each host's last challenge, shared with
	// the other transports given the same store (see Challenges); nil: the transport's own.
	Challenges *Challenges
}

// maxAnswers bounds the challenges answered within one RoundTrip: a fresh challenge, plus one
// stale=true re-challenge.
const maxAnswers = 2

// NewClientTransport wraps base (http.DefaultTransport when nil) so that a 401 is answered with
// Digest (MD5 or MD5-sess, qop=auth or none) or, when allowed, Basic, and the request sent again.
// The nonce and nonce count are kept per host, so later requests of a session carry Digest
// pre-emptively with an incremented nc; a stale or new challenge is answered again.
//
// Requests with a body are sent again to answer a challenge, so the body must be replayable:
// Request.GetBody must be set (http.NewRequest does so for *bytes.Buffer, *bytes.Reader and
// *strings.Reader); otherwise RoundTrip fails with ErrBodyNotReplayable. A request that already
// carries an Authorization header is passed through untouched.
func NewClientTransport(base http.RoundTripper, username, password string, opts ClientOptions) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	hosts := opts.Challenges
	if hosts == nil { // a transport's own: one challenge per host, whatever the path
		hosts = &Challenges{hostOnly: true, hosts: map[string]*list.Element{}}
	}
	return &clientTransport{
		base:  base,
		user:  username,
		pass:  password,
		opts:  opts,
		hosts: hosts,
	}
}

type clientTransport struct {
	base       http.RoundTripper
	user, pass string
	opts       ClientOptions
	hosts      *Challenges
}

// Challenges keeps the last challenge of each URL (scheme, host and path) and username. Shared
// by transports (ClientOptions.Challenges), it lets a request on a new transport and connection
// — the next connection request to a CPE — answer the URL's last Digest challenge pre-emptively
// with the next nonce count, which RFC 7616 §3.4 allows, instead of first taking a 401 round
// trip. A server that no longer takes that nonce answers 401 with a fresh challenge, answered as
// on a first request. The path is part of the key because CPEs behind one address (a
// connection-request proxy, a simulator) each keep their own nonces. It is safe for concurrent
// use.
type Challenges struct {
	mu       sync.Mutex
	max      int                      // 0: unbounded
	hostOnly bool                     // a transport's own store: keyed by host alone
	hosts    map[string]*list.Element // of *challengeEntry
	lru      list.List                // most recently used first
}

type challengeEntry struct {
	key string
	st  *hostAuth
}

// NewChallenges returns an empty store that keeps at most max hosts (0: no bound), forgetting
// the least recently used first.
func NewChallenges(max int) *Challenges {
	return &Challenges{max: max, hosts: map[string]*list.Element{}}
}

func (c *Challenges) key(username string, u *url.URL) string {
	if c.hostOnly {
		return username + "\x00" + u.Host
	}
	return username + "\x00" + u.Scheme + "://" + u.Host + u.Path
}

// Forget drops what is kept for username at u, so its next request starts without credentials
// and takes a fresh challenge.
func (c *Challenges) Forget(username string, u *url.URL) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.key(username, u)
	if e, ok := c.hosts[k]; ok {
		c.lru.Remove(e)
		delete(c.hosts, k)
	}
}

// Has reports whether a challenge of u is kept for username.
func (c *Challenges) Has(username string, u *url.URL) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.hosts[c.key(username, u)]
	return ok
}

// Len is the number of hosts kept.
func (c *Challenges) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.hosts)
}

// getLocked returns the kept challenge, nil when none. c.mu must be held.
func (c *Challenges) getLocked(key string) *hostAuth {
	e, ok := c.hosts[key]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	return e.Value.(*challengeEntry).st
}

// putLocked keeps st as the host's challenge. c.mu must be held.
func (c *Challenges) putLocked(key string, st *hostAuth) {
	if e, ok := c.hosts[key]; ok {
		e.Value.(*challengeEntry).st = st
		c.lru.MoveToFront(e)
		return
	}
	c.hosts[key] = c.lru.PushFront(&challengeEntry{key: key, st: st})
	if c.max > 0 && len(c.hosts) > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.hosts, old.Value.(*challengeEntry).key)
	}
}

// hostAuth is what a host last challenged with.
type hostAuth struct {
	basic bool // the host accepted Basic; no Digest state
	// Digest challenge, echoed as received (checklist 47: opaque and algorithm).
	realm, nonce, opaque, algorithm string
	qop                             string // "auth" or "" when the server offered none
	cnonce                          string // fixed per nonce so MD5-sess keeps one session key
	nc                              uint32
}

func (t *clientTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return t.base.RoundTrip(req)
	}
	out := req
	if h := t.cachedAuthorization(req); h != "" {
		out = req.Clone(req.Context())
		out.Header.Set("Authorization", h)
	}
	resp, err := t.base.RoundTrip(out)
	for answered := 0; err == nil && resp.StatusCode == http.StatusUnauthorized; answered++ {
		ch, ok := t.pick(parseChallenges(resp.Header.Values("WWW-Authenticate")))
		// A fresh challenge answered and refused again, without stale=true, is a wrong password:
		// hand the 401 to the caller.
		if !ok || answered == maxAnswers || (answered > 0 && !strings.EqualFold(ch.params["stale"], "true")) {
			return resp, nil
		}
		next, rerr := t.answer(req, ch)
		drain(resp)
		if rerr != nil {
			return nil, rerr
		}
		resp, err = t.base.RoundTrip(next)
	}
	return resp, err
}

// pick chooses the challenge to answer: Digest when it can be computed, else Basic if allowed.
func (t *clientTransport) pick(chs []challenge) (challenge, bool) {
	for _, c := range chs {
		if c.scheme == "digest" && c.params["nonce"] != "" && supportedAlgorithm(c.params["algorithm"]) {
			qop := offeredQop(c.params["qop"])
			if qop == "" && c.params["qop"] != "" {
				continue // only auth-int offered
			}
			if qop == "" && strings.EqualFold(c.params["algorithm"], algMD5Sess) {
				continue // MD5-sess needs a cnonce, which only qop carries
			}
			return c, true
		}
	}
	if t.opts.AllowBasic {
		for _, c := range chs {
			if c.scheme == "basic" {
				return c, true
			}
		}
	}
	return challenge{}, false
}

// offeredQop returns "auth" when the qop list offers it, else "".
func offeredQop(list string) string {
	for _, q := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(q), qopAuth) {
			return qopAuth
		}
	}
	return ""
}

// answer records the challenge for the host and builds the request that answers it.
func (t *clientTransport) answer(req *http.Request, ch challenge) (*http.Request, error) {
	next := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, ErrBodyNotReplayable
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("auth: replay request body: %w", err)
		}
		next.Body = body
	}
	st := &hostAuth{basic: ch.scheme == "basic"}
	if !st.basic {
		st.realm = ch.params["realm"]
		st.nonce = ch.params["nonce"]
		st.opaque = ch.params["opaque"]
		st.algorithm = ch.params["algorithm"]
		st.qop = offeredQop(ch.params["qop"])
		st.cnonce = newCnonce()
	}
	t.hosts.mu.Lock()
	t.hosts.putLocked(t.hosts.key(t.user, req.URL), st)
	h := t.authorizationLocked(st, req)
	t.hosts.mu.Unlock()
	next.Header.Set("Authorization", h)
	return next, nil
}

// cachedAuthorization is the header for a request sent before any challenge of this round trip:
// Digest with the host's last nonce, Basic for a host that took Basic, preemptive Basic, or none.
func (t *clientTransport) cachedAuthorization(req *http.Request) string {
	t.hosts.mu.Lock()
	defer t.hosts.mu.Unlock()
	if st := t.hosts.getLocked(t.hosts.key(t.user, req.URL)); st != nil {
		return t.authorizationLocked(st, req)
	}
	if t.opts.Preemptive {
		return t.basic()
	}
	return ""
}

// authorizationLocked renders the header for st, counting the nonce use. t.hosts.mu must be
// held.
func (t *clientTransport) authorizationLocked(st *hostAuth, req *http.Request) string {
	if st.basic {
		return t.basic()
	}
	st.nc++
	d := digestParams{
		algorithm: st.algorithm,
		username:  t.user,
		realm:     st.realm,
		password:  t.pass,
		nonce:     st.nonce,
		qop:       st.qop,
		method:    req.Method,
		uri:       req.URL.RequestURI(), // checklist 47: the digest uri is the request's path (+query)
	}
	var b strings.Builder
	b.WriteString("Digest username=" + quote(d.username) + ", realm=" + quote(d.realm) +
		", nonce=" + quote(d.nonce) + ", uri=" + quote(d.uri))
	if d.algorithm != "" {
		b.WriteString(", algorithm=" + d.algorithm)
	}
	if d.qop != "" { // checklist 47: no qop offered → no qop, nc, cnonce (RFC 2069 form)
		d.nc = fmt.Sprintf("%08x", st.nc)
		d.cnonce = st.cnonce
		b.WriteString(", qop=" + d.qop + ", nc=" + d.nc + ", cnonce=" + quote(d.cnonce))
	}
	b.WriteString(", response=" + quote(d.response()))
	if st.opaque != "" {
		b.WriteString(", opaque=" + quote(st.opaque))
	}
	return b.String()
}

func (t *clientTransport) basic() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(t.user+":"+t.pass))
}

func newCnonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// drain reads a little of a discarded response so its connection can be reused, then closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
