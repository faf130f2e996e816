package main

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// runtime.procs takes auto (the default) or a number of threads; anything else is an error
// naming the key.
func TestProcsKeyValidatedWithErrorNamingTheKey(t *testing.T) {
	for raw, want := range map[string]int{"": procsAuto, "auto": procsAuto, "AUTO": procsAuto, "1": 1, "4": 4} {
		env := map[string]string{}
		if raw != "" {
			env["CWMP2MQTT_RUNTIME_PROCS"] = raw
		}
		c, err := load(t, nil, env)
		if err != nil || c.Procs != want {
			t.Errorf("%q: got %d %v, want %d", raw, c.Procs, err, want)
		}
	}
	for _, raw := range []string{"0", "-2", "many", "1.5"} {
		_, err := load(t, nil, map[string]string{"CWMP2MQTT_RUNTIME_PROCS": raw})
		if err == nil || !strings.Contains(err.Error(), "runtime.procs:") {
			t.Errorf("%q: %v, want an error naming runtime.procs", raw, err)
		}
	}
}

// auto keeps all the threads while the gateway is busy, goes down to one only after a quiet
// stretch, and back to all at the first busy look; a load between the two marks changes nothing.
func TestProcsAutoFollowsTheLoad(t *testing.T) {
	tu := newProcsTuner(4)
	looks := func(cores float64, n int) (got []int) {
		for range n {
			got = append(got, tu.next(cores))
		}
		return got
	}
	if got := looks(0.9, 3); got[2] != 4 {
		t.Fatalf("busy: %v, want 4 threads", got)
	}
	got := looks(0.05, procsQuietLooks)
	for i, n := range got[:procsQuietLooks-1] {
		if n != 4 {
			t.Fatalf("quiet look %d: %d threads, want still 4 (only after %d quiet looks)", i+1, n, procsQuietLooks)
		}
	}
	if got[procsQuietLooks-1] != 1 {
		t.Fatalf("after %d quiet looks: %d threads, want 1", procsQuietLooks, got[procsQuietLooks-1])
	}
	if got := looks((procsLow+procsHigh)/2, 30); got[29] != 1 {
		t.Errorf("between the marks on one thread: %d, want it kept", got[29])
	}
	if got := looks(procsHigh+0.05, 1); got[0] != 4 {
		t.Errorf("busy again: %d threads, want all 4 at once", got[0])
	}
	if got := looks((procsLow+procsHigh)/2, 30); got[29] != 4 {
		t.Errorf("between the marks on all threads: %d, want them kept", got[29])
	}
	// A quiet stretch broken by one look between the marks starts over.
	looks(0.05, procsQuietLooks-1)
	looks((procsLow+procsHigh)/2, 1)
	if got := looks(0.05, procsQuietLooks-1); got[len(got)-1] != 4 {
		t.Errorf("quiet stretch broken and resumed: %d threads before %d quiet looks in a row", got[len(got)-1], procsQuietLooks)
	}
}

// The loop applies the rule to the runtime: the CPU time it is given (none: a quiet gateway)
// brings GOMAXPROCS down to one, and stopping it gives the runtime its threads back.
func TestProcsAutoAppliedToTheRuntime(t *testing.T) {
	max := runtime.GOMAXPROCS(0)
	if max < 2 {
		t.Skip("one CPU: auto has nothing to do")
	}
	t.Cleanup(func() { runtime.GOMAXPROCS(max) })
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		followLoad(ctx, newProcsTuner(max), func() time.Duration { return 0 }, tick, zaptest.NewLogger(t))
	}()
	at := time.Now()
	for range procsQuietLooks {
		at = at.Add(procsEvery)
		tick <- at
	}
	cancel()
	<-done
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS %d after %d quiet looks, want 1", n, procsQuietLooks)
	}

	// A fixed runtime.procs is set as it is; GOMAXPROCS in the environment leaves the runtime's.
	applyProcs(context.Background(), 3, func(string) string { return "" }, zaptest.NewLogger(t))()
	if n := runtime.GOMAXPROCS(0); n != 3 {
		t.Errorf("runtime.procs 3: GOMAXPROCS %d", n)
	}
	runtime.GOMAXPROCS(max)
	applyProcs(context.Background(), procsAuto, func(k string) string {
		if k == "GOMAXPROCS" {
			return "2"
		}
		return ""
	}, zaptest.NewLogger(t))()
	if n := runtime.GOMAXPROCS(0); n != max {
		t.Errorf("GOMAXPROCS set in the environment: %d, want the runtime's %d left alone", n, max)
	}
}
