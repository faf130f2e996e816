package registry

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap/zaptest"
)

func openTest(t *testing.T, cacheSize int) (*Registry, *Store, *bolt.DB) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := OpenStore(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, cacheSize, zaptest.NewLogger(t)), st, db
}

func pv(name, value string) soap.ParameterValue {
	return soap.ParameterValue{Name: name, Value: soap.Value{Type: "xsd:string", Raw: value}}
}

func paramOf(g *Registry, id, name string) (v ParamValue, ok bool) {
	g.WithParams(id, func(p map[string]ParamValue) { v, ok = p[name] })
	return v, ok
}

const upTime = "InternetGatewayDevice.DeviceInfo.UpTime"

var never = func(string) bool { return false }

// A device's raw parameters leave memory only once written, and come back from the store.
func TestParamsLeaveMemoryOnlyOnceWritten(t *testing.T) {
	g, _, _ := openTest(t, 0)
	g.Add("d1", true)
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "42")})
	g.Trim(never)
	if h, _ := g.Held("d1"); !h.Params {
		t.Fatal("dirty parameters dropped before they were written")
	}
	if !g.Pending("d1") {
		t.Fatal("changed parameters not pending a write")
	}
	if failed, err := g.Write([]*Record{{ID: "d1"}}); err != nil || failed != nil {
		t.Fatalf("write: %v %v", failed, err)
	}
	g.Trim(never)
	if h, n := g.Held("d1"); h.Params || n != 0 {
		t.Fatalf("written parameters of an idle device kept with a cache of 0 (%d cached)", n)
	}
	if v, ok := paramOf(g, "d1", upTime); !ok || v.Value != "42" {
		t.Fatalf("read back from the store: %+v %v", v, ok)
	}
}

// The same values again are no change: nothing is queued for writing.
func TestUnchangedParamsAreNotWrittenAgain(t *testing.T) {
	g, _, _ := openTest(t, 10)
	g.Add("d1", true)
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "42")})
	if _, err := g.Write([]*Record{{ID: "d1"}}); err != nil {
		t.Fatal(err)
	}
	g.TakeDirty()
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "42")})
	if g.Pending("d1") || len(g.TakeDirty()) != 0 {
		t.Fatal("unchanged parameters queued for a write")
	}
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "43")})
	if !g.Pending("d1") || len(g.TakeDirty()) != 1 {
		t.Fatal("a changed value not queued for a write")
	}
}

// A device in use (a session) keeps its parameters whatever the cache size.
func TestDeviceInUseKeepsParams(t *testing.T) {
	g, _, _ := openTest(t, 0)
	g.Add("d1", true)
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "1")})
	if _, err := g.Write([]*Record{{ID: "d1"}}); err != nil {
		t.Fatal(err)
	}
	g.Trim(func(id string) bool { return id == "d1" })
	if h, _ := g.Held("d1"); !h.Params {
		t.Fatal("parameters of a device in session dropped")
	}
}

// The cache keeps the idle devices used last.
func TestCacheKeepsTheDevicesUsedLast(t *testing.T) {
	g, _, _ := openTest(t, 2)
	ids := []string{"d0", "d1", "d2", "d3"}
	for _, id := range ids {
		g.Add(id, true)
		g.SetParams(id, []soap.ParameterValue{pv(upTime, id)})
	}
	var recs []*Record
	for _, id := range ids {
		recs = append(recs, &Record{ID: id})
	}
	if _, err := g.Write(recs); err != nil {
		t.Fatal(err)
	}
	paramOf(g, "d0", upTime) // d0 used again: most recent
	g.Trim(never)
	for id, want := range map[string]bool{"d0": true, "d1": false, "d2": false, "d3": true} {
		if h, _ := g.Held(id); h.Params != want {
			t.Errorf("%s in memory %v, want %v", id, h.Params, want)
		}
	}
	if _, n := g.Held("d0"); n != 2 {
		t.Errorf("%d devices cached, want 2", n)
	}
}

// A record that cannot be stored costs the others nothing, and keeps its parameters in memory,
// dirty, for the next write (issue 9).
func TestFailedWriteKeepsItsParamsAndSparesTheOthers(t *testing.T) {
	g, st, _ := openTest(t, 0)
	bad := strings.Repeat("x", bolt.MaxKeySize+1) // bbolt refuses the key
	for _, id := range []string{"good", bad} {
		g.Add(id, true)
		g.SetParams(id, []soap.ParameterValue{pv(upTime, "7")})
	}
	failed, err := g.Write([]*Record{{ID: "good"}, {ID: bad}})
	if err == nil || len(failed) != 1 || failed[0] != bad {
		t.Fatalf("failed %d ids, err %v: want the oversized one only", len(failed), err)
	}
	g.Trim(never)
	if h, _ := g.Held(bad); !h.Params || !g.Pending(bad) {
		t.Fatal("the unwritten device's parameters were dropped or marked clean")
	}
	if p, err := st.Params("good"); err != nil || p[upTime].Value != "7" {
		t.Fatalf("the good device was not written beside the failing one: %v %v", p, err)
	}
}

// The last state stays in memory until it is stored, then is read from the store.
func TestStateLeavesMemoryOnceStored(t *testing.T) {
	g, _, _ := openTest(t, 0)
	g.Add("d1", true)
	g.SetState("d1", []byte(`{"wifi.ssid.1.ssid":"home"}`))
	if h, _ := g.Held("d1"); !h.State || !h.StateDirty {
		t.Fatalf("new state not held dirty: %+v", h)
	}
	if _, err := g.Write([]*Record{{ID: "d1"}}); err != nil {
		t.Fatal(err)
	}
	if h, _ := g.Held("d1"); h.State || h.StateDirty {
		t.Fatalf("stored state still in memory: %+v", h)
	}
	if v, err := g.State("d1"); err != nil || string(v) != `{"wifi.ssid.1.ssid":"home"}` {
		t.Fatalf("state from the store: %s %v", v, err)
	}
}

