package soap

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strings"
)

// The streaming decoder reads the messages of the hot path — Inform, GetParameterValuesResponse
// and SetParameterValuesResponse — straight from encoding/xml tokens, without building the etree
// DOM the tree decoder needs (the DOM was most of Decode's time and allocations). It reads the
// same tokens etree reads (RawToken, strict, pass-through charset) and fills the Envelope through
// the same decoder helpers, so its result is the tree decoder's; whatever it does not handle
// exactly as the tree decoder does — another method, a SOAP Fault, an undeclared prefix, a
// Header after the Body, a second Body or method element, markup inside a text element,
// duplicate attributes, directives, malformed XML — it declines, and the tree decoder reads the
// message from scratch. TestStreamMatchesTree and FuzzStreamMatchesTree hold the two together.

// streamDepth is where the streaming decoder gives up (the tree decoder allows maxDepth): CWMP
// needs 7 levels.
const streamDepth = 32

// declined is panicked inside the streaming decoder and recovered by decodeStream.
type declined struct{}

type stream struct {
	dec *xml.Decoder
	d   *decoder
	// open lists the open elements, innermost last; scope the xmlns declarations in scope in
	// document order, open[i].mark being len(scope) before element i declared its own.
	open  []openElement
	scope []nsDecl
}

type openElement struct {
	name xml.Name
	mark int
}

// nsDecl is one xmlns declaration: prefix "" is the default namespace.
type nsDecl struct{ prefix, uri string }

// decodeStream decodes body (UTF-8) with the streaming decoder. ok is false when it declined;
// warnings are those already raised about the body (charset), kept first.
func decodeStream(body []byte, warnings []string) (env *Envelope, ok bool, err error) {
	s := &stream{
		dec:   xml.NewDecoder(bytes.NewReader(body)),
		d:     &decoder{env: &Envelope{Warnings: slices.Clone(warnings)}},
		open:  make([]openElement, 0, 8),
		scope: make([]nsDecl, 0, 8),
	}
	s.dec.CharsetReader = passThrough // as etree: toUTF8 has transcoded already
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(declined); !is {
				panic(r)
			}
			env, ok, err = nil, false, nil
		}
	}()
	s.document()
	s.d.finish()
	if s.d.err != nil {
		return s.d.env, true, s.d.err
	}
	return s.d.env, true, nil
}

func passThrough(_ string, r io.Reader) (io.Reader, error) { return r, nil }

func decline() { panic(declined{}) }

// next returns the next token, keeping the open elements and namespace scope. CharData is only
// valid until the following call.
func (s *stream) next() xml.Token {
	t, err := s.dec.RawToken()
	if err != nil {
		decline() // io.EOF inside the root too: the tree decoder words the error
	}
	switch t := t.(type) {
	case xml.StartElement:
		s.push(t)
	case xml.EndElement:
		n := len(s.open)
		if n == 0 || s.open[n-1].name != t.Name {
			decline()
		}
		s.scope = s.scope[:s.open[n-1].mark]
		s.open = s.open[:n-1]
	case xml.ProcInst, xml.Directive:
		if len(s.open) > 0 {
			decline() // etree's Text stops at them; not worth mirroring
		}
	}
	return t
}

func hasDuplicateAttr(attrs []xml.Attr) bool {
	for i := 1; i < len(attrs); i++ {
		for j := range i {
			if attrs[i].Name == attrs[j].Name {
				return true
			}
		}
	}
	return false
}

// lookup resolves prefix in the current scope like lookupPrefix: the innermost element declaring
// it wins (an element declares a prefix once: duplicates were declined).
func (s *stream) lookup(prefix string) (string, bool) {
	for i := len(s.scope) - 1; i >= 0; i-- {
		if s.scope[i].prefix == prefix {
			return s.scope[i].uri, true
		}
	}
	return "", false
}

// child returns the next child element of the innermost open element, false at its end.
// Character data and comments between children are skipped, as ChildElementsSeq does.
func (s *stream) child() (xml.StartElement, bool) {
	for {
		switch t := s.next().(type) {
		case xml.StartElement:
			return t, true
		case xml.EndElement:
			return xml.StartElement{}, false
		}
	}
}

// skip reads up to the end of the innermost open element.
func (s *stream) skip() {
	for depth := len(s.open); len(s.open) >= depth; {
		s.next()
	}
}

