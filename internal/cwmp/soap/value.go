package soap

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrBadValue is wrapped by every Value accessor error: the raw text does not parse as the
// requested type (checklist 34). The Value itself keeps the text.
var ErrBadValue = errors.New("soap: value does not parse")

// xsd type local names used on the wire (checklist 34).
const (
	TypeString       = "string"
	TypeInt          = "int"
	TypeUnsignedInt  = "unsignedInt"
	TypeLong         = "long"
	TypeUnsignedLong = "unsignedLong"
	TypeBoolean      = "boolean"
	TypeDateTime     = "dateTime"
	TypeBase64       = "base64"
	TypeHexBinary    = "hexBinary"
)

func badValue(raw, typ string) error {
	return fmt.Errorf("%w: %q is not a valid %s", ErrBadValue, raw, typ)
}

// parseBool accepts the xs:boolean lexical space true/false/1/0 (checklist 35), case-insensitive
// because some CPEs send "True".
func parseBool(s string) (bool, bool) {
	switch {
	case s == "1" || strings.EqualFold(s, "true"):
		return true, true
	case s == "0" || strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// Bool parses Raw as an xs:boolean: true, false, 1 or 0 (checklist 35).
func (v Value) Bool() (bool, error) {
	b, ok := parseBool(strings.TrimSpace(v.Raw))
	if !ok {
		return false, badValue(v.Raw, TypeBoolean)
	}
	return b, nil
}

// Int parses Raw as a signed integer (int or long).
func (v Value) Int() (int64, error) {
	i, err := strconv.ParseInt(strings.TrimSpace(v.Raw), 10, 64)
	if err != nil {
		return 0, badValue(v.Raw, TypeLong)
	}
	return i, nil
}

// Uint parses Raw as an unsigned integer (unsignedInt or unsignedLong).
func (v Value) Uint() (uint64, error) {
	u, err := strconv.ParseUint(strings.TrimSpace(v.Raw), 10, 64)
	if err != nil {
		return 0, badValue(v.Raw, TypeUnsignedLong)
	}
	return u, nil
}

// Time parses Raw as an xs:dateTime with the tolerance of ParseDateTime (checklist 32).
func (v Value) Time() (time.Time, error) {
	d := ParseDateTime(v.Raw)
	if !d.Valid {
		return time.Time{}, badValue(v.Raw, TypeDateTime)
	}
	return d.Time, nil
}

// Bytes decodes Raw as base64 or hexBinary according to Type.
func (v Value) Bytes() ([]byte, error) {
	raw := strings.TrimSpace(v.Raw)
	switch v.Type {
	case TypeHexBinary:
		b, err := hex.DecodeString(raw)
		if err != nil {
			return nil, badValue(v.Raw, TypeHexBinary)
		}
		return b, nil
	default:
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, badValue(v.Raw, TypeBase64)
		}
		return b, nil
	}
}

// StringValue is an xsd:string.
func StringValue(s string) Value { return Value{Type: TypeString, Raw: s} }

// BoolValue is an xsd:boolean written true/false; EncodeOptions.BoolAsNumber turns it into 1/0
// for CPEs that accept only those (checklist 35).
func BoolValue(b bool) Value {
	if b {
		return Value{Type: TypeBoolean, Raw: "true"}
	}
	return Value{Type: TypeBoolean, Raw: "false"}
}

// IntValue is an xsd:int, or an xsd:long when i does not fit 32 bits.
func IntValue(i int64) Value {
	t := TypeInt
	if i < math.MinInt32 || i > math.MaxInt32 {
		t = TypeLong
	}
	return Value{Type: t, Raw: strconv.FormatInt(i, 10)}
}

// LongValue is an xsd:long.
func LongValue(i int64) Value { return Value{Type: TypeLong, Raw: strconv.FormatInt(i, 10)} }

// UintValue is an xsd:unsignedInt, or an xsd:unsignedLong when u does not fit 32 bits.
func UintValue(u uint64) Value {
	t := TypeUnsignedInt
	if u > math.MaxUint32 {
		t = TypeUnsignedLong
	}
	return Value{Type: t, Raw: strconv.FormatUint(u, 10)}
}

// UnsignedLongValue is an xsd:unsignedLong.
func UnsignedLongValue(u uint64) Value {
	return Value{Type: TypeUnsignedLong, Raw: strconv.FormatUint(u, 10)}
}

// DateTimeValue is an xsd:dateTime in whole seconds (EncodeOptions.DateTimeMillis adds
// milliseconds on the wire).
func DateTimeValue(t time.Time) Value {
	return Value{Type: TypeDateTime, Raw: t.Format(time.RFC3339)}
}

// Base64Value is an xsd:base64.
func Base64Value(b []byte) Value {
	return Value{Type: TypeBase64, Raw: base64.StdEncoding.EncodeToString(b)}
}

// HexBinaryValue is an xsd:hexBinary.
func HexBinaryValue(b []byte) Value { return Value{Type: TypeHexBinary, Raw: hex.EncodeToString(b)} }

// dateTimeLayouts are tried in order (checklist 32): with zone (Z or offset), with an offset
// lacking its colon, and without zone (taken as UTC). Fractions of any length are accepted by
// time.Parse after the seconds even when the layout has none.
var dateTimeLayouts = [...]string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
}

// ParseDateTime parses an xs:dateTime leniently and never fails: text that does not parse is kept
// in Raw with Valid false (checklist 32, fixture 06). Raw is the trimmed input.
func ParseDateTime(raw string) DateTime {
	raw = strings.TrimSpace(raw)
	d := DateTime{Raw: raw}
	for _, layout := range dateTimeLayouts {
		t, err := time.Parse(layout, raw)
		if err != nil {
			continue
		}
		// time.Parse picks time.Local when the offset matches it; pin the zone to what was
		// sent so results do not depend on the host's TZ.
		if _, off := t.Zone(); off == 0 && (layout == "2006-01-02T15:04:05" || strings.HasSuffix(raw, "Z")) {
			t = t.UTC()
		} else {
			t = t.In(time.FixedZone("", off))
		}
		d.Time, d.Valid = t, true
		return d
	}
	return d
}

// NewDateTime wraps t; on the wire it is written RFC 3339 in whole seconds, or with milliseconds
// under EncodeOptions.DateTimeMillis.
func NewDateTime(t time.Time) DateTime { return DateTime{Time: t, Valid: true} }

// Unknown reports the TR-069 "unknown time" 0001-01-01T00:00:00Z (TR-069 §A.2.1), which is also
// what an unset DateTime encodes to.
func (d DateTime) Unknown() bool {
	return (d.Valid || d.Raw == "") && d.Time.IsZero()
}

// String is Raw when set (as received), else Time in RFC 3339.
func (d DateTime) String() string {
	if d.Raw != "" {
		return d.Raw
	}
	return d.Time.UTC().Format(time.RFC3339)
}

const rfc3339Millis = "2006-01-02T15:04:05.000Z07:00"

// appendWire appends the wire form of d: Raw verbatim, unless millis asks for normalised
// milliseconds and the time is known to be valid.
func (d DateTime) appendWire(dst []byte, millis bool) []byte {
	switch {
	case millis && (d.Valid || d.Raw == ""):
		t := d.Time
		if d.Raw == "" {
			t = t.UTC()
		}
		return t.AppendFormat(dst, rfc3339Millis)
	case d.Raw != "":
		return append(dst, d.Raw...)
	default:
		return d.Time.UTC().AppendFormat(dst, time.RFC3339)
	}
}
