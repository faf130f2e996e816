package taskq

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// The readable reasons of `rejected` results, and of refused sends.
var (
	ErrQueueFull   = errors.New("the device's queue is full (tasks.max_queue)")
	ErrDuplicateID = errors.New("a request with this id is already queued for the device")
	// ErrNotQueued: the task is not (or no longer) in its device's queue.
	ErrNotQueued = errors.New("taskq: the task is not queued")
	// ErrTimedOut: a task sent before, whose timeout (counted from its first send) ran out
	// while it waited to be sent again: it is not sent again.
	ErrTimedOut = errors.New("taskq: the task's timeout ran out before it could be sent again")
)

// FinishedMemory is how many finished request ids per device are kept in memory to drop QoS 1
// redeliveries without a store read; the Store remembers each for longer.
const FinishedMemory = 64

// Item is a task as its owner keeps it: a type embedding Task (the bridge adds what lives only
// in memory: the progress of a batched read, notes for the next result).
type Item interface {
	comparable
	task() *Task
}

// Store is the persistence the queue needs; the bridge implements it on its bbolt file.
type Store interface {
	// SaveTask commits a task's stored form; it returns once the write is durable.
	SaveTask(device string, seq uint64, v []byte) error
	// WasFinished reports whether request id of device finished recently (the store keeps the
	// finished ids longer than FinishedMemory).
	WasFinished(device, id string) (bool, error)
}

// Options bound the queues.
type Options struct {
	MaxQueue    int // tasks.max_queue: tasks (queued or in flight) per device
	MaxAttempts int // tasks.max_attempts: sends of one task to a CPE that drops the session on it
}

// Queues are the task queues of every device, under one lock of their own.
type Queues[T Item] struct {
	opts  Options
	store Store

	mu  sync.Mutex
	seq uint64 // the highest sequence given: orders tasks across restarts
	dev map[string]*queue[T]
}

type queue[T Item] struct {
	tasks []T // pending tasks in run order
	// accepting were accepted and are being committed, not inserted yet: they hold their place
	// under tasks.max_queue and their id, so two requests at once cannot both pass the checks.
	accepting []T
	// finished are the ids of the last requests that ended (newest last), to drop redeliveries.
	finished []string
}

// New returns empty queues.
func New[T Item](store Store, opts Options) *Queues[T] {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 1
	}
	return &Queues[T]{opts: opts, store: store, dev: map[string]*queue[T]{}}
}

// move is the one place a task's state changes (the caller holds q.mu).
func move(t *Task, to State) error {
	if err := Transition(t.p.State, to); err != nil {
		return fmt.Errorf("task %s of %s: %w", t.ID, t.Device, err)
	}
	t.p.State = to
	return nil
}

// Restore queues the tasks read from the store at start, in any order (a stored task is
// queued, sent or lapsed: UnmarshalJSON refuses any other state).
func (q *Queues[T]) Restore(ts []T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	touched := map[string]*queue[T]{}
	for _, it := range ts {
		t := it.task()
		dq := q.devLocked(t.Device)
		dq.tasks = append(dq.tasks, it)
		touched[t.Device] = dq
		q.seq = max(q.seq, t.Seq)
	}
	for _, dq := range touched {
		sortQueue(dq.tasks)
	}
}

func (q *Queues[T]) devLocked(device string) *queue[T] {
	dq := q.dev[device]
	if dq == nil {
		dq = &queue[T]{}
		q.dev[device] = dq
	}
	return dq
}

// Accept admits a platform request: refused when the device's queue is full or holds the same
// id; else numbered, Queued, and committed to the store (outside the lock: concurrent commits
// share an fsync). It is not in the queue until Insert (or Forget), so the caller can check that
// the device still exists in between; meanwhile it holds its place and its id. A store error
// leaves nothing behind.
func (q *Queues[T]) Accept(it T) error {
	t := it.task()
	q.mu.Lock()
	dq := q.devLocked(t.Device)
	if len(dq.tasks)+len(dq.accepting) >= q.opts.MaxQueue {
		q.mu.Unlock()
		return ErrQueueFull
	}
	same := func(o T) bool { return o.task().ID == t.ID && !o.task().Internal() }
	if t.ID != "" && (slices.ContainsFunc(dq.tasks, same) || slices.ContainsFunc(dq.accepting, same)) {
		q.mu.Unlock()
		return ErrDuplicateID
	}
	if err := move(t, Queued); err != nil {
		q.mu.Unlock()
		return err
	}
	q.seq++
	t.Seq = q.seq
	dq.accepting = append(dq.accepting, it)
	v, err := json.Marshal(t)
	q.mu.Unlock()
	if err == nil && !t.Volatile {
		if err = q.store.SaveTask(t.Device, t.Seq, v); err != nil {
			err = fmt.Errorf("store: %w", err)
		}
	}
	if err != nil {
		q.Forget(it)
	}
	return err
}

