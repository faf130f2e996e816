package boltmap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

var bucket = []byte("b")

// fill writes n values of 4 KiB (about 4n pages) to a new file.
func fill(t *testing.T, n int) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "m.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	put(t, db, 0, n)
	return db
}

func put(t *testing.T, db *bbolt.DB, from, to int) {
	t.Helper()
	if err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		for i := from; i < to; i++ {
			if err := b.Put(key(i), value(i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func key(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }

func value(i int) []byte { return bytes.Repeat([]byte(strconv.Itoa(i%10)), 4096) }

// readAll reads every value and checks it.
func readAll(db *bbolt.DB, n int) error {
	return db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		for i := range n {
			if v := b.Get(key(i)); !bytes.Equal(v, value(i)) {
				return fmt.Errorf("value %d: %d bytes, not what was written", i, len(v))
			}
		}
		return nil
	})
}

// mappedKiB is how much of path's map is resident in this process.
func mappedKiB(t *testing.T, path string) int {
	t.Helper()
	n, err := Resident(path)
	if err != nil {
		t.Skipf("no /proc/self/smaps here: %v", err)
	}
	return int(n >> 10)
}

func requireLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("release unmaps pages on Linux only")
	}
}

// A file read whole is resident in the process's map; after Release almost none of it is, and
// every value reads back as written.
func TestReleaseUnmapsTheFileAndKeepsItsData(t *testing.T) {
	requireLinux(t)
	const n = 5000 // about 20 MiB
	db := fill(t, n)
	if err := readAll(db, n); err != nil {
		t.Fatal(err)
	}
	before := mappedKiB(t, db.Path())
	if before < 15*1024 {
		t.Fatalf("only %d KiB of the file mapped after reading 20 MiB of it: the measure is wrong", before)
	}
	if err := Release(db); err != nil {
		t.Fatal(err)
	}
	after := mappedKiB(t, db.Path())
	if after > before/10 {
		t.Errorf("%d KiB of the file still mapped after the release (%d before)", after, before)
	}
	if err := readAll(db, n); err != nil {
		t.Fatalf("after the release: %v", err)
	}
	if again := mappedKiB(t, db.Path()); again < 15*1024 {
		t.Errorf("reading it again mapped only %d KiB", again)
	}
}

// Releases running beside readers and a writer that grows the file (bbolt remaps it) lose or
// garble nothing.
func TestReleaseBesideReadersAndAGrowingFile(t *testing.T) {
	requireLinux(t)
	const n, more = 2000, 6000
	db := fill(t, n)
	r := Start(time.Millisecond, zap.NewNop(), db)
	defer r.Stop()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := readAll(db, n); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for from := n; from < more; from += 500 {
		put(t, db, from, from+500)
	}
	close(stop)
	wg.Wait()
	r.Stop()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := readAll(db, more); err != nil {
		t.Error(err)
	}
}

// A file that cannot be released (closed under the releaser) is named in one warning, not one
// per tick.
func TestReleaseFailureIsLoggedOncePerFile(t *testing.T) {
	db := fill(t, 10)
	path := db.Path()
	core, logs := observer.New(zap.WarnLevel)
	r := Start(time.Millisecond, zap.New(core), db)
	db.Close()
	for deadline := time.Now().Add(10 * time.Second); logs.Len() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // dozens of ticks more
	r.Stop()
	r.Stop()
	got := logs.All()
	if len(got) != 1 {
		t.Fatalf("%d warnings, want 1: %v", len(got), got)
	}
	if f := got[0].ContextMap()["file"]; f != path {
		t.Errorf("the warning names %v, want %s", f, path)
	}
}
