package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap/zaptest"
)

// recorder is a fake Publisher (unit tests of this package only; the end-to-end tests in
// cmd/cwmp2mqtt use the real outbox and brokers).
type recorder struct {
	mu   sync.Mutex
	msgs []published
	ch   chan published
	// failTx, when set, fails every enqueue as a full disk would.
	failTx  error
	batches int // EnqueueBatch calls (outbox commits of several messages)
}

type published struct {
	Topic    string
	Payload  []byte
	Retained bool
}

func (r *recorder) EnqueueBatch(msgs ...mqtt.Publish) error {
	r.mu.Lock()
	r.batches++
	r.mu.Unlock()
	for _, m := range msgs {
		if err := r.Enqueue(m.Topic, m.Payload, m.Retained, m.QoS); err != nil {
			return err
		}
	}
	return nil
}

// EnqueueTx records the messages when tx commits, as the outbox delivers only committed entries.
func (r *recorder) EnqueueTx(tx *bolt.Tx, msgs ...mqtt.Publish) error {
	r.mu.Lock()
	err := r.failTx
	r.mu.Unlock()
	if err != nil {
		return err
	}
	tx.OnCommit(func() { _ = r.EnqueueBatch(msgs...) })
	return nil
}

func newRecorder() *recorder { return &recorder{ch: make(chan published, 1024)} }

func (r *recorder) Enqueue(topic string, payload []byte, retained bool, qos byte) error {
	p := published{topic, append([]byte(nil), payload...), retained}
	r.mu.Lock()
	if r.failTx != nil {
		r.mu.Unlock()
		return r.failTx
	}
	r.msgs = append(r.msgs, p)
	r.mu.Unlock()
	r.ch <- p
	return nil
}

// all returns a copy of everything published so far.
func (r *recorder) all() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]published(nil), r.msgs...)
}

// waitSeen returns a message on topic matching all fields of want among everything published
// (whether or not waitFor already went past it), waiting for one to come: for a topic published
// in no set order with the others.
func (r *recorder) waitSeen(t *testing.T, topic string, want map[string]any) map[string]any {
	t.Helper()
	var found map[string]any
	apitest.Eventually(t, fmt.Sprintf("a message on %s matching %v", topic, want), 5*time.Second, func() bool {
		for _, p := range r.all() {
			var got map[string]any
			if p.Topic == topic && json.Unmarshal(p.Payload, &got) == nil && apitest.Matches(got, want) {
				found = got
				return true
			}
		}
		return false
	})
	return found
}

// waitFor returns the next message on topic whose JSON matches all fields of want.
func (r *recorder) waitFor(t *testing.T, topic string, want map[string]any) map[string]any {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-r.ch:
			if p.Topic != topic {
				continue
			}
			var anyJSON any
			if err := json.Unmarshal(p.Payload, &anyJSON); err != nil {
				continue
			}
			got, _ := anyJSON.(map[string]any)
			if got == nil {
				if len(want) > 0 {
					continue
				}
				got = map[string]any{"_": anyJSON}
			}
			if apitest.Matches(got, want) {
				return got
			}
		case <-deadline:
			t.Fatalf("no message on %s matching %v", topic, want)
		}
	}
}

type fakeWaker struct {
	mu    sync.Mutex
	err   error
	calls []connreq.Target
	woke  chan connreq.Target
	// hang makes Wake wait for its context, like a connection request to a silent CPE.
	hang bool
}

