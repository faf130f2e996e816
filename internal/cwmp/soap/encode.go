package soap

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"
)

// ErrUnencodable is wrapped by Encode errors: the envelope holds something XML cannot carry
// (a control character, invalid UTF-8, an unknown DU operation, a nil message).
var ErrUnencodable = errors.New("soap: cannot encode")

// EncodeOptions adapt the output to quirky CPEs (checklist 35). The zero value is the standard
// encoding.
type EncodeOptions struct {
	// BoolAsNumber writes booleans as 1/0 instead of true/false (TP-Link and others accept only
	// those): boolean Values whose text is true/false and boolean fields such as NextLevel.
	BoolAsNumber bool
	// DateTimeMillis writes every valid dateTime (Values and DateTime fields) in UTC-offset form
	// with exactly three fractional digits; otherwise dateTimes go out as given (Raw) or in whole
	// seconds.
	DateTimeMillis bool
}

// Encode writes env as a complete UTF-8 document with an XML declaration, in env.NS (cwmp-1-0
// when empty), with the prefixes soap-env, soap-enc, xsd, xsi and cwmp. An Envelope with neither
// Body nor header fields encodes to an empty body (the empty POST, checklist 6).
func Encode(env *Envelope) ([]byte, error) { return EncodeWith(env, EncodeOptions{}) }

// EncodeWith is Encode with options for quirky CPEs (checklist 35).
func EncodeWith(env *Envelope, o EncodeOptions) ([]byte, error) {
	return AppendEncodeWith(make([]byte, 0, sizeHint(env)), env, o)
}

// AppendEncode appends the encoding of env to dst, so that a caller can reuse one buffer.
func AppendEncode(dst []byte, env *Envelope) ([]byte, error) {
	return AppendEncodeWith(dst, env, EncodeOptions{})
}

// AppendEncodeWith is AppendEncode with options. On error dst is returned unchanged.
func AppendEncodeWith(dst []byte, env *Envelope, o EncodeOptions) ([]byte, error) {
	if env == nil {
		return dst, fmt.Errorf("%w: nil Envelope", ErrUnencodable)
	}
	hasHeader := env.HasID || env.HoldRequests || env.SessionTimeout > 0 ||
		env.SupportedCWMPVersions != "" || env.UseCWMPVersion != ""
	if env.Body == nil {
		if hasHeader {
			return dst, fmt.Errorf("%w: header fields without a Body", ErrUnencodable)
		}
		return dst, nil
	}
	// The encoder is pooled: handing it to the message codecs through an interface would
	// otherwise move it to the heap on every call.
	w := encoderPool.Get().(*encoder)
	*w = encoder{buf: dst, opts: o}
	defer func() {
		*w = encoder{}
		encoderPool.Put(w)
	}()
	ns := env.NS
	if ns == "" {
		ns = NSCWMP10
	}
	w.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soap-env:Envelope xmlns:soap-env="` + NSSOAPEnv + `" xmlns:soap-enc="` + NSSOAPEnc +
		`" xmlns:xsd="` + NSXSD + `" xmlns:xsi="` + NSXSI + `" xmlns:cwmp="`)
	w.attr(ns)
	w.raw(`">`)
	if hasHeader {
		w.header(env)
	}
	w.raw("<soap-env:Body>")
	w.body(env.Body, ns)
	w.raw("</soap-env:Body></soap-env:Envelope>")
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

// header writes only the header elements that are set: never an empty or stray one
// (checklist 26). mustUnderstand values follow cwmp-1-2.xsd, -1-3 and -1-4.
func (w *encoder) header(env *Envelope) {
	w.raw("<soap-env:Header>")
	if env.HasID {
		w.raw(`<cwmp:ID soap-env:mustUnderstand="1">`)
		w.text(env.ID) // escaped: the CPE's ID is echoed verbatim (checklist 25)
		w.raw("</cwmp:ID>")
	}
	if env.HoldRequests {
		w.raw(`<cwmp:HoldRequests soap-env:mustUnderstand="1">`)
		w.boolText(true)
		w.raw("</cwmp:HoldRequests>")
	}
	if env.SessionTimeout > 0 {
		w.raw(`<cwmp:SessionTimeout soap-env:mustUnderstand="0">`)
		w.buf = strconv.AppendInt(w.buf, int64(env.SessionTimeout), 10)
		w.raw("</cwmp:SessionTimeout>")
	}
	if env.SupportedCWMPVersions != "" {
		w.raw(`<cwmp:SupportedCWMPVersions soap-env:mustUnderstand="0">`)
		w.text(env.SupportedCWMPVersions)
		w.raw("</cwmp:SupportedCWMPVersions>")
	}
	if env.UseCWMPVersion != "" { // checklist 23
		w.raw(`<cwmp:UseCWMPVersion soap-env:mustUnderstand="1">`)
		w.text(env.UseCWMPVersion)
		w.raw("</cwmp:UseCWMPVersion>")
	}
	w.raw("</soap-env:Header>")
}

func (w *encoder) body(m Message, ns string) {
	if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && v.IsNil() {
		w.fail("nil %T in Body", m)
		return
	}
	switch m := m.(type) {
	case *Fault:
		m.encodeSOAP(w)
	case *Unknown:
		m.encodeElement(w, ns)
	case codec:
		name := m.MethodName()
		w.raw("<cwmp:")
		w.raw(name)
		w.raw(">")
		m.encode(w)
		w.raw("</cwmp:")
		w.raw(name)
		w.raw(">")
	default:
		w.fail("message type %T is not a CWMP message of this package", m)
	}
}

