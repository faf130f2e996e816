package api

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// ParamValue is one parameter value as JSON, in informs and GetParameterValues results:
// Value is a number for the integer types, a bool for boolean, else the text; a value whose
// text does not parse as its type stays the raw string (checklist 34). Type is the xsd local
// name ("unsignedInt").
type ParamValue struct {
	Value any    `json:"value"`
	Type  string `json:"type"`
}

// The xsd types of CWMP values (checklist 34).
var valueTypes = []string{soap.TypeString, soap.TypeInt, soap.TypeUnsignedInt, soap.TypeLong, soap.TypeUnsignedLong,
	soap.TypeBoolean, soap.TypeDateTime, soap.TypeBase64, soap.TypeHexBinary}

// jsonValue renders a wire value as typed JSON.
func jsonValue(v soap.Value) ParamValue {
	if v.Type == "" {
		v.Type = soap.TypeString // checklist 34: a missing type is a string
	}
	switch v.Type {
	case soap.TypeInt, soap.TypeLong:
		if i, err := v.Int(); err == nil {
			return ParamValue{json.Number(strconv.FormatInt(i, 10)), v.Type}
		}
	case soap.TypeUnsignedInt, soap.TypeUnsignedLong:
		if u, err := v.Uint(); err == nil {
			return ParamValue{json.Number(strconv.FormatUint(u, 10)), v.Type}
		}
	case soap.TypeBoolean:
		if b, err := v.Bool(); err == nil {
			return ParamValue{b, v.Type}
		}
	}
	return ParamValue{v.Raw, v.Type}
}

// jsonParams renders a ParameterList keyed by name; a repeated name keeps its last value.
func jsonParams(list []soap.ParameterValue) map[string]ParamValue {
	out := make(map[string]ParamValue, len(list))
	for _, p := range list {
		out[p.Name] = jsonValue(p.Value)
	}
	return out
}

// ---------------------------------------------------------------- SetParameterValues (TR-069 A.3.2.1)

func buildSetParameterValues(o *object) (soap.Message, error) {
	path := o.field("parameters")
	var list []soap.ParameterValue
	switch ps := o.m["parameters"].(type) {
	case map[string]any: // {"name": value} or {"name": {"value": v, "type": t}}
		if len(ps) == 0 {
			return nil, fieldErr(path, "must not be empty")
		}
		if len(ps) > MaxListLength {
			return nil, fieldErr(path, "too many entries: %d, at most %d", len(ps), MaxListLength)
		}
		names := make([]string, 0, len(ps))
		for n := range ps {
			names = append(names, n)
		}
		slices.Sort(names) // JSON objects have no order; SPV is atomic, so any order is right
		for _, n := range names {
			p, err := objectFormParam(path+"."+n, n, ps[n])
			if err != nil {
				return nil, err
			}
			list = append(list, p)
		}
	default:
		a, err := o.array("parameters")
		if err != nil {
			if _, isArr := ps.([]any); !isArr && ps != nil {
				return nil, fieldErr(path, "must be an array of [name, value, type] or an object of name: value, got %s", jsonKind(ps))
			}
			return nil, err
		}
		seen := make(map[string]bool, len(a))
		for i, e := range a {
			p, err := listFormParam(index(path, i), e)
			if err != nil {
				return nil, err
			}
			// TR-069 A.3.2.1: a name given twice is fault 9003 on the CPE; say it here.
			if seen[p.Name] {
				return nil, fieldErr(index(path, i), "duplicate parameter name %q", p.Name)
			}
			seen[p.Name] = true
			list = append(list, p)
		}
	}
	key, err := o.str("parameter_key", maxParamKey)
	return &soap.SetParameterValues{ParameterList: list, ParameterKey: key}, err
}

// listFormParam reads [name, value], [name, value, type] or {"name", "value", "type"}.
func listFormParam(path string, e any) (soap.ParameterValue, error) {
	var name, val, typ any
	switch e := e.(type) {
	case []any:
		if len(e) < 2 || len(e) > 3 {
			return soap.ParameterValue{}, fieldErr(path, "expected [name, value, type] or [name, value], got %d entries", len(e))
		}
		name, val = e[0], e[1]
		if len(e) == 3 {
			typ = e[2]
		}
	case map[string]any:
		o, err := newObject(path, e, "name", "value", "type")
		if err != nil {
			return soap.ParameterValue{}, err
		}
		if !o.has("name") || !o.has("value") {
			return soap.ParameterValue{}, fieldErr(path, "expected {\"name\", \"value\", \"type\"}: name and value are required")
		}
		name, val, typ = o.m["name"], o.m["value"], o.m["type"]
	default:
		return soap.ParameterValue{}, fieldErr(path, "expected [name, value, type], got %s", jsonKind(e))
	}
	n, ok := name.(string)
	if !ok {
		return soap.ParameterValue{}, fieldErr(path, "expected [name, value, type]: the name must be a string, got %s", jsonKind(name))
	}
	return typedParam(path, n, val, typ)
}

