package soap

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// DecodeError is a message the ACS cannot use. Fault is the ACS fault code to answer with
// (FaultInvalidArguments for anything malformed, checklist 6, 28, 44); Msg says what was wrong in
// words an operator can act on.
type DecodeError struct {
	Fault int
	Msg   string
}

func (e *DecodeError) Error() string { return fmt.Sprintf("soap: %s (fault %d)", e.Msg, e.Fault) }

// ACSFault is the SOAP fault to send back for e (checklist 44).
func (e *DecodeError) ACSFault() *Fault { return NewACSFault(e.Fault, e.Msg) }

const (
	// maxDepth bounds nesting: CWMP needs 7 levels; anything far deeper is an attack or garbage.
	maxDepth = 64
	// maxWarnings keeps a sloppy CPE (say 300 untyped values) from flooding the log.
	maxWarnings = 32
)

// Decode parses one HTTP request or response body into an Envelope.
//
//   - contentType is the HTTP Content-Type value, possibly "" or odd (checklist 3); the charset
//     comes from it, else from the XML declaration, else UTF-8 (checklist 4).
//   - An empty or whitespace-only body is the empty POST: (&Envelope{}, nil) with Body nil
//     (checklist 6).
//   - Anything unusable is a *DecodeError. When the header could be read, the Envelope is returned
//     along with the error so the fault can echo cwmp:ID in the CPE's namespace.
//   - An unknown method element decodes to *Unknown so the server can answer 8000.
//   - Tolerated deviations are listed in Envelope.Warnings for the server to log.
func Decode(body []byte, contentType string) (*Envelope, error) {
	env, _, err := decodeWith(body, contentType, true)
	return env, err
}

// decodeWith is Decode; with stream it first tries the streaming decoder (stream.go) and says
// whether that one answered. The tree decoder below stays the reference: it reads everything the
// streaming one declines.
func decodeWith(body []byte, contentType string, stream bool) (env *Envelope, streamed bool, err error) {
	if isBlank(body) {
		return &Envelope{}, false, nil
	}
	d := &decoder{env: &Envelope{}}
	text, err := toUTF8(body, contentType, d.warn)
	if err != nil {
		return nil, false, err
	}
	if stream {
		if env, ok, err := decodeStream(text, d.env.Warnings); ok {
			if streamCheck != nil {
				streamCheck(body, contentType, env, err)
			}
			return env, true, err
		}
	}
	env, err = d.tree(text)
	return env, false, err
}

// streamCheck, set by the package's tests only, sees every streamed result so that all of them
// are compared with the tree decoder's.
var streamCheck func(body []byte, contentType string, env *Envelope, err error)

