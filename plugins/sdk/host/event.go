package host

import "time"

// EventKind names a supervisor event; bridge publishes them on B/bridge/event (docs/design.md §3).
type EventKind string

const (
	// EventFailed: a plugin process crashed, hung, failed to start or broke the handshake.
	EventFailed EventKind = "plugin_failed"
	// EventRestarted: a plugin process runs again after a failure.
	EventRestarted EventKind = "plugin_restarted"
	// EventGaveUp: the crash-loop cap was reached (or the plugin describes itself invalidly);
	// the plugin stays down until the gateway restarts.
	EventGaveUp EventKind = "plugin_gave_up"
)

// Event is passed to the events callback of New. The callback runs on the plugin's supervisor
// goroutine and must not block.
type Event struct {
	Kind   EventKind
	Plugin string
	Reason string
	// Attempt counts consecutive failures: 1 for the first plugin_failed, and for
	// plugin_restarted the number of failures that preceded the successful start.
	Attempt int
	Time    time.Time
}
