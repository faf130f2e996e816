package taskq

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// item is what a user of the queue keeps: a Task and its own in-memory fields.
type item struct {
	Task
	note string
}

// fakeStore keeps committed tasks and finished ids in maps; fail makes every write fail.
type fakeStore struct {
	mu       sync.Mutex
	saved    map[string][]byte
	finished map[string]bool
	asked    []string
	fail     error
}

func newFakeStore() *fakeStore {
	return &fakeStore{saved: map[string][]byte{}, finished: map[string]bool{}}
}

func (s *fakeStore) SaveTask(device string, seq uint64, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.saved[fmt.Sprintf("%s/%d", device, seq)] = v
	return nil
}

func (s *fakeStore) WasFinished(device, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, id)
	return s.finished[device+"/"+id], nil
}

var t0 = time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)

func newQueues(maxQueue, maxAttempts int) (*Queues[*item], *fakeStore) {
	st := newFakeStore()
	return New[*item](st, Options{MaxQueue: maxQueue, MaxAttempts: maxAttempts}), st
}

func task(dev, id string) *item {
	return &item{Task: Task{Device: dev, ID: id, Origin: OriginRPC, Method: "GetRPCMethods", Accepted: t0}}
}

// accepted queues a platform task the way the bridge does: Accept, then Insert.
func accepted(t *testing.T, q *Queues[*item], it *item) *item {
	t.Helper()
	if err := q.Accept(it); err != nil {
		t.Fatalf("accept %s: %v", it.ID, err)
	}
	q.Insert(it)
	return it
}

func ids(q *Queues[*item], dev string) string {
	var out []string
	q.Each(dev, func(it *item, _ Progress) bool {
		out = append(out, it.ID)
		return true
	})
	return strings.Join(out, ",")
}

// The life of a task, written out here apart from the table: every move it lists is allowed,
// every other one is refused, and nothing leaves a terminal state.
func TestTransitionTableRefusesEveryOtherMove(t *testing.T) {
	legal := map[[2]State]bool{
		{Received, Queued}: true, {Received, Rejected}: true,
		{Queued, Sent}: true, {Queued, Expired}: true, {Queued, Offline}: true, {Queued, Cancelled}: true,
		{Queued, Timeout}: true, {Queued, Dropped}: true,
		{Sent, Queued}: true, {Sent, Lapsed}: true, {Sent, Done}: true, {Sent, Fault}: true, {Sent, Timeout}: true,
		{Lapsed, Timeout}: true,
	}
	for from := Received; from < numStates; from++ {
		for to := Received; to < numStates; to++ {
			err := Transition(from, to)
			switch {
			case legal[[2]State{from, to}] && err != nil:
				t.Errorf("%s → %s refused: %v", from, to, err)
			case !legal[[2]State{from, to}] && !errors.Is(err, ErrTransition):
				t.Errorf("%s → %s allowed, want refused", from, to)
			}
			if from.Terminal() && err == nil {
				t.Errorf("terminal %s left for %s", from, to)
			}
		}
	}
	for _, s := range []State{Done, Fault, Timeout, Expired, Offline, Rejected, Cancelled} {
		if !s.Terminal() || s.Pending() {
			t.Errorf("%s is not terminal", s)
		}
	}
	// The terminal states are the statuses of docs/mqtt-api.md.
	for s, want := range map[State]string{Done: "done", Fault: "fault", Timeout: "timeout", Expired: "expired",
		Offline: "offline", Rejected: "rejected", Cancelled: "cancelled"} {
		if s.String() != want {
			t.Errorf("%d is %q, want status %q", s, s, want)
		}
	}
}

