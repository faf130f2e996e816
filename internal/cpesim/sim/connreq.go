package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

// crSecret keys the stateless Digest nonces of every CR listener of this process.
var crSecret = func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return b
}()

// crCredentials reads the connection-request credentials from the CPE's model at each request,
// so an ACS that sets new ones by SetParameterValues is obeyed at once (checklist 49).
type crCredentials struct{ c *CPE }

func (cc crCredentials) Password(username string) (string, bool) {
	m := cc.c.Model()
	u, err := m.Get(m.Root() + "ManagementServer.ConnectionRequestUsername")
	if err != nil || u.Value.Raw != username {
		return "", false
	}
	p, err := m.Get(m.Root() + "ManagementServer.ConnectionRequestPassword")
	if err != nil {
		return "", false
	}
	return p.Value.Raw, true
}

// CRHandler is the CPE's connection-request endpoint (TR-069 §3.2.2): an HTTP GET with Digest
// authentication; on success it answers 200 and the CPE opens a session with
// "6 CONNECTION REQUEST". A request during a session is answered and the session is opened after
// the current one (checklist 50). Muted, or down after a crash, it drops the connection without a
// response. Quirks: busy after a reset it answers 503 with Retry-After; with QuirkCRNoSession it
// answers 200 and only restarts its periodic timer.
func (c *CPE) CRHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := CREvent{Serial: c.Serial()}
		if c.muted.Load() || c.silent() {
			if c.silent() {
				ev.Quirk = QuirkCrashOnUnknownName
			}
			c.recordCR(ev)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler) // HTTP/2 or a recorder: abort the stream instead
		}
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "connection request must be GET", http.StatusMethodNotAllowed)
			return
		}
		if d := c.BusyFor(); d > 0 { // rebooting: the firmware's web server answers before any auth
			w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
			w.WriteHeader(http.StatusServiceUnavailable)
			ev.Status, ev.Quirk = http.StatusServiceUnavailable, QuirkBusyAfterReset
			c.recordCR(ev)
			return
		}
		if _, err := c.crAuth.Check(r); err != nil {
			c.log.Debug("connection request refused", zap.Error(err))
			c.crAuth.Challenge(w, errors.Is(err, auth.ErrStaleNonce))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
		ev.Status = http.StatusOK
		if c.has(QuirkCRNoSession) {
			c.log.Debug("connection request: no session (quirk)")
			ev.Quirk = QuirkCRNoSession
			c.recordCR(ev)
			select {
			case c.restartPeriodic <- struct{}{}:
			default:
			}
			return
		}
		c.log.Debug("connection request")
		c.recordCR(ev)
		c.Inform(EventConnectionRequest, "")
	})
}

func (c *CPE) recordCR(ev CREvent) {
	if h := c.cfg.Hooks.OnCR; h != nil {
		h(ev)
	}
}

// ListenCR serves the CPE's connection requests on its own listener at addr ("127.0.0.1:0"
// picks a port) until ctx ends, and writes the URL into ManagementServer.ConnectionRequestURL.
func (c *CPE) ListenCR(ctx context.Context, addr string) (url string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	url = "http://" + ln.Addr().String() + "/"
	if err := c.SetConnectionRequestURL(url); err != nil {
		ln.Close()
		return "", err
	}
	srv := &http.Server{Handler: c.CRHandler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return url, nil
}

// SetConnectionRequestURL records where the CPE listens (the ACS reads it from the Inform).
func (c *CPE) SetConnectionRequestURL(url string) error {
	m := c.Model()
	return m.Set(m.Root()+"ManagementServer.ConnectionRequestURL", url)
}
