package mqtt

import (
	"fmt"
	"runtime"
	"testing"
)

// cwmp2mqtt patch: what a retained message costs the broker's heap, by the inline client's
// Publish (as the gateway publishes): the stored packet, its payload, its topic and the topic
// tree's particles. Three topics under one device level, as cwmp2mqtt's B/D/{state,info,
// availability}. Run: go test -run '^$' -bench RetainedMemory -benchtime 1x
func BenchmarkRetainedMemory(b *testing.B) {
	const devices = 10000
	payload := make([]byte, 100)
	for i := 0; i < b.N; i++ {
		caps := NewDefaultServerCapabilities()
		caps.MaximumMessageExpiryInterval = 0 // as cwmp2mqtt runs it: nothing to index for expiry
		s := New(&Options{InlineClient: true, Capabilities: caps})
		before := heapNow()
		for i := 0; i < devices; i++ {
			for _, leaf := range []string{"state", "info", "availability"} {
				if err := s.Publish(fmt.Sprintf("cwmp2mqtt/dev-%d/%s", i, leaf), payload, true, 1); err != nil {
					b.Fatal(err)
				}
			}
		}
		after := heapNow()
		if n := s.Topics.Retained.Len(); n != 3*devices {
			b.Fatalf("%d retained messages, want %d", n, 3*devices)
		}
		b.ReportMetric(float64(after-before)/(3*devices), "heap-B/msg")
		b.ReportMetric(float64(after-before)/(3*devices)-float64(len(payload)), "overhead-B/msg")
		runtime.KeepAlive(s)
	}
}

func heapNow() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
