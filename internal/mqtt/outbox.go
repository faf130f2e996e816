package mqtt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Buckets of the shared store file owned by the outbox.
var (
	outboxBucket     = []byte("outbox")
	outboxMetaBucket = []byte("outbox.meta")
	metaVersionKey   = []byte("version")
)

// outboxVersion is the on-disk format of outbox entries (see encodeEntry).
const outboxVersion = 1

// OutboxOptions is the `outbox.*` section of the configuration.
type OutboxOptions struct {
	// MaxBytes bounds the queued entries (keys and values). When full, the
	// oldest non-retained entries are dropped first.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// MaxAge drops entries older than this: a week-old event is noise.
	MaxAge time.Duration `mapstructure:"max_age"`
	// Window is the number of QoS 1 publishes in flight. It is also the bound
	// on the duplicates a disconnect can cause. Not a setting of the gateway.
	Window int `mapstructure:"-"`
}

// DefaultOutboxOptions returns outbox.max_bytes 256 MiB, outbox.max_age 7 days, and a
// window of 64 (the gateway's settings table and configs/cwmp2mqtt.yaml hold the same values; a
// test there keeps them equal).
func DefaultOutboxOptions() OutboxOptions {
	return OutboxOptions{MaxBytes: 256 << 20, MaxAge: 7 * 24 * time.Hour, Window: 64}
}

// Validate names the offending key.
func (o OutboxOptions) Validate() error {
	switch {
	case o.MaxBytes < 1<<10:
		return fmt.Errorf("outbox.max_bytes must be at least 1024 (got %d)", o.MaxBytes)
	case o.MaxAge <= 0:
		return fmt.Errorf("outbox.max_age must be positive (got %s)", o.MaxAge)
	case o.Window < 1 || o.Window > 65535:
		return fmt.Errorf("outbox.window must be between 1 and 65535 (got %d)", o.Window)
	}
	return nil
}

// DropReason says why the outbox discarded a message.
type DropReason string

const (
	DropFull    DropReason = "full"    // outbox.max_bytes reached
	DropExpired DropReason = "max_age" // older than outbox.max_age
)

// DropCount counts dropped messages and their bytes.
type DropCount struct{ Messages, Bytes uint64 }

// OutboxStats is a snapshot of the outbox.
type OutboxStats struct {
	Queued      int64 // entries on disk, including in-flight and acked-not-yet-deleted ones
	QueuedBytes int64
	InFlight    int
	Enqueued    uint64
	Delivered   uint64 // acknowledged by the broker (QoS 1/2) or written (QoS 0)
	Coalesced   uint64 // retained entries superseded by a newer one on the same topic
	// Direct counts the messages the broker took straight away (in process, or acknowledged
	// within 100 ms over the network), never written to disk; also counted in Enqueued and
	// Delivered.
	Direct uint64
	// DroppedMessages and DroppedBytes total Dropped over all reasons.
	DroppedMessages uint64
	DroppedBytes    uint64
	Dropped         map[DropReason]DropCount
}

// Errors of Enqueue.
var (
	ErrTooLarge = errors.New("outbox: message larger than outbox.max_bytes")
	ErrQoS      = errors.New("outbox: qos must be 0, 1 or 2")
)

