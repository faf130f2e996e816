package bridge

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"go.uber.org/zap"
)

// auth_failed (and registration_refused) is rate-limited: an attacker's failures must not flood the platform nor the
// outbox. A token bucket allows authEventBurst at once and authEventsPerSecond after; the
// failures left out are counted into the next event's count.
const (
	authEventsPerSecond = 5
	authEventBurst      = 20
)

// tokenBucket is the rate limit shared by auth_failed events and new registrations: burst
// tokens at first, refilled at rate per second. Callers hold their own lock.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take refills the bucket up to now and takes one token; false (tokens left below 1) when
// there is none.
func (t *tokenBucket) take(now time.Time, rate, burst float64) bool {
	if t.last.IsZero() {
		t.tokens = burst
	} else {
		t.tokens = min(burst, t.tokens+now.Sub(t.last).Seconds()*rate)
	}
	t.last = now
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

type authEventLimiter struct {
	mu         sync.Mutex
	bucket     tokenBucket
	suppressed int
}

// take reports whether an event may go out now and, if so, how many failures it stands for.
func (l *authEventLimiter) take(now time.Time) (ok bool, count int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.bucket.take(now, authEventsPerSecond, authEventBurst) {
		l.suppressed++
		return false, 0
	}
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
	b.sendBridgeEvent(nil, ev)
	if count > 1 {
		b.log.Warn("auth_failed events were rate-limited", zap.Int("failures", count))
	}
}

// admitNewLocked decides whether an unknown device may register now (Options.MaxDevices,
// RegistrationRate); nil admits it. Known devices never come here: they keep working whatever
// the bounds. Caller holds b.mu.
func (b *Bridge) admitNewLocked(now time.Time) *acs.BusyError {
	if max := b.opts.MaxDevices; max > 0 && len(b.devices) >= max {
		return &acs.BusyError{RetryAfter: time.Hour, Reason: fmt.Sprintf("the gateway holds cwmp.max_devices (%d) devices: no new device is registered", max)}
	}
	rate := b.opts.RegistrationRate
	if rate <= 0 {
		return nil
	}
	l := &b.registrations
	if !l.take(now, rate, float64(max(b.opts.RegistrationBurst, 1))) {
		wait := time.Duration((1 - l.tokens) / rate * float64(time.Second))
		return &acs.BusyError{RetryAfter: max(wait, time.Second), Reason: fmt.Sprintf("new devices arrive faster than cwmp.registration_rate (%g per second)", rate)}
	}
	return nil
}

// registrationRefused logs and publishes (rate-limited) a refused registration.
func (b *Bridge) registrationRefused(s *acs.Session, busy *acs.BusyError) {
	ok, count := b.refusedEvents.take(b.opts.Now())
	lvl := zap.WarnLevel // with the event: a flood logs as much as it publishes, the rest at debug
	if !ok {
		lvl = zap.DebugLevel
	}
	if ce := b.log.Check(lvl, "registration refused"); ce != nil {
		ce.Write(zap.String("device", s.DeviceID), zap.String("remote", s.RemoteAddr.String()),
			zap.String("reason", busy.Reason), zap.Int("refused", count))
	}
	if !ok {
		return
	}
	ev := api.BridgeEvent{Event: api.BridgeRegistrationRefused, Device: s.DeviceID, Reason: busy.Reason, Time: b.opts.Now().UTC()}
	if s.RemoteAddr.IsValid() {
		ev.Remote = s.RemoteAddr.String()
	}
	if count > 1 {
		ev.Count = count
	}
	b.to(nil).put(b.out.BridgeEvent(ev))
}

// checkReplyTo refuses a reply_to that names one of the gateway's own input topics (Subscriptions):
// the gateway would read its result back as a new request (issue 9: one id got done and two
// rejected).
func (b *Bridge) checkReplyTo(replyTo string) error {
	if replyTo == "" {
		return nil
	}
	for _, filter := range b.Subscriptions() {
		if topicMatches(filter, replyTo) {
			return fmt.Errorf("reply_to: %q is a topic the gateway subscribes to (%s): its results would come back as requests", replyTo, filter)
		}
	}
	return nil
}

// topicMatches reports whether an MQTT topic name matches a filter with + and # wildcards.
func topicMatches(filter, topic string) bool {
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fl {
		if f == "#" {
			return true
		}
		if i >= len(tl) || f != "+" && f != tl[i] {
			return false
		}
	}
	return len(fl) == len(tl)
}
