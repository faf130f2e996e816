package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// runtime.procs is how many threads run Go code at once (GOMAXPROCS). With two or more, a
// lightly loaded gateway pays for its parallelism on every session: each goroutine made ready
// (the connection's, net/http's background read of every request, a timer's) wakes an idle
// thread that spins looking for work and sleeps again, and the runtime's monitor polls every
// 20 µs while any of them runs. At 100 periodic sessions/s that was a sixth to a quarter of the
// gateway's CPU per session (docs/performance.md); with one thread the work queues on it instead.
// So "auto" runs on one thread while the gateway uses little CPU, and on all the runtime's
// while it uses more: a registration wave, 1,000 sessions/s or a restart's republication get
// every core, as before.

const (
	// procsAuto is runtime.procs "auto".
	procsAuto = 0
	// procsEvery is how often auto looks at the CPU the process used.
	procsEvery = time.Second
	// procsHigh: over this many cores used in one look, auto takes all the runtime's threads.
	// 400 periodic sessions/s use about 0.2 cores (1,000 devices): they keep all threads, as
	// before, and so does anything heavier; 100/s use 0.05-0.1 and run on one.
	procsHigh = 0.12
	// procsLow and procsQuietLooks: under procsLow cores for procsQuietLooks looks in a row,
	// auto goes down to one thread. A load does not switch back and forth: it costs less CPU
	// on one thread than on all, so one that stays under procsHigh on one would not have gone
	// under procsLow on all, nor the other way round, and a single quiet look does not count.
	procsLow        = 0.1
	procsQuietLooks = 10
)

// procs reads runtime.procs: auto, or a count of threads of at least 1.
func (r *reader) procs(key string) int {
	raw := strings.TrimSpace(fmt.Sprint(r.v.Get(key)))
	if strings.EqualFold(raw, "auto") || raw == "" {
		return procsAuto
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		r.bad(key, "must be auto or a number of threads of at least 1, not %q", raw)
		return procsAuto
	}
	return n
}

// procsTuner is auto's rule: the GOMAXPROCS for the next look, from the cores the process used
// in the last one. It starts with all of max.
type procsTuner struct {
	max, cur int
	quiet    quietStretch
}

func newProcsTuner(max int) *procsTuner { return &procsTuner{max: max, cur: max} }

func (t *procsTuner) next(cores float64) int {
	if t.quiet.add(cores) {
		t.cur = t.max
	} else if t.quiet >= procsQuietLooks {
		t.cur = 1
	}
	return t.cur
}

// quietStretch counts the looks in a row under procsLow cores; a look over procsHigh, or between
// the two marks, ends the stretch. runtime.procs auto and the heap trim read the load this way.
type quietStretch int

// add counts one look's cores and reports whether it was busy (over procsHigh).
func (q *quietStretch) add(cores float64) (busy bool) {
	switch {
	case cores > procsHigh:
		*q = 0
		return true
	case cores < procsLow:
		*q++
	default:
		*q = 0
	}
	return false
}

// processCPU is the CPU time the process used so far (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// applyProcs sets GOMAXPROCS from runtime.procs: a number is set once; auto follows the load
// (procsTuner) until ctx ends, between one thread and what the runtime chose at start (the
// CPUs, or a container's CPU limit). GOMAXPROCS in the environment wins over auto, as it does
// for the runtime. The returned function stops auto and gives the runtime its threads back.
func applyProcs(ctx context.Context, procs int, getenv func(string) string, log *zap.Logger) (stop func()) {
	max := runtime.GOMAXPROCS(0)
	switch {
	case procs > 0:
		runtime.GOMAXPROCS(procs)
		log.Info("threads running Go code", zap.Int("procs", procs), zap.String("from", "runtime.procs"))
		return func() {}
	case getenv("GOMAXPROCS") != "":
		log.Info("threads running Go code", zap.Int("procs", max), zap.String("from", "GOMAXPROCS"))
		return func() {}
	case max <= 1:
		return func() {}
	}
	log.Info("threads running Go code: auto", zap.Int("max", max), zap.Float64("one_below_cores", procsLow),
		zap.Float64("all_above_cores", procsHigh))
	t := newProcsTuner(max)
	stopWatch := goWatchLoad(ctx, func(cores float64, _ time.Time) { t.apply(cores, log) })
	return func() {
		stopWatch()
		runtime.GOMAXPROCS(max)
	}
}

// apply sets GOMAXPROCS by t's rule from the cores used in the last look.
func (t *procsTuner) apply(cores float64, log *zap.Logger) {
	if n := t.next(cores); n != runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
		log.Debug("threads running Go code", zap.Int("procs", n), zap.Float64("cores_used", cores))
	}
}

// followLoad applies t's rule at each tick until ctx ends: cpu is the process's CPU time so far.
func followLoad(ctx context.Context, t *procsTuner, cpu func() time.Duration, tick <-chan time.Time, log *zap.Logger) {
	watchLoad(ctx, cpu, tick, func(cores float64, _ time.Time) { t.apply(cores, log) })
}

// goWatchLoad runs watchLoad on the process's CPU time every procsEvery, in a goroutine, until
// the returned function is called.
func goWatchLoad(ctx context.Context, look func(cores float64, now time.Time)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(procsEvery)
		defer tick.Stop()
		watchLoad(ctx, processCPU, tick.C, look)
	}()
	return func() {
		cancel()
		<-done
	}
}

// watchLoad calls look at each tick until ctx ends with the cores the process used since the
// last one; cpu is the process's CPU time so far.
func watchLoad(ctx context.Context, cpu func() time.Duration, tick <-chan time.Time, look func(cores float64, now time.Time)) {
	lastCPU, lastAt := cpu(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick:
			c := cpu()
			wall := now.Sub(lastAt)
			if wall <= 0 {
				continue
			}
			cores := float64(c-lastCPU) / float64(wall)
			lastCPU, lastAt = c, now
			look(cores, now)
		}
	}
}
