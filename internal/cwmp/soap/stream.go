package soap

import (
	"bytes"
	"slices"
	"strings"
)

// The streaming decoder reads the messages of the hot path — Inform, GetParameterValuesResponse
// and SetParameterValuesResponse — straight from tokens, without building the etree DOM the tree
// decoder needs (the DOM was most of Decode's time and allocations). It reads the tokens etree
// reads (encoding/xml's RawToken, strict, pass-through charset; scan.go returns them without
// allocating, or declines) and fills the Envelope through
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
	sc scanner
	d  *decoder
	// open lists the open elements, innermost last; scope the xmlns declarations in scope in
	// document order, open[i].mark being len(scope) before element i declared its own.
	open  []openElement
	scope []nsDecl
	// the first elements of open and scope: a CWMP envelope needs no more
	openBuf  [8]openElement
	scopeBuf [8]nsDecl
}

type openElement struct {
	name qname
	mark int
}

// nsDecl is one xmlns declaration: prefix "" is the default namespace.
type nsDecl struct {
	prefix []byte
	uri    string
}

// decodeStream decodes body (UTF-8) with the streaming decoder. ok is false when it declined;
// warnings are those already raised about the body (charset), kept first.
func decodeStream(body []byte, warnings []string) (env *Envelope, ok bool, err error) {
	s := &stream{
		sc: scanner{in: body},
		d:  &decoder{env: &Envelope{Warnings: slices.Clone(warnings)}},
	}
	s.open, s.scope = s.openBuf[:0], s.scopeBuf[:0]
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

func decline() { panic(declined{}) }

// next returns the next token, keeping the open elements and namespace scope. The token is
// only valid until the following call.
func (s *stream) next() *token {
	t, ok := s.sc.next()
	if !ok {
		decline() // the end inside the root: the tree decoder words the error
	}
	switch t.kind {
	case tokStart:
		s.push(t)
	case tokEnd:
		n := len(s.open)
		if n == 0 || !t.name.equal(s.open[n-1].name) {
			decline()
		}
		s.scope = s.scope[:s.open[n-1].mark]
		s.open = s.open[:n-1]
	case tokDecl:
		if len(s.open) > 0 {
			decline() // etree's Text stops at it; not worth mirroring
		}
	}
	return t
}

func (n qname) equal(o qname) bool {
	return string(n.space) == string(o.space) && string(n.local) == string(o.local)
}

func hasDuplicateAttr(attrs []rawAttr) bool {
	for i := 1; i < len(attrs); i++ {
		for j := range i {
			if attrs[i].name.equal(attrs[j].name) {
				return true
			}
		}
	}
	return false
}

// lookup resolves prefix in the current scope like lookupPrefix: the innermost element declaring
// it wins (an element declares a prefix once: duplicates were declined).
func (s *stream) lookup(prefix []byte) (string, bool) {
	for i := len(s.scope) - 1; i >= 0; i-- {
		if string(s.scope[i].prefix) == string(prefix) {
			return s.scope[i].uri, true
		}
	}
	return "", false
}

// child returns the name of the next child element of the innermost open element and its
// attributes (valid until the next token is read), false at its end. Character data between
// children is skipped, as ChildElementsSeq does.
func (s *stream) child() (qname, []rawAttr, bool) {
	for {
		switch t := s.next(); t.kind {
		case tokStart:
			return t.name, t.attrs, true
		case tokEnd:
			return qname{}, nil, false
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
// Text (the scanner declines comments and CDATA, so it is one token at most). An element inside
// is declined.
func (s *stream) text() string {
	var out string
	for {
		switch t := s.next(); t.kind {
		case tokText:
			out += string(t.text)
		case tokStart:
			decline()
		case tokEnd:
			return out
		}
	}
}

// document reads the prolog, the Envelope and the epilog.
func (s *stream) document() {
	root := false
	for {
		t, ok := s.sc.next()
		if !ok && root {
			return
		}
		if !ok {
			decline()
		}
		switch t.kind {
		case tokStart:
			if root {
				decline() // more than one root element
			}
			root = true
			s.push(t)
			s.envelope(t.name)
		case tokEnd:
			decline()
		case tokText:
			if !isBlank(t.text) {
				decline()
			}
		}
	}
}

// push opens element t: its declarations come into scope.
func (s *stream) push(t *token) {
	if len(s.open) >= streamDepth || hasDuplicateAttr(t.attrs) {
		decline() // etree merges duplicate attributes; leave that to it
	}
	mark := len(s.scope)
	for _, a := range t.attrs {
		switch {
		case string(a.name.space) == "xmlns":
			s.scope = append(s.scope, nsDecl{a.name.local, internValue(a.value)})
		case len(a.name.space) == 0 && string(a.name.local) == "xmlns":
			s.scope = append(s.scope, nsDecl{nil, internValue(a.value)})
		}
	}
	s.open = append(s.open, openElement{t.name, mark})
}

// envelope reads the Envelope like decoder.envelope, declining what the tree decoder would
// warn about or fail on there.
func (s *stream) envelope(root qname) {
	if ns, _ := s.lookup(root.space); string(root.local) != "Envelope" || !isSOAPEnv(ns) {
		decline()
	}
	body := false
	for c, _, ok := s.child(); ok; c, _, ok = s.child() {
		ns, declared := s.lookup(c.space)
		switch {
		case !isSOAPEnv(ns):
			if len(c.space) > 0 && !declared {
				decline() // the tree decoder takes it as the envelope's, with a warning
			}
			s.skip()
		case body && (string(c.local) == "Header" || string(c.local) == "Body"):
			decline() // the tree decoder reads every Header before the (last) Body
		case string(c.local) == "Header":
			s.header()
		case string(c.local) == "Body":
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
	for c, _, ok := s.child(); ok; c, _, ok = s.child() {
		ns, _ := s.lookup(c.space)
		if !IsCWMPNamespace(ns) {
			s.skip()
			continue
		}
		if s.d.env.NS == "" {
			s.d.env.NS = ns
		}
		switch name := string(c.local); name {
		case "ID", "HoldRequests", "SessionTimeout", "SupportedCWMPVersions", "UseCWMPVersion":
			s.d.headerField(name, s.text())
		default:
			s.skip()
		}
	}
}

// body reads the single method element of the Body; a second one is declined (the tree decoder
// fails the message).
func (s *stream) body() {
	m, _, ok := s.child()
	if !ok {
		decline()
	}
	s.method(m)
	if _, _, ok := s.child(); ok {
		decline()
	}
}

// method decodes the hot-path methods in a CWMP namespace and declines the rest.
func (s *stream) method(e qname) {
	ns, _ := s.lookup(e.space)
	if !IsCWMPNamespace(ns) {
		decline()
	}
	d := s.d
	var n int
	var only []byte
	switch string(e.local) { // d.method set from constants: no copy of the name
	case "Inform":
		d.method = "Inform"
		m := new(Inform)
		n, only = s.inform(m)
		d.env.Body = m
	case "GetParameterValuesResponse":
		d.method = "GetParameterValuesResponse"
		m := new(GetParameterValuesResponse)
		n, only = s.fields("ParameterList", func() { m.ParameterList = s.parameterValues(0) })
		d.env.Body = m
	case "SetParameterValuesResponse":
		d.method = "SetParameterValuesResponse"
		m := new(SetParameterValuesResponse)
		n, only = s.fields("Status", func() { m.Status = int(d.intText("Status", strings.TrimSpace(s.text()), 32)) })
		d.env.Body = m
	default:
		decline()
	}
	d.env.NS = ns
	if n == 1 && bytes.HasSuffix(only, []byte("Response")) {
		decline() // maybe a wrapped response (Envelope.AsResponse)
	}
}

// fields reads the children of the open element: read reads each one named tag, the others are
// skipped. It returns the number of children and, when there is one, its name.
func (s *stream) fields(tag string, read func()) (n int, only []byte) {
	for c, _, ok := s.child(); ok; c, _, ok = s.child() {
		n, only = n+1, c.local
		if string(c.local) == tag {
			read()
		} else {
			s.skip()
		}
	}
	return n, only
}

// inform is Inform.decode on tokens; it returns the number of children and, when there is one,
// its name.
func (s *stream) inform(m *Inform) (n int, only []byte) {
	d := s.d
	var haveDevice, haveEvent, haveMax, haveTime, haveRetry, haveParams bool
	for c, attrs, ok := s.child(); ok; c, attrs, ok = s.child() {
		n, only = n+1, c.local
		switch string(c.local) {
		case "DeviceId":
			haveDevice = true
			s.deviceID(&m.DeviceID)
		case "Event":
			haveEvent = true
			for ok := true; ok; {
				if _, _, ok = s.child(); ok {
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
			m.ParameterList = s.parameterValues(arrayLenHint(attrs))
		default:
			s.skip()
		}
	}
	m.check(d, haveDevice, haveEvent, haveMax, haveTime, haveRetry, haveParams)
	return n, only
}

func (s *stream) deviceID(id *DeviceID) {
	for c, _, ok := s.child(); ok; c, _, ok = s.child() {
		switch string(c.local) {
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
	for c, _, ok := s.child(); ok; c, _, ok = s.child() {
		switch string(c.local) {
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
// and typed, with its warnings, at the struct's end. hint is the room to make at once.
func (s *stream) parameterValues(hint int) []ParameterValue {
	var out []ParameterValue
	if hint > 0 {
		out = make([]ParameterValue, 0, hint)
	}
	for _, _, ok := s.child(); ok; _, _, ok = s.child() {
		var p ParameterValue
		var raw string
		var t xsiRef
		haveValue := false
		for c, attrs, ok := s.child(); ok; c, attrs, ok = s.child() {
			switch string(c.local) {
			case "Name":
				p.Name = strings.TrimSpace(s.text())
			case "Value":
				haveValue = true
				t = s.xsiType(attrs)
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
	if len(out) == 0 {
		return nil // as the tree decoder, whatever the hint made room for
	}
	return out
}

// maxArrayHint bounds the room an arrayType claim makes for an array: the claim is a hint, never
// trusted (checklist 33), and a CPE claiming millions gets no more than this up front.
const maxArrayHint = 64

// arrayLenHint is the count an array's arrayType attribute claims ("cwmp:ParameterValueStruct[8]"),
// at most maxArrayHint; 0 when it claims none.
func arrayLenHint(attrs []rawAttr) int {
	for _, a := range attrs {
		if string(a.name.local) != "arrayType" {
			continue
		}
		v := a.value
		open := bytes.LastIndexByte(v, '[')
		if open < 0 || len(v) < open+3 || v[len(v)-1] != ']' {
			return 0
		}
		n := 0
		for _, c := range v[open+1 : len(v)-1] {
			if c < '0' || c > '9' {
				return 0
			}
			if n = n*10 + int(c-'0'); n >= maxArrayHint {
				return maxArrayHint
			}
		}
		return n
	}
	return 0
}

// xsiType is xsiType and resolveQName of the tree decoder, in the scope of the open element e.
func (s *stream) xsiType(attrs []rawAttr) xsiRef {
	var t xsiRef
	for _, a := range attrs {
		if string(a.name.local) != "type" || len(a.name.space) == 0 || string(a.name.space) == "xmlns" {
			continue
		}
		ns, ok := s.lookup(a.name.space)
		if isXSI(ns) {
			t.qname, t.found = internValue(a.value), true
			break
		}
		if !ok && string(a.name.space) == "xsi" {
			t.qname, t.found, t.undeclared = internValue(a.value), true, true
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
	t.ns, t.declared = s.lookup([]byte(prefix))
	t.local = local
	return t
}

// internValue is string(v) without an allocation for the attribute values every envelope
// repeats: the namespaces CPEs declare and the common xsi:types (each Value of an Inform had
// its own copy of "xsd:string"). They are constants: nothing decoded keeps the body alive.
func internValue(v []byte) string {
	switch string(v) {
	case NSSOAPEnv:
		return NSSOAPEnv
	case NSSOAPEnc:
		return NSSOAPEnc
	case NSXSD:
		return NSXSD
	case NSXSI:
		return NSXSI
	case NSCWMP10:
		return NSCWMP10
	case NSCWMP11:
		return NSCWMP11
	case NSCWMP12:
		return NSCWMP12
	case NSCWMP13:
		return NSCWMP13
	case NSCWMP14:
		return NSCWMP14
	case "xsd:string":
		return "xsd:string"
	case "xsd:unsignedInt":
		return "xsd:unsignedInt"
	case "xsd:int":
		return "xsd:int"
	case "xsd:boolean":
		return "xsd:boolean"
	case "xsd:dateTime":
		return "xsd:dateTime"
	case "xsd:unsignedLong":
		return "xsd:unsignedLong"
	case "xsd:long":
		return "xsd:long"
	case "xsd:base64":
		return "xsd:base64"
	case "xsd:hexBinary":
		return "xsd:hexBinary"
	}
	return string(v)
}
