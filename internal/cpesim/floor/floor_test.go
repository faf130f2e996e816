package floor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

func TestIsInform(t *testing.T) {
	for in, want := range map[string]bool{
		"<cwmp:Inform>":          true,
		`<Inform xmlns="urn:x">`: true,
		"<cwmp:InformResponse>":  false,
		"<cwmp:GetParameterValuesResponse><Name>Inform</Name>": false,
		"": false,
	} {
		if got := isInform([]byte(in)); got != want {
			t.Errorf("isInform(%q) = %v", in, got)
		}
	}
}

// A fleet of simulated CPEs completes sessions against the floor: InformResponse, then 204.
func TestFleetSessionsAgainstFloor(t *testing.T) {
	h := &Handler{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	base, err := datamodel.LoadTR181()
	if err != nil {
		t.Fatal(err)
	}
	rec := sim.NewRecorder()
	f, err := sim.NewFleet(sim.FleetConfig{N: 25, Model: func(int) (*datamodel.Model, error) { return base.Clone(), nil },
		CPE: sim.Config{ACSURL: srv.URL, PeriodicInterval: time.Hour, Hooks: rec.Hooks()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	n := 0
	if _, err := rec.WaitSession(ctx, sim.Mark{}, func(s sim.SessionResult) bool {
		if s.Err != nil {
			t.Errorf("session failed: %v", s.Err)
		}
		n++
		return n == 25
	}); err != nil {
		t.Fatal(err)
	}
	if got := h.Informs.Load(); got != 25 {
		t.Errorf("floor answered %d Informs", got)
	}
	resp, err := http.Get(srv.URL)
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp, err)
	}
	resp.Body.Close()
}
