package bridge

import (
	"context"
	"net/netip"
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

// Devices of one model share their record's model strings, whether they came from an Inform or
// from the store at start, and a device's serial number is the end of its id, not a copy.
func TestDevicesOfOneModelShareTheirRecordStrings(t *testing.T) {
	f := newFixture(t, Options{})
	informAs := func(serial string) {
		t.Helper()
		id := "00259E-HG8245-" + serial
		s := &acs.Session{ID: "share-" + serial, DeviceID: id,
			Device:     soap.DeviceID{Manufacturer: string([]byte("Huawei")), OUI: string([]byte("00259E")), ProductClass: string([]byte("HG8245")), SerialNumber: string([]byte(serial))},
			RemoteAddr: netip.MustParseAddrPort("192.0.2.10:40000"), NS: soap.NSCWMP10}
		inf := &soap.Inform{DeviceID: s.Device, MaxEnvelopes: 1, ParameterList: []soap.ParameterValue{
			{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", Value: soap.Value{Type: "string", Raw: string([]byte("V1R2"))}},
			{Name: "InternetGatewayDevice.DeviceInfo.HardwareVersion", Value: soap.Value{Type: "string", Raw: string([]byte("HW1"))}},
		}, Events: []soap.Event{{Code: "2 PERIODIC"}}}
		if err := f.b.Inform(context.Background(), s, inf); err != nil {
			t.Fatal(err)
		}
		f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	}
	same := func(a, b string) bool { return len(a) > 0 && unsafe.StringData(a) == unsafe.StringData(b) }
	check := func(when string) {
		t.Helper()
		f.b.mu.Lock()
		defer f.b.mu.Unlock()
		a, b := &f.b.devices["00259E-HG8245-A1"].rec, &f.b.devices["00259E-HG8245-B2"].rec
		for name, pair := range map[string][2]string{"manufacturer": {a.Manufacturer, b.Manufacturer}, "OUI": {a.OUI, b.OUI},
			"product class": {a.ProductClass, b.ProductClass}, "software version": {a.SoftwareVersion, b.SoftwareVersion},
			"hardware version": {a.HardwareVersion, b.HardwareVersion}} {
			if !same(pair[0], pair[1]) {
				t.Errorf("%s: the two devices' %s %q is not one string", when, name, pair[0])
			}
		}
		if !same(a.SerialNumber, a.ID[len(a.ID)-2:]) {
			t.Errorf("%s: serial number %q is a copy, not the end of the id", when, a.SerialNumber)
		}
	}
	informAs("A1")
	informAs("B2")
	informAs("A1") // its values again: the record keeps its strings
	check("after their Informs")
	f.b.flush()
	f.stop()
	f.start()
	check("after a restart")
}
