package acs

import (
	"unicode/utf8"

	"github.com/cwmp2mqtt/cwmp2mqtt/cwmp/soap"
)

// DeviceIDFor returns the GenieACS-compatible device id of an Inform's DeviceId:
// OUI-ProductClass-SerialNumber, or OUI-SerialNumber when ProductClass is empty. In each part every
// byte outside [A-Za-z0-9_] becomes '%' and its uppercase hex, so the id never holds '/', '+',
// '#' (MQTT topic safe) and ids carry over from GenieACS.
//
// GenieACS (lib/util.ts generateDeviceId) writes b.toString(16).toUpperCase(), which does not
// pad: a byte below 0x10 (a control character such as '\n') becomes "%A", not "%0A". We match
// that exactly so ids stay identical. Likewise its regexp runs on UTF-16 code units, so a
// character outside the BMP (two surrogates) becomes two U+FFFD (%EF%BF%BD%EF%BF%BD).
func DeviceIDFor(d soap.DeviceID) string {
	n := len(d.OUI) + len(d.SerialNumber) + 1
	if d.ProductClass != "" {
		n += len(d.ProductClass) + 1
	}
	buf := make([]byte, 0, n+8)
	buf = appendEscapedIDPart(buf, d.OUI)
	buf = append(buf, '-')
	if d.ProductClass != "" {
		buf = appendEscapedIDPart(buf, d.ProductClass)
		buf = append(buf, '-')
	}
	buf = appendEscapedIDPart(buf, d.SerialNumber)
	return string(buf)
}

func appendEscapedIDPart(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
			dst = append(dst, c)
		case c < 0x10:
			dst = append(dst, '%', hex[c])
		case c >= 0xF0:
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError && size == 4 {
				dst = append(dst, "%EF%BF%BD%EF%BF%BD"...)
				i += size - 1
				continue
			}
			dst = append(dst, '%', hex[c>>4], hex[c&0xF])
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&0xF])
		}
	}
	return dst
}
