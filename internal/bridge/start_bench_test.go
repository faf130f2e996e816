package bridge

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// discard is a Publisher that drops everything (the benchmark measures the registry).
type discard struct{}

func (discard) Enqueue(string, []byte, bool, byte) error  { return nil }
func (discard) EnqueueBatch(...mqtt.Publish) error        { return nil }
func (discard) EnqueueTx(*bolt.Tx, ...mqtt.Publish) error { return nil }

// startDevices and startParams: the stored fleet of BenchmarkStartWithKnownDevices, 10,000
// devices of the size of the Huawei BM632w model (792 parameters).
const startDevices, startParams = 10000, 792

// BenchmarkStartWithKnownDevices: how long Bridge.Start takes with 10,000 stored devices of
// 792 raw parameters each (the gateway's ACS listens once it returns), and the live heap per
// device right after it (the republication of retained topics runs behind, to a discarding
// publisher, and is not waited for). Reported: start-ms, heap-B/device.
func BenchmarkStartWithKnownDevices(b *testing.B) {
	path := filepath.Join(b.TempDir(), "store.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	values, err := bolt.Open(filepath.Join(b.TempDir(), "store.values.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := registry.OpenStore(db, values)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < startDevices; i += 500 {
		var recs []*registry.Record
		for j := i; j < i+500; j++ {
			r := &registry.Record{ID: fmt.Sprintf("00259E-BM632w-%08d", j), Manufacturer: "Huawei", OUI: "00259E", ProductClass: "BM632w",
				SerialNumber: fmt.Sprintf("%08d", j), SoftwareVersion: "V100R001", Root: "InternetGatewayDevice.",
				Registered: now, LastInform: now, PeriodicInterval: 3600, ConnReqURL: "http://192.0.2.1:7547/cr",
				Params: make(map[string]registry.ParamValue, startParams)}
			for k := range startParams {
				r.Params[fmt.Sprintf("InternetGatewayDevice.X_HW_Object.%d.Parameter%d", k/10, k%10)] = registry.ParamValue{Value: fmt.Sprintf("value-%d-%d", j, k), Type: "string"}
			}
			recs = append(recs, r)
		}
		if _, err := st.Put(recs); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		before := liveHeapNow()
		t0 := time.Now()
		br, err := New(db, discard{}, nil, nil, Options{ValuesStore: values}, zap.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		if err := br.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		after := liveHeapNow()
		br.Stop()
		b.ReportMetric(float64(took.Milliseconds()), "start-ms")
		b.ReportMetric(float64(int64(after)-int64(before))/startDevices, "heap-B/device")
	}
	db.Close()
}

func liveHeapNow() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
