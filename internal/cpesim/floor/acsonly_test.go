package floor

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

// runFleet runs n Huawei TR-098 CPEs against acsURL until each has completed one session, and
// fails on any failed session.
func runFleet(t *testing.T, acsURL string, n int) {
	t.Helper()
	base, err := datamodel.LoadTR098Huawei()
	if err != nil {
		t.Fatal(err)
	}
	rec := sim.NewRecorder()
	f, err := sim.NewFleet(sim.FleetConfig{N: n, Model: func(int) (*datamodel.Model, error) { return base.Clone(), nil },
		CPE: sim.Config{ACSURL: acsURL, PeriodicInterval: time.Hour, Hooks: rec.Hooks()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	seen := map[string]bool{}
	if _, err := rec.WaitSession(ctx, sim.Mark{}, func(s sim.SessionResult) bool {
		if s.Err != nil {
			t.Errorf("session of %s failed: %v", s.Serial, s.Err)
		}
		if len(s.RPCs) != 0 {
			t.Errorf("session of %s ran ACS requests %v; the ACS-only server has no tasks", s.Serial, s.RPCs)
		}
		seen[s.Serial] = true
		return len(seen) == n
	}); err != nil {
		t.Fatalf("%d of %d CPEs completed a session: %v", len(seen), n, err)
	}
}

// A fleet of simulated CPEs completes bootstrap sessions (0 BOOTSTRAP, 1 BOOT: real Informs
// through internal/cwmp/soap) against the real ACS stack with the no-op handler: InformResponse, empty
// POST, 204, and no session left open.
func TestFleetSessionsAgainstACSOnly(t *testing.T) {
	srv, h, err := NewACSOnly("127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	runFleet(t, "http://"+srv.Addr().String()+"/", 20)
	if got := h.Informs.Load(); got != 20 {
		t.Errorf("handler accepted %d Informs, want 20", got)
	}
	// SessionEnded runs after the 204 reached the CPE: poll until it has for all 20.
	deadline := time.Now().Add(5 * time.Second)
	for h.Ended.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.Ended.Load(); got != 20 {
		t.Errorf("%d sessions ended done, want 20", got)
	}
	if st := srv.Stats(); st.Open != 0 {
		t.Errorf("%d sessions left open", st.Open)
	}
}

// `cpesim floor -acs`: ServeACSOnly announces its address and pid, serves CPEs, and returns
// nil once its context ends, with a summary of what it served.
func TestServeACSOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := ServeACSOnly(ctx, "127.0.0.1:0", zap.NewNop(), pw)
		pw.Close()
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no start-up line: %v", lines.Err())
	}
	first := lines.Text()
	_, after, ok := strings.Cut(first, " on ")
	addr, _, ok2 := strings.Cut(after, " (pid ")
	if !ok || !ok2 {
		t.Fatalf("start-up line %q lacks the address and pid", first)
	}
	runFleet(t, "http://"+addr+"/", 3)
	cancel()
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text())
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeACSOnly after cancel: %v", err)
	}
	if !strings.Contains(rest.String(), "3 informs") {
		t.Errorf("summary %q does not count the 3 informs", rest.String())
	}
}

// A busy or invalid listen address is a clear error, not a panic or a silent exit.
func TestServeACSOnlyListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = ServeACSOnly(context.Background(), ln.Addr().String(), zap.NewNop(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("busy port: got %v, want a listen error", err)
	}
	if _, _, err := NewACSOnly("", zap.NewNop()); err == nil {
		t.Error("empty listen address accepted")
	}
}