// text reads the innermost open element to its end and returns its character data, as etree's
// Text: comments skipped, CDATA and references included. An element inside is declined.
func (s *stream) text() string {
	var out string
	var buf []byte
	for {
		switch t := s.next().(type) {
		case xml.CharData:
			switch {
			case buf != nil:
				buf = append(buf, t...)
			case out == "":
				out = string(t)
			default:
				buf = append([]byte(out), t...)
			}
		case xml.StartElement:
			decline()
		case xml.EndElement:
			if buf != nil {
				return string(buf)
			}
			return out
		}
	}
}

// document reads the prolog, the Envelope and the epilog.
func (s *stream) document() {
	root := false
	for {
		t, err := s.dec.RawToken()
		if err == io.EOF && root {
			return
		}
		if err != nil {
			decline()
		}
		switch t := t.(type) {
		case xml.StartElement:
			if root {
				decline() // more than one root element
			}
			root = true
			s.push(t)
			s.envelope(t)
		case xml.EndElement:
			decline()
		case xml.CharData:
			if !isBlank(t) {
				decline()
			}
		case xml.Directive:
			decline()
		}
	}
}

// push opens element t: its declarations come into scope.
func (s *stream) push(t xml.StartElement) {
	if len(s.open) >= streamDepth || hasDuplicateAttr(t.Attr) {
		decline() // etree merges duplicate attributes; leave that to it
	}
	mark := len(s.scope)
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "xmlns":
			s.scope = append(s.scope, nsDecl{a.Name.Local, a.Value})
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			s.scope = append(s.scope, nsDecl{"", a.Value})
		}
	}
	s.open = append(s.open, openElement{t.Name, mark})
}

// envelope reads the Envelope like decoder.envelope, declining what the tree decoder would
// warn about or fail on there.
func (s *stream) envelope(root xml.StartElement) {
	if ns, _ := s.lookup(root.Name.Space); root.Name.Local != "Envelope" || !isSOAPEnv(ns) {
		decline()
	}
	body := false
	for c, ok := s.child(); ok; c, ok = s.child() {
		ns, declared := s.lookup(c.Name.Space)
		switch {
		case !isSOAPEnv(ns):
			if c.Name.Space != "" && !declared {
				decline() // the tree decoder takes it as the envelope's, with a warning
			}
			s.skip()
		case body && (c.Name.Local == "Header" || c.Name.Local == "Body"):
			decline() // the tree decoder reads every Header before the (last) Body
		case c.Name.Local == "Header":
			s.header()
		case c.Name.Local == "Body":
			body = true
			s.body()
		default:
			s.skip()
		}
	}
	if !body || s.d.env.NS == "" {
		decline()
	}
}

func (s *stream) header() {
	for c, ok := s.child(); ok; c, ok = s.child() {
		ns, _ := s.lookup(c.Name.Space)
		if !IsCWMPNamespace(ns) {
			s.skip()
			continue
		}
		if s.d.env.NS == "" {
			s.d.env.NS = ns
		}
		switch c.Name.Local {
		case "ID", "HoldRequests", "SessionTimeout", "SupportedCWMPVersions", "UseCWMPVersion":
			s.d.headerField(c.Name.Local, s.text())
		default:
			s.skip()
		}
	}
}

// body reads the single method element of the Body; a second one is declined (the tree decoder
// fails the message).
func (s *stream) body() {
	m, ok := s.child()
	if !ok {
		decline()
	}
	s.method(m)
	if _, ok := s.child(); ok {
		decline()
	}
}

// method decodes the hot-path methods in a CWMP namespace and declines the rest.
func (s *stream) method(e xml.StartElement) {
	ns, _ := s.lookup(e.Name.Space)
	if !IsCWMPNamespace(ns) {
		decline()
	}
	d := s.d
	d.method = e.Name.Local
	var n int
	var only string
	switch e.Name.Local {
	case "Inform":
		m := new(Inform)
		n, only = s.inform(m)
		d.env.Body = m
	case "GetParameterValuesResponse":
		m := new(GetParameterValuesResponse)
		n, only = s.fields("ParameterList", func() { m.ParameterList = s.parameterValues() })
		d.env.Body = m
	case "SetParameterValuesResponse":
		m := new(SetParameterValuesResponse)
		n, only = s.fields("Status", func() { m.Status = int(d.intText("Status", strings.TrimSpace(s.text()), 32)) })
		d.env.Body = m
	default:
		decline()
	}
	d.env.NS = ns
	if n == 1 && strings.HasSuffix(only, "Response") {
		decline() // maybe a wrapped response (Envelope.AsResponse)
	}
}

