package mqtt_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

var benchPayload = []byte(`{"id":"000000-CPE-1","events":["2 PERIODIC"],"params":{"Device.DeviceInfo.UpTime":"12345"}}`)

// Durable enqueue from many goroutines (the bridge publishing for many
// devices): group commit amortizes one fsync over the waiting callers.
func BenchmarkOutboxEnqueue(b *testing.B) {
	ob := openOutbox(b, openDB(b, ""), mqtt.DefaultOutboxOptions())
	b.SetParallelism(32) // 32 × GOMAXPROCS concurrent publishers
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := ob.Enqueue("cwmp2mqtt/000000-CPE-1/inform", benchPayload, false, 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// One publisher waiting for each message: bounded by fsync latency.
func BenchmarkOutboxEnqueueSerial(b *testing.B) {
	ob := openOutbox(b, openDB(b, ""), mqtt.DefaultOutboxOptions())
	b.ReportAllocs()
	for b.Loop() {
		if err := ob.Enqueue("cwmp2mqtt/000000-CPE-1/inform", benchPayload, false, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// Replay of a backlog after an outage: enqueue b.N while disconnected, then
// time the delivery of all of them (QoS 1, acked) until the outbox is empty.
func BenchmarkOutboxReplay(b *testing.B) {
	for _, kind := range brokers {
		b.Run(kind.name, func(b *testing.B) {
			url, _, _ := kind.start(b)
			ob := openOutbox(b, openDB(b, ""), mqtt.DefaultOutboxOptions())
			batch := make([]mqtt.Publish, 0, 1000)
			for i := range b.N {
				batch = append(batch, mqtt.Publish{Topic: "cwmp2mqtt/D1/event", Payload: []byte(strconv.Itoa(i)), QoS: 1})
				if len(batch) == cap(batch) || i == b.N-1 {
					if err := ob.EnqueueBatch(batch...); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			c := startClient(b, testConfig(b, url), nil)
			b.ResetTimer()
			if err := ob.Start(c); err != nil {
				b.Fatal(err)
			}
			for ob.Stats().Delivered < uint64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// An Inform's messages (inform event + retained state) for one device after another, each
// EnqueueBatch waiting for its PUBACKs from a broker over the network (Mosquitto with its
// defaults, Nagle on): the per-Inform latency of the direct path, and the pages written (0 while
// every PUBACK comes within directAckWait).
func BenchmarkOutboxDirectInform(b *testing.B) {
	url, _, _ := mqtttest.StartMosquitto(b)
	cfg := testConfig(b, url)
	c := startClient(b, cfg, nil)
	db := openDB(b, "")
	ob := openOutbox(b, db, mqtt.DefaultOutboxOptions())
	if err := ob.Start(c); err != nil {
		b.Fatal(err)
	}
	writes := writeCount(db)
	i := 0
	for b.Loop() {
		dev := cfg.BaseTopic + "/D" + strconv.Itoa(i%1000) + "/"
		i++
		if err := ob.EnqueueBatch(mqtt.Publish{Topic: dev + "inform", Payload: benchPayload, QoS: 1},
			mqtt.Publish{Topic: dev + "state", Payload: benchPayload, QoS: 1, Retained: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(writeCount(db)-writes)/float64(b.N), "pages/op")
}
