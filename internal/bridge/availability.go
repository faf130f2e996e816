package bridge

import (
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"go.uber.org/zap"
)

// offlineReason is the reason of a B/D/availability "offline" for a device that went quiet
// (docs/mqtt-api.md shows it).
const offlineReason = "no session for availability.factor × PeriodicInformInterval"

// sweepAvailability marks devices offline whose last session is too old.
func (b *Bridge) sweepAvailability(now time.Time) {
	var gone []string
	b.mu.Lock()
	for _, d := range b.popDueLocked(dueAvailability, now) { // deadlines.go: only the devices due
		r, id := &d.rec, d.rec.ID
		if r.Online && d.inSession != "" {
			b.armLocked(d, dueAvailability, now.Add(time.Second)) // the session ends soon: look again
			continue
		}
		if until := r.LastInform.Add(b.avail.OfflineAfter(r)); r.Online && !now.After(until) {
			b.armLocked(d, dueAvailability, until.Add(time.Nanosecond))
			continue
		}
		if r.Online {
			r.Online = false
			b.reg.SetOnline(id, false)
			b.markDirtyLocked(d)
			gone = append(gone, id)
		}
	}
	b.mu.Unlock()
	for _, id := range gone {
		b.log.Info("device offline", zap.String("device", id))
		b.to(nil).put(b.out.Availability(id, false, now, offlineReason))
		b.emitInfo(nil, id)
		b.emitBridgeEvent(nil, api.BridgeDeviceOffline, id, "no session within availability.factor × PeriodicInformInterval")
	}
}
