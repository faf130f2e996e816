package soap

import (
	"strings"

	"github.com/beevik/etree"
)

// Software module management (TR-069 Amendment 3, §A.4.1.10, A.4.2.1, A.4.2.2): ChangeDUState
// toward the CPE and the CPE's DUStateChangeComplete / AutonomousDUStateChangeComplete.
//
// cwmp-1-2.xsd makes Operations and Results repeated elements (not SOAP arrays); Operations are
// told apart by xsi:type. Decoding also accepts the array style some stacks use
// (<Operations><InstallOpStruct>…</InstallOpStruct></Operations>).

// DU operation kinds (DUOperation.Op).
const (
	DUInstall   = "Install"
	DUUpdate    = "Update"
	DUUninstall = "Uninstall"
)

func (m *ChangeDUState) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "Operations":
			m.Operations = append(m.Operations, d.duOperations(c)...)
		case "CommandKey":
			m.CommandKey = c.Text()
		}
	}
}

func (d *decoder) duOperations(e *etree.Element) []DUOperation {
	if t, found, _ := xsiType(e); found {
		return []DUOperation{d.duOperation(e, d.opType(e, t))}
	}
	var ops []DUOperation
	for c := range e.ChildElementsSeq() {
		if !strings.HasSuffix(c.Tag, "OpStruct") {
			break
		}
		typ := c.Tag
		if t, found, _ := xsiType(c); found {
			typ = d.opType(c, t)
		}
		ops = append(ops, d.duOperation(c, typ))
	}
	if ops == nil {
		d.fail("ChangeDUState: Operations has no xsi:type naming InstallOpStruct, UpdateOpStruct or UninstallOpStruct")
	}
	return ops
}

// opType resolves the xsi:type of an operation, expected in a CWMP namespace.
func (d *decoder) opType(e *etree.Element, qname string) string {
	ns, local, declared := resolveQName(e, qname)
	if !declared || (ns != "" && !IsCWMPNamespace(ns)) {
		d.warn("ChangeDUState: operation type %q is not in a CWMP namespace", qname)
	}
	return local
}

// duOperation reads one operation of type typ ("InstallOpStruct" …), keeping only the fields
// that type defines so that encoding gives the same message back.
func (d *decoder) duOperation(e *etree.Element, typ string) DUOperation {
	var op DUOperation
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "URL":
			op.URL = text(c)
		case "UUID":
			op.UUID = text(c)
		case "Username":
			op.Username = c.Text()
		case "Password":
			op.Password = c.Text()
		case "ExecutionEnvRef":
			op.ExecutionEnvRef = text(c)
		case "Version":
			op.Version = text(c)
		}
	}
	switch typ {
	case "InstallOpStruct":
		op.Op, op.Version = DUInstall, ""
	case "UpdateOpStruct":
		op.Op, op.ExecutionEnvRef = DUUpdate, ""
	case "UninstallOpStruct":
		op.Op, op.URL, op.Username, op.Password = DUUninstall, "", "", ""
	default:
		d.fail("ChangeDUState: unknown operation type %q", typ)
	}
	return op
}

// encode writes each operation as <Operations xsi:type="cwmp:XOpStruct"> with the children of
// that type in XSD order.
func (m *ChangeDUState) encode(w *encoder) {
	for _, op := range m.Operations {
		switch op.Op {
		case DUInstall:
			w.raw(`<Operations xsi:type="cwmp:InstallOpStruct">`)
			w.str("URL", op.URL)
			w.str("UUID", op.UUID)
			w.str("Username", op.Username)
			w.str("Password", op.Password)
			w.str("ExecutionEnvRef", op.ExecutionEnvRef)
		case DUUpdate:
			w.raw(`<Operations xsi:type="cwmp:UpdateOpStruct">`)
			w.str("UUID", op.UUID)
			w.str("Version", op.Version)
			w.str("URL", op.URL)
			w.str("Username", op.Username)
			w.str("Password", op.Password)
		case DUUninstall:
			w.raw(`<Operations xsi:type="cwmp:UninstallOpStruct">`)
			w.str("UUID", op.UUID)
			w.str("Version", op.Version)
			w.str("ExecutionEnvRef", op.ExecutionEnvRef)
		default:
			w.fail("ChangeDUState: unknown operation %q (want Install, Update or Uninstall)", op.Op)
			return
		}
		w.raw("</Operations>")
	}
	w.str("CommandKey", m.CommandKey)
}

func (m *DUStateChangeComplete) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "Results":
			m.Results = append(m.Results, d.opResults(c, false)...)
		case "CommandKey":
			m.CommandKey = c.Text()
		}
	}
}

func (m *DUStateChangeComplete) encode(w *encoder) {
	for i := range m.Results {
		w.opResult(&m.Results[i], false)
	}
	w.str("CommandKey", m.CommandKey)
}

func (m *AutonomousDUStateChangeComplete) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag == "Results" {
			m.Results = append(m.Results, d.opResults(c, true)...)
		}
	}
}

func (m *AutonomousDUStateChangeComplete) encode(w *encoder) {
	for i := range m.Results {
		w.opResult(&m.Results[i], true)
	}
}

// opResults reads one Results element, or the items of an array-style one.
func (d *decoder) opResults(e *etree.Element, auton bool) []OpResult {
	var items []OpResult
	for c := range e.ChildElementsSeq() {
		if c.Tag != "OpResultStruct" && c.Tag != "AutonOpResultStruct" {
			return []OpResult{d.opResult(e, auton)}
		}
		items = append(items, d.opResult(c, auton))
	}
	return items
}

func (d *decoder) opResult(e *etree.Element, auton bool) OpResult {
	var r OpResult
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "UUID":
			r.UUID = text(c)
		case "DeploymentUnitRef":
			r.DeploymentUnitRef = text(c)
		case "Version":
			r.Version = text(c)
		case "CurrentState":
			r.CurrentState = text(c)
		case "Resolved":
			r.Resolved = d.bool(c)
		case "ExecutionUnitRefList":
			r.ExecutionUnitRefList = text(c)
		case "StartTime":
			r.StartTime = dateTime(c)
		case "CompleteTime":
			r.CompleteTime = dateTime(c)
		case "Fault":
			r.Fault = d.faultStruct(c)
		case "OperationPerformed":
			if auton {
				r.OperationPerformed = text(c)
			}
		}
	}
	return r
}

func (w *encoder) opResult(r *OpResult, auton bool) {
	w.raw("<Results>")
	w.str("UUID", r.UUID)
	w.str("DeploymentUnitRef", r.DeploymentUnitRef)
	w.str("Version", r.Version)
	w.str("CurrentState", r.CurrentState)
	w.bool("Resolved", r.Resolved)
	w.str("ExecutionUnitRefList", r.ExecutionUnitRefList)
	w.dateTime("StartTime", r.StartTime)
	w.dateTime("CompleteTime", r.CompleteTime)
	w.faultStruct("Fault", r.Fault)
	if auton {
		w.str("OperationPerformed", r.OperationPerformed)
	}
	w.raw("</Results>")
}

func (*ChangeDUStateResponse) decode(*decoder, *etree.Element)                   {}
func (*ChangeDUStateResponse) encode(*encoder)                                   {}
func (*DUStateChangeCompleteResponse) decode(*decoder, *etree.Element)           {}
func (*DUStateChangeCompleteResponse) encode(*encoder)                           {}
func (*AutonomousDUStateChangeCompleteResponse) decode(*decoder, *etree.Element) {}
func (*AutonomousDUStateChangeCompleteResponse) encode(*encoder)                 {}
