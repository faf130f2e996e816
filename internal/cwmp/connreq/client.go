package connreq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

// Defaults for zero Options fields (Retries: zero means none; DefaultRetries is the gateway's
// cwmp.connreq.retries). DefaultTimeout is 10 s, not 5: an attempt behind NAT on a slow uplink
// takes two round trips (challenge, then the Digest answer) plus the CPE's own start-up.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRetries      = 2
	DefaultRetryBackoff = time.Second
	DefaultUDPRepeats   = 3
	DefaultUDPInterval  = 200 * time.Millisecond
)

// Target is one CPE to wake.
type Target struct {
	DeviceID string // for logs
	// URL is ManagementServer.ConnectionRequestURL. Private addresses are the normal case at an
	// edge site and are never filtered (checklist 48).
	URL string
	// Username and Password are ConnectionRequestUsername/Password as set at BOOTSTRAP; when both
	// are empty the configured fallbacks are used (checklist 49).
	Username, Password string
	// UDPAddr is ManagementServer.UDPConnectionRequestAddress (host:port), optional (TR-111).
	UDPAddr string
}

// Options tunes a Client. Zero values take the defaults above.
type Options struct {
	Timeout      time.Duration // per attempt, challenge round included
	Retries      int           // extra attempts when the CPE is unreachable (0 = none)
	RetryBackoff time.Duration // wait before each such retry
	AllowBasic   bool          // answer a Basic challenge (the password then travels in clear)
	// FallbackUsername and FallbackPassword are used for a device with no stored credentials.
	FallbackUsername, FallbackPassword string
	UDPRepeats                         int           // datagrams per UDP connection request (Annex G: sent several times)
	UDPInterval                        time.Duration // spacing between them
}

// DefaultOptions is the `cwmp.connreq.*` section with nothing set: the defaults of the gateway's
// settings table and configs/cwmp2mqtt.yaml (a test there keeps them equal).
func DefaultOptions() Options {
	return Options{Timeout: DefaultTimeout, Retries: DefaultRetries, RetryBackoff: DefaultRetryBackoff,
		UDPRepeats: DefaultUDPRepeats, UDPInterval: DefaultUDPInterval}
}

// rememberedChallenges bounds the CPEs whose last Digest challenge a Client keeps (about 300
// bytes each).
const rememberedChallenges = 4096

// Client sends connection requests. It is safe for concurrent use; each Wake uses its own
// connections. The last Digest challenge of each CPE (its URL and username) is kept, so the
// next connection request to it answers that challenge at once with the next nonce count
// instead of first taking a 401 (RFC 7616 §3.4 lets a client reuse a nonce).
type Client struct {
	log        *zap.Logger
	opts       Options
	challenges *auth.Challenges
}

// New builds a Client; log may be nil.
func New(log *zap.Logger, opts Options) *Client {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = DefaultRetryBackoff
	}
	if opts.UDPRepeats <= 0 {
		opts.UDPRepeats = DefaultUDPRepeats
	}
	if opts.UDPInterval <= 0 {
		opts.UDPInterval = DefaultUDPInterval
	}
	return &Client{log: log.Named("connreq"), opts: opts, challenges: auth.NewChallenges(rememberedChallenges)}
}

// Wake asks the CPE to open a session. nil means the CPE accepted (HTTP 200/204) or, for UDP,
// that the datagrams were sent: UDP cannot be confirmed, so callers watch for the Inform.
//
// With a URL, HTTP is tried first; when it is unreachable and a UDP address is known (a CPE
// behind NAT, TR-111), the UDP request follows. With only a UDP address, UDP is sent at once.
func (c *Client) Wake(ctx context.Context, t Target) error {
	log := c.log.With(zap.String("device", t.DeviceID))
	user, pass := t.Username, t.Password
	if user == "" && pass == "" { // checklist 49: configured fallbacks
		user, pass = c.opts.FallbackUsername, c.opts.FallbackPassword
	}
	if t.URL == "" {
		if t.UDPAddr == "" {
			return fmt.Errorf("%w: device %s has neither a connection request URL nor a UDP address", ErrBadTarget, t.DeviceID)
		}
		return c.wakeUDP(ctx, log, t.UDPAddr, user, pass)
	}
	err := c.wakeHTTP(ctx, log, t.URL, user, pass)
	if errors.Is(err, ErrUnreachable) && t.UDPAddr != "" {
		log.Info("http connection request unreachable, trying udp", zap.Error(err))
		if uerr := c.wakeUDP(ctx, log, t.UDPAddr, user, pass); uerr != nil {
			return errors.Join(err, uerr)
		}
		return nil
	}
	return err
}