// Insert puts an accepted task in its device's queue, in run order.
func (q *Queues[T]) Insert(it T) {
	t := it.task()
	q.mu.Lock()
	defer q.mu.Unlock()
	dq := q.devLocked(t.Device)
	dq.accepting = slices.DeleteFunc(dq.accepting, func(o T) bool { return o == it })
	dq.tasks = append(dq.tasks, it)
	sortQueue(dq.tasks)
}

// Forget lets go of an accepted task that is not to be inserted (its device went away while it
// was being committed).
func (q *Queues[T]) Forget(it T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if dq := q.dev[it.task().Device]; dq != nil {
		dq.accepting = slices.DeleteFunc(dq.accepting, func(o T) bool { return o == it })
		q.gcLocked(it.task().Device, dq)
	}
}

// gcLocked forgets a device's queue that holds nothing.
func (q *Queues[T]) gcLocked(device string, dq *queue[T]) {
	if dq.tasks == nil && len(dq.accepting) == 0 && dq.finished == nil {
		delete(q.dev, device)
	}
}

// AddInternal queues a gateway task at once (volatile, never stored, no limit).
func (q *Queues[T]) AddInternal(it T) error {
	t := it.task()
	t.Volatile = true
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := move(t, Queued); err != nil {
		return err
	}
	q.seq++
	t.Seq = q.seq
	dq := q.devLocked(t.Device)
	dq.tasks = append(dq.tasks, it)
	sortQueue(dq.tasks)
	return nil
}

// sortQueue orders the gateway's own tasks first, then by acceptance order.
func sortQueue[T Item](ts []T) {
	sort.SliceStable(ts, func(i, j int) bool {
		pi, pj := ts[i].task().Internal(), ts[j].task().Internal()
		if pi != pj {
			return pi
		}
		return ts[i].task().Seq < ts[j].task().Seq
	})
}

// Len is the number of pending tasks of the device.
func (q *Queues[T]) Len(device string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if dq := q.dev[device]; dq != nil {
		return len(dq.tasks)
	}
	return 0
}

// Total is the number of pending tasks of every device.
func (q *Queues[T]) Total() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, dq := range q.dev {
		n += len(dq.tasks)
	}
	return n
}

// Each calls fn for the device's pending tasks in run order with their progress, until fn
// returns false. fn runs under the queues' lock: it must not call the Queues.
func (q *Queues[T]) Each(device string, fn func(T, Progress) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if dq := q.dev[device]; dq != nil {
		for _, it := range dq.tasks {
			if !fn(it, it.task().p) {
				return
			}
		}
	}
}

// Any reports whether one of the device's pending tasks passes fn (run under the lock).
func (q *Queues[T]) Any(device string, fn func(T, Progress) bool) bool {
	found := false
	q.Each(device, func(it T, p Progress) bool {
		found = fn(it, p)
		return !found
	})
	return found
}

// Progress is a copy of the task's progress.
func (q *Queues[T]) Progress(it T) Progress {
	q.mu.Lock()
	defer q.mu.Unlock()
	return it.task().p
}

// Marshal is the task's stored form, taken under the lock (sessions and the sweeper move tasks
// concurrently). The caller holds whatever guards the fields it sets itself. ErrNotQueued: the
// task ended meanwhile, and must not be stored again.
func (q *Queues[T]) Marshal(it T) ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !it.task().p.State.Pending() {
		return nil, ErrNotQueued
	}
	return json.Marshal(it.task())
}

