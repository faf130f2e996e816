package registry

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
)

// checkRecordJSON fails unless r.AppendJSON writes what json.Marshal writes (or fails as it does).
func checkRecordJSON(t *testing.T, r *Record) {
	t.Helper()
	want, wantErr := json.Marshal(r)
	got, err := r.AppendJSON([]byte("prefix"))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("AppendJSON error %v, json.Marshal error %v", err, wantErr)
	}
	if err == nil && (!bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want)) {
		t.Fatalf("AppendJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
}

// fill sets every field of the struct v points at (recursively) to a value other than its zero.
func fill(t *testing.T, v reflect.Value, text string) {
	t.Helper()
	switch x := v.Addr().Interface().(type) {
	case *time.Time:
		*x = time.Date(2026, 12, 2, 7, 15, 30, 123456789, time.FixedZone("CET", 3600))
		return
	case *string:
		*x = text + " <&>\"\u2028\xff"
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(-42)
	case reflect.Uint64:
		v.SetUint(1<<63 + 7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), text)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte("{}"))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(t, v.Index(0), text+"0")
		fill(t, v.Index(1), text+"1")
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), v.Type().Field(i).Name)
		}
	default:
		t.Fatalf("no value known for a field of type %s", v.Type())
	}
}

// A device record is the same bytes with the hand-written encoder as with json.Marshal: every
// field set (a field added to Record or api.Interview and not encoded fails here), none set,
// each omitted one alone, times json.Marshal refuses.
func TestRecordAppendJSONIsMarshal(t *testing.T) {
	var full Record
	fill(t, reflect.ValueOf(&full).Elem(), "")
	checkRecordJSON(t, &full)
	checkRecordJSON(t, &Record{})
	rt := reflect.TypeOf(full)
	for i := range rt.NumField() { // each field alone, then each one unset
		var one Record
		reflect.ValueOf(&one).Elem().Field(i).Set(reflect.ValueOf(full).Field(i))
		checkRecordJSON(t, &one)
		all := full
		all.Interview = &api.Interview{}
		*all.Interview = *full.Interview
		reflect.ValueOf(&all).Elem().Field(i).SetZero()
		checkRecordJSON(t, &all)
	}
	it := reflect.TypeOf(*full.Interview)
	for i := range it.NumField() {
		r := full
		iv := *full.Interview
		reflect.ValueOf(&iv).Elem().Field(i).SetZero()
		r.Interview = &iv
		checkRecordJSON(t, &r)
	}
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, edit := range []func(r *Record){
		func(r *Record) { r.LastInform = far },
		func(r *Record) { r.Registered = far },
		func(r *Record) { r.CRNoSession = far },
		func(r *Record) { r.Interview = &api.Interview{Started: far} },
		func(r *Record) { r.Interview = &api.Interview{Finished: &far} },
		func(r *Record) { r.Transfers = []PendingTransfer{{Since: far}} },
		func(r *Record) { r.LastInform = time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 25*3600)) },
	} {
		r := full
		edit(&r)
		checkRecordJSON(t, &r)
	}
}

func FuzzRecordAppendJSON(f *testing.F) {
	f.Add("202BC1-BM632w-SIM000001", "Huawei", "http://127.0.0.1:7547/", "done", int64(300), uint64(7))
	f.Add("a<b>&\"", "\x00\u2028\xff", "", "", int64(-1), uint64(0))
	f.Fuzz(func(t *testing.T, id, manufacturer, url, state string, interval int64, sum uint64) {
		r := &Record{ID: id, Manufacturer: manufacturer, ConnReqURL: url, PeriodicInterval: interval, StateSum: sum,
			LastInform: time.Unix(0, interval).UTC(), Quirks: []string{state}}
		if state != "" {
			r.Interview = &api.Interview{State: state, Error: url, Names: int(interval)}
		}
		checkRecordJSON(t, r)
	})
}
