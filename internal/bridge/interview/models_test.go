package interview

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	bolt "go.etcd.io/bbolt"
)

func openDB(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// A model's names stored by one gateway are found by the next start (a sibling skips discovery);
// an unknown model is nil.
func TestModelsStoredNamesSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := openDB(t, path)
	m, err := OpenModels(db)
	if err != nil {
		t.Fatal(err)
	}
	key := Key("00D09E", "IGD", "1.0")
	if got, err := m.Get(key); err != nil || got != nil {
		t.Fatalf("unknown model: %v, %v", got, err)
	}
	model := sdk.NewDataModel([]string{"Device.", "Device.DeviceInfo.UpTime"})
	m.Found(key, model)
	if m.Loaded(key) != model {
		t.Error("a found model is not in memory")
	}
	if err := m.Store(key, model, "00D09E-IGD-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, path)
	defer db.Close()
	m, err = OpenModels(db)
	if err != nil {
		t.Fatal(err)
	}
	if m.Loaded(key) != nil {
		t.Error("a model in memory before it was read")
	}
	got, err := m.Get(key)
	if err != nil || got == nil || got.Len() != 2 || !got.Has("Device.DeviceInfo.UpTime") {
		t.Fatalf("stored model after a restart: %v, %v", got, err)
	}
	if m.Loaded(key) != got {
		t.Error("a model read from the store is not kept in memory")
	}
	if other, _ := m.Get(Key("00D09E", "IGD", "1.1")); other != nil {
		t.Error("another firmware shares the names")
	}
}

// One device discovers a model key at a time; its name stays until released.
func TestModelsOneDiscovererPerKey(t *testing.T) {
	m, err := OpenModels(openDB(t, filepath.Join(t.TempDir(), "store.db")))
	if err != nil {
		t.Fatal(err)
	}
	key := Key("00D09E", "IGD", "1.0")
	if m.Discoverer(key) != "" {
		t.Fatal("a discoverer before any claim")
	}
	m.Claim(key, "dev-1")
	if m.Discoverer(key) != "dev-1" || m.Discoverer(Key("00D09E", "IGD", "2.0")) != "" {
		t.Error("the claim is not the key's alone")
	}
	m.Claim(key, "dev-2")
	if m.Discoverer(key) != "dev-2" {
		t.Error("a new claim does not replace the old one")
	}
	m.Release(key)
	if m.Discoverer(key) != "" {
		t.Error("released, still discovering")
	}
	if Printable(key) != "00D09E/IGD/1.0" {
		t.Errorf("printable key %q", Printable(key))
	}
}

// TestModelsLateEmptyReadDoesNotHideAFoundModel: a sibling's store read that began before the
// discovering device found the model ends after it; its "none" must not replace the model in
// memory (siblings would discover the same tree again until the next restart). The two race on
// fresh keys (a race: on the old code a few keys in 2,000 lost their model in most runs).
func TestModelsLateEmptyReadDoesNotHideAFoundModel(t *testing.T) {
	m, err := OpenModels(openDB(t, filepath.Join(t.TempDir(), "store.db")))
	if err != nil {
		t.Fatal(err)
	}
	model := sdk.NewDataModel([]string{"Device.", "Device.DeviceInfo.UpTime"})
	lost := 0
	for i := range 2000 {
		key := Key("00D09E", "IGD", fmt.Sprint(i))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := m.Get(key); err != nil {
				t.Error(err)
			}
		}()
		m.Found(key, model)
		<-done
		if m.Loaded(key) != model {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of 2000 found models hidden by a late empty store read", lost)
	}
}
