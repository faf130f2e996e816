package mqtt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/boltmap"
	"github.com/klauspost/compress/zstd"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// The broker reads a wildcard subscription's messages from the file a page at a time.
var _ mochi.RetainedPagedStore = (*retainedFile)(nil)

// retainedFile keeps the embedded broker's retained messages in a bbolt file of their own
// instead of the heap (mochi's RetainedStore): with three retained topics per device, the
// payloads and the broker's bookkeeping were most of the gateway's heap per idle device
// (docs/performance.md). Writes go to a small map first (topic → newest packet, consulted by
// every read) and reach the file in one transaction every retainedFlushEvery and on close,
// without an fsync: the file only counts after a clean shutdown, which writes a mark (and
// syncs). A file without the mark, or unreadable, is discarded at open: the bridge then
// republishes every device's retained topics, as it does for a broker that kept nothing.
type retainedFile struct {
	db   *bbolt.DB
	path string
	log  *zap.Logger

	mu       sync.Mutex
	pending  map[string]*packets.Packet // written since the last flush; nil: deleted
	flushing map[string]*packets.Packet // being committed by flush; read after pending
	count    atomic.Int64               // messages in the file as of the last flush

	flushMu sync.Mutex // one flush at a time
	failed  bool       // a flush failed: the file is not marked clean at close (under flushMu)
	stop    chan struct{}
	done    chan struct{}

	releaser *boltmap.Releaser // gives the map's pages back (BrokerOptions.ReleasePages); nil: off

	restored bool   // the file was closed cleanly, its messages kept
	prevTag  string // the tag the last clean close wrote
	tag      atomic.Pointer[string]

	decodes atomic.Int64 // messages read from the file (tests: a start reads none)
}

var (
	retainedBucket     = []byte("retained")
	retainedMetaBucket = []byte("meta")
	// retainedExpiringBucket lists the topics whose message carries an MQTT 5 expiry (the key;
	// the value is empty), so that the broker's start reads those alone (MatchExpiring). The
	// gateway's own messages never do: it is normally empty.
	retainedExpiringBucket = []byte("expiring")
	// retainedByLastBucket indexes the topics by their last level (lastKey), so that a filter
	// such as the gateway's own B/+/rpc seeks the topics ending in rpc (normally none) instead of
	// walking every key under B/, which made the whole file resident at each (re)connect.
	retainedByLastBucket = []byte("bylast")
	// retainedCleanKey holds the tag; present only between a clean close and the next open. It is
	// not the key earlier versions wrote (retainedCleanKeyV1), which they alone read: a file this
	// version closed may hold compressed payloads (retainedZstd) they cannot read, so to them it
	// was not closed cleanly, and they discard it and publish every retained topic again. A file
	// they closed holds none and is kept here.
	retainedCleanKey   = []byte("clean.2")
	retainedCleanKeyV1 = []byte("clean")
	retainedCountKey   = []byte("count")
	// retainedListsKey is the transaction that last closed the file with its two lists
	// (expiring, bylast) in step: a later transaction is a writer that did not keep them (an
	// earlier version of the gateway, run in between), and the next open builds them again.
	retainedListsKey = []byte("lists")
)

// retainedFlushEvery is how long a retained message may wait in memory before it is written:
// a device's messages published within it cost one write, and a transaction carries them all.
const retainedFlushEvery = 200 * time.Millisecond

// retainedFill is how full bbolt fills a page it splits: a retained message is replaced by one
// of about the same size, seldom by a larger one, so pages can be packed (bbolt's default, 0.5,
// left the file twice the size of its messages).
const retainedFill = 0.9

// The first byte of every value (encodeRetained) says how its payload is kept: as it is, or
// compressed with zstd. The gateway's retained payloads are JSON and compress to under half (a
// Huawei device's state: 2.3 KB, about 1 KB compressed): the file, and the page cache its writes
// fill, shrink with them.
const (
	retainedRaw  = 1
	retainedZstd = 2
	// retainedCompressFrom: shorter payloads (availability, a few dozen bytes) are kept as they
	// are, a zstd frame would save nothing.
	retainedCompressFrom = 128
	// retainedMaxPayload bounds what a stored payload may decompress to: MQTT's largest packet
	// (a corrupt frame must not allocate more).
	retainedMaxPayload = 256 << 20
)

// Compression runs in the flush (once per written message, off the publisher's path);
// decompression only when a subscriber is served from the file. EncodeAll and DecodeAll may be
// called concurrently.
var (
	retainedEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true), zstd.WithZeroFrames(true))
	retainedDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(retainedMaxPayload))
)

