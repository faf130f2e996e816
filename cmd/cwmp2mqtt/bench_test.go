package main

// Latency benchmarks of the whole gateway over loopback: a real in-process gateway (ACS, bridge,
// store, outbox, embedded broker, standard translator), one simulated CPE over HTTP and a paho
// platform client. Besides ns/op they report the p50 and p99 of the measured latency in ms.
//
//	go test ./cmd/cwmp2mqtt -run '^$' -bench RPCRoundTrip -benchtime 300x -count 3
//	go test ./cmd/cwmp2mqtt -run '^$' -bench InformToMQTT -benchtime 300x -count 3
//	go test ./cmd/cwmp2mqtt -run '^$' -bench RegistryMemory -benchtime 1x -count 3

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// benchPatience bounds each awaited message: a lost one fails the benchmark instead of hanging.
const benchPatience = 20 * time.Second

// benchMsg is one message the bench platform received.
type benchMsg struct {
	topic   string
	payload []byte
	at      time.Time
}

// benchRig is a gateway with one ready CPE and a platform subscribed to its topics. The
// harness of the e2e tests takes *testing.T; this one takes testing.TB and hands messages over
// a channel, so the waiting adds no polling delay to the latencies.
type benchRig struct {
	b    *testing.B
	pf   paho.Client
	msgs chan benchMsg
	cpe  *sim.CPE
	rec  *sim.Recorder
	base string // cwmp2mqtt/<device id>
	acs  string // the gateway's ACS, host:port
}

// startBenchGateway starts a gateway with its defaults on loopback ports and a store in a
// temporary directory; it stops with the benchmark.
func startBenchGateway(b *testing.B) *gateway { return startBenchGatewayWith(b, nil) }