// Outbox is the durable, ordered queue of every outbound publish
// (docs/design.md §1 step 5). Entries live in bucket "outbox" of the shared bbolt
// file under a monotonically increasing big-endian key.
//
// One writer goroutine owns all writes: Enqueue calls that arrive while a
// transaction commits are grouped into the next one (group commit: one fsync
// for many messages, no added latency when idle). It also applies the
// deliverer's batched deletes, retained coalescing and the size/age bounds,
// so the byte accounting has a single owner.
type Outbox struct {
	db   *bbolt.DB
	opts OutboxOptions
	log  *zap.Logger
	now  func() time.Time

	reqs       chan *enqueueReq // unbuffered: a send succeeds only while the writer runs
	entering   atomic.Int64     // callers between Enqueue entry and the send: worth waiting for
	dels       chan keyRange
	sweeps     chan chan struct{}
	quit       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once

	// Owned by the writer goroutine.
	queued, queuedBytes int64
	retainedAt          map[string]uint64 // topic → key of its newest queued retained entry

	// joined collects what EnqueueTx committed in callers' transactions, for the writer's
	// accounting; joinedNote (cap 1) tells the writer.
	joinedMu   sync.Mutex
	joined     []joinedTx
	joinedNote chan struct{}

	tail        atomic.Uint64 // last committed key
	sentThrough atomic.Uint64 // highest key handed to the broker in this connection
	inFlight    atomic.Int64
	queuedSnap  atomic.Int64
	bytesSnap   atomic.Int64
	wake        chan struct{} // cap 1: new entries committed

	// keyMu orders keys: every entry's key is taken under it (the writer's commits, EnqueueTx),
	// and a direct publish happens under it, so nothing committed later can overtake it.
	keyMu   sync.Mutex
	nextKey uint64               // last key handed out
	open    map[*bbolt.Tx]uint64 // transactions that took keys and have not ended: tx → its last key
	// held are the keys of direct publishes over the network awaiting their PUBACKs (first →
	// last): a message that is late is committed under its key, so delivery stops below them.
	held map[uint64]uint64
	// order is, per ordering key (see orderKey), what a direct publish over the network must
	// wait for; base is the client's base topic, floor the last key taken before Start.
	order   map[string]keyState
	pruneAt int
	base    string
	floor   uint64
	// client is the connection Start delivers through; with PublishInProcess it also takes
	// direct publishes.
	client atomic.Pointer[Client]
	// ackedSnap mirrors the deliverer's acked: the outbox is caught up when it reaches tail.
	ackedSnap atomic.Uint64
	// adoptedKeys are committed entries whose direct publish still awaits its acknowledgement.
	adoptMu     sync.Mutex
	adoptedKeys map[uint64]*sentDirect
	ackWait     time.Duration                    // directAckWait; tests change it
	ackWaitFor  func(topic string) time.Duration // tests: per topic, overrides ackWait

	deliverMu   sync.Mutex
	deliverQuit chan struct{}
	deliverDone chan struct{}
	// Owned by the deliverer goroutine.
	acked   uint64 // highest key acknowledged
	deleted uint64 // highest key whose deletion was requested

	statsMu      sync.Mutex
	enqueued     uint64
	delivered    uint64
	coalesced    uint64
	direct       uint64
	dropped      map[DropReason]DropCount
	dropLogAt    time.Time
	dropsSinceLg uint64
}

// dropLogEvery limits the "dropping" warning to one line per minute per burst.
const dropLogEvery = time.Minute

// maxGroup bounds the messages committed in one transaction.
const maxGroup = 512

// gatherMax bounds how long the writer waits for callers that are entering
// Enqueue before it commits (a commit costs two fdatasyncs, ~ms).
const gatherMax = time.Millisecond

func groupSize(g []*enqueueReq) int {
	n := 0
	for _, r := range g {
		n += len(r.items)
	}
	return n
}

// Publish is one message for EnqueueBatch.
type Publish struct {
	Topic    string
	Payload  []byte
	Retained bool
	QoS      byte
}

// enqueueReq is one Enqueue/EnqueueBatch call waiting for its commit.
type enqueueReq struct {
	items []item
	done  chan error
}

// item is an encoded entry waiting for its key.
type item struct {
	topic    string
	value    []byte
	retained bool
	// key, when set, is the key held for it by a direct publish that came too late; sent is
	// that publish, which the deliverer waits for instead of publishing the message again.
	key  uint64
	sent *sentDirect
}

// sentDirect is a publish made on a connection, not yet acknowledged.
type sentDirect struct {
	tok  paho.Token
	sess *session
}

var reqPool = sync.Pool{New: func() any { return &enqueueReq{done: make(chan error, 1)} }}

// keyRange is an inclusive range of keys to delete (an acknowledged prefix).
type keyRange struct{ from, to uint64 }

