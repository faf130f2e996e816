package sim

import (
	"context"
	"sync"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/cwmp/soap"
)

// SessionResult describes one finished session attempt.
type SessionResult struct {
	Serial   string
	Events   []soap.Event
	Retry    int      // RetryCount sent in the Inform
	RPCs     []string // ACS requests executed, in order
	Start    time.Time
	Duration time.Duration
	Err      error // nil: the session ended with 204 / empty 200
}

// HasEvent reports whether the session's Inform carried event code (and, if given, command key).
func (s SessionResult) HasEvent(code string, commandKey ...string) bool {
	for _, e := range s.Events {
		if e.Code == code && (len(commandKey) == 0 || e.CommandKey == commandKey[0]) {
			return true
		}
	}
	return false
}

// RPCEvent describes one ACS request a CPE executed.
type RPCEvent struct {
	Serial string
	Method string
	Names  []string    // parameter / object names the request carried
	Fault  *soap.Fault // the fault answered, nil on success
}

// Hooks are called by a CPE as things happen, from the CPE's goroutines; they must not block.
type Hooks struct {
	OnSession func(SessionResult)
	OnRPC     func(RPCEvent)
}

// Recorder keeps every session and RPC of the CPEs it is hooked to and lets tests wait for one,
// with no sleeps. Use its Hooks in Config (or FleetConfig).
type Recorder struct {
	mu       sync.Mutex
	sessions []SessionResult
	rpcs     []RPCEvent
	changed  chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// Hooks returns hooks that record into r.
func (r *Recorder) Hooks() Hooks {
	return Hooks{
		OnSession: func(s SessionResult) { r.add(func() { r.sessions = append(r.sessions, s) }) },
		OnRPC:     func(e RPCEvent) { r.add(func() { r.rpcs = append(r.rpcs, e) }) },
	}
}

func (r *Recorder) add(f func()) {
	r.mu.Lock()
	f()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Mark is a position in a Recorder's history: waits from a Mark see only what came after it.
type Mark struct{ sessions, rpcs int }

// Mark returns the current end of the history.
func (r *Recorder) Mark() Mark {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Mark{len(r.sessions), len(r.rpcs)}
}

// Sessions returns a copy of every recorded session.
func (r *Recorder) Sessions() []SessionResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SessionResult(nil), r.sessions...)
}

// RPCs returns a copy of every recorded RPC.
func (r *Recorder) RPCs() []RPCEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RPCEvent(nil), r.rpcs...)
}

// WaitSession waits until a session recorded after since matches (nil matches any).
func (r *Recorder) WaitSession(ctx context.Context, since Mark, match func(SessionResult) bool) (SessionResult, error) {
	return waitFor(ctx, r, &r.sessions, since.sessions, match)
}

// WaitRPC waits until an RPC recorded after since matches (nil matches any).
func (r *Recorder) WaitRPC(ctx context.Context, since Mark, match func(RPCEvent) bool) (RPCEvent, error) {
	return waitFor(ctx, r, &r.rpcs, since.rpcs, match)
}

// waitFor scans *items (guarded by r.mu) from index from, sleeping on r.changed between appends.
func waitFor[T any](ctx context.Context, r *Recorder, items *[]T, from int, match func(T) bool) (T, error) {
	for i := from; ; {
		r.mu.Lock()
		for ; i < len(*items); i++ {
			if it := (*items)[i]; match == nil || match(it) {
				r.mu.Unlock()
				return it, nil
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}
