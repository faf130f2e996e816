package host

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator"
)

// BenchmarkNormalize100 measures one Normalize of an Inform-sized request (100 parameters, 75
// state keys) through the handle: out of process (gRPC over a unix socket with mTLS, plus
// validation) and in-process (goroutine hand-off plus validation). Besides ns/op it reports
// the p50 and p99 of the per-call latencies in µs.
//
//	go test -run '^$' -bench Normalize100 -benchmem ./plugins/sdk/host/
func BenchmarkNormalize100(b *testing.B) {
	cfg := fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Normal)})
	h, err := New(cfg, zap.NewNop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Stop()
	if err := h.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err := h.RegisterInProcess(renamed{testtranslator.New(nil), "local", nil}); err != nil {
		b.Fatal(err)
	}
	req := normalizeReq(testtranslator.Params100())
	b.Run("direct", func(b *testing.B) { // the translator alone: the floor under both
		impl := testtranslator.New(nil)
		for b.Loop() {
			if _, err := impl.Normalize(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, name := range []string{"acme", "local"} {
		tr, _ := h.Get(name)
		label := map[string]string{"acme": "plugin", "local": "in-process"}[name]
		b.Run(label, func(b *testing.B) {
			ctx := context.Background()
			var samples []time.Duration
			for b.Loop() {
				start := time.Now()
				st, err := tr.Normalize(ctx, req)
				samples = append(samples, time.Since(start))
				if err != nil || len(st) != 75 {
					b.Fatalf("Normalize: %d keys, %v", len(st), err)
				}
			}
			slices.Sort(samples)
			pct := func(p float64) float64 {
				return float64(samples[int(p*float64(len(samples)-1))].Nanoseconds()) / 1e3
			}
			b.ReportMetric(pct(0.50), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
		})
	}
}
