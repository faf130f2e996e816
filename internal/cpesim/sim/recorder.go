package sim

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
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
	// Quirk is the quirk that shaped the answer ("" none): the short GPV, the malformed Reboot
	// response, the undeclared fault prefix, the ignored NextLevel, or the crash.
	Quirk Quirk
	// Crashed: the CPE did not answer; it dropped the connection (QuirkCrashOnUnknownName).
	Crashed bool
}

// Named reports whether the request named name (a parameter, partial path or object).
func (e RPCEvent) Named(name string) bool { return slices.Contains(e.Names, name) }

// CREvent describes one connection request that reached a CPE's endpoint, past the Digest
// challenge (the unauthenticated first try of each request is not reported).
type CREvent struct {
	Serial string
	// Status is the HTTP status answered: 200, 503 busy; 0 when the connection was dropped
	// (muted, or down after a crash).
	Status int
	// Quirk is the quirk that shaped the answer: QuirkCRNoSession (200, no session),
	// QuirkBusyAfterReset (503), QuirkCrashOnUnknownName (dropped while down); "" none.
	Quirk Quirk
}

// Hooks are called by a CPE as things happen, from the CPE's goroutines; they must not block.
type Hooks struct {
	OnSession func(SessionResult)
	OnRPC     func(RPCEvent)
	OnCR      func(CREvent)
}

// Recorder keeps every session and RPC of the CPEs it is hooked to and lets tests wait for one,
// with no sleeps. Use its Hooks in Config (or FleetConfig).
type Recorder struct {
	mu       sync.Mutex
	sessions []SessionResult
	rpcs     []RPCEvent
	crs      []CREvent
	changed  chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// Hooks returns hooks that record into r.
func (r *Recorder) Hooks() Hooks {
	return Hooks{
		OnSession: func(s SessionResult) { r.add(func() { r.sessions = append(r.sessions, s) }) },
		OnRPC:     func(e RPCEvent) { r.add(func() { r.rpcs = append(r.rpcs, e) }) },
		OnCR:      func(e CREvent) { r.add(func() { r.crs = append(r.crs, e) }) },
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
type Mark struct{ sessions, rpcs, crs int }

// Mark returns the current end of the history.
func (r *Recorder) Mark() Mark {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Mark{len(r.sessions), len(r.rpcs), len(r.crs)}
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

// CRs returns a copy of every recorded connection request.
func (r *Recorder) CRs() []CREvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]CREvent(nil), r.crs...)
}

// CountRPCs counts the RPCs recorded after since that match (nil matches all).
func (r *Recorder) CountRPCs(since Mark, match func(RPCEvent) bool) int {
	return count(r, &r.rpcs, since.rpcs, match)
}

// Received counts the requests recorded after since that CPE serial ("": any) received for
// method ("": any) naming name ("": any), crashed on or not: how many times the ACS sent it.
func (r *Recorder) Received(since Mark, serial, method, name string) int {
	return r.CountRPCs(since, func(e RPCEvent) bool {
		return (serial == "" || e.Serial == serial) && (method == "" || e.Method == method) && (name == "" || e.Named(name))
	})
}

// Crashes counts the crashes of CPE serial ("": any) recorded after since.
func (r *Recorder) Crashes(since Mark, serial string) int {
	return r.CountRPCs(since, func(e RPCEvent) bool { return e.Crashed && (serial == "" || e.Serial == serial) })
}

// CountCRs counts the connection requests recorded after since that match (nil matches all).
func (r *Recorder) CountCRs(since Mark, match func(CREvent) bool) int {
	return count(r, &r.crs, since.crs, match)
}

// CountSessions counts the sessions recorded after since that match (nil matches all).
func (r *Recorder) CountSessions(since Mark, match func(SessionResult) bool) int {
	return count(r, &r.sessions, since.sessions, match)
}

func count[T any](r *Recorder, items *[]T, from int, match func(T) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, it := range (*items)[min(from, len(*items)):] {
		if match == nil || match(it) {
			n++
		}
	}
	return n
}

// WaitCR waits until a connection request recorded after since matches (nil matches any).
func (r *Recorder) WaitCR(ctx context.Context, since Mark, match func(CREvent) bool) (CREvent, error) {
	return waitFor(ctx, r, &r.crs, since.crs, match)
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
