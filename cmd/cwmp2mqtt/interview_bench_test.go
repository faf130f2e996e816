package main

// The cost of an interview (docs/performance.md "Interview"): one periodic-only CPE met for the
// first time, over loopback, with the in-process gateway. Each op is a new CPE; "discovered"
// gives each a firmware of its own (GetParameterNames every time), "shared" the same firmware
// (the names of the first interview are reused). Reported: names, keys, RPCs and duration of the
// interview (from its interview_done event) and the HTTP body bytes of the CPE's first session
// both ways.
//
//	go test ./cmd/cwmp2mqtt -run '^$' -bench Interview -benchtime 20x -count 3

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
)

// countingTransport counts the HTTP body bytes a CPE sends and receives.
type countingTransport struct {
	base      http.RoundTripper
	out, into atomic.Int64
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.ContentLength > 0 {
		t.out.Add(r.ContentLength)
	}
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &t.into}
	}
	return resp, err
}

func BenchmarkInterview(b *testing.B) {
	for _, model := range []string{"tr098", "tr181"} {
		for _, mode := range []string{"discovered", "shared"} {
			b.Run(model+"/"+mode, func(b *testing.B) { benchInterview(b, model, mode == "shared") })
		}
	}
}

func benchInterview(b *testing.B, model string, shared bool) {
	g := startBenchGateway(b)
	events := make(chan []byte, 64)
	pf := paho.NewClient(paho.NewClientOptions().AddBroker(g.broker.URL()).SetClientID("bench-interview").SetCleanSession(true))
	if tok := pf.Connect(); !tok.WaitTimeout(benchPatience) || tok.Error() != nil {
		b.Fatalf("platform connect: %v", tok.Error())
	}
	b.Cleanup(func() { pf.Disconnect(100) })
	if tok := pf.Subscribe("cwmp2mqtt/+/event", 1, func(_ paho.Client, m paho.Message) {
		events <- append([]byte(nil), m.Payload()...)
	}); !tok.WaitTimeout(benchPatience) || tok.Error() != nil {
		b.Fatalf("subscribe: %v", tok.Error())
	}
	load := datamodel.LoadTR098Huawei
	swName := "InternetGatewayDevice.DeviceInfo.SoftwareVersion"
	if model == "tr181" {
		load, swName = datamodel.LoadTR181, "Device.DeviceInfo.SoftwareVersion"
	}
	base, err := load()
	if err != nil {
		b.Fatal(err)
	}
	acsURL := "http://" + g.acs.Addr().String() + "/"
	// run meets one new CPE and returns its interview and the bytes of its first session.
	run := func(i int) (map[string]any, int64, int64) {
		m := base.Clone()
		if !shared {
			if err := m.Set(swName, fmt.Sprintf("bench-%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		tr := &countingTransport{base: http.DefaultTransport}
		rec := sim.NewRecorder()
		cpe, err := sim.NewCPE(sim.Config{ACSURL: acsURL, Model: m, Serial: fmt.Sprintf("IV%06d", i), Transport: tr,
			PeriodicInterval: time.Hour, Quirks: sim.Quirks{sim.QuirkPeriodicOnly}, Hooks: rec.Hooks()})
		if err != nil {
			b.Fatal(err)
		}
		id := acs.DeviceIDFor(cpe.Model().DeviceID())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() { cpe.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		wctx, wcancel := context.WithTimeout(ctx, benchPatience)
		defer wcancel()
		if _, err := rec.WaitSession(wctx, sim.Mark{}, func(sim.SessionResult) bool { return true }); err != nil {
			b.Fatalf("first session: %v", err)
		}
		deadline := time.After(benchPatience)
		for {
			select {
			case p := <-events:
				var ev struct {
					Event  string         `json:"event"`
					Device string         `json:"device"`
					Data   map[string]any `json:"data"`
				}
				if json.Unmarshal(p, &ev) == nil && ev.Device == id && (ev.Event == "interview_done" || ev.Event == "interview_failed") {
					if ev.Event == "interview_failed" {
						b.Fatalf("interview failed: %v", ev.Data)
					}
					return ev.Data, tr.out.Load(), tr.into.Load()
				}
			case <-deadline:
				b.Fatal("no interview_done")
			}
		}
	}
	if shared {
		run(-1) // the first device of the model discovers it
	}
	var names, keys, rpcs, ms, out, into float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		iv, o, in := run(i)
		names += iv["names"].(float64)
		keys += iv["keys"].(float64)
		rpcs += iv["rpcs"].(float64)
		ms += iv["duration_ms"].(float64)
		out += float64(o)
		into += float64(in)
	}
	n := float64(b.N)
	b.ReportMetric(names/n, "names")
	b.ReportMetric(keys/n, "keys")
	b.ReportMetric(rpcs/n, "rpcs")
	b.ReportMetric(ms/n, "interview-ms")
	b.ReportMetric(out/n, "cpe-sent-B")
	b.ReportMetric(into/n, "cpe-recv-B")
}
