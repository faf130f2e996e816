package registry

import (
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Bucket names of the registry. The records are in the shared store file (the task queue and
// the outbox keep their own buckets there); the raw parameters and states are in a file of their
// own beside it (OpenStore), or in the shared file when there is only one.
var (
	bucketDevices = []byte("devices") // device id → Record, binary (recordbin.go)
	bucketParams  = []byte("params")  // device id → its raw parameters, compact (params.go)
	bucketState   = []byte("state")   // device id → its last normalized state, JSON compressed (compact.go)
	// bucketValuesMeta is in the values file only: valuesCleanKey is there while the file is
	// closed after a clean stop (Store.MarkClean).
	bucketValuesMeta = []byte("meta")
	valuesCleanKey   = []byte("clean")
)

// recordsFill is the page fill of the devices bucket: every known device's record is read at
// start, so its pages are filled further than bbolt's default half (records are rewritten whole,
// so a full page costs a write no more than a half-full one).
const recordsFill = 0.9

// Store is the registry's view of the bbolt files.
//
// Why two files: the devices' records are read at every start, their raw parameters and states
// (nine tenths of the bytes) only when a device's values change or are asked for. In one file the
// records' pages lie between the values' pages written in the same transactions, and reading
// them at start mapped nearly the whole file (the kernel maps the cached pages around each one
// it faults in), so at 100,000 devices the start made most of the store resident. With the values
// apart, a start maps the records alone.
//
// Between two files there is no common transaction: values are committed before the records
// that describe them (Put), and removed before the record (DeleteValues). A stop between the two
// commits leaves values newer than their record; the record's sums (InformSum, StateOf) could
// then let a periodic Inform skip comparing against values it does not match. So the values file
// carries a clean-stop mark, and a start after anything else drops those sums (Load): each
// device's first Inform is then compared in full, once.
type Store struct {
	db     *bolt.DB // the records
	values *bolt.DB // the raw parameters and states: db itself, or a file of its own
	// legacy: values may still be in the records file (written there by an earlier version),
	// read when the values file has none for the device. unclean: the values file was not
	// closed by a clean stop.
	legacy, unclean bool
}

// OpenStore creates the registry's buckets when they are missing. values holds the raw
// parameters and states; nil or db: the records' file holds them too.
func OpenStore(db, values *bolt.DB) (*Store, error) {
	if values == nil {
		values = db
	}
	s := &Store{db: db, values: values}
	err := db.Update(func(tx *bolt.Tx) error {
		buckets := [][]byte{bucketDevices}
		if values == db {
			buckets = append(buckets, bucketParams, bucketState)
		} else {
			s.legacy = tx.Bucket(bucketParams) != nil || tx.Bucket(bucketState) != nil
		}
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil || values == db {
		return s, err
	}
	err = values.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketValuesMeta)
		// A file without the bucket is new (or was never used), not stopped midway.
		s.unclean = meta != nil && meta.Get(valuesCleanKey) == nil
		for _, b := range [][]byte{bucketParams, bucketState, bucketValuesMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", b, err)
			}
		}
		// Running now: the mark comes back only with the next clean stop.
		return tx.Bucket(bucketValuesMeta).Delete(valuesCleanKey)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// MarkClean records in the values file that every write of this run is committed (the bridge's
// last flush succeeded): the next start may trust the records' sums.
func (s *Store) MarkClean() error {
	if s.values == s.db {
		return nil
	}
	return s.values.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketValuesMeta).Put(valuesCleanKey, []byte{1})
	})
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
	if err = s.put(recs); err == nil || len(recs) == 1 {
		if err != nil {
			failed = []string{recs[0].ID}
		}
		return failed, err
	}
	first := err
	for _, r := range recs {
		if err := s.put([]*Record{r}); err != nil {
			failed = append(failed, r.ID)
			first = err
		}
	}
	if len(failed) == 0 {
		return nil, nil
	}
	return failed, first
}