// OpenOutbox opens (creating if needed) the outbox buckets in db. The caller
// owns db (shared with the device registry) and closes it after Outbox.Close.
// Entries older than opts.MaxAge are dropped at once.
func OpenOutbox(db *bbolt.DB, opts OutboxOptions, log *zap.Logger) (*Outbox, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("outbox: nil bbolt database")
	}
	if log == nil {
		log = zap.NewNop()
	}
	o := &Outbox{
		db:         db,
		opts:       opts,
		log:        log.Named("outbox"),
		now:        time.Now,
		reqs:       make(chan *enqueueReq),
		dels:       make(chan keyRange, 16),
		sweeps:     make(chan chan struct{}),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		wake:       make(chan struct{}, 1),
		joinedNote: make(chan struct{}, 1),
		dropped:    make(map[DropReason]DropCount),
	}
	o.open = make(map[*bbolt.Tx]uint64)
	o.held = make(map[uint64]uint64)
	o.order = make(map[string]keyState)
	o.pruneAt = minPruneAt
	o.adoptedKeys = make(map[uint64]*sentDirect)
	o.ackWait = directAckWait
	err := db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(outboxBucket); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(outboxMetaBucket)
		if err != nil {
			return err
		}
		if v := meta.Get(metaVersionKey); v != nil {
			if len(v) != 1 || v[0] != outboxVersion {
				return fmt.Errorf("outbox: on-disk format %x is not supported (want %d)", v, outboxVersion)
			}
			return nil
		}
		return meta.Put(metaVersionKey, []byte{outboxVersion})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: open: %w", err)
	}
	if err := o.rebuild(); err != nil {
		return nil, err
	}
	if err := o.commit(nil, nil, true); err != nil {
		return nil, fmt.Errorf("outbox: expire on open: %w", err)
	}
	o.log.Info("outbox opened", zap.Int64("queued", o.queued), zap.Int64("queued_bytes", o.queuedBytes))
	go o.writer()
	return o, nil
}

// Enqueue appends a publish and returns once it is durable (fsynced), or once the embedded
// broker has taken it (see EnqueueBatch). A retained message supersedes a queued, not yet sent
// retained message on the same topic. If the outbox is full, the oldest entries are dropped to
// make room (see OutboxStats.Dropped); only a message larger than the whole outbox is refused.
func (o *Outbox) Enqueue(topic string, payload []byte, retained bool, qos byte) error {
	return o.EnqueueBatch(Publish{Topic: topic, Payload: payload, Retained: retained, QoS: qos})
}

// validate checks what every enqueue path refuses: an invalid topic name, a QoS above 2.
func (m Publish) validate() error {
	if err := validateTopicName(m.Topic); err != nil {
		return err
	}
	if m.QoS > 2 {
		return fmt.Errorf("%w (got %d on %s)", ErrQoS, m.QoS, m.Topic)
	}
	return nil
}

// EnqueueBatch appends several publishes in one transaction, in order: all
// are durable when it returns nil, none when it returns an error (the bridge
// queues an Inform's inform, state and availability together).
//
// With the embedded broker in this process (Client.PublishInProcess), connected, and nothing
// enqueued before still unacknowledged, the messages skip the disk: they are published into the
// broker at once and EnqueueBatch returns once it has taken them, which is all a commit followed
// by delivery would have promised (an entry is deleted once the broker has it). With a broker
// over the network, connected, and nothing of the same devices (see orderKey) still queued or
// awaiting an acknowledgement, they are published at once and EnqueueBatch returns when the
// broker has acknowledged them (within directAckWait; what is later is committed in its place,
// see publishAcked). Otherwise — the broker away, older messages of the same devices still
// queued (they go first) — they are committed as above.
func (o *Outbox) EnqueueBatch(msgs ...Publish) (err error) {
	if len(msgs) == 0 {
		return nil
	}
	var total int64
	for _, m := range msgs {
		if err := m.validate(); err != nil {
			return err
		}
		total += entrySize(m.Topic, m.Payload)
	}
	if total > o.opts.MaxBytes {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, total)
	}
	n, held, unacked := o.publishDirect(msgs)
	if n == len(msgs) {
		return nil
	}
	all := msgs
	msgs = msgs[n:]
	at := o.now()
	r := reqPool.Get().(*enqueueReq)
	r.items = r.items[:0]
	for i, m := range msgs {
		v := encodeEntry(at, m.Topic, m.Payload, m.Retained, m.QoS)
		it := item{topic: m.Topic, value: v, retained: m.Retained}
		if held != 0 {
			it.key, it.sent = held+uint64(n+i), unacked[i]
		}
		r.items = append(r.items, it)
	}
	if held != 0 {
		defer func(last uint64) {
			if err != nil {
				last = 0
			}
			o.endDirect(held, last, all)
		}(held + uint64(n+len(msgs)-1))
	}
	o.entering.Add(1)
	select {
	case o.reqs <- r:
		o.entering.Add(-1)
	case <-o.quit:
		o.entering.Add(-1)
		reqPool.Put(r)
		return ErrClosed
	}
	err = <-r.done
	clear(r.items)
	reqPool.Put(r)
	return err
}

