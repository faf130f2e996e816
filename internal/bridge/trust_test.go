package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
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

// informAs runs an Inform of a device by serial, as the ACS would.
func informAs(f *fixture, serial string) error {
	d := soap.DeviceID{Manufacturer: "ACME", OUI: "00147F", SerialNumber: serial}
	s := &acs.Session{ID: "s-" + serial + time.Now().Format("150405.000000000"), DeviceID: acs.DeviceIDFor(d), Device: d,
		RemoteAddr: netip.MustParseAddrPort("192.0.2.99:4000"), NS: soap.NSCWMP10}
	return f.b.Inform(context.Background(), s, &soap.Inform{DeviceID: d, MaxEnvelopes: 1})
}

// TestMaxDevicesAndRegistrationRateRefuseOnlyUnknownDevices is issue 9 point 7 (filling the
// gateway): past cwmp.max_devices, and past the registration rate, an unknown device gets a
// BusyError (503 with Retry-After) and a registration_refused event, is not registered and not
// published; known devices keep informing.
func TestMaxDevicesAndRegistrationRateRefuseOnlyUnknownDevices(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, Options{Now: clock, MaxDevices: 3, RegistrationRate: 1, RegistrationBurst: 2})

	for _, sn := range []string{"K1", "K2"} { // the burst
		if err := informAs(f, sn); err != nil {
			t.Fatalf("%s: %v", sn, err)
		}
	}
	var busy *acs.BusyError
	if err := informAs(f, "FAST3"); !errors.As(err, &busy) || busy.RetryAfter < time.Second {
		t.Fatalf("third device within the same second: %v, want a BusyError with Retry-After", err)
	}
	if err := informAs(f, "K1"); err != nil {
		t.Fatalf("known device refused under the rate limit: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if err := informAs(f, "K3"); err != nil {
		t.Fatalf("a second later: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if err := informAs(f, "OVER4"); !errors.As(err, &busy) || !strings.Contains(busy.Reason, "max_devices") {
		t.Fatalf("fourth device with max_devices 3: %v", err)
	}
	for _, sn := range []string{"K1", "K2", "K3"} {
		if err := informAs(f, sn); err != nil {
			t.Fatalf("known %s refused at max_devices: %v", sn, err)
		}
	}
	f.b.mu.Lock()
	n := len(f.b.devices)
	f.b.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d devices registered, want 3", n)
	}
	refused := 0
	for _, m := range f.pub.all() {
		if strings.Contains(m.Topic, "FAST3") || strings.Contains(m.Topic, "OVER4") {
			t.Fatalf("a refused device was published on %s", m.Topic)
		}
		var e api.BridgeEvent
		if m.Topic == "cwmp2mqtt/bridge/event" && json.Unmarshal(m.Payload, &e) == nil && e.Event == api.BridgeRegistrationRefused {
			if e.Device == "" || e.Reason == "" || e.Remote == "" {
				t.Errorf("registration_refused without device, reason or remote: %+v", e)
			}
			refused++
		}
	}
	if refused != 2 {
		t.Fatalf("%d registration_refused events, want 2", refused)
	}
}

// TestReplyToOwnInputTopicRejected is issue 9 point 8: a reply_to naming a topic the gateway
// subscribes to (its rpc, set, get or bridge/request inputs) is rejected with the reason on
// B/D/rpc/result, and nothing is queued or published there.
func TestReplyToOwnInputTopicRejected(t *testing.T) {
	f := newFixture(t, Options{})
	f.inform("2 PERIODIC")
	for i, tc := range []struct{ topic, payload string }{
		{"rpc", `{"id":"loop-1","method":"GetRPCMethods","expires":60,"reply_to":"cwmp2mqtt/` + devID + `/rpc"}`},
		{"rpc", `{"id":"loop-2","method":"GetRPCMethods","expires":60,"reply_to":"cwmp2mqtt/other-device/set"}`},
		{"set", `{"id":"loop-3","values":{"x":"1"},"reply_to":"cwmp2mqtt/bridge/request/health"}`},
		{"get", `{"id":"loop-4","keys":["x"],"reply_to":"cwmp2mqtt/` + devID + `/get"}`},
	} {
		id := fmt.Sprintf("loop-%d", i+1)
		if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/"+devID+"/"+tc.topic, []byte(tc.payload), false); err != nil {
			t.Fatal(err)
		}
		r := f.pub.waitFor(t, resultTopic, map[string]any{"id": id, "status": "rejected"})
		if !strings.Contains(fmt.Sprint(r["error"]), "reply_to") {
			t.Errorf("%s: reason %q does not name reply_to", id, r["error"])
		}
	}
	for _, m := range f.pub.all() {
		if strings.HasSuffix(m.Topic, "/rpc") || strings.HasSuffix(m.Topic, "/set") || strings.HasSuffix(m.Topic, "/get") || strings.Contains(m.Topic, "bridge/request") {
			t.Fatalf("published on the gateway's own input %s: %s", m.Topic, m.Payload)
		}
	}
	queued := f.b.tasks.Len(devID)
	if queued != 0 {
		t.Fatalf("%d requests queued", queued)
	}
	// A reply_to elsewhere under the base topic is fine.
	f.rpc(`{"id":"ok-1","method":"GetRPCMethods","expires":60,"reply_to":"cwmp2mqtt/replies/app-1"}`)
	f.pub.waitFor(t, "cwmp2mqtt/replies/app-1", map[string]any{"id": "ok-1", "status": "accepted"})
}