// tree decodes body (UTF-8 by now) through an etree DOM.
func (d *decoder) tree(body []byte) (*Envelope, error) {
	env := d.env
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = maxDepth
	if err := doc.ReadFromBytes(body); err != nil {
		return nil, &DecodeError{Fault: FaultInvalidArguments, Msg: "malformed XML: " + err.Error()}
	}
	var root *etree.Element
	for c := range doc.ChildElementsSeq() {
		if root != nil {
			return nil, &DecodeError{Fault: FaultInvalidArguments, Msg: "more than one root element"}
		}
		root = c
	}
	if root == nil {
		return nil, &DecodeError{Fault: FaultInvalidArguments, Msg: "no XML element in body"}
	}
	d.envelope(root)
	d.finish()
	if d.err != nil {
		return env, d.err
	}
	return env, nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// decoder carries the envelope being filled, the first error and the method name for messages.
type decoder struct {
	env     *Envelope
	err     *DecodeError
	method  string
	dropped int
}

func (d *decoder) warn(format string, args ...any) {
	if len(d.env.Warnings) >= maxWarnings {
		d.dropped++
		return
	}
	d.env.Warnings = append(d.env.Warnings, fmt.Sprintf(format, args...))
}

// fail records the first error; decoding goes on so the header is still read.
func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = &DecodeError{Fault: FaultInvalidArguments, Msg: fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) finish() {
	if d.dropped > 0 {
		d.env.Warnings = append(d.env.Warnings, fmt.Sprintf("%d more warnings not listed", d.dropped))
	}
}

// envelope reads Envelope, Header and the single method element of Body (checklist 20–27).
func (d *decoder) envelope(root *etree.Element) {
	if root.Tag != "Envelope" || !d.inSOAPEnv(root) {
		d.fail("root element %q is not a SOAP 1.1 Envelope", root.FullTag())
		return
	}
	var body *etree.Element
	for c := range root.ChildElementsSeq() {
		if !d.inSOAPEnv(c) {
			continue
		}
		switch c.Tag {
		case "Header":
			d.header(c) // may be missing or empty (checklist 24)
		case "Body":
			body = c
		}
	}
	if body == nil {
		d.fail("Envelope has no SOAP Body")
		d.defaultNS(root)
		return
	}
	// Exactly one method element; whitespace, comments and CDATA between are skipped (checklist 27).
	var method *etree.Element
	n := 0
	for c := range body.ChildElementsSeq() {
		method = c
		n++
	}
	switch {
	case n == 0:
		d.fail("SOAP Body is empty: no CWMP method element")
	case n > 1:
		d.fail("SOAP Body holds %d elements, want exactly one CWMP method", n)
	default:
		d.env.Body = d.body(method)
		d.env.AsResponse = asResponse(method, d.env.Body)
	}
	d.defaultNS(root)
}

// asResponse decodes what a sloppy CPE meant as its response (Envelope.AsResponse): the only
// child of the method element when that is a known …Response, or the method element itself when
// it is a known …Response the decoder set aside as *Unknown for its namespace. A part that does
// not decode cleanly is no answer at all (nil).
func asResponse(method *etree.Element, body Message) Message {
	e := method
	if _, unknown := body.(*Unknown); !unknown {
		e = nil
		n := 0
		for c := range method.ChildElementsSeq() {
			e = c
			n++
		}
		if n != 1 {
			return nil
		}
	}
	if !strings.HasSuffix(e.Tag, "Response") {
		return nil
	}
	m, ok := NewMessage(e.Tag)
	if !ok {
		return nil
	}
	sub := &decoder{env: &Envelope{}, method: e.Tag}
	m.(codec).decode(sub, e)
	if sub.err != nil {
		return nil
	}
	return m
}

// inSOAPEnv reports whether e is in the SOAP envelope namespace, or, tolerated with a warning,
// has a prefix nobody declared (a hand-written envelope); an unprefixed element in no namespace
// or one in another namespace is not.
func (d *decoder) inSOAPEnv(e *etree.Element) bool {
	ns, declared := lookupPrefix(e, e.Space)
	if isSOAPEnv(ns) {
		return true
	}
	if e.Space != "" && !declared {
		d.warn("%s: prefix %q is not declared, taken as the SOAP envelope", e.Tag, e.Space)
		return true
	}
	return false
}

// defaultNS fills Envelope.NS when neither Body nor Header named a CWMP namespace, from a cwmp
// declaration on the Envelope, so that a fault answer still goes out in the CPE's namespace.
func (d *decoder) defaultNS(root *etree.Element) {
	if d.env.NS != "" {
		return
	}
	for _, a := range root.Attr {
		if (a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")) && IsCWMPNamespace(a.Value) {
			d.env.NS = a.Value
			return
		}
	}
}

// header reads the cwmp header elements (checklist 15, 23–26). Unknown ones, NoMoreRequests among
// them (it is in no XSD, checklist 26), are ignored.
func (d *decoder) header(h *etree.Element) {
	for c := range h.ChildElementsSeq() {
		ns := elementNS(c)
		if !IsCWMPNamespace(ns) {
			continue
		}
		if d.env.NS == "" {
			d.env.NS = ns
		}
		d.headerField(c.Tag, c.Text())
	}
}

// headerField reads one cwmp header element from its tag and untrimmed text.
func (d *decoder) headerField(tag, raw string) {
	s := strings.TrimSpace(raw)
	switch tag {
	case "ID":
		d.env.ID, d.env.HasID = raw, true
	case "HoldRequests":
		b, ok := parseBool(s)
		if !ok {
			d.warn("header HoldRequests %q is not a boolean: ignored", s)
		}
		d.env.HoldRequests = b
	case "SessionTimeout":
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			d.warn("header SessionTimeout %q is not a number of seconds: ignored", s)
			return
		}
		d.env.SessionTimeout = n
	case "SupportedCWMPVersions":
		d.env.SupportedCWMPVersions = s
	case "UseCWMPVersion":
		d.env.UseCWMPVersion = s
	}
}

// body decodes the method element. A known method name in a CWMP namespace (or, tolerated, in no
// namespace) becomes its message type; a SOAP Fault becomes *Fault; anything else is *Unknown.
func (d *decoder) body(e *etree.Element) Message {
	ns := elementNS(e)
	d.method = e.Tag
	if e.Tag == "Fault" && (isSOAPEnv(ns) || isSOAPFaultShape(e)) {
		if !isSOAPEnv(ns) {
			// Cheap CPE clients write <soap:Fault> in an envelope whose prefix is soap-env, never
			// declaring soap: the fault is theirs all the same, and its code must not be lost.
			d.warn("SOAP Fault element %q is not in the SOAP envelope namespace (prefix undeclared or wrong): read as a SOAP Fault", e.FullTag())
		}
		return d.soapFault(e)
	}
	if IsCWMPNamespace(ns) {
		d.env.NS = ns // the CPE's namespace, answered in (checklist 22)
	} else if ns != "" {
		return &Unknown{Name: e.Tag, NS: ns}
	}
	m, ok := NewMessage(e.Tag)
	if !ok {
		return &Unknown{Name: e.Tag, NS: ns}
	}
	if ns == "" {
		d.warn("method element %s has no namespace", e.Tag)
	}
	m.(codec).decode(d, e)
	return m
}