// publishDirect publishes msgs, in order, straight to the broker when nothing enqueued before
// them may go first (in process: the outbox is caught up, see caughtUpLocked; over the network:
// their ordering keys are clear, see clearLocked). It returns how many the broker has taken (a prefix of msgs: into the
// embedded broker of this process at once, over the network once acknowledged within
// ackWait); the caller commits the rest. Over the network, held is the first of the keys taken
// for msgs before publishing (0 in process): the rest are committed under their own keys, and
// delivery stops below them until the caller releases them (releaseHeld), so a message late or
// lost with the connection keeps its place before anything enqueued after it. unacked are the
// publishes of the rest, still awaiting their acknowledgements: the deliverer adopts them rather
// than publish those messages again.
func (o *Outbox) publishDirect(msgs []Publish) (n int, held uint64, unacked []*sentDirect) {
	c := o.client.Load()
	if c == nil {
		return 0, 0, nil
	}
	if b := c.inProcess(); b != nil {
		n = o.publishInProcess(c, b, msgs)
	} else {
		n, held, unacked = o.publishAcked(c, msgs)
	}
	if n > 0 {
		o.statsMu.Lock()
		o.enqueued += uint64(n)
		o.delivered += uint64(n)
		o.direct += uint64(n)
		o.statsMu.Unlock()
	}
	return n, held, unacked
}

// caughtUpLocked: nothing committed waits for its acknowledgement and no transaction holds keys,
// so a message published now cannot overtake one enqueued before it. Under keyMu.
func (o *Outbox) caughtUpLocked(c *Client) bool {
	select {
	case <-o.quit:
		return false
	default:
	}
	return len(o.open) == 0 && o.tail.Load() <= o.ackedSnap.Load() && c.Connected()
}

// publishInProcess publishes under keyMu: the broker takes each message before the call
// returns, so nothing committed meanwhile can reach it first.
func (o *Outbox) publishInProcess(c *Client, b *Broker, msgs []Publish) int {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	if !o.caughtUpLocked(c) {
		return 0
	}
	n := 0
	for _, m := range msgs {
		if err := b.publishInline(m.Topic, m.Payload, m.Retained, c.qosFor(m.QoS)); err != nil {
			break
		}
		n++
	}
	return n
}

// takeKey hands out the next key to tx, a write transaction that is about to store an entry
// under it. Keys follow the order of the transactions: bbolt runs one writer at a time.
func (o *Outbox) takeKey(tx *bbolt.Tx, topic string) uint64 {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	o.nextKey++
	o.open[tx] = o.nextKey
	o.queuedLocked(topic, o.nextKey)
	return o.nextKey
}

// release ends tx's hold on its keys; last > 0: it committed entries up to that key.
func (o *Outbox) release(tx *bbolt.Tx, last uint64) {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	if last > 0 {
		o.raiseTail(last)
	}
	delete(o.open, tx)
}

// reapOpen runs inside the writer's transaction own: every other transaction that took keys has
// ended (bbolt runs one writer at a time), but one that rolled back never says so, and one
// that committed may not have run its OnCommit yet. Its last entry on disk tells which.
func (o *Outbox) reapOpen(own *bbolt.Tx, b *bbolt.Bucket) {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	for tx, last := range o.open {
		if tx == own {
			continue
		}
		if b.Get(entryKey(last)) != nil {
			o.raiseTail(last)
		}
		delete(o.open, tx)
	}
}

// joinedTx is what one committed EnqueueTx added.
type joinedTx struct {
	count, bytes int64
	retained     map[string]uint64 // topic → key
}