// Each terminal status is reached through the queue from every state that allows it, and the
// queue refuses the moves the table refuses.
func TestEveryTerminalStateReachedThroughTheQueue(t *testing.T) {
	q, _ := newQueues(10, 2)
	end := func(it *item, to State, wantPublish bool) {
		t.Helper()
		publish, err := q.Finish(it, to)
		if err != nil {
			t.Fatalf("%s → %s: %v", it.ID, to, err)
		}
		if publish != wantPublish {
			t.Errorf("%s → %s: publish %v, want %v", it.ID, to, publish, wantPublish)
		}
		if s := q.Progress(it).State; s != to && !(to != Timeout && s == Timeout) {
			t.Errorf("%s: state %s after finishing %s", it.ID, s, to)
		}
		if strings.Contains(ids(q, it.Device), it.ID) {
			t.Errorf("%s still queued after it ended", it.ID)
		}
	}
	sent := func(id string) *item {
		it := accepted(t, q, task("d", id))
		if err := q.Send(it, t0); err != nil {
			t.Fatal(err)
		}
		return it
	}

	// From Queued.
	for _, to := range []State{Expired, Offline, Cancelled, Timeout} {
		end(accepted(t, q, task("d", "q-"+to.String())), to, true)
	}
	// From Sent.
	for _, to := range []State{Done, Fault, Timeout} {
		end(sent("s-"+to.String()), to, true)
	}
	// From Lapsed: whatever ends it, it ends Timeout, already published.
	l := task("d", "lapsed")
	l.Timeout = time.Second
	accepted(t, q, l)
	if err := q.Send(l, t0); err != nil {
		t.Fatal(err)
	}
	if due := q.Sweep("d", t0.Add(2*time.Second)); len(due.Lapsed) != 1 || due.Lapsed[0] != l {
		t.Fatalf("sweep past the timeout lapsed %v", due.Lapsed)
	}
	publish, err := q.Finish(l, Done)
	if err != nil || publish || q.Progress(l).State != Timeout {
		t.Fatalf("lapsed task answered late: publish %v, state %s, err %v; want its timeout kept, nothing published", publish, q.Progress(l).State, err)
	}
	// Dropped: a gateway task whose purpose is gone.
	g := &item{Task: Task{Device: "d", ID: "iv", Origin: OriginProvision, Purpose: "interview"}}
	if err := q.AddInternal(g); err != nil {
		t.Fatal(err)
	}
	if n := q.Drop("d", func(it *item) bool { return it.Purpose == "interview" }); n != 1 || q.Progress(g).State != Dropped {
		t.Fatalf("dropped %d, state %s", n, q.Progress(g).State)
	}
	// Rejected: refused before it was queued, it never enters the queue.
	full, _ := newQueues(1, 2)
	accepted(t, full, task("d", "first"))
	r := task("d", "second")
	if err := full.Accept(r); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("accept beyond tasks.max_queue: %v", err)
	}
	if s := full.Progress(r).State; s != Received || Transition(s, Rejected) != nil {
		t.Fatalf("a refused request is %s; it must still be free to end rejected", s)
	}

	// Refused through the queue: an end the table does not allow, a second end, a send twice.
	a := accepted(t, q, task("d", "never-sent"))
	if _, err := q.Finish(a, Done); !errors.Is(err, ErrTransition) {
		t.Errorf("a queued task ended done: %v", err)
	}
	b := sent("sent-once")
	if err := q.Send(b, t0); !errors.Is(err, ErrTransition) {
		t.Errorf("a sent task sent again without its session ending: %v", err)
	}
	if _, err := q.Finish(b, Expired); !errors.Is(err, ErrTransition) {
		t.Errorf("a sent task ended expired: %v", err)
	}
	end(b, Done, true)
	if _, err := q.Finish(b, Fault); !errors.Is(err, ErrNotQueued) {
		t.Errorf("a task ended twice: %v", err)
	}
	if err := q.AddInternal(&item{Task: Task{Device: "d", Origin: OriginProvision, p: Progress{State: Done}}}); !errors.Is(err, ErrTransition) {
		t.Errorf("a finished task queued again: %v", err)
	}
}