// Send marks a queued task sent, counting the send and starting its timeout at the first one.
// ErrTimedOut: it was sent before and its timeout ran out meanwhile; it stays queued, and the
// caller ends it with Timeout.
func (q *Queues[T]) Send(it T, now time.Time) error {
	t := it.task()
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.p.State == Queued && !t.p.Deadline.IsZero() && now.After(t.p.Deadline) {
		return ErrTimedOut
	}
	if err := move(t, Sent); err != nil {
		return err
	}
	t.p.Attempts++
	if t.Timeout > 0 && t.p.Deadline.IsZero() {
		// Counted from the first send and never restarted: a re-send after a dropped session
		// does not buy the request a new timeout.
		t.p.Deadline = now.Add(t.Timeout)
	}
	return nil
}

// Outcome is what became of a task whose session ended before its answer.
type Outcome uint8

const (
	// Untouched: the task was not outstanding (nothing to do).
	Untouched Outcome = iota
	// Requeued: back in the queue, sent again at the next session.
	Requeued
	// Spent: sent tasks.max_attempts times; the caller ends it with Timeout.
	Spent
	// Abandoned: it had lapsed (its timeout is published); the caller removes it with Timeout,
	// publishing nothing.
	Abandoned
)

// Interrupted handles a task whose session ended while it was outstanding: dropped counts the
// session against the CPE (not when the gateway itself stops).
func (q *Queues[T]) Interrupted(it T, dropped bool) Outcome {
	t := it.task()
	q.mu.Lock()
	defer q.mu.Unlock()
	switch t.p.State {
	case Lapsed:
		return Abandoned
	case Sent:
		if dropped {
			t.p.Drops++
		}
		if t.p.Attempts >= q.opts.MaxAttempts {
			return Spent // a task the CPE keeps dying on is not re-sent for ever
		}
		_ = move(t, Queued)
		return Requeued
	}
	return Untouched
}

// Recover runs once at start, after Restore: a task that was sent when the gateway stopped is
// queued again when rerun (it is harmless to run again) and it has sends left; else it is
// returned to be ended with Timeout (at most once: its outcome is unknown).
func (q *Queues[T]) Recover(rerun func(T) bool) (requeued, ended []T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, dq := range q.dev {
		for _, it := range dq.tasks {
			t := it.task()
			switch {
			case t.p.State == Lapsed, t.p.State == Sent && t.p.Attempts >= q.opts.MaxAttempts:
				ended = append(ended, it)
			case t.p.State == Sent && rerun(it):
				_ = move(t, Queued)
				requeued = append(requeued, it)
			case t.p.State == Sent:
				ended = append(ended, it)
			}
		}
	}
	return requeued, ended
}

// Due is what a sweep found due in one device's queue.
type Due[T Item] struct {
	// Overdue were sent before, and their timeout ran out while they waited to be sent again:
	// to end with Timeout. Expired waited past their expires: to end with ExpiredState.
	Overdue, Expired []T
	// Lapsed were in flight past their timeout, and are now Lapsed: their `timeout` is to be
	// published, while their session still holds them.
	Lapsed []T
	// Waiting: tasks wait to be sent.
	Waiting bool
}

// Sweep looks at the device's tasks at now: see Due.
func (q *Queues[T]) Sweep(device string, now time.Time) Due[T] {
	var d Due[T]
	q.mu.Lock()
	defer q.mu.Unlock()
	dq := q.dev[device]
	if dq == nil {
		return d
	}
	for _, it := range dq.tasks {
		t := it.task()
		switch {
		case t.p.State == Queued && !t.p.Deadline.IsZero() && now.After(t.p.Deadline):
			d.Overdue = append(d.Overdue, it)
		case t.p.State == Queued && !t.Expires.IsZero() && now.After(t.Expires):
			d.Expired = append(d.Expired, it)
		case t.p.State == Sent && !t.p.Deadline.IsZero() && now.After(t.p.Deadline):
			_ = move(t, Lapsed)
			d.Lapsed = append(d.Lapsed, it)
		case t.p.State == Queued:
			d.Waiting = true
		}
	}
	return d
}

// ExpiredState is the terminal state of a task whose expires passed while it was queued: a task
// sent before (and dropped) may have been applied, so its outcome is unknown (Timeout).
func ExpiredState(p Progress) State {
	if p.Attempts > 0 {
		return Timeout
	}
	return Expired
}

