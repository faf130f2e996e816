package bridge

import (
	"container/heap"
	"time"
)

// Nothing proportional to the fleet per tick: the timers (availability, task expiry, timeouts
// and re-wakes, transfer timeouts) are min-heaps of per-device deadlines, and the write-behind
// flush takes only the devices marked dirty. A tick pops what is due and looks at those devices
// alone; an idle fleet of any size costs nothing.
//
// Entries are lazy: a device has at most one live entry per kind (device.due), and a popped
// entry re-derives the device's real next deadline from its state, so a deadline that moved
// later (a new Inform, a finished task) needs no heap update, only one that may move earlier
// does (armLocked).

// deadlineKind names a heap.
type deadlineKind uint8

const (
	dueAvailability deadlineKind = iota // the device goes offline: LastInform + offlineAfter
	dueTasks                            // a task expires or times out, a re-wake, a CR's session wait
	dueTransfers                        // a transfer accepted with Status 1 times out
	dueKinds
)

// taskPoll is how often a device whose tasks depend on a session or a connection request in
// progress is looked at (the sweep's old tick was 250 ms for every device).
const taskPoll = 250 * time.Millisecond

// deadlineEntry is 16 bytes, one or two per known device: the time as Unix nanoseconds (the
// wall clock, as the deadlines are computed from it) and the device itself.
type deadlineEntry struct {
	at int64
	d  *device
}

// dueAt is at as a deadline entry's time; never 0, which means no entry.
func dueAt(at time.Time) int64 {
	if n := at.UnixNano(); n != 0 {
		return n
	}
	return 1
}

type deadlineHeap []deadlineEntry

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadlineEntry)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// armLocked makes sure the device is looked at by at (b.mu held): a new entry when it has none
// of this kind or its entry is later.
func (b *Bridge) armLocked(d *device, k deadlineKind, at time.Time) {
	n := dueAt(at)
	if cur := d.due[k]; cur != 0 && n >= cur {
		return
	}
	d.due[k] = n
	heap.Push(&b.deadlines[k], deadlineEntry{at: n, d: d})
}

// popDueLocked takes the devices whose entry of kind k is due by now (b.mu held); each is
// disarmed and must be armed again by the caller if it still has a deadline of this kind.
func (b *Bridge) popDueLocked(k deadlineKind, now time.Time) []*device {
	h := &b.deadlines[k]
	var out []*device
	for n := now.UnixNano(); h.Len() > 0 && (*h)[0].at <= n; {
		e := heap.Pop(h).(deadlineEntry)
		d := e.d
		if b.devices[d.rec.ID] != d || d.due[k] != e.at { // removed, or superseded by an earlier entry
			continue
		}
		d.due[k] = 0
		out = append(out, d)
	}
	return out
}

// armAvailabilityLocked watches an online device for its offline deadline.
func (b *Bridge) armAvailabilityLocked(d *device) {
	if d.rec.Online {
		b.armLocked(d, dueAvailability, d.rec.LastInform.Add(b.avail.OfflineAfter(&d.rec)).Add(time.Nanosecond))
	}
}

// armTasksLocked has the device's tasks looked at now (a task was queued, a session began);
// the look computes the real next deadline.
func (b *Bridge) armTasksLocked(d *device) {
	b.armLocked(d, dueTasks, b.opts.Now())
}

// nextTaskCheckLocked is when the device's tasks must be looked at next, zero when never: the
// earliest expiry or timeout, the end of a connection request's session wait, the next re-wake,
// and while a session or a connection request is in progress, taskPoll.
func (b *Bridge) nextTaskCheckLocked(d *device, now time.Time) time.Time {
	var next time.Time
	at := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	due, waiting := b.tasks.NextCheck(d.rec.ID)
	if !due.IsZero() {
		at(due)
	}
	if w := d.wakeOf(); !w.acceptedAt.IsZero() {
		at(w.acceptedAt.Add(b.opts.SessionWait))
	}
	if d.inSession != "" && b.tasks.Len(d.rec.ID) > 0 || d.waking {
		at(now.Add(taskPoll))
	}
	if waiting {
		if !d.wakeOf().retryAt.IsZero() {
			at(now.Add(taskPoll))
		} else {
			at(d.lastWake.Add(b.opts.RewakeEvery))
		}
	}
	// A deadline is passed once now is after it: look just past it, never in the past.
	if !next.IsZero() {
		next = next.Add(time.Nanosecond)
		if next.Before(now) {
			next = now
		}
	}
	return next
}

// nextTransferCheckLocked is just past the earliest transfer timeout, zero without transfers.
func (b *Bridge) nextTransferCheckLocked(d *device) time.Time {
	var next time.Time
	for _, p := range d.rec.Transfers {
		if at := p.Since.Add(b.opts.TransferTimeout); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if next.IsZero() {
		return next
	}
	return next.Add(time.Nanosecond)
}

// armAllLocked arms every device's deadlines after the registry was loaded (once, at start).
func (b *Bridge) armAllLocked() {
	now := b.opts.Now()
	for _, d := range b.devices {
		b.armAvailabilityLocked(d)
		if b.tasks.Len(d.rec.ID) > 0 {
			b.armLocked(d, dueTasks, now)
		}
		if at := b.nextTransferCheckLocked(d); !at.IsZero() {
			b.armLocked(d, dueTransfers, at)
		}
	}
}

// markDirtyLocked queues the device's record for the next write-behind flush (b.mu held).
func (b *Bridge) markDirtyLocked(d *device) {
	d.dirty = true
	b.reg.MarkDirty(d.rec.ID)
}
