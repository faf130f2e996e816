package acs

import (
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/cwmp/soap"
)

func TestDeviceIDFor(t *testing.T) {
	for _, tc := range []struct {
		d    soap.DeviceID
		want string
	}{
		{soap.DeviceID{OUI: "00147F", ProductClass: "SpeedTouch 780", SerialNumber: "CP0644JTHJ4"}, "00147F-SpeedTouch%20780-CP0644JTHJ4"},
		{soap.DeviceID{OUI: "E48D8C", SerialNumber: "ABC_123"}, "E48D8C-ABC_123"},
		{soap.DeviceID{OUI: "a06518", ProductClass: "968380GERG", SerialNumber: "a06518-0001"}, "a06518-968380GERG-a06518%2D0001"},
		// Never / + # (MQTT topic levels and wildcards).
		{soap.DeviceID{OUI: "001122", ProductClass: "a/b+c#d", SerialNumber: "x.y"}, "001122-a%2Fb%2Bc%23d-x%2Ey"},
		// Multi-byte UTF-8 escapes every byte, as GenieACS does.
		{soap.DeviceID{OUI: "001122", SerialNumber: "é€"}, "001122-%C3%A9%E2%82%AC"},
		// GenieACS does not pad bytes below 0x10 (b.toString(16)): '\n' is %A.
		{soap.DeviceID{OUI: "001122", SerialNumber: "S1\n\t"}, "001122-S1%A%9"},
		// Outside the BMP: GenieACS's regexp sees two UTF-16 surrogates, each encoded as U+FFFD.
		{soap.DeviceID{OUI: "001122", SerialNumber: "😀"}, "001122-%EF%BF%BD%EF%BF%BD"},
	} {
		got := DeviceIDFor(tc.d)
		if got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.d, got, tc.want)
		}
		if strings.ContainsAny(got, "/+#") {
			t.Errorf("%q holds an MQTT special character", got)
		}
	}
}
