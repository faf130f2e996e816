package bridge

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// terminalsOf returns the published results of request id other than `accepted`.
func (f *fixture) terminalsOf(id string) []string {
	f.pub.mu.Lock()
	defer f.pub.mu.Unlock()
	var out []string
	for _, m := range f.pub.msgs {
		if m.Topic == resultTopic && strings.Contains(string(m.Payload), `"id":"`+id+`"`) && !strings.Contains(string(m.Payload), `"status":"accepted"`) {
			out = append(out, string(m.Payload))
		}
	}
	return out
}

// A request during which the CPE drops the session is sent at most tasks.max_attempts times
// (default 2), then ends with one `timeout` saying the CPE dropped the session twice.
func TestPoisonRequestSentAtMostMaxAttempts(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"p","method":"SetParameterValues","args":{"parameters":[["InternetGatewayDevice.X.Unknown","1"]]},"expires":600}`)
	task := f.next(s)
	if task == nil {
		t.Fatal("not sent")
	}
	// The CPE dies on it and comes back with a new session (the old one is superseded).
	s2 := f.inform("1 BOOT")
	f.b.SessionEnded(context.Background(), s, task, acs.EndSuperseded)
	again := f.next(s2)
	if again == nil || again.Ref.(*taskRecord).ID != "p" {
		t.Fatalf("second send: %#v", again)
	}
	// It dies again and goes silent: the session times out.
	f.b.SessionEnded(context.Background(), s2, again, acs.EndTimeout)
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "p", "status": "timeout"})
	if r["attempts"] != float64(2) || r["dropped_sessions"] != float64(2) {
		t.Errorf("attempts %v, dropped_sessions %v, want 2 and 2", r["attempts"], r["dropped_sessions"])
	}
	if reason, _ := r["error"].(string); !strings.Contains(reason, "dropped the session 2 times") || strings.Contains(reason, "did not open a session") {
		t.Errorf("reason %q does not say what happened", reason)
	}
	s3 := f.inform("1 BOOT")
	if third := f.next(s3); third != nil {
		t.Fatalf("sent a third time: %#v", third.Request)
	}
	if got := f.terminalsOf("p"); len(got) != 1 {
		t.Fatalf("%d terminal results, want 1: %v", len(got), got)
	}
}

// The count of sends is stored: a gateway restart between two crashes does not reset it.
func TestPoisonAttemptsSurviveRestart(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"pr","method":"GetParameterValues","args":{"names":["InternetGatewayDevice.X.Unknown"]},"expires":600}`)
	task := f.next(s)
	f.b.SessionEnded(context.Background(), s, task, acs.EndTimeout)
	f.stop()
	f.start()
	s = f.inform("1 BOOT")
	again := f.next(s)
	if again == nil {
		t.Fatal("not re-sent after the restart")
	}
	f.b.SessionEnded(context.Background(), s, again, acs.EndError)
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "pr", "status": "timeout"})
	if r["attempts"] != float64(2) {
		t.Errorf("attempts %v after a restart, want 2", r["attempts"])
	}
	if third := f.next(f.inform("1 BOOT")); third != nil {
		t.Fatalf("sent a third time: %#v", third.Request)
	}
}

// A gateway stopping mid-request is not the CPE dropping it: not counted as a drop, and the
// request runs again (within the cap).
func TestShutdownIsNotADrop(t *testing.T) {
	f := newFixture(t, Options{MaxAttempts: 3})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"sd","method":"GetRPCMethods","expires":600}`)
	task := f.next(s)
	f.b.SessionEnded(context.Background(), s, task, acs.EndShutdown)
	s = f.inform("2 PERIODIC")
	again := f.next(s)
	if again == nil {
		t.Fatal("not re-sent")
	}
	f.b.TaskDone(context.Background(), s, again, &soap.GetRPCMethodsResponse{MethodList: []string{"Inform"}}, nil)
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "sd", "status": "done"})
	if _, ok := r["dropped_sessions"]; ok {
		t.Errorf("a shutdown counted as a dropped session: %v", r)
	}
}

// `timeout` counts from the first send: a request re-queued after a dropped session times out
// on its first deadline, even while it waits for the next session, and says it was sent.
func TestTimeoutCountsFromFirstSend(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, Options{MaxAttempts: 5, Now: clock.Now})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"tf","method":"GetRPCMethods","timeout":30,"expires":600}`)
	task := f.next(s)
	f.b.SessionEnded(context.Background(), s, task, acs.EndSuperseded)
	clock.advance(31 * time.Second) // queued again, waiting for a session, past the first deadline
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "tf", "status": "timeout"})
	if reason, _ := r["error"].(string); !strings.Contains(reason, "counted from the first send") || !strings.Contains(reason, "sent once") {
		t.Errorf("reason %q", reason)
	}
	if again := f.next(f.inform("2 PERIODIC")); again != nil {
		t.Fatalf("timed-out request sent again: %#v", again.Request)
	}
}

