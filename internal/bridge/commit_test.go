package bridge

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openCommitStore(t *testing.T) *store {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := openStore(db)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitQueued waits until n writes wait behind the running commit.
func waitQueued(t *testing.T, st *store, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		st.commit.mu.Lock()
		queued := len(st.commit.queue)
		st.commit.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d writes queued behind the running commit", queued, n)
		}
	}
}

// assertStored fails unless the tasks of "dev" with these seqs are in the store.
func assertStored(t *testing.T, st *store, seqs ...uint64) {
	t.Helper()
	_ = st.db.View(func(tx *bolt.Tx) error {
		for _, seq := range seqs {
			if tx.Bucket(bucketTasks).Get(taskKey("dev", seq)) == nil {
				t.Errorf("task %d is not in the store", seq)
			}
		}
		return nil
	})
}

// A request's task writes (queued, in flight, ended) each waited for bbolt's MaxBatchDelay in
// case other writers joined: with nobody else writing, that delay was all latency.
func TestALoneTaskWriteDoesNotWaitForOthersToJoin(t *testing.T) {
	st := openCommitStore(t)
	st.db.MaxBatchDelay = time.Hour // DB.Batch would hold a lone write this long
	done := make(chan error, 1)
	go func() { done <- st.putTask("dev", 1, []byte(`{}`)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a lone task write waited for others to join its commit")
	}
	assertStored(t, st, 1)
}

// Writes that arrive while a commit runs share the next one: one transaction (one fsync) for
// the group, not one each.
func TestTaskWritesArrivingDuringACommitShareTheNextOne(t *testing.T) {
	st := openCommitStore(t)
	inFirst, release := make(chan struct{}), make(chan struct{})
	var first sync.WaitGroup
	first.Add(1)
	go func() {
		defer first.Done()
		err := st.commit.do(func(tx *bolt.Tx) error {
			close(inFirst)
			<-release // the commit is running: the writes below queue behind it
			return tx.Bucket(bucketTasks).Put(taskKey("dev", 0), []byte(`{}`))
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-inFirst
	const n = 8
	var mu sync.Mutex
	txs := map[*bolt.Tx]int{}
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.commit.do(func(tx *bolt.Tx) error {
				mu.Lock()
				txs[tx]++
				mu.Unlock()
				return tx.Bucket(bucketTasks).Put(taskKey("dev", uint64(i)), []byte(`{}`))
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	waitQueued(t, st, n) // every write is queued before the first commit may end
	close(release)
	first.Wait()
	wg.Wait()
	if len(txs) != 1 {
		t.Fatalf("the %d writes queued during a commit took %d transactions, want 1", n, len(txs))
	}
	assertStored(t, st, 0, 1, 2, 3, 4, 5, 6, 7, 8)
}

// A write that fails (or panics) gets its own error; the writes grouped with it are committed.
func TestAFailingTaskWriteDoesNotFailItsGroup(t *testing.T) {
	st := openCommitStore(t)
	inFirst, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = st.commit.do(func(tx *bolt.Tx) error {
			close(inFirst)
			<-release
			return nil
		})
	}()
	<-inFirst
	bad := errors.New("no room")
	results := make([]error, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = st.commit.do(func(tx *bolt.Tx) error {
				switch i {
				case 1:
					return bad
				case 2:
					panic("broken write")
				}
				return tx.Bucket(bucketTasks).Put(taskKey("dev", uint64(i)), []byte(`{}`))
			})
		}()
	}
	waitQueued(t, st, len(results))
	close(release)
	wg.Wait()
	if !errors.Is(results[1], bad) {
		t.Errorf("the failing write got %v, want its own error", results[1])
	}
	if results[2] == nil {
		t.Error("the panicking write reported success")
	}
	for _, i := range []int{0, 3} {
		if results[i] != nil {
			t.Errorf("write %d failed with its neighbours' error: %v", i, results[i])
		}
	}
	assertStored(t, st, 0, 3)
	// The committer is free again: a later write goes through.
	if err := st.putTask("dev", 9, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
}
