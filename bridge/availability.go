package bridge

import (
	"math"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/bridge/api"
	"go.uber.org/zap"
)

// offlineAfter is how long a device may go without a session before it is offline:
// availability.factor × PeriodicInformInterval, never less than availability.floor.
func (b *Bridge) offlineAfter(r *deviceRecord) time.Duration {
	interval := b.opts.DefaultInterval
	if r.PeriodicInterval > 0 {
		interval = time.Duration(r.PeriodicInterval) * time.Second
	}
	d := time.Duration(math.Round(float64(interval) * b.opts.AvailabilityFactor))
	if d < b.opts.AvailabilityFloor {
		d = b.opts.AvailabilityFloor
	}
	return d
}

// sweepAvailability marks devices offline whose last session is too old.
func (b *Bridge) sweepAvailability(now time.Time) {
	var gone []string
	b.mu.Lock()
	for id, d := range b.devices {
		r := &d.rec
		if r.Online && d.inSession == "" && now.Sub(r.LastInform) > b.offlineAfter(r) {
			r.Online = false
			b.online--
			d.dirty = true
			b.listDirty = true
			gone = append(gone, id)
		}
	}
	b.mu.Unlock()
	for _, id := range gone {
		b.log.Info("device offline", zap.String("device", id))
		b.publishAvailability(nil, id, false, now, "no session for availability.factor × PeriodicInformInterval")
		b.emitInfo(nil, id)
		b.publishBridgeEvent(api.BridgeDeviceOffline, id, "no session within availability.factor × PeriodicInformInterval")
	}
}