// A request sent once, dropped, whose expires passes before another session, ends `timeout`
// (it was sent: the CPE may have applied it), never "the device did not open a session".
func TestExpiresAfterDropSaysItWasSent(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, Options{MaxAttempts: 5, Now: clock.Now})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"ed","method":"Reboot","args":{},"expires":60}`)
	task := f.next(s)
	f.b.SessionEnded(context.Background(), s, task, acs.EndTimeout)
	clock.advance(61 * time.Second)
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "ed", "status": "timeout"})
	if reason, _ := r["error"].(string); !strings.Contains(reason, "sent once") || !strings.Contains(reason, "dropped the session once") {
		t.Errorf("reason %q", reason)
	}
}

// A request never reached although the device had a session says so when it expires.
func TestExpiredReasonNamesTheSession(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, Options{Now: clock.Now})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"ex","method":"GetRPCMethods","expires":60}`)
	// The session ends without asking for tasks (e.g. cwmp.session.max_rpcs), then the device
	// informs again and never gets to the request either.
	f.b.SessionEnded(context.Background(), s, nil, acs.EndLimit)
	clock.advance(time.Second)
	f.inform("2 PERIODIC")
	clock.advance(time.Minute)
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "ex", "status": "expired"})
	if reason, _ := r["error"].(string); !strings.Contains(reason, "opened a session at") {
		t.Errorf("reason %q does not say a session came", reason)
	}
}

// A CPE's own fault 9005 is published as it sent it; the gateway's word is in explanation.
func TestCPEFaultStringKept(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"f9","method":"GetParameterValues","args":{"names":["InternetGatewayDevice.X.A","InternetGatewayDevice.X.B"]},"expires":60}`)
	for task := f.next(s); task != nil; task = f.next(s) {
		f.b.TaskDone(context.Background(), s, task, nil, &soap.Fault{SOAPCode: "Client", Code: 9005, String: "cpe says: no such name"})
	}
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "f9", "status": "fault"})
	fault := r["fault"].(map[string]any)
	if fault["code"] != float64(9005) || fault["string"] != "cpe says: no such name" {
		t.Errorf("fault %v, want the CPE's code and string unchanged", fault)
	}
	if ex, _ := fault["explanation"].(string); !strings.Contains(ex, "InternetGatewayDevice.X.B") {
		t.Errorf("explanation %q does not name the refused names", ex)
	}
}

// shortCPE answers a GetParameterValues of several names with only the last one, and a single
// name fully (as a real client did).
func shortCPE(req soap.Message) soap.Message {
	names := req.(*soap.GetParameterValues).ParameterNames
	n := names[len(names)-1]
	return &soap.GetParameterValuesResponse{ParameterList: []soap.ParameterValue{{Name: n, Value: soap.StringValue("v-" + n)}}}
}

// A short answer has its missing names asked again one at a time; the quirk is learned, stored
// and used for the device's later reads, also after a restart.
func TestShortAnswerReaskedAndQuirkLearned(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"sa","method":"GetParameterValues","args":{"names":["A.a","A.b","A.c"]},"expires":60}`)
	var sent [][]string
	for task := f.next(s); task != nil; task = f.next(s) {
		sent = append(sent, task.Request.(*soap.GetParameterValues).ParameterNames)
		f.b.TaskDone(context.Background(), s, task, shortCPE(task.Request), nil)
	}
	if got := mustJSON(sent); got != `[["A.a","A.b","A.c"],["A.a"],["A.b"]]` {
		t.Errorf("sent %s, want the batch then each missing name alone", got)
	}
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "sa", "status": "done"})
	p := r["result"].(map[string]any)["parameters"].(map[string]any)
	if len(p) != 3 || r["result"].(map[string]any)["invalid_names"] != nil {
		t.Errorf("result %v, want all 3 values and no invalid names", r["result"])
	}
	if note, _ := r["note"].(string); !strings.Contains(note, "one_name_per_gpv") {
		t.Errorf("note %q does not say the quirk was learned", note)
	}
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.stop()
	f.start()
	s = f.inform("2 PERIODIC")
	f.rpc(`{"id":"sb","method":"GetParameterValues","args":{"names":["A.a","A.b"]},"expires":60}`)
	sent = nil
	for task := f.next(s); task != nil; task = f.next(s) {
		sent = append(sent, task.Request.(*soap.GetParameterValues).ParameterNames)
		f.b.TaskDone(context.Background(), s, task, shortCPE(task.Request), nil)
	}
	if got := mustJSON(sent); got != `[["A.a"],["A.b"]]` {
		t.Errorf("after the restart sent %s, want one name per GetParameterValues", got)
	}
}

