package mqtt_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// checkSeq reads n distinct sequence numbers from sub (payloads are decimal
// numbers on one topic) and checks the outbox contract: every number arrives,
// first arrivals are in order, and a repeat only replays within window.
func checkSeq(sub *mqtttest.Subscriber, n, window int) (dups int, err error) {
	seen := make(map[int]bool, n)
	next, maxSeen := 0, -1
	deadline := time.After(waitLong)
	for len(seen) < n {
		var m mqtttest.Received
		select {
		case m = <-sub.C:
		case <-deadline:
			return dups, fmt.Errorf("got %d of %d messages (next expected %d)", len(seen), n, next)
		}
		v, err := strconv.Atoi(string(m.Payload))
		switch {
		case err != nil:
			return dups, fmt.Errorf("payload %q: %w", m.Payload, err)
		case seen[v] && maxSeen-v >= window:
			return dups, fmt.Errorf("duplicate %d is %d behind the newest %d: outside the window of %d", v, maxSeen-v, maxSeen, window)
		case seen[v]:
			dups++
			continue
		case v != next:
			return dups, fmt.Errorf("got %d, want %d: order broken or message lost", v, next)
		}
		seen[v] = true
		next++
		maxSeen = max(maxSeen, v)
	}
	return dups, nil
}

// collectSeq is checkSeq failing the test.
func collectSeq(t *testing.T, sub *mqtttest.Subscriber, n, window int) (dups int) {
	t.Helper()
	dups, err := checkSeq(sub, n, window)
	if err != nil {
		t.Fatal(err)
	}
	return dups
}

// Broker down, 1,000 messages enqueued, broker back: all arrive in order,
// duplicates only within the in-flight window.
func TestOutboxReplaysOutageInOrder(t *testing.T) {
	eachBroker(t, func(t *testing.T, b brokerKind) {
		url, stop, restart := b.start(t)
		proxy := mqtttest.StartProxy(t, url)
		cfg := testConfig(t, proxy.URL())
		c := startClient(t, cfg, nil)
		opts := mqtt.DefaultOutboxOptions()
		ob := openOutbox(t, openDB(t, ""), opts)
		if err := ob.Start(c); err != nil {
			t.Fatal(err)
		}
		topic := cfg.BaseTopic + "/D1/event"

		stop()
		proxy.Block() // keep the gateway away until the platform is back too
		waitFor(t, "disconnect", func() bool { return !c.Connected() })
		const n = 1000
		for i := 0; i < n; i += 50 { // in batches, as the bridge queues an Inform's messages
			batch := make([]mqtt.Publish, 50)
			for j := range batch {
				batch[j] = mqtt.Publish{Topic: topic, Payload: []byte(strconv.Itoa(i + j)), QoS: 1}
			}
			if err := ob.EnqueueBatch(batch...); err != nil {
				t.Fatalf("EnqueueBatch %d during outage: %v", i, err)
			}
		}
		if q := ob.Stats().Queued; q != n {
			t.Fatalf("Queued = %d during outage, want %d", q, n)
		}
		restart()
		sub := mqtttest.Subscribe(t, url, topic)
		start := time.Now()
		proxy.Unblock()
		waitConnected(t, c)
		reconnect := time.Since(start)
		dups := collectSeq(t, sub, n, opts.Window)
		el := time.Since(start) - reconnect
		t.Logf("%s: reconnected in %s, replayed %d messages in %s (%.0f msg/s), %d duplicates",
			b.name, reconnect.Round(time.Millisecond), n, el.Round(time.Millisecond), n/el.Seconds(), dups)
		waitFor(t, "outbox empty", func() bool { return ob.Stats().Queued == 0 })
		if d := ob.Stats().Delivered; d != n {
			t.Errorf("Delivered = %d, want %d", d, n)
		}
	})
}

