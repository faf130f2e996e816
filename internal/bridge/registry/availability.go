package registry

import (
	"math"
	"time"
)

// Availability is the rule that turns a device offline (availability.*).
type Availability struct {
	Factor float64       // availability.factor
	Floor  time.Duration // availability.floor
	// DefaultInterval is assumed for a device whose PeriodicInformInterval is not known yet.
	DefaultInterval time.Duration
}

// OfflineAfter is how long a device may go without a session before it is offline:
// Factor × PeriodicInformInterval, never less than Floor.
func (a Availability) OfflineAfter(r *Record) time.Duration {
	interval := a.DefaultInterval
	if r.PeriodicInterval > 0 {
		interval = time.Duration(r.PeriodicInterval) * time.Second
	}
	d := time.Duration(math.Round(float64(interval) * a.Factor))
	if d < a.Floor {
		d = a.Floor
	}
	return d
}
