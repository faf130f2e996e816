package taskq

import (
	"encoding/json"
	"fmt"
	"time"
)

// Task origins: who asked, which decides where the result goes.
const (
	OriginRPC       = "rpc"       // B/D/rpc
	OriginSet       = "set"       // B/D/set, via the translator
	OriginGet       = "get"       // B/D/get, via the translator
	OriginProvision = "provision" // the gateway itself (credentials, interval read, interviews, translator provisioning)
)

// Task is one durable queued request. Its progress (state, sends, drops, deadline) is changed
// only by its Queues, under their lock; the other fields are set before it is queued, except
// Blind, which its owner clears in a Queues.Each callback (under the lock, so Marshal sees it).
type Task struct {
	Seq      uint64          `json:"seq"`
	Device   string          `json:"device"`
	ID       string          `json:"id"` // the platform's request id
	Origin   string          `json:"origin"`
	Method   string          `json:"method"`
	Args     json.RawMessage `json:"args,omitempty"`
	ReplyTo  string          `json:"reply_to,omitempty"`
	Accepted time.Time       `json:"accepted"`
	// Expires: the task must have started by then; zero: never. NoWait: expires was 0, so a
	// failed connection request ends it with `offline`.
	Expires time.Time `json:"expires,omitempty"`
	NoWait  bool      `json:"no_wait,omitempty"`
	// Timeout is the request's "timeout": counted from the first send; past it the result is
	// `timeout`.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Purpose tags the gateway's own tasks ("connreq_credentials", "read_interval", ...).
	Purpose string `json:"purpose,omitempty"`
	// Keys are the normalized keys of a set/get, to render the result in device-model terms.
	Keys []string `json:"keys,omitempty"`
	// Blind: a get/set planned before the device's data model was known.
	Blind bool `json:"blind,omitempty"`
	// Volatile tasks are the gateway's own: never stored, since the next Inform or BOOT derives
	// them again.
	Volatile bool `json:"-"`

	p Progress // guarded by the Queues' lock
}

// Progress is the part of a task its queue changes: read it with Queues.Progress.
type Progress struct {
	State State
	// Attempts counts the sends to the CPE; Drops the sessions the CPE dropped while the task
	// was outstanding. Both are stored, so a restart does not reset tasks.max_attempts.
	Attempts, Drops int
	// Deadline is the first send plus Timeout (zero: none); never moved by a re-send.
	Deadline time.Time
}

func (t *Task) task() *Task { return t }

// Internal reports a gateway task: no result is published for it, and its id is its own.
func (t *Task) Internal() bool { return t.Origin == OriginProvision }

// stored is the task's form in the store, the one earlier versions wrote: "state" is "queued"
// or "inflight", and "ended" marks an in-flight task whose timeout is published (Lapsed).
type stored struct {
	taskFields
	State    string    `json:"state"`
	Ended    bool      `json:"ended,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	Drops    int       `json:"drops,omitempty"`
	Deadline time.Time `json:"deadline,omitempty"`
}

// taskFields is Task without its methods (no recursion into MarshalJSON).
type taskFields Task

// MarshalJSON writes the stored form.
func (t *Task) MarshalJSON() ([]byte, error) {
	s := stored{taskFields: taskFields(*t), Attempts: t.p.Attempts, Drops: t.p.Drops, Deadline: t.p.Deadline}
	switch t.p.State {
	case Queued:
		s.State = "queued"
	case Sent:
		s.State = "inflight"
	case Lapsed:
		s.State, s.Ended = "inflight", true
	default:
		return nil, fmt.Errorf("taskq: a %s task is not stored", t.p.State)
	}
	return json.Marshal(&s)
}

// UnmarshalJSON reads the stored form.
func (t *Task) UnmarshalJSON(b []byte) error {
	var s stored
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = Task(s.taskFields)
	t.p = Progress{Attempts: s.Attempts, Drops: s.Drops, Deadline: s.Deadline}
	switch {
	case s.State == "queued":
		t.p.State = Queued
	case s.State == "inflight" && s.Ended:
		t.p.State = Lapsed
	case s.State == "inflight":
		t.p.State = Sent
	default:
		return fmt.Errorf("taskq: unknown stored state %q", s.State)
	}
	return nil
}