// The gateway's own tasks run first, then the platform's in the order they were accepted,
// across a restart too.
func TestOrderGatewayTasksFirstThenAcceptance(t *testing.T) {
	q, st := newQueues(10, 2)
	accepted(t, q, task("d", "a"))
	accepted(t, q, task("d", "b"))
	if err := q.AddInternal(&item{Task: Task{Device: "d", ID: "creds", Origin: OriginProvision}}); err != nil {
		t.Fatal(err)
	}
	accepted(t, q, task("d", "c"))
	accepted(t, q, task("other", "x"))
	if got := ids(q, "d"); got != "creds,a,b,c" {
		t.Fatalf("run order %s, want creds,a,b,c", got)
	}
	// What the store holds comes back in the same order, whatever order it is read in, and new
	// tasks are numbered after it.
	var loaded []*item
	for _, v := range st.saved {
		it := &item{}
		if err := json.Unmarshal(v, it); err != nil {
			t.Fatal(err)
		}
		loaded = append(loaded, it)
	}
	r, _ := newQueues(10, 2)
	r.Restore(loaded)
	if got := ids(r, "d"); got != "a,b,c" {
		t.Fatalf("restored order %s, want a,b,c (the gateway's own task is not stored)", got)
	}
	n := accepted(t, r, task("d", "after-restart"))
	if n.Seq <= 5 {
		t.Fatalf("new task numbered %d, not after the restored ones", n.Seq)
	}
	if got := ids(r, "d"); got != "a,b,c,after-restart" {
		t.Fatalf("order after restart %s", got)
	}
}

// tasks.max_queue bounds every pending task of a device (the gateway's own included); a finished
// one frees its place; other devices are not affected.
func TestQueueFullBeyondMaxQueue(t *testing.T) {
	q, _ := newQueues(3, 2)
	a := accepted(t, q, task("d", "a"))
	accepted(t, q, task("d", "b"))
	if err := q.AddInternal(&item{Task: Task{Device: "d", ID: "read", Origin: OriginProvision}}); err != nil {
		t.Fatal(err)
	}
	if err := q.Accept(task("d", "c")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("fourth task: %v, want ErrQueueFull", err)
	}
	accepted(t, q, task("other", "c"))
	if err := q.Send(a, t0); err != nil {
		t.Fatal(err)
	}
	if err := q.Accept(task("d", "c")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a task in flight holds its place: %v", err)
	}
	if _, err := q.Finish(a, Done); err != nil {
		t.Fatal(err)
	}
	accepted(t, q, task("d", "c"))
	if q.Len("d") != 3 || q.Total() != 4 {
		t.Fatalf("len %d total %d, want 3 and 4", q.Len("d"), q.Total())
	}
}

// A request id pending for the device is refused (the bridge answers `accepted` again, once);
// once it ended, it is remembered as finished instead; gateway tasks never collide with it.
func TestDuplicateIDAndFinishedIDs(t *testing.T) {
	q, st := newQueues(10, 2)
	a := accepted(t, q, task("d", "r1"))
	if err := q.Accept(task("d", "r1")); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("same id while queued: %v", err)
	}
	if err := q.Send(a, t0); err != nil {
		t.Fatal(err)
	}
	if err := q.Accept(task("d", "r1")); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("same id while in flight: %v", err)
	}
	accepted(t, q, task("other", "r1")) // ids are per device
	if err := q.AddInternal(&item{Task: Task{Device: "d", ID: "r2", Origin: OriginProvision}}); err != nil {
		t.Fatal(err)
	}
	accepted(t, q, task("d", "r2")) // a gateway task's id is its own
	if _, err := q.Finish(a, Done); err != nil {
		t.Fatal(err)
	}
	if seen, _ := q.RecentlyFinished("d", "r1"); !seen {
		t.Fatal("a finished id is not remembered")
	}
	if len(st.asked) != 0 {
		t.Fatalf("the store was read for an id in memory: %v", st.asked)
	}
	// Past FinishedMemory the oldest ids are the store's to remember.
	for i := range FinishedMemory {
		it := accepted(t, q, task("d", fmt.Sprintf("f%d", i)))
		if _, err := q.Finish(it, Cancelled); err != nil {
			t.Fatal(err)
		}
	}
	st.finished["d/r1"] = true
	if seen, _ := q.RecentlyFinished("d", "r1"); !seen || len(st.asked) != 1 {
		t.Fatalf("an id past the memory: seen %v, store asked %v", seen, st.asked)
	}
	if seen, _ := q.RecentlyFinished("d", "never"); seen {
		t.Fatal("an id never finished is reported finished")
	}
	if seen, _ := q.RecentlyFinished("d", ""); seen {
		t.Fatal("an empty id is reported finished")
	}
}

