package soap

import (
	"strconv"
	"strings"
)

// EventKind is a standard Inform EventCode by its number (TR-069 §3.7.1.5, Table 7): the one
// type the ACS, the bridge and the MQTT API match codes with. CPEs spell the text part loosely
// ("7 TRANSFER_COMPLETE", "1 boot"), so codes are matched by number, never by their text
// (checklist 29–30).
type EventKind int

const (
	EventBootstrap                       EventKind = 0  // 0 BOOTSTRAP
	EventBoot                            EventKind = 1  // 1 BOOT
	EventPeriodic                        EventKind = 2  // 2 PERIODIC
	EventScheduled                       EventKind = 3  // 3 SCHEDULED
	EventValueChange                     EventKind = 4  // 4 VALUE CHANGE
	EventKicked                          EventKind = 5  // 5 KICKED
	EventConnectionRequest               EventKind = 6  // 6 CONNECTION REQUEST
	EventTransferComplete                EventKind = 7  // 7 TRANSFER COMPLETE
	EventDiagnosticsComplete             EventKind = 8  // 8 DIAGNOSTICS COMPLETE
	EventRequestDownload                 EventKind = 9  // 9 REQUEST DOWNLOAD
	EventAutonomousTransferComplete      EventKind = 10 // 10 AUTONOMOUS TRANSFER COMPLETE
	EventDUStateChangeComplete           EventKind = 11 // 11 DU STATE CHANGE COMPLETE
	EventAutonomousDUStateChangeComplete EventKind = 12 // 12 AUTONOMOUS DU STATE CHANGE COMPLETE
	EventWakeup                          EventKind = 13 // 13 WAKEUP
	EventHeartbeat                       EventKind = 14 // 14 HEARTBEAT

	// EventMethod is "M <method>" (a method the ACS asked for completed, e.g. "M Reboot").
	EventMethod EventKind = -1
	// EventVendor is "X <OUI> <event>".
	EventVendor EventKind = -2
	// EventUnknown is any other code; the code is kept verbatim.
	EventUnknown EventKind = -3
)

// NumberedEvents is how many standard codes there are (0 … 14).
const NumberedEvents = 15

// Kind classifies the event's code.
func (e Event) Kind() EventKind {
	code := strings.TrimSpace(e.Code)
	switch {
	case strings.HasPrefix(code, "M "):
		return EventMethod
	case strings.HasPrefix(code, "X "):
		return EventVendor
	}
	num, _, _ := strings.Cut(code, " ")
	if n, err := strconv.Atoi(num); err == nil && n >= 0 && n < NumberedEvents {
		return EventKind(n)
	}
	return EventUnknown
}

// HasEvent reports whether an Inform's events hold one of kind k.
func HasEvent(evs []Event, k EventKind) bool {
	for _, e := range evs {
		if e.Kind() == k {
			return true
		}
	}
	return false
}