// openRetainedFile opens the file at path, or creates it. A file that was not closed cleanly or
// cannot be read is removed and created anew, with a log line that says why.
func openRetainedFile(path string, releasePages time.Duration, log *zap.Logger) (*retainedFile, error) {
	f := &retainedFile{path: path, log: log, pending: map[string]*packets.Packet{},
		stop: make(chan struct{}), done: make(chan struct{})}
	if _, statErr := os.Stat(path); statErr == nil {
		why, err := f.openKept()
		switch {
		case errors.Is(err, bbolt.ErrTimeout): // another process has it: never discard it
			return nil, fmt.Errorf("retained-message file %s: %w", path, err)
		case err != nil:
			log.Warn("retained-message file unreadable; discarded: every device's retained topics are published again",
				zap.String("file", path), zap.Error(err))
		case why != "":
			log.Warn("retained-message file discarded: every device's retained topics are published again",
				zap.String("file", path), zap.String("reason", why))
		}
		if !f.restored {
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("retained-message file %s: %w", path, err)
			}
		}
	}
	if f.db == nil {
		db, err := openRetainedDB(path, nil)
		if err == nil {
			err = f.begin(db)
		}
		if err != nil {
			return nil, fmt.Errorf("retained-message file %s: %w", path, err)
		}
	}
	if f.restored {
		log.Info("retained messages kept from the last clean shutdown", zap.String("file", path), zap.Int64("messages", f.count.Load()))
	}
	go f.flushLoop()
	if releasePages > 0 {
		// A subscriber reading the fleet maps the whole file (boltmap).
		f.releaser = boltmap.Start(releasePages, log, f.db)
	}
	return f, nil
}

// openKept opens an existing file and keeps it (restored, f.db open) when it was closed
// cleanly; why says why a readable file is not kept. bbolt panics on a page it cannot make
// sense of (a disk that corrupted a cleanly closed file): here, where a start reads the file's
// mark, count and freelist, that makes the file unreadable, not the gateway.
func (f *retainedFile) openKept() (why string, err error) {
	var file *os.File // bbolt's: closing it releases its lock, whatever state bbolt was left in
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt: %v", r)
			if file != nil {
				_ = file.Close()
			}
			f.db, f.restored, f.prevTag = nil, false, ""
			f.count.Store(0)
		}
	}()
	tag, count, why, err := readRetainedMark(f.path)
	if err != nil || why != "" {
		return why, err
	}
	db, err := openRetainedDB(f.path, &file)
	if err != nil {
		return "", err
	}
	f.restored, f.prevTag = true, tag
	f.count.Store(count)
	if err := f.begin(db); err != nil {
		f.restored, f.prevTag = false, ""
		f.count.Store(0)
		return "", err
	}
	return "", nil
}

