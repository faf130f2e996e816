package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/translatorv1"
)

// ErrValue is returned for a Go value that has no place in normalized state or RPC arguments.
var ErrValue = errors.New("unsupported value")

// Canonical returns v in the one form it has after crossing the wire: string, bool, int64,
// float64, or a JSON-decoded object/array (map[string]any, []any) for anything composite.
// The host applies it to in-process answers too, so a translator gives identical results
// whether it runs in-process or as a plugin. Times become RFC 3339 strings (expose type
// datetime); NaN, ±Inf and nil have no JSON form and are refused.
func Canonical(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return ValidUTF8(x), nil
	case bool:
		return x, nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		return finite(x)
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case nil:
		return nil, fmt.Errorf("%w: null", ErrValue)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return ValidUTF8(rv.String()), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("%w: integer %d overflows int64", ErrValue, u)
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return finite(rv.Float())
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Pointer:
		return canonicalJSON(v)
	}
	return nil, fmt.Errorf("%w: %T", ErrValue, v)
}

func finite(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v has no JSON form", ErrValue, f)
	}
	return f, nil
}

// canonicalJSON turns a composite value into what a JSON decoder (and google.protobuf.Value)
// makes of it, numbers as float64.
func canonicalJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrValue, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrValue, err)
	}
	if out == nil {
		return nil, fmt.Errorf("%w: null", ErrValue)
	}
	return out, nil
}

// ValidUTF8 replaces invalid bytes: protobuf strings must be UTF-8 and an old CPE may send
// Latin-1.
func ValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// ValueToPB encodes a state value (any form Canonical accepts).
func ValueToPB(v any) (*pb.StateValue, error) {
	c, err := Canonical(v)
	if err != nil {
		return nil, err
	}
	switch x := c.(type) {
	case string:
		return &pb.StateValue{Kind: &pb.StateValue_StringValue{StringValue: x}}, nil
	case bool:
		return &pb.StateValue{Kind: &pb.StateValue_BooleanValue{BooleanValue: x}}, nil
	case int64:
		return &pb.StateValue{Kind: &pb.StateValue_IntegerValue{IntegerValue: x}}, nil
	case float64:
		return &pb.StateValue{Kind: &pb.StateValue_NumberValue{NumberValue: x}}, nil
	}
	sv, err := structpb.NewValue(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrValue, err)
	}
	return &pb.StateValue{Kind: &pb.StateValue_ObjectValue{ObjectValue: sv}}, nil
}

// ValueFromPB decodes a state value into its canonical Go form.
func ValueFromPB(v *pb.StateValue) (any, error) {
	switch k := v.GetKind().(type) {
	case *pb.StateValue_StringValue:
		return k.StringValue, nil
	case *pb.StateValue_BooleanValue:
		return k.BooleanValue, nil
	case *pb.StateValue_IntegerValue:
		return k.IntegerValue, nil
	case *pb.StateValue_NumberValue:
		return k.NumberValue, nil
	case *pb.StateValue_ObjectValue:
		out := k.ObjectValue.AsInterface()
		if out == nil {
			return nil, fmt.Errorf("%w: null object", ErrValue)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: empty StateValue", ErrValue)
}

// ValuesToPB encodes a map of state values, naming the first offending key.
func ValuesToPB(m map[string]any) (map[string]*pb.StateValue, error) {
	out := make(map[string]*pb.StateValue, len(m))
	for k, v := range m {
		pv, err := ValueToPB(v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[ValidUTF8(k)] = pv
	}
	return out, nil
}

// ValuesFromPB decodes a map of state values, naming the first offending key.
func ValuesFromPB(m map[string]*pb.StateValue) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		gv, err := ValueFromPB(v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = gv
	}
	return out, nil
}

// CanonicalArgs returns RPC arguments as a JSON decoder produces them: the form the gateway
// accepts on MQTT (a translator may build them from []string, structs, ints...).
func CanonicalArgs(args map[string]any) (map[string]any, error) {
	if len(args) == 0 {
		return map[string]any{}, nil
	}
	c, err := canonicalJSON(args)
	if err != nil {
		return nil, err
	}
	return c.(map[string]any), nil
}

// ArgsToPB encodes RPC arguments.
func ArgsToPB(args map[string]any) (*structpb.Struct, error) {
	c, err := CanonicalArgs(args)
	if err != nil {
		return nil, err
	}
	s, err := structpb.NewStruct(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrValue, err)
	}
	return s, nil
}

// ArgsFromPB decodes RPC arguments; absent arguments are an empty map.
func ArgsFromPB(s *structpb.Struct) map[string]any {
	if s == nil {
		return map[string]any{}
	}
	return s.AsMap()
}