// startBenchGatewayWith is startBenchGateway with extra settings (environment variables; an
// empty value removes a default).
func startBenchGatewayWith(b *testing.B, extra map[string]string) *gateway {
	b.Helper()
	env := map[string]string{
		"CWMP2MQTT_CWMP_LISTEN":          "127.0.0.1:0",
		"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": "127.0.0.1:0",
		"CWMP2MQTT_STORE_PATH":           filepath.Join(b.TempDir(), "gw.db"),
		"CWMP2MQTT_MQTT_CLIENT_ID":       "gw-bench",
		"CWMP2MQTT_ADMIN_LISTEN":         "127.0.0.1:0", // metrics on, as shipped
	}
	maps.Copy(env, extra)
	maps.DeleteFunc(env, func(_, v string) bool { return v == "" })
	cfg, err := loadConfig(newFlagSet("bench"), nil, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	g, err := newGateway(cfg, zaptest.NewLogger(b, zaptest.Level(zapcore.ErrorLevel)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.Stop)
	if err := g.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return g
}

// newBenchRig starts the rig.
func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	g := startBenchGateway(b)
	r := &benchRig{b: b, msgs: make(chan benchMsg, 1024)}
	opts := paho.NewClientOptions().AddBroker(g.broker.URL()).SetClientID("bench-platform").SetCleanSession(true)
	r.pf = paho.NewClient(opts)
	if tok := r.pf.Connect(); !tok.WaitTimeout(benchPatience) || tok.Error() != nil {
		b.Fatalf("platform connect: %v", tok.Error())
	}
	b.Cleanup(func() { r.pf.Disconnect(100) })
	// Every device topic the benchmarks wait on; the handler only stamps and forwards.
	for _, filter := range []string{"cwmp2mqtt/+/rpc/result", "cwmp2mqtt/+/inform", "cwmp2mqtt/+/availability"} {
		tok := r.pf.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
			r.msgs <- benchMsg{m.Topic(), append([]byte(nil), m.Payload()...), time.Now()}
		})
		if !tok.WaitTimeout(benchPatience) || tok.Error() != nil {
			b.Fatalf("subscribe %s: %v", filter, tok.Error())
		}
	}

	model, err := datamodel.LoadTR098Huawei()
	if err != nil {
		b.Fatal(err)
	}
	r.rec = sim.NewRecorder()
	r.acs = g.acs.Addr().String()
	r.cpe, err = sim.NewCPE(sim.Config{ACSURL: "http://" + r.acs + "/", Model: model, Serial: "BENCH1",
		PeriodicInterval: time.Hour, Hooks: r.rec.Hooks()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := r.cpe.ListenCR(ctx, "127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.cpe.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done }) // registered after g.Stop: runs before it
	r.base = "cwmp2mqtt/" + acs.DeviceIDFor(r.cpe.Model().DeviceID())

	// Ready: the bootstrap session (with the gateway's credential provisioning, checklist 49)
	// is over and the device is online, so the measured sessions carry only the benchmark's work.
	wctx, wcancel := context.WithTimeout(context.Background(), benchPatience)
	defer wcancel()
	if _, err := r.rec.WaitSession(wctx, sim.Mark{}, func(s sim.SessionResult) bool {
		return s.HasEvent(sim.EventBootstrap) && s.Err == nil
	}); err != nil {
		b.Fatalf("bootstrap session: %v", err)
	}
	r.await(r.base+"/availability", func(p map[string]any) bool { return p["state"] == "online" })
	return r
}

// await returns the first message on topic whose payload satisfies match, skipping others.
func (r *benchRig) await(topic string, match func(map[string]any) bool) benchMsg {
	r.b.Helper()
	deadline := time.NewTimer(benchPatience)
	defer deadline.Stop()
	for {
		select {
		case m := <-r.msgs:
			var p map[string]any
			if m.topic == topic && json.Unmarshal(m.payload, &p) == nil && match(p) {
				return m
			}
		case <-deadline.C:
			r.b.Fatalf("no matching message on %s within %s", topic, benchPatience)
		}
	}
}

// drain drops messages already received (e.g. retained or from earlier sessions).
func (r *benchRig) drain() {
	for {
		select {
		case <-r.msgs:
		default:
			return
		}
	}
}

// reportPercentiles adds the p50 and p99 of samples, in ms, to the benchmark's output as
// <prefix>p50-ms and <prefix>p99-ms.
func reportPercentiles(b *testing.B, prefix string, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	pct := func(p float64) float64 {
		return float64(samples[int(p*float64(len(samples)-1))].Microseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), prefix+"p50-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
}

// BenchmarkRPCRoundTrip: the platform publishes a GetParameterValues (with expires) for an
// idle CPE and waits for its `done`. One operation is MQTT in → queue → connection request →
// CPE session (6 CONNECTION REQUEST Inform, GPV, response) → result through the outbox → MQTT
// out (checklist 47: a request for an idle device wakes it). It also splits the latency:
// wake- is publish → the CPE's session start (MQTT in, queue, connection request), session- is
// the CPE's whole session (Inform to 204, as the CPE sees it). A request makes three store
// writes in sequence (queued, sent, done), each waiting up to bbolt's MaxBatchDelay (1 ms in
// the gateway since 78276e6, 10 ms before: 36 ms per request then, docs/performance.md).
func BenchmarkRPCRoundTrip(b *testing.B) {
	r := newBenchRig(b)
	const name = "InternetGatewayDevice.DeviceInfo.SoftwareVersion"
	pv, err := r.cpe.Model().Get(name)
	if err != nil {
		b.Fatal(err)
	}
	want := `"value":"` + pv.Value.Raw + `"`
	r.drain()
	var samples, wakes, sessions []time.Duration
	n := 0
	ctx := context.Background()
	for b.Loop() {
		n++
		id := fmt.Sprintf("bench-%d", n)
		mark := r.rec.Mark()
		start := time.Now()
		tok := r.pf.Publish(r.base+"/rpc", 1, false,
			`{"id":"`+id+`","method":"GetParameterValues","args":{"names":["`+name+`"]},"expires":30}`)
		if !tok.WaitTimeout(benchPatience) || tok.Error() != nil {
			b.Fatalf("publish: %v", tok.Error())
		}
		m := r.await(r.base+"/rpc/result", func(p map[string]any) bool {
			if p["id"] != id || p["status"] == "accepted" {
				return false
			}
			if p["status"] != "done" {
				b.Fatalf("request %s ended %v: %v", id, p["status"], p["error"])
			}
			return true
		})
		samples = append(samples, m.at.Sub(start))
		if !strings.Contains(string(m.payload), want) {
			b.Fatalf("result lacks %s: %s", want, m.payload)
		}
		wctx, cancel := context.WithTimeout(ctx, benchPatience)
		s, err := r.rec.WaitSession(wctx, mark, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventConnectionRequest) })
		cancel()
		if err != nil || s.Err != nil || !slices.Contains(s.RPCs, "GetParameterValues") {
			b.Fatalf("connection-request session: %v %v, ran %v", err, s.Err, s.RPCs)
		}
		wakes = append(wakes, s.Start.Sub(start))
		sessions = append(sessions, s.Duration)
	}
	reportPercentiles(b, "", samples)
	reportPercentiles(b, "wake-", wakes)
	reportPercentiles(b, "session-", sessions)
}

// BenchmarkInformToMQTT: the CPE informs (2 PERIODIC) and the platform waits for the Inform's
// message on B/D/inform. The latency is the CPE's session start to the message's arrival; an
// operation also waits for the session's end so sessions never overlap.
func BenchmarkInformToMQTT(b *testing.B) {
	r := newBenchRig(b)
	r.drain()
	ctx := context.Background()
	var samples []time.Duration
	for b.Loop() {
		mark := r.rec.Mark()
		start := time.Now()
		r.cpe.Inform(sim.EventPeriodic, "")
		m := r.await(r.base+"/inform", func(p map[string]any) bool {
			return strings.Contains(mustJSON(p["events"]), sim.EventPeriodic)
		})
		samples = append(samples, m.at.Sub(start))
		wctx, cancel := context.WithTimeout(ctx, benchPatience)
		s, err := r.rec.WaitSession(wctx, mark, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventPeriodic) })
		cancel()
		if err != nil || s.Err != nil {
			b.Fatalf("periodic session: %v %v", err, s.Err)
		}
	}
	reportPercentiles(b, "", samples)
}

