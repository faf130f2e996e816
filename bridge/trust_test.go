package bridge

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/bridge/api"
)

// TestAuthFailedPublishedAndRateLimited is issue 9 point 5: every refused CPE request becomes an
// auth_failed event with device, user and address, but a flood of them does not flood the
// platform: a burst, then a few per second, each later event counting the failures left out.
func TestAuthFailedPublishedAndRateLimited(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, Options{Now: clock})

	f.b.AuthFailed("00147F-DEVB0002", "DEVA0001", "192.0.2.7:40112", "credentials belong to another device")
	ev := f.pub.waitFor(t, "cwmp2mqtt/bridge/event", map[string]any{"event": "auth_failed"})
	if ev["device"] != "00147F-DEVB0002" || ev["user"] != "DEVA0001" || ev["remote"] != "192.0.2.7:40112" || ev["count"] != nil {
		t.Fatalf("auth_failed %v", ev)
	}
	for range 999 {
		f.b.AuthFailed("", "ghost", "198.51.100.1:1000", "unknown user")
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	f.b.AuthFailed("", "ghost", "198.51.100.1:1000", "unknown user")

	var events []api.BridgeEvent
	for _, m := range f.pub.all() {
		if m.Topic != "cwmp2mqtt/bridge/event" {
			continue
		}
		var e api.BridgeEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.Event == api.BridgeAuthFailed {
			events = append(events, e)
		}
	}
	if len(events) != authEventBurst+1 {
		t.Fatalf("%d auth_failed events for 1,001 failures, want the burst of %d and one after a second", len(events), authEventBurst)
	}
	if last := events[len(events)-1]; last.Count != 1000-authEventBurst+1 {
		t.Fatalf("the event after the flood counts %d failures, want %d", last.Count, 1000-authEventBurst+1)
	}
}