// wakeHTTP is TR-069 §3.2.2 (checklist 47).
func (c *Client) wakeHTTP(ctx context.Context, log *zap.Logger, rawURL, user, pass string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: connection request URL %q", ErrBadTarget, rawURL)
	}
	base := &http.Transport{
		Proxy:                 nil, // checklist 48: an environment proxy must not capture site-local CPEs
		DialContext:           (&net.Dialer{Timeout: c.opts.Timeout}).DialContext,
		TLSHandshakeTimeout:   c.opts.Timeout,
		ResponseHeaderTimeout: c.opts.Timeout,
	}
	defer base.CloseIdleConnections()
	probe := &authProbe{base: base}
	hc := &http.Client{
		Transport: auth.NewClientTransport(probe, user, pass,
			auth.ClientOptions{AllowBasic: c.opts.AllowBasic, Challenges: c.challenges}),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	start := time.Now()
	// remembered: the first attempt answers the challenge of an earlier connection request.
	remembered := c.challenges.Has(user, u)
	resetRetried, retries := false, 0
	for {
		status, err := c.get(ctx, hc, probe, u)
		if err == nil {
			log.Info("connection request accepted", zap.String("url", u.Redacted()),
				zap.Int("status", status), zap.Duration("took", time.Since(start)))
			return nil
		}
		switch {
		case remembered && (errors.Is(err, errResetAfterAuth) || errors.Is(err, ErrAuth) || errors.Is(err, ErrUnexpectedStatus)):
			// A CPE that will not take an old nonce should challenge again, which the transport
			// answers; one that resets or refuses instead is asked once more as the first time,
			// without credentials until it challenges (the reset retry below stays available).
			remembered = false
			c.challenges.Forget(user, u)
			log.Info("connection request with the CPE's last nonce failed; asking again after a fresh challenge", zap.Error(err))
			continue
		case errors.Is(err, errResetAfterAuth) && !resetRetried:
			// Once only: the retry carries Digest pre-emptively with the next nonce count.
			resetRetried = true
			log.Info("connection reset after auth header, retrying once", zap.Error(err))
			continue
		case errors.Is(err, ErrUnreachable) && retries < c.opts.Retries && ctx.Err() == nil:
			retries++
			log.Info("connection request unreachable, retrying", zap.Error(err), zap.Int("retry", retries))
			if werr := wait(ctx, c.opts.RetryBackoff); werr != nil {
				return werr
			}
			continue
		}
		log.Warn("connection request failed", zap.String("url", u.Redacted()), zap.Error(err))
		return err
	}
}

// get makes one attempt (the challenge round included) and classifies the outcome.
func (c *Client) get(ctx context.Context, hc *http.Client, probe *authProbe, u *url.URL) (int, error) {
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadTarget, err)
	}
	probe.lastHadAuth.Store(false)
	resp, err := hc.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil: // the caller gave up, not the CPE
			return 0, ctx.Err()
		case probe.lastHadAuth.Load() && isReset(err):
			return 0, fmt.Errorf("%w: %w: %v", ErrUnreachable, errResetAfterAuth, err)
		case isTimeout(actx, err):
			return 0, fmt.Errorf("%w: %w: %v", ErrUnreachable, ErrTimeout, err)
		}
		return 0, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK || code == http.StatusNoContent:
		return code, nil
	case code == http.StatusServiceUnavailable:
		ra := resp.Header.Get("Retry-After")
		return code, &BusyError{RetryAfter: parseRetryAfter(ra, time.Now()), Header: ra}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		if !c.opts.AllowBasic && offersOnlyBasic(resp.Header.Values("WWW-Authenticate")) {
			return code, fmt.Errorf("%w: the CPE offers only Basic and Basic is not allowed", ErrAuth)
		}
		return code, fmt.Errorf("%w: HTTP %d", ErrAuth, code)
	default:
		return code, fmt.Errorf("%w: HTTP %d", ErrUnexpectedStatus, code)
	}
}

// authProbe sits under the auth transport and remembers whether the request that just went
// out carried credentials, so a reset can be told apart from an unreachable CPE.
type authProbe struct {
	base        http.RoundTripper
	lastHadAuth atomic.Bool
}

func (p *authProbe) RoundTrip(r *http.Request) (*http.Response, error) {
	p.lastHadAuth.Store(r.Header.Get("Authorization") != "")
	return p.base.RoundTrip(r)
}

// isTimeout: the attempt ran out of Options.Timeout (its own deadline, or a dial, TLS or
// response-header timeout of the transport).
func isTimeout(attempt context.Context, err error) bool {
	if errors.Is(attempt.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isReset: the peer reset or closed the connection before answering.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE)
}

func offersOnlyBasic(challenges []string) bool {
	if len(challenges) == 0 {
		return false
	}
	for _, c := range challenges {
		c = strings.ToLower(strings.TrimSpace(c))
		if !strings.HasPrefix(c, "basic") || strings.Contains(c, "digest ") {
			return false
		}
	}
	return true
}

// wait sleeps for d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