// ---------------------------------------------------------------- helpers for message decoders

// text is the trimmed character data of e (CDATA and character references included, comments
// skipped: checklist 27).
func text(e *etree.Element) string { return strings.TrimSpace(e.Text()) }

func (d *decoder) intBits(e *etree.Element, bits int) int64 { return d.intText(e.Tag, text(e), bits) }

// intText parses s, the trimmed text of element tag, as a signed integer of bits.
func (d *decoder) intText(tag, s string, bits int) int64 {
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		d.fail("%s: %s %q is not an integer", d.method, tag, s)
	}
	return n
}

func (d *decoder) uintBits(e *etree.Element, bits int) uint64 {
	s := text(e)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		d.fail("%s: %s %q is not an unsigned integer", d.method, e.Tag, s)
	}
	return n
}

func (d *decoder) int(e *etree.Element) int       { return int(d.intBits(e, 32)) }
func (d *decoder) uint32(e *etree.Element) uint32 { return uint32(d.uintBits(e, 32)) }
func (d *decoder) uint64(e *etree.Element) uint64 { return d.uintBits(e, 64) }

func (d *decoder) bool(e *etree.Element) bool {
	s := text(e)
	if s == "" {
		return false
	}
	b, ok := parseBool(s)
	if !ok {
		d.fail("%s: %s %q is not a boolean", d.method, e.Tag, s)
	}
	return b
}

func dateTime(e *etree.Element) DateTime { return ParseDateTime(e.Text()) }

// strings decodes a SOAP-ENC array of strings. Item element names are not checked (fixture 38
// qualifies them) and arrayType counts are never trusted (checklist 33).
func stringArray(e *etree.Element) []string {
	var out []string
	for c := range e.ChildElementsSeq() {
		out = append(out, text(c))
	}
	return out
}

// value decodes a Value element: raw text kept exactly, type resolved by URI (checklist 34).
func (d *decoder) value(e *etree.Element, param string) Value {
	var t xsiRef
	t.qname, t.found, t.undeclared = xsiType(e)
	if t.found {
		t.ns, t.local, t.declared = resolveQName(e, t.qname)
	}
	return d.typedValue(e.Text(), t, param)
}

// xsiRef is a Value's xsi:type as found on the element and resolved in its scope.
type xsiRef struct {
	qname                       string
	found, undeclared, declared bool
	ns, local                   string
}

// typedValue is the Value of raw typed by t, with the warnings a sloppy type deserves.
func (d *decoder) typedValue(raw string, t xsiRef, param string) Value {
	v := Value{Raw: raw}
	switch {
	case !t.found:
		d.warn("parameter %q: Value has no xsi:type, taken as string", param)
		v.Type = TypeString
		return v
	case t.undeclared:
		d.warn("parameter %q: xsi prefix used without declaration", param)
	}
	v.Type = d.typeName(t, param)
	return v
}

// typeName turns a Value's xsi:type QName into the type's local name. XML Schema (2001, 1999)
// and SOAP-ENC (which re-declares the same simple types, fixture 37) are the expected namespaces.
func (d *decoder) typeName(t xsiRef, param string) string {
	switch {
	case t.local == "":
		d.warn("parameter %q: empty xsi:type %q, taken as string", param, t.qname)
		return TypeString
	case !t.declared:
		d.warn("parameter %q: xsi:type prefix of %q is not declared", param, t.qname)
	case t.ns != "" && !isXSD(t.ns) && !isSOAPEnc(t.ns):
		d.warn("parameter %q: xsi:type %q is in namespace %q", param, t.qname, t.ns)
	}
	return t.local
}

// resolveQName resolves a QName-valued attribute ("p:local", "local" or Clark "{uri}local") in
// the scope of e. An unprefixed name is returned with ns "" (in xsi:type it means the XML Schema
// type whatever the default namespace).
func resolveQName(e *etree.Element, qname string) (ns, local string, declared bool) {
	prefix, local, clark := splitQName(strings.TrimSpace(qname))
	if clark || prefix == "" {
		return prefix, local, true
	}
	ns, declared = lookupPrefix(e, prefix)
	return ns, local, declared
}
