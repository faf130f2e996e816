package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"go.uber.org/zap"
)

// After a busy spell (a registration wave, a restart's republication, a subscriber reading the
// fleet) the Go heap keeps the size the spell grew it to: the collector's goal is twice the live
// heap of its last cycle, the scavenger gives back only what lies beyond that goal, and an idle
// gateway allocates too little to run a cycle before the runtime's forced one every two minutes.
// At 100,000 devices that left 400–440 MiB of anonymous memory after a registration wave, with
// 125–190 MB live (docs/performance.md). So once the process turns quiet after being busy, the
// gateway collects and returns the free heap to the OS (debug.FreeOSMemory): one collection per
// spell, 0.1–0.3 s of CPU at 125 MB live. A steady load never turns quiet and is left alone;
// there the heap cycles between the live size and the goal, as the collector wants.

const (
	// heapTrimQuietLooks: quiet (under procsLow cores) for this many looks (procsEvery) in a
	// row after a busy one (over procsHigh).
	heapTrimQuietLooks = procsQuietLooks
	// heapTrimMinGap: at most one trim in this time, whatever the load does.
	heapTrimMinGap = time.Minute
	// heapTrimWorth: a trim only when the heap holds at least this much beyond the live heap.
	heapTrimWorth = 32 << 20
)

// heapTrimmer is the rule: whether to trim at this look, from the cores used in the last one.
type heapTrimmer struct {
	busy  bool // a busy look since the last trim
	quiet quietStretch
	last  time.Time
}

func (t *heapTrimmer) next(cores float64, now time.Time) bool {
	if t.quiet.add(cores) {
		t.busy = true
	}
	if !t.busy || t.quiet < heapTrimQuietLooks || now.Sub(t.last) < heapTrimMinGap {
		return false
	}
	t.busy, t.last = false, now
	return true
}

// heapHeld is the heap memory the process holds (objects, dead or alive, the unused parts of
// their spans, free spans not yet returned) and the live heap as of the last collection.
func heapHeld() (held, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	for _, x := range s[:3] {
		held += x.Value.Uint64()
	}
	return held, s[3].Value.Uint64()
}

// trimHeapAfterBusy runs the rule until the returned function is called.
func trimHeapAfterBusy(ctx context.Context, log *zap.Logger) (stop func()) {
	t := &heapTrimmer{}
	return goWatchLoad(ctx, func(cores float64, now time.Time) {
		if t.next(cores, now) {
			trimHeap(log)
		}
	})
}

// trimHeap collects and returns the free heap to the OS when that is worth it.
func trimHeap(log *zap.Logger) {
	held, live := heapHeld()
	if held < live+heapTrimWorth {
		return
	}
	start := time.Now()
	debug.FreeOSMemory()
	after, live := heapHeld()
	log.Info("heap returned to the OS after a busy spell", zap.Uint64("held_before", held), zap.Uint64("held_after", after),
		zap.Uint64("live", live), zap.Duration("took", time.Since(start)))
}
