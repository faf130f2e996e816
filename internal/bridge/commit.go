package bridge

import (
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// committer groups the task queues' concurrent writes into shared commits without a batching
// delay. A write that finds no commit running commits at once; the writes that arrive while a
// commit runs (its fsyncs) go together in the next one. bbolt's DB.Batch instead holds every
// batch open for MaxBatchDelay in case others join, and a platform request makes three writes in
// a row (queued, in flight, ended): on an otherwise idle queue that was 3 × MaxBatchDelay on
// every request's way to `done` (docs/performance.md). Under load the grouping is what Batch
// gives: the fsyncs of one commit are the window the next group gathers in.
type committer struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*commitCall
	running bool // a goroutine is committing; it takes queue when its commit ends
}

type commitCall struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// do runs fn in a write transaction shared with the writes queued beside it and returns once
// that transaction committed (or fn failed). As with DB.Batch, fn may run more than once: when
// another write of its group fails, the group is run again without it, so fn must only write
// within tx.
func (c *committer) do(fn func(*bolt.Tx) error) error {
	call := &commitCall{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, call)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		c.drain(false)
	}
	return <-call.done
}

// drain commits the queued writes, group after group, until none is left. The caller's own write
// is in the first group: a caller that is not a background goroutine (loop false) returns after
// that commit, handing what came meanwhile to a new goroutine, so a steady stream of writes never
// keeps one request waiting for others.
func (c *committer) drain(loop bool) {
	for {
		c.mu.Lock()
		group := c.queue
		c.queue = nil
		c.mu.Unlock()
		c.commit(group)
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if !loop {
			go c.drain(true)
			return
		}
	}
}

// commit runs group in one transaction. A write that fails rolls the transaction back: it is run
// alone for its own error, and the others are committed without it (DB.Batch does the same), so
// one bad write never fails its neighbours.
func (c *committer) commit(group []*commitCall) {
	for len(group) > 0 {
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, call := range group {
				if err := safeCall(call.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 || len(group) == 1 {
			for _, call := range group {
				call.done <- err
			}
			return
		}
		bad := group[failed]
		group = append(group[:failed:failed], group[failed+1:]...)
		bad.done <- c.db.Update(func(tx *bolt.Tx) error { return safeCall(bad.fn, tx) })
	}
}

// safeCall turns a panic of fn into its error, as DB.Batch does: a panicking write must not
// leave the committer marked running with its group waiting for ever (an HTTP handler's panic
// is recovered by net/http, and the gateway goes on).
func safeCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store write panicked: %v", p)
		}
	}()
	return fn(tx)
}
