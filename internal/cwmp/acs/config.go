package acs

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

// Defaults applied by New to zero-valued Config fields (checklist 10, 15).
const (
	DefaultListen                = ":7547"
	DefaultPath                  = "/"
	DefaultIdleTimeout           = 30 * time.Second
	DefaultMaxSessionDuration    = 10 * time.Minute
	DefaultMaxRPCsPerSession     = 256
	DefaultMaxConcurrentSessions = 1000
	DefaultMaxBodyBytes          = 4 << 20
	DefaultMaxHeaderBytes        = 64 << 10
	DefaultReadTimeout           = 30 * time.Second
	DefaultWriteTimeout          = 60 * time.Second
	DefaultRetryAfter            = 30 * time.Second
)

// Config configures the ACS server. Zero values take the defaults above; negative values are
// rejected by Validate.
type Config struct {
	// Listen is the address Start listens on (host:port). Serve ignores it.
	Listen string
	// Path is the ACS URL path CPEs POST to; anything else is 404, other methods 405.
	Path string
	// Auth authenticates the request that opens a session; nil means no authentication.
	Auth *auth.Verifier
	// TLS, when set, serves HTTPS; client certificates per TLS.ClientAuth (checklist 19).
	TLS *tls.Config
	// IdleTimeout ends a session with no POST for this long, unless the CPE announced a
	// SessionTimeout header (checklist 15). It is also the keep-alive timeout of idle connections.
	IdleTimeout time.Duration
	// MaxSessionDuration caps a session's total time, whatever the CPE announced.
	MaxSessionDuration time.Duration
	// MaxRPCsPerSession bounds the messages exchanged in one session (CPE requests and tasks).
	MaxRPCsPerSession int
	// MaxConcurrentSessions bounds open sessions; a new Inform beyond it gets 503 (checklist 9).
	MaxConcurrentSessions int
	// MaxBodyBytes bounds a request body, on the wire and again after decompression (413).
	MaxBodyBytes int64
	// MaxHeaderBytes bounds the request header block.
	MaxHeaderBytes int
	// ReadTimeout bounds reading one request (headers and body); WriteTimeout bounds the rest of
	// the exchange, handler calls included.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// RetryAfter is the Retry-After of a 503 under overload.
	RetryAfter time.Duration
	// OnAuthFailure, when set, is told of every refused request: wrong or replayed credentials,
	// credentials of another device, a session cookie from a foreign connection. It must not
	// block (the gateway rate-limits and publishes auth_failed).
	OnAuthFailure func(AuthFailure)
	// AllowNetworks, when not empty, admits requests only from these networks; others get 403
	// and an auth failure (the gateway sets it while CPE authentication is off).
	AllowNetworks []netip.Prefix
	// TrustedProxies are the peers whose X-Forwarded-For header names the client (see
	// Server.clientAddr); from anybody else the header is ignored.
	TrustedProxies []netip.Prefix
	// OnSessionFault, when set, is told of every session that ended on a protocol error: an
	// undecodable message, or no answer to an outstanding request before the session timed out
	// or the CPE opened a new one.
	// It must not block (the gateway publishes session_fault).
	OnSessionFault func(SessionFault)
}

// DefaultConfig is the `cwmp.*` listener and `cwmp.session.*` section with nothing set: the
// defaults of the gateway's settings table and configs/cwmp2mqtt.yaml (a test there keeps them
// equal).
func DefaultConfig() Config { return Config{}.withDefaults() }

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDur(&c.IdleTimeout, DefaultIdleTimeout)
	setDur(&c.MaxSessionDuration, DefaultMaxSessionDuration)
	setDur(&c.ReadTimeout, DefaultReadTimeout)
	setDur(&c.WriteTimeout, DefaultWriteTimeout)
	setDur(&c.RetryAfter, DefaultRetryAfter)
	if c.MaxRPCsPerSession == 0 {
		c.MaxRPCsPerSession = DefaultMaxRPCsPerSession
	}
	if c.MaxConcurrentSessions == 0 {
		c.MaxConcurrentSessions = DefaultMaxConcurrentSessions
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return c
}

// Validate reports the first invalid field by name. Zero values are valid (they mean the default).
func (c Config) Validate() error {
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		return fmt.Errorf("acs: Path %q must start with /", c.Path)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"IdleTimeout", c.IdleTimeout},
		{"MaxSessionDuration", c.MaxSessionDuration},
		{"ReadTimeout", c.ReadTimeout},
		{"WriteTimeout", c.WriteTimeout},
		{"RetryAfter", c.RetryAfter},
	} {
		if d.v < 0 {
			return fmt.Errorf("acs: %s must not be negative (got %s)", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"MaxRPCsPerSession", int64(c.MaxRPCsPerSession)},
		{"MaxConcurrentSessions", int64(c.MaxConcurrentSessions)},
		{"MaxBodyBytes", c.MaxBodyBytes},
		{"MaxHeaderBytes", int64(c.MaxHeaderBytes)},
	} {
		if n.v < 0 {
			return fmt.Errorf("acs: %s must not be negative (got %d)", n.name, n.v)
		}
	}
	if c.MaxSessionDuration > 0 && c.IdleTimeout > c.MaxSessionDuration {
		return fmt.Errorf("acs: IdleTimeout (%s) must not exceed MaxSessionDuration (%s)", c.IdleTimeout, c.MaxSessionDuration)
	}
	if c.RetryAfter > 0 && c.RetryAfter < time.Second {
		return fmt.Errorf("acs: RetryAfter must be at least 1s (Retry-After has whole seconds), got %s", c.RetryAfter)
	}
	return nil
}
