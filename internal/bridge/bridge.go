package bridge

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/interview"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/present"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/taskq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Publisher takes everything the bridge publishes; the durable outbox of package mqtt
// implements it. Enqueue returns once the message is durable, or taken by the broker; delivery
// is in order.
type Publisher interface {
	Enqueue(topic string, payload []byte, retained bool, qos byte) error
	// EnqueueBatch commits several messages at once, in order (one fsync).
	EnqueueBatch(msgs ...mqtt.Publish) error
	// EnqueueTx adds messages inside the bridge's own write transaction on the shared store
	// file: a task's end and its result commit together or not at all.
	EnqueueTx(tx *bolt.Tx, msgs ...mqtt.Publish) error
}

// Waker sends connection requests (package internal/cwmp/connreq implements it).
type Waker interface {
	Wake(ctx context.Context, t connreq.Target) error
}

// Options configure a Bridge. Zero values take the defaults of configs/cwmp2mqtt.yaml.
type Options struct {
	BaseTopic string // mqtt.base_topic
	QoS       byte   // mqtt.qos
	Version   string // gateway version, for bridge/state and bridge/info

	AvailabilityFactor float64       // availability.factor
	AvailabilityFloor  time.Duration // availability.floor
	// DefaultInterval is assumed for a device whose PeriodicInformInterval is not known yet.
	DefaultInterval time.Duration

	MaxQueue int // tasks.max_queue
	// TransferTimeout is how long a transfer accepted with Status 1 may go without its
	// TransferComplete before a transfer_timeout event (tasks.transfer_timeout).
	TransferTimeout time.Duration
	// WakeGrace is how long a request without expires waits for the session a successful
	// connection request should open (tasks.wake_grace).
	WakeGrace time.Duration
	// RewakeEvery re-sends a connection request while tasks wait for a device that could not be
	// reached (never after a CR the CPE accepted: see SessionWait).
	RewakeEvery time.Duration
	// MaxAttempts caps the sends of one request to a CPE that drops the session while running
	// it (tasks.max_attempts): a request that crashes the CPE is not re-sent for ever.
	MaxAttempts int
	// SessionWait is how long a CPE that accepted a connection request has to open its session
	// (cwmp.connreq.session_wait); past it the device gets no CR before its next Inform.
	SessionWait time.Duration

	ProvisionConnReq bool // cwmp.connreq.provision
	// BoolAsNumber and DateTimeMillis select CPEs (by "OUI" or "OUI-ProductClass",
	// case-insensitive) that get booleans as 1/0 and dateTimes with milliseconds (checklist 35).
	BoolAsNumber, DateTimeMillis []string
	// FlushEvery is the write-behind period of per-Inform registry updates.
	FlushEvery time.Duration
	// ValuesStore is the bbolt file of the devices' raw parameters and states, apart from the
	// shared store file that New gets (package registry: Store); nil: the shared file holds them.
	ValuesStore *bolt.DB
	// ParamsCache is how many idle devices keep their raw parameters in memory (package
	// registry); 0: DefaultParamsCache, negative: none.
	ParamsCache int
	// RetainedKept, when set, is asked once after start (it may wait for the broker): true when
	// the broker kept the retained messages across the gateway's restart (an external broker
	// that kept the session; the embedded broker after a clean shutdown, made by the same
	// version and translators), which are then not published again. Nil: always republish.
	RetainedKept func(context.Context) bool
	// RetainedComplete, when set, is called once the broker holds the retained topics of every
	// device known at start: at once when it kept them, else when the republication has queued
	// the last device's (never when the gateway stops before). The embedded broker's file is
	// marked as made by this run only then, so a clean stop in the middle of a republication does
	// not leave a file the next start would keep with devices missing.
	RetainedComplete func()
	// Health adds the gateway's figures (broker, outbox, translators) to the health answer.
	Health func(*api.Health)
	// Interview bounds the discovery of each device's data model (interview.*).
	Interview InterviewOptions
	// Observer receives Informs, request results and bridge events (metrics); nil: none.
	Observer Observer

	// MaxDevices bounds the registry: past it unknown devices are refused with 503 (0: no bound).
	MaxDevices int
	// RegistrationRate bounds new devices per second (burst RegistrationBurst); past it unknown
	// devices are refused with 503 until a slot frees (0: no bound).
	RegistrationRate  float64
	RegistrationBurst int

	Now func() time.Time
}