// EnqueueTx appends msgs inside tx, the caller's write transaction on the outbox's own bbolt
// file: they become durable exactly when the caller's own writes do, or not at all (the bridge
// ends a task and queues its result in one commit, so a crash or a failure cannot keep one
// without the other). Delivery starts once tx commits. Unlike Enqueue it neither coalesces
// retained messages nor makes room: its entries count toward outbox.max_bytes, and the next
// Enqueue drops the oldest if they overflow it.
func (o *Outbox) EnqueueTx(tx *bbolt.Tx, msgs ...Publish) error {
	if tx.DB() != o.db || !tx.Writable() {
		return errors.New("outbox: EnqueueTx needs a write transaction on the outbox's database")
	}
	b := tx.Bucket(outboxBucket)
	at := o.now()
	j := joinedTx{}
	var last uint64
	for _, m := range msgs {
		if err := m.validate(); err != nil {
			return err
		}
		v := encodeEntry(at, m.Topic, m.Payload, m.Retained, m.QoS)
		if int64(len(v)+8) > o.opts.MaxBytes {
			return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(v)+8)
		}
		seq := o.takeKey(tx, m.Topic)
		if err := b.SetSequence(seq); err != nil {
			return err
		}
		if err := b.Put(entryKey(seq), v); err != nil {
			return err
		}
		j.count++
		j.bytes += int64(len(v) + 8)
		if m.Retained {
			if j.retained == nil {
				j.retained = map[string]uint64{}
			}
			j.retained[m.Topic] = seq
		}
		last = seq
	}
	if j.count == 0 {
		return nil
	}
	tx.OnCommit(func() {
		o.joinedMu.Lock()
		o.joined = append(o.joined, j)
		o.joinedMu.Unlock()
		o.release(tx, last)
		for _, c := range []chan struct{}{o.joinedNote, o.wake} {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	})
	return nil
}

// raiseTail advances tail to key unless a later commit moved it further already.
func (o *Outbox) raiseTail(key uint64) {
	for {
		cur := o.tail.Load()
		if key <= cur || o.tail.CompareAndSwap(cur, key) {
			return
		}
	}
}

// applyJoined adds the committed EnqueueTx entries to the writer's accounting.
func (o *Outbox) applyJoined() {
	o.joinedMu.Lock()
	js := o.joined
	o.joined = nil
	o.joinedMu.Unlock()
	if len(js) == 0 {
		return
	}
	var d txDelta
	for _, j := range js {
		o.queued += j.count
		o.queuedBytes += j.bytes
		d.enqueued += uint64(j.count)
		for t, k := range j.retained {
			if k > o.retainedAt[t] {
				o.retainedAt[t] = k
			}
		}
	}
	o.queuedSnap.Store(o.queued)
	o.bytesSnap.Store(o.queuedBytes)
	o.account(&d)
}

// Stats returns a snapshot of the counters.
func (o *Outbox) Stats() OutboxStats {
	o.statsMu.Lock()
	defer o.statsMu.Unlock()
	s := OutboxStats{
		Queued:      o.queuedSnap.Load(),
		QueuedBytes: o.bytesSnap.Load(),
		InFlight:    int(o.inFlight.Load()),
		Enqueued:    o.enqueued,
		Delivered:   o.delivered,
		Coalesced:   o.coalesced,
		Direct:      o.direct,
		Dropped:     make(map[DropReason]DropCount, len(o.dropped)),
	}
	for r, d := range o.dropped {
		s.Dropped[r] = d
		s.DroppedMessages += d.Messages
		s.DroppedBytes += d.Bytes
	}
	return s
}

// Close stops delivery and the writer. Enqueue calls racing with Close either
// complete durably or return ErrClosed. The bbolt file stays open (the caller
// owns it).
func (o *Outbox) Close() error {
	o.closeOnce.Do(func() {
		o.stopDelivery()
		close(o.quit)
		<-o.writerDone
	})
	return nil
}

