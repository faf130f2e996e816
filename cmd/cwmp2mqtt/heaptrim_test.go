package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// The heap is trimmed once per busy spell, after a quiet stretch: not while busy, not while a
// load sits between the marks, not again until the next spell, and not twice within
// heapTrimMinGap.
func TestHeapTrimmedOnceAfterEachBusySpell(t *testing.T) {
	tr := &heapTrimmer{}
	at := time.Now()
	looks := func(cores float64, n int) (trims int) {
		for range n {
			at = at.Add(procsEvery)
			if tr.next(cores, at) {
				trims++
			}
		}
		return trims
	}
	if n := looks(0.01, 100); n != 0 {
		t.Fatalf("never busy: %d trims, want none", n)
	}
	looks(0.5, 5)
	if n := looks(0.01, heapTrimQuietLooks-1); n != 0 {
		t.Fatalf("%d trims before %d quiet looks", n, heapTrimQuietLooks)
	}
	if n := looks(0.01, 1); n != 1 {
		t.Fatalf("after %d quiet looks: %d trims, want 1", heapTrimQuietLooks, n)
	}
	if n := looks(0.01, 300); n != 0 {
		t.Errorf("quiet for 5 minutes after the trim: %d more, want none", n)
	}
	// A load between the marks breaks the quiet stretch; it is no spell either.
	looks(0.5, 1)
	looks(0.01, heapTrimQuietLooks-1)
	looks((procsLow+procsHigh)/2, 1)
	if n := looks(0.01, heapTrimQuietLooks-1); n != 0 {
		t.Errorf("quiet stretch broken by a look between the marks: %d trims before %d quiet looks in a row", n, heapTrimQuietLooks)
	}
	if n := looks(0.01, 1); n != 1 {
		t.Errorf("then %d quiet looks in a row: %d trims, want 1", heapTrimQuietLooks, n)
	}
	// Two spells within heapTrimMinGap: the second waits for the gap.
	looks(0.5, 1)
	n := looks(0.01, heapTrimQuietLooks)
	if since := time.Duration(heapTrimQuietLooks+1) * procsEvery; since < heapTrimMinGap && n != 0 {
		t.Errorf("a second trim %s after the first", since)
	}
	if n := looks(0.01, int(heapTrimMinGap/procsEvery)); n != 1 {
		t.Errorf("the second spell: %d trims once the gap passed, want 1", n)
	}
}

// A trim gives the dead heap back: the heap a spell left (here 128 MiB dead, no collection
// since) is no longer held after it, and the log line says how much.
func TestHeapTrimGivesTheDeadHeapBack(t *testing.T) {
	runtime.GC()
	old := debug.SetGCPercent(-1) // no collection while the spell allocates
	spell := make([][]byte, 128)
	for i := range spell {
		spell[i] = make([]byte, 1<<20)
		spell[i][0] = 1
	}
	spell = nil
	before, _ := heapHeld()
	core, logs := observer.New(zap.InfoLevel)
	trimHeap(zap.New(core))
	debug.SetGCPercent(old)
	after, live := heapHeld()
	if before < 128<<20 || after > before-100<<20 {
		t.Errorf("heap held %d MiB before the trim, %d MiB after (live %d MiB): want the 128 MiB given back", before>>20, after>>20, live>>20)
	}
	if got := logs.FilterMessage("heap returned to the OS after a busy spell").All(); len(got) != 1 {
		t.Errorf("%d log lines about the trim, want 1", len(got))
	}
	// Nothing worth giving back: no collection, no line.
	trimHeap(zap.New(core))
	if n := logs.Len(); n != 1 {
		t.Errorf("a trim with nothing to give back logged (%d lines)", n)
	}
}
