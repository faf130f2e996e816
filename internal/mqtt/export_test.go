package mqtt

import (
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"go.etcd.io/bbolt"
)

// Test-only access to internals.

func MatchTopic(filter, topic string) bool { return matchTopic(filter, topic) }
func ValidateFilter(f string) error        { return validateFilter(f) }

// SetClock replaces the outbox clock; call before the first Enqueue.
func (o *Outbox) SetClock(now func() time.Time) { o.now = now }

// SetDirectAckWait replaces how long a direct publish waits for its acknowledgement; call
// before Start.
func (o *Outbox) SetDirectAckWait(d time.Duration) { o.ackWait = d }

// Sweep runs an expiry pass in the writer and waits for its commit.
func (o *Outbox) Sweep() {
	w := make(chan struct{})
	o.sweeps <- w
	<-w
}

// Entry is a decoded outbox entry.
type Entry struct {
	Key      uint64
	Topic    string
	Payload  []byte
	Retained bool
	QoS      byte
}

// OutboxEntries lists the outbox bucket of db in key order.
func OutboxEntries(db *bbolt.DB) ([]Entry, error) {
	var out []Entry
	err := db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(outboxBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			e, err := decodeEntry(k, v)
			if err != nil {
				return err
			}
			out = append(out, Entry{e.key, e.topic, e.payload, e.retained, e.qos})
			return nil
		})
	})
	return out, err
}

// MaxMessageExpiry is the embedded broker's MaximumMessageExpiryInterval (seconds, 0: none).
func (b *Broker) MaxMessageExpiry() int64 {
	return b.srv.Options.Capabilities.MaximumMessageExpiryInterval
}

// PublishInlineForTest publishes through the broker's inline client, as the outbox does.
func (b *Broker) PublishInlineForTest(topic string, payload []byte, retained bool, qos byte) error {
	return b.publishInline(topic, payload, retained, qos)
}

// SetDirectAckWaitFor makes the wait of a direct publish depend on the topic of its first
// message (0: every acknowledgement is too late); call before Start.
func (o *Outbox) SetDirectAckWaitFor(f func(topic string) time.Duration) { o.ackWaitFor = f }

// DirectAwaiting is how many direct publishes over the network await their acknowledgements.
func (o *Outbox) DirectAwaiting() int {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	return len(o.held)
}

// OrderKeys is how many ordering keys the outbox tracks.
func (o *Outbox) OrderKeys() int {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	return len(o.order)
}

// FlushRetained writes the retained messages pending for the broker's file now (as its timer
// would).
func (b *Broker) FlushRetained() { b.retained.flush() }

// RetainedPending is how many retained messages wait for the broker's file.
func (b *Broker) RetainedPending() int {
	b.retained.mu.Lock()
	defer b.retained.mu.Unlock()
	return len(b.retained.pending)
}

// RetainedDecodes is how many retained messages the broker's file store has read from its file.
func (b *Broker) RetainedDecodes() int64 { return b.retained.decodes.Load() }

// RetainV5ForTest hands the broker's file store an MQTT 5 retained message with a message expiry
// (unix seconds), as mochi does for a v5 client's retained PUBLISH.
func (b *Broker) RetainV5ForTest(topic string, payload []byte, expiry int64) {
	b.retained.Put(packets.Packet{TopicName: topic, Payload: payload, ProtocolVersion: 5,
		Created: time.Now().Unix(), Expiry: expiry,
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true, Qos: 1}})
}