// begin takes db as f's file: from here on it is being written, and no longer counts until the
// next clean close.
func (f *retainedFile) begin(db *bbolt.DB) error {
	f.db = db
	err := db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(retainedMetaBucket)
		if err != nil {
			return err
		}
		data, err := tx.CreateBucketIfNotExists(retainedBucket)
		if err != nil {
			return err
		}
		if v := meta.Get(retainedListsKey); len(v) != 8 || int(binary.BigEndian.Uint64(v)) != tx.ID()-1 {
			if k, _ := data.Cursor().First(); k != nil { // not a new file
				f.log.Info("retained messages' lists out of step with the file: rebuilt from every message",
					zap.String("file", f.path), zap.Int("listed_at_tx", int(binary.BigEndian.Uint64(append(make([]byte, max(0, 8-len(v))), v...)))),
					zap.Int("tx", tx.ID()))
			}
			for _, name := range [][]byte{retainedExpiringBucket, retainedByLastBucket} {
				if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bbolt.ErrBucketNotFound) {
					return err
				}
			}
		}
		if tx.Bucket(retainedExpiringBucket) == nil {
			// A new file, or one that another writer changed since the lists were last in step
			// (retainedListsKey): list the expiring messages, reading every message this once.
			exp, err := tx.CreateBucket(retainedExpiringBucket)
			if err != nil {
				return err
			}
			if err := data.ForEach(func(k, v []byte) error {
				f.decodes.Add(1)
				if pk, _, err := decodeRetained(string(k), v, false); err == nil && expiring(&pk) {
					return exp.Put(bytes.Clone(k), []byte{})
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if tx.Bucket(retainedByLastBucket) == nil { // the same, for the index by last level
			idx, err := tx.CreateBucket(retainedByLastBucket)
			if err != nil {
				return err
			}
			// Put in key order: bbolt splits a node only at commit, so keys put out of order into
			// one transaction move the whole node's entries each time (at 300,000 topics the
			// topic-ordered walk, which interleaves three last levels, took 168 s of CPU).
			var keys [][]byte
			if err := data.ForEach(func(k, _ []byte) error { keys = append(keys, lastKey(string(k))); return nil }); err != nil {
				return err
			}
			slices.SortFunc(keys, bytes.Compare)
			idx.FillPercent = retainedFill
			for _, k := range keys {
				if err := idx.Put(k, []byte{}); err != nil {
					return err
				}
			}
		}
		if err := meta.Delete(retainedCleanKeyV1); err != nil {
			return err
		}
		return meta.Delete(retainedCleanKey)
	})
	if err == nil {
		err = db.Sync()
	}
	if err != nil {
		_ = db.Close()
		f.db = nil
	}
	return err
}

// lastKey is topic's key in retainedByLastBucket: its last level, a NUL (which no topic holds,
// MQTT-4.7.3-2), the topic.
func lastKey(topic string) []byte {
	last := topic[strings.LastIndexByte(topic, '/')+1:]
	return []byte(last + "\x00" + topic)
}

// expiring reports whether pk carries an MQTT 5 message expiry (RetainedExpiringStore).
func expiring(pk *packets.Packet) bool { return pk.ProtocolVersion == 5 && pk.Expiry > 0 }

// readRetainedMark reads the clean-shutdown mark of an existing file, opened read-only: opening it
// for writing first would rebuild the freelist from every page (NoFreelistSync), where a torn
// file (a power loss: the file is written without fsync) could panic beyond recovery. why says
// why a readable file does not count.
func readRetainedMark(path string) (tag string, count int64, why string, err error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return "", 0, "", err
	}
	defer db.Close()
	defer func() {
		if r := recover(); r != nil { // bbolt panics on a page it cannot make sense of
			err = fmt.Errorf("corrupt: %v", r)
		}
	}()
	err = db.View(func(tx *bbolt.Tx) error {
		meta, data := tx.Bucket(retainedMetaBucket), tx.Bucket(retainedBucket)
		if meta == nil || data == nil {
			why = "not a retained-message file of this gateway"
			return nil
		}
		mark := meta.Get(retainedCleanKey)
		if mark == nil {
			mark = meta.Get(retainedCleanKeyV1) // a file an earlier version closed
		}
		if mark == nil {
			why = "the gateway stopped without a clean shutdown: the file may miss the last messages"
			return nil
		}
		tag = string(mark)
		if c := meta.Get(retainedCountKey); len(c) == 8 {
			count = int64(binary.BigEndian.Uint64(c))
		}
		return nil
	})
	return tag, count, why, err
}

// openRetainedDB opens the file for writing; file, when not nil, is set to bbolt's file as soon
// as it is open.
func openRetainedDB(path string, file **os.File) (*bbolt.DB, error) {
	// No fsync per commit: a crash discards the file anyway (no clean mark). No freelist written
	// by every commit either: close writes it once, with the mark, so that the next open reads
	// it instead of rebuilding it from every page of the file (which made the whole file
	// resident at start).
	return bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second, NoSync: true,
		NoFreelistSync: true, FreelistType: bbolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			of, err := os.OpenFile(name, flag, perm)
			if file != nil {
				*file = of
			}
			return of, err
		}})
}

func (f *retainedFile) flushLoop() {
	defer close(f.done)
	t := time.NewTicker(retainedFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.flush()
		}
	}
}

