package mqtt_test

import (
	"errors"
	"strconv"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// inProcess starts an embedded broker and a client that publishes into it, as the gateway does
// without mqtt.url. The client is not started.
func inProcess(t *testing.T) (*mqtt.Broker, *mqtt.Client, mqtt.Config) {
	t.Helper()
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0"}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	cfg := testConfig(t, b.URL())
	c, err := mqtt.NewClient(cfg, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.PublishInProcess(b)
	t.Cleanup(func() { _ = c.Close() })
	return b, c, cfg
}

// connectedInProcess is inProcess connected, with an outbox delivering through it.
func connectedInProcess(t *testing.T) (*mqtt.Broker, mqtt.Config, *bbolt.DB, *mqtt.Outbox) {
	t.Helper()
	b, c, cfg := inProcess(t)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, c)
	db := openDB(t, "")
	ob := openOutbox(t, db, mqtt.DefaultOutboxOptions())
	if err := ob.Start(c); err != nil {
		t.Fatal(err)
	}
	return b, cfg, db, ob
}

func seqBatch(topic string, from, n int) []mqtt.Publish {
	out := make([]mqtt.Publish, n)
	for i := range out {
		out[i] = mqtt.Publish{Topic: topic, Payload: []byte(strconv.Itoa(from + i)), QoS: 1}
	}
	return out
}

// With the embedded broker connected and nothing queued, an Inform's messages reach a subscriber
// without a single write transaction on the store: no fdatasync per Inform.
func TestOutboxPublishesInProcessWithoutDiskCommit(t *testing.T) {
	b, cfg, db, ob := connectedInProcess(t)
	topic := cfg.BaseTopic + "/D1/event"
	sub := mqtttest.Subscribe(t, b.URL(), topic)
	writes := writeCount(db)

	const n = 200
	for i := 0; i < n; i += 4 { // four messages per Inform
		if err := ob.EnqueueBatch(seqBatch(topic, i, 4)...); err != nil {
			t.Fatal(err)
		}
	}
	collectSeq(t, sub, n, 0)
	if w := writeCount(db) - writes; w != 0 {
		t.Errorf("%d pages written for %d messages published in process, want none", w, n)
	}
	st := ob.Stats()
	if st.Direct != n || st.Enqueued != n || st.Delivered != n || st.Queued != 0 {
		t.Errorf("stats = %+v, want %d direct, enqueued and delivered, none queued", st, n)
	}
}

// Messages queued while the broker was away go first: what is enqueued once it is back waits
// behind them on disk until they are delivered, so the subscriber sees one order.
func TestOutboxInProcessQueuesBehindBacklog(t *testing.T) {
	b, c, cfg := inProcess(t)
	db := openDB(t, "")
	ob := openOutbox(t, db, mqtt.DefaultOutboxOptions())
	if err := ob.Start(c); err != nil {
		t.Fatal(err)
	}
	topic := cfg.BaseTopic + "/D1/event"
	sub := mqtttest.Subscribe(t, b.URL(), topic)

	const backlog, after = 500, 500
	for i := 0; i < backlog; i += 50 {
		if err := ob.EnqueueBatch(seqBatch(topic, i, 50)...); err != nil {
			t.Fatal(err)
		}
	}
	if es, err := mqtt.OutboxEntries(db); err != nil || len(es) != backlog {
		t.Fatalf("%d entries on disk while not connected (err %v), want %d", len(es), err, backlog)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for i := backlog; i < backlog+after; i += 2 { // at once: the backlog is still being delivered
		if err := ob.EnqueueBatch(seqBatch(topic, i, 2)...); err != nil {
			t.Fatal(err)
		}
	}
	collectSeq(t, sub, backlog+after, 0)
	waitFor(t, "outbox empty", func() bool { return ob.Stats().Queued == 0 })
	if d := ob.Stats().Direct; d >= after {
		t.Errorf("%d of the %d messages enqueued behind the backlog were published directly", d, after)
	}
	// Caught up, the next ones skip the disk again.
	waitFor(t, "direct publishing again", func() bool { return publishesDirectly(t, ob, cfg.BaseTopic+"/D1/other") })
}

// publishesDirectly enqueues one message and reports whether it skipped the disk.
func publishesDirectly(t *testing.T, ob *mqtt.Outbox, topic string) bool {
	before := ob.Stats().Direct
	if err := ob.EnqueueBatch(mqtt.Publish{Topic: topic, Payload: []byte("x"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	return ob.Stats().Direct > before
}

// An EnqueueTx whose transaction rolls back never tells the outbox; its keys must not keep the
// outbox from publishing directly (nor block delivery) for ever.
func TestOutboxRolledBackEnqueueTxDoesNotBlockDirect(t *testing.T) {
	b, cfg, db, ob := connectedInProcess(t)
	topic := cfg.BaseTopic + "/D1/rpc/result"
	sub := mqtttest.Subscribe(t, b.URL(), topic)

	errAbort := errors.New("the task end could not be stored")
	err := db.Update(func(tx *bbolt.Tx) error {
		if err := ob.EnqueueTx(tx, mqtt.Publish{Topic: topic, Payload: []byte("lost"), QoS: 1}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update = %v", err)
	}
	// A committed one goes to disk and is delivered.
	if err := db.Update(func(tx *bbolt.Tx) error {
		return ob.EnqueueTx(tx, mqtt.Publish{Topic: topic, Payload: []byte("0"), QoS: 1})
	}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 20; i++ {
		if err := ob.EnqueueBatch(seqBatch(topic, i, 1)...); err != nil {
			t.Fatal(err)
		}
	}
	collectSeq(t, sub, 20, 0)
	waitFor(t, "direct publishing again", func() bool { return publishesDirectly(t, ob, cfg.BaseTopic+"/D1/other") })
	select {
	case m := <-sub.C:
		t.Errorf("unexpected message %q on %s: the rolled-back entry was published", m.Payload, m.Topic)
	default:
	}
}

// writeCount is the pages the store has written so far: it moves with every commit.
func writeCount(db *bbolt.DB) int64 {
	st := db.Stats()
	return st.TxStats.GetWrite()
}
