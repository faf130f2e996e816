package acs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Server is the ACS HTTP server. Lifecycle: New → Start (or Serve) → Shutdown.
type Server struct {
	cfg  Config
	h    Handler
	log  *zap.Logger
	http *http.Server

	baseCtx    context.Context // parent of every session context; cancelled by Shutdown
	baseCancel context.CancelFunc

	mu       sync.Mutex
	byID     map[string]*session // by cookie value (checklist 12)
	byDevice map[string]*session // by device id, to supersede (checklist 14)
	ln       net.Listener
	closing  bool
	opening  int // requests without a session being read or starting one (refuseOverload)

	reaperOnce sync.Once
	reaperStop chan struct{}
	reaperDone chan struct{}
	ending     sync.WaitGroup // session ends running in the background (reaper)

	stats   counters
	taskSeq atomic.Uint64

	quirksSeen sync.Map // device id + "\x00" + quirk: tolerated CPE quirks already warned about

	// fresh are the connections that have not carried a request yet. http.Server.Shutdown waits
	// up to 5 s for such a connection (an HTTP client's spare dial, parked unused in its pool),
	// so Shutdown closes them itself.
	freshMu sync.Mutex
	fresh   map[net.Conn]struct{}
}

// connKey tags each TCP connection (http.Server.ConnContext) so a CPE that drops the session
// cookie but keeps its connection still finds its session (checklist 12).
type connKey struct{}

type connState struct {
	sess *session // last session seen on this connection; guarded by Server.mu
}

// New checks cfg, applies its defaults and returns a server that is not listening yet.
func New(cfg Config, h Handler, log *zap.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("acs: nil Handler")
	}
	if log == nil {
		log = zap.NewNop()
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:        cfg,
		h:          h,
		log:        log.Named("acs"),
		byID:       make(map[string]*session),
		byDevice:   make(map[string]*session),
		reaperStop: make(chan struct{}),
		reaperDone: make(chan struct{}),
	}
	s.baseCtx, s.baseCancel = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           s,
		ReadTimeout:       cfg.ReadTimeout,
		ReadHeaderTimeout: cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{})
		},
		ConnState:                    s.trackFresh,
		DisableGeneralOptionsHandler: true,
	}
	return s, nil
}

// trackFresh is the http.Server ConnState hook: it remembers connections until their first
// request.
func (s *Server) trackFresh(c net.Conn, st http.ConnState) {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	if st == http.StateNew {
		if s.fresh == nil {
			s.fresh = map[net.Conn]struct{}{}
		}
		s.fresh[c] = struct{}{}
		return
	}
	delete(s.fresh, c)
}

// closeFresh closes the connections that never carried a request: nothing is lost, and
// http.Server.Shutdown would otherwise wait 5 s for each to age into "idle".
func (s *Server) closeFresh() {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	for c := range s.fresh {
		_ = c.Close()
		delete(s.fresh, c)
	}
}

// Start listens on cfg.Listen and serves in the background; it returns once the listener is
// open, so Addr is set. ctx bounds only the listen call: the server runs until Shutdown.
func (s *Server) Start(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("acs: listen %s: %w", s.cfg.Listen, err)
	}
	if ln = s.adopt(ln); ln == nil {
		return errors.New("acs: server is shut down")
	}
	go func() {
		if err := s.serve(ln); err != nil {
			s.log.Error("serve stopped", zap.Error(err))
		}
	}()
	return nil
}

// Serve serves CPEs on ln (wrapped in TLS when cfg.TLS is set) until Shutdown, then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	if ln = s.adopt(ln); ln == nil {
		return nil
	}
	return s.serve(ln)
}

// adopt wraps ln in TLS when configured and records it; nil when the server is shut down.
func (s *Server) adopt(ln net.Listener) net.Listener {
	if s.cfg.TLS != nil {
		tc := s.cfg.TLS.Clone()
		tc.NextProtos = []string{"http/1.1"} // CWMP is HTTP/1.1; no h2 surprises for CPE stacks
		ln = tls.NewListener(ln, tc)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		ln.Close()
		return nil
	}
	s.ln = ln
	return ln
}

func (s *Server) serve(ln net.Listener) error {
	s.reaperOnce.Do(func() { go s.reap() })
	s.log.Info("listening", zap.String("addr", ln.Addr().String()), zap.String("path", s.cfg.Path),
		zap.Bool("tls", s.cfg.TLS != nil), zap.Bool("auth", s.cfg.Auth != nil))
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("acs: serve: %w", err)
	}
	return nil
}

// Addr is the listening address, nil before Start/Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Listening reports whether the server accepts CPEs: started and not shutting down (readiness).
func (s *Server) Listening() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln != nil && !s.closing
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	open := len(s.byID)
	s.mu.Unlock()
	return s.stats.snapshot(open)
}

