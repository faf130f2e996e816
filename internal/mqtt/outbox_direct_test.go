package mqtt_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// Over the network too: with the broker connected and acknowledging promptly, messages are
// published and acknowledged without a commit; the outbox is only written when the broker is
// away, and what it holds then is delivered, in order, before anything newer.
func TestOutboxPublishesAckedWithoutDiskCommit(t *testing.T) {
	eachBroker(t, func(t *testing.T, b brokerKind) {
		url, stop, restart := b.start(t)
		proxy := mqtttest.StartProxy(t, url)
		cfg := testConfig(t, proxy.URL())
		c := startClient(t, cfg, nil)
		db := openDB(t, "")
		ob := openOutbox(t, db, mqtt.DefaultOutboxOptions())
		ob.SetDirectAckWait(waitLong) // a loaded machine may take longer than 100 ms to acknowledge
		if err := ob.Start(c); err != nil {
			t.Fatal(err)
		}
		topic := cfg.BaseTopic + "/D1/event"
		sub := mqtttest.Subscribe(t, url, topic)
		writes := writeCount(db)
		const n = 100
		for i := 0; i < n; i += 4 {
			if err := ob.EnqueueBatch(seqBatch(topic, i, 4)...); err != nil {
				t.Fatal(err)
			}
		}
		collectSeq(t, sub, n, 0)
		if d, w := ob.Stats().Direct, writeCount(db)-writes; d != n || w != 0 {
			t.Errorf("%d of %d messages published directly, %d pages written; want all, none", d, n, w)
		}

		stop()
		proxy.Block()
		waitFor(t, "disconnect", func() bool { return !c.Connected() })
		direct := ob.Stats().Direct
		for i := 0; i < n; i += 4 {
			if err := ob.EnqueueBatch(seqBatch(topic, n+i, 4)...); err != nil {
				t.Fatal(err)
			}
		}
		if es, err := mqtt.OutboxEntries(db); err != nil || len(es) != n || ob.Stats().Direct != direct {
			t.Fatalf("broker away: %d entries on disk (err %v), %d more direct; want %d on disk, none direct",
				len(es), err, ob.Stats().Direct-direct, n)
		}
		restart()
		sub2 := mqtttest.Subscribe(t, url, topic)
		proxy.Unblock()
		waitConnected(t, c)
		for i := 0; i < n; i += 4 { // while the backlog drains
			if err := ob.EnqueueBatch(seqBatch(topic, 2*n+i, 4)...); err != nil {
				t.Fatal(err)
			}
		}
		// sub2 sees the backlog then the rest; renumber from 0 for checkSeq.
		renum := &mqtttest.Subscriber{C: make(chan mqtttest.Received, 2*n)}
		go func() {
			for range 2 * n {
				m := <-sub2.C
				v, _ := strconv.Atoi(string(m.Payload))
				m.Payload = []byte(strconv.Itoa(v - n))
				renum.C <- m
			}
		}()
		collectSeq(t, renum, 2*n, mqtt.DefaultOutboxOptions().Window)
	})
}

// netOutbox is a client connected to the broker at url (over the network: not in process) and an
// outbox on a fresh store, not started.
func netOutbox(t *testing.T, url string) (mqtt.Config, *mqtt.Client, *mqtt.Outbox) {
	t.Helper()
	cfg := testConfig(t, url)
	return cfg, startClient(t, cfg, nil), openOutbox(t, openDB(t, ""), mqtt.DefaultOutboxOptions())
}

