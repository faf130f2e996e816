package soap

import "testing"

// One classification of Inform event codes for the ACS, the bridge and the API: by number, so a
// CPE's loose spelling still counts. The bridge used to match "0 BOOTSTRAP" by its text while the
// API matched by number: "0  BOOTSTRAP" (two spaces) was a bootstrap event on MQTT but did not
// provision the device.
func TestEventKindByNumber(t *testing.T) {
	for code, want := range map[string]EventKind{
		"0 BOOTSTRAP": EventBootstrap, " 0 Bootstrap ": EventBootstrap, "0  BOOTSTRAP": EventBootstrap, "1 BOOT": EventBoot,
		"7 TRANSFER_COMPLETE": EventTransferComplete, "14 HEARTBEAT": EventHeartbeat,
		"M Reboot": EventMethod, "X 00147F Foo": EventVendor, "15 FUTURE": EventUnknown, "BOOT": EventUnknown, "": EventUnknown,
	} {
		if got := (Event{Code: code}).Kind(); got != want {
			t.Errorf("%q: kind %d, want %d", code, got, want)
		}
	}
	evs := []Event{{Code: "2 PERIODIC"}, {Code: "0 bootstrap"}}
	if !HasEvent(evs, EventBootstrap) || HasEvent(evs, EventBoot) {
		t.Error("HasEvent")
	}
}