// Shutdown stops accepting connections, waits for requests in flight (until ctx ends), then ends
// every open session with EndShutdown so the handler gets its outstanding tasks back.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.closeFresh()
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	s.baseCancel() // handler calls still running see their session end
	s.reaperOnce.Do(func() { close(s.reaperDone) })
	select {
	case <-s.reaperStop:
	default:
		close(s.reaperStop)
	}
	<-s.reaperDone

	s.mu.Lock()
	var open []*session
	for _, ss := range s.byID {
		if s.detachLocked(ss) {
			open = append(open, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range open {
		ss.cancel()
		if ss.acquire(ctx) {
			s.finish(ss, EndShutdown, true)
			ss.release()
			continue
		}
		// A handler call ignores its cancelled context: end the session when it returns,
		// without holding Shutdown past its deadline.
		s.ending.Add(1)
		go func() {
			defer s.ending.Done()
			s.finish(ss, EndShutdown, false)
		}()
	}
	ended := make(chan struct{})
	go func() {
		s.ending.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("acs: shutdown: sessions still ending: %w", ctx.Err())
		}
	}
	return err
}

// reap ends sessions idle or over their total time (checklist 15). One goroutine scans the table
// a few times per idle period; a session's end runs on its own goroutine because it waits for
// the session's turn and the handler.
func (s *Server) reap() {
	defer close(s.reaperDone)
	every := min(max(s.cfg.IdleTimeout/4, 10*time.Millisecond), 250*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.reaperStop:
			return
		case now := <-t.C:
			var dead []*session
			s.mu.Lock()
			for _, ss := range s.byID {
				if ss.expiredLocked(now) && s.detachLocked(ss) {
					dead = append(dead, ss)
				}
			}
			s.mu.Unlock()
			for _, ss := range dead {
				s.ending.Add(1)
				go func() {
					defer s.ending.Done()
					s.finish(ss, EndTimeout, false)
				}()
			}
		}
	}
}

// detachLocked removes ss from the tables and marks it ended. It returns false when another
// party already did, so exactly one caller runs finish. Caller holds s.mu.
func (s *Server) detachLocked(ss *session) bool {
	if ss.ended {
		return false
	}
	ss.ended = true
	if s.byID[ss.pub.ID] == ss {
		delete(s.byID, ss.pub.ID)
	}
	if s.byDevice[ss.pub.DeviceID] == ss {
		delete(s.byDevice, ss.pub.DeviceID)
	}
	return true
}

// finish ends a detached session: cancels its context, waits for its turn unless the caller holds
// it, and hands the outstanding task back through SessionEnded (checklist 14).
func (s *Server) finish(ss *session, reason EndReason, haveTurn bool) {
	ss.cancel()
	if !haveTurn {
		ss.turn <- struct{}{}
		defer ss.release()
	}
	out := ss.outstanding
	ss.outstanding = nil
	switch {
	case out == nil:
	case reason == EndTimeout:
		// The CPE went silent owing an answer: crashed on the request, or dropped the connection.
		ss.fault = "no answer to " + ss.outMethod + " before the session timed out (the CPE went silent or dropped the connection)"
	case reason == EndSuperseded:
		// It came back with a new Inform instead: it rebooted, or crashed and restarted, on the request.
		ss.fault = "no answer to " + ss.outMethod + ": the CPE opened a new session instead (it rebooted or restarted while running it)"
	}
	// Counted first: whoever the handler tells (a test, a metrics scrape) then sees the count.
	s.stats.countEnd(reason)
	s.h.SessionEnded(context.WithoutCancel(ss.ctx), &ss.pub, out, reason)
	lvl := zap.InfoLevel
	switch reason {
	case EndError, EndLimit:
		lvl = zap.WarnLevel
	case EndRefused: // a registration flood: the handler logs it, rate-limited
		lvl = zap.DebugLevel
	}
	if ce := ss.log.Check(lvl, "session ended"); ce != nil {
		ce.Write(zap.String("reason", string(reason)), zap.Int("rpcs", ss.rpcs),
			zap.Bool("task_returned", out != nil), zap.Duration("duration", time.Since(ss.pub.Started)))
	}
	if ss.fault != "" {
		s.reportFault(ss, ss.fault)
	}
}

// end detaches and finishes ss from a request that holds its turn.
func (s *Server) end(ss *session, reason EndReason) {
	s.mu.Lock()
	detached := s.detachLocked(ss)
	s.mu.Unlock()
	if detached {
		s.finish(ss, reason, true)
	}
}

// isEnded reports whether ss was detached (superseded, reaped, shut down) meanwhile.
func (s *Server) isEnded(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ss.ended
}