// A broker slow to acknowledge: the messages are committed, and the publishes already made are
// awaited, not made again, so a slow broker causes no duplicates.
func TestOutboxSlowAckCommittedWithoutDuplicates(t *testing.T) {
	eachBroker(t, func(t *testing.T, b brokerKind) {
		url, _, _ := b.start(t)
		cfg, c, ob := netOutbox(t, url)
		ob.SetDirectAckWait(0) // every acknowledgement comes too late
		if err := ob.Start(c); err != nil {
			t.Fatal(err)
		}
		topic := cfg.BaseTopic + "/D1/event"
		sub := mqtttest.Subscribe(t, url, topic)
		const n = 200
		for i := 0; i < n; i += 4 {
			if err := ob.EnqueueBatch(seqBatch(topic, i, 4)...); err != nil {
				t.Fatal(err)
			}
		}
		if dups := collectSeq(t, sub, n, n); dups != 0 {
			t.Errorf("%d duplicates: messages committed after a slow acknowledgement were published again", dups)
		}
		if st := ob.Stats(); st.Direct == n {
			t.Errorf("all %d messages counted direct with no time to wait for an acknowledgement", n)
		}
		waitFor(t, "outbox empty", func() bool { return ob.Stats().Queued == 0 })
		select {
		case m := <-sub.C:
			t.Errorf("late duplicate %q", m.Payload)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// One device whose messages the broker is slow to acknowledge goes through the outbox; the
// others keep being published directly meanwhile (order is kept per device, not across them),
// and each device's messages arrive in order, once.
func TestOutboxLateDeviceDoesNotHoldBackOthers(t *testing.T) {
	eachBroker(t, func(t *testing.T, b brokerKind) {
		url, _, _ := b.start(t)
		cfg, c, ob := netOutbox(t, url)
		late, prompt := cfg.BaseTopic+"/SLOW/event", cfg.BaseTopic+"/FAST/event"
		ob.SetDirectAckWaitFor(func(topic string) time.Duration {
			if strings.HasPrefix(topic, cfg.BaseTopic+"/SLOW/") {
				return 0 // every acknowledgement of SLOW comes too late
			}
			return waitLong
		})
		if err := ob.Start(c); err != nil {
			t.Fatal(err)
		}
		subLate, subPrompt := mqtttest.Subscribe(t, url, late), mqtttest.Subscribe(t, url, prompt)
		const n = 200
		for i := 0; i < n; i += 4 {
			if err := ob.EnqueueBatch(seqBatch(late, i, 4)...); err != nil {
				t.Fatal(err)
			}
			if err := ob.EnqueueBatch(seqBatch(prompt, i, 4)...); err != nil {
				t.Fatal(err)
			}
		}
		if dups := collectSeq(t, subLate, n, n); dups != 0 {
			t.Errorf("SLOW: %d duplicates: its late messages were published again", dups)
		}
		collectSeq(t, subPrompt, n, 0)
		if d := ob.Stats().Direct; d != n {
			t.Errorf("%d messages published directly, want the %d of FAST (and none of SLOW)", d, n)
		}
		waitFor(t, "outbox empty", func() bool { return ob.Stats().Queued == 0 })
	})
}

// A message still awaiting its acknowledgement when a newer one of the same device is enqueued,
// then lost with the connection: it is delivered again before the newer one, never after.
func TestOutboxLateMessageKeepsItsPlaceBeforeNewer(t *testing.T) {
	eachBroker(t, func(t *testing.T, b brokerKind) {
		url, _, _ := b.start(t)
		proxy := mqtttest.StartProxy(t, url)
		cfg := testConfig(t, proxy.URL())
		c := startClient(t, cfg, nil)
		ob := openOutbox(t, openDB(t, ""), mqtt.DefaultOutboxOptions())
		ob.SetDirectAckWait(time.Hour) // late only because the connection is lost
		if err := ob.Start(c); err != nil {
			t.Fatal(err)
		}
		topic := cfg.BaseTopic + "/D1/event"
		sub := mqtttest.Subscribe(t, url, topic)

		proxy.Stall() // the first message is published and lost on the way
		first := make(chan error, 1)
		go func() { first <- ob.EnqueueBatch(seqBatch(topic, 0, 1)...) }()
		waitFor(t, "the first message awaiting its acknowledgement", func() bool { return ob.DirectAwaiting() == 1 })
		if err := ob.EnqueueBatch(seqBatch(topic, 1, 1)...); err != nil { // committed: D1 is busy
			t.Fatal(err)
		}
		select {
		case err := <-first:
			t.Fatalf("the first EnqueueBatch returned (%v) with its message neither acknowledged nor committed", err)
		default:
		}
		proxy.Block() // the connection is lost: the first message is committed in its place
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		proxy.Unblock()
		collectSeq(t, sub, 2, 0)
	})
}

// Publishing directly for many devices leaves nothing behind per device: what the outbox tracks
// per ordering key is only what is pending.
func TestOutboxDirectKeepsNoStatePerDevice(t *testing.T) {
	url, _, _ := mqtttest.StartMosquitto(t)
	cfg, c, ob := netOutbox(t, url)
	ob.SetDirectAckWait(waitLong) // every device direct, however loaded the machine
	if err := ob.Start(c); err != nil {
		t.Fatal(err)
	}
	const devices = 300
	for i := range devices {
		topic := cfg.BaseTopic + "/D" + strconv.Itoa(i) + "/event"
		if err := ob.EnqueueBatch(seqBatch(topic, 0, 2)...); err != nil {
			t.Fatal(err)
		}
	}
	if d := ob.Stats().Direct; d != 2*devices {
		t.Fatalf("%d messages published directly, want %d", d, 2*devices)
	}
	if k := ob.OrderKeys(); k != 0 {
		t.Errorf("%d ordering keys tracked after %d devices published directly, want none", k, devices)
	}
}
