package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	bolt "go.etcd.io/bbolt"
)

// checkRecordBinary fails unless r reads back from its stored form as it was: every byte of every
// string, every time as the same instant with the same offset. Params and State are stored apart.
func checkRecordBinary(t *testing.T, r *Record) {
	t.Helper()
	want := *r
	want.Params, want.State = nil, nil
	got := &Record{}
	if err := decodeRecord(encodeRecord(r), got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if g, w := inUTC(got), inUTC(&want); !reflect.DeepEqual(g, w) {
		t.Fatalf("read back:\n%#v\nwant\n%#v", g, w)
	}
	gj, gerr := json.Marshal(got)
	wj, werr := json.Marshal(&want)
	if (gerr != nil) != (werr != nil) || !bytes.Equal(gj, wj) {
		t.Fatalf("read back as JSON:\n%s (%v)\nwant\n%s (%v)", gj, gerr, wj, werr)
	}
}

// inUTC is a deep copy of r with its times in UTC (a decoded offset has no zone name).
func inUTC(r *Record) *Record {
	c := *r
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.UTC()
	}
	c.Registered, c.LastInform, c.CRNoSession = utc(c.Registered), utc(c.LastInform), utc(c.CRNoSession)
	if c.Transfers != nil {
		c.Transfers = append([]PendingTransfer(nil), c.Transfers...)
		for i := range c.Transfers {
			c.Transfers[i].Since = utc(c.Transfers[i].Since)
		}
	}
	if r.Interview != nil {
		iv := *r.Interview
		iv.Started = utc(iv.Started)
		if iv.Finished != nil {
			f := utc(*iv.Finished)
			iv.Finished = &f
		}
		c.Interview = &iv
	}
	return &c
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

// A device record reads back from its binary form as it was: every field set (a field added to
// Record or api.Interview and not stored fails here), none set, each one alone, each one unset,
// times JSON cannot write, and zones other than UTC.
func TestRecordBinaryKeepsEveryField(t *testing.T) {
	var full Record
	fill(t, reflect.ValueOf(&full).Elem(), "")
	checkRecordBinary(t, &full)
	checkRecordBinary(t, &Record{})
	rt := reflect.TypeOf(full)
	for i := range rt.NumField() { // each field alone, then each one unset
		var one Record
		reflect.ValueOf(&one).Elem().Field(i).Set(reflect.ValueOf(full).Field(i))
		checkRecordBinary(t, &one)
		all := full
		all.Interview = &api.Interview{}
		*all.Interview = *full.Interview
		reflect.ValueOf(&all).Elem().Field(i).SetZero()
		checkRecordBinary(t, &all)
	}
	it := reflect.TypeOf(*full.Interview)
	for i := range it.NumField() {
		r := full
		iv := *full.Interview
		reflect.ValueOf(&iv).Elem().Field(i).SetZero()
		r.Interview = &iv
		checkRecordBinary(t, &r)
	}
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, edit := range []func(r *Record){
		func(r *Record) { r.LastInform = far },
		func(r *Record) { r.Registered = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC) },
		func(r *Record) { r.CRNoSession = time.Unix(-5, 999999999).UTC() },
		func(r *Record) { r.Interview = &api.Interview{Started: far} },
		func(r *Record) { r.Interview = &api.Interview{Finished: &far} },
		func(r *Record) { r.Transfers = []PendingTransfer{{Since: far}} },
		func(r *Record) { r.LastInform = time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", -25*3600)) },
		func(r *Record) { r.Quirks, r.Poisoned = []string{""}, []string{strings.Repeat("p", 300)} },
	} {
		r := full
		edit(&r)
		checkRecordBinary(t, &r)
	}
}

// A record's stored form is a fraction of its JSON (about 900 bytes for a registered Huawei
// device), and anything but a whole record is an error, never a record with fields shifted.
func TestRecordBinaryIsSmallAndRefusesWhatIsNotARecord(t *testing.T) {
	r := &Record{}
	if err := json.Unmarshal([]byte(typicalRecordJSON), r); err != nil {
		t.Fatal(err)
	}
	v := encodeRecord(r)
	if len(v)*2 > len(typicalRecordJSON) {
		t.Errorf("a typical record is stored in %d bytes, its JSON is %d: want under half", len(v), len(typicalRecordJSON))
	}
	checkRecordBinary(t, r)
	for name, bad := range map[string][]byte{
		"empty":          {},
		"unknown format": append([]byte{0x7f}, v[1:]...),
		"truncated":      v[:len(v)-1],
		"trailing bytes": append(append([]byte(nil), v...), 0),
		"huge string":    {recordFormat2, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad bool":       append(append([]byte{recordFormat2}, make([]byte, 10)...), 0, 0, 0, 0, 0, 0, 0, 7),
	} {
		if got := (&Record{}); decodeRecord(bad, got) == nil {
			t.Errorf("%s: read as %+v, want an error", name, got)
		}
	}
}

const typicalRecordJSON = `{"id":"202BC1-BM632w-SIM000001","manufacturer":"Huawei Technologies Co., Ltd.","oui":"202BC1","product_class":"BM632w","serial":"SIM000001","firmware":"V100R001IRQC56B017","hardware":"40501","root":"InternetGatewayDevice.","remote_addr":"10.1.2.3:40662","registered":"2026-12-02T09:26:20.934535707Z","last_inform":"2026-12-02T09:31:20.934535707Z","connreq_url":"http://10.1.2.3:7547/","connreq_user":"cwmp2mqtt-HMu8O_kp","connreq_pass":"sQreL3JcxJtFn4w-E9Tq7e8I","periodic_interval":300,"online":true,"state_sum":6177054524695353091,"params_gen":3,"inform_sum":15024575296243158175,"state_of":1987725372453917047,"translator":"standard","interview":{"state":"done","reason":"first_contact","firmware":"V100R001IRQC56B017","shared":true,"names":1002,"keys":74,"rpcs":1,"duration_ms":35,"started":"2026-12-02T09:26:20.937312885Z","finished":"2026-12-02T09:26:20.972312885Z"}}`

// Records written by an earlier version are JSON and still read; an unreadable one stops the
// start with an error naming the device (a device is not silently forgotten).
func TestRecordsStoredAsJSONByEarlierVersionStillRead(t *testing.T) {
	_, st, db := openTest(t, 0)
	put := func(id string, v []byte) {
		t.Helper()
		if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketDevices).Put([]byte(id), v) }); err != nil {
			t.Fatal(err)
		}
	}
	put("old", []byte(typicalRecordJSON))
	recs, err := loadAll(st)
	if err != nil || len(recs) != 1 || recs[0].ID != "202BC1-BM632w-SIM000001" || recs[0].InformSum != 15024575296243158175 || recs[0].Interview == nil {
		t.Fatalf("earlier version's record: %+v, %v", recs, err)
	}
	put("bad", []byte{recordFormat2, 1})
	if _, err := loadAll(st); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("corrupt record: %v, want an error naming the device", err)
	}
}