// DefaultOptions is what the gateway runs with when nothing is set: the defaults of its settings
// table and configs/cwmp2mqtt.yaml (a test there keeps them equal). Bounds whose zero means "none"
// (MaxDevices, RegistrationRate) and ProvisionConnReq are not filled in by New: a caller that
// wants them starts from DefaultOptions.
func DefaultOptions() Options {
	return Options{
		BaseTopic: "cwmp2mqtt", QoS: 1,
		AvailabilityFactor: 2.5, AvailabilityFloor: 2 * time.Minute, DefaultInterval: time.Hour,
		MaxQueue: 1000, TransferTimeout: time.Hour, WakeGrace: time.Minute, RewakeEvery: time.Minute,
		MaxAttempts: 2, SessionWait: 10 * time.Second, ProvisionConnReq: true, FlushEvery: time.Second,
		Interview:  DefaultInterviewOptions(),
		MaxDevices: 10000, RegistrationRate: 20, RegistrationBurst: 200,
		ParamsCache: registry.DefaultParamsCache,
	}
}

func (o *Options) setDefaults() {
	d := DefaultOptions()
	if o.BaseTopic == "" {
		o.BaseTopic = d.BaseTopic
	}
	if o.AvailabilityFactor == 0 {
		o.AvailabilityFactor = d.AvailabilityFactor
	}
	if o.AvailabilityFloor == 0 {
		o.AvailabilityFloor = d.AvailabilityFloor
	}
	if o.DefaultInterval == 0 {
		o.DefaultInterval = d.DefaultInterval
	}
	if o.MaxQueue == 0 {
		o.MaxQueue = d.MaxQueue
	}
	if o.TransferTimeout == 0 {
		o.TransferTimeout = d.TransferTimeout
	}
	if o.WakeGrace == 0 {
		o.WakeGrace = d.WakeGrace
	}
	if o.RewakeEvery == 0 {
		o.RewakeEvery = d.RewakeEvery
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = d.MaxAttempts
	}
	if o.SessionWait <= 0 {
		o.SessionWait = d.SessionWait
	}
	if o.FlushEvery == 0 {
		o.FlushEvery = d.FlushEvery
	}
	switch {
	case o.ParamsCache == 0:
		o.ParamsCache = d.ParamsCache
	case o.ParamsCache < 0:
		o.ParamsCache = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Interview.SetDefaults()
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
}

// Bridge implements acs.Handler and the inbound MQTT contract.
type Bridge struct {
	opts  Options
	log   *zap.Logger
	st    *store
	pub   Publisher
	waker Waker
	tr    Translators
	// out names and encodes what is published (package present); the bridge decides when.
	out present.Presenter
	// reg keeps the devices' raw parameters, last states and write-behind set, under its own
	// lock (package registry); avail is its offline rule.
	reg   *registry.Registry
	avail registry.Availability
	// tasks are the devices' request queues, under their own lock (taken after mu, never
	// before).
	tasks *taskq.Queues[*taskRecord]

	mu      sync.Mutex
	devices map[string]*device
	// committing counts, per device, the platform requests still committing while the
	// connection request they sent is out (enqueue); a session's NextTask waits on committed
	// (L is &mu, broadcast when a count falls to 0) rather than miss them. Under mu.
	committing map[string]int
	committed  sync.Cond
	// strs are the record strings devices share (intern.go).
	strs interner
	// annot guards what a task's result says beyond its status (note, explain), so a result can
	// be encoded under b.mu or not. Taken after b.mu, never before; tasks' lock after it.
	annot sync.Mutex
	// order serializes, per device, stamping the time of its B/D/event (and inform) messages and
	// handing them to the outbox (lockDeviceOrder): taken before b.mu, never under it.
	order [64]sync.Mutex

	info atomic.Pointer[api.BridgeInfo]
	// models are the data models interviews found, and who discovers each now (interview.go).
	models *interview.Models
	// deadlines are the timers (deadlines.go).
	deadlines [dueKinds]deadlineHeap

	authEvents    authEventLimiter
	refusedEvents authEventLimiter
	registrations tokenBucket // new registrations (Options.RegistrationRate); guarded by mu

	// finishes counts finished tasks, to prune the remembered ids now and then.
	finishes atomic.Uint64

	started time.Time
	// translatorsSum identifies the translators loaded at start (names and versions): a state
	// normalized by others is made again (unchanged.go).
	translatorsSum uint64
	ctx            context.Context
	cancel         context.CancelFunc
	// wg tracks every goroutine of the bridge, connection requests included; stopping (under mu)
	// refuses new ones once Stop began, so Stop's Wait cannot race an Add.
	wg       sync.WaitGroup
	stopping bool
}

var _ acs.Handler = (*Bridge)(nil)

// device is the in-memory state of one registered device.
type device struct {
	// rec is the device's registry record (its raw parameters and last state are in b.reg);
	// dirty: changed since it was last handed to a write.
	rec registry.Record
	// inSession is the id of the open session, "" when none.
	inSession string
	lastWake  time.Time
	// wake is the outcome of the last connection requests (wake.go), nil when there is none.
	wake *wakeState
	// published is what was last published on B/D/state and B/D/info (a hash of each, not
	// the JSON, so an idle device keeps bytes, not kilobytes).
	published present.Published
	// stateKeys counts the keys of the last normalized state (the interview's result).
	stateKeys int
	// iv is the interview running in this process; reinterview asks for one at the next session.
	iv *interviewRun
	// due is the time of the live deadline entry of each kind (deadlines.go: dueAt), 0 when none.
	due [dueKinds]int64
	// The flags last, together (no padding between them).
	dirty       bool
	waking      bool
	reinterview bool
	// intervalAsked, credsAsked: the internal read of PeriodicInformInterval, the credential
	// provisioning, were queued in this process.
	intervalAsked, credsAsked bool
}

// New builds a Bridge on the shared store file. tr may be nil (raw state only).
func New(db *bolt.DB, pub Publisher, waker Waker, tr Translators, opts Options, log *zap.Logger) (*Bridge, error) {
	if db == nil || pub == nil {
		return nil, errors.New("bridge: store and publisher are required")
	}
	opts.setDefaults()
	st, err := openStore(db)
	if err != nil {
		return nil, err
	}
	rst, err := registry.OpenStore(db, opts.ValuesStore)
	if err != nil {
		return nil, err
	}
	models, err := interview.OpenModels(db)
	if err != nil {
		return nil, err
	}
	b := &Bridge{
		opts: opts, log: log.Named("bridge"), st: st, pub: pub, waker: waker, tr: tr, out: present.New(opts.BaseTopic, opts.QoS),
		tasks:   taskq.New[*taskRecord](taskStore{st, opts.Now}, taskq.Options{MaxQueue: opts.MaxQueue, MaxAttempts: opts.MaxAttempts}),
		avail:   registry.Availability{Factor: opts.AvailabilityFactor, Floor: opts.AvailabilityFloor, DefaultInterval: opts.DefaultInterval},
		devices: map[string]*device{}, models: models, committing: map[string]int{},
	}
	b.committed.L = &b.mu
	b.reg = registry.New(rst, opts.ParamsCache, b.log)
	return b, nil
}

// Start loads the registry and queues, recovers tasks that were in flight when the gateway
// stopped, publishes the bridge topics and starts the timers.
func (b *Bridge) Start(ctx context.Context) error {
	b.ctx, b.cancel = context.WithCancel(ctx)
	b.started = b.opts.Now()
	b.translatorsSum = translatorsSum(b.tr)
	var known []string // loaded before any Inform could arrive
	b.mu.Lock()
	err := b.reg.Load(func(r *registry.Record) {
		b.strs.record(r)
		d := &device{rec: *r}
		b.devices[r.ID] = d
		known = append(known, d.rec.ID)
	})
	b.mu.Unlock()
	if err != nil {
		return err
	}
	if b.reg.Unclean() {
		b.log.Warn("store values not closed by a clean stop: each device's first Inform is compared with its stored values in full", zap.Int("devices", len(known)))
	}
	tasks, err := b.st.load()
	if err != nil {
		return err
	}
	b.mu.Lock()
	kept := tasks[:0:0]
	for _, t := range tasks {
		if b.devices[t.Device] == nil { // orphan: its device was removed mid-write
			_ = b.st.deleteTask(t.Device, t.Seq)
			continue
		}
		kept = append(kept, t)
	}
	b.tasks.Restore(kept)
	b.armAllLocked()
	b.mu.Unlock()
	b.pruneFinished()
	b.recoverInflight()
	b.publishBridgeState("online")
	b.wg.Add(2)
	go b.loop()
	go b.republishRetained(known)
	// Devices with queued work get a connection request now rather than at their next inform.
	b.mu.Lock()
	for id, d := range b.devices {
		if b.tasks.Len(id) > 0 {
			b.wakeLocked(d)
		}
	}
	b.mu.Unlock()
	b.log.Info("bridge started", zap.Int("devices", len(known)), zap.Int("tasks", len(tasks)))
	return nil
}

// republishRetained publishes the availability, state and info of the devices known at start,
// normalized by the translators of this run: a broker that lost its retained messages (the
// embedded broker after a crash) must show a platform the current picture again. It works in batches
// of republishBatch devices, one outbox commit each, and after each batch pauses as long as the
// batch took, so live sessions keep at least half of the CPU however large the fleet. A device
// that informed since start published its own, newer messages: it is skipped, and its messages
// are dropped from a batch it informed during.
func (b *Bridge) republishRetained(ids []string) {
	defer b.wg.Done()
	if b.opts.RetainedKept != nil && len(ids) > 0 && b.opts.RetainedKept(b.ctx) {
		b.log.Info("broker kept the retained messages; devices' retained topics not republished", zap.Int("devices", len(ids)))
		b.rememberKeptInfo(ids)
		b.retainedComplete()
		return
	}
	began, done := time.Now(), 0
	for len(ids) > 0 && b.ctx.Err() == nil {
		n := min(republishBatch, len(ids))
		t0 := time.Now()
		done += b.republishBatch(ids[:n])
		ids = ids[n:]
		if len(ids) == 0 {
			break
		}
		select {
		case <-b.ctx.Done():
		case <-time.After(time.Since(t0)):
		}
	}
	if len(ids) > 0 {
		b.log.Info("republication of retained topics stopped with the gateway", zap.Int("devices", done), zap.Int("left", len(ids)))
		return
	}
	b.log.Info("retained topics republished", zap.Int("devices", done), zap.Duration("took", time.Since(began)))
	b.retainedComplete()
}

func (b *Bridge) retainedComplete() {
	if b.opts.RetainedComplete != nil {
		b.opts.RetainedComplete()
	}
}

// rememberKeptInfo records, for the devices that have not informed since start, that the B/D/info
// the broker kept is the one their record says was last published (Record.InfoSum): without it
// each one's first Inform after a restart republished an unchanged B/D/info, a write into the broker's retained file per device (at
// 100,000 devices the first sessions after a restart mapped 240 MiB of that file and cost more
// than the next ones). The state needs no such step (StateOf is stored).
func (b *Bridge) rememberKeptInfo(ids []string) {
	for len(ids) > 0 && b.ctx.Err() == nil {
		n := min(flushChunk, len(ids))
		b.mu.Lock()
		for _, id := range ids[:n] {
			if d := b.devices[id]; d != nil && !d.rec.LastInform.After(b.started) && d.published.Info() == 0 {
				d.published.KeptInfo(d.rec.InfoSum)
			}
		}
		b.mu.Unlock()
		ids = ids[n:]
	}
}

// republishBatch is how many devices one commit of republishRetained carries.
const republishBatch = 256

func (b *Bridge) republishBatch(ids []string) int {
	type part struct {
		id         string
		start, end int
		published  present.Published // the state and info these messages carry
	}
	var out present.Batch
	var parts []part
	for _, id := range ids {
		b.mu.Lock()
		d := b.devices[id]
		if d == nil || d.rec.LastInform.After(b.started) {
			b.mu.Unlock()
			continue
		}
		online, since := d.rec.Online, d.rec.LastInform
		b.mu.Unlock()
		start := len(out.Msgs)
		reason := ""
		if !online {
			reason = offlineReason
		}
		b.to(&out).put(b.out.Availability(id, online, since, reason))
		b.republishState(&out, id)
		b.emitInfo(&out, id)
		p := part{id: id, start: start, end: len(out.Msgs)}
		b.mu.Lock()
		if d := b.devices[id]; d != nil {
			p.published = d.published
		}
		b.mu.Unlock()
		parts = append(parts, p)
	}
	// A device that informed meanwhile published its own availability; its state and info
	// are kept only while they are still the last ones published (else newer ones are out).
	kept := out.Msgs[:0]
	b.mu.Lock()
	for _, p := range parts {
		d := b.devices[p.id]
		if d == nil {
			continue
		}
		informed := d.rec.LastInform.After(b.started)
		for _, m := range out.Msgs[p.start:p.end] {
			switch {
			case !informed:
			case m.Topic == b.out.Topic(p.id, "availability"):
				continue
			case m.Topic == b.out.Topic(p.id, "state") && !d.published.SameState(p.published):
				continue
			case m.Topic == b.out.Topic(p.id, "info") && !d.published.SameInfo(p.published):
				continue
			}
			kept = append(kept, m)
		}
	}
	b.trimParamsLocked() // the batch's translator calls read them
	b.mu.Unlock()
	out.Msgs = kept
	if len(out.Msgs) > 0 {
		b.flushBatch(&out)
	}
	return len(parts)
}

// Stop ends the timers and flushes the registry. The caller stops the ACS first.
func (b *Bridge) Stop() {
	if b.cancel == nil {
		return
	}
	b.mu.Lock()
	b.stopping = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	// Every dirty record, even one whose change did not go through markDirtyLocked.
	b.mu.Lock()
	for id, d := range b.devices {
		if d.dirty || b.reg.Pending(id) {
			b.reg.MarkDirty(id)
		}
	}
	b.mu.Unlock()
	if b.flush() {
		if err := b.reg.MarkClean(); err != nil {
			b.log.Error("clean stop not recorded", zap.Error(err))
		}
	}
}

// OnConnect republishes the retained bridge topics after each (re)connect to the broker;
// the mqtt client calls it.
func (b *Bridge) OnConnect() {
	b.publishBridgeState("online")
	b.reg.TouchCounts()
	if info := b.info.Load(); info != nil {
		b.to(nil).put(b.out.BridgeInfo(info))
	}
}

// SetInfo publishes the retained B/bridge/info (the gateway calls it once it listens).
func (b *Bridge) SetInfo(info *api.BridgeInfo) {
	if info.Translators == nil {
		info.Translators = b.translatorList(false)
	}
	b.info.Store(info)
	b.to(nil).put(b.out.BridgeInfo(info))
}

func (b *Bridge) loop() {
	defer b.wg.Done()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastFlush, lastAvail := b.opts.Now(), b.opts.Now()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-tick.C:
		}
		now := b.opts.Now()
		b.sweepTasks(now)
		if now.Sub(lastAvail) >= time.Second {
			b.sweepAvailability(now)
			b.sweepTransfers(now)
			lastAvail = now
		}
		if now.Sub(lastFlush) >= b.opts.FlushEvery {
			b.flush()
			lastFlush = now
		}
		b.publishDeviceListIfDirty()
	}
}