// registryDevices is the fleet of BenchmarkRegistryMemory, the size of the load in
// docs/performance.md.
const registryDevices = 1000

// BenchmarkRegistryMemory: what each known device costs the gateway in memory. A fleet of
// 1,000 Huawei BM632w CPEs (TR-098, 792 parameters) boots against an in-process gateway (BOOT:
// registration, credential provisioning, the translator's full state read); the fleet is then
// stopped and its connections closed, so the live heap that remains above the idle gateway's is
// the registry: device records with every raw parameter, translator state, queues. Reported:
// heap-B/device (live heap after a GC, the floor of RSS: the Go runtime lets the heap grow to
// about twice the live heap between collections), store-B/device (the bbolt file, which the
// gateway maps: its touched pages count in RSS too).
//
// Variants by environment: CWMP2MQTT_BENCH_DEVICES (fleet size), CWMP2MQTT_BENCH_MODEL (tr098,
// the default, tr181, or a CSV file such as testdata/small-tr181.csv, 82 parameters),
// CWMP2MQTT_STORE_PARAMS_CACHE (the gateway setting),
// CWMP2MQTT_BENCH_BROKER=mosquitto (a Mosquitto process instead of the embedded broker, so the
// retained messages are not in the gateway's heap) and CWMP2MQTT_BENCH_HEAPPROFILE (a file for
// the heap profile taken at the measurement; with -test.memprofilerate 4096 for small objects).
//
// The in-process fleet's boot runs thousands of goroutines at once (its CPEs, their HTTP
// connections, the server's side of each), and Go never frees a goroutine's descriptor (about
// 400 bytes): the boot's peak would stay in the figure, though it is the benchmark's, not what
// a device costs. The descriptors are made before the baseline (CWMP2MQTT_BENCH_GOROUTINES, by
// default 8 per device), so the boot reuses them; boot-goroutines is the peak seen during the boot
// (sampled), and a peak above the descriptors made would be in heap-B/device again.
func BenchmarkRegistryMemory(b *testing.B) {
	n := registryDevices
	if v := os.Getenv("CWMP2MQTT_BENCH_DEVICES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("CWMP2MQTT_BENCH_DEVICES=%q: want a positive number", v)
		}
	}
	load := datamodel.LoadTR098Huawei
	switch m := os.Getenv("CWMP2MQTT_BENCH_MODEL"); m {
	case "", "tr098":
	case "tr181":
		load = datamodel.LoadTR181
	default: // a CSV file, as cpesim -model takes
		load = func() (*datamodel.Model, error) {
			f, err := os.Open(m)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return datamodel.LoadCSV(f)
		}
	}
	model, err := load()
	if err != nil {
		b.Fatalf("CWMP2MQTT_BENCH_MODEL: %v", err)
	}
	// Registrations unbounded: the fleet boots as fast as the machine allows.
	extra := map[string]string{"CWMP2MQTT_CWMP_REGISTRATION_RATE": "0"}
	if v := os.Getenv("CWMP2MQTT_STORE_PARAMS_CACHE"); v != "" {
		extra["CWMP2MQTT_STORE_PARAMS_CACHE"] = v
	}
	switch v := os.Getenv("CWMP2MQTT_BENCH_BROKER"); v {
	case "", "embedded":
	case "mosquitto":
		url, _, _ := mqtttest.StartMosquitto(b)
		extra["CWMP2MQTT_MQTT_URL"], extra["CWMP2MQTT_MQTT_EMBEDDED_LISTEN"] = url, ""
	default:
		b.Fatalf("CWMP2MQTT_BENCH_BROKER=%q: want embedded or mosquitto", v)
	}
	spare := 8 * n
	if v := os.Getenv("CWMP2MQTT_BENCH_GOROUTINES"); v != "" {
		var err error
		if spare, err = strconv.Atoi(v); err != nil || spare < 0 {
			b.Fatalf("CWMP2MQTT_BENCH_GOROUTINES=%q: want a number", v)
		}
	}
	patience := 120 * time.Second * time.Duration(max(1, n/registryDevices))
	for b.Loop() {
		g := startBenchGatewayWith(b, extra)
		spareGoroutines(spare)
		before := liveHeap()
		peak := samplePeakGoroutines()

		var mu sync.Mutex
		booted := map[string]bool{}
		all := make(chan struct{})
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = n
		fleet, err := sim.NewFleet(sim.FleetConfig{
			N: n, Model: func(int) (*datamodel.Model, error) { return model.Clone(), nil },
			StartSpread: 5 * time.Second,
			CPE: sim.Config{ACSURL: "http://" + g.acs.Addr().String() + "/", PeriodicInterval: time.Hour,
				Bootstrapped: true, Transport: tr,
				Hooks: sim.Hooks{OnSession: func(s sim.SessionResult) {
					// A registered device: its BOOT session ended well and carried the state read.
					if s.Err != nil || !s.HasEvent(sim.EventBoot) || !slices.Contains(s.RPCs, "GetParameterValues") {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					booted[s.Serial] = true
					if len(booted) == n {
						close(all)
					}
				}}},
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := fleet.Start(ctx); err != nil {
			b.Fatal(err)
		}
		select {
		case <-all:
		case <-time.After(patience):
			mu.Lock()
			got := len(booted)
			mu.Unlock()
			b.Fatalf("%d of %d CPEs registered within %s", got, n, patience)
		}
		cancel()
		fleet.Stop()
		fleet = nil // its CPEs' models are not the gateway's
		b.ReportMetric(float64(peak()), "boot-goroutines")
		tr.CloseIdleConnections()
		if h := g.bridge.Health(); h.Devices != n {
			b.Fatalf("gateway knows %d devices, want %d", h.Devices, n)
		}
		// Settled: the outbox delivered the fleet's publications, the server closed the fleet's
		// connections (their buffers are not the registry's).
		deadline := time.Now().Add(benchPatience)
		for g.outbox.Stats().Queued > 0 || g.acs.Stats().Open > 0 {
			if time.Now().After(deadline) {
				b.Fatalf("not settled within %s: outbox %d", benchPatience, g.outbox.Stats().Queued)
			}
			time.Sleep(10 * time.Millisecond)
		}
		after := liveHeap()
		if path := os.Getenv("CWMP2MQTT_BENCH_HEAPPROFILE"); path != "" {
			writeHeapProfile(b, path)
		}

		b.ReportMetric(float64(int64(after)-int64(before))/float64(n), "heap-B/device")
		// Not per device: a count that grew with the fleet would be a leak.
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		st, err := os.Stat(g.cfg.StorePath)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Size())/float64(n), "store-B/device")
		logBuckets(b, g.db, n)
	}
}

