package api

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// AppendJSON appends m as encoding/json marshals it, byte for byte, without reflection: every
// Inform is published on B/D/inform, and json.Marshal of it was the largest JSON cost of a
// periodic session (docs/performance.md). TestInformAppendJSONIsMarshal holds the two together.
// Values AppendJSON does not know (a parameter value of another type, a time outside RFC 3339)
// go through json.Marshal, errors included.
func (m Inform) AppendJSON(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, m.sizeHint())
	dst = append(dst, `{"device":{"id":`...)
	dst = appendJSONString(dst, m.Device.ID)
	dst = append(dst, `,"manufacturer":`...)
	dst = appendJSONString(dst, m.Device.Manufacturer)
	dst = append(dst, `,"oui":`...)
	dst = appendJSONString(dst, m.Device.OUI)
	dst = append(dst, `,"product_class":`...)
	dst = appendJSONString(dst, m.Device.ProductClass)
	dst = append(dst, `,"serial":`...)
	dst = appendJSONString(dst, m.Device.SerialNumber)
	dst = append(dst, `},"events":`...)
	if m.Events == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, e := range m.Events {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"code":`...)
			dst = appendJSONString(dst, e.Code)
			dst = append(dst, `,"name":`...)
			dst = appendJSONString(dst, e.Name)
			dst = append(dst, `,"command_key":`...)
			dst = appendJSONString(dst, e.CommandKey)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"retry_count":`...)
	dst = strconv.AppendInt(dst, int64(m.RetryCount), 10)
	dst = append(dst, `,"max_envelopes":`...)
	dst = strconv.AppendInt(dst, int64(m.MaxEnvelopes), 10)
	dst = append(dst, `,"current_time":{"raw":`...)
	dst = appendJSONString(dst, m.CurrentTime.Raw)
	ok := true
	if m.CurrentTime.Time != nil {
		dst = append(dst, `,"time":`...)
		dst, ok = appendJSONTime(dst, *m.CurrentTime.Time)
	}
	dst = append(dst, `},"received":`...)
	if ok {
		dst, ok = appendJSONTime(dst, m.Received)
	}
	dst = append(dst, `,"parameters":`...)
	if ok {
		dst, ok = appendJSONParams(dst, m.Parameters)
	}
	if !ok {
		b, err := json.Marshal(m)
		return append(dst[:start], b...), err
	}
	return append(dst, '}'), nil
}

// AppendInformJSON appends the B/D/inform payload of an Inform received at received, the bytes
// of json.Marshal(InformMessage(deviceID, inf, received)) without building its parameter map.
func AppendInformJSON(dst []byte, deviceID string, inf *soap.Inform, received time.Time) ([]byte, error) {
	m := InformMessage(deviceID, &soap.Inform{DeviceID: inf.DeviceID, Events: inf.Events,
		MaxEnvelopes: inf.MaxEnvelopes, CurrentTime: inf.CurrentTime, RetryCount: inf.RetryCount}, received)
	hint := m.sizeHint()
	for _, p := range inf.ParameterList {
		hint += 32 + len(p.Name) + len(p.Value.Type) + len(p.Value.Raw)
	}
	dst, err := m.AppendJSON(slices.Grow(dst, hint))
	if err != nil {
		return dst, err
	}
	// m.Parameters was empty: "{}" then the closing brace of the message.
	dst = dst[:len(dst)-len("{}}")]
	order := make([]int, len(inf.ParameterList))
	for i := range order {
		order[i] = i
	}
	list := inf.ParameterList
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(list[a].Name, list[b].Name) })
	dst = append(dst, '{')
	first := true
	for k, i := range order {
		if k+1 < len(order) && list[order[k+1]].Name == list[i].Name {
			continue // a repeated name keeps its last value, as in jsonParams
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, list[i].Name)
		dst = append(dst, `:{"value":`...)
		dst = appendJSONValue(dst, list[i].Value)
		dst = append(dst, '}')
	}
	return append(dst, "}}"...), nil
}

