package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RequestError is why a platform request is rejected: Field is the JSON path of the offending
// value ("args.names[2]"), empty for the payload as a whole. Its text goes into RPCResult.Error.
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func fieldErr(path, format string, a ...any) error {
	return &RequestError{Field: path, Reason: fmt.Sprintf(format, a...)}
}

// decodeJSON parses one JSON document, keeping numbers exact (json.Number).
func decodeJSON(payload []byte) (any, error) {
	if !utf8.Valid(payload) {
		return nil, &RequestError{Reason: "payload is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &RequestError{Reason: "empty payload: expected a JSON object"}
		}
		return nil, &RequestError{Reason: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &RequestError{Reason: "malformed JSON: data after the top-level value"}
	}
	return v, nil
}

// object walks one JSON object of a request: every getter names its field in errors, and
// newObject refuses keys the caller does not know, so a typo never passes silently.
type object struct {
	path string
	m    map[string]any
}

func newObject(path string, v any, known ...string) (*object, error) {
	if v == nil && path != "" {
		v = map[string]any{} // "args": null or absent means no arguments
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fieldErr(path, "must be an object, got %s", jsonKind(v))
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		if len(known) == 0 {
			return nil, fieldErr(join(path, unknown[0]), "unknown field: this method takes no arguments")
		}
		return nil, fieldErr(join(path, unknown[0]), "unknown field (known: %s)", strings.Join(known, ", "))
	}
	return &object{path: path, m: m}, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func (o *object) field(key string) string { return join(o.path, key) }

func (o *object) has(key string) bool {
	v, ok := o.m[key]
	return ok && v != nil
}

// str reads an optional string field of at most max bytes ("" when absent).
func (o *object) str(key string, max int) (string, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return "", nil
	}
	return asString(o.field(key), v, max)
}

// requiredStr is str for a field that must be present (it may still be empty).
func (o *object) requiredStr(key string, max int) (string, error) {
	if !o.has(key) {
		return "", fieldErr(o.field(key), "required")
	}
	return o.str(key, max)
}

func asString(path string, v any, max int) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fieldErr(path, "must be a string, got %s", jsonKind(v))
	}
	if len(s) > max {
		return "", fieldErr(path, "too long: %d bytes, at most %d", len(s), max)
	}
	return s, nil
}

func (o *object) boolean(key string) (bool, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fieldErr(o.field(key), "must be true or false, got %s", jsonKind(v))
	}
	return b, nil
}

// integer reads an optional integer field within [min, max] (def when absent).
func (o *object) integer(key string, min, max, def int64) (int64, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return def, nil
	}
	return asInteger(o.field(key), v, min, max)
}

func asInteger(path string, v any, min, max int64) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fieldErr(path, "must be an integer, got %s", jsonKind(v))
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, fieldErr(path, "must be an integer, got %s", n)
	}
	if i < min || i > max {
		if min == 0 && i < 0 {
			return 0, fieldErr(path, "must not be negative, got %d", i)
		}
		return 0, fieldErr(path, "must be between %d and %d, got %d", min, max, i)
	}
	return i, nil
}

func (o *object) uint32(key string) (uint32, error) {
	i, err := o.integer(key, 0, math.MaxUint32, 0)
	return uint32(i), err
}

// seconds reads a non-negative number of seconds up to max (fractions allowed).
func (o *object) seconds(key string, max float64) (float64, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return 0, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, fieldErr(o.field(key), "must be a number of seconds, got %s", jsonKind(v))
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fieldErr(o.field(key), "must be a number of seconds, got %s", n)
	}
	if f < 0 {
		return 0, fieldErr(o.field(key), "must not be negative, got %s", n)
	}
	if f > max {
		return 0, fieldErr(o.field(key), "at most %d seconds, got %s", int(max), n)
	}
	return f, nil
}

// array reads a field that must be a JSON array of 1..MaxListLength elements.
func (o *object) array(key string) ([]any, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return nil, fieldErr(o.field(key), "required")
	}
	return asArray(o.field(key), v)
}

func asArray(path string, v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fieldErr(path, "must be an array, got %s", jsonKind(v))
	}
	if len(a) == 0 {
		return nil, fieldErr(path, "must not be empty")
	}
	if len(a) > MaxListLength {
		return nil, fieldErr(path, "too many entries: %d, at most %d", len(a), MaxListLength)
	}
	return a, nil
}

// strings reads a non-empty array of strings, each checked by check.
func (o *object) stringList(key string, check func(path, s string) error) ([]string, error) {
	a, err := o.array(key)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(a))
	for i, e := range a {
		p := index(o.field(key), i)
		s, ok := e.(string)
		if !ok {
			return nil, fieldErr(p, "must be a string, got %s", jsonKind(e))
		}
		if err := check(p, s); err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// jsonKind names a decoded JSON value's type for error messages.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// Parameter names (TR-069 §A.2.2.1 and cwmp-1-2.xsd: at most 256 characters). Partial paths end
// with "." (checklist 37). Instance aliases "[name]" of CWMP 1.4 are allowed.
const maxNameLength = 256

func checkName(path, s string) error {
	switch {
	case s == "":
		return fieldErr(path, "must not be empty")
	case len(s) > maxNameLength:
		return fieldErr(path, "too long: %d bytes, at most %d", len(s), maxNameLength)
	case strings.HasPrefix(s, "."):
		return fieldErr(path, "%q: a parameter name does not start with \".\"", s)
	case strings.Contains(s, ".."):
		return fieldErr(path, "%q: empty path segment \"..\"", s)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fieldErr(path, "%q: a parameter name has no spaces or control characters", s)
		}
	}
	return nil
}

// checkPath is checkName that also allows "" (the root, for GetParameterNames).
func checkPath(path, s string) error {
	if s == "" {
		return nil
	}
	return checkName(path, s)
}

// checkObjectName: AddObject/DeleteObject take an object path ending in "." (ObjectNameType).
func checkObjectName(path, s string) error {
	if err := checkName(path, s); err != nil {
		return err
	}
	if !strings.HasSuffix(s, ".") {
		return fieldErr(path, "%q: an object name ends with \".\"", s)
	}
	return nil
}
