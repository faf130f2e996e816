package bridge

import (
	"errors"
	"fmt"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/taskq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"go.uber.org/zap"
)

// Connection-request policy (TR-069 §3.2.2). A CR must never starve a device:
//   - a CPE that answers 2xx but opens no session within Options.SessionWait gets no further CR
//     before its next Inform (seen on a real client that only restarts its periodic timer on a
//     CR: re-sending one every minute postponed its periodic Inform for ever);
//   - a busy (503) or timed-out CR is retried with back-off, honouring Retry-After, for as long
//     as a request waits;
//   - any other failure is retried every Options.RewakeEvery while requests wait.

// wakeState is what the bridge knows of a device's recent connection requests (in memory;
// the CRNoSession mark is in the device record). Most devices never get a CR, and a session
// ends the history: a device holds one (device.wake) only from a CR's outcome to its next
// Inform. wakeOf reads it, wakeFor makes it to write.
type wakeState struct {
	acceptedAt time.Time // a CR answered 2xx whose session has not come yet; zero when none
	retryAt    time.Time // back-off after busy/timeout: no CR before it
	busy       int       // consecutive busy or timed-out CRs
	lastErr    string    // the last failed CR, for the requests' reasons
}

// noWake is the state of a device without CR history: read through wakeOf, never written.
var noWake wakeState

// wakeOf is the device's CR history to read (noWake when it has none).
func (d *device) wakeOf() *wakeState {
	if d.wake == nil {
		return &noWake
	}
	return d.wake
}

// wakeFor is the device's CR history to change, made when it has none.
func (d *device) wakeFor() *wakeState {
	if d.wake == nil {
		d.wake = &wakeState{}
	}
	return d.wake
}

// maxWakeBackoff caps the wait between CRs to a busy CPE without Retry-After.
const maxWakeBackoff = time.Minute

// wakeInformedLocked forgets the CR history once the device opened a session: whatever it did
// before, it came.
func (d *device) wakeInformedLocked() {
	d.wake = nil
	if !d.rec.CRNoSession.IsZero() {
		d.rec.CRNoSession = time.Time{}
		d.dirty = true
	}
}

// noWakeLocked says why no CR may be sent to the device now ("" when one may).
func (b *Bridge) noWakeLocked(d *device, now time.Time) string {
	switch {
	case !d.rec.CRNoSession.IsZero():
		return fmt.Sprintf("the device answered a connection request at %s but opened no session within cwmp.connreq.session_wait (%s): "+
			"no connection request is sent to it before its next Inform, and the request waits for it%s",
			d.rec.CRNoSession.UTC().Format(time.RFC3339), b.opts.SessionWait, b.nextInformLocked(d))
	case !d.wakeOf().acceptedAt.IsZero():
		return "" // one was accepted just now: its session is on the way, wakeLocked sends none
	case now.Before(d.wakeOf().retryAt):
		return fmt.Sprintf("at the last connection request the device %s; the next one is sent at %s",
			d.wake.lastErr, d.wake.retryAt.UTC().Format(time.RFC3339))
	}
	return ""
}

// nextInformLocked tells when the device's periodic Inform is due, when its interval is known.
func (b *Bridge) nextInformLocked(d *device) string {
	if d.rec.PeriodicInterval <= 0 || d.rec.LastInform.IsZero() {
		return ""
	}
	next := d.rec.LastInform.Add(time.Duration(d.rec.PeriodicInterval) * time.Second)
	return fmt.Sprintf(" (periodic Inform every %d s, next due about %s)", d.rec.PeriodicInterval, next.UTC().Format(time.RFC3339))
}

// mayWakeLocked: no CR is awaiting its session, none led to no session, no back-off runs.
func (b *Bridge) mayWakeLocked(d *device) bool {
	return d.wakeOf().acceptedAt.IsZero() && b.noWakeLocked(d, b.opts.Now()) == ""
}

// rewakeDueLocked reports whether the sweeper may send a CR now to a device with waiting
// requests: never while a CR's session is awaited or after a CR that led to none, at the end of
// a busy back-off, else every RewakeEvery.
func (b *Bridge) rewakeDueLocked(d *device, now time.Time) bool {
	if !b.mayWakeLocked(d) {
		return false
	}
	if !d.wakeOf().retryAt.IsZero() {
		return true
	}
	return now.Sub(d.lastWake) >= b.opts.RewakeEvery
}

