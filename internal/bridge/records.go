package bridge

import (
	"encoding/json"
	"time"
)

// taskState of a queued request.
type taskState string

const (
	taskQueued   taskState = "queued"
	taskInflight taskState = "inflight"
)

// Task origins: who asked, which decides where the result goes.
const (
	originRPC       = "rpc"       // B/D/rpc
	originSet       = "set"       // B/D/set, via the translator
	originGet       = "get"       // B/D/get, via the translator
	originProvision = "provision" // the gateway itself (credentials, translator provisioning)
)

// taskRecord is one durable queued request.
type taskRecord struct {
	Seq      uint64          `json:"seq"`
	Device   string          `json:"device"`
	ID       string          `json:"id"` // the platform's request id
	Origin   string          `json:"origin"`
	Method   string          `json:"method"`
	Args     json.RawMessage `json:"args,omitempty"`
	ReplyTo  string          `json:"reply_to,omitempty"`
	Accepted time.Time       `json:"accepted"`
	// Expires: the task must have started by then; zero: never. NoWait: expires was 0, so a failed
	// connection request ends it with `offline`.
	Expires time.Time `json:"expires,omitempty"`
	NoWait  bool      `json:"no_wait,omitempty"`
	// Timeout is the request's "timeout": counted from when the RPC is sent in a session.
	// Deadline is set then; past it the result is `timeout`.
	Timeout  time.Duration `json:"timeout,omitempty"`
	Deadline time.Time     `json:"deadline,omitempty"`
	State    taskState     `json:"state"`
	// Ended: the terminal result is out (a timeout while in flight); the CPE's late answer is
	// only cleaned up, never published (exactly one terminal result).
	Ended bool `json:"ended,omitempty"`
	// Attempts counts the sends to the CPE; Drops the sessions the CPE dropped while the request
	// was outstanding. Both are stored, so a restart does not reset the tasks.max_attempts cap.
	Attempts int `json:"attempts,omitempty"`
	Drops    int `json:"drops,omitempty"`
	// Purpose tags internal tasks ("connreq_credentials", "read_interval", translator provisioning).
	Purpose string `json:"purpose,omitempty"`
	// Keys are the normalized keys of a set/get, to render the result in device-model terms.
	Keys []string `json:"keys,omitempty"`
	// Blind: a get/set planned before the device's data model was known; its names are checked
	// against the model when it is sent (interview.go).
	Blind bool `json:"blind,omitempty"`
	// volatile tasks are the gateway's own (credentials, interval read, translator
	// provisioning): never stored, since the next Inform or BOOT derives them again.
	volatile bool
	// note is a remark published with the next result (why an accepted request waits, how a
	// short answer was completed); explain is the gateway's explanation of a fault it publishes.
	note, explain string
	// offline is set when the request cannot wait and the device will not be woken: accept ends
	// it `offline` with this reason right after `accepted`.
	offline string
	// run is the in-session progress of a batched GetParameterValues; a broken session starts
	// it over (reading is idempotent).
	run *gpvRun
}
