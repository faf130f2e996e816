package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/cwmp/auth"
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
// the current one (checklist 50). Muted, it drops the connection without a response.
func (c *CPE) CRHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.muted.Load() {
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
		if _, err := c.crAuth.Check(r); err != nil {
			c.log.Debug("connection request refused", zap.Error(err))
			c.crAuth.Challenge(w, errors.Is(err, auth.ErrStaleNonce))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
		c.log.Debug("connection request")
		c.Inform(EventConnectionRequest, "")
	})
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
