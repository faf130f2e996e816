package registry

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	bolt "go.etcd.io/bbolt"
)

// huaweiParams are the values of the Huawei TR-098 model (792 parameters) as the registry
// keeps them.
func huaweiParams(t testing.TB) []soap.ParameterValue {
	t.Helper()
	m, err := datamodel.LoadTR098Huawei()
	if err != nil {
		t.Fatal(err)
	}
	vals, err := m.Values([]string{m.Root()})
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

func storedParams(t *testing.T, db *bolt.DB, id string) (v []byte) {
	t.Helper()
	_ = db.View(func(tx *bolt.Tx) error {
		v = append([]byte(nil), tx.Bucket(bucketParams).Get([]byte(id))...)
		return nil
	})
	return v
}

// A store written by an earlier version (raw parameters as a JSON object) still reads, and the
// next write of the device stores them compact.
func TestParamsStoredAsJSONByEarlierVersionStillRead(t *testing.T) {
	g, _, db := openTest(t, 0)
	old := map[string]ParamValue{upTime: {Value: "42", Type: "xsd:unsignedInt"}, "InternetGatewayDevice.DeviceInfo.Manufacturer": {Value: "Huawei"}}
	v, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketParams).Put([]byte("d1"), v) }); err != nil {
		t.Fatal(err)
	}
	g.Add("d1", false)
	var got map[string]ParamValue
	g.WithParams("d1", func(p map[string]ParamValue) { got = maps.Clone(p) })
	if !maps.Equal(got, old) {
		t.Fatalf("read %v, want %v", got, old)
	}
	g.SetParams("d1", []soap.ParameterValue{pv(upTime, "43")})
	if _, err := g.Write([]*Record{{ID: "d1"}}); err != nil {
		t.Fatal(err)
	}
	if s := storedParams(t, db, "d1"); len(s) == 0 || s[0] != paramsFormat1 {
		t.Fatalf("rewritten as %q, want the compact form", s)
	}
	g.Trim(never)
	want := maps.Clone(old)
	want[upTime] = ParamValue{Value: "43", Type: "xsd:string"}
	g.WithParams("d1", func(p map[string]ParamValue) { got = maps.Clone(p) })
	if !maps.Equal(got, want) {
		t.Fatalf("read back %v, want %v", got, want)
	}
}

// The raw parameters of a 792-parameter model take a fraction of their JSON in the store file,
// and come back exactly: every name, value and type, unusual ones included.
func TestParamsStoredCompactReadBackExactly(t *testing.T) {
	g, _, db := openTest(t, 0)
	vals := huaweiParams(t)
	vals = append(vals,
		soap.ParameterValue{Name: "X_VENDOR.Odd", Value: soap.Value{Type: "cwmp:custom", Raw: "é\x00ü"}},
		soap.ParameterValue{Name: "X", Value: soap.Value{Raw: ""}},
		soap.ParameterValue{Name: "X_VENDOR.Long", Value: soap.Value{Type: "xsd:string", Raw: strings.Repeat("v", 70000)}})
	g.Add("d1", true)
	g.SetParams("d1", vals)
	var want map[string]ParamValue
	g.WithParams("d1", func(p map[string]ParamValue) { want = maps.Clone(p) })
	if _, err := g.Write([]*Record{{ID: "d1"}}); err != nil {
		t.Fatal(err)
	}
	g.Trim(never)
	if h, _ := g.Held("d1"); h.Params {
		t.Fatal("parameters kept in memory: the read below would not come from the store")
	}
	var got map[string]ParamValue
	g.WithParams("d1", func(p map[string]ParamValue) { got = maps.Clone(p) })
	if len(got) != len(vals) || !maps.Equal(got, want) {
		t.Fatalf("read back %d parameters, want %d, equal %v", len(got), len(vals), maps.Equal(got, want))
	}
	delete(want, "X_VENDOR.Long")
	asJSON, _ := json.Marshal(want)
	g.SetParams("d1", []soap.ParameterValue{{Name: "X_VENDOR.Long", Value: soap.Value{Type: "xsd:string", Raw: "short"}}})
	if _, err := g.Write([]*Record{{ID: "d1"}}); err != nil {
		t.Fatal(err)
	}
	if stored := storedParams(t, db, "d1"); len(stored)*4 > len(asJSON) {
		t.Fatalf("%d parameters stored in %d bytes, their JSON is %d: want under a quarter", len(want), len(stored), len(asJSON))
	}
}