func (w *fakeWaker) Wake(ctx context.Context, t connreq.Target) error {
	w.mu.Lock()
	w.calls = append(w.calls, t)
	err, hang := w.err, w.hang
	w.mu.Unlock()
	select {
	case w.woke <- t:
	default:
	}
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

type fixture struct {
	t    *testing.T
	path string
	db   *bolt.DB
	// values is the file of the raw parameters and states beside db, as the gateway opens it.
	values *bolt.DB
	b      *Bridge
	pub    *recorder
	waker  *fakeWaker
	opts   Options
	tr     Translators // given to New (nil: raw state), so it serves the start-up too
}

func newFixture(t *testing.T, opts Options) *fixture {
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "store.db"), opts: opts}
	f.start()
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) start() {
	var err error
	f.db, err = bolt.Open(f.path, 0o600, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.values, err = bolt.Open(f.path+".values", 0o600, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.pub = newRecorder()
	if f.waker == nil {
		f.waker = &fakeWaker{woke: make(chan connreq.Target, 16)}
	}
	opts := f.opts
	opts.ValuesStore = f.values
	f.b, err = New(f.db, f.pub, f.waker, f.tr, opts, zaptest.NewLogger(f.t))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.b.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) stop() {
	if f.b != nil {
		f.b.Stop()
		f.b = nil
	}
	if f.db != nil {
		f.db.Close()
		f.db = nil
	}
	if f.values != nil {
		f.values.Close()
		f.values = nil
	}
}

const devID = "00259E-HG8245-SN0001"

// storedRecord reads the device's record as the next start would (registry.Store.Load).
func storedRecord(f *fixture, id string) (registry.Record, error) {
	st, err := registry.OpenStore(f.db, f.values)
	if err != nil {
		return registry.Record{}, err
	}
	var found *registry.Record
	err = st.Each(func(r *registry.Record) {
		if r.ID == id {
			c := *r
			found = &c
		}
	})
	if err == nil && found == nil {
		err = errors.New("no record")
	}
	if err != nil {
		return registry.Record{}, err
	}
	return *found, nil
}

var sessionSeq int

func (f *fixture) inform(events ...string) *acs.Session {
	f.t.Helper()
	return f.informReporting(nil, events...)
}

// informReporting is inform whose parameter list ends with changed: values the CPE reports
// besides (or instead of) the fixture's.
func (f *fixture) informReporting(changed []soap.ParameterValue, events ...string) *acs.Session {
	f.t.Helper()
	sessionSeq++
	s := &acs.Session{ID: "s" + string(rune('a'+sessionSeq%26)) + time.Now().Format("150405.000000000"), DeviceID: devID,
		Device:     soap.DeviceID{Manufacturer: "Huawei", OUI: "00259E", ProductClass: "HG8245", SerialNumber: "SN0001"},
		RemoteAddr: netip.MustParseAddrPort("192.0.2.10:40000"), NS: soap.NSCWMP10}
	inf := &soap.Inform{DeviceID: s.Device, MaxEnvelopes: 1, ParameterList: []soap.ParameterValue{
		{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", Value: soap.Value{Type: "string", Raw: "V1R2"}},
		{Name: "InternetGatewayDevice.ManagementServer.ConnectionRequestURL", Value: soap.Value{Type: "string", Raw: "http://192.0.2.10:7547/cr"}},
		{Name: "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", Value: soap.Value{Type: "unsignedInt", Raw: "300"}},
	}}
	inf.ParameterList = append(inf.ParameterList, changed...)
	for _, e := range events {
		inf.Events = append(inf.Events, soap.Event{Code: e})
	}
	if err := f.b.Inform(context.Background(), s, inf); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) rpc(payload string) {
	f.t.Helper()
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/"+devID+"/rpc", []byte(payload), false); err != nil {
		f.t.Fatal(err)
	}
}

// drainInternal runs the gateway's own tasks (credentials, interval read) in session s.
func (f *fixture) next(s *acs.Session) *acs.Task {
	f.t.Helper()
	for {
		task, err := f.b.NextTask(context.Background(), s)
		if err != nil {
			f.t.Fatal(err)
		}
		if task == nil {
			return nil
		}
		if task.Ref.(*taskRecord).Origin != originProvision {
			return task
		}
		var resp soap.Message = &soap.SetParameterValuesResponse{}
		if task.Request.MethodName() == "GetParameterValues" {
			resp = &soap.GetParameterValuesResponse{}
		}
		f.b.TaskDone(context.Background(), s, task, resp, nil)
	}
}

const resultTopic = "cwmp2mqtt/" + devID + "/rpc/result"

func TestInformPublishesInformStateAvailability(t *testing.T) {
	f := newFixture(t, Options{})
	f.inform("0 BOOTSTRAP", "1 BOOT")
	f.pub.waitFor(t, "cwmp2mqtt/bridge/event", map[string]any{"event": "device_registered"})
	f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/inform", nil)
	f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/availability", map[string]any{"state": "online"})
	st := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/state", nil)
	vals := st["values"].(map[string]any)
	if vals["InternetGatewayDevice.ManagementServer.PeriodicInformInterval"] != float64(300) {
		t.Fatalf("raw state should carry typed values: %v", vals)
	}
	// B/bridge/devices is republished by the bridge's ticker, not with the Inform: it may come
	// before or after the device's own topics, so it is looked for in everything published.
	f.pub.waitSeen(t, "cwmp2mqtt/bridge/devices", map[string]any{"devices": float64(1), "online": float64(1)})
}

func TestRPCAcceptedThenDoneInOrder(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"a","method":"GetParameterValues","args":{"names":["InternetGatewayDevice.DeviceInfo.UpTime"]},"expires":60}`)
	f.rpc(`{"id":"b","method":"Reboot","args":{"command_key":"r1"},"expires":60}`)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "a", "status": "accepted"})
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "b", "status": "accepted"})
	task := f.next(s)
	gpv, ok := task.Request.(*soap.GetParameterValues)
	if !ok || gpv.ParameterNames[0] != "InternetGatewayDevice.DeviceInfo.UpTime" {
		t.Fatalf("first task %#v", task.Request)
	}
	f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{ParameterList: []soap.ParameterValue{
		{Name: "InternetGatewayDevice.DeviceInfo.UpTime", Value: soap.Value{Type: "unsignedInt", Raw: "42"}}}}, nil)
	done := f.pub.waitFor(t, resultTopic, map[string]any{"id": "a", "status": "done"})
	if !strings.Contains(mustJSON(done["result"]), "42") {
		t.Fatalf("result %v lacks the value", done["result"])
	}
	task = f.next(s)
	if _, ok := task.Request.(*soap.Reboot); !ok {
		t.Fatalf("second task %#v", task.Request)
	}
	f.b.TaskDone(context.Background(), s, task, nil, &soap.Fault{Code: 9001, String: "Request denied"})
	fr := f.pub.waitFor(t, resultTopic, map[string]any{"id": "b", "status": "fault"})
	if fr["fault"].(map[string]any)["code"] != float64(9001) {
		t.Fatalf("fault %v", fr)
	}
	if f.next(s) != nil {
		t.Fatal("queue should be empty")
	}
}

var mustJSON = apitest.MustJSON

func TestBadRequestsRejectedWithReason(t *testing.T) {
	f := newFixture(t, Options{})
	f.inform("2 PERIODIC")
	f.rpc(`{"id":"x1","method":"Frobnicate"}`)
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "x1", "status": "rejected"})
	if !strings.Contains(r["error"].(string), "Frobnicate") {
		t.Fatalf("reason %q", r["error"])
	}
	f.rpc(`{not json`)
	f.pub.waitFor(t, resultTopic, map[string]any{"status": "rejected"})
	// Unknown device.
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/NOPE-X-1/rpc", []byte(`{"id":"u","method":"Reboot","args":{}}`), false); err != nil {
		t.Fatal(err)
	}
	r = f.pub.waitFor(t, "cwmp2mqtt/NOPE-X-1/rpc/result", map[string]any{"id": "u", "status": "rejected"})
	if !strings.Contains(r["error"].(string), "unknown device") {
		t.Fatalf("reason %q", r["error"])
	}
}

func TestNoExpiresAndFailedWakeIsOffline(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.waker.mu.Lock()
	f.waker.err = errors.New("connection refused")
	f.waker.mu.Unlock()
	f.rpc(`{"id":"o","method":"GetRPCMethods"}`)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "o", "status": "accepted"})
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "o", "status": "offline"})
	if !strings.Contains(r["error"].(string), "connection refused") {
		t.Fatalf("reason %q", r["error"])
	}
}

func TestExpiresEndsQueuedRequest(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.waker.err = errors.New("unreachable")
	f.rpc(`{"id":"e","method":"GetRPCMethods","expires":0.3}`)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "e", "status": "accepted"})
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "e", "status": "expired"})
}

func TestTimeoutWhileInFlightIsTheOnlyTerminal(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"t","method":"GetRPCMethods","timeout":0.3,"expires":60}`)
	task := f.next(s)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "t", "status": "timeout"})
	f.b.TaskDone(context.Background(), s, task, &soap.GetRPCMethodsResponse{MethodList: []string{"Inform"}}, nil)
	time.Sleep(100 * time.Millisecond) // let a wrong second result surface
	f.pub.mu.Lock()
	defer f.pub.mu.Unlock()
	n := 0
	for _, m := range f.pub.msgs {
		if m.Topic == resultTopic && strings.Contains(string(m.Payload), `"id":"t"`) && !strings.Contains(string(m.Payload), "accepted") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d terminal results, want 1", n)
	}
}

