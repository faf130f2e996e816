package bridge

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
)

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func (f *fixture) online(id string) bool {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	return f.b.devices[id].rec.Online
}

// Each device goes offline at its own deadline, and Informs move that deadline without
// growing the timer heap: a tick looks at the devices that are due, not at the fleet.
func TestOfflineDeadlinesFireOnlyForDueDevices(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	f := newFixture(t, Options{Now: clk.Now, AvailabilityFloor: time.Second})
	a := f.informAs("A1", "V1", "1 BOOT")
	for range 20 { // periodic Informs of A: its deadline moves, the heap does not grow
		clk.advance(time.Second)
		f.informAs("A1", "V1", "2 PERIODIC")
	}
	clk.advance(100 * time.Second)
	b := f.informAs("B1", "V1", "1 BOOT")
	f.b.mu.Lock()
	n := f.b.deadlines[dueAvailability].Len()
	f.b.mu.Unlock()
	if n > 2 {
		t.Errorf("%d availability entries for 2 devices after 21 Informs", n)
	}
	clk.advance(650 * time.Second) // A's last Inform 750 s ago, B's 650 s: offline after 2.5 × 300 s = 750 s
	f.b.sweepAvailability(clk.Now())
	if !f.online(a) || !f.online(b) {
		t.Fatalf("offline at 750 s: A %v, B %v", f.online(a), f.online(b))
	}
	clk.advance(time.Second)
	f.b.sweepAvailability(clk.Now())
	if f.online(a) || !f.online(b) {
		t.Fatalf("at 751 s of A's silence: A online %v (want false), B online %v (want true: 751 s only for A)", f.online(a), f.online(b))
	}
}

// After a flush, a tick over an idle fleet finds nothing to write and no device due.
func TestIdleFleetTickLooksAtNoDevice(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	f := newFixture(t, Options{Now: clk.Now, AvailabilityFloor: time.Second})
	f.pub.drain(t)
	for i := range 300 {
		f.informAs(fmt.Sprintf("I%03d", i), "V1", "1 BOOT")
	}
	f.b.flush()
	clk.advance(time.Minute)
	f.b.mu.Lock()
	dirty := len(f.b.reg.TakeDirty())
	var due int
	for k := range dueKinds {
		due += len(f.b.popDueLocked(k, clk.Now()))
	}
	f.b.mu.Unlock()
	if dirty != 0 || due != 0 {
		t.Errorf("idle fleet of 300: %d records to flush, %d devices due", dirty, due)
	}
}

// A timeout set when the task is sent in a session (after the device was armed for later)
// still fires on time.
func TestTimeoutOfTaskSentInSessionFires(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	f := newFixture(t, Options{Now: clk.Now})
	s := f.inform("1 BOOT")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.rpc(`{"id":"t-1","method":"Reboot","args":{"command_key":"k"},"timeout":5,"expires":3600}`)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "t-1", "status": "accepted"})
	<-f.waker.woke
	// Once the connection request is done, a tick arms the device for its next re-wake, a
	// minute away, much later than the timeout to come.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		f.b.mu.Lock()
		waking := f.b.devices[devID].waking
		f.b.mu.Unlock()
		if !waking {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("connection request still in progress")
		}
	}
	f.b.sweepTasks(clk.Now())
	s = f.inform("6 CONNECTION REQUEST")
	if task := f.next(s); task == nil || task.Request.MethodName() != "Reboot" {
		t.Fatalf("task in session: %+v", task)
	}
	clk.advance(6 * time.Second)
	f.b.sweepTasks(clk.Now())
	clk.advance(time.Second)
	f.b.sweepTasks(clk.Now())
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "t-1", "status": "timeout"})
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
}
