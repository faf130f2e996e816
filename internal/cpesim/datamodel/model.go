package datamodel

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// node is one object (name ends in ".") or parameter of the tree. Nodes of a tree shared between
// models are never written; per-model changes live in the Model's overlays.
type node struct {
	name     string
	object   bool
	writable bool // parameters: SPV allowed; tables: AddObject allowed; instances: DeleteObject allowed
	typ      Type
	value    string // factory value
	children []*node
}

// templateMark marks a template instance ("Device.Hosts.Host.{i}.").
const templateMark = "{i}"

func isTemplate(name string) bool { return strings.Contains(name, templateMark) }

// tree is a parameter tree with its name index. root is the nameless pseudo-root whose only
// child is "InternetGatewayDevice." or "Device.".
type tree struct {
	root  *node
	index map[string]*node
}

func newTree() *tree {
	r := &node{object: true}
	return &tree{root: r, index: map[string]*node{"": r}}
}

// parentName is the name of the object holding name ("A.B.C" → "A.B.", "A.B." → "A.").
func parentName(name string) string {
	i := strings.LastIndexByte(strings.TrimSuffix(name, "."), '.')
	if i < 0 {
		return ""
	}
	return name[:i+1]
}

// lastSegment is the last path segment of name without dots ("A.B.3." → "3").
func lastSegment(name string) string {
	s := strings.TrimSuffix(name, ".")
	return s[strings.LastIndexByte(s, '.')+1:]
}

// add links n under its parent, creating missing parent objects; a repeated name is an error.
func (t *tree) add(n *node) error {
	if _, dup := t.index[n.name]; dup {
		return fmt.Errorf("duplicate name %q", n.name)
	}
	if _, dup := t.index[strings.TrimSuffix(n.name, ".")+"."]; dup && !n.object {
		return fmt.Errorf("parameter %q is also an object", n.name)
	}
	if _, dup := t.index[strings.TrimSuffix(n.name, ".")]; dup && n.object {
		return fmt.Errorf("object %q is also a parameter", n.name)
	}
	pn := parentName(n.name)
	p, ok := t.index[pn]
	if !ok {
		p = &node{name: pn, object: true}
		if err := t.add(p); err != nil {
			return err
		}
	}
	if !p.object {
		return fmt.Errorf("%q is below parameter %q", n.name, pn)
	}
	p.children = append(p.children, n)
	t.index[n.name] = n
	return nil
}

// copy deep-copies the tree for a model about to change its structure.
func (t *tree) copy() *tree {
	c := &tree{index: make(map[string]*node, len(t.index))}
	var cp func(n *node) *node
	cp = func(n *node) *node {
		m := *n
		m.children = make([]*node, len(n.children))
		for i, ch := range n.children {
			m.children[i] = cp(ch)
		}
		c.index[m.name] = &m
		return &m
	}
	c.root = cp(t.root)
	return c
}

// walk visits n and its descendants in tree order, skipping templates.
func walk(n *node, fn func(*node)) {
	fn(n)
	for _, ch := range n.children {
		if !isTemplate(ch.name) {
			walk(ch, fn)
		}
	}
}

// Param is one parameter or object as the model holds it.
type Param struct {
	Name         string
	Object       bool
	Writable     bool
	Type         Type
	Value        string
	Notification int      // 0 off, 1 passive, 2 active (TR-069 §A.3.2.4)
	AccessList   []string // empty: ACS only
}

type attr struct {
	notification int
	access       []string
}

// Model is the data model of one CPE. It is safe for concurrent use.
type Model struct {
	mu     sync.RWMutex
	t      *tree
	shared bool // t is shared with clones: copy it before a structural change
	values map[string]string
	attrs  map[string]attr
	next   map[string]uint32 // table name → next instance number (numbers are never reused)
	id     soap.DeviceID
}

func newModel() *Model {
	return &Model{t: newTree(), values: map[string]string{}, attrs: map[string]attr{}, next: map[string]uint32{}}
}

// Clone returns an independent model that shares the tree until one of them changes its structure.
func (m *Model) Clone() *Model {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shared = true
	return &Model{
		t:      m.t,
		shared: true,
		values: maps.Clone(m.values),
		attrs:  maps.Clone(m.attrs),
		next:   maps.Clone(m.next),
		id:     m.id,
	}
}