// Checklist 14: a superseded session's task goes back to the head of the queue.
func TestChecklist14SupersededTaskReturnsToQueue(t *testing.T) {
	f := newFixture(t, Options{})
	s1 := f.inform("2 PERIODIC")
	f.rpc(`{"id":"r","method":"GetRPCMethods","expires":60}`)
	task := f.next(s1)
	s2 := f.inform("1 BOOT")
	f.b.SessionEnded(context.Background(), s1, task, acs.EndSuperseded)
	again := f.next(s2)
	if again == nil || again.Ref.(*taskRecord).ID != "r" {
		t.Fatalf("task not re-run in the new session: %#v", again)
	}
}

// A request accepted before a crash runs after the restart; an interrupted Reboot is not re-run.
func TestQueuedTasksSurviveRestart(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"q1","method":"Reboot","args":{},"expires":600}`)
	f.rpc(`{"id":"q2","method":"GetRPCMethods","expires":600}`)
	task := f.next(s) // q1 in flight
	if task.Ref.(*taskRecord).ID != "q1" {
		t.Fatal("order")
	}
	f.stop() // no SessionEnded: as after a kill
	f.start()
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "q1", "status": "timeout"})
	if !strings.Contains(r["error"].(string), "not idempotent") {
		t.Fatalf("reason %q", r["error"])
	}
	s = f.inform("2 PERIODIC")
	task = f.next(s)
	if task == nil || task.Ref.(*taskRecord).ID != "q2" {
		t.Fatalf("q2 not run after restart: %#v", task)
	}
}

// Checklist 49: credentials are provisioned at BOOTSTRAP and used for connection requests.
func TestChecklist49ProvisionedCredentialsUsed(t *testing.T) {
	f := newFixture(t, Options{ProvisionConnReq: true})
	s := f.inform("0 BOOTSTRAP", "1 BOOT")
	task, _ := f.b.NextTask(context.Background(), s)
	spv, ok := task.Request.(*soap.SetParameterValues)
	if !ok || len(spv.ParameterList) != 2 || spv.ParameterList[0].Name != "InternetGatewayDevice.ManagementServer.ConnectionRequestUsername" {
		t.Fatalf("first task should set CR credentials: %#v", task.Request)
	}
	user, pass := spv.ParameterList[0].Value.Raw, spv.ParameterList[1].Value.Raw
	f.b.TaskDone(context.Background(), s, task, &soap.SetParameterValuesResponse{}, nil)
	f.next(s)
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.rpc(`{"id":"w","method":"GetRPCMethods","expires":60}`)
	select {
	case tg := <-f.waker.woke:
		if tg.Username != user || tg.Password != pass || tg.URL != "http://192.0.2.10:7547/cr" {
			t.Fatalf("wake target %+v, want %s/%s", tg, user, pass)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection request")
	}
	// The credentials survive a restart.
	f.stop()
	f.start()
	f.b.mu.Lock()
	got := f.b.devices[devID].rec.ConnReqUser
	f.b.mu.Unlock()
	if got != user {
		t.Fatalf("after restart user %q, want %q", got, user)
	}
}

func TestAvailabilityOfflineAfterFactorTimesInterval(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, Options{Now: clock, AvailabilityFloor: time.Second})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/availability", map[string]any{"state": "online"})
	mu.Lock()
	now = now.Add(749 * time.Second) // 2.5 × 300 s = 750 s
	mu.Unlock()
	f.b.sweepAvailability(clock())
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	f.b.sweepAvailability(clock())
	got := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/availability", map[string]any{"state": "offline"})
	f.pub.waitFor(t, "cwmp2mqtt/bridge/event", map[string]any{"event": "device_offline", "device": devID})
	// The documented offline example says what the gateway says.
	exs, err := apitest.Examples()
	if err != nil {
		t.Fatal(err)
	}
	documented := 0
	for _, ex := range exs {
		var a map[string]any
		if ex.Schema == "availability" && json.Unmarshal([]byte(ex.Body), &a) == nil && a["state"] == "offline" {
			documented++
			if a["reason"] != got["reason"] {
				t.Errorf("docs/%s:%d: offline reason %q, the gateway says %q", ex.File, ex.Line, a["reason"], got["reason"])
			}
		}
	}
	if documented == 0 {
		t.Error("no offline availability example in docs/")
	}
}

func TestBridgeRequestsEchoTransaction(t *testing.T) {
	f := newFixture(t, Options{})
	f.inform("2 PERIODIC")
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/bridge/request/list_devices", []byte(`{"transaction":"t1"}`), false); err != nil {
		t.Fatal(err)
	}
	r := f.pub.waitFor(t, "cwmp2mqtt/bridge/response/list_devices", map[string]any{"transaction": "t1"})
	if !strings.Contains(mustJSON(r), devID) {
		t.Fatalf("list lacks the device: %v", r)
	}
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/bridge/request/remove_device", []byte(`{"transaction":"t2","device":"`+devID+`"}`), false); err != nil {
		t.Fatal(err)
	}
	f.pub.waitFor(t, "cwmp2mqtt/bridge/event", map[string]any{"event": "device_removed"})
	f.pub.waitFor(t, "cwmp2mqtt/bridge/response/remove_device", map[string]any{"transaction": "t2", "status": "ok"})
}

// fakeCPE answers GetParameterValues like a CPE that knows only `known`: a batch holding any
// other name faults 9005, as real CPEs do.
func answerGPV(known map[string]bool, req soap.Message) (soap.Message, error) {
	gpv := req.(*soap.GetParameterValues)
	var out []soap.ParameterValue
	for _, n := range gpv.ParameterNames {
		if !known[n] {
			return nil, &soap.Fault{Code: 9005, String: "Invalid parameter name"}
		}
		out = append(out, soap.ParameterValue{Name: n, Value: soap.StringValue("v-" + n)})
	}
	return &soap.GetParameterValuesResponse{ParameterList: out}, nil
}

// Checklist 40: a 70-name read goes out in batches of at most 32, all in one session; a batch
// that faults 9005 is halved until the bad name is found, and every other value is returned.
func TestChecklist40BatchedGPVFindsTheBadName(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	known := map[string]bool{}
	var names []string
	for i := 0; i < 70; i++ {
		n := fmt.Sprintf("InternetGatewayDevice.X.%d", i)
		names = append(names, n)
		if i != 41 {
			known[n] = true
		}
	}
	args, _ := json.Marshal(map[string]any{"names": names})
	f.rpc(`{"id":"big","method":"GetParameterValues","args":` + string(args) + `,"expires":60}`)
	rpcs := 0
	for task := f.next(s); task != nil; task = f.next(s) {
		rpcs++
		if n := len(task.Request.(*soap.GetParameterValues).ParameterNames); n > 32 {
			t.Fatalf("batch of %d names", n)
		}
		resp, err := answerGPV(known, task.Request)
		f.b.TaskDone(context.Background(), s, task, resp, err)
	}
	done := f.pub.waitFor(t, resultTopic, map[string]any{"id": "big", "status": "done"})
	res := done["result"].(map[string]any)
	if got := len(res["parameters"].(map[string]any)); got != 69 {
		t.Fatalf("%d values, want 69", got)
	}
	if mustJSON(res["invalid_names"]) != `["InternetGatewayDevice.X.41"]` {
		t.Fatalf("invalid_names %v", res["invalid_names"])
	}
	// 3 batches + the halvings of the faulty 32-name batch (log2 32 = 5 levels, 2 RPCs each).
	if rpcs < 4 || rpcs > 3+2*5 {
		t.Fatalf("%d RPCs", rpcs)
	}
}

// Checklist 40: when every name is refused the request ends with the 9005 fault.
func TestChecklist40AllNamesInvalidIsFault(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"bad","method":"GetParameterValues","args":{"names":["A.b","A.c"]},"expires":60}`)
	for task := f.next(s); task != nil; task = f.next(s) {
		resp, err := answerGPV(nil, task.Request)
		f.b.TaskDone(context.Background(), s, task, resp, err)
	}
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "bad", "status": "fault"})
	if r["fault"].(map[string]any)["code"] != float64(9005) {
		t.Fatalf("%v", r)
	}
}

