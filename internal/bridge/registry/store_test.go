package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/boltmap"
)

// collect is every record each hands over (Store.Each, Registry.Load), copied.
func collect(each func(func(*Record)) error) ([]*Record, error) {
	var recs []*Record
	err := each(func(r *Record) {
		c := *r
		recs = append(recs, &c)
	})
	return recs, err
}

// loadAll is every stored record, as a start reads them.
func loadAll(st *Store) ([]*Record, error) { return collect(st.Each) }

// loadRegistry loads g as a start does and returns the records it handed on.
func loadRegistry(g *Registry) ([]*Record, error) { return collect(g.Load) }

// twoFiles opens (or reopens) the records' and the values' files of dir.
func twoFiles(t *testing.T, dir string) (*Store, *bolt.DB, *bolt.DB) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "gw.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	values, err := bolt.Open(filepath.Join(dir, "gw.values.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(db, values)
	if err != nil {
		t.Fatal(err)
	}
	return st, db, values
}

func closeAll(dbs ...*bolt.DB) {
	for _, db := range dbs {
		_ = db.Close()
	}
}

// deviceWithValues is a record with raw parameters (n of them) and a state, and its sums set as
// after a periodic Inform that changed nothing.
func deviceWithValues(id string, n int) *Record {
	p := make(map[string]ParamValue, n)
	for i := range n {
		p[fmt.Sprintf("InternetGatewayDevice.X.%d.Value", i)] = ParamValue{Value: fmt.Sprintf("%s-%d-%x", id, i, i*7919), Type: "xsd:string"}
	}
	return &Record{ID: id, Params: p, State: []byte(`{"id":"` + id + `"}`), ParamsGen: 3, InformSum: 0xfeed, StateOf: 0xbeef}
}

func bucketKeys(t *testing.T, db *bolt.DB, name string) int {
	t.Helper()
	n := -1
	_ = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(name)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// With a values file, the raw parameters and states go there and the records file holds the
// records alone; both read back, also after a restart.
func TestValuesLiveInTheirOwnFileAndTheRecordsAlone(t *testing.T) {
	dir := t.TempDir()
	st, db, values := twoFiles(t, dir)
	if failed, err := st.Put([]*Record{deviceWithValues("d1", 20), deviceWithValues("d2", 20)}); err != nil || failed != nil {
		t.Fatalf("put: %v %v", failed, err)
	}
	if n := bucketKeys(t, db, "params"); n != -1 {
		t.Fatalf("the records file has a params bucket (%d keys)", n)
	}
	if n := bucketKeys(t, values, "params"); n != 2 {
		t.Fatalf("values file: %d parameter sets, want 2", n)
	}
	if n := bucketKeys(t, values, "devices"); n != -1 {
		t.Fatal("the values file has records")
	}
	if err := st.MarkClean(); err != nil {
		t.Fatal(err)
	}
	closeAll(db, values)

	st, db, values = twoFiles(t, dir)
	defer closeAll(db, values)
	recs, err := loadAll(st)
	if err != nil || len(recs) != 2 {
		t.Fatalf("load: %d records, %v", len(recs), err)
	}
	p, err := st.Params("d2")
	if err != nil || p["InternetGatewayDevice.X.7.Value"].Value != "d2-7-d889" {
		t.Fatalf("parameters read back: %v, %v", p["InternetGatewayDevice.X.7.Value"], err)
	}
	if s, err := st.State("d1"); err != nil || string(s) != `{"id":"d1"}` {
		t.Fatalf("state read back: %s, %v", s, err)
	}
}

// The records' sums let a periodic Inform skip comparing against the stored values. They are
// kept after a clean stop and dropped after any other (a kill between the values' commit and
// the records' could leave values newer than the sums that describe them).
func TestRecordSumsAreDroppedAfterAStopThatWasNotClean(t *testing.T) {
	for _, clean := range []bool{true, false} {
		t.Run(fmt.Sprintf("clean=%v", clean), func(t *testing.T) {
			dir := t.TempDir()
			st, db, values := twoFiles(t, dir)
			if _, err := st.Put([]*Record{deviceWithValues("d1", 5)}); err != nil {
				t.Fatal(err)
			}
			if clean {
				if err := st.MarkClean(); err != nil {
					t.Fatal(err)
				}
			}
			closeAll(db, values) // without MarkClean: as a kill -9 leaves the files

			st, db, values = twoFiles(t, dir)
			defer closeAll(db, values)
			recs, err := loadAll(st)
			if err != nil || len(recs) != 1 {
				t.Fatalf("load: %v %v", recs, err)
			}
			r := recs[0]
			kept := r.InformSum == 0xfeed && r.StateOf == 0xbeef
			if kept != clean || st.Unclean() == clean {
				t.Fatalf("after a stop clean=%v: inform_sum %x, state_of %x, unclean %v", clean, r.InformSum, r.StateOf, st.Unclean())
			}
			if r.ParamsGen != 3 {
				t.Fatalf("params_gen %d, want it kept (3)", r.ParamsGen)
			}
			// The mark is consumed at start: a kill of this run is unclean again.
			closeAll(db, values)
			st, db, values = twoFiles(t, dir)
			if !st.Unclean() {
				t.Fatal("the clean-stop mark outlived the start that read it")
			}
		})
	}
}

// A store written by an earlier version (one file with every bucket) keeps working: the values
// are read where it wrote them until the device's values change and are written to the values
// file, whose copy then wins; removing the device removes both.
func TestValuesWrittenByAnEarlierVersionAreReadFromTheRecordsFile(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "gw.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, err := OpenStore(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Put([]*Record{deviceWithValues("d1", 5), deviceWithValues("d2", 5)}); err != nil {
		t.Fatal(err)
	}
	closeAll(db)

	st, db, values := twoFiles(t, dir)
	defer closeAll(db, values)
	if st.Unclean() {
		t.Fatal("a new values file counted as a stop that was not clean")
	}
	if p, err := st.Params("d1"); err != nil || p["InternetGatewayDevice.X.1.Value"].Value != "d1-1-1eef" {
		t.Fatalf("earlier version's parameters: %v, %v", p, err)
	}
	if s, err := st.State("d2"); err != nil || string(s) != `{"id":"d2"}` {
		t.Fatalf("earlier version's state: %s, %v", s, err)
	}
	changed := deviceWithValues("d1", 5)
	changed.Params["InternetGatewayDevice.X.1.Value"] = ParamValue{Value: "new"}
	changed.State = []byte(`{"id":"d1","v":2}`)
	if _, err := st.Put([]*Record{changed}); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Params("d1"); p["InternetGatewayDevice.X.1.Value"].Value != "new" {
		t.Fatalf("the values file's copy does not win: %v", p["InternetGatewayDevice.X.1.Value"])
	}
	if s, _ := st.State("d1"); string(s) != `{"id":"d1","v":2}` {
		t.Fatalf("state after the change: %s", s)
	}
	if err := st.DeleteValues("d2"); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return DeleteTx(tx, "d2") }); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Params("d2"); p != nil {
		t.Fatalf("a removed device's parameters still read: %v", p)
	}
	if s, _ := st.State("d2"); s != nil {
		t.Fatalf("a removed device's state still read: %s", s)
	}
}

