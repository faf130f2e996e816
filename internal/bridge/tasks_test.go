package bridge

import (
	"context"
	"testing"

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
