package acs

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
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
		// Bytes below 0x10 get two digits (GenieACS writes %A, which collides: issue 9).
		{soap.DeviceID{OUI: "001122", SerialNumber: "S1\n\t"}, "001122-S1%0A%09"},
		// Outside the BMP: the UTF-8 bytes (GenieACS writes two U+FFFD for every such character).
		{soap.DeviceID{OUI: "001122", SerialNumber: "😀"}, "001122-%F0%9F%98%80"},
		// Invalid UTF-8: the bytes as they came.
		{soap.DeviceID{OUI: "001122", SerialNumber: "\xff\xc3"}, "001122-%FF%C3"},
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

// TestDeviceIDsOfIssue9DoNotCollide pins the collisions of issue 9 point 4.
func TestDeviceIDsOfIssue9DoNotCollide(t *testing.T) {
	for _, pair := range [][2]string{
		{"X\r0\t0", "XА"},      // "%D0%90" both ways under the unpadded escaping
		{"😀", "🙈"},             // two U+FFFD each
		{"\x01" + "0", "\x10"}, // %10
	} {
		a := DeviceIDFor(soap.DeviceID{OUI: "00147F", ProductClass: "PC", SerialNumber: pair[0]})
		b := DeviceIDFor(soap.DeviceID{OUI: "00147F", ProductClass: "PC", SerialNumber: pair[1]})
		if a == b {
			t.Errorf("serials %q and %q share the device id %q", pair[0], pair[1], a)
		}
	}
}

// decodeDeviceID inverts DeviceIDFor. That such a function exists is the proof that the
// escaping is injective: DeviceIDFor(a) == DeviceIDFor(b) implies a == b.
func decodeDeviceID(t testing.TB, id string) soap.DeviceID {
	t.Helper()
	parts := strings.Split(id, "-")
	unescape := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] != '%' {
				b.WriteByte(s[i])
				continue
			}
			v, err := hex.DecodeString(s[i+1 : i+3])
			if err != nil {
				t.Fatalf("bad escape in %q: %v", id, err)
			}
			b.Write(v)
			i += 2
		}
		return b.String()
	}
	switch len(parts) {
	case 2:
		return soap.DeviceID{OUI: unescape(parts[0]), SerialNumber: unescape(parts[1])}
	case 3:
		return soap.DeviceID{OUI: unescape(parts[0]), ProductClass: unescape(parts[1]), SerialNumber: unescape(parts[2])}
	}
	t.Fatalf("id %q has %d parts", id, len(parts))
	return soap.DeviceID{}
}

// randomField draws bytes weighted toward what breaks escapings: control characters, '%', '-',
// hex digits, invalid UTF-8, multi-byte and non-BMP characters.
func randomField(r *rand.Rand, canBeEmpty bool) string {
	pieces := []string{"a", "Z", "0", "9", "_", "-", "%", "%2D", "\x00", "\x01", "\n", "\x10", "\x7f", "\xff", "\xc3", "А", "é", "😀", "🙈", "F", "D0", " "}
	n := r.IntN(8)
	if !canBeEmpty {
		n++
	}
	var b strings.Builder
	for range n {
		if r.IntN(4) == 0 {
			b.WriteByte(byte(r.IntN(256)))
		} else {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
	}
	return b.String()
}

// TestDeviceIDInjective: for many random DeviceIds (bytes, not runes), the id decodes back to
// exactly the OUI, ProductClass and SerialNumber it came from, and never holds an MQTT special.
func TestDeviceIDInjective(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 4))
	seen := map[string]soap.DeviceID{}
	for range 20000 {
		d := soap.DeviceID{OUI: randomField(r, false), ProductClass: randomField(r, true), SerialNumber: randomField(r, false)}
		id := DeviceIDFor(d)
		if back := decodeDeviceID(t, id); back != d {
			t.Fatalf("%q decodes to %+v, not %+v", id, back, d)
		}
		if prev, ok := seen[id]; ok && prev != d {
			t.Fatalf("%+v and %+v share %q", prev, d, id)
		}
		seen[id] = d
		if strings.ContainsAny(id, "/+#") {
			t.Fatalf("%q holds an MQTT special character", id)
		}
	}
}

// FuzzDeviceIDInjective: two distinct DeviceIds never share an id.
func FuzzDeviceIDInjective(f *testing.F) {
	f.Add("00147F", "PC", "X\r0\t0", "00147F", "PC", "XА")
	f.Add("00147F", "", "A-B", "00147F-A", "", "B")
	f.Fuzz(func(t *testing.T, o1, p1, s1, o2, p2, s2 string) {
		a := soap.DeviceID{OUI: o1, ProductClass: p1, SerialNumber: s1}
		b := soap.DeviceID{OUI: o2, ProductClass: p2, SerialNumber: s2}
		if a != b && DeviceIDFor(a) == DeviceIDFor(b) {
			t.Fatalf("%+v and %+v share %q", a, b, DeviceIDFor(a))
		}
	})
}

// TestOverlongOrEmptyIdentityGetsFault is issue 9 point 5: a 22 KB serial, or an empty one, gets
// CWMP fault 8003 and never reaches the handler (no registry entry, no topic).
func TestOverlongOrEmptyIdentityGetsFault(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	for name, o := range map[string]informOpts{
		"22 KB serial":   {Serial: strings.Repeat("/", 22000)},
		"65-byte serial": {Serial: strings.Repeat("S", 65)},
		"65-byte class":  {Serial: "SN1", ProductClass: strings.Repeat("P", 65)},
		"empty serial":   {Serial: " "},
		"65-byte OUI":    {Serial: "SN1", OUI: strings.Repeat("0", 65)},
	} {
		c := newCPE(t, acs.url)
		r := c.post(informXML(o))
		if r.Status != http.StatusOK || r.Env.FaultCode != soap.FaultInvalidArguments {
			t.Errorf("%s: %d fault %d, want a fault 8003", name, r.Status, r.Env.FaultCode)
		}
	}
	c := newCPE(t, acs.url)
	c.openSession(informOpts{Serial: strings.Repeat("S", 64)}) // the bound itself is fine
	h.mu.Lock()
	n := len(h.informs)
	h.mu.Unlock()
	if n != 1 {
		t.Fatalf("the handler saw %d Informs, want only the 64-byte serial's", n)
	}
}
