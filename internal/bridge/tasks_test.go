package bridge

import (
	"context"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// A task's progress is marshalled under the queues' lock and written after it. When the task
// ends in between (a session re-queueing it while the sweeper expires it, or its answer), the
// late write must not bring it back: the next start would find a Reboot "in flight" and publish
// a second terminal result for it.
func TestLateProgressWriteDoesNotReviveAFinishedTask(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("1 BOOT")
	f.next(s)
	f.rpc(`{"id":"r","method":"Reboot","expires":60}`)
	task := f.next(s)
	if task == nil || task.Ref.(*taskRecord).ID != "r" {
		t.Fatalf("next task %+v, want the Reboot", task)
	}
	rec := task.Ref.(*taskRecord)
	v, err := f.b.tasks.Marshal(rec) // what saveTask took, just before the task ended
	if err != nil {
		t.Fatal(err)
	}
	f.b.TaskDone(context.Background(), s, task, &soap.RebootResponse{}, nil)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "r", "status": "done"})
	f.b.storeProgress(rec, v, nil) // ... and wrote after it
	f.stop()
	f.start()
	if n := f.b.tasks.Len(devID); n != 0 {
		t.Fatalf("%d tasks queued after the restart, want none", n)
	}
	if got := f.terminalsOf("r"); len(got) != 0 {
		t.Fatalf("the finished Reboot got another result after the restart: %v", got)
	}
}

// The connection request of a request for an idle device goes out while the request commits
// (the CPE's session takes longer to reach NextTask than the commit takes), and the session it
// opens waits for the commit rather than end without the request.
func TestAWakeOverlapsTheRequestsCommitAndItsSessionGetsTheRequest(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("1 BOOT")
	if f.next(s) != nil {
		t.Fatal("a task before any request")
	}
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)

	hold, err := f.db.Begin(true) // the store's writer: the request's commit waits for it
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			_ = hold.Rollback()
		}
	}()
	accepted := make(chan error, 1)
	go func() {
		accepted <- f.b.HandleMessage(context.Background(), "cwmp2mqtt/"+devID+"/rpc",
			[]byte(`{"id":"early","method":"GetParameterValues","args":{"names":["InternetGatewayDevice.DeviceInfo.UpTime"]},"expires":60}`), false)
	}()
	select {
	case <-f.waker.woke:
	case <-time.After(10 * time.Second):
		t.Fatal("no connection request while the request was committing")
	}
	select {
	case err := <-accepted:
		t.Fatalf("the request was acknowledged before its commit: %v", err)
	default:
	}

	type next struct {
		task *acs.Task
		err  error
	}
	s2 := f.inform("6 CONNECTION REQUEST")
	got := make(chan next, 1)
	go func() {
		task, err := f.b.NextTask(context.Background(), s2)
		got <- next{task, err}
	}()
	// Not a timing assertion: the pause only lets NextTask run while the commit is held, where
	// a session that does not wait for it would end with nothing to do.
	time.Sleep(50 * time.Millisecond)
	released = true
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "early", "status": "accepted"})
	var n next
	select {
	case n = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the woken session's NextTask did not return after the commit")
	}
	if n.err != nil || n.task == nil {
		t.Fatalf("the woken session got no task (%v): it ended without the request that woke it", n.err)
	}
	if id := n.task.Ref.(*taskRecord).ID; id != "early" {
		t.Fatalf("the woken session got %q", id)
	}
}
