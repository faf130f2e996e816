package main

// Latency benchmarks of the whole gateway over loopback: a real in-process gateway (ACS, bridge,
// store, outbox, embedded broker, standard translator), one simulated CPE over HTTP and a paho
// platform client. Besides ns/op they report the p50 and p99 of the measured latency in ms.
//
//	go test ./cmd/cwmp2mqtt -run '^$' -bench RPCRoundTrip -benchtime 300x -count 3
//	go test ./cmd/cwmp2mqtt -run '^$' -bench InformToMQTT -benchtime 300x -count 3

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/cwmp2mqtt/cwmp2mqtt/cmd/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/cmd/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/cwmp/acs"
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
}

// newBenchRig starts the rig; tune, when set, adjusts the started gateway before any CPE exists.
func newBenchRig(b *testing.B, tune func(*gateway)) *benchRig {
	b.Helper()
	env := map[string]string{
		"CWMP2MQTT_CWMP_LISTEN":          "127.0.0.1:0",
		"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": "127.0.0.1:0",
		"CWMP2MQTT_STORE_PATH":           filepath.Join(b.TempDir(), "gw.db"),
		"CWMP2MQTT_MQTT_CLIENT_ID":       "gw-bench",
	}
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
	if tune != nil {
		tune(g)
	}

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
	r.cpe, err = sim.NewCPE(sim.Config{ACSURL: "http://" + g.acs.Addr().String() + "/", Model: model, Serial: "BENCH1",
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
// the CPE's whole session (Inform to 204, as the CPE sees it).
//
// The bridge's store writes go through bbolt's DB.Batch, which holds a lone write for
// MaxBatchDelay (10 ms by default) hoping for company; a request makes three such writes in
// sequence. The second sub-benchmark shows the latency with that delay at 1 ms: a what-if for
// the lead, the gateway itself is unchanged.
func BenchmarkRPCRoundTrip(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchRPCRoundTrip(b, nil) })
	b.Run("bolt-batch-delay=1ms", func(b *testing.B) {
		benchRPCRoundTrip(b, func(g *gateway) { g.db.MaxBatchDelay = time.Millisecond })
	})
}

func benchRPCRoundTrip(b *testing.B, tune func(*gateway)) {
	r := newBenchRig(b, tune)
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
	r := newBenchRig(b, nil)
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
