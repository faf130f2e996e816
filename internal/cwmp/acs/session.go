package acs

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// session is the server's state of one CWMP session (TR-069 §3.7.1: from the Inform to the
// ACS's 204). Handler calls for it never overlap: a request handles the session only while it
// holds the turn token, and the end of the session (SessionEnded) takes the token too.
type session struct {
	pub    Session
	ctx    context.Context // cancelled when the session ends (superseded, timeout, shutdown)
	cancel context.CancelFunc
	log    *zap.Logger
	turn   chan struct{} // capacity 1; held while one request of the session is processed

	// Guarded by turn.
	outstanding *Task  // the task sent and not yet answered; at most one (Handler contract)
	outID       string // cwmp:ID the ACS sent with it (checklist 25)
	outMethod   string
	rpcs        int    // messages exchanged, CPE requests and tasks (checklist 10)
	fault       string // the protocol error the session ends on, reported as SessionFault

	// Guarded by Server.mu.
	conn     *connState // the connection that opened or last proved the session (its cookie is honoured there)
	ended    bool
	inflight int           // requests of this session being processed: never idle then
	lastSeen time.Time     // end of the last request
	idle     time.Duration // IdleTimeout, or the CPE's SessionTimeout (checklist 15)
	deadline time.Time     // Started + MaxSessionDuration
}

// acquire takes the session's turn token, or gives up when ctx ends first.
func (ss *session) acquire(ctx context.Context) bool {
	select {
	case ss.turn <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (ss *session) release() { <-ss.turn }

// expiredLocked reports whether the reaper must end the session at now. Caller holds Server.mu.
func (ss *session) expiredLocked(now time.Time) bool {
	if now.After(ss.deadline) {
		return true
	}
	return ss.inflight == 0 && now.Sub(ss.lastSeen) > ss.idle
}

// idleFor is the session idle timeout: the CPE's SessionTimeout header when it sent one (CWMP
// 1.2+, capital S — GenieACS matched lower case and ignored it; checklist 15), else the
// configured IdleTimeout; never beyond the total session cap.
func idleFor(cpeSeconds int, cfg *Config) time.Duration {
	if cpeSeconds <= 0 {
		return cfg.IdleTimeout
	}
	d := time.Duration(cpeSeconds) * time.Second
	if d > cfg.MaxSessionDuration {
		d = cfg.MaxSessionDuration
	}
	return d
}
