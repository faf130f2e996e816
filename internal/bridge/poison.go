package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/taskq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"go.uber.org/zap"
)

// Poison requests: cheap CPE firmware does not fault on a request it cannot handle, it crashes
// or drops the connection. A request sent in a session the CPE drops is sent again at most up to
// Options.MaxAttempts sends (taskq.Progress Attempts, Drops: stored), then ends `timeout` saying so.
// The gateway's own requests that used up their attempts are remembered per device (stored, at
// most maxPoisoned) and not queued again at its next BOOT, which would crash-loop it; a new
// firmware forgets them.

// maxPoisoned bounds the remembered poison requests of one device (oldest forgotten first).
const maxPoisoned = 32

// fingerprint identifies a gateway request by method and arguments.
func fingerprint(method string, args []byte) string {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(args)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// poisonedLocked reports whether the CPE died on this gateway request before.
func (d *device) poisonedLocked(method string, args []byte) bool {
	return len(d.rec.Poisoned) > 0 && slices.Contains(d.rec.Poisoned, fingerprint(method, args))
}

// rememberPoisonLocked records a spent gateway request so it is not queued again.
func (b *Bridge) rememberPoisonLocked(t *taskRecord) {
	d := b.devices[t.Device]
	if d == nil || t.Origin != originProvision {
		return
	}
	fp := fingerprint(t.Method, t.Args)
	if slices.Contains(d.rec.Poisoned, fp) {
		return
	}
	if len(d.rec.Poisoned) >= maxPoisoned {
		d.rec.Poisoned = d.rec.Poisoned[1:]
	}
	d.rec.Poisoned = append(d.rec.Poisoned, fp)
	b.markDirtyLocked(d)
	b.log.Warn("gateway request not queued again for this device: the CPE dropped the session on it every time",
		zap.String("device", t.Device), zap.String("purpose", t.Purpose), zap.String("method", t.Method))
}

// spentReason is the terminal reason of a request that used up tasks.max_attempts.
func (b *Bridge) spentReason(t *taskRecord, p taskq.Progress, end acs.EndReason) string {
	if p.Drops == 0 {
		return fmt.Sprintf("the gateway stopped while the CPE was running %s; sent %s already (tasks.max_attempts %d), so it is not sent again; "+
			"it may or may not have been applied", t.Method, times(p.Attempts), b.opts.MaxAttempts)
	}
	return fmt.Sprintf("the CPE dropped the session %s while running %s (last: %s); sent %s (tasks.max_attempts %d), it is not sent again, "+
		"since the request itself may be what breaks the CPE; it may or may not have been applied",
		times(p.Drops), t.Method, endWords(end), times(p.Attempts), b.opts.MaxAttempts)
}

// endWords says how a session ended, for the CPE's side of it.
func endWords(r acs.EndReason) string {
	switch r {
	case acs.EndSuperseded:
		return "the CPE opened a new session instead of answering"
	case acs.EndTimeout:
		return "the CPE went silent past cwmp.session.idle_timeout"
	case acs.EndError:
		return "the connection broke"
	}
	return string(r)
}

// droppedTimeoutReason: sent, the session dropped, and the timeout (from the first send) ran out
// before a new session.
func droppedTimeoutReason(t *taskRecord, p taskq.Progress) string {
	return fmt.Sprintf("no answer within the request's timeout (%s, counted from the first send): sent %s, the CPE dropped the session %s",
		t.Timeout, times(p.Attempts), times(p.Drops))
}

// inflightTimeoutReason: sent, and no answer within the timeout.
func inflightTimeoutReason(t *taskRecord, p taskq.Progress) string {
	r := fmt.Sprintf("sent to the device, but no answer within the request's timeout (%s)", t.Timeout)
	if p.Attempts > 1 {
		r += fmt.Sprintf(", counted from the first send: sent %s, the CPE dropped the session %s before", times(p.Attempts), times(p.Drops))
	}
	return r
}

// times words a count: "once", "2 times".
func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