// flush writes what is pending in one transaction. On failure the messages stay pending (a
// newer write of a topic wins) and the file will not be marked clean.
func (f *retainedFile) flush() {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	f.mu.Lock()
	if len(f.pending) == 0 {
		f.mu.Unlock()
		return
	}
	batch := f.pending
	f.flushing, f.pending = batch, map[string]*packets.Packet{} // not sized: maps never shrink
	f.mu.Unlock()
	topics := make([]string, 0, len(batch))
	for topic := range batch {
		topics = append(topics, topic)
	}
	slices.Sort(topics) // bbolt writes keys in order faster

	var delta int64
	var buf bytes.Buffer
	err := f.db.Update(func(tx *bbolt.Tx) error {
		b, exp, idx := tx.Bucket(retainedBucket), tx.Bucket(retainedExpiringBucket), tx.Bucket(retainedByLastBucket)
		b.FillPercent = retainedFill
		delta = 0
		for _, topic := range topics {
			pk, k := batch[topic], []byte(topic)
			had := b.Get(k) != nil
			var err error
			if pk != nil && expiring(pk) {
				err = exp.Put(k, []byte{})
			} else {
				err = exp.Delete(k) // a seek in a bucket that is normally empty
			}
			if err != nil {
				return err
			}
			if pk == nil {
				if had {
					delta--
					if err := b.Delete(k); err != nil {
						return err
					}
					if err := idx.Delete(lastKey(topic)); err != nil {
						return err
					}
				}
				continue
			}
			if !had {
				delta++
				if err := idx.Put(lastKey(topic), []byte{}); err != nil {
					return err
				}
			}
			buf.Reset()
			encodeRetained(&buf, pk)
			if err := b.Put(k, bytes.Clone(buf.Bytes())); err != nil {
				return err
			}
		}
		return nil
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushing = nil
	if err != nil {
		f.failed = true
		f.log.Error("retained messages not written to their file; kept in memory", zap.String("file", f.path),
			zap.Int("messages", len(batch)), zap.Error(err))
		for topic, pk := range batch {
			if _, newer := f.pending[topic]; !newer {
				f.pending[topic] = pk
			}
		}
		return
	}
	f.count.Add(delta)
}

// Put implements mochi's RetainedStore.
func (f *retainedFile) Put(pk packets.Packet) {
	f.mu.Lock()
	f.pending[pk.TopicName] = &pk
	f.mu.Unlock()
}

// Delete implements mochi's RetainedStore.
func (f *retainedFile) Delete(topic string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	pk, known := f.memoryLocked(topic)
	had := pk != nil
	if !known {
		_, had = f.fromFile(topic, false)
	}
	f.pending[topic] = nil
	return had
}

// memoryLocked is the newest write of topic not yet in the file: known false when there is
// none, pk nil when it was a deletion.
func (f *retainedFile) memoryLocked(topic string) (pk *packets.Packet, known bool) {
	if pk, ok := f.pending[topic]; ok {
		return pk, true
	}
	pk, ok := f.flushing[topic]
	return pk, ok
}

// fromFile reads topic's message from the file (the payload copied when withPayload).
func (f *retainedFile) fromFile(topic string, withPayload bool) (pk packets.Packet, ok bool) {
	err := f.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(retainedBucket).Get([]byte(topic))
		if v == nil {
			return nil
		}
		f.decodes.Add(1)
		var aliased bool
		var err error
		if pk, aliased, err = decodeRetained(topic, v, withPayload); err != nil {
			return err
		}
		if aliased {
			pk.Payload = bytes.Clone(pk.Payload)
		}
		ok = true
		return nil
	})
	if err != nil {
		f.log.Warn("retained message unreadable in its file; ignored", zap.String("topic", topic), zap.Error(err))
		return packets.Packet{}, false
	}
	return pk, ok
}

// Get implements mochi's RetainedStore.
func (f *retainedFile) Get(topic string) (packets.Packet, bool) {
	f.mu.Lock()
	pk, known := f.memoryLocked(topic)
	f.mu.Unlock()
	if known {
		if pk == nil {
			return packets.Packet{}, false
		}
		return *pk, true
	}
	return f.fromFile(topic, true)
}

// Match implements mochi's RetainedStore: the writes not yet in the file, then the file a page
// at a time (MatchPage), the topics written meanwhile skipped.
func (f *retainedFile) Match(filter string, fn func(packets.Packet) bool) {
	mem := map[string]*packets.Packet{}
	f.MatchPending(filter, func(topic string, pk *packets.Packet) { mem[topic] = pk })
	for _, pk := range mem {
		if pk != nil && !fn(*pk) {
			return
		}
	}
	var after []byte
	for more, stop := true, false; more && !stop; {
		after, more = f.MatchPage(filter, after, retainedPage, func(pk packets.Packet) {
			if _, inMem := mem[pk.TopicName]; !inMem && !stop {
				stop = !fn(pk)
			}
		})
	}
}

// retainedPage is how many messages Match reads in one transaction; a page scans at most
// retainedPageScan keys per message it may return, so that a filter matching few of the keys
// under its prefix does not keep a transaction open over the whole file.
const (
	retainedPage     = 256
	retainedPageScan = 64
)

