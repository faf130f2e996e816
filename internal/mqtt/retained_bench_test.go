package mqtt_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
)

// BenchmarkBrokerRetainedMemory is mochi's BenchmarkRetainedMemory through the embedded broker
// as the gateway runs it: 10,000 devices × 3 retained topics of 100 bytes, published in
// process, in memory and in the retained-message file (after its flush: an idle fleet).
// Run: go test ./internal/mqtt -run '^$' -bench BrokerRetainedMemory -benchtime 1x
func BenchmarkBrokerRetainedMemory(b *testing.B) {
	const devices = 10000
	payload := make([]byte, 100)
	for _, file := range []bool{false, true} {
		b.Run(map[bool]string{false: "memory", true: "file"}[file], func(b *testing.B) {
			for range b.N {
				opts := mqtt.BrokerOptions{Listen: "127.0.0.1:0"}
				if file {
					opts.RetainedFile = filepath.Join(b.TempDir(), "retained.db")
				}
				before := heapNow()
				br, err := mqtt.StartBroker(opts, zap.NewNop())
				if err != nil {
					b.Fatal(err)
				}
				for i := range devices {
					for _, leaf := range []string{"state", "info", "availability"} {
						if err := br.PublishInlineForTest(fmt.Sprintf("cwmp2mqtt/dev-%d/%s", i, leaf), payload, true, 1); err != nil {
							b.Fatal(err)
						}
					}
				}
				if file {
					br.FlushRetained()
				}
				after := heapNow()
				if p := os.Getenv("RETAINED_HEAPPROFILE"); p != "" && file {
					f, _ := os.Create(p)
					_ = pprof.WriteHeapProfile(f)
					_ = f.Close()
				}
				b.ReportMetric(float64(after-before)/(3*devices), "heap-B/msg")
				runtime.KeepAlive(br)
				_ = br.Close()
			}
		})
	}
}

func heapNow() int64 {
	runtime.GC()
	runtime.GC() // sync.Pools (bbolt's pages) keep their contents for one collection
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkBrokerRetainedPublish: the process CPU (user + system, every goroutine: the broker's
// write-behind flushes included) of one retained publish in process, as a device's changed
// state is (2.6 KB, the Huawei model's B/D/state), over 10,000 devices' topics, in memory and in
// the retained-message file. Run: go test ./internal/mqtt -run '^$' -bench BrokerRetainedPublish
func BenchmarkBrokerRetainedPublish(b *testing.B) {
	const devices = 10000
	payload := make([]byte, 2600)
	topics := make([]string, devices)
	for i := range topics {
		topics[i] = fmt.Sprintf("cwmp2mqtt/dev-%d/state", i)
	}
	for _, file := range []bool{false, true} {
		b.Run(map[bool]string{false: "memory", true: "file"}[file], func(b *testing.B) {
			opts := mqtt.BrokerOptions{Listen: "127.0.0.1:0"}
			if file {
				opts.RetainedFile = filepath.Join(b.TempDir(), "retained.db")
			}
			br, err := mqtt.StartBroker(opts, zap.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			cpu0 := cpuNow()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := br.PublishInlineForTest(topics[i%devices], payload, true, 1); err != nil {
					b.Fatal(err)
				}
			}
			if file {
				br.FlushRetained()
			}
			b.ReportMetric(float64(cpuNow()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func cpuNow() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