// Root is the root object name: "InternetGatewayDevice." or "Device.".
func (m *Model) Root() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.t.root.children) == 0 {
		return ""
	}
	return m.t.root.children[0].name
}

// DeviceID is the Inform DeviceId of the dump the model came from.
func (m *Model) DeviceID() soap.DeviceID {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.id
}

// SetDeviceID replaces the Inform DeviceId (each simulated CPE its own serial).
func (m *Model) SetDeviceID(id soap.DeviceID) {
	m.mu.Lock()
	m.id = id
	m.mu.Unlock()
}

// Len is the number of parameters (objects not counted).
func (m *Model) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	walk(m.t.root, func(x *node) {
		if !x.object {
			n++
		}
	})
	return n
}

// lookup finds a visible node.
func (m *Model) lookup(name string) *node {
	if isTemplate(name) {
		return nil
	}
	return m.t.index[name]
}

func (m *Model) param(n *node) Param {
	p := Param{Name: n.name, Object: n.object, Writable: n.writable, Type: n.typ, Value: n.value}
	if v, ok := m.values[n.name]; ok {
		p.Value = v
	}
	if a, ok := m.attrs[n.name]; ok {
		p.Notification, p.AccessList = a.notification, a.access
	}
	return p
}

// Lookup returns the parameter or object called name (objects end in ".").
func (m *Model) Lookup(name string) (Param, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := m.lookup(name)
	if n == nil {
		return Param{}, false
	}
	return m.param(n), true
}

// Get returns the typed value of one parameter.
func (m *Model) Get(name string) (soap.ParameterValue, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := m.lookup(name)
	if n == nil || n.object {
		return soap.ParameterValue{}, errName(name)
	}
	p := m.param(n)
	return soap.ParameterValue{Name: name, Value: soap.Value{Type: string(p.Type), Raw: p.Value}}, nil
}

// Set changes one parameter as the device itself would (no writability check: uptime, the
// connection-request URL …). The value must fit the type.
func (m *Model) Set(name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.lookup(name)
	if n == nil || n.object {
		return errName(name)
	}
	v, err := n.typ.Canonical(value)
	if err != nil {
		return &Error{Code: soap.FaultCPEInvalidParameterValue, Name: name, Reason: err.Error()}
	}
	m.values[name] = v
	return nil
}

// SetValues applies a SetParameterValues (TR-069 §A.3.2.1): all or nothing. Unknown names fail
// with 9005, read-only ones with 9008, values that do not fit the type with 9007 (an xsi:type that
// differs from the parameter's with 9006).
func (m *Model) SetValues(list []soap.ParameterValue) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var faults []*Error
	canon := make([]string, len(list))
	for i, pv := range list {
		n := m.lookup(pv.Name)
		switch {
		case n == nil || n.object:
			faults = append(faults, errName(pv.Name))
			continue
		case !n.writable:
			faults = append(faults, &Error{Code: soap.FaultCPENonWritableParameter, Name: pv.Name, Reason: "not writable"})
			continue
		}
		if pv.Value.Type != "" {
			if t, err := ParseType(pv.Value.Type); err != nil || t != n.typ {
				faults = append(faults, &Error{Code: soap.FaultCPEInvalidParameterType, Name: pv.Name,
					Reason: fmt.Sprintf("type %s, want %s", pv.Value.Type, n.typ)})
				continue
			}
		}
		v, err := n.typ.Canonical(pv.Value.Raw)
		if err != nil {
			faults = append(faults, &Error{Code: soap.FaultCPEInvalidParameterValue, Name: pv.Name, Reason: err.Error()})
			continue
		}
		canon[i] = v
	}
	if faults != nil {
		return &SetError{Faults: faults}
	}
	for i, pv := range list {
		m.values[pv.Name] = canon[i]
	}
	return nil
}

// collect resolves a GPV/GPA name: "" is the whole tree, a name ending in "." every parameter
// below that object (TR-069 §A.3.2.2 partial paths), else the one parameter.
func (m *Model) collect(name string, fn func(*node)) error {
	n := m.lookup(name)
	if n == nil || (n.object != (name == "" || strings.HasSuffix(name, "."))) {
		return errName(name)
	}
	walk(n, func(x *node) {
		if !x.object {
			fn(x)
		}
	})
	return nil
}