// A store failure leaves nothing queued (the broker redelivers the request); a gateway task
// is never stored.
func TestAcceptStoreFailureQueuesNothing(t *testing.T) {
	q, st := newQueues(10, 2)
	st.fail = errors.New("disk full")
	if err := q.Accept(task("d", "a")); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("accept with a failing store: %v", err)
	}
	if q.Len("d") != 0 {
		t.Fatal("a task the store refused is queued")
	}
	st.fail = nil
	if err := q.AddInternal(&item{Task: Task{Device: "d", ID: "g", Origin: OriginProvision}}); err != nil {
		t.Fatal(err)
	}
	if len(st.saved) != 0 {
		t.Fatalf("a gateway task was stored: %v", st.saved)
	}
}

// Sends are counted and the timeout runs from the first send; a session that drops the task
// puts it back until tasks.max_attempts, a shutdown does not count as a drop, and a task whose
// timeout ran out while it waited is not sent again.
func TestSendsDropsAndMaxAttempts(t *testing.T) {
	q, _ := newQueues(10, 2)
	it := task("d", "r")
	it.Timeout = time.Minute
	accepted(t, q, it)
	if err := q.Send(it, t0); err != nil {
		t.Fatal(err)
	}
	if o := q.Interrupted(it, false); o != Requeued {
		t.Fatalf("shutdown mid-request: %v, want requeued", o)
	}
	if p := q.Progress(it); p.Attempts != 1 || p.Drops != 0 || p.State != Queued || !p.Deadline.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after a shutdown: %+v", p)
	}
	if err := q.Send(it, t0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if p := q.Progress(it); p.Attempts != 2 || !p.Deadline.Equal(t0.Add(time.Minute)) {
		t.Fatalf("a re-send moved the deadline or did not count: %+v", p)
	}
	if o := q.Interrupted(it, true); o != Spent {
		t.Fatalf("dropped at the last attempt: %v, want spent", o)
	}
	if p := q.Progress(it); p.Drops != 1 || p.State != Sent {
		t.Fatalf("spent task: %+v (its end is the caller's Finish)", p)
	}
	if _, err := q.Finish(it, Timeout); err != nil {
		t.Fatal(err)
	}
	if o := q.Interrupted(it, true); o != Untouched {
		t.Fatalf("an ended task interrupted: %v", o)
	}

	// Sent, dropped, and its timeout ran out before the next session.
	late := task("d", "late")
	late.Timeout = time.Second
	accepted(t, q, late)
	if err := q.Send(late, t0); err != nil {
		t.Fatal(err)
	}
	q.Interrupted(late, true)
	if err := q.Send(late, t0.Add(2*time.Second)); !errors.Is(err, ErrTimedOut) {
		t.Fatalf("re-send past the timeout: %v", err)
	}
	if due := q.Sweep("d", t0.Add(2*time.Second)); len(due.Overdue) != 1 || due.Overdue[0] != late {
		t.Fatalf("sweep: overdue %v", due.Overdue)
	}
}

