package bridge

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// What an idle known device costs in memory is mostly its device struct (issue 11: under 2 KB
// per idle device): rarely used state is kept only while it is used.

// A device's connection-request history exists from a CR's outcome to the device's next
// Inform; a device that never got one, or informed since, keeps none.
func TestDeviceWithoutConnReqHistoryKeepsNoWakeState(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, Options{Now: clock.Now})
	wake := func() *wakeState {
		f.b.mu.Lock()
		defer f.b.mu.Unlock()
		return f.b.devices[devID].wake
	}
	s := f.inform("2 PERIODIC")
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	if w := wake(); w != nil {
		t.Fatalf("a device never woken keeps CR state %+v", w)
	}
	f.waker.mu.Lock()
	f.waker.err = &connreq.BusyError{RetryAfter: 30 * time.Second, Header: "30"}
	f.waker.mu.Unlock()
	f.rpc(`{"id":"w","method":"GetRPCMethods","expires":600}`)
	<-f.waker.woke
	apitest.Eventually(t, "the busy answer recorded", 10*time.Second, func() bool { w := wake(); return w != nil && w.busy == 1 })
	s = f.inform("6 CONNECTION REQUEST")
	if w := wake(); w != nil {
		t.Fatalf("CR state kept after the device informed: %+v", w)
	}
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
}

// A device whose transfers all ended (TransferComplete, or timed out) keeps no transfer state:
// not even the emptied list's array.
func TestDeviceWithNoTransfersLeftKeepsNoTransferState(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, Options{Now: clock.Now, TransferTimeout: time.Minute})
	s := f.inform("2 PERIODIC")
	transfers := func() []string {
		f.b.mu.Lock()
		defer f.b.mu.Unlock()
		if tr := f.b.devices[devID].rec.Transfers; tr != nil {
			keys := []string{}
			for _, p := range tr {
				keys = append(keys, p.CommandKey)
			}
			return keys
		}
		return nil
	}
	for _, key := range []string{"done", "late"} {
		f.rpc(`{"id":"dl-` + key + `","method":"Download","args":{"file_type":"firmware","url":"http://fw/x.bin","command_key":"` + key + `"},"expires":60}`)
		task := f.next(s)
		f.b.TaskDone(context.Background(), s, task, &soap.DownloadResponse{Status: 1}, nil)
		f.pub.waitFor(t, resultTopic, map[string]any{"id": "dl-" + key, "status": "done"})
	}
	if got := transfers(); len(got) != 2 {
		t.Fatalf("pending transfers %v, want done and late", got)
	}
	if _, err := f.b.CPERequest(context.Background(), s, &soap.TransferComplete{CommandKey: "done"}); err != nil {
		t.Fatal(err)
	}
	f.b.sweepTransfers(clock.advance(2 * time.Minute))
	f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/event", map[string]any{"event": "transfer_timeout"})
	if got := transfers(); got != nil {
		t.Fatalf("transfer state kept after every transfer ended: %q", got)
	}
	f.rpc(`{"id":"dl-one","method":"Download","args":{"file_type":"firmware","url":"http://fw/x.bin","command_key":"one"},"expires":60}`)
	task := f.next(s)
	f.b.TaskDone(context.Background(), s, task, &soap.DownloadResponse{Status: 1}, nil)
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "dl-one", "status": "done"})
	if _, err := f.b.CPERequest(context.Background(), s, &soap.TransferComplete{CommandKey: "one"}); err != nil {
		t.Fatal(err)
	}
	if got := transfers(); got != nil {
		t.Fatalf("transfer state kept after its TransferComplete: %q", got)
	}
}

// The device struct and a deadline entry stay small: a field added to them is a cost per known
// device (at 100,000 devices, 8 bytes are 0.8 MB), to be weighed, not slipped in.
func TestDeviceStructSize(t *testing.T) {
	if n := unsafe.Sizeof(device{}); n > 640 {
		t.Errorf("device is %d bytes, over the 640-byte size class: move what most devices do not use behind a pointer", n)
	}
	if n := unsafe.Sizeof(deadlineEntry{}); n > 16 {
		t.Errorf("deadline entry is %d bytes, want 16", n)
	}
}
