package admin

import (
	"sync"
	"time"
)

// Event is one line of the status page's recent events.
type Event struct {
	Time   time.Time
	Kind   string // a bridge event (device_online …), "inform" (boots), "request timeout" …
	Device string
	Detail string
}

// ring keeps the last n events.
type ring struct {
	mu   sync.Mutex
	buf  []Event
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]Event, n)} }

func (r *ring) add(e Event) {
	r.mu.Lock()
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
	r.mu.Unlock()
}

// list returns the events newest first.
func (r *ring) list() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]Event, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}
