package bridge

import (
	"sort"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
)

// Observer receives the bridge's countable moments; the admin listener turns them into metrics
// and the status page's recent events. Calls come from session, MQTT and timer goroutines,
// outside the bridge lock: an Observer must be quick and must not call back into the bridge.
type Observer interface {
	// Inform is one accepted Inform with its event codes ("1 BOOT", "2 PERIODIC" …).
	Inform(device string, events []string)
	// RequestDone is a platform request's terminal result (every status but accepted). method
	// is the CWMP method, or set/get; took runs from acceptance, zero for a request rejected
	// before it was queued.
	RequestDone(device, method, status string, took time.Duration)
	// Event is a bridge event as published on B/bridge/event.
	Event(e api.BridgeEvent)
}

type nopObserver struct{}

func (nopObserver) Inform(string, []string)                           {}
func (nopObserver) RequestDone(string, string, string, time.Duration) {}
func (nopObserver) Event(api.BridgeEvent)                             {}

// DeviceStatus is one device as the admin status page shows it: the B/bridge/devices summary
// plus what only the gateway knows.
type DeviceStatus struct {
	api.DeviceSummary
	Queue     int  // queued and in-flight requests
	InSession bool // a CWMP session is open
}

// DeviceStatuses lists the known devices, sorted by id.
func (b *Bridge) DeviceStatuses() []DeviceStatus {
	b.mu.Lock()
	list := make([]DeviceStatus, 0, len(b.devices))
	for _, d := range b.devices {
		list = append(list, DeviceStatus{DeviceSummary: d.rec.Summary(), Queue: b.tasks.Len(d.rec.ID), InSession: d.inSession != ""})
	}
	b.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return list
}