// A record of the first binary format (no InfoSum) still reads: its fields as they were, InfoSum 0.
func TestRecordOfTheFirstBinaryFormatStillReads(t *testing.T) {
	r := &Record{}
	if err := json.Unmarshal([]byte(typicalRecordJSON), r); err != nil {
		t.Fatal(err)
	}
	r.InfoSum = 0
	v := encodeRecord(r)
	// The first format is the second without InfoSum's 8 bytes, after the other four sums.
	at := bytes.Index(v, binary.LittleEndian.AppendUint64(nil, r.StateOf)) + 8
	first := append([]byte{recordFormat1}, v[1:at]...)
	first = append(first, v[at+8:]...)
	got := &Record{}
	if err := decodeRecord(first, got); err != nil {
		t.Fatal(err)
	}
	if g, w := inUTC(got), inUTC(r); !reflect.DeepEqual(g, w) {
		t.Fatalf("read back:\n%#v\nwant\n%#v", g, w)
	}
}

func FuzzRecordBinary(f *testing.F) {
	f.Add("202BC1-BM632w-SIM000001", "Huawei", "http://127.0.0.1:7547/", "done", int64(300), uint64(7))
	f.Add("a<b>&\"", "\x00\u2028\xff", "", "", int64(-1), uint64(0))
	f.Fuzz(func(t *testing.T, id, manufacturer, url, state string, interval int64, sum uint64) {
		r := &Record{ID: id, Manufacturer: manufacturer, ConnReqURL: url, PeriodicInterval: interval, StateSum: sum,
			LastInform: time.Unix(0, interval).UTC(), Quirks: []string{state}}
		if state != "" {
			r.Interview = &api.Interview{State: state, Error: url, Names: int(interval)}
		}
		checkRecordBinary(t, r)
	})
}

// Whatever bytes a damaged store holds, decoding one returns a record or an error, and a record it
// returns reads back the same once stored again.
func FuzzDecodeRecord(f *testing.F) {
	r := &Record{}
	_ = json.Unmarshal([]byte(typicalRecordJSON), r)
	f.Add(encodeRecord(r))
	f.Add(encodeRecord(&Record{}))
	f.Fuzz(func(t *testing.T, v []byte) {
		got := &Record{}
		if err := decodeRecord(v, got); err != nil || len(v) == 0 || v[0] != recordFormat2 {
			return
		}
		checkRecordBinary(t, got)
	})
}
