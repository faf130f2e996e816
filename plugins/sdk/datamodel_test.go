package sdk

import (
	"slices"
	"testing"
)

func TestDataModelHas(t *testing.T) {
	m := NewDataModel([]string{
		"Device.WiFi.SSID.1.SSID", "Device.", "Device.WiFi.", "Device.WiFi.SSID.", "Device.WiFi.SSID.1.",
		"Device.DeviceInfo.UpTime", "Device.WiFi.SSID.1.SSID",
	})
	for name, want := range map[string]bool{
		"Device.WiFi.SSID.1.SSID":  true,
		"Device.WiFi.SSID.":        true,  // an object listed
		"Device.DeviceInfo.":       true,  // an object not listed, with a parameter below
		"Device.WiFi.SSID.2.SSID":  false, // an instance the device lacks
		"Device.WiFi.SSID.1.SSI":   false, // a prefix of a parameter is no parameter
		"Device.WiFi.SSID.1.SSID.": false,
		"Device.DeviceInfo.Up":     false,
		"Device.Hosts.":            false,
	} {
		if got := m.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
	if m.Len() != 6 {
		t.Errorf("Len %d: duplicates are counted once", m.Len())
	}
	if got := m.Below("Device.WiFi.SSID.1."); !slices.Equal(got, []string{"Device.WiFi.SSID.1.", "Device.WiFi.SSID.1.SSID"}) {
		t.Errorf("Below: %q", got)
	}
}

// A device not interviewed yet has no data model: every name passes, so a translator that asks
// Has plans as one that does not.
func TestDataModelUnknownHasEverything(t *testing.T) {
	var m *DataModel
	if m = NewDataModel(nil); m != nil || m.Known() || !m.Has("Anything.At.All") || m.Names() != nil || m.Below("A.") != nil {
		t.Errorf("unknown model: %+v", m)
	}
}
