package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat: 100 on every Linux
// architecture Go supports (it is fixed in the kernel ABI, whatever CONFIG_HZ is).
const clockTicks = 100

// procSample is one reading of a process from /proc.
type procSample struct {
	CPU      time.Duration // utime + stime
	RSSBytes int64         // VmRSS
}

// readProc reads /proc/<pid>/stat (fields 14 utime, 15 stime) and VmRSS of /proc/<pid>/status.
func readProc(pid string) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces: fields count from after its ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%s/stat: no command field", pid)
	}
	fields := strings.Fields(string(stat[i+1:])) // fields[0] is field 3 (state)
	if len(fields) < 13 {
		return s, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(fields)+2)
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%s/stat: bad utime/stime", pid)
	}
	s.CPU = time.Duration(ut+st) * time.Second / clockTicks
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return s, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return s, fmt.Errorf("/proc/%s/status: VmRSS %q", pid, v)
			}
			s.RSSBytes = kb << 10
		}
	}
	return s, nil
}

// samples holds the simulator's own reading and, with -pid, the ACS's.
type samples struct {
	self, acs procSample
	hasACS    bool
}

func sampleProcesses(pid int) (samples, error) {
	var s samples
	var err error
	if s.self, err = readProc("self"); err != nil {
		return s, err
	}
	if pid > 0 {
		if s.acs, err = readProc(strconv.Itoa(pid)); err != nil {
			return s, fmt.Errorf("-pid %d: %w", pid, err)
		}
		s.hasACS = true
	}
	return s, nil
}

// report is the load-mode result (also the -json shape).
type report struct {
	ACS            string           `json:"acs"`
	CPEs           int              `json:"cpes"`
	Model          string           `json:"model"`
	Auth           string           `json:"auth"`
	CWMP           string           `json:"cwmp"`
	IntervalS      float64          `json:"interval_s"`
	ElapsedS       float64          `json:"elapsed_s"`
	Sessions       int64            `json:"sessions"`
	Failed         int64            `json:"failed"`
	SessionsPerS   float64          `json:"sessions_per_s"`
	RPCs           int64            `json:"rpcs"`
	LatencyP50Ms   float64          `json:"latency_p50_ms"`
	LatencyP99Ms   float64          `json:"latency_p99_ms"`
	LatencyMaxMs   float64          `json:"latency_max_ms"`
	Errors         map[string]int64 `json:"errors"`
	SimCPUS        float64          `json:"sim_cpu_s"`
	SimRSSMiB      float64          `json:"sim_rss_mib"`
	ACSPid         int              `json:"acs_pid,omitempty"`
	ACSCPUS        float64          `json:"acs_cpu_s,omitempty"`
	ACSCPUPer1000  float64          `json:"acs_cpu_s_per_1000_sessions,omitempty"`
	ACSRSSMiB      float64          `json:"acs_rss_mib,omitempty"`
	ACSRSSDeltaMiB float64          `json:"acs_rss_delta_mib,omitempty"`
}

// percentile of sorted durations (nearest rank), in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(int(p*float64(len(sorted))+0.5), len(sorted)) - 1
	return float64(sorted[max(i, 0)]) / float64(time.Millisecond)
}

const mib = 1 << 20

func newReport(f *loadFlags, st sim.Stats, elapsed time.Duration, before, after samples) report {
	lat := slices.Clone(st.Latencies)
	slices.Sort(lat)
	r := report{
		ACS: f.acs, CPEs: f.n, Model: f.model, Auth: f.auth, CWMP: f.cwmp,
		IntervalS: f.interval.Seconds(), ElapsedS: elapsed.Seconds(),
		Sessions: st.Sessions, Failed: st.Failed, RPCs: st.RPCs,
		SessionsPerS: float64(st.Sessions-st.Failed) / elapsed.Seconds(),
		LatencyP50Ms: percentile(lat, 0.50), LatencyP99Ms: percentile(lat, 0.99), LatencyMaxMs: percentile(lat, 1),
		Errors:    map[string]int64{},
		SimCPUS:   (after.self.CPU - before.self.CPU).Seconds(),
		SimRSSMiB: float64(after.self.RSSBytes) / mib,
	}
	for k, v := range st.Errors {
		r.Errors[string(k)] = v
	}
	if after.hasACS {
		r.ACSPid = f.pid
		r.ACSCPUS = (after.acs.CPU - before.acs.CPU).Seconds()
		if ok := st.Sessions - st.Failed; ok > 0 {
			r.ACSCPUPer1000 = r.ACSCPUS / float64(ok) * 1000
		}
		r.ACSRSSMiB = float64(after.acs.RSSBytes) / mib
		r.ACSRSSDeltaMiB = float64(after.acs.RSSBytes-before.acs.RSSBytes) / mib
	}
	return r
}

func (r report) writeTable(out io.Writer) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "ACS\t%s\n", r.ACS)
	fmt.Fprintf(w, "CPEs\t%d (model %s, auth %s, cwmp %s, interval %gs)\n", r.CPEs, r.Model, r.Auth, r.CWMP, r.IntervalS)
	fmt.Fprintf(w, "elapsed\t%.1f s\n", r.ElapsedS)
	fmt.Fprintf(w, "sessions\t%d ok, %d failed, %.1f ok/s, %d RPCs\n", r.Sessions-r.Failed, r.Failed, r.SessionsPerS, r.RPCs)
	fmt.Fprintf(w, "latency\tp50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "error %s\t%d\n", k, r.Errors[k])
	}
	fmt.Fprintf(w, "simulator\tCPU %.2f s, RSS %.1f MiB\n", r.SimCPUS, r.SimRSSMiB)
	if r.ACSPid > 0 {
		fmt.Fprintf(w, "ACS pid %d\tCPU %.2f s (%.3f s per 1,000 sessions), RSS %.1f MiB (%+.1f MiB)\n",
			r.ACSPid, r.ACSCPUS, r.ACSCPUPer1000, r.ACSRSSMiB, r.ACSRSSDeltaMiB)
	}
	w.Flush()
}
