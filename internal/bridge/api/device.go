package api

import "time"

// State is the retained payload of B/D/state: the translator's normalized view of the device,
// merged with what later RPCs read (docs/design.md §3, §4).
type State struct {
	Device string `json:"device"`
	// Model is the version of the device model the values follow (the translator's
	// ModelVersion, e.g. "1"; "raw" for raw parameters when no translator runs), so a platform
	// can tell a model change from a value change.
	Model      string `json:"model"`
	Translator string `json:"translator"`
	// Stale is true while the translator fails on the latest data: Values are the last good
	// normalization, Error says what failed, and the raw inform still flows.
	Stale   bool           `json:"stale"`
	Error   string         `json:"error,omitempty"`
	Updated time.Time      `json:"updated"`
	Values  map[string]any `json:"values"`
}

// Availability states (B/D/availability and B/bridge/state).
const (
	Online  = "online"
	Offline = "offline"
)

// Availability is the retained payload of B/D/availability. It is an object, like every other
// payload, so it can say since when and why; State is Online or Offline.
type Availability struct {
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Reason says why a device went offline ("no inform for 3 periodic intervals",
	// "removed"); empty when online.
	Reason string `json:"reason,omitempty"`
}

// NewAvailability is the availability payload for online or offline since the given time.
func NewAvailability(online bool, since time.Time) Availability {
	a := Availability{State: Offline, Since: since.UTC()}
	if online {
		a.State = Online
	}
	return a
}