// flushChunk bounds the devices a flush snapshots per hold of b.mu. Every session takes b.mu,
// and one hold for the whole write-behind set stalled them all: up to 11 ms for 1,000 dirty
// records at 1,000 sessions/s on the 2-core machine (docs/performance.md).
const flushChunk = 128

// flush writes dirty device records in one transaction (write-behind).
func (b *Bridge) flush() (ok bool) {
	ids := b.reg.TakeDirty()
	recs := make([]*registry.Record, 0, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), flushChunk)
		b.mu.Lock()
		for _, id := range ids[:n] {
			if d := b.devices[id]; d != nil && (d.dirty || b.reg.Pending(id)) {
				recs = append(recs, d.snapshotLocked())
			}
		}
		b.mu.Unlock()
		ids = ids[n:]
	}
	failed, err := b.putRecords(recs)
	for _, id := range failed { // the others were written (registry.Store.Put isolates failures)
		b.log.Error("registry flush failed", zap.String("device", id), zap.Error(err), zap.Int("devices", len(recs)))
	}
	return err == nil
}

// snapshotLocked copies the record for a write outside the lock (by putRecords, which adds the
// parameters and state the registry has not written yet), and marks the device clean.
func (d *device) snapshotLocked() *registry.Record {
	r := d.rec
	d.dirty = false
	return &r
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