// writer is the single goroutine that writes the outbox buckets.
func (o *Outbox) writer() {
	defer close(o.writerDone)
	sweep := time.NewTicker(min(o.opts.MaxAge/4, time.Minute))
	defer sweep.Stop()
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for {
		var (
			group   []*enqueueReq
			dels    []keyRange
			expire  bool
			waiters []chan struct{}
		)
		select {
		case r := <-o.reqs:
			group = append(group, r)
		case d := <-o.dels:
			dels = append(dels, d)
		case <-sweep.C:
			expire = true
		case w := <-o.sweeps:
			expire, waiters = true, append(waiters, w)
		case <-o.joinedNote:
			o.applyJoined()
			continue
		case <-o.quit:
			// The deliverer has stopped; apply its last deletes.
			for len(o.dels) > 0 {
				dels = append(dels, <-o.dels)
			}
			if err := o.commit(nil, dels, false); err != nil {
				o.log.Error("outbox final delete failed", zap.Error(err))
			}
			return
		}
		// Group commit: take whatever is already waiting, and wait briefly
		// (≤ gatherMax) for callers known to be on their way. A lone
		// producer never waits: nobody else is entering.
		n := groupSize(group)
		deadline := time.Time{}
	collect:
		for n < maxGroup {
			select {
			case r := <-o.reqs:
				group = append(group, r)
				n += len(r.items)
				continue
			case d := <-o.dels:
				dels = append(dels, d)
				continue
			default:
			}
			if o.entering.Load() == 0 {
				break
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(gatherMax)
			}
			wait := time.Until(deadline)
			if wait <= 0 {
				break
			}
			gather.Reset(wait)
			select {
			case r := <-o.reqs:
				group = append(group, r)
				n += len(r.items)
			case d := <-o.dels:
				dels = append(dels, d)
			case <-gather.C:
				break collect
			}
			if !gather.Stop() {
				select {
				case <-gather.C:
				default:
				}
			}
		}
		err := o.commit(group, dels, expire)
		if err != nil {
			o.log.Error("outbox commit failed", zap.Int("messages", groupSize(group)), zap.Error(err))
		}
		for _, r := range group {
			r.done <- err
		}
		for _, w := range waiters {
			close(w)
		}
	}
}

// txDelta collects the counters of one transaction, applied only on commit.
type txDelta struct {
	enqueued, coalesced uint64
	dropped             map[DropReason]DropCount
	lastKey             uint64
}

func (d *txDelta) drop(r DropReason, size int64) {
	if d.dropped == nil {
		d.dropped = make(map[DropReason]DropCount)
	}
	c := d.dropped[r]
	c.Messages++
	c.Bytes += uint64(size)
	d.dropped[r] = c
}

