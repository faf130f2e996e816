package acs

import (
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// DeviceIDFor returns the GenieACS-compatible device id of an Inform's DeviceId:
// OUI-ProductClass-SerialNumber, or OUI-SerialNumber when ProductClass is empty. In each part every
// byte outside [A-Za-z0-9_] becomes '%' and its two uppercase hex digits, so the id never holds
// '/', '+', '#' (MQTT topic safe) and ids carry over from GenieACS.
//
// The escaping works on bytes and always writes two digits, which makes it injective: distinct
// DeviceIds give distinct ids ('-' inside a part is %2D, so the separators are unambiguous). For
// printable ASCII, and any valid UTF-8 inside the BMP, this is exactly GenieACS's
// generateDeviceId. GenieACS differs for bytes below 0x10 (it writes "%A" for '\n', which makes
// "\x01" + "0" and "\x10" collide), for characters outside the BMP (two U+FFFD, so all such
// characters collide) and for invalid UTF-8; we do not follow it there (issue 9).
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
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&0xF])
		}
	}
	return dst
}

// MaxIdentityField bounds each DeviceId field of an Inform in bytes: TR-069 A.3.3.1 gives
// Manufacturer, ProductClass and SerialNumber 64 characters (OUI 6); 64 bytes for every field
// tolerates a sloppy OUI and keeps a device id (each byte at most 3 once escaped) well inside an
// MQTT topic and a store key.
const MaxIdentityField = 64

// checkIdentity refuses a DeviceId the gateway cannot key a device on: empty OUI or
// SerialNumber, or a field over MaxIdentityField bytes.
func checkIdentity(d soap.DeviceID) string {
	for _, f := range []struct{ name, v string }{
		{"Manufacturer", d.Manufacturer}, {"OUI", d.OUI}, {"ProductClass", d.ProductClass}, {"SerialNumber", d.SerialNumber},
	} {
		if len(f.v) > MaxIdentityField {
			return "DeviceId " + f.name + " is longer than 64 bytes (TR-069 A.3.3.1)"
		}
	}
	if d.OUI == "" || d.SerialNumber == "" {
		return "DeviceId needs an OUI and a SerialNumber (TR-069 A.3.3.1)"
	}
	return ""
}

// truncate cuts s to at most n bytes, for logging what a client sent.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