// logBuckets logs what each bucket of the store file holds per device: its keys and values
// (Stats().LeafInuse), and the pages it takes.
func logBuckets(b *testing.B, db *bolt.DB, n int) {
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			s := bk.Stats()
			b.Logf("bucket %-10s %7d keys, %8.0f B/device in use, %8.0f B/device in pages", name, s.KeyN,
				float64(s.LeafInuse+s.BranchInuse)/float64(n), float64(s.LeafAlloc+s.BranchAlloc)/float64(n))
			return nil
		})
	})
}

// spareGoroutines starts n goroutines and lets them end: their descriptors stay, for the next
// goroutines to reuse.
func spareGoroutines(n int) {
	var started, done sync.WaitGroup
	release := make(chan struct{})
	started.Add(n)
	done.Add(n)
	for range n {
		go func() {
			started.Done()
			<-release
			done.Done()
		}()
	}
	started.Wait()
	close(release)
	done.Wait()
}

// samplePeakGoroutines watches the goroutine count every 5 ms until the returned function is
// called, which says the highest count seen.
func samplePeakGoroutines() func() int {
	stop, out := make(chan struct{}), make(chan int)
	go func() {
		peak := runtime.NumGoroutine()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				peak = max(peak, runtime.NumGoroutine())
			case <-stop:
				out <- peak
				return
			}
		}
	}()
	return func() int {
		close(stop)
		return <-out
	}
}

// writeHeapProfile writes the heap profile to path, after collections enough for it to show the
// live heap (a profile is up to two cycles old).
func writeHeapProfile(b *testing.B, path string) {
	runtime.GC()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // objects freed by finalizers of the first round
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