// wakeResultLocked records a CR's outcome; final reports a failure that ends the requests that
// cannot wait (`offline`), as opposed to success or a busy/timed-out CPE that is asked again.
func (b *Bridge) wakeResultLocked(d *device, err error) (final bool) {
	now := b.opts.Now()
	w := d.wakeFor()
	if err == nil {
		w.busy, w.retryAt, w.lastErr = 0, time.Time{}, ""
		if d.inSession == "" && !d.rec.LastInform.After(d.lastWake) {
			w.acceptedAt = now
		}
		if *w == (wakeState{}) {
			d.wake = nil
		}
		return false
	}
	w.lastErr = wakeErrorText(err)
	if !retryableWake(err) {
		w.busy, w.retryAt = 0, time.Time{}
		return true
	}
	w.busy++
	wait := retryAfter(err)
	if wait <= 0 {
		wait = min(time.Second<<min(w.busy-1, 10), maxWakeBackoff)
	}
	w.retryAt = now.Add(wait)
	b.log.Info("connection request to be retried", zap.String("device", d.rec.ID), zap.Error(err),
		zap.Int("attempt", w.busy), zap.Duration("retry_in", wait))
	return false
}

// sweepWakeLocked marks a device whose accepted CR led to no session within SessionWait.
func (b *Bridge) sweepWakeLocked(d *device, now time.Time) {
	if d.wakeOf().acceptedAt.IsZero() || d.inSession != "" || now.Sub(d.wake.acceptedAt) < b.opts.SessionWait {
		return
	}
	d.rec.CRNoSession = d.wake.acceptedAt
	d.wake.acceptedAt = time.Time{}
	if *d.wake == (wakeState{}) {
		d.wake = nil
	}
	b.markDirtyLocked(d)
	b.log.Warn("device accepted the connection request but opened no session; no further connection request before its next Inform",
		zap.String("device", d.rec.ID), zap.Duration("session_wait", b.opts.SessionWait))
}

// retryableWake: a busy CPE, or one that did not answer in time, is asked again later.
func retryableWake(err error) bool {
	return errors.Is(err, connreq.ErrBusy) || errors.Is(err, connreq.ErrTimeout)
}

// retryAfter is the CPE's Retry-After carried by a busy error, 0 when none.
func retryAfter(err error) time.Duration {
	d, _ := connreq.RetryAfter(err)
	return d
}

// wakeErrorText words a CR failure for a request's reason, as what "the device" did.
func wakeErrorText(err error) string {
	switch {
	case errors.Is(err, connreq.ErrBusy):
		return "answered busy (HTTP 503)"
	case errors.Is(err, connreq.ErrTimeout):
		return "did not answer in time (cwmp.connreq.timeout)"
	}
	return "could not be woken: " + err.Error()
}

// notSentLocked is the terminal status and reason of a request whose expires passed while it
// waited in the queue: what really happened, never "no session" when there was one.
func (b *Bridge) notSentLocked(d *device, t *taskRecord) (status taskq.State, reason string) {
	if p := b.tasks.Progress(t); taskq.ExpiredState(p) == taskq.Timeout {
		return taskq.Timeout, fmt.Sprintf("sent %s; the CPE dropped the session %s while running it and opened no new session before the request's expires; "+
			"it may or may not have been applied", times(p.Attempts), times(p.Drops))
	}
	within := fmt.Sprintf("not sent within its expires (%s)", t.Expires.Sub(t.Accepted).Round(time.Millisecond))
	if t.NoWait {
		within = fmt.Sprintf("not sent within tasks.wake_grace (%s; the request gave no expires)", t.Expires.Sub(t.Accepted).Round(time.Millisecond))
	}
	switch {
	case d.rec.LastInform.After(t.Accepted):
		return taskq.Expired, within + fmt.Sprintf(": the device opened a session at %s, but the request was not reached in it (requests ahead of it, or cwmp.session.max_rpcs)",
			d.rec.LastInform.UTC().Format(time.RFC3339))
	case !d.rec.CRNoSession.IsZero():
		return taskq.Expired, within + ": " + b.noWakeLocked(d, b.opts.Now()) + "; no Inform came"
	case !d.wakeOf().acceptedAt.IsZero():
		return taskq.Expired, within + fmt.Sprintf(": the device accepted a connection request at %s but has not opened its session", d.wake.acceptedAt.UTC().Format(time.RFC3339))
	case d.wakeOf().busy > 0:
		return taskq.Expired, within + fmt.Sprintf(": the device opened no session; it was asked %s with back-off and at the last connection request it %s", times(d.wake.busy), d.wake.lastErr)
	case d.wakeOf().lastErr != "":
		return taskq.Expired, within + ": the device opened no session; at the last connection request it " + d.wake.lastErr
	case d.rec.ConnReqURL == "" && d.rec.ConnReqUDP == "":
		return taskq.Expired, within + ": the device opened no session, and it reported no connection-request URL to wake it"
	}
	return taskq.Expired, within + ": the device opened no session"
}
