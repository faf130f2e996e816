package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// informAs sends an Inform of the HG8245 with serial sn and firmware fw.
func (f *fixture) informAs(sn, fw string, events ...string) string {
	f.t.Helper()
	sessionSeq++
	id := "00259E-HG8245-" + sn
	s := &acs.Session{ID: fmt.Sprintf("fleet-%d", sessionSeq), DeviceID: id,
		Device:     soap.DeviceID{Manufacturer: "Huawei", OUI: "00259E", ProductClass: "HG8245", SerialNumber: sn},
		RemoteAddr: netip.MustParseAddrPort("192.0.2.10:40000"), NS: soap.NSCWMP10}
	inf := &soap.Inform{DeviceID: s.Device, MaxEnvelopes: 1, ParameterList: []soap.ParameterValue{
		{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", Value: soap.Value{Type: "string", Raw: fw}},
		{Name: "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", Value: soap.Value{Type: "unsignedInt", Raw: "300"}},
	}}
	for _, e := range events {
		inf.Events = append(inf.Events, soap.Event{Code: e})
	}
	if err := f.b.Inform(context.Background(), s, inf); err != nil {
		f.t.Fatal(err)
	}
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	return id
}

// published returns what was published on topic so far, oldest first.
func (r *recorder) published(topic string) []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []published
	for _, m := range r.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// B/bridge/devices carries counts, not the fleet; each device's entry is its own retained
// B/D/info, republished only when the entry changes.
func TestDeviceCountsStaySmallAndEntriesArePerDevice(t *testing.T) {
	f := newFixture(t, Options{})
	var ids []string
	for i := range 5 {
		ids = append(ids, f.informAs(fmt.Sprintf("SN%d", i), "V1", "1 BOOT"))
	}
	f.b.publishDeviceListIfDirty()
	counts := f.pub.waitFor(t, "cwmp2mqtt/bridge/devices", map[string]any{"devices": float64(5), "online": float64(5), "offline": float64(0)})
	if raw, _ := json.Marshal(counts); len(raw) > 200 {
		t.Errorf("bridge/devices is %d bytes: %s", len(raw), raw)
	}
	for _, id := range ids {
		infos := f.pub.published("cwmp2mqtt/" + id + "/info")
		if len(infos) != 1 || !infos[0].Retained {
			t.Fatalf("%s: %d info messages (want one, retained): %+v", id, len(infos), infos)
		}
		var e map[string]any
		if err := json.Unmarshal(infos[0].Payload, &e); err != nil || e["id"] != id || e["firmware"] != "V1" || e["online"] != true {
			t.Errorf("%s: info %s (%v)", id, infos[0].Payload, err)
		}
	}

	// A periodic Inform that changes nothing in the entry does not republish it …
	f.informAs("SN0", "V1", "2 PERIODIC")
	if n := len(f.pub.published("cwmp2mqtt/" + ids[0] + "/info")); n != 1 {
		t.Errorf("a periodic Inform republished the unchanged info (%d messages)", n)
	}
	// … a new firmware does.
	f.informAs("SN0", "V2", "1 BOOT")
	infos := f.pub.published("cwmp2mqtt/" + ids[0] + "/info")
	if len(infos) != 2 || !json.Valid(infos[1].Payload) || !containsJSON(infos[1].Payload, "firmware", "V2") {
		t.Fatalf("after a firmware change: %d info messages, last %s", len(infos), infos[len(infos)-1].Payload)
	}

	// Removing a device clears its retained info and counts it out.
	if _, err := f.b.RemoveDevice(ids[4]); err != nil {
		t.Fatal(err)
	}
	infos = f.pub.published("cwmp2mqtt/" + ids[4] + "/info")
	if last := infos[len(infos)-1]; len(last.Payload) != 0 || !last.Retained {
		t.Errorf("info of a removed device not cleared: %+v", last)
	}
	f.b.publishDeviceListIfDirty()
	f.pub.waitFor(t, "cwmp2mqtt/bridge/devices", map[string]any{"devices": float64(4), "online": float64(4)})
}

func containsJSON(payload []byte, key string, want any) bool {
	var m map[string]any
	return json.Unmarshal(payload, &m) == nil && m[key] == want
}

// list_devices answers pages in id order with the total and the next offset; the filter picks.
func TestListDevicesPagesWithFilter(t *testing.T) {
	f := newFixture(t, Options{})
	for _, sn := range []string{"SN3", "SN1", "SN4", "SN0", "SN2"} {
		f.informAs(sn, "V1", "1 BOOT")
	}
	f.informAs("SN2", "V9", "1 BOOT")
	ask := func(tx, payload string) (ids []string, total, next float64) {
		t.Helper()
		if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/bridge/request/list_devices", []byte(payload), false); err != nil {
			t.Fatal(err)
		}
		r := f.pub.waitFor(t, "cwmp2mqtt/bridge/response/list_devices", map[string]any{"transaction": tx})
		if r["status"] != "ok" {
			t.Fatalf("%s: %v", payload, r)
		}
		for _, e := range r["data"].([]any) {
			ids = append(ids, e.(map[string]any)["id"].(string))
		}
		total, _ = r["total"].(float64)
		next, _ = r["next_offset"].(float64)
		return ids, total, next
	}
	const p = "00259E-HG8245-"
	if ids, total, next := ask("a", `{"transaction":"a","limit":2}`); fmt.Sprint(ids) != fmt.Sprint([]string{p + "SN0", p + "SN1"}) || total != 5 || next != 2 {
		t.Errorf("first page: %v total %v next %v", ids, total, next)
	}
	if ids, total, next := ask("b", `{"transaction":"b","offset":4,"limit":2}`); fmt.Sprint(ids) != fmt.Sprint([]string{p + "SN4"}) || total != 5 || next != 0 {
		t.Errorf("last page: %v total %v next %v", ids, total, next)
	}
	if ids, total, _ := ask("c", `{"transaction":"c","offset":9}`); len(ids) != 0 || total != 5 {
		t.Errorf("past the end: %v total %v", ids, total)
	}
	if ids, total, _ := ask("d", `{"transaction":"d","filter":{"firmware":"V9"}}`); fmt.Sprint(ids) != fmt.Sprint([]string{p + "SN2"}) || total != 1 {
		t.Errorf("firmware filter: %v total %v", ids, total)
	}
	if ids, total, _ := ask("e", `{"transaction":"e","filter":{"online":false}}`); len(ids) != 0 || total != 0 {
		t.Errorf("offline filter: %v total %v", ids, total)
	}
	if ids, _, _ := ask("f", `{"transaction":"f","filter":{"id_prefix":"`+p+`SN3","online":true}}`); fmt.Sprint(ids) != fmt.Sprint([]string{p + "SN3"}) {
		t.Errorf("id_prefix filter: %v", ids)
	}
}