// A stored value that does not decode is an error naming the device (the registry then logs it
// and waits for the CPE's next values), never a crash or an unbounded allocation.
func TestCorruptStoredParamsAreAnErrorNamingTheDevice(t *testing.T) {
	_, st, db := openTest(t, 0)
	full := encodeParams(map[string]ParamValue{upTime: {Value: "42", Type: "xsd:unsignedInt"}, "A.B": {Value: "x", Type: "odd"}})
	raw, err := paramsDecoder.DecodeAll(full[1:], nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string][]byte{
		"truncated frame": full[:len(full)-3],
		"truncated list":  paramsEncoder.EncodeAll(raw[:len(raw)-2], []byte{paramsFormat1}),
		"huge count":      paramsEncoder.EncodeAll([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, []byte{paramsFormat1}),
		"bad type":        paramsEncoder.EncodeAll([]byte{1, 0, 1, 'A', 0x80, 0}, []byte{paramsFormat1}),
		"shared too long": paramsEncoder.EncodeAll([]byte{1, 5, 1, 'A', 0, 0}, []byte{paramsFormat1}),
		"not JSON":        []byte("garbage"),
	} {
		if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketParams).Put([]byte("d1"), v) }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Params("d1"); err == nil || !strings.Contains(err.Error(), `"d1"`) {
			t.Errorf("%s: %v, want an error naming d1", name, err)
		}
	}
}

// The last state is stored compressed, and a state stored as plain JSON by an earlier version
// still reads.
func TestStateStoredAsJSONByEarlierVersionStillRead(t *testing.T) {
	g, st, db := openTest(t, 0)
	old := []byte(`{"values":{"wifi.ssid":"home"},"stale":false}`)
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketState).Put([]byte("d1"), old) }); err != nil {
		t.Fatal(err)
	}
	g.Add("d1", false)
	if got, err := g.State("d1"); err != nil || string(got) != string(old) {
		t.Fatalf("read %q %v, want %q", got, err, old)
	}
	big := []byte(`{"values":{` + strings.Repeat(`"wifi.ssid":"home",`, 100) + `"x":1}}`)
	g.SetState("d1", big)
	if _, err := g.Write([]*Record{{ID: "d1"}}); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	_ = db.View(func(tx *bolt.Tx) error {
		stored = append(stored, tx.Bucket(bucketState).Get([]byte("d1"))...)
		return nil
	})
	if len(stored) == 0 || stored[0] != stateZstd || len(stored)*4 > len(big) {
		t.Fatalf("state stored in %d bytes (first %x), want compressed under a quarter of %d", len(stored), stored[:min(1, len(stored))], len(big))
	}
	if got, err := st.State("d1"); err != nil || string(got) != string(big) {
		t.Fatalf("read back %q %v", got, err)
	}
}

// BenchmarkStoredParams: encoding and decoding the stored raw parameters of one Huawei device
// (792 parameters), as the write-behind flush and a state read of an idle device do; "json" is
// the form earlier versions wrote.
//
//	go test ./internal/bridge/registry -run '^$' -bench StoredParams -benchmem
func BenchmarkStoredParams(b *testing.B) {
	vals := huaweiParams(b)
	p := make(map[string]ParamValue, len(vals))
	for _, v := range vals {
		p[v.Name] = ParamValue{Value: v.Value.Raw, Type: v.Value.Type}
	}
	asJSON, _ := json.Marshal(p)
	compact := encodeParams(p)
	b.Run("encode/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(p)
		}
		b.ReportMetric(float64(len(asJSON)), "stored-B")
	})
	b.Run("encode/compact", func(b *testing.B) {
		for b.Loop() {
			_ = encodeParams(p)
		}
		b.ReportMetric(float64(len(compact)), "stored-B")
	})
	b.Run("decode/json", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeParams(asJSON); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/compact", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeParams(compact); err != nil {
				b.Fatal(err)
			}
		}
	})
}
