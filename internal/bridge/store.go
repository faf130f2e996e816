package bridge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	bolt "go.etcd.io/bbolt"
)

// Bucket names in the shared store file. The registry (package registry: devices, params,
// state), the interview (package interview: models) and the outbox (package mqtt) keep their
// own buckets.
var (
	bucketTasks = []byte("tasks") // device id + 0x00 + seq (8 bytes, big endian) → taskRecord JSON
	// bucketFinished remembers finished request ids: device id + 0x00 + request id → finish time
	// (unix seconds, 8 bytes big endian), kept finishedKeep to drop QoS 1 redeliveries.
	bucketFinished = []byte("finished")
)

// finishedKeep is how long a finished request id is remembered. A broker redelivers an
// unacknowledged request at the gateway's next connection (seconds, or the length of an outage);
// a day covers the outages the gateway is built to ride out, at about 100 bytes of store per
// finished request.
const finishedKeep = 24 * time.Hour

// store is the bridge's view of the bbolt file.
type store struct {
	db     *bolt.DB
	commit committer // the task writes: grouped, without DB.Batch's delay
}

func openStore(db *bolt.DB) (*store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTasks, bucketFinished} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &store{db: db, commit: committer{db: db}}, nil
}

func taskKey(device string, seq uint64) []byte {
	k := make([]byte, 0, len(device)+9)
	k = append(k, device...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// deleteDevice removes a device and its queued tasks, with also's writes (the outbox entries of
// the requests' results) in the same transaction.
func (s *store) deleteDevice(id string, also func(*bolt.Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := also(tx); err != nil {
			return err
		}
		if err := registry.DeleteTx(tx, id); err != nil {
			return err
		}
		c := tx.Bucket(bucketTasks).Cursor()
		prefix := append([]byte(id), 0)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// putTask commits a marshalled task record. It returns once the write is durable; concurrent
// callers share one commit (committer).
func (s *store) putTask(device string, seq uint64, v []byte) error {
	return s.commit.do(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).Put(taskKey(device, seq), v)
	})
}

// updateTask rewrites the record of a task that is still stored. A task's progress is marshalled
// under the queues' lock and written after it: a write that comes after the task's end (a
// session re-queueing it while the sweeper expires it) must not bring it back, or the next start
// would run it again and publish a second result.
func (s *store) updateTask(device string, seq uint64, v []byte) error {
	return s.commit.do(func(tx *bolt.Tx) error { return updateTask(tx, device, seq, v) })
}

func updateTask(tx *bolt.Tx, device string, seq uint64, v []byte) error {
	b, k := tx.Bucket(bucketTasks), taskKey(device, seq)
	if b.Get(k) == nil { // ended meanwhile
		return nil
	}
	return b.Put(k, v)
}

// commitTask rewrites a task's record v (when still stored: updateTask), or deletes it when v is
// nil, together with also's writes (the outbox entry of its result) in one transaction: a crash
// or a failed write cannot keep the task's end without its result, nor the reverse.
func (s *store) commitTask(device string, seq uint64, v []byte, also func(*bolt.Tx) error) error {
	return s.commit.do(func(tx *bolt.Tx) error {
		var err error
		if v == nil {
			err = tx.Bucket(bucketTasks).Delete(taskKey(device, seq))
		} else {
			err = updateTask(tx, device, seq, v)
		}
		if err != nil {
			return err
		}
		return also(tx)
	})
}

func finishedKey(device, id string) []byte {
	k := make([]byte, 0, len(device)+1+len(id))
	k = append(k, device...)
	k = append(k, 0)
	return append(k, id...)
}

// putFinished records a finished request id inside tx (the transaction that ends the task).
func putFinished(tx *bolt.Tx, device, id string, at time.Time) error {
	return tx.Bucket(bucketFinished).Put(finishedKey(device, id), binary.BigEndian.AppendUint64(nil, uint64(at.Unix())))
}

// finishedSince reports whether request id of device finished at or after since.
func (s *store) finishedSince(device, id string, since time.Time) (bool, error) {
	var seen bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketFinished).Get(finishedKey(device, id))
		seen = len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= since.Unix()
		return nil
	})
	return seen, err
}

// pruneFinished forgets the ids that finished before cutoff.
func (s *store) pruneFinished(cutoff time.Time) (n int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFinished)
		var old [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < cutoff.Unix() {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, err
}

func (s *store) deleteTask(device string, seq uint64) error {
	return s.commit.do(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).Delete(taskKey(device, seq))
	})
}

// load reads every task at start-up (the registry loads the devices).
func (s *store) load() (tasks []*taskRecord, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			t := &taskRecord{}
			if err := json.Unmarshal(v, t); err != nil {
				return fmt.Errorf("store: task %x: %w", k, err)
			}
			tasks = append(tasks, t)
			return nil
		})
	})
	return tasks, err
}