// Checklist 39: values that came are kept when the CPE leaves a requested name out.
func TestChecklist39MissingNameKeepsTheRest(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"part","method":"GetParameterValues","args":{"names":["A.b","A.c"]},"expires":60}`)
	task := f.next(s)
	f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{ParameterList: []soap.ParameterValue{
		{Name: "A.b", Value: soap.StringValue("1")}, {Name: "A.extra", Value: soap.StringValue("2")}}}, nil)
	task = f.next(s) // A.c asked alone: still nothing
	f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{}, nil)
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "part", "status": "done"})
	p := r["result"].(map[string]any)["parameters"].(map[string]any)
	if p["A.b"] == nil || p["A.extra"] == nil || p["A.c"] != nil {
		t.Fatalf("parameters %v", p)
	}
}

// Checklist 35: the bridge picks the encoding per device from cwmp.quirks.* (OUI or
// OUI-ProductClass).
func TestChecklist35QuirkSelectsEncoding(t *testing.T) {
	f := newFixture(t, Options{BoolAsNumber: []string{"00259e-HG8245"}, DateTimeMillis: []string{"AAAAAA"}})
	s := f.inform("2 PERIODIC")
	if !s.Encoding.BoolAsNumber || s.Encoding.DateTimeMillis {
		t.Fatalf("encoding %+v", s.Encoding)
	}
	if quirk([]string{"00259E-OtherBox"}, s.Device) || !quirk([]string{" 00259E "}, s.Device) {
		t.Fatal("quirk matching by OUI / OUI-ProductClass")
	}
}

// Checklist 41: a Download accepted with Status 1 whose TransferComplete never comes ends in a
// transfer_timeout event after Options.TransferTimeout; one that completes does not.
func TestChecklist41TransferCompleteNeverSentTimesOut(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, Options{Now: clock, TransferTimeout: time.Minute})
	s := f.inform("2 PERIODIC")
	for _, key := range []string{"never", "arrives"} {
		f.rpc(`{"id":"dl-` + key + `","method":"Download","args":{"file_type":"firmware","url":"http://fw/x.bin","command_key":"` + key + `"},"expires":60}`)
		task := f.next(s)
		f.b.TaskDone(context.Background(), s, task, &soap.DownloadResponse{Status: 1}, nil)
		r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "dl-" + key, "status": "done"})
		if r["result"].(map[string]any)["pending"] != true {
			t.Fatalf("status 1 should read as pending: %v", r)
		}
	}
	if _, err := f.b.CPERequest(context.Background(), s, &soap.TransferComplete{CommandKey: "arrives"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	f.b.sweepTransfers(clock())
	ev := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/event", map[string]any{"event": "transfer_timeout"})
	if ev["command_key"] != "never" {
		t.Fatalf("event %v", ev)
	}
	f.b.mu.Lock()
	left := len(f.b.devices[devID].rec.Transfers)
	f.b.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d transfers still pending", left)
	}
}

// A QoS 1 redelivery (DUP) of a request that already finished is dropped; a deliberate reuse
// of the id (no DUP) is a new request.
func TestRedeliveredFinishedRequestNotRunTwice(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	req := []byte(`{"id":"once","method":"Reboot","args":{},"expires":60}`)
	topic := "cwmp2mqtt/" + devID + "/rpc"
	if err := f.b.HandleMessage(context.Background(), topic, req, false); err != nil {
		t.Fatal(err)
	}
	task := f.next(s)
	f.b.TaskDone(context.Background(), s, task, &soap.RebootResponse{}, nil)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "once", "status": "done"})
	if err := f.b.HandleMessage(context.Background(), topic, req, true); err != nil {
		t.Fatal(err)
	}
	if again := f.next(s); again != nil {
		t.Fatalf("redelivered Reboot queued again: %#v", again.Request)
	}
	if err := f.b.HandleMessage(context.Background(), topic, req, false); err != nil {
		t.Fatal(err)
	}
	if again := f.next(s); again == nil {
		t.Fatal("a deliberate reuse of the id should run")
	}
}

// After a restart every device's availability and state are published again (retained): the
// embedded broker forgets retained messages when the gateway restarts.
func TestRestartRepublishesRetainedTopics(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.stop()
	f.start()
	f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/availability", map[string]any{"state": "online"})
	st := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/state", nil)
	if !strings.Contains(mustJSON(st["values"]), "V1R2") {
		t.Fatalf("state after restart: %v", st)
	}
}

// A request whose timeout was published while in flight is not run again when its session
// breaks: the result is out, a second Reboot would be worse.
func TestTimedOutTaskNotRerunAfterBrokenSession(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"rb","method":"Reboot","args":{},"timeout":0.2,"expires":60}`)
	task := f.next(s)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "rb", "status": "timeout"})
	f.b.SessionEnded(context.Background(), s, task, acs.EndTimeout)
	s2 := f.inform("2 PERIODIC")
	if again := f.next(s2); again != nil {
		t.Fatalf("timed-out Reboot sent again: %#v", again.Request)
	}
}

