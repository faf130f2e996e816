package standard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// placeholder is an instance segment in key and parameter patterns.
const placeholder = "{i}"

// maxInstances bounds the instance numbers of one parameter name that templates capture; deeper
// names (none of the mapped ones) simply do not match.
const maxInstances = 6

// contextDef is an object instance chosen per device by the model scan (the default WAN
// connection, the LAN interface). Bindings refer to it as "{name}" at the start of Param.
type contextDef struct {
	name string
	spec string // the object in spec notation, for the conformance test
	get  string // partial path to read when the instance is not known
	// also are the other partial paths the scan picks the instance from (the DHCP pool that
	// names the LAN interface): without them a get reads the object but cannot tell which.
	also []string
	what string // what it is, for a person: "PPP WAN connection"
}

// model is one data model's compiled mapping.
type model struct {
	name     string
	contexts []contextDef
	scan     func(*view)
	// byTemplate finds root-relative bindings by the parameter name with every instance
	// number replaced by "{i}"; byContext finds context bindings by the rest after the prefix.
	byTemplate map[string][]*compiled
	byContext  []map[string][]*compiled
	byKey      map[string][]*compiled // by key pattern
	all        []*compiled
}

// slot says what one instance number in a parameter template does: match a literal number,
// or feed the key.
type slot struct {
	literal int64 // > 0: must equal
}

// compiled is a Binding ready for lookups.
type compiled struct {
	Binding
	expose   sdk.Expose
	ctx      int    // context index, -1 for root-relative
	rest     string // Param without the context prefix
	template string // rest with every instance replaced by "{i}"
	slots    []slot
	keyParts []string // key split at "{i}"
	writable bool
	inverse  map[string]string // friendly → raw, from Enum
}

// view is one call's look at a device: the root, the raw parameters, the chosen contexts and,
// for Normalize, the state being built.
type view struct {
	root        string
	params      map[string]sdk.Value
	ctx         [4]string // context prefixes below root, "" when not chosen
	apToSSID    map[int64]int64
	wantDerived bool
	state       sdk.State
}

func newModel(name string, contexts []contextDef, scan func(*view), catalog map[string]sdk.Expose, base []Binding, exts [][]Binding) (*model, error) {
	m := &model{name: name, contexts: contexts, scan: scan,
		byTemplate: map[string][]*compiled{}, byKey: map[string][]*compiled{}}
	for range contexts {
		m.byContext = append(m.byContext, map[string][]*compiled{})
	}
	// An extension binding replaces every standard binding of the same key in this model.
	replaced := map[string]bool{}
	for _, bs := range exts {
		for _, b := range bs {
			replaced[b.Key] = true
		}
	}
	bindings := make([]Binding, 0, len(base))
	for _, b := range base {
		if !replaced[b.Key] {
			bindings = append(bindings, b)
		}
	}
	for _, bs := range exts {
		bindings = append(bindings, bs...)
	}
	for _, b := range bindings {
		c, err := m.compile(b, catalog)
		if err != nil {
			return nil, fmt.Errorf("%s binding %q → %q: %w", name, b.Key, b.Param, err)
		}
		m.all = append(m.all, c)
		m.byKey[c.Key] = append(m.byKey[c.Key], c)
		if c.Derived {
			continue
		}
		if c.ctx >= 0 {
			m.byContext[c.ctx][c.rest] = append(m.byContext[c.ctx][c.rest], c)
		} else {
			m.byTemplate[c.template] = append(m.byTemplate[c.template], c)
		}
	}
	return m, nil
}