// NextCheck is the earliest expiry or timeout among the device's tasks (zero: none), and
// whether tasks wait to be sent.
func (q *Queues[T]) NextCheck(device string) (next time.Time, waiting bool) {
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	q.Each(device, func(it T, p Progress) bool {
		switch p.State {
		case Queued:
			waiting = true
			at(p.Deadline)
			at(it.task().Expires)
		case Sent:
			at(p.Deadline)
		}
		return true
	})
	return next, waiting
}

// Finish ends a pending task in state to and takes it out of its queue, remembering its id
// (platform tasks). It returns whether its result is to be published: not for the gateway's own
// tasks, and not for a lapsed task, whose `timeout` was published already (whatever ended it,
// it ends Timeout). A task not pending is refused with ErrNotQueued: a task gets one end.
func (q *Queues[T]) Finish(it T, to State) (publish bool, err error) {
	t := it.task()
	q.mu.Lock()
	defer q.mu.Unlock()
	from := t.p.State
	if !from.Pending() {
		return false, fmt.Errorf("%w: %s is %s", ErrNotQueued, t.ID, from)
	}
	if from == Lapsed {
		to = Timeout
	}
	if err := move(t, to); err != nil {
		return false, err
	}
	q.removeLocked(it)
	if !t.Internal() && t.ID != "" {
		dq := q.devLocked(t.Device)
		if len(dq.finished) >= FinishedMemory {
			dq.finished = dq.finished[1:]
		}
		dq.finished = append(dq.finished, t.ID)
	}
	return from != Lapsed && !t.Internal(), nil
}

// removeLocked takes the task out of its queue. A new array: the old one would keep the
// finished task (with a state read's every value) alive behind an emptied queue.
func (q *Queues[T]) removeLocked(it T) {
	dq := q.dev[it.task().Device]
	if dq == nil {
		return
	}
	if i := slices.Index(dq.tasks, it); i >= 0 {
		dq.tasks = append(dq.tasks[:i:i], dq.tasks[i+1:]...)
		if len(dq.tasks) == 0 {
			dq.tasks = nil
		}
	}
	q.gcLocked(it.task().Device, dq)
}

// Drop ends the device's queued tasks that pass fn without a result (Dropped): the gateway's
// own tasks that lost their purpose. It returns how many.
func (q *Queues[T]) Drop(device string, fn func(T) bool) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	dq := q.dev[device]
	if dq == nil {
		return 0
	}
	var drop []T
	for _, it := range dq.tasks {
		if it.task().p.State == Queued && it.task().Internal() && fn(it) {
			drop = append(drop, it)
		}
	}
	for _, it := range drop {
		_ = move(it.task(), Dropped)
		q.removeLocked(it)
	}
	return len(drop)
}

// Removed is a task ended by RemoveDevice.
type Removed[T Item] struct {
	Task  T
	State State // Cancelled (not sent) or Timeout (sent: its outcome is unknown)
	// Publish: its result is to be published (a platform task that had not lapsed).
	Publish bool
}

// RemoveDevice ends every task of a device being forgotten, and forgets its finished ids.
func (q *Queues[T]) RemoveDevice(device string) []Removed[T] {
	q.mu.Lock()
	defer q.mu.Unlock()
	dq := q.dev[device]
	delete(q.dev, device)
	if dq == nil {
		return nil
	}
	out := make([]Removed[T], 0, len(dq.tasks))
	for _, it := range dq.tasks {
		t := it.task()
		from, to := t.p.State, Cancelled
		if from != Queued {
			to = Timeout
		}
		_ = move(t, to)
		out = append(out, Removed[T]{Task: it, State: to, Publish: from != Lapsed && !t.Internal()})
	}
	return out
}

// RecentlyFinished reports whether request id of device ended recently: in memory for the last
// FinishedMemory ids, else as the store remembers.
func (q *Queues[T]) RecentlyFinished(device, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	q.mu.Lock()
	dq := q.dev[device]
	seen := dq != nil && slices.Contains(dq.finished, id)
	q.mu.Unlock()
	if seen {
		return true, nil
	}
	return q.store.WasFinished(device, id)
}