// fakeTranslators stands in for the plugin host (this package's unit tests only).
type fakeTranslators struct {
	plan    sdk.GetPlan
	setPlan sdk.SetPlan
}

func (f fakeTranslators) Normalize(ctx context.Context, dev sdk.DeviceInfo, params map[string]sdk.Value) (string, sdk.State, error) {
	return "fake", sdk.State{"model": "1", "device.firmware": params["InternetGatewayDevice.DeviceInfo.SoftwareVersion"].Value}, nil
}
func (f fakeTranslators) ResolveGet(ctx context.Context, dev sdk.DeviceInfo, keys []string, _ *sdk.DataModel) (string, sdk.GetPlan, error) {
	if keys == nil { // the full-state read at boot
		return "fake", sdk.GetPlan{}, nil
	}
	return "fake", f.plan, nil
}
func (f fakeTranslators) DenormalizeSet(ctx context.Context, dev sdk.DeviceInfo, values map[string]any, params map[string]sdk.Value, _ *sdk.DataModel) (string, sdk.SetPlan, error) {
	return "fake", f.setPlan, nil
}
func (f fakeTranslators) Provision(ctx context.Context, dev sdk.DeviceInfo, events []string, params map[string]sdk.Value) (string, []sdk.RPC, error) {
	return "fake", nil, nil
}
func (f fakeTranslators) List() []api.TranslatorInfo { return nil }