// MatchPending implements mochi's RetainedPagedStore: the writes not yet in the file (the newest
// of each topic).
func (f *retainedFile) MatchPending(filter string, fn func(topic string, pk *packets.Packet)) {
	mem := map[string]*packets.Packet{}
	f.mu.Lock()
	for _, m := range []map[string]*packets.Packet{f.pending, f.flushing} {
		for topic, pk := range m {
			if _, newer := mem[topic]; !newer && mochi.MatchTopic(filter, topic) {
				mem[topic] = pk
			}
		}
	}
	f.mu.Unlock()
	for topic, pk := range mem {
		fn(topic, pk)
	}
}

// MatchPage implements mochi's RetainedPagedStore over the file, in one read transaction: a
// cursor from the filter's literal prefix, each key matched against the filter; for a filter
// with a wildcard and a literal last level (B/+/rpc), a cursor over the index by last level
// instead, from that level and the prefix. The cursor returned is the last key visited.
func (f *retainedFile) MatchPage(filter string, after []byte, limit int, fn func(packets.Packet)) (next []byte, more bool) {
	prefix, wild := filter, false
	if i := strings.IndexAny(filter, "+#"); i >= 0 {
		prefix, wild = filter[:i], true
	}
	last := filter[strings.LastIndexByte(filter, '/')+1:]
	byLast := wild && last != "+" && last != "#"
	err := f.db.View(func(tx *bbolt.Tx) error {
		data := tx.Bucket(retainedBucket)
		c, from := data.Cursor(), []byte(prefix)
		if byLast {
			c, from = tx.Bucket(retainedByLastBucket).Cursor(), []byte(last+"\x00"+prefix)
		}
		start := from
		if after != nil {
			start = after
		}
		k, v := c.Seek(start)
		if after != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
		for n, scanned := 0, 0; k != nil && bytes.HasPrefix(k, from); k, v = c.Next() {
			if n == limit || scanned == limit*retainedPageScan {
				more = true
				return nil
			}
			scanned++
			next = append(next[:0], k...)
			topic := string(k)
			if byLast {
				topic = string(k[len(last)+1:])
				v = data.Get([]byte(topic))
			}
			if v == nil || !mochi.MatchTopic(filter, topic) {
				continue
			}
			f.decodes.Add(1)
			pk, _, err := decodeRetained(topic, v, true) // fn copies what it keeps
			if err != nil {
				f.log.Warn("retained message unreadable in its file; ignored", zap.String("topic", topic), zap.Error(err))
				continue
			}
			n++
			fn(pk)
		}
		return nil
	})
	if err != nil {
		f.log.Warn("retained messages not read from their file", zap.String("filter", filter), zap.Error(err))
		return nil, false
	}
	return next, more
}

// MatchExpiring implements mochi's RetainedExpiringStore: the writes not yet in the file, then
// the messages the file lists as expiring (normally none), so that the broker's start reads no
// other message.
func (f *retainedFile) MatchExpiring(fn func(packets.Packet) bool) {
	var mem []*packets.Packet
	seen := map[string]bool{}
	f.mu.Lock()
	for _, m := range []map[string]*packets.Packet{f.pending, f.flushing} {
		for topic, pk := range m {
			if !seen[topic] {
				seen[topic] = true
				if pk != nil && expiring(pk) {
					mem = append(mem, pk)
				}
			}
		}
	}
	f.mu.Unlock()
	for _, pk := range mem {
		if !fn(*pk) {
			return
		}
	}
	var topics []string
	err := f.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(retainedExpiringBucket).ForEach(func(k, _ []byte) error {
			if !seen[string(k)] {
				topics = append(topics, string(k))
			}
			return nil
		})
	})
	if err != nil {
		f.log.Warn("expiring retained messages not read from their file", zap.Error(err))
	}
	for _, topic := range topics {
		if pk, ok := f.fromFile(topic, true); ok && !fn(pk) {
			return
		}
	}
}

// Len implements mochi's RetainedStore: the messages in the file as of the last flush (at
// most retainedFlushEvery behind).
func (f *retainedFile) Len() int { return int(f.count.Load()) }

// setTag sets what the clean close writes with its mark (see Broker.SetRetainedTag).
func (f *retainedFile) setTag(tag string) { f.tag.Store(&tag) }