// appendJSONValue appends jsonValue(v)'s value and type members, as json.Marshal writes them.
func appendJSONValue(dst []byte, v soap.Value) []byte {
	if v.Type == "" {
		v.Type = soap.TypeString // checklist 34: a missing type is a string
	}
	written := false
	switch v.Type {
	case soap.TypeInt, soap.TypeLong:
		if i, err := v.Int(); err == nil {
			dst, written = strconv.AppendInt(dst, i, 10), true
		}
	case soap.TypeUnsignedInt, soap.TypeUnsignedLong:
		if u, err := v.Uint(); err == nil {
			dst, written = strconv.AppendUint(dst, u, 10), true
		}
	case soap.TypeBoolean:
		if b, err := v.Bool(); err == nil {
			dst, written = strconv.AppendBool(dst, b), true
		}
	}
	if !written {
		dst = appendJSONString(dst, v.Raw)
	}
	dst = append(dst, `,"type":`...)
	return appendJSONString(dst, v.Type)
}

// sizeHint is about the length of m's JSON (escapes aside), so that it is written in one buffer.
func (m Inform) sizeHint() int {
	n := 320 + len(m.Device.ID) + len(m.Device.Manufacturer) + len(m.Device.OUI) + len(m.Device.ProductClass) +
		len(m.Device.SerialNumber) + len(m.CurrentTime.Raw)
	for _, e := range m.Events {
		n += 48 + len(e.Code) + len(e.Name) + len(e.CommandKey)
	}
	for name, p := range m.Parameters {
		n += 32 + len(name) + len(p.Type)
		switch v := p.Value.(type) {
		case string:
			n += len(v)
		case json.Number:
			n += len(v)
		default:
			n += 8
		}
	}
	return n
}

// appendJSONParams appends the map as encoding/json does (keys sorted); false for a value of a
// type it does not know.
func appendJSONParams(dst []byte, params map[string]ParamValue) ([]byte, bool) {
	if params == nil {
		return append(dst, "null"...), true
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	dst = append(dst, '{')
	for i, n := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		p := params[n]
		dst = appendJSONString(dst, n)
		dst = append(dst, `:{"value":`...)
		switch v := p.Value.(type) {
		case string:
			dst = appendJSONString(dst, v)
		case bool:
			dst = strconv.AppendBool(dst, v)
		case json.Number:
			// jsonValue makes them with strconv: valid numbers, written as they are.
			if v == "" || !isPlainInteger(string(v)) {
				return dst, false
			}
			dst = append(dst, v...)
		default:
			return dst, false
		}
		dst = append(dst, `,"type":`...)
		dst = appendJSONString(dst, p.Type)
		dst = append(dst, '}')
	}
	return append(dst, '}'), true
}

func isPlainInteger(s string) bool {
	if s[0] == '-' {
		s = s[1:]
	}
	if s == "" || s[0] == '0' && len(s) > 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendJSONTime is time.Time's MarshalJSON; false where that fails.
func appendJSONTime(dst []byte, t time.Time) ([]byte, bool) {
	dst = append(dst, '"')
	out, err := t.AppendText(dst)
	if err != nil {
		return dst, false
	}
	return append(out, '"'), true
}

// appendJSONString is encoding/json's string encoding with HTML escaping (json.Marshal's).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSON appends e as encoding/json marshals it, byte for byte: an Inform's events are
// published with it on B/D/event, and json.Marshal of them cost as much as the Inform's own
// payload (docs/performance.md). Data, when set, goes through json.Marshal; so does e entirely
// when its time has no RFC 3339 form (the error is json.Marshal's). TestDeviceEventAppendJSONIsMarshal
// holds the two together.
func (e DeviceEvent) AppendJSON(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, 64+len(e.Event)+len(e.Device)+len(e.Code)+len(e.CommandKey))
	dst = append(dst, `{"event":`...)
	dst = appendJSONString(dst, string(e.Event))
	dst = append(dst, `,"device":`...)
	dst = appendJSONString(dst, e.Device)
	if e.Code != "" {
		dst = append(dst, `,"code":`...)
		dst = appendJSONString(dst, e.Code)
	}
	if e.CommandKey != "" {
		dst = append(dst, `,"command_key":`...)
		dst = appendJSONString(dst, e.CommandKey)
	}
	ok := true
	if e.Data != nil {
		b, err := json.Marshal(e.Data)
		if err != nil {
			ok = false
		} else {
			dst = append(dst, `,"data":`...)
			dst = append(dst, b...)
		}
	}
	if ok {
		dst = append(dst, `,"time":`...)
		dst, ok = appendJSONTime(dst, e.Time)
	}
	if !ok {
		b, err := json.Marshal(e)
		return append(dst[:start], b...), err
	}
	return append(dst, '}'), nil
}