// A sweep ends queued tasks past their expires (expired, or timeout when sent before), lapses
// sent ones past their timeout once, and says when tasks wait.
func TestSweepAndNextCheck(t *testing.T) {
	q, _ := newQueues(10, 3)
	exp := task("d", "exp")
	exp.Expires = t0.Add(time.Minute)
	accepted(t, q, exp)
	resent := task("d", "resent")
	resent.Expires = t0.Add(2 * time.Minute)
	accepted(t, q, resent)
	inflight := task("d", "inflight")
	inflight.Timeout = 90 * time.Second
	accepted(t, q, inflight)

	if next, waiting := q.NextCheck("d"); !waiting || !next.Equal(exp.Expires) {
		t.Fatalf("next check %v waiting %v, want %v", next, waiting, exp.Expires)
	}
	if err := q.Send(resent, t0); err != nil {
		t.Fatal(err)
	}
	q.Interrupted(resent, true)
	if err := q.Send(inflight, t0); err != nil {
		t.Fatal(err)
	}
	due := q.Sweep("d", t0.Add(30*time.Second))
	if len(due.Expired)+len(due.Overdue)+len(due.Lapsed) != 0 || !due.Waiting {
		t.Fatalf("nothing is due yet: %+v", due)
	}
	due = q.Sweep("d", t0.Add(3*time.Minute))
	if len(due.Expired) != 2 || len(due.Lapsed) != 1 || due.Lapsed[0] != inflight {
		t.Fatalf("due at 3 min: %+v", due)
	}
	if got := ExpiredState(q.Progress(exp)); got != Expired {
		t.Errorf("never sent: %s, want expired", got)
	}
	if got := ExpiredState(q.Progress(resent)); got != Timeout {
		t.Errorf("sent before and dropped: %s, want timeout (it may have been applied)", got)
	}
	if again := q.Sweep("d", t0.Add(4*time.Minute)); len(again.Lapsed) != 0 {
		t.Fatal("a lapsed task lapsed twice: its timeout would be published twice")
	}
	if next, _ := q.NextCheck("d"); !next.Equal(exp.Expires) {
		t.Fatalf("a lapsed task still has a deadline to watch: next %v", next)
	}
	if o := q.Interrupted(inflight, true); o != Abandoned {
		t.Fatalf("session of a lapsed task ended: %v, want abandoned", o)
	}
}

// legacyTask is the stored task as the bridge wrote it before package taskq (its taskRecord).
type legacyTask struct {
	Seq      uint64          `json:"seq"`
	Device   string          `json:"device"`
	ID       string          `json:"id"`
	Origin   string          `json:"origin"`
	Method   string          `json:"method"`
	Args     json.RawMessage `json:"args,omitempty"`
	ReplyTo  string          `json:"reply_to,omitempty"`
	Accepted time.Time       `json:"accepted"`
	Expires  time.Time       `json:"expires,omitempty"`
	NoWait   bool            `json:"no_wait,omitempty"`
	Timeout  time.Duration   `json:"timeout,omitempty"`
	Deadline time.Time       `json:"deadline,omitempty"`
	State    string          `json:"state"`
	Ended    bool            `json:"ended,omitempty"`
	Attempts int             `json:"attempts,omitempty"`
	Drops    int             `json:"drops,omitempty"`
	Purpose  string          `json:"purpose,omitempty"`
	Keys     []string        `json:"keys,omitempty"`
	Blind    bool            `json:"blind,omitempty"`
}