// close writes what is pending, marks the file clean unless a write failed, syncs and closes.
func (f *retainedFile) close() error {
	close(f.stop)
	<-f.done
	if f.releaser != nil {
		f.releaser.Stop()
	}
	f.flush()
	f.flushMu.Lock()
	failed := f.failed
	f.flushMu.Unlock()
	var err error
	if failed {
		err = errors.New("a write failed earlier: not marked clean")
	} else {
		tag := ""
		if t := f.tag.Load(); t != nil {
			tag = *t
		}
		// This commit writes the freelist (see openRetainedDB): nothing else writes any more.
		f.db.NoFreelistSync = false
		err = f.db.Update(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(retainedMetaBucket)
			if err := meta.Put(retainedListsKey, binary.BigEndian.AppendUint64(nil, uint64(tx.ID()))); err != nil {
				return err
			}
			if err := meta.Put(retainedCountKey, binary.BigEndian.AppendUint64(nil, uint64(f.count.Load()))); err != nil {
				return err
			}
			return meta.Put(retainedCleanKey, []byte(tag))
		})
		if err == nil {
			err = f.db.Sync()
		}
	}
	if cerr := f.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.log.Error("retained-message file not closed cleanly: the next start publishes every device's retained topics again",
			zap.String("file", f.path), zap.Error(err))
		return err
	}
	f.log.Info("retained messages written to their file", zap.String("file", f.path), zap.Int64("messages", f.count.Load()))
	return nil
}

// encodeRetained writes a retained PUBLISH as the file keeps it (the topic is the key):
// format (retainedRaw or retainedZstd), QoS, protocol version, created and expiry (varints),
// origin, the MQTT 5 properties in their wire form (version 5 only), then the payload, as it is
// or as one zstd frame when that is at least an eighth smaller.
func encodeRetained(buf *bytes.Buffer, pk *packets.Packet) {
	format, body := byte(retainedRaw), pk.Payload
	if len(pk.Payload) >= retainedCompressFrom {
		if z := retainedEncoder.EncodeAll(pk.Payload, nil); len(z) <= len(pk.Payload)-len(pk.Payload)/8 {
			format, body = retainedZstd, z
		}
	}
	buf.WriteByte(format)
	buf.WriteByte(pk.FixedHeader.Qos)
	buf.WriteByte(pk.ProtocolVersion)
	buf.Write(binary.AppendVarint(nil, pk.Created))
	buf.Write(binary.AppendVarint(nil, pk.Expiry))
	buf.Write(binary.AppendUvarint(nil, uint64(len(pk.Origin))))
	buf.WriteString(pk.Origin)
	if pk.ProtocolVersion == 5 {
		pk.Properties.Encode(packets.Publish, packets.Mods{AllowResponseInfo: true}, buf, 0)
	}
	buf.Write(body)
}

// decodeRetained reads a value of encodeRetained. Without payload the packet has none (nothing
// is decompressed); with it, a payload kept as it is aliases v (valid in the transaction only:
// aliased is true), a compressed one is decompressed into memory of its own.
func decodeRetained(topic string, v []byte, payload bool) (pk packets.Packet, aliased bool, err error) {
	bad := func(what string) (packets.Packet, bool, error) {
		return packets.Packet{}, false, fmt.Errorf("retained message %q: bad %s", topic, what)
	}
	if len(v) < 3 || (v[0] != retainedRaw && v[0] != retainedZstd) {
		return bad("format")
	}
	pk = packets.Packet{TopicName: topic, ProtocolVersion: v[2],
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true, Qos: v[1]}}
	rest := v[3:]
	var n int
	if pk.Created, n = binary.Varint(rest); n <= 0 {
		return bad("created")
	}
	rest = rest[n:]
	if pk.Expiry, n = binary.Varint(rest); n <= 0 {
		return bad("expiry")
	}
	rest = rest[n:]
	ol, n := binary.Uvarint(rest)
	if n <= 0 || uint64(len(rest)-n) < ol {
		return bad("origin")
	}
	pk.Origin, rest = string(rest[n:n+int(ol)]), rest[n+int(ol):]
	if pk.ProtocolVersion == 5 {
		n, err := pk.Properties.Decode(packets.Publish, bytes.NewBuffer(rest))
		if err != nil || n > len(rest) {
			return bad("properties")
		}
		rest = rest[n:]
	}
	switch {
	case !payload:
	case v[0] == retainedRaw:
		pk.Payload, aliased = rest, true
	default:
		if pk.Payload, err = retainedDecoder.DecodeAll(rest, nil); err != nil {
			return bad("compressed payload: " + err.Error())
		}
	}
	return pk, aliased, nil
}