func (m *model) compile(b Binding, catalog map[string]sdk.Expose) (*compiled, error) {
	e, ok := catalog[b.Key]
	if !ok {
		return nil, fmt.Errorf("key not exposed")
	}
	c := &compiled{Binding: b, expose: e, ctx: -1, rest: b.Param}
	c.keyParts = strings.Split(b.Key, placeholder)
	if strings.HasPrefix(b.Param, "{") {
		end := strings.IndexByte(b.Param, '}')
		name := b.Param[1:max(end, 1)]
		for i, cd := range m.contexts {
			if cd.name == name {
				c.ctx = i
			}
		}
		if c.ctx < 0 || name == "i" {
			return nil, fmt.Errorf("unknown context {%s}", name)
		}
		c.rest = b.Param[end+1:]
	}
	var tmpl []string
	outs := 0
	for _, seg := range strings.Split(c.rest, ".") {
		switch n, err := strconv.ParseInt(seg, 10, 64); {
		case seg == placeholder:
			c.slots = append(c.slots, slot{})
			outs++
			tmpl = append(tmpl, placeholder)
		case err == nil && n > 0:
			c.slots = append(c.slots, slot{literal: n})
			tmpl = append(tmpl, placeholder)
		default:
			tmpl = append(tmpl, seg)
		}
	}
	c.template = strings.Join(tmpl, ".")
	if !c.Derived && c.ctx >= 0 && outs > 0 {
		return nil, fmt.Errorf("context bindings take no {i}")
	}
	if !c.Derived && outs != len(c.keyParts)-1 {
		return nil, fmt.Errorf("%d instances in the parameter, %d in the key", outs, len(c.keyParts)-1)
	}
	if len(c.slots) > maxInstances {
		return nil, fmt.Errorf("more than %d instances", maxInstances)
	}
	c.writable = e.Access != sdk.Read && !b.ReadOnly && !b.Derived && !b.Instance
	if b.Enum != nil {
		c.inverse = make(map[string]string, len(b.Enum))
		for raw, friendly := range b.Enum {
			if other, dup := c.inverse[friendly]; dup && c.writable {
				return nil, fmt.Errorf("enum maps both %q and %q to %q: a write would be ambiguous", other, raw, friendly)
			}
			c.inverse[friendly] = raw
		}
	}
	return c, nil
}

// templateOf writes name with every all-digit segment replaced by "{i}" into buf and the
// numbers into nums. ok is false when the name has more instances than a template holds.
func templateOf(buf []byte, name string, nums *[maxInstances]int64) (_ []byte, n int, ok bool) {
	for len(name) > 0 {
		seg := name
		dot := strings.IndexByte(name, '.')
		if dot >= 0 {
			seg, name = name[:dot], name[dot+1:]
		} else {
			name = ""
		}
		if v, isNum := digits(seg); isNum {
			if n == maxInstances {
				return buf, n, false
			}
			nums[n] = v
			n++
			buf = append(buf, placeholder...)
		} else {
			buf = append(buf, seg...)
		}
		if dot >= 0 {
			buf = append(buf, '.')
		}
	}
	return buf, n, true
}

func digits(s string) (int64, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int64(s[i]-'0')
	}
	return v, true
}

// key builds the friendly key from the captured instances (those not fixed by a literal).
func (c *compiled) key(buf []byte, nums []int64) (string, bool) {
	buf = append(buf[:0], c.keyParts[0]...)
	part := 1
	for i, s := range c.slots {
		if s.literal > 0 {
			if nums[i] != s.literal {
				return "", false
			}
			continue
		}
		buf = strconv.AppendInt(buf, nums[i], 10)
		buf = append(buf, c.keyParts[part]...)
		part++
	}
	return string(buf), true
}

// param builds the parameter name (below root) for key instances; contexts come from v.
func (c *compiled) param(v *view, insts []int64) (string, bool) {
	var b strings.Builder
	if c.ctx >= 0 {
		if v.ctx[c.ctx] == "" {
			return "", false
		}
		b.WriteString(v.ctx[c.ctx])
	}
	next := 0
	for i, seg := range strings.Split(c.rest, ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		if seg != placeholder {
			b.WriteString(seg)
			continue
		}
		if next >= len(insts) {
			return "", false
		}
		b.WriteString(strconv.FormatInt(insts[next], 10))
		next++
	}
	return b.String(), true
}

// read converts a raw value for this binding.
func (c *compiled) read(raw string, inst int64) (any, error) {
	switch {
	case c.Instance:
		return inst, nil
	case c.Read != nil:
		return c.Read(raw)
	case c.Enum != nil:
		if f, ok := c.Enum[raw]; ok {
			return f, nil
		}
		return raw, nil
	}
	return readValue(c.expose.Type, raw)
}

// write validates and encodes a value for SetParameterValues.
func (c *compiled) write(v any, boolAsNumber bool) (string, error) {
	switch {
	case c.Write != nil:
		return c.Write(v)
	case c.inverse != nil:
		s, _ := v.(string)
		if raw, ok := c.inverse[s]; ok {
			return raw, nil
		}
		return "", fmt.Errorf("expects one of %s", strings.Join(sortedKeys(c.inverse), ", "))
	}
	switch c.XSD {
	case "boolean":
		return writeBool(v, boolAsNumber)
	case "int", "unsignedInt", "long", "unsignedLong":
		return writeInt(v, c.XSD)
	}
	return writeString(v)
}