// drain keeps the recorder's channel from filling (tests that read published() only).
func (r *recorder) drain(t *testing.T) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-r.ch:
			case <-done:
				return
			}
		}
	}()
}

// After a restart every known device's retained availability, state and info are published
// again, a few hundred devices per outbox commit rather than one commit per device.
func TestRestartRepublishesRetainedTopicsInBatches(t *testing.T) {
	f := newFixture(t, Options{})
	f.pub.drain(t)
	const n = republishBatch + 44
	var ids []string
	for i := range n {
		ids = append(ids, f.informAs(fmt.Sprintf("R%04d", i), "V1", "1 BOOT"))
	}
	f.stop()
	f.start()
	f.pub.drain(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		missing := 0
		for _, id := range ids {
			for _, sub := range []string{"availability", "state", "info"} {
				if len(f.pub.published("cwmp2mqtt/"+id+"/"+sub)) == 0 {
					missing++
				}
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d retained topics of %d devices not republished after the restart", missing, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.pub.mu.Lock()
	batches := f.pub.batches
	f.pub.mu.Unlock()
	if want := (n + republishBatch - 1) / republishBatch; batches > want {
		t.Errorf("%d devices republished in %d outbox commits, want at most %d", n, batches, want)
	}
	for _, id := range ids[:3] {
		av := f.pub.published("cwmp2mqtt/" + id + "/availability")
		if !av[0].Retained || !containsJSON(av[0].Payload, "state", "online") {
			t.Errorf("%s: availability after restart %s", id, av[0].Payload)
		}
	}
}

// A broker that kept the gateway's session across the restart still holds the retained topics:
// they are not published again.
func TestRestartSkipsRepublishingWhenTheBrokerKeptThem(t *testing.T) {
	kept := make(chan bool, 1)
	f := newFixture(t, Options{RetainedKept: func(context.Context) bool { kept <- true; return true }})
	id := f.informAs("K0001", "V1", "1 BOOT")
	f.stop()
	f.start()
	select {
	case <-kept:
	case <-time.After(10 * time.Second):
		t.Fatal("RetainedKept not asked after the restart")
	}
	f.stop() // the republication, had it run, is over
	for _, sub := range []string{"availability", "state", "info"} {
		if msgs := f.pub.published("cwmp2mqtt/" + id + "/" + sub); len(msgs) != 0 {
			t.Errorf("%s republished although the broker kept it: %s", sub, msgs[0].Payload)
		}
	}
}

// The broker's retained topics count as complete (RetainedComplete: the embedded broker's file
// is then tagged as this run's) only once every device known at start has had them queued again,
// or at once when the broker kept them; a gateway stopped before that never says so, so the next
// start republishes instead of keeping a file with devices missing.
func TestRetainedTopicsCompleteOnlyOnceTheRepublicationEnded(t *testing.T) {
	for _, c := range []struct {
		name      string
		kept      func(ctx context.Context) bool
		stopEarly bool
		want      bool
	}{
		{"republished", func(context.Context) bool { return false }, false, true},
		{"kept by the broker", func(context.Context) bool { return true }, false, true},
		{"stopped before the republication", func(ctx context.Context) bool { <-ctx.Done(); return false }, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var complete atomic.Int32
			f := newFixture(t, Options{})
			f.informAs("C0001", "V1", "1 BOOT")
			f.stop()
			f.opts.RetainedKept, f.opts.RetainedComplete = c.kept, func() { complete.Add(1) }
			f.start()
			if !c.stopEarly {
				deadline := time.Now().Add(10 * time.Second)
				for complete.Load() == 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			}
			f.stop()
			if got := complete.Load() == 1; got != c.want {
				t.Fatalf("RetainedComplete called %d times, want called: %v", complete.Load(), c.want)
			}
		})
	}
}