// sizeHint guesses the output size so that Encode allocates once for typical messages.
func sizeHint(env *Envelope) int {
	n := 640
	if env == nil {
		return n
	}
	var params []ParameterValue
	switch m := env.Body.(type) {
	case *Inform:
		params = m.ParameterList
		n += 400 + 80*len(m.Events)
	case *GetParameterValuesResponse:
		params = m.ParameterList
	case *SetParameterValues:
		params = m.ParameterList
	case *GetParameterValues:
		for _, s := range m.ParameterNames {
			n += 20 + len(s)
		}
	case *GetParameterNamesResponse:
		for _, p := range m.ParameterList {
			n += 90 + len(p.Name)
		}
	}
	for i := range params {
		n += 110 + len(params[i].Name) + len(params[i].Value.Raw)
	}
	return n
}

// ---------------------------------------------------------------- the encoder

// encoder appends XML to buf. Tags it writes are constants; all data goes through text/attr,
// which escape it (checklist: escape all text) and record the first unencodable character.
type encoder struct {
	buf  []byte
	opts EncodeOptions
	err  error
}

func (w *encoder) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: %s", ErrUnencodable, fmt.Sprintf(format, args...))
	}
}

func (w *encoder) raw(s string) { w.buf = append(w.buf, s...) }

func (w *encoder) text(s string) { w.escape(s, false) }
func (w *encoder) attr(s string) { w.escape(s, true) }

// escape appends s with &, <, > escaped, plus " and whitespace in attributes. CR is written as
// &#xD; in text so that a value survives the parser's line-end normalisation unchanged.
// Characters XML 1.0 cannot carry at all are an error, not silently replaced.
func (w *encoder) escape(s string, inAttr bool) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
				w.fail("text %q holds invalid UTF-8 or a non-character", s)
				return
			}
			i += size
			continue
		}
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		case '"':
			if inAttr {
				esc = "&quot;"
			}
		case '\n':
			if inAttr {
				esc = "&#xA;"
			}
		case '\t':
			if inAttr {
				esc = "&#x9;"
			}
		default:
			if c < 0x20 {
				w.fail("text %q holds control character %#x, which XML cannot carry", s, c)
				return
			}
		}
		if esc != "" {
			w.buf = append(w.buf, s[last:i]...)
			w.buf = append(w.buf, esc...)
			last = i + 1
		}
		i++
	}
	w.buf = append(w.buf, s[last:]...)
}

func (w *encoder) open(tag string) {
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, tag...)
	w.buf = append(w.buf, '>')
}

func (w *encoder) close(tag string) {
	w.buf = append(w.buf, '<', '/')
	w.buf = append(w.buf, tag...)
	w.buf = append(w.buf, '>')
}

// str writes <tag>s</tag>; empty strings still get their element (checklist 36, 41).
func (w *encoder) str(tag, s string) {
	w.open(tag)
	w.text(s)
	w.close(tag)
}

func (w *encoder) int(tag string, v int64) {
	w.open(tag)
	w.buf = strconv.AppendInt(w.buf, v, 10)
	w.close(tag)
}

func (w *encoder) uint(tag string, v uint64) {
	w.open(tag)
	w.buf = strconv.AppendUint(w.buf, v, 10)
	w.close(tag)
}

func (w *encoder) boolText(b bool) {
	switch {
	case w.opts.BoolAsNumber && b:
		w.raw("1")
	case w.opts.BoolAsNumber:
		w.raw("0")
	case b:
		w.raw("true")
	default:
		w.raw("false")
	}
}

func (w *encoder) bool(tag string, b bool) {
	w.open(tag)
	w.boolText(b)
	w.close(tag)
}

func (w *encoder) dateTime(tag string, d DateTime) {
	w.open(tag)
	if d.Raw != "" && !(w.opts.DateTimeMillis && d.Valid) {
		w.text(d.Raw)
	} else {
		w.buf = d.appendWire(w.buf, w.opts.DateTimeMillis)
	}
	w.close(tag)
}

// openArray writes a SOAP-ENC array start tag with its arrayType and the true count
// (checklist 36). The item type is prefix ("cwmp:" or "xsd:") and typeName.
func (w *encoder) openArray(tag, prefix, typeName string, n int) {
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, tag...)
	w.buf = append(w.buf, ` soap-enc:arrayType="`...)
	w.buf = append(w.buf, prefix...)
	w.buf = append(w.buf, typeName...)
	w.buf = append(w.buf, '[')
	w.buf = strconv.AppendInt(w.buf, int64(n), 10)
	w.buf = append(w.buf, "]\">"...)
}

func (w *encoder) strings(tag string, items []string) {
	w.openArray(tag, "xsd:", "string", len(items))
	for _, s := range items {
		w.str("string", s)
	}
	w.close(tag)
}

// value writes <Value xsi:type="xsd:T">raw</Value>, always typed (checklist 36), string when
// the type is unset.
func (w *encoder) value(v Value) {
	typ := v.Type
	if typ == "" {
		typ = TypeString
	}
	w.raw(`<Value xsi:type="xsd:`)
	w.attr(typ)
	w.raw(`">`)
	switch {
	case typ == TypeBoolean && w.opts.BoolAsNumber:
		if b, ok := parseBool(v.Raw); ok {
			w.boolText(b)
		} else {
			w.text(v.Raw)
		}
	case typ == TypeDateTime && w.opts.DateTimeMillis:
		if d := ParseDateTime(v.Raw); d.Valid {
			w.buf = d.appendWire(w.buf, true)
		} else {
			w.text(v.Raw)
		}
	default:
		w.text(v.Raw)
	}
	w.raw("</Value>")
}