// put commits recs: in one transaction with their values when one file holds both, else their
// values first, then the records.
func (s *Store) put(recs []*Record) error {
	if s.values == s.db {
		return s.db.Batch(func(tx *bolt.Tx) error {
			if err := putValues(tx, recs); err != nil {
				return err
			}
			return putRecords(tx, recs)
		})
	}
	if slices.ContainsFunc(recs, func(r *Record) bool { return r.Params != nil || r.State != nil }) {
		if err := s.values.Batch(func(tx *bolt.Tx) error { return putValues(tx, recs) }); err != nil {
			return err
		}
	}
	return s.db.Batch(func(tx *bolt.Tx) error { return putRecords(tx, recs) })
}

func putRecords(tx *bolt.Tx, recs []*Record) error {
	b := tx.Bucket(bucketDevices)
	b.FillPercent = recordsFill
	for _, r := range recs {
		if err := b.Put([]byte(r.ID), encodeRecord(r)); err != nil {
			return fmt.Errorf("device %.64s: %w", r.ID, err)
		}
	}
	return nil
}

func putValues(tx *bolt.Tx, recs []*Record) error {
	pb, sb := tx.Bucket(bucketParams), tx.Bucket(bucketState)
	for _, r := range recs {
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

// DeleteTx removes a device's record inside tx (the bridge's removal of the device, its queue
// and the results of its requests commit together), and its values when they are in that file.
// DeleteValues removes them from a values file of their own first.
func DeleteTx(tx *bolt.Tx, id string) error {
	return deleteIn(tx, id, bucketDevices, bucketParams, bucketState)
}

// DeleteValues removes a device's raw parameters and state from the values file when it is
// not the records' one; called before the record's removal (DeleteTx), so a stop between the two
// leaves a record without values (read as none), never values without their record.
func (s *Store) DeleteValues(id string) error {
	if s.values == s.db {
		return nil
	}
	return s.values.Update(func(tx *bolt.Tx) error { return deleteIn(tx, id, bucketParams, bucketState) })
}

// deleteIn removes id from each of the buckets that tx's file has.
func deleteIn(tx *bolt.Tx, id string, buckets ...[]byte) error {
	for _, name := range buckets {
		if b := tx.Bucket(name); b != nil {
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
		}
	}
	return nil
}

// value reads a device's entry of bucket: from the values file, else (legacy) from the records
// file where an earlier version wrote it; decode runs inside the transaction.
func (s *Store) value(bucket []byte, id string, decode func([]byte) error) error {
	found := false
	err := s.values.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucket).Get([]byte(id)); v != nil {
			found = true
			return decode(v)
		}
		return nil
	})
	if err != nil || found || !s.legacy {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			if v := b.Get([]byte(id)); v != nil {
				return decode(v)
			}
		}
		return nil
	})
}

// Params reads a device's raw parameters (nil when none are stored).
func (s *Store) Params(id string) (p map[string]ParamValue, err error) {
	err = s.value(bucketParams, id, func(v []byte) error {
		var err error
		if p, err = decodeParams(v); err != nil {
			return fmt.Errorf("store: parameters of %q: %w", id, err)
		}
		return nil
	})
	return p, err
}

// State reads a device's last normalized state, JSON (nil when none is stored).
func (s *Store) State(id string) (v []byte, err error) {
	err = s.value(bucketState, id, func(b []byte) error {
		var err error
		if v, err = decodeState(b); err != nil {
			return fmt.Errorf("store: state of %q: %w", id, err)
		}
		return nil
	})
	return v, err
}

// Each reads every device record at start-up, one at a time into the same Record (fn copies
// what it keeps: 100,000 records are not all in memory twice); the raw parameters are read when
// they are used. After a stop that was not clean (OpenStore), the sums that let an Inform skip
// comparing against the stored values are dropped.
func (s *Store) Each(fn func(r *Record)) error {
	r := &Record{}
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDevices).ForEach(func(k, v []byte) error {
			if err := decodeRecord(v, r); err != nil {
				return fmt.Errorf("store: device %q: %w", k, err)
			}
			if s.unclean {
				r.InformSum, r.StateOf = 0, 0
			}
			fn(r)
			return nil
		})
	})
}

// Unclean tells whether the values file was not closed by a clean stop (OpenStore).
func (s *Store) Unclean() bool { return s.unclean }