// objectFormParam reads one "name": value of the object form.
func objectFormParam(path, name string, v any) (soap.ParameterValue, error) {
	if m, ok := v.(map[string]any); ok {
		o, err := newObject(path, m, "value", "type")
		if err != nil {
			return soap.ParameterValue{}, err
		}
		if !o.has("value") {
			return soap.ParameterValue{}, fieldErr(path+".value", "required")
		}
		return typedParam(path, name, m["value"], m["type"])
	}
	return typedParam(path, name, v, nil)
}

func typedParam(path, name string, val, typ any) (soap.ParameterValue, error) {
	if err := checkName(path, name); err != nil {
		return soap.ParameterValue{}, err
	}
	if strings.HasSuffix(name, ".") {
		return soap.ParameterValue{}, fieldErr(path, "%q: SetParameterValues takes parameter names, not partial paths", name)
	}
	t := ""
	if typ != nil {
		s, ok := typ.(string)
		if !ok {
			return soap.ParameterValue{}, fieldErr(path, "the type must be a string like \"xsd:unsignedInt\", got %s", jsonKind(typ))
		}
		t = s
	}
	v, err := wireValue(path, val, t)
	return soap.ParameterValue{Name: name, Value: v}, err
}

// wireValue turns a JSON value into a wire value. Without a type, the JSON type decides:
// string → string, bool → boolean, integer → int (long / unsignedLong when it does not fit).
// An explicit type ("xsd:unsignedInt", "unsignedInt") wins and the value must parse as it.
func wireValue(path string, v any, typ string) (soap.Value, error) {
	var text string
	switch v := v.(type) {
	case string:
		text = v
	case bool:
		text = strconv.FormatBool(v)
	case json.Number:
		text = v.String()
	default:
		return soap.Value{}, fieldErr(path, "the value must be a string, number or boolean, got %s", jsonKind(v))
	}
	if typ == "" {
		switch v := v.(type) {
		case string:
			return soap.Value{Type: "string", Raw: v}, nil
		case bool:
			return soap.Value{Type: "boolean", Raw: text}, nil
		case json.Number:
			if i, err := strconv.ParseInt(text, 10, 64); err == nil {
				if i >= math.MinInt32 && i <= math.MaxInt32 {
					return soap.Value{Type: "int", Raw: text}, nil
				}
				return soap.Value{Type: "long", Raw: text}, nil
			}
			if _, err := strconv.ParseUint(text, 10, 64); err == nil {
				return soap.Value{Type: "unsignedLong", Raw: text}, nil
			}
			return soap.Value{}, fieldErr(path, "%s: CWMP has no fractional numbers; send a string with a type", text)
		}
	}
	local := typ
	if i := strings.IndexByte(typ, ':'); i >= 0 {
		local = typ[i+1:]
	}
	if !slices.Contains(valueTypes, local) {
		return soap.Value{}, fieldErr(path, "unknown type %q (want one of %s, with or without \"xsd:\")", typ, strings.Join(valueTypes, ", "))
	}
	raw, ok := checkValue(local, text)
	if !ok {
		return soap.Value{}, fieldErr(path, "value %q is not a valid %s", text, local)
	}
	return soap.Value{Type: local, Raw: raw}, nil
}

// checkValue checks text against an xsd type with the codec's own parsers and returns its
// canonical wire text.
func checkValue(typ, text string) (string, bool) {
	v := soap.Value{Type: typ, Raw: strings.TrimSpace(text)}
	var err error
	switch typ {
	case soap.TypeString:
		return text, true
	case soap.TypeInt:
		var i int64
		if i, err = v.Int(); i < math.MinInt32 || i > math.MaxInt32 {
			return "", false
		}
	case soap.TypeUnsignedInt:
		var u uint64
		if u, err = v.Uint(); u > math.MaxUint32 {
			return "", false
		}
	case soap.TypeLong:
		_, err = v.Int()
	case soap.TypeUnsignedLong:
		_, err = v.Uint()
	case soap.TypeBoolean:
		// Canonical true/false; the codec renders 1/0 for CPEs that want it (checklist 35).
		var b bool
		b, err = v.Bool()
		v.Raw = strconv.FormatBool(b)
	case soap.TypeDateTime:
		_, err = v.Time() // with or without zone and fractions (checklist 32)
	case soap.TypeBase64, soap.TypeHexBinary:
		_, err = v.Bytes()
	}
	return v.Raw, err == nil
}