// The stored form is the one earlier versions wrote ("queued", "inflight", "ended"), so a store
// file survives the upgrade both ways; a restart re-runs what is harmless and ends the rest.
func TestStoredFormAndRecoverAtStart(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	legacy := []legacyTask{
		{Seq: 1, Device: "d", ID: "gpv", Origin: "rpc", Method: "GetParameterValues", Args: json.RawMessage(`{"names":["X."]}`),
			Accepted: t0, Expires: at(time.Hour), State: "inflight", Attempts: 1, Keys: []string{"k"}},
		{Seq: 2, Device: "d", ID: "reboot", Origin: "rpc", Method: "Reboot", ReplyTo: "r/x", Accepted: t0, NoWait: true, State: "inflight", Attempts: 1},
		{Seq: 3, Device: "d", ID: "late", Origin: "get", Method: "GetParameterValues", Accepted: t0, Timeout: time.Minute,
			Deadline: at(time.Minute), State: "inflight", Ended: true, Attempts: 1, Blind: true},
		{Seq: 4, Device: "d", ID: "spent", Origin: "rpc", Method: "GetParameterValues", Accepted: t0, State: "inflight", Attempts: 2, Drops: 1},
		{Seq: 5, Device: "d", ID: "waiting", Origin: "set", Method: "Reboot", Accepted: t0, State: "queued", Purpose: "p"},
	}
	var old []string
	for _, l := range legacy {
		v, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, string(v))
	}
	var loaded []*item
	for _, s := range old {
		it := &item{}
		if err := json.Unmarshal([]byte(s), it); err != nil {
			t.Fatal(err)
		}
		loaded = append(loaded, it)
	}
	want := []Progress{
		{State: Sent, Attempts: 1}, {State: Sent, Attempts: 1},
		{State: Lapsed, Attempts: 1, Deadline: t0.Add(time.Minute)}, {State: Sent, Attempts: 2, Drops: 1}, {State: Queued},
	}
	for i, it := range loaded {
		if it.p != want[i] {
			t.Errorf("%s read as %+v, want %+v", it.ID, it.p, want[i])
		}
		v, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		var a, b map[string]any
		_ = json.Unmarshal(v, &a)
		_ = json.Unmarshal([]byte(old[i]), &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s written as %s, want %s", it.ID, v, old[i])
		}
	}
	if err := json.Unmarshal([]byte(`{"seq":9,"device":"d","state":"done"}`), &item{}); err == nil {
		t.Error("a stored task in a state no stored task has was read")
	}
	if _, err := json.Marshal(&item{Task: Task{p: Progress{State: Done}}}); err == nil {
		t.Error("a finished task was given a stored form")
	}

	q, _ := newQueues(10, 2)
	q.Restore(loaded)
	requeued, ended := q.Recover(func(it *item) bool { return it.Method == "GetParameterValues" })
	var got []string
	for _, it := range requeued {
		got = append(got, "requeued:"+it.ID)
	}
	for _, it := range ended {
		got = append(got, "ended:"+it.ID)
	}
	if s := strings.Join(got, " "); s != "requeued:gpv ended:reboot ended:late ended:spent" {
		t.Fatalf("recover: %s", s)
	}
	if s := q.Progress(loaded[0]).State; s != Queued {
		t.Fatalf("requeued task is %s", s)
	}
	// What Recover ended is ended by the caller, with Timeout; the lapsed one publishes nothing.
	for _, it := range ended {
		publish, err := q.Finish(it, Timeout)
		if err != nil || publish == (it.ID == "late") {
			t.Errorf("%s: publish %v, err %v", it.ID, publish, err)
		}
	}
	if got := ids(q, "d"); got != "gpv,waiting" {
		t.Fatalf("left queued: %s", got)
	}
}

// Removing a device ends each of its tasks for good: queued ones cancelled, sent ones timeout,
// a lapsed one and the gateway's own silently; a late answer then ends nothing.
func TestRemoveDeviceEndsEveryTask(t *testing.T) {
	q, _ := newQueues(10, 2)
	queued := accepted(t, q, task("d", "queued"))
	sent := accepted(t, q, task("d", "sent"))
	lapsed := task("d", "lapsed")
	lapsed.Timeout = time.Second
	accepted(t, q, lapsed)
	if err := q.AddInternal(&item{Task: Task{Device: "d", ID: "creds", Origin: OriginProvision}}); err != nil {
		t.Fatal(err)
	}
	for _, it := range []*item{sent, lapsed} {
		if err := q.Send(it, t0); err != nil {
			t.Fatal(err)
		}
	}
	q.Sweep("d", t0.Add(time.Minute))
	var got []string
	for _, r := range q.RemoveDevice("d") {
		got = append(got, fmt.Sprintf("%s:%s:%v", r.Task.ID, r.State, r.Publish))
	}
	if s := strings.Join(got, " "); s != "creds:cancelled:false queued:cancelled:true sent:timeout:true lapsed:timeout:false" {
		t.Fatalf("removed: %s", s)
	}
	if q.Len("d") != 0 || q.Total() != 0 {
		t.Fatal("tasks left after the device was removed")
	}
	if _, err := q.Finish(sent, Done); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("late answer of a removed device's task: %v", err)
	}
	if _, err := q.Finish(queued, Expired); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("sweep of a removed device's task: %v", err)
	}
}

