// Package boltmap gives back the pages of a bbolt file's memory map that the gateway no longer
// uses. It sits beside the store: cmd/cwmp2mqtt releases its store files (the records and the
// values file), package mqtt the embedded broker's retained-message file.
//
// bbolt reads through a read-only shared map of the file, so every page a read or a write ever
// touched stays mapped and counts in the process's RSS (RssFile) until the kernel reclaims it
// under memory pressure. At 100,000 devices that was 170–330 MiB after a registration wave and
// the whole retained file after a subscriber read the fleet, beside a heap of 125 MB. Release
// unmaps them (madvise MADV_DONTNEED): the data stays in the page cache, shared and
// reclaimable as before, and the next read of a page maps it again with a minor fault. RSS then
// counts what the gateway holds, the pages used since the last release, not every page it ever
// read.
package boltmap

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// DefaultInterval is how often the gateway releases its files' maps by default
// (store.release_pages). Between two releases the pages the sessions of that time read come
// back: at 100,000 devices and 100–1,000 periodic sessions a second, a few MiB of the store files
// were mapped when read; a release of a fully mapped 600 MB file takes about 6 ms
// (docs/performance.md).
const DefaultInterval = 10 * time.Second

// Release drops every page of db's map from the process's page tables; db stays usable, and a
// page read again is mapped again. It runs inside a read transaction, so bbolt cannot remap the
// file (when it grows) meanwhile.
func Release(db *bbolt.DB) error {
	return db.View(func(tx *bbolt.Tx) error {
		if err := release(db.Info().Data, tx.Size()); err != nil {
			return fmt.Errorf("boltmap: release %s: %w", db.Path(), err)
		}
		return nil
	})
}

// Releaser releases files' maps at an interval until Stop.
type Releaser struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Start releases the maps of dbs every interval in a goroutine of its own; a failure is logged
// once per file, naming it, and the next tick tries again. Stop it before closing the files.
func Start(interval time.Duration, log *zap.Logger, dbs ...*bbolt.DB) *Releaser {
	r := &Releaser{stop: make(chan struct{}), done: make(chan struct{})}
	paths := make([]string, len(dbs)) // read now: a closed DB forgets its path
	for i, db := range dbs {
		paths[i] = db.Path()
	}
	go r.run(interval, log, dbs, paths)
	return r
}

func (r *Releaser) run(interval time.Duration, log *zap.Logger, dbs []*bbolt.DB, paths []string) {
	defer close(r.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	failed := make([]bool, len(dbs))
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		for i, db := range dbs {
			err := Release(db)
			if err != nil && !failed[i] {
				log.Warn("store pages not released from memory; they stay mapped until the kernel reclaims them",
					zap.String("file", paths[i]), zap.Error(err))
			}
			failed[i] = err != nil
		}
	}
}

// Stop ends the releases and waits for one in progress; it may be called more than once.
func (r *Releaser) Stop() {
	r.once.Do(func() { close(r.stop) })
	<-r.done
}

// Resident is how many bytes of path's maps are resident in this process (the Rss lines of
// /proc/self/smaps; Linux only). It is what RSS counts of the file.
func Resident(path string) (int64, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var kib int64
	mine := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, _ := strings.Cut(sc.Text(), " ")
		if !strings.HasSuffix(key, ":") { // a mapping's first line: address range, …, path
			mine = strings.HasSuffix(rest, " "+path)
		} else if mine && key == "Rss:" {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("boltmap: /proc/self/smaps: %q: %w", sc.Text(), err)
			}
			kib += n
		}
	}
	return kib << 10, sc.Err()
}
