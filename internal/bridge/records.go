package bridge

import (
	"encoding/json"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
)

// deviceRecord is what the registry stores of a device.
type deviceRecord struct {
	ID              string    `json:"id"`
	Manufacturer    string    `json:"manufacturer"`
	OUI             string    `json:"oui"`
	ProductClass    string    `json:"product_class"`
	SerialNumber    string    `json:"serial"`
	ModelName       string    `json:"model,omitempty"`
	SoftwareVersion string    `json:"firmware,omitempty"`
	HardwareVersion string    `json:"hardware,omitempty"`
	Root            string    `json:"root,omitempty"` // "InternetGatewayDevice." or "Device."
	RemoteAddr      string    `json:"remote_addr,omitempty"`
	Registered      time.Time `json:"registered"`
	LastInform      time.Time `json:"last_inform"`
	// Connection request target (TR-069 §3.2.2, Annex G).
	ConnReqURL  string `json:"connreq_url,omitempty"`
	ConnReqUDP  string `json:"connreq_udp,omitempty"`
	ConnReqUser string `json:"connreq_user,omitempty"`
	ConnReqPass string `json:"connreq_pass,omitempty"`
	// Pending credentials: set on the CPE by a provisioning task, active once it succeeds.
	PendingUser string `json:"pending_user,omitempty"`
	PendingPass string `json:"pending_pass,omitempty"`
	// PeriodicInterval is the CPE's PeriodicInformInterval in seconds, 0 while unknown.
	PeriodicInterval int64 `json:"periodic_interval,omitempty"`
	Online           bool  `json:"online"`
	// Params holds the last known raw values (from Informs and GetParameterValues results). It
	// is stored apart (bucket "params") and written only when a value changed: a periodic Inform
	// then rewrites a small record, not hundreds of parameters.
	Params map[string]paramValue `json:"-"`
	// State is the JSON of the last normalized state, stored apart (bucket "state") when not
	// nil; StateSum identifies it (FNV-64a), so an unchanged state is not written again.
	State    []byte `json:"-"`
	StateSum uint64 `json:"state_sum,omitempty"`
	// Translator is the name of the translator chosen for the device.
	Translator string `json:"translator,omitempty"`
	// Transfers are transfers the CPE accepted with Status 1, awaiting their TransferComplete.
	Transfers []pendingTransfer `json:"transfers,omitempty"`
	// Quirks are behaviours learned from the CPE itself (quirkOneNamePerGPV), kept so later
	// sessions and restarts do not learn them again at the device's expense.
	Quirks []string `json:"quirks,omitempty"`
	// CRNoSession is when the CPE answered a connection request 2xx and then opened no session
	// within cwmp.connreq.session_wait: until its next Inform it gets no further connection
	// request, since a CPE that only restarts its periodic timer on one would be postponed for ever.
	CRNoSession time.Time `json:"connreq_no_session,omitzero"`
	// Interview is the last interview; its names are stored per model (bucket "models").
	Interview *api.Interview `json:"interview,omitempty"`
	// Poisoned fingerprints the gateway's own requests the CPE dropped the session on until
	// tasks.max_attempts (poison.go): not queued again, so a BOOT does not restart a crash loop.
	Poisoned []string `json:"poisoned,omitempty"`
}

// pendingTransfer is a Download/Upload answered with Status 1 (checklist 41).
type pendingTransfer struct {
	CommandKey string    `json:"command_key"`
	Method     string    `json:"method"`
	RequestID  string    `json:"request_id,omitempty"`
	Since      time.Time `json:"since"`
}

// paramValue is one raw CWMP value.
type paramValue struct {
	Value string `json:"v"`
	Type  string `json:"t,omitempty"`
}

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