// Inbound requests, a session and a failed connection request use the queues at once (run
// with -race): the session sends and answers tasks while the connection request's failure ends
// the queued ones `offline`; every task ends exactly once, by one or the other.
func TestConcurrentUseEndsEachTaskOnce(t *testing.T) {
	q, _ := newQueues(1000, 2)
	const devices, per = 4, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	ends := map[*item]int{}
	ended := func(it *item) {
		mu.Lock()
		ends[it]++
		mu.Unlock()
	}
	all := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(ends)
	}
	for d := range devices {
		dev := fmt.Sprintf("dev-%d", d)
		wg.Add(3)
		go func() { // inbound requests
			defer wg.Done()
			for i := range per {
				accepted(t, q, task(dev, fmt.Sprintf("r%d", i)))
			}
		}()
		first := func(state State) *item {
			var found *item
			q.Each(dev, func(it *item, p Progress) bool {
				if p.State == state {
					found = it
				}
				return found == nil
			})
			return found
		}
		go func() { // the session
			defer wg.Done()
			for all() < devices*per {
				next := first(Queued)
				if next == nil {
					runtime.Gosched()
					continue
				}
				if q.Send(next, t0) != nil {
					continue // ended offline meanwhile
				}
				if _, err := q.Finish(next, Done); err == nil {
					ended(next)
				}
			}
		}()
		go func() { // connection requests failing
			defer wg.Done()
			for all() < devices*per {
				if next := first(Queued); next == nil {
					runtime.Gosched()
				} else if _, err := q.Finish(next, Offline); err == nil {
					ended(next)
				}
			}
		}()
	}
	wg.Wait()
	for it, n := range ends {
		if n != 1 {
			t.Errorf("%s/%s ended %d times", it.Device, it.ID, n)
		}
		if s := q.Progress(it).State; s != Done && s != Offline {
			t.Errorf("%s/%s ended %s", it.Device, it.ID, s)
		}
	}
	if q.Total() != 0 {
		t.Fatalf("%d tasks left", q.Total())
	}
}

// An accepted task being committed holds its id and its place: a second request with the same
// id at that moment (the same request on two topics, or a redelivery) is not queued twice, and
// tasks.max_queue cannot be passed by requests accepted at once. Forget (its device went away)
// and a store failure let both go.
func TestAcceptHoldsIDAndPlaceUntilInserted(t *testing.T) {
	q, st := newQueues(2, 2)
	first := task("d", "r")
	if err := q.Accept(first); err != nil {
		t.Fatal(err)
	}
	if err := q.Accept(task("d", "r")); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("same id while the first is being committed: %v", err)
	}
	other := task("d", "s")
	if err := q.Accept(other); err != nil {
		t.Fatal(err)
	}
	if err := q.Accept(task("d", "t")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a third request while two are being committed: %v", err)
	}
	if q.Len("d") != 0 {
		t.Fatal("a task not inserted yet is visible in the queue")
	}
	q.Insert(first)
	q.Forget(other)
	if got := ids(q, "d"); got != "r" {
		t.Fatalf("queue %q, want r", got)
	}
	st.fail = errors.New("disk full")
	if err := q.Accept(task("d", "u")); err == nil {
		t.Fatal("accepted with a failing store")
	}
	st.fail = nil
	accepted(t, q, task("d", "u")) // the failed one let its id and place go
	if err := q.Accept(task("d", "v")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third task: %v", err)
	}
}
