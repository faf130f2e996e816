package bridge

import (
	"sync"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/bridge/api"
	"go.uber.org/zap"
)

// auth_failed is rate-limited: an attacker's failures must not flood the platform nor the
// outbox. A token bucket allows authEventBurst at once and authEventsPerSecond after; the
// failures left out are counted into the next event's count.
const (
	authEventsPerSecond = 5
	authEventBurst      = 20
)

type authEventLimiter struct {
	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

// take reports whether an event may go out now and, if so, how many failures it stands for.
func (l *authEventLimiter) take(now time.Time) (ok bool, count int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = authEventBurst
	} else {
		l.tokens = min(authEventBurst, l.tokens+now.Sub(l.last).Seconds()*authEventsPerSecond)
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	count, l.suppressed = 1+l.suppressed, 0
	return true, count
}

// AuthFailed publishes auth_failed for a refused CPE request: the device it claimed (when
// known), the user name it claimed, its address and the reason. Rate-limited (see
// authEventLimiter); the ACS logs every failure anyway.
func (b *Bridge) AuthFailed(device, user, remote, reason string) {
	ok, count := b.authEvents.take(b.opts.Now())
	if !ok {
		return
	}
	ev := api.BridgeEvent{Event: api.BridgeAuthFailed, Device: device, User: user, Remote: remote,
		Reason: reason, Time: b.opts.Now().UTC()}
	if count > 1 {
		ev.Count = count
	}
	b.publishJSON(b.topic("bridge", "event"), ev, false)
	if count > 1 {
		b.log.Warn("auth_failed events were rate-limited", zap.Int("failures", count))
	}
}