// Load registers the stored devices without reading their parameters; DeleteTx removes the
// record, parameters and state.
func TestLoadAndDelete(t *testing.T) {
	g, st, db := openTest(t, 10)
	g.Add("d1", true)
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "5")})
	g.SetState("d1", []byte(`{}`))
	if _, err := g.Write([]*Record{{ID: "d1", OUI: "00259E", PeriodicInterval: 300}}); err != nil {
		t.Fatal(err)
	}
	g2 := New(st, 10, zaptest.NewLogger(t))
	recs, err := loadRegistry(g2)
	if err != nil || len(recs) != 1 || recs[0].OUI != "00259E" || recs[0].PeriodicInterval != 300 || recs[0].Params != nil {
		t.Fatalf("loaded %+v %v", recs, err)
	}
	if h, _ := g2.Held("d1"); h.Params {
		t.Fatal("start-up read the raw parameters")
	}
	if v, ok := paramOf(g2, "d1", upTime); !ok || v.Value != "5" {
		t.Fatalf("parameters after a reload: %+v", v)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return DeleteTx(tx, "d1") }); err != nil {
		t.Fatal(err)
	}
	g2.Remove("d1")
	recs, _ = loadAll(st)
	p, _ := st.Params("d1")
	s, _ := st.State("d1")
	if len(recs) != 0 || p != nil || s != nil {
		t.Fatalf("after delete: %d records, params %v, state %q", len(recs), p, s)
	}
}

// A device goes offline after factor × its PeriodicInformInterval, never sooner than the floor;
// the default interval stands in while its own is unknown.
func TestOfflineAfter(t *testing.T) {
	a := Availability{Factor: 2.5, Floor: 2 * time.Minute, DefaultInterval: time.Hour}
	for _, c := range []struct {
		interval int64
		want     time.Duration
	}{{0, 150 * time.Minute}, {600, 25 * time.Minute}, {10, 2 * time.Minute}} {
		if got := a.OfflineAfter(&Record{PeriodicInterval: c.interval}); got != c.want {
			t.Errorf("interval %ds: offline after %v, want %v", c.interval, got, c.want)
		}
	}
}

// The counts of B/bridge/devices follow registrations, availability and removals, are reported
// once per change, and a device set online twice counts once.
func TestCountsFollowDevicesAndAvailability(t *testing.T) {
	g, st, _ := openTest(t, 10)
	take := func(wantDevices, wantOnline int, wantChanged bool) {
		t.Helper()
		n, on, changed := g.TakeCounts()
		if changed != wantChanged || changed && (n != wantDevices || on != wantOnline) {
			t.Fatalf("counts %d/%d changed %v, want %d/%d changed %v", n, on, changed, wantDevices, wantOnline, wantChanged)
		}
	}
	g.Add("d1", true)
	g.Add("d2", true)
	take(2, 0, true)
	take(0, 0, false)
	g.SetOnline("d1", true)
	g.SetOnline("d1", true)
	take(2, 1, true)
	g.SetOnline("d1", true)
	take(0, 0, false)
	g.TouchCounts()
	take(2, 1, true)
	g.Remove("d1")
	take(1, 0, true)
	g.SetOnline("gone", true)
	take(0, 0, false)

	g.SetOnline("d2", true)
	if _, err := g.Write([]*Record{{ID: "d2", Online: true}}); err != nil {
		t.Fatal(err)
	}
	g2 := New(st, 10, zaptest.NewLogger(t))
	if _, err := loadRegistry(g2); err != nil {
		t.Fatal(err)
	}
	if n, on, changed := g2.TakeCounts(); n != 1 || on != 1 || !changed {
		t.Fatalf("after load: %d/%d changed %v, want 1/1 to publish", n, on, changed)
	}
}

// A record's sums (InformSum, StateOf) describe the parameters of its ParamsGen: a record taken
// before its parameters changed again is stored without them, so the parameters stored beside
// it are compared again after a restart; one taken after the last change keeps them, also in a
// registry loaded from the store.
func TestRecordTakenBeforeItsParametersChangedIsStoredWithoutItsSums(t *testing.T) {
	g, st, _ := openTest(t, 0)
	g.Add("d1", true)
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "42")})
	taken := &Record{ID: "d1", ParamsGen: 1, InformSum: 5, StateOf: 7}
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "43")}) // after the record was taken
	stored := func(r *Record) Record {
		t.Helper()
		if _, err := g.Write([]*Record{r}); err != nil {
			t.Fatal(err)
		}
		recs, err := loadAll(st)
		if err != nil || len(recs) != 1 {
			t.Fatalf("load: %v %v", recs, err)
		}
		return *recs[0]
	}
	if r := stored(taken); r.InformSum != 0 || r.StateOf != 0 || r.ParamsGen != 2 {
		t.Fatalf("a record taken before the last change stored as %+v", r)
	}
	if r := stored(&Record{ID: "d1", ParamsGen: 2, InformSum: 5, StateOf: 7}); r.InformSum != 5 || r.StateOf != 7 {
		t.Fatalf("a current record stored as %+v", r)
	}
	g = New(st, 0, zaptest.NewLogger(t))
	if _, err := loadRegistry(g); err != nil {
		t.Fatal(err)
	}
	if r := stored(&Record{ID: "d1", ParamsGen: 2, InformSum: 5, StateOf: 7}); r.InformSum != 5 || r.StateOf != 7 {
		t.Fatalf("a current record stored after a reload as %+v", r)
	}
}
