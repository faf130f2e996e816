package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/floor"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(d, 0.5); p != 50 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 0.99); p != 99 {
		t.Errorf("p99 = %v", p)
	}
	if p := percentile(d, 1); p != 100 {
		t.Errorf("max = %v", p)
	}
	if p := percentile(nil, 0.5); p != 0 {
		t.Errorf("empty = %v", p)
	}
}

func TestReadProcSelf(t *testing.T) {
	s, err := readProc(strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSBytes < 1<<20 || s.CPU < 0 {
		t.Errorf("sample = %+v", s)
	}
	if _, err := readProc("999999999"); err == nil {
		t.Error("no error for a missing process")
	}
}

func TestParseLoadFlagsQuirks(t *testing.T) {
	f, err := parseLoadFlags([]string{"-quirks", "crash-on-unknown-name,short-gpv", "-crash-silence", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	if !f.quirks.Has(sim.QuirkCrashOnUnknownName) || !f.quirks.Has(sim.QuirkShortGPV) || len(f.quirks) != 2 || f.crashSilence != 5*time.Second {
		t.Errorf("quirks %v, crash silence %v", f.quirks, f.crashSilence)
	}
}

func TestParseLoadFlagsErrors(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-interval", "0s"}, {"extra"}, {"-n", "x"}, {"-quirks", "short-gpv,nope"}} {
		if _, err := parseLoadFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	for _, args := range [][]string{{"-cwmp", "1-9"}, {"-model", "/nonexistent.csv"}, {"-auth", "kerberos"}, {"-log-level", "loud"}} {
		if err := runLoad(context.Background(), append(args, "-duration", "1ms"), &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// The load mode against the floor: every CPE informs, the JSON report counts the sessions and
// the ACS process (here: this test process) is sampled.
func TestLoadAgainstFloorJSON(t *testing.T) {
	h := &floor.Handler{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var out bytes.Buffer
	err := runLoad(context.Background(), []string{"-acs", srv.URL, "-n", "40", "-duration", "1500ms", "-interval", "500ms",
		"-spread", "0s", "-model", "mixed", "-pid", strconv.Itoa(os.Getpid()), "-json"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, out.Bytes())
	}
	// A session cut by the end of the run may have had its Inform answered: <=, not ==.
	if r.Failed != 0 || r.Sessions < 40 || r.Sessions > h.Informs.Load() || r.SessionsPerS <= 0 {
		t.Errorf("report %+v; floor saw %d Informs", r, h.Informs.Load())
	}
	if r.LatencyP50Ms <= 0 || r.LatencyP99Ms < r.LatencyP50Ms || r.ACSRSSMiB <= 0 || r.ACSPid != os.Getpid() {
		t.Errorf("report %+v", r)
	}
	var table bytes.Buffer
	r.writeTable(&table)
	if !bytes.Contains(table.Bytes(), []byte("per 1,000 sessions")) {
		t.Errorf("table:\n%s", table.String())
	}
}