// Connection cut repeatedly mid-replay: nothing is lost, order holds, and
// duplicates stay within the window.
func TestOutboxCutsDuringReplay(t *testing.T) {
	url, _, _ := mqtttest.StartMosquitto(t)
	proxy := mqtttest.StartProxy(t, url)
	cfg := testConfig(t, proxy.URL())
	topic := cfg.BaseTopic + "/D1/event"
	sub := mqtttest.Subscribe(t, url, topic)
	opts := mqtt.DefaultOutboxOptions()
	opts.Window = 16
	ob := openOutbox(t, openDB(t, ""), opts)
	const n = 3000
	batch := make([]mqtt.Publish, n)
	for i := range batch {
		batch[i] = mqtt.Publish{Topic: topic, Payload: []byte(strconv.Itoa(i)), QoS: 1}
	}
	if err := ob.EnqueueBatch(batch...); err != nil {
		t.Fatal(err)
	}
	c := startClient(t, cfg, nil)
	if err := ob.Start(c); err != nil {
		t.Fatal(err)
	}
	type result struct {
		dups int
		err  error
	}
	done := make(chan result)
	go func() { dups, err := checkSeq(sub, n, opts.Window); done <- result{dups, err} }()
	cuts := 0
	for cuts < 5 && ob.Stats().Queued > 0 {
		d0 := ob.Stats().Delivered
		waitFor(t, "progress", func() bool { return ob.Stats().Delivered > d0 || ob.Stats().Queued == 0 })
		proxy.Cut()
		cuts++
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("%d cuts during replay of %d messages, %d duplicates (window %d)", cuts, n, r.dups, opts.Window)
}

// Enqueued without delivering, outbox and file closed, reopened: every
// message is delivered in order, and the delivered ones are gone from disk.
func TestOutboxSurvivesReopen(t *testing.T) {
	url, _, _ := mqtttest.StartEmbedded(t)
	cfg := testConfig(t, url)
	topic := cfg.BaseTopic + "/D1/inform"
	path := t.TempDir() + "/state.db"

	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := mqtt.OpenOutbox(db, mqtt.DefaultOutboxOptions(), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		if err := ob.Enqueue(topic, []byte(strconv.Itoa(i)), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ob.Enqueue(topic, []byte("late"), false, 1); err != mqtt.ErrClosed {
		t.Fatalf("Enqueue after Close = %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, path)
	ob = openOutbox(t, db, mqtt.DefaultOutboxOptions())
	if s := ob.Stats(); s.Queued != n {
		t.Fatalf("after reopen Queued = %d, want %d", s.Queued, n)
	}
	sub := mqtttest.Subscribe(t, url, topic)
	c := startClient(t, cfg, nil)
	if err := ob.Start(c); err != nil {
		t.Fatal(err)
	}
	collectSeq(t, sub, n, mqtt.DefaultOutboxOptions().Window)
	waitFor(t, "outbox empty", func() bool { return ob.Stats().Queued == 0 })
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	left, err := mqtt.OutboxEntries(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d delivered entries still on disk after Close", len(left))
	}
}

// When outbox.max_bytes is reached the oldest non-retained entries go first,
// the retained state survives, and the drops are counted.
func TestOutboxMaxBytesDropsOldestNonRetained(t *testing.T) {
	url, _, _ := mqtttest.StartEmbedded(t)
	cfg := testConfig(t, url)
	opts := mqtt.DefaultOutboxOptions()
	opts.MaxBytes = 8 << 10
	ob := openOutbox(t, openDB(t, ""), opts)
	state := cfg.BaseTopic + "/D1/state"
	events := cfg.BaseTopic + "/D1/event"
	if err := ob.Enqueue(state, []byte(`{"oldest":"but retained"}`), true, 1); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 100)
	const n = 200 // ~25 KiB of events into 8 KiB
	for i := range n {
		copy(payload, fmt.Sprintf("%08d", i))
		if err := ob.Enqueue(events, payload, false, 1); err != nil {
			t.Fatal(err)
		}
	}
	s := ob.Stats()
	if s.QueuedBytes > opts.MaxBytes {
		t.Errorf("QueuedBytes %d > max_bytes %d", s.QueuedBytes, opts.MaxBytes)
	}
	full := s.Dropped[mqtt.DropFull]
	if full.Messages == 0 || s.DroppedMessages != full.Messages || s.DroppedBytes != full.Bytes {
		t.Fatalf("drop counters %+v: want drops counted under %q", s, mqtt.DropFull)
	}
	kept := n - int(full.Messages)
	if int64(kept+1) != s.Queued {
		t.Fatalf("Queued = %d, want %d events kept + 1 state", s.Queued, kept)
	}

	sub := mqtttest.Subscribe(t, url, cfg.BaseTopic+"/D1/#")
	c := startClient(t, cfg, nil)
	if err := ob.Start(c); err != nil {
		t.Fatal(err)
	}
	m := sub.Next(waitLong)
	if m.Topic != state {
		t.Fatalf("first delivered %s %q, want the retained state (it must survive)", m.Topic, m.Payload)
	}
	// The newest events survive, in order: the oldest ones were dropped.
	stateCopies := 1
	for i := n - kept; i < n; i++ {
		m := sub.Next(waitLong)
		if m.Topic == state && stateCopies == 1 {
			stateCopies++
			// The broker sends a subscription its retained messages after the SUBACK: when the
			// state is published meanwhile, it comes both live and as a retained copy, in either
			// order (MQTT allows it). A second copy of the state, not a loss or a reordering.
			m = sub.Next(waitLong)
		}
		if want := fmt.Sprintf("%08d", i); string(m.Payload[:8]) != want {
			t.Fatalf("event %q, want %s (oldest must be dropped first)", m.Payload[:8], want)
		}
	}
	if err := ob.Enqueue(events, make([]byte, opts.MaxBytes), false, 1); err == nil {
		t.Error("a message larger than max_bytes was accepted")
	}
}

// Retained messages on one topic coalesce while queued: an outage leaves one
// state per device, not one per Inform; events are untouched.
func TestOutboxCoalescesRetained(t *testing.T) {
	eachBroker(t, func(t *testing.T, b brokerKind) {
		url, _, _ := b.start(t)
		cfg := testConfig(t, url)
		ob := openOutbox(t, openDB(t, ""), mqtt.DefaultOutboxOptions())
		state := cfg.BaseTopic + "/D1/state"
		event := cfg.BaseTopic + "/D1/event"
		for i := range 100 {
			if err := ob.Enqueue(state, []byte(strconv.Itoa(i)), true, 1); err != nil {
				t.Fatal(err)
			}
			if err := ob.Enqueue(event, []byte(strconv.Itoa(i)), false, 1); err != nil {
				t.Fatal(err)
			}
		}
		s := ob.Stats()
		if s.Coalesced != 99 || s.Queued != 101 {
			t.Fatalf("Coalesced = %d, Queued = %d; want 99 and 101", s.Coalesced, s.Queued)
		}
		sub := mqtttest.Subscribe(t, url, cfg.BaseTopic+"/D1/#")
		c := startClient(t, cfg, nil)
		if err := ob.Start(c); err != nil {
			t.Fatal(err)
		}
		var states []string
		events := 0
		for events < 100 || len(states) < 1 {
			m := sub.Next(waitLong)
			if m.Topic == state {
				states = append(states, string(m.Payload))
			} else {
				events++
			}
		}
		if len(states) != 1 || states[0] != "99" {
			t.Errorf("states delivered = %v, want only the newest [99]", states)
		}
	})
}

// Entries older than outbox.max_age are dropped and counted, never replayed.
func TestOutboxMaxAgeDropsExpired(t *testing.T) {
	url, _, _ := mqtttest.StartEmbedded(t)
	cfg := testConfig(t, url)
	opts := mqtt.DefaultOutboxOptions()
	opts.MaxAge = time.Hour
	ob := openOutbox(t, openDB(t, ""), opts)
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	ob.SetClock(func() time.Time { return time.Unix(0, now.Load()) })
	topic := cfg.BaseTopic + "/D1/event"
	for i := range 10 {
		if err := ob.Enqueue(topic, []byte("old-"+strconv.Itoa(i)), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	now.Add(int64(2 * time.Hour))
	if err := ob.Enqueue(topic, []byte("fresh"), false, 1); err != nil {
		t.Fatal(err)
	}
	ob.Sweep()
	s := ob.Stats()
	if d := s.Dropped[mqtt.DropExpired]; d.Messages != 10 || s.Queued != 1 {
		t.Fatalf("after sweep: dropped %+v queued %d; want 10 expired, 1 queued", d, s.Queued)
	}
	sub := mqtttest.Subscribe(t, url, topic)
	c := startClient(t, cfg, nil)
	if err := ob.Start(c); err != nil {
		t.Fatal(err)
	}
	if m := sub.Next(waitLong); string(m.Payload) != "fresh" {
		t.Fatalf("delivered %q, want only the fresh message", m.Payload)
	}
}

// Bad input is refused with a clear error, never a panic.
func TestOutboxEnqueueRejectsBadInput(t *testing.T) {
	ob := openOutbox(t, openDB(t, ""), mqtt.DefaultOutboxOptions())
	for _, tc := range []struct {
		topic string
		qos   byte
	}{{"", 1}, {"a/+/b", 1}, {"a/#", 1}, {"a/b", 3}, {"a\x00b", 0}, {string([]byte{0xff, 0xfe}), 1}} {
		if err := ob.Enqueue(tc.topic, []byte("x"), false, tc.qos); err == nil {
			t.Errorf("Enqueue(%q, qos %d) accepted", tc.topic, tc.qos)
		}
	}
	// A batch is all or nothing: one bad topic refuses the whole batch.
	err := ob.EnqueueBatch(mqtt.Publish{Topic: "gw/D1/inform", Payload: []byte("ok"), QoS: 1},
		mqtt.Publish{Topic: "gw/+/state", Payload: []byte("bad"), QoS: 1})
	if err == nil || !errors.Is(err, mqtt.ErrTopic) {
		t.Errorf("EnqueueBatch with a wildcard topic = %v, want ErrTopic", err)
	}
	if q := ob.Stats().Queued; q != 0 {
		t.Errorf("Queued = %d after only bad input", q)
	}
}

// Options are validated with the configuration key in the message.
func TestOutboxOptionsValidateNamesKey(t *testing.T) {
	for _, tc := range []struct {
		mod func(*mqtt.OutboxOptions)
		key string
	}{
		{func(o *mqtt.OutboxOptions) { o.MaxBytes = 10 }, "outbox.max_bytes"},
		{func(o *mqtt.OutboxOptions) { o.MaxAge = 0 }, "outbox.max_age"},
		{func(o *mqtt.OutboxOptions) { o.Window = 0 }, "outbox.window"},
	} {
		o := mqtt.DefaultOutboxOptions()
		tc.mod(&o)
		err := o.Validate()
		if err == nil || !contains(err.Error(), tc.key) {
			t.Errorf("Validate() = %v, want an error naming %s", err, tc.key)
		}
		if _, err := mqtt.OpenOutbox(openDB(t, ""), o, nil); err == nil {
			t.Errorf("OpenOutbox accepted invalid %s", tc.key)
		}
	}
}

// EnqueueTx joins the caller's transaction: a rolled-back one leaves nothing, a committed one is
// delivered in key order between the messages Enqueue added before and after it, and counted.
func TestOutboxEnqueueTxJoinsCallerTransaction(t *testing.T) {
	url, _, _ := mqtttest.StartEmbedded(t)
	cfg := testConfig(t, url)
	topic := cfg.BaseTopic + "/D1/rpc/result"
	db := openDB(t, "")
	ob := openOutbox(t, db, mqtt.DefaultOutboxOptions())
	if err := db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists([]byte("tasks")); err != nil {
			return err
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := ob.Enqueue(topic, []byte("0"), false, 1); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("task not deleted")
	err := db.Update(func(tx *bbolt.Tx) error {
		if err := ob.EnqueueTx(tx, mqtt.Publish{Topic: topic, Payload: []byte("lost"), QoS: 1}); err != nil {
			return err
		}
		return boom // the caller's own write failed: the result must go with it
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte("tasks")).Delete([]byte("t1")); err != nil {
			return err
		}
		return ob.EnqueueTx(tx, mqtt.Publish{Topic: topic, Payload: []byte("1"), QoS: 1}, mqtt.Publish{Topic: topic, Payload: []byte("2"), QoS: 1})
	}); err != nil {
		t.Fatal(err)
	}
	if err := ob.Enqueue(topic, []byte("3"), false, 1); err != nil {
		t.Fatal(err)
	}
	entries, err := mqtt.OutboxEntries(db)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, string(e.Payload))
	}
	if fmt.Sprint(got) != "[0 1 2 3]" {
		t.Fatalf("outbox holds %v, want [0 1 2 3]", got)
	}
	waitFor(t, "4 counted", func() bool { s := ob.Stats(); return s.Enqueued == 4 && s.Queued == 4 })
	if err := db.View(func(tx *bbolt.Tx) error { return ob.EnqueueTx(tx, mqtt.Publish{Topic: topic}) }); err == nil {
		t.Fatal("EnqueueTx accepted a read-only transaction")
	}
	sub := mqtttest.Subscribe(t, url, topic)
	if err := ob.Start(startClient(t, cfg, nil)); err != nil {
		t.Fatal(err)
	}
	collectSeq(t, sub, 4, mqtt.DefaultOutboxOptions().Window)
	waitFor(t, "outbox empty", func() bool { return ob.Stats().Queued == 0 })
}
