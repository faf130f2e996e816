package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// failingTranslators is fakeTranslators whose Normalize fails while down is set; its state
// carries a number, whose text must survive a stale republication from the store.
type failingTranslators struct {
	fakeTranslators
	down *atomic.Bool
}

func (f failingTranslators) Normalize(ctx context.Context, dev sdk.DeviceInfo, params map[string]sdk.Value) (string, sdk.State, error) {
	if f.down.Load() {
		return "fake", nil, errors.New("translator unavailable")
	}
	return "fake", sdk.State{"device.firmware": params["InternetGatewayDevice.DeviceInfo.SoftwareVersion"].Value,
		"wifi.channel": int64(11), "cpu.load": 0.25}, nil
}

// stateValues returns the raw JSON of a state message's values.
func stateValues(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m["values"])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An idle device keeps no copy of its state in memory: once flushed, the last normalized state
// is in the store only, and a translator failure republishes it from there, stale, with the
// same values.
func TestStaleStateAfterTranslatorFailureReadFromStore(t *testing.T) {
	down := &atomic.Bool{}
	f := newFixture(t, Options{})
	f.b.tr = failingTranslators{down: down}
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	good := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/state", map[string]any{"stale": false})
	f.b.flush()
	held, _ := f.b.reg.Held(devID)
	if held.State || held.StateDirty {
		t.Fatalf("after the flush the device still holds its state in memory (dirty %v)", held.StateDirty)
	}

	down.Store(true)
	// A new value: an Inform that changes nothing would not call the translator at all.
	s = f.informReporting([]soap.ParameterValue{{Name: "InternetGatewayDevice.DeviceInfo.ProvisioningCode",
		Value: soap.Value{Type: "string", Raw: "P2"}}}, "2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	stale := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/state", map[string]any{"stale": true})
	if got, want := stateValues(t, stale), stateValues(t, good); got != want {
		t.Fatalf("stale values %s, want the last good ones %s", got, want)
	}
	if stale["error"] == nil {
		t.Errorf("stale state without its error: %v", stale)
	}
}

// After a restart with the translator down, the republished state is the last good one, marked
// stale (before, the state was only in memory and a restart republished it empty).
func TestStaleStateAfterRestartKeepsLastValues(t *testing.T) {
	down := &atomic.Bool{}
	f := newFixture(t, Options{})
	f.b.tr = failingTranslators{down: down}
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	good := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/state", map[string]any{"stale": false})
	f.stop()
	down.Store(true)
	f.tr = failingTranslators{down: down}
	f.start()
	stale := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/state", map[string]any{"stale": true})
	if got, want := stateValues(t, stale), stateValues(t, good); got != want {
		t.Fatalf("stale values after restart %s, want the last good ones %s", got, want)
	}
}

// A device removed takes its stored state with it.
func TestRemovedDeviceLeavesNoStoredState(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.tr = failingTranslators{down: &atomic.Bool{}}
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/state", map[string]any{"stale": false})
	f.b.flush()
	rst, err := registry.OpenStore(f.db, f.values)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := rst.State(devID); err != nil || v == nil {
		t.Fatalf("state not stored: %q %v", v, err)
	}
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/bridge/request/remove_device", []byte(`{"transaction":"rm","device":"`+devID+`"}`), false); err != nil {
		t.Fatal(err)
	}
	f.pub.waitFor(t, "cwmp2mqtt/bridge/response/remove_device", map[string]any{"transaction": "rm", "status": "ok"})
	if v, err := rst.State(devID); err != nil || v != nil {
		t.Fatalf("state of a removed device still stored: %q %v", v, err)
	}
}