// keyTranslators maps raw parameter X.<k> to key x.<k> (this package's unit tests only).
type keyTranslators struct{ fakeTranslators }

func (keyTranslators) Normalize(ctx context.Context, dev sdk.DeviceInfo, params map[string]sdk.Value) (string, sdk.State, error) {
	st := sdk.State{"model": "1"}
	for k, v := range params {
		if rest, ok := strings.CutPrefix(k, "InternetGatewayDevice.X."); ok {
			st["x."+strings.ToLower(rest)] = v.Value
		}
	}
	return "keys", st, nil
}

// A `get` result holds only the values the CPE returned for it: a key the CPE left out has no
// value there, even though the state knows an older one, and its name is in invalid_names.
func TestGetResultHoldsOnlyReturnedValues(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.tr = keyTranslators{fakeTranslators{plan: sdk.GetPlan{Names: []string{"InternetGatewayDevice.X.A", "InternetGatewayDevice.X.B"}}}}
	s := f.inform("2 PERIODIC")
	// Older values of both, from an earlier read.
	f.rpc(`{"id":"old","method":"GetParameterValues","args":{"names":["InternetGatewayDevice.X.A","InternetGatewayDevice.X.B"]},"expires":60}`)
	task := f.next(s)
	f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{ParameterList: []soap.ParameterValue{
		{Name: "InternetGatewayDevice.X.A", Value: soap.StringValue("oldA")}, {Name: "InternetGatewayDevice.X.B", Value: soap.StringValue("oldB")}}}, nil)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "old", "status": "done"})
	if err := f.b.HandleMessage(context.Background(), "cwmp2mqtt/"+devID+"/get", []byte(`{"id":"g","keys":["x.a","x.b"],"expires":60}`), false); err != nil {
		t.Fatal(err)
	}
	for task := f.next(s); task != nil; task = f.next(s) {
		var pl []soap.ParameterValue
		for _, n := range task.Request.(*soap.GetParameterValues).ParameterNames {
			if n == "InternetGatewayDevice.X.B" {
				pl = append(pl, soap.ParameterValue{Name: n, Value: soap.StringValue("newB")})
			}
		}
		f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{ParameterList: pl}, nil)
	}
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "g", "status": "done"})
	res := r["result"].(map[string]any)
	if got := mustJSON(res["values"]); got != `{"x.b":"newB"}` {
		t.Errorf("values %s, want only what the CPE returned", got)
	}
	if got := mustJSON(res["invalid_names"]); got != `["InternetGatewayDevice.X.A"]` {
		t.Errorf("invalid_names %s", got)
	}
}

