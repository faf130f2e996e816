package registry

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket names of the registry in the shared store file (the task queue and the outbox keep
// their own buckets).
var (
	bucketDevices = []byte("devices") // device id → Record JSON
	bucketParams  = []byte("params")  // device id → its raw parameters, compact (params.go)
	bucketState   = []byte("state")   // device id → its last normalized state, JSON compressed (compact.go)
)

// Store is the registry's view of the bbolt file.
type Store struct {
	db *bolt.DB
}

// OpenStore creates the registry's buckets when they are missing.
func OpenStore(db *bolt.DB) (*Store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketDevices, bucketParams, bucketState} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Put writes device records in one transaction (write-behind flush and registrations); a
// record's Params and State are written too when not nil (nil: unchanged). When that
// transaction fails, each record is written in a transaction of its own, so one record that
// cannot be stored never costs the others their write (issue 9): failed lists the ids still not
// written, err the first cause.
func (s *Store) Put(recs []*Record) (failed []string, err error) {
	if len(recs) == 0 {
		return nil, nil
	}
	if err = s.db.Batch(func(tx *bolt.Tx) error { return putRecords(tx, recs) }); err == nil || len(recs) == 1 {
		if err != nil {
			failed = []string{recs[0].ID}
		}
		return failed, err
	}
	first := err
	for _, r := range recs {
		if err := s.db.Batch(func(tx *bolt.Tx) error { return putRecords(tx, []*Record{r}) }); err != nil {
			failed = append(failed, r.ID)
			first = err
		}
	}
	if len(failed) == 0 {
		return nil, nil
	}
	return failed, first
}

func putRecords(tx *bolt.Tx, recs []*Record) error {
	b, pb, sb := tx.Bucket(bucketDevices), tx.Bucket(bucketParams), tx.Bucket(bucketState)
	for _, r := range recs {
		v, err := r.AppendJSON(nil) // json.Marshal's bytes, without reflection
		if err != nil {
			return fmt.Errorf("device %s: %w", r.ID, err)
		}
		if err := b.Put([]byte(r.ID), v); err != nil {
			return fmt.Errorf("device %.64s: %w", r.ID, err)
		}
		if r.Params != nil {
			if err := pb.Put([]byte(r.ID), encodeParams(r.Params)); err != nil {
				return fmt.Errorf("device %.64s: %w", r.ID, err)
			}
		}
		if r.State != nil {
			if err := sb.Put([]byte(r.ID), encodeState(r.State)); err != nil {
				return fmt.Errorf("device %.64s: %w", r.ID, err)
			}
		}
	}
	return nil
}

// DeleteTx removes a device's record, parameters and state inside tx (the bridge's removal of
// the device, its queue and the results of its requests commit together).
func DeleteTx(tx *bolt.Tx, id string) error {
	for _, b := range [][]byte{bucketDevices, bucketParams, bucketState} {
		if err := tx.Bucket(b).Delete([]byte(id)); err != nil {
			return err
		}
	}
	return nil
}

// Params reads a device's raw parameters (nil when none are stored).
func (s *Store) Params(id string) (p map[string]ParamValue, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketParams).Get([]byte(id)); v != nil {
			var err error
			if p, err = decodeParams(v); err != nil {
				return fmt.Errorf("store: parameters of %q: %w", id, err)
			}
		}
		return nil
	})
	return p, err
}

// State reads a device's last normalized state, JSON (nil when none is stored).
func (s *Store) State(id string) (v []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if s := tx.Bucket(bucketState).Get([]byte(id)); s != nil {
			var err error
			if v, err = decodeState(s); err != nil {
				return fmt.Errorf("store: state of %q: %w", id, err)
			}
		}
		return nil
	})
	return v, err
}

// Load reads every device record at start-up; the raw parameters are read when they are used.
func (s *Store) Load() (recs []*Record, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDevices).ForEach(func(k, v []byte) error {
			r := &Record{}
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("store: device %q: %w", k, err)
			}
			recs = append(recs, r)
			return nil
		})
	})
	return recs, err
}