// secret reports whether name is a password-like parameter, which reads as an empty string
// whatever its value (TR-098/TR-181: "When read, this parameter returns an empty string").
func secret(name string) bool {
	for _, s := range [...]string{"Password", "Passphrase", "PreSharedKey", "WEPKey"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Values answers GetParameterValues: each name is a parameter or a partial path. Secrets read
// as empty strings (use Get for the stored value).
func (m *Model) Values(names []string) ([]soap.ParameterValue, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []soap.ParameterValue
	for _, name := range names {
		err := m.collect(name, func(x *node) {
			p := m.param(x)
			if secret(p.Name) {
				p.Value = ""
			}
			out = append(out, soap.ParameterValue{Name: p.Name, Value: soap.Value{Type: string(p.Type), Raw: p.Value}})
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Names answers GetParameterNames (TR-069 §A.3.2.3, checklist 37). The empty path is the root:
// with nextLevel it names only the root object. A partial path ("X.Y.") with nextLevel names the
// object's children; without, the object itself and everything below. A parameter name is valid
// only without nextLevel (9003 otherwise).
func (m *Model) Names(path string, nextLevel bool) ([]soap.ParameterInfo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := m.lookup(path)
	if n == nil || (n.object != (path == "" || strings.HasSuffix(path, "."))) {
		return nil, errName(path)
	}
	var out []soap.ParameterInfo
	switch {
	case !n.object && nextLevel:
		return nil, &Error{Code: soap.FaultCPEInvalidArguments, Name: path, Reason: "NextLevel true on a parameter"}
	case nextLevel:
		for _, ch := range n.children {
			if !isTemplate(ch.name) {
				out = append(out, soap.ParameterInfo{Name: ch.name, Writable: ch.writable})
			}
		}
	default:
		walk(n, func(x *node) {
			if x.name != "" {
				out = append(out, soap.ParameterInfo{Name: x.name, Writable: x.writable})
			}
		})
	}
	return out, nil
}

// Attributes answers GetParameterAttributes; names may be partial paths.
func (m *Model) Attributes(names []string) ([]soap.ParameterAttribute, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []soap.ParameterAttribute
	for _, name := range names {
		err := m.collect(name, func(x *node) {
			a := m.attrs[x.name]
			out = append(out, soap.ParameterAttribute{Name: x.name, Notification: a.notification, AccessList: slices.Clone(a.access)})
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// noActiveNotification names parameters that change all the time; a CPE may refuse active
// notification on them (TR-069 §A.3.2.4, fault 9009).
func noActiveNotification(name string) bool {
	return strings.HasSuffix(name, ".UpTime") || strings.HasSuffix(name, ".CurrentLocalTime") ||
		strings.Contains(name, ".Stats.")
}

// SetAttributes applies SetParameterAttributes, all or nothing.
func (m *Model) SetAttributes(list []soap.SetParameterAttribute) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := maps.Clone(m.attrs)
	for _, s := range list {
		if s.NotificationChange && (s.Notification < 0 || s.Notification > 6) {
			return &Error{Code: soap.FaultCPEInvalidArguments, Name: s.Name, Reason: "notification out of range"}
		}
		err := m.collect(s.Name, func(x *node) {
			a := next[x.name]
			if s.NotificationChange {
				a.notification = s.Notification
			}
			if s.AccessListChange {
				a.access = slices.Clone(s.AccessList)
			}
			next[x.name] = a
		})
		if err != nil {
			return err
		}
		if s.NotificationChange && s.Notification == 2 && noActiveNotification(s.Name) {
			return &Error{Code: soap.FaultCPENotificationRejected, Name: s.Name, Reason: "active notification not supported"}
		}
	}
	m.attrs = next
	return nil
}

// own gives the model its own tree before a structural change (copy-on-write).
func (m *Model) own() {
	if m.shared {
		m.t = m.t.copy()
		m.shared = false
	}
}

// table returns the writable multi-instance object called path, or a 9005 error.
func (m *Model) table(path string) (*node, error) {
	n := m.lookup(path)
	if n == nil || !n.object || !strings.HasSuffix(path, ".") {
		return nil, errName(path)
	}
	for _, ch := range n.children {
		if !isInstance(ch.name) && !isTemplate(ch.name) {
			return nil, &Error{Code: soap.FaultCPEInvalidParameterName, Name: path, Reason: "not a multi-instance object"}
		}
	}
	if !n.writable {
		return nil, &Error{Code: soap.FaultCPEInvalidParameterName, Name: path, Reason: "instances cannot be added"}
	}
	return n, nil
}

// isInstance reports whether name is a numbered table entry ("X.Y.3.").
func isInstance(name string) bool {
	_, err := strconv.ParseUint(lastSegment(name), 10, 32)
	return err == nil
}

// instantiate copies template tpl as instance name. An "{i}" template is copied as is (nested
// "{i}" stay templates); an existing instance (fromInstance) gives its structure with zero values
// and without its nested instances.
func instantiate(tpl *node, name string, fromInstance bool) *node {
	c := &node{name: name, object: true, writable: tpl.writable}
	for _, ch := range tpl.children {
		if fromInstance && ch.object && isInstance(ch.name) {
			continue
		}
		childName := name + strings.TrimPrefix(ch.name, tpl.name)
		if ch.object {
			c.children = append(c.children, instantiate(ch, childName, fromInstance))
			continue
		}
		v := ch.value
		if fromInstance {
			v = ch.typ.Zero()
		}
		c.children = append(c.children, &node{name: childName, writable: ch.writable, typ: ch.typ, value: v})
	}
	return c
}

// AddObject creates a new instance of table path ("X.Y.") and returns its number (TR-069 §A.3.2.6).
func (m *Model) AddObject(path string) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.table(path); err != nil {
		return 0, err
	}
	m.own()
	t := m.t.index[path]
	num, known := m.next[path]
	var tpl, first *node
	for _, ch := range t.children {
		if isTemplate(ch.name) {
			tpl = ch
			continue
		}
		if first == nil {
			first = ch
		}
		if i, _ := strconv.ParseUint(lastSegment(ch.name), 10, 32); !known && uint32(i) >= num {
			num = uint32(i) + 1
		}
	}
	num = max(num, 1)
	name := path + strconv.FormatUint(uint64(num), 10) + "."
	var inst *node
	switch {
	case tpl != nil:
		inst = instantiate(tpl, name, false)
	case first != nil:
		inst = instantiate(first, name, true)
	default:
		inst = &node{name: name, object: true}
	}
	inst.writable = true // an instance the ACS added, it may delete
	t.children = append(t.children, inst)
	walk(inst, func(x *node) { m.t.index[x.name] = x })
	m.next[path] = num + 1
	return num, nil
}

// DeleteObject removes instance path ("X.Y.3.") and everything below it (TR-069 §A.3.2.7).
func (m *Model) DeleteObject(path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.lookup(path)
	if n == nil || !n.object || !strings.HasSuffix(path, ".") {
		return errName(path)
	}
	if !isInstance(path) || !n.writable {
		return &Error{Code: soap.FaultCPEInvalidParameterName, Name: path, Reason: "not a deletable instance"}
	}
	m.own()
	p := m.t.index[parentName(path)]
	// Numbers of deleted instances are not reused: remember the next one before it goes.
	if _, ok := m.next[p.name]; !ok {
		var max uint64
		for _, ch := range p.children {
			if i, err := strconv.ParseUint(lastSegment(ch.name), 10, 32); err == nil && i > max {
				max = i
			}
		}
		m.next[p.name] = uint32(max) + 1
	}
	p.children = slices.DeleteFunc(p.children, func(ch *node) bool { return ch.name == path })
	for name := range m.t.index {
		if strings.HasPrefix(name, path) {
			delete(m.t.index, name)
		}
	}
	for name := range m.values {
		if strings.HasPrefix(name, path) {
			delete(m.values, name)
		}
	}
	for name := range m.attrs {
		if strings.HasPrefix(name, path) {
			delete(m.attrs, name)
		}
	}
	return nil
}
