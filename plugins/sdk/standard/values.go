package standard

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Reasons a raw value is skipped by Normalize (reported, never fatal: checklist 34).
var (
	errEmpty       = errors.New("empty value")
	errNotBool     = errors.New("not a boolean (true, false, 1, 0)")
	errNotInt      = errors.New("not an integer")
	errNotNumber   = errors.New("not a number")
	errNotDatetime = errors.New("not a dateTime")
	errUnknownTime = errors.New("unknown time (0001-01-01)")
)

// parseBool accepts the boolean spellings CPEs send (checklist 35).
func parseBool(raw string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	case "":
		return false, errEmpty
	}
	return false, errNotBool
}

func parseInt(raw string) (int64, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return 0, errEmpty
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errNotInt
	}
	return n, nil
}

func parseNumber(raw string) (float64, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return 0, errEmpty
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errNotNumber
	}
	return f, nil
}

// dateTime layouts seen from CPEs (checklist 32): with Z or offset, fractions, or no zone at all.
var (
	zonedLayouts   = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700"}
	unzonedLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}
)

// parseDatetime returns the time in RFC 3339. A time without zone stays without zone: the device's
// local time, which the gateway cannot know.
func parseDatetime(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errEmpty
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() <= 1 {
				return "", errUnknownTime
			}
			return t.Format(time.RFC3339Nano), nil
		}
	}
	for _, l := range unzonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() <= 1 {
				return "", errUnknownTime
			}
			return t.Format("2006-01-02T15:04:05.999999999"), nil
		}
	}
	return "", errNotDatetime
}

// readValue converts raw text to the friendly type of a key.
func readValue(typ, raw string) (any, error) {
	switch typ {
	case sdk.TypeBoolean:
		return parseBool(raw)
	case sdk.TypeInteger:
		return parseInt(raw)
	case sdk.TypeNumber:
		return parseNumber(raw)
	case sdk.TypeDateTime:
		return parseDatetime(raw)
	}
	return raw, nil
}

// Write conversion: values come from JSON (float64, bool, string, json.Number) or from Go callers
// (int, int64). Each error names what was expected, for the Rejected reason.

func writeBool(v any, asNumber bool) (string, error) {
	var b bool
	switch x := v.(type) {
	case bool:
		b = x
	case string:
		var err error
		if b, err = parseBool(x); err != nil {
			return "", fmt.Errorf("expects a boolean, got %q", x)
		}
	default:
		n, ok := toInt(v)
		if !ok || (n != 0 && n != 1) {
			return "", fmt.Errorf("expects a boolean, got %v", v)
		}
		b = n == 1
	}
	if asNumber {
		if b {
			return "1", nil
		}
		return "0", nil
	}
	return strconv.FormatBool(b), nil
}

// toInt accepts integral numbers and numeric strings.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint32:
		return int64(x), true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := parseInt(x)
		return n, err == nil
	}
	return 0, false
}

// writeInt encodes an integer checked against the range of the xsd type.
func writeInt(v any, xsd string) (string, error) {
	n, ok := toInt(v)
	if !ok {
		return "", fmt.Errorf("expects an integer, got %v", v)
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch xsd {
	case "unsignedInt":
		lo, hi = 0, math.MaxUint32
	case "int":
		lo, hi = math.MinInt32, math.MaxInt32
	case "unsignedLong":
		lo = 0
	}
	if n < lo || n > hi {
		return "", fmt.Errorf("%d is out of range for %s", n, xsd)
	}
	return strconv.FormatInt(n, 10), nil
}

func writeString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("expects a string, got %v", v)
	}
	return s, nil
}

// validSSID checks the 802.11 limit of 32 octets.
func validSSID(v any) (string, error) {
	s, err := writeString(v)
	if err != nil {
		return "", err
	}
	if len(s) == 0 || len(s) > 32 {
		return "", fmt.Errorf("an SSID has 1 to 32 bytes, got %d", len(s))
	}
	return s, nil
}

// WritePassphrase is the Binding.Write of Wi-Fi passphrase keys, for vendor bindings that feed
// wifi.ssid.{i}.passphrase from another parameter.
func WritePassphrase(v any) (string, error) { return validPassphrase(v) }

// validPassphrase checks a WPA passphrase: 8–63 printable ASCII characters, or a 64-hex-digit PSK.
func validPassphrase(v any) (string, error) {
	s, err := writeString(v)
	if err != nil {
		return "", err
	}
	if len(s) == 64 && isHex(s) {
		return s, nil
	}
	if len(s) < 8 || len(s) > 63 {
		return "", errors.New("a WPA passphrase has 8 to 63 characters (or 64 hex digits)")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "", errors.New("a WPA passphrase is printable ASCII only")
		}
	}
	return s, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// positiveInterval refuses a periodic inform interval of 0, which the spec forbids (range 1:).
func positiveInterval(v any) (string, error) {
	n, ok := toInt(v)
	if !ok || n < 1 || n > math.MaxUint32 {
		return "", fmt.Errorf("expects an interval of at least 1 s, got %v", v)
	}
	return strconv.FormatInt(n, 10), nil
}

// refIndex reads the instance number at the end of a reference such as "Device.WiFi.Radio.2."
// (or the first of a comma-separated list).
func refIndex(raw string) (any, error) {
	s := strings.TrimSpace(raw)
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	n, err := strconv.ParseInt(s[strings.LastIndexByte(s, '.')+1:], 10, 64)
	if err != nil || s == "" {
		return nil, errors.New("not an object reference")
	}
	return n, nil
}

// bandOfChannel derives the band of a TR-098 radio, which has no band parameter.
func bandOfChannel(raw string) (any, error) {
	n, err := parseInt(raw)
	switch {
	case err != nil:
		return nil, err
	case n >= 1 && n <= 14:
		return "2.4GHz", nil
	case n >= 32 && n <= 196:
		return "5GHz", nil
	}
	return nil, errors.New("channel outside the 2.4 and 5 GHz bands")
}