// A get whose keys the device lacks (sdk.GetPlan.Absent) is answered from the last state at
// once, with no RPC: absent keys simply have no value.
func TestGetOfAbsentKeysAnsweredFromState(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.tr = fakeTranslators{plan: sdk.GetPlan{Absent: []string{"wan.ipv6_address"}}}
	s := f.inform("2 PERIODIC")
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/"+devID+"/get", []byte(`{"id":"g","keys":["wan.ipv6_address","device.firmware"]}`), false); err != nil {
		t.Fatal(err)
	}
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "g", "status": "done"})
	vals := r["result"].(map[string]any)["values"].(map[string]any)
	if vals["device.firmware"] != "V1R2" || vals["wan.ipv6_address"] != nil {
		t.Fatalf("values %v", vals)
	}
	if task := f.next(s); task != nil {
		t.Fatalf("an RPC was queued: %#v", task.Request)
	}
}

// A SetParameterValues in the object form with a JSON boolean updates the recorded values (and
// so the raw state) once the CPE accepted it.
func TestSPVObjectFormUpdatesState(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"o","method":"SetParameterValues","args":{"parameters":{"InternetGatewayDevice.X.Enable":true}},"expires":60}`)
	task := f.next(s)
	f.b.TaskDone(context.Background(), s, task, &soap.SetParameterValuesResponse{}, nil)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "o", "status": "done"})
	var got registry.ParamValue
	f.b.reg.WithParams(devID, func(p map[string]registry.ParamValue) { got = p["InternetGatewayDevice.X.Enable"] })
	if got.Value != "true" || got.Type != "boolean" {
		t.Fatalf("recorded %+v", got)
	}
}

// A translator plan whose later step is invalid is rejected as a whole: its earlier AddObject
// must not be left queued to run.
func TestInvalidPlanLeavesNothingQueued(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.tr = fakeTranslators{setPlan: sdk.SetPlan{RPCs: []sdk.RPC{
		{Method: "AddObject", Args: map[string]any{"object": "InternetGatewayDevice.X."}},
		{Method: "SetParameterValues", Args: map[string]any{"parameters": "not a list"}},
	}}}
	s := f.inform("2 PERIODIC")
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/"+devID+"/set", []byte(`{"id":"p","values":{"x.y":1},"expires":60}`), false); err != nil {
		t.Fatal(err)
	}
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "p", "status": "rejected"})
	// NextTask itself, not f.next: plan steps are internal tasks, which f.next drains.
	for task, _ := f.b.NextTask(context.Background(), s); task != nil; task, _ = f.b.NextTask(context.Background(), s) {
		if _, ok := task.Request.(*soap.AddObject); ok {
			t.Fatal("the AddObject of the rejected plan was queued")
		}
		f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{}, nil)
	}
}

// An unknown op is answered with the request's transaction and a response the schema accepts.
func TestUnknownBridgeOpEchoesTransactionSchemaValid(t *testing.T) {
	f := newFixture(t, Options{})
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/bridge/request/reboot_all", []byte(`{"transaction":"t9"}`), false); err != nil {
		t.Fatal(err)
	}
	r := f.pub.waitFor(t, "cwmp2mqtt/bridge/response/reboot_all", map[string]any{"status": "error"})
	if r["transaction"] != "t9" || r["op"] != "reboot_all" || !strings.Contains(fmt.Sprint(r["error"]), "unknown operation") {
		t.Fatalf("response %v: want transaction t9, op reboot_all and the reason", r)
	}
	if err := apitest.ValidatePayload("bridge-response", []byte(mustJSON(r))); err != nil {
		t.Fatalf("response fails its schema: %v", err)
	}
}

// remove_device: a request accepted but not yet sent ends `cancelled`, not `rejected` ("nothing
// was queued"); one in flight ends `timeout`, and the CPE's late answer is not published again.
func TestRemoveDeviceEndsQueuedRequestsCancelled(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"sent","method":"Reboot","expires":600}`)
	f.rpc(`{"id":"waiting","method":"GetRPCMethods","expires":600}`)
	inflight := f.next(s)
	if inflight == nil || inflight.Ref.(*taskRecord).ID != "sent" {
		t.Fatalf("first task %v, want the Reboot", inflight)
	}
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/bridge/request/remove_device", []byte(`{"device":"`+devID+`"}`), false); err != nil {
		t.Fatal(err)
	}
	resp := f.pub.waitFor(t, "cwmp2mqtt/bridge/response/remove_device", map[string]any{"status": "ok"})
	if n := resp["data"].(map[string]any)["dropped_requests"]; n != float64(2) {
		t.Fatalf("dropped_requests %v, want 2", n)
	}
	f.b.TaskDone(context.Background(), s, inflight, &soap.RebootResponse{}, nil)
	got := map[string][]string{}
	for _, m := range f.pub.all() {
		if m.Topic != resultTopic {
			continue
		}
		if err := apitest.ValidatePayload("rpc-result", m.Payload); err != nil {
			t.Errorf("result fails its schema: %v: %s", err, m.Payload)
		}
		var r api.RPCResult
		_ = json.Unmarshal(m.Payload, &r)
		if r.Status != api.StatusAccepted {
			got[r.ID] = append(got[r.ID], string(r.Status))
		}
	}
	if fmt.Sprint(got["waiting"]) != "[cancelled]" || fmt.Sprint(got["sent"]) != "[timeout]" {
		t.Fatalf("terminal results %v: want waiting → [cancelled], sent → [timeout]", got)
	}
}