// commit runs one write transaction. On failure the in-memory accounting is
// rebuilt from disk, which the failed transaction left untouched.
func (o *Outbox) commit(group []*enqueueReq, dels []keyRange, expire bool) error {
	o.applyJoined() // before deletes: the deliverer may have sent and acked joined entries
	var d txDelta
	var own *bbolt.Tx
	err := o.db.Update(func(tx *bbolt.Tx) error {
		own = tx
		b := tx.Bucket(outboxBucket)
		o.reapOpen(tx, b)
		for _, r := range dels {
			if err := o.deleteRange(b, r); err != nil {
				return err
			}
		}
		if expire {
			if err := o.expire(b, &d); err != nil {
				return err
			}
		}
		for _, r := range group {
			for i := range r.items {
				if err := o.put(b, &r.items[i], &d); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		o.release(own, 0)
		if rerr := o.rebuild(); rerr != nil {
			o.log.Error("outbox rebuild failed", zap.Error(rerr))
		}
		return err
	}
	o.release(own, d.lastKey)
	o.queuedSnap.Store(o.queued)
	o.bytesSnap.Store(o.queuedBytes)
	if d.lastKey != 0 {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
	o.account(&d)
	return nil
}

// put appends one entry, coalescing and making room first.
func (o *Outbox) put(b *bbolt.Bucket, r *item, d *txDelta) error {
	if r.retained {
		// A newer retained state supersedes the older one, unless that one is
		// already on the wire.
		if old, ok := o.retainedAt[r.topic]; ok && old > o.sentThrough.Load() && (r.key == 0 || old < r.key) {
			k := entryKey(old)
			if v := b.Get(k); v != nil {
				size := int64(len(k) + len(v))
				if err := b.Delete(k); err != nil {
					return err
				}
				o.queued--
				o.queuedBytes -= size
				d.coalesced++
			}
		}
	}
	size := int64(len(r.value) + 8)
	if o.queuedBytes+size > o.opts.MaxBytes {
		if err := o.expire(b, d); err != nil {
			return err
		}
		if err := o.makeRoom(b, size, d); err != nil {
			return err
		}
	}
	seq := r.key
	if seq == 0 {
		seq = o.takeKey(b.Tx(), r.topic)
	} else {
		o.keyMu.Lock()
		o.queuedLocked(r.topic, seq)
		o.keyMu.Unlock()
	}
	if seq > b.Sequence() {
		if err := b.SetSequence(seq); err != nil {
			return err
		}
	}
	if err := b.Put(entryKey(seq), r.value); err != nil {
		return err
	}
	if r.sent != nil {
		o.adopt(seq, r.sent)
	}
	o.queued++
	o.queuedBytes += size
	if r.retained && seq > o.retainedAt[r.topic] {
		o.retainedAt[r.topic] = seq
	}
	d.enqueued++
	d.lastKey = max(d.lastKey, seq)
	return nil
}

// victim is an entry chosen for deletion.
type victim struct {
	key      []byte
	size     int64
	topic    string // set for retained entries, to update retainedAt
	retained bool
}

// remove deletes victims and keeps the accounting.
func (o *Outbox) remove(b *bbolt.Bucket, vs []victim, reason DropReason, d *txDelta) error {
	for _, v := range vs {
		if err := b.Delete(v.key); err != nil {
			return err
		}
		o.queued--
		o.queuedBytes -= v.size
		if v.retained && o.retainedAt[v.topic] == binary.BigEndian.Uint64(v.key) {
			delete(o.retainedAt, v.topic)
		}
		if d != nil {
			d.drop(reason, v.size)
		}
	}
	return nil
}

// makeRoom drops the oldest entries not in flight until size more bytes fit:
// non-retained ones first, retained ones only if that is not enough (a
// retained entry is the latest state of its topic; events are history).
// In-flight entries are never dropped: the bound may be exceeded by the window.
func (o *Outbox) makeRoom(b *bbolt.Bucket, size int64, d *txDelta) error {
	start := entryKey(o.sentThrough.Load() + 1)
	for _, retainedToo := range []bool{false, true} {
		var vs []victim
		free := o.queuedBytes + size - o.opts.MaxBytes
		c := b.Cursor()
		for k, v := c.Seek(start); k != nil && free > 0; k, v = c.Next() {
			retained := len(v) > 0 && v[0]&flagRetained != 0
			if retained && !retainedToo {
				continue
			}
			vc := victim{key: append([]byte(nil), k...), size: int64(len(k) + len(v)), retained: retained}
			if retained {
				vc.topic = entryTopic(v)
			}
			vs = append(vs, vc)
			free -= vc.size
		}
		if err := o.remove(b, vs, DropFull, d); err != nil {
			return err
		}
		if o.queuedBytes+size <= o.opts.MaxBytes {
			return nil
		}
	}
	return nil
}

// expire drops entries older than MaxAge, oldest first (keys follow time).
func (o *Outbox) expire(b *bbolt.Bucket, d *txDelta) error {
	cutoff := o.now().Add(-o.opts.MaxAge).UnixNano()
	var vs []victim
	c := b.Cursor()
	for k, v := c.Seek(entryKey(o.sentThrough.Load() + 1)); k != nil; k, v = c.Next() {
		if len(v) < 9 || int64(binary.BigEndian.Uint64(v[1:9])) >= cutoff {
			break
		}
		vc := victim{key: append([]byte(nil), k...), size: int64(len(k) + len(v)), retained: v[0]&flagRetained != 0}
		if vc.retained {
			vc.topic = entryTopic(v)
		}
		vs = append(vs, vc)
	}
	return o.remove(b, vs, DropExpired, d)
}

// deleteRange deletes the delivered keys r.from..r.to that still exist.
func (o *Outbox) deleteRange(b *bbolt.Bucket, r keyRange) error {
	var vs []victim
	c := b.Cursor()
	for k, v := c.Seek(entryKey(r.from)); k != nil && binary.BigEndian.Uint64(k) <= r.to; k, v = c.Next() {
		vc := victim{key: append([]byte(nil), k...), size: int64(len(k) + len(v)), retained: len(v) > 0 && v[0]&flagRetained != 0}
		if vc.retained {
			vc.topic = entryTopic(v)
		}
		vs = append(vs, vc)
	}
	return o.remove(b, vs, "", nil)
}

// rebuild recomputes the writer's accounting from disk.
func (o *Outbox) rebuild() error {
	o.joinedMu.Lock()
	o.joined = nil // the scan below counts them
	o.joinedMu.Unlock()
	o.queued, o.queuedBytes = 0, 0
	o.retainedAt = make(map[string]uint64)
	err := o.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(outboxBucket)
		last := b.Sequence()
		if k, _ := b.Cursor().Last(); k != nil {
			last = max(last, binary.BigEndian.Uint64(k))
		}
		o.keyMu.Lock()
		o.tail.Store(max(o.tail.Load(), last))
		o.nextKey = max(o.nextKey, last)
		o.keyMu.Unlock()
		return b.ForEach(func(k, v []byte) error {
			o.queued++
			o.queuedBytes += int64(len(k) + len(v))
			if len(v) > 0 && v[0]&flagRetained != 0 {
				o.retainedAt[entryTopic(v)] = binary.BigEndian.Uint64(k)
			}
			return nil
		})
	})
	o.queuedSnap.Store(o.queued)
	o.bytesSnap.Store(o.queuedBytes)
	if err != nil {
		return fmt.Errorf("outbox: scan: %w", err)
	}
	return nil
}

// account adds a committed transaction's counters and warns about drops once
// per burst (then at most once per dropLogEvery while it lasts).
func (o *Outbox) account(d *txDelta) {
	o.statsMu.Lock()
	defer o.statsMu.Unlock()
	o.enqueued += d.enqueued
	o.coalesced += d.coalesced
	var n uint64
	for r, c := range d.dropped {
		t := o.dropped[r]
		t.Messages += c.Messages
		t.Bytes += c.Bytes
		o.dropped[r] = t
		n += c.Messages
	}
	if n == 0 {
		return
	}
	o.dropsSinceLg += n
	if now := time.Now(); now.Sub(o.dropLogAt) >= dropLogEvery {
		o.log.Warn("outbox dropping oldest messages",
			zap.Uint64("dropped_since_last_warning", o.dropsSinceLg),
			zap.Int64("queued_bytes", o.queuedBytes), zap.Int64("max_bytes", o.opts.MaxBytes),
			zap.Duration("max_age", o.opts.MaxAge))
		o.dropLogAt, o.dropsSinceLg = now, 0
	}
}

// Entry encoding (outboxVersion 1):
//
//	key   uint64 big-endian sequence
//	value flags(1: bit0 retained, bits1-2 qos) | enqueued unix nanos (8, BE) |
//	      uvarint topic length | topic | payload
const flagRetained = 1

func entryKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

// entrySize is the bytes an entry takes in the outbox (key and value), as max_bytes counts them.
func entrySize(topic string, payload []byte) int64 {
	var tmp [binary.MaxVarintLen64]byte
	return int64(8 + 9 + binary.PutUvarint(tmp[:], uint64(len(topic))) + len(topic) + len(payload))
}

func encodeEntry(at time.Time, topic string, payload []byte, retained bool, qos byte) []byte {
	v := make([]byte, 9, 9+binary.MaxVarintLen64+len(topic)+len(payload))
	v[0] = qos << 1
	if retained {
		v[0] |= flagRetained
	}
	binary.BigEndian.PutUint64(v[1:9], uint64(at.UnixNano()))
	v = binary.AppendUvarint(v, uint64(len(topic)))
	v = append(v, topic...)
	return append(v, payload...)
}

// entry is a decoded outbox entry.
type entry struct {
	key      uint64
	topic    string
	payload  []byte
	retained bool
	qos      byte
}

var errCorrupt = errors.New("outbox: corrupt entry")

// decodeEntry copies what it returns: v is only valid inside its transaction.
func decodeEntry(k, v []byte) (entry, error) {
	if len(k) != 8 || len(v) < 10 {
		return entry{}, errCorrupt
	}
	n, w := binary.Uvarint(v[9:])
	if w <= 0 || uint64(len(v)-9-w) < n || v[0]>>1&3 > 2 {
		return entry{}, errCorrupt
	}
	rest := v[9+w:]
	return entry{
		key:      binary.BigEndian.Uint64(k),
		topic:    string(rest[:n]),
		payload:  append([]byte(nil), rest[n:]...),
		retained: v[0]&flagRetained != 0,
		qos:      v[0] >> 1 & 3,
	}, nil
}

// entryTopic returns the topic of an encoded value ("" if corrupt).
func entryTopic(v []byte) string {
	if len(v) < 10 {
		return ""
	}
	n, w := binary.Uvarint(v[9:])
	if w <= 0 || uint64(len(v)-9-w) < n {
		return ""
	}
	return string(v[9+w : 9+w+int(n)])
}
