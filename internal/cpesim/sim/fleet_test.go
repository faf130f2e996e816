package sim

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

func huaweiClones(t testing.TB) func(int) (*datamodel.Model, error) {
	base, err := datamodel.LoadTR098Huawei()
	if err != nil {
		t.Fatal(err)
	}
	return func(int) (*datamodel.Model, error) { return base.Clone(), nil }
}

func TestFleetSharedCRListener(t *testing.T) {
	acs := newScriptedACS(t)
	rec := NewRecorder()
	f, err := NewFleet(FleetConfig{
		N: 20, SerialPrefix: "FLT", Model: huaweiClones(t), CRListen: "127.0.0.1:0",
		CPE: Config{ACSURL: acs.URL(), PeriodicInterval: time.Hour, Hooks: rec.Hooks()},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	seen := map[string]bool{}
	_, err = rec.WaitSession(ctx, Mark{}, func(s SessionResult) bool {
		if s.Err == nil && s.HasEvent(EventBootstrap) {
			seen[s.Serial] = true
		}
		return len(seen) == 20
	})
	if err != nil {
		t.Fatalf("%d of 20 CPEs bootstrapped: %v", len(seen), err)
	}
	if !seen["FLT000000"] || !seen["FLT000019"] {
		t.Errorf("serials %v", seen)
	}
	// Inform on demand.
	mark := rec.Mark()
	f.Inform(4, EventPeriodic)
	if _, err := rec.WaitSession(ctx, mark, func(s SessionResult) bool { return s.Serial == "FLT000004" && s.HasEvent(EventPeriodic) }); err != nil {
		t.Fatal(err)
	}
	// A connection request through the shared listener wakes exactly that CPE.
	c := f.CPE(7)
	pv, _ := c.Model().Get(igd + "ManagementServer.ConnectionRequestURL")
	client := &http.Client{Transport: auth.NewClientTransport(nil, "202BC1-BM632w-000000", "69t0mkjya1", auth.ClientOptions{})}
	mark = rec.Mark()
	resp, err := client.Get(pv.Value.Raw)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CR to %s: %v %v", pv.Value.Raw, resp, err)
	}
	resp.Body.Close()
	s, err := rec.WaitSession(ctx, mark, func(s SessionResult) bool { return s.HasEvent(EventConnectionRequest) })
	if err != nil || s.Serial != "FLT000007" {
		t.Errorf("woken %q, %v", s.Serial, err)
	}
	resp, err = http.Get(f.crURL + "NOPE")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown serial: %v %v", resp, err)
	}
	resp.Body.Close()
	st := f.Stats()
	if st.Sessions < 22 || st.Failed != 0 || len(st.Latencies) != int(st.Sessions) {
		t.Errorf("stats = %+v", st)
	}
}

func TestFleetCountsErrorsByKind(t *testing.T) {
	// Port 1 on loopback refuses connections: every session fails in transport.
	rec := NewRecorder()
	f, err := NewFleet(FleetConfig{N: 3, Model: huaweiClones(t),
		CPE: Config{ACSURL: "http://127.0.0.1:1/", PeriodicInterval: time.Hour, Hooks: rec.Hooks()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	failed := 0
	if _, err := rec.WaitSession(ctx, Mark{}, func(s SessionResult) bool {
		if s.Err != nil {
			failed++
		}
		return failed == 3
	}); err != nil {
		t.Fatal(err)
	}
	st := f.Stats()
	if st.Errors[KindTransport] != 3 || st.Sessions != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestNewFleetRejectsBadConfig(t *testing.T) {
	if _, err := NewFleet(FleetConfig{N: 0, Model: huaweiClones(t)}); err == nil {
		t.Error("N=0 accepted")
	}
	if _, err := NewFleet(FleetConfig{N: 1}); err == nil {
		t.Error("nil Model accepted")
	}
	if _, err := NewFleet(FleetConfig{N: 1, Model: huaweiClones(t), CPE: Config{ACSURL: "http://x/", NS: "urn:nope"}}); err == nil {
		t.Error("bad namespace accepted")
	}
	if _, err := NewFleet(FleetConfig{N: 1, Model: huaweiClones(t), CPE: Config{ACSURL: "http://x/", Auth: "kerberos"}}); err == nil {
		t.Error("bad auth accepted")
	}
}

// BenchmarkFleetMemory10k measures the heap of 10,000 idle CPEs (models, cookie jars, clients):
// the bytes/CPE metric. Run: go test ./internal/cpesim/sim -run=^$ -bench=FleetMemory -benchtime=1x
func BenchmarkFleetMemory10k(b *testing.B) {
	const n = 10000
	models := huaweiClones(b)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f, err := NewFleet(FleetConfig{N: n, Model: models, CPE: Config{ACSURL: "http://127.0.0.1:1/"}})
		if err != nil {
			b.Fatal(err)
		}
		// Each CPE touches its model as a real session would: a set, which allocates its overlay.
		for i := range n {
			_ = f.CPE(i).Model().SetValues([]soap.ParameterValue{{Name: igd + "ManagementServer.PeriodicInformInterval", Value: soap.Value{Raw: fmt.Sprint(60 + i%60)}}})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/CPE")
		runtime.KeepAlive(f)
	}
}