// A stop while a connection request is under way leaves the accepted request queued for the next
// start: it must not end `offline` with "context canceled".
func TestShutdownLeavesAcceptedRequestQueued(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.waker.mu.Lock()
	f.waker.hang = true
	f.waker.mu.Unlock()
	f.rpc(`{"id":"nowait","method":"GetRPCMethods"}`) // no expires: woken at once
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "nowait", "status": "accepted"})
	<-f.waker.woke
	before := f.pub
	f.stop()
	for _, m := range before.all() {
		if m.Topic == resultTopic && strings.Contains(string(m.Payload), `"offline"`) {
			t.Fatalf("stop ended the request: %s", m.Payload)
		}
	}
	f.waker.mu.Lock()
	f.waker.hang = false
	f.waker.mu.Unlock()
	f.start()
	s = f.inform("6 CONNECTION REQUEST")
	task := f.next(s)
	if task == nil || task.Ref.(*taskRecord).ID != "nowait" {
		t.Fatalf("the accepted request is not queued after the restart: %#v", task)
	}
	for _, m := range before.all() {
		if m.Topic == resultTopic && strings.Contains(string(m.Payload), `"offline"`) {
			t.Fatalf("stop ended the request: %s", m.Payload)
		}
	}
}

// A result that cannot be stored must not be lost with its task: before, finish deleted the task
// and then published, only logging a failed publish, so the request never got a terminal result.
func TestTerminalResultNotLostWhenPublishFails(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"keep","method":"GetRPCMethods","expires":600}`)
	task := f.next(s)
	f.pub.mu.Lock()
	f.pub.failTx = errors.New("disk full")
	f.pub.mu.Unlock()
	f.b.TaskDone(context.Background(), s, task, &soap.GetRPCMethodsResponse{MethodList: []string{"Reboot"}}, nil)
	f.stop() // as a crash after the failure
	f.start()
	s = f.inform("6 CONNECTION REQUEST")
	task = f.next(s)
	if task == nil || task.Ref.(*taskRecord).ID != "keep" {
		t.Fatalf("the request whose result was not stored is gone: %#v", task)
	}
	f.b.TaskDone(context.Background(), s, task, &soap.GetRPCMethodsResponse{MethodList: []string{"Reboot"}}, nil)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "keep", "status": "done"})
}

// TestFailedRegistryWriteOfOneDeviceKeepsOthers is issue 9 point 5: a device whose record cannot
// be stored (here a key beyond bbolt's limit, as a 22 KB serial made before ids were bounded) no
// longer takes the other devices of the same write-behind flush down with it: a firmware change
// of a normal device is on disk after the flush.
func TestFailedRegistryWriteOfOneDeviceKeepsOthers(t *testing.T) {
	f := newFixture(t, Options{FlushEvery: 50 * time.Millisecond})
	f.inform("0 BOOTSTRAP")

	huge := &acs.Session{ID: "huge", DeviceID: "00147F-" + strings.Repeat("%2F", bolt.MaxKeySize/3+1),
		Device: soap.DeviceID{OUI: "00147F", SerialNumber: "/"}, NS: soap.NSCWMP10}
	for range 2 { // registered (write fails), then dirty again beside the normal device
		if err := f.b.Inform(context.Background(), huge, &soap.Inform{DeviceID: huge.Device, MaxEnvelopes: 1}); err != nil {
			t.Fatal(err)
		}
	}
	s := &acs.Session{ID: "fw", DeviceID: devID, Device: soap.DeviceID{Manufacturer: "Huawei", OUI: "00259E", ProductClass: "HG8245", SerialNumber: "SN0001"}, NS: soap.NSCWMP10}
	if err := f.b.Inform(context.Background(), s, &soap.Inform{DeviceID: s.Device, MaxEnvelopes: 1, ParameterList: []soap.ParameterValue{
		{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", Value: soap.Value{Type: "string", Raw: "V2-NEW"}},
	}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		stored, err := storedRecord(f, devID)
		if err == nil && stored.SoftwareVersion == "V2-NEW" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the firmware change of %s never reached the store (record %+v, err %v)", devID, stored, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An Inform whose publications cannot be stored is answered with fault 8005, not acknowledged:
// an InformResponse would tell the CPE its events were delivered, and they would be gone.
func TestInformNotStoredIsRefusedForRetry(t *testing.T) {
	f := newFixture(t, Options{})
	f.pub.mu.Lock()
	f.pub.failTx = errors.New("disk full")
	f.pub.mu.Unlock()
	s := &acs.Session{ID: "s-refused", DeviceID: devID,
		Device: soap.DeviceID{Manufacturer: "Huawei", OUI: "00259E", ProductClass: "HG8245", SerialNumber: "SN0001"},
		NS:     soap.NSCWMP10}
	err := f.b.Inform(context.Background(), s, &soap.Inform{DeviceID: s.Device, Events: []soap.Event{{Code: "1 BOOT"}}})
	var fault *soap.Fault
	if !errors.As(err, &fault) || fault.Code != soap.FaultRetryRequest {
		t.Fatalf("Inform = %v, want fault 8005 so the CPE retries", err)
	}
	f.b.SessionEnded(context.Background(), s, nil, acs.EndError)
	f.pub.mu.Lock()
	f.pub.failTx = nil
	f.pub.mu.Unlock()
	f.inform("1 BOOT") // the CPE's retry
	f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/event", map[string]any{"event": "boot"})
}

// A transfer cancelled with a successful CancelTransfer gets no TransferComplete: it must not end
// in a transfer_timeout event later.
func TestCancelledTransferDoesNotTimeOut(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, Options{Now: clock, TransferTimeout: time.Minute})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"dl","method":"Download","args":{"file_type":"firmware","url":"http://fw/x.bin","command_key":"night"},"expires":60}`)
	f.b.TaskDone(context.Background(), s, f.next(s), &soap.DownloadResponse{Status: 1}, nil)
	f.rpc(`{"id":"cancel","method":"CancelTransfer","args":{"command_key":"night"},"expires":60}`)
	f.b.TaskDone(context.Background(), s, f.next(s), &soap.CancelTransferResponse{}, nil)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "cancel", "status": "done"})
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	f.b.sweepTransfers(clock())
	for _, m := range f.pub.all() {
		if strings.Contains(string(m.Payload), "transfer_timeout") {
			t.Fatalf("cancelled transfer timed out: %s", m.Payload)
		}
	}
	f.b.mu.Lock()
	left := len(f.b.devices[devID].rec.Transfers)
	f.b.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d transfers still pending after CancelTransfer", left)
	}
}