// residentKB is how much of file this process has mapped and resident.
func residentKB(t *testing.T, file string) int {
	t.Helper()
	n, err := boltmap.Resident(file)
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	return int(n >> 10)
}

// Loading the records at start maps the records and none of the values: in one file the
// records' pages lay between the values' and the start mapped most of the file (at 100,000
// devices about 270 MiB of a 772 MB store; docs/performance.md).
func TestLoadingTheRecordsLeavesTheValuesFileUnread(t *testing.T) {
	dir := t.TempDir()
	st, db, values := twoFiles(t, dir)
	for i := range 20 {
		recs := make([]*Record, 0, 100)
		for j := range 100 {
			recs = append(recs, deviceWithValues(fmt.Sprintf("dev-%02d-%03d", i, j), 60))
		}
		if _, err := st.Put(recs); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MarkClean(); err != nil {
		t.Fatal(err)
	}
	closeAll(db, values)
	valuesFile := filepath.Join(dir, "gw.values.db")
	info, err := os.Stat(valuesFile)
	if err != nil {
		t.Fatal(err)
	}

	st, db, values = twoFiles(t, dir)
	defer closeAll(db, values)
	recs, err := loadAll(st)
	if err != nil || len(recs) != 2000 {
		t.Fatalf("load: %d records, %v", len(recs), err)
	}
	if kb, fileKB := residentKB(t, valuesFile), int(info.Size()/1024); kb*16 > fileKB {
		t.Fatalf("loading the records mapped %d KB of the %d KB values file, want under a sixteenth", kb, fileKB)
	}
	if kb := residentKB(t, filepath.Join(dir, "gw.db")); kb == 0 {
		t.Fatal("the records file shows no resident pages after the load: the measure does not see the maps")
	}
}