// A CPE that accepts a connection request but opens no session within session_wait is not
// sent another before its next Inform; requests say so, and its Inform runs them.
func TestConnReqWithoutSessionNotResent(t *testing.T) {
	f := newFixture(t, Options{SessionWait: 200 * time.Millisecond, RewakeEvery: 300 * time.Millisecond})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.rpc(`{"id":"c1","method":"GetRPCMethods","expires":60}`)
	<-f.waker.woke
	// Far more than session_wait and several RewakeEvery: no second CR.
	time.Sleep(1500 * time.Millisecond)
	f.waker.mu.Lock()
	calls := len(f.waker.calls)
	f.waker.mu.Unlock()
	if calls != 1 {
		t.Fatalf("%d connection requests, want 1", calls)
	}
	f.rpc(`{"id":"c2","method":"GetRPCMethods","expires":60}`)
	acc := f.pub.waitFor(t, resultTopic, map[string]any{"id": "c2", "status": "accepted"})
	if note, _ := acc["note"].(string); !strings.Contains(note, "opened no session") {
		t.Errorf("accepted note %q does not say why the device is not woken", note)
	}
	f.rpc(`{"id":"c3","method":"GetRPCMethods"}`)
	off := f.pub.waitFor(t, resultTopic, map[string]any{"id": "c3", "status": "offline"})
	if reason, _ := off["error"].(string); !strings.Contains(reason, "not woken") {
		t.Errorf("offline reason %q", reason)
	}
	s = f.inform("2 PERIODIC")
	if task := f.next(s); task == nil || task.Ref.(*taskRecord).ID != "c1" {
		t.Fatalf("the periodic Inform did not run the request: %#v", task)
	}
	f.b.mu.Lock()
	marked := !f.b.devices[devID].rec.CRNoSession.IsZero()
	f.b.mu.Unlock()
	if marked {
		t.Error("the Inform did not clear the mark")
	}
}

// A CPE that answers the CR 503 is asked again with back-off, not declared offline; once it
// informs the request runs.
func TestConnReqBusyRetried(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.waker.mu.Lock()
	f.waker.err = fmt.Errorf("%w: HTTP 503", connreq.ErrBusy)
	f.waker.mu.Unlock()
	f.rpc(`{"id":"b1","method":"GetRPCMethods"}`)
	<-f.waker.woke
	select {
	case <-f.waker.woke:
	case <-time.After(10 * time.Second):
		t.Fatal("busy CPE not asked again")
	}
	if got := f.terminalsOf("b1"); len(got) != 0 {
		t.Fatalf("a busy CPE ended the request: %v", got)
	}
	s = f.inform("6 CONNECTION REQUEST")
	task := f.next(s)
	if task == nil {
		t.Fatal("request not run")
	}
	f.b.TaskDone(context.Background(), s, task, &soap.GetRPCMethodsResponse{MethodList: []string{"Inform"}}, nil)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "b1", "status": "done"})
}

// A busy CPE's Retry-After is honoured: no CR before it, one after it.
func TestConnReqBusyHonoursRetryAfter(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, Options{Now: clock.Now})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.waker.mu.Lock()
	f.waker.err = &connreq.BusyError{RetryAfter: 30 * time.Second, Header: "30"}
	f.waker.mu.Unlock()
	f.rpc(`{"id":"ra","method":"GetRPCMethods","expires":600}`)
	<-f.waker.woke
	// Wake signals before it returns the busy error: advance the clock only once the bridge has
	// recorded the CPE's Retry-After, or the back-off would count from the advanced time.
	apitest.Eventually(t, "the busy answer recorded", 10*time.Second, func() bool {
		f.b.mu.Lock()
		defer f.b.mu.Unlock()
		d := f.b.devices[devID]
		return d != nil && !d.wakeOf().retryAt.IsZero()
	})
	clock.advance(20 * time.Second)
	select {
	case <-f.waker.woke:
		t.Fatal("connection request sent before the CPE's Retry-After")
	case <-time.After(time.Second): // several sweeps of the bridge's 250 ms tick
	}
	clock.advance(11 * time.Second)
	select {
	case <-f.waker.woke:
	case <-time.After(10 * time.Second):
		t.Fatal("no connection request once Retry-After passed")
	}
}

// A CR that times out is retried, not the end of a request without expires.
func TestConnReqTimeoutRetried(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.waker.mu.Lock()
	f.waker.err = fmt.Errorf("%w: %w: dial tcp: i/o timeout", connreq.ErrUnreachable, connreq.ErrTimeout)
	f.waker.mu.Unlock()
	f.rpc(`{"id":"to","method":"GetRPCMethods"}`)
	<-f.waker.woke
	select {
	case <-f.waker.woke:
	case <-time.After(10 * time.Second):
		t.Fatal("timed-out connection request not retried")
	}
	if got := f.terminalsOf("to"); len(got) != 0 {
		t.Fatalf("a timed-out CR ended the request: %v", got)
	}
}