// fields reads the children of the open element: read reads each one named tag, the others are
// skipped. It returns the number of children and, when there is one, its name.
func (s *stream) fields(tag string, read func()) (n int, only string) {
	for c, ok := s.child(); ok; c, ok = s.child() {
		n, only = n+1, c.Name.Local
		if c.Name.Local == tag {
			read()
		} else {
			s.skip()
		}
	}
	return n, only
}

// inform is Inform.decode on tokens; it returns the number of children and, when there is one,
// its name.
func (s *stream) inform(m *Inform) (n int, only string) {
	d := s.d
	var haveDevice, haveEvent, haveMax, haveTime, haveRetry, haveParams bool
	for c, ok := s.child(); ok; c, ok = s.child() {
		n, only = n+1, c.Name.Local
		switch c.Name.Local {
		case "DeviceId":
			haveDevice = true
			s.deviceID(&m.DeviceID)
		case "Event":
			haveEvent = true
			for ok := true; ok; {
				if _, ok = s.child(); ok {
					m.Events = append(m.Events, s.event())
				}
			}
		case "MaxEnvelopes":
			haveMax = true
			m.MaxEnvelopes = d.tolerantCountText("MaxEnvelopes", strings.TrimSpace(s.text()), 1)
		case "CurrentTime":
			haveTime = true
			m.CurrentTime = ParseDateTime(s.text())
			if !m.CurrentTime.Valid {
				d.warn("Inform: CurrentTime %q is not a dateTime: kept as text", m.CurrentTime.Raw)
			}
		case "RetryCount":
			haveRetry = true
			m.RetryCount = d.tolerantCountText("RetryCount", strings.TrimSpace(s.text()), 0)
		case "ParameterList":
			haveParams = true
			m.ParameterList = s.parameterValues()
		default:
			s.skip()
		}
	}
	m.check(d, haveDevice, haveEvent, haveMax, haveTime, haveRetry, haveParams)
	return n, only
}

func (s *stream) deviceID(id *DeviceID) {
	for c, ok := s.child(); ok; c, ok = s.child() {
		switch c.Name.Local {
		case "Manufacturer":
			id.Manufacturer = strings.TrimSpace(s.text())
		case "OUI":
			id.OUI = strings.TrimSpace(s.text())
		case "ProductClass":
			id.ProductClass = strings.TrimSpace(s.text())
		case "SerialNumber":
			id.SerialNumber = strings.TrimSpace(s.text())
		default:
			s.skip()
		}
	}
}

func (s *stream) event() Event {
	var ev Event
	for c, ok := s.child(); ok; c, ok = s.child() {
		switch c.Name.Local {
		case "EventCode":
			ev.Code = strings.TrimSpace(s.text())
		case "CommandKey":
			ev.CommandKey = s.text()
		default:
			s.skip()
		}
	}
	return ev
}

// parameterValues is decoder.parameterValues on tokens. The tree decoder types the last Value of
// a struct once its Name is known, so the Value's type is resolved where it stands (its scope)
// and typed, with its warnings, at the struct's end.
func (s *stream) parameterValues() []ParameterValue {
	var out []ParameterValue
	for _, ok := s.child(); ok; _, ok = s.child() {
		var p ParameterValue
		var raw string
		var t xsiRef
		haveValue := false
		for c, ok := s.child(); ok; c, ok = s.child() {
			switch c.Name.Local {
			case "Name":
				p.Name = strings.TrimSpace(s.text())
			case "Value":
				haveValue = true
				t = s.xsiType(c)
				raw = s.text()
			default:
				s.skip()
			}
		}
		if !haveValue {
			s.d.warn("parameter %q has no Value: empty string assumed", p.Name)
			p.Value.Type = TypeString
		} else {
			p.Value = s.d.typedValue(raw, t, p.Name)
		}
		out = append(out, p)
	}
	return out
}

// xsiType is xsiType and resolveQName of the tree decoder, in the scope of the open element e.
func (s *stream) xsiType(e xml.StartElement) xsiRef {
	var t xsiRef
	for _, a := range e.Attr {
		if a.Name.Local != "type" || a.Name.Space == "" || a.Name.Space == "xmlns" {
			continue
		}
		ns, ok := s.lookup(a.Name.Space)
		if isXSI(ns) {
			t.qname, t.found = a.Value, true
			break
		}
		if !ok && a.Name.Space == "xsi" {
			t.qname, t.found, t.undeclared = a.Value, true, true
			break
		}
	}
	if !t.found {
		return t
	}
	prefix, local, clark := splitQName(strings.TrimSpace(t.qname))
	if clark || prefix == "" {
		t.ns, t.local, t.declared = prefix, local, true
		return t
	}
	t.ns, t.declared = s.lookup(prefix)
	t.local = local
	return t
}
