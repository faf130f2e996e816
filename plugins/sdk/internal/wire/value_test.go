package wire

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

type mode string

func TestCanonicalAndRoundTrip(t *testing.T) {
	cases := []struct {
		in   any
		want any
	}{
		{"ssid", "ssid"},
		{mode("auto"), "auto"},
		{true, true},
		{42, int64(42)},
		{uint32(7), int64(7)},
		{int64(math.MaxInt64), int64(math.MaxInt64)}, // exact: a JSON number would round it
		{float32(0.5), 0.5},
		{time.Date(2024, 5, 1, 10, 0, 0, 5, time.FixedZone("", 7200)), "2024-05-01T10:00:00.000000005+02:00"},
		{"caf\xe9", "caf\uFFFD"},
		{[]string{"a", "b"}, []any{"a", "b"}},
		{map[string]int{"n": 1}, map[string]any{"n": 1.0}},
		{struct {
			Name string `json:"name"`
		}{"x"}, map[string]any{"name": "x"}},
	}
	for _, c := range cases {
		got, err := Canonical(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Canonical(%#v) = %#v, %v; want %#v", c.in, got, err, c.want)
			continue
		}
		pv, err := ValueToPB(c.in)
		if err != nil {
			t.Errorf("ValueToPB(%#v): %v", c.in, err)
			continue
		}
		back, err := ValueFromPB(pv)
		if err != nil || !reflect.DeepEqual(back, c.want) {
			t.Errorf("round trip of %#v = %#v, %v; want %#v", c.in, back, err, c.want)
		}
	}
}

func TestCanonicalRefusesValuesWithoutJSONForm(t *testing.T) {
	var nilMap map[string]any
	for _, in := range []any{nil, math.NaN(), math.Inf(1), uint64(math.MaxUint64), make(chan int), func() {}, nilMap} {
		if _, err := Canonical(in); !errors.Is(err, ErrValue) {
			t.Errorf("Canonical(%#v) = %v, want ErrValue", in, err)
		}
	}
	if _, err := ValueFromPB(nil); !errors.Is(err, ErrValue) {
		t.Errorf("empty StateValue: %v", err)
	}
}

func TestArgsTakeTheirJSONForm(t *testing.T) {
	type param struct{ Name, Value string }
	args := map[string]any{"ParameterList": []param{{"Device.X", "1"}}, "ParameterKey": "k", "Delay": 5}
	s, err := ArgsToPB(args)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ParameterList": []any{map[string]any{"Name": "Device.X", "Value": "1"}}, "ParameterKey": "k", "Delay": 5.0}
	if got := ArgsFromPB(s); !reflect.DeepEqual(got, want) {
		t.Errorf("args over the wire = %#v", got)
	}
	if got, _ := CanonicalArgs(args); !reflect.DeepEqual(got, want) {
		t.Errorf("canonical args = %#v: in-process and plugin answers would differ", got)
	}
	if got := ArgsFromPB(nil); got == nil || len(got) != 0 {
		t.Errorf("absent args = %#v, want an empty map", got)
	}
}

func TestMaxMsgSizeFromEnv(t *testing.T) {
	for v, want := range map[string]int{"": DefaultMaxMsgSize, "1024": 1024, "-1": DefaultMaxMsgSize, "lots": DefaultMaxMsgSize} {
		if got := MaxMsgSizeFromEnv(func(string) string { return v }); got != want {
			t.Errorf("%q → %d, want %d", v, got, want)
		}
	}
}