// A QoS 1 redelivery can come long after its request finished: after a restart, or behind more
// than the 64 ids kept in memory (a burst through Mosquitto ran 16 GetParameterValues twice).
// The store remembers finished ids, so neither runs it again.
func TestRedeliveryAfterRestartOrManyFinishedNotRunTwice(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	topic := "cwmp2mqtt/" + devID + "/rpc"
	const n = 100
	for i := range n {
		req := fmt.Sprintf(`{"id":"gpv-%d","method":"GetRPCMethods","expires":60}`, i)
		if err := f.b.HandleMessage(context.Background(), topic, []byte(req), false); err != nil {
			t.Fatal(err)
		}
		f.b.TaskDone(context.Background(), s, f.next(s), &soap.GetRPCMethodsResponse{}, nil)
	}
	redeliver := func(i int) {
		req := fmt.Sprintf(`{"id":"gpv-%d","method":"GetRPCMethods","expires":60}`, i)
		if err := f.b.HandleMessage(context.Background(), topic, []byte(req), true); err != nil {
			t.Fatal(err)
		}
	}
	redeliver(0) // finished 99 requests ago
	if again := f.next(s); again != nil {
		t.Fatalf("redelivered gpv-0 queued again behind %d finished ids", n)
	}
	f.stop()
	f.start()
	s = f.inform("2 PERIODIC")
	redeliver(n - 1)
	if again := f.next(s); again != nil {
		t.Fatalf("redelivered gpv-%d queued again after a restart", n-1)
	}
}

// heldTranslators is fakeTranslators whose first Normalize waits for release: the Inform being
// handled stays between its time stamp and its publications (a slow translator or disk).
type heldTranslators struct {
	fakeTranslators
	held    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (h *heldTranslators) Normalize(ctx context.Context, dev sdk.DeviceInfo, params map[string]sdk.Value) (string, sdk.State, error) {
	if h.held.CompareAndSwap(false, true) {
		close(h.entered)
		<-h.release
	}
	return h.fakeTranslators.Normalize(ctx, dev, params)
}

// A CPE that opens a new session while the gateway still handles the Inform of its old one
// (acs supersedes the old session, its handler goes on) must not see the newer Inform's
// events published first: B/D/event stays in time order (docs/mqtt-api.md: events of a device
// arrive in order). Was: each Inform stamped its events when it arrived and enqueued them when
// done, so the quicker newer one overtook the held older one.
func TestSupersedingInformKeepsDeviceEventsInTimeOrder(t *testing.T) {
	f := newFixture(t, Options{Interview: InterviewOptions{Disabled: true}})
	f.inform("2 PERIODIC") // known and online: the Informs below publish only their own messages
	h := &heldTranslators{entered: make(chan struct{}), release: make(chan struct{})}
	f.b.tr = h
	informed := func(code string) chan error {
		s := &acs.Session{ID: "sess-" + code, DeviceID: devID,
			Device:     soap.DeviceID{Manufacturer: "Huawei", OUI: "00259E", ProductClass: "HG8245", SerialNumber: "SN0001"},
			RemoteAddr: netip.MustParseAddrPort("192.0.2.10:40000"), NS: soap.NSCWMP10}
		// A new firmware each: an Inform that changes nothing would not call the translator.
		inf := &soap.Inform{DeviceID: s.Device, MaxEnvelopes: 1, Events: []soap.Event{{Code: code}},
			ParameterList: []soap.ParameterValue{{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
				Value: soap.Value{Type: "string", Raw: "V1R3 " + code}}}}
		done := make(chan error, 1)
		go func() { done <- f.b.Inform(context.Background(), s, inf) }()
		return done
	}
	older := informed("2 PERIODIC")
	<-h.entered
	newer := informed("6 CONNECTION REQUEST")
	// The newer Inform runs through unless something holds it; give it a fair chance before
	// letting the older one go (on the fixed code it waits, and this is only a bound).
	select {
	case err := <-newer:
		newer <- err
	case <-time.After(time.Second):
	}
	close(h.release)
	for _, c := range []chan error{older, newer} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	var last time.Time
	var seen []string
	for _, m := range f.pub.all() {
		if m.Topic != "cwmp2mqtt/"+devID+"/event" {
			continue
		}
		var ev struct {
			Event string    `json:"event"`
			Time  time.Time `json:"time"`
		}
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ev.Event+"@"+ev.Time.Format(time.RFC3339Nano))
		if ev.Time.Before(last) {
			t.Errorf("device events out of time order: %v", seen)
		}
		last = ev.Time
	}
	if len(seen) < 3 {
		t.Fatalf("events %v: want the first periodic, the held periodic and the connection request", seen)
	}
}
