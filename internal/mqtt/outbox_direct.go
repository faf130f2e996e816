package mqtt

import (
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Direct publishes to a broker over the network (publishAcked). Order is kept per ordering key
// (orderKey: one device, or the bridge's own topics), not across them: a message goes straight
// to the broker when nothing of its key is still queued in the outbox or awaiting an
// acknowledgement, whatever other devices have queued. A message the broker is slow to
// acknowledge is committed under a key taken before it was published, so it keeps its place
// before anything of its device enqueued after it, and its key stays busy (the device's later
// messages are committed behind it) until the deliverer has it acknowledged.

// directAckWait is how long EnqueueBatch waits for a network broker's acknowledgements before
// it calls the broker slow and commits what is not acknowledged yet.
const directAckWait = 100 * time.Millisecond

// keyState is what one ordering key has pending.
type keyState struct {
	last   uint64 // highest outbox key taken for one of its messages
	direct int    // its messages published directly and not yet acknowledged or committed
}

// minPruneAt is the size of the order map below which settled keys are left in it.
const minPruneAt = 1024

// orderKey is the key order is kept within: base/<level>, the device (base/<id>/…) or the
// bridge (base/bridge/…); a topic outside base is a key of its own.
func orderKey(base, topic string) string {
	if len(topic) <= len(base)+1 || topic[len(base)] != '/' || topic[:len(base)] != base {
		return topic
	}
	for i := len(base) + 1; i < len(topic); i++ {
		if topic[i] == '/' {
			return topic[:i]
		}
	}
	return topic
}

// queuedLocked records that key seq holds a message on topic. Under keyMu.
func (o *Outbox) queuedLocked(topic string, seq uint64) {
	k := orderKey(o.base, topic)
	st := o.order[k]
	st.last = max(st.last, seq)
	o.order[k] = st
	if len(o.order) >= o.pruneAt {
		acked := o.ackedSnap.Load()
		for k, st := range o.order {
			if st.direct == 0 && st.last <= acked {
				delete(o.order, k)
			}
		}
		o.pruneAt = max(minPruneAt, 2*len(o.order))
	}
}

// startOrder fixes the ordering keys' base before delivery starts: nothing taken until now
// (recorded without it) may be overtaken, so no direct publish before the deliverer has it all
// acknowledged.
func (o *Outbox) startOrder(base string) {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	o.base = base
	o.floor = o.nextKey
}

// clearLocked: the client is connected and nothing of msgs' ordering keys is queued or awaiting
// an acknowledgement, so msgs published now cannot overtake one enqueued before them. Under
// keyMu.
func (o *Outbox) clearLocked(c *Client, msgs []Publish) bool {
	select {
	case <-o.quit:
		return false
	default:
	}
	acked := o.ackedSnap.Load()
	if acked < o.floor || !c.Connected() {
		return false
	}
	for _, m := range msgs {
		k := orderKey(o.base, m.Topic)
		st, ok := o.order[k]
		if !ok {
			continue
		}
		if st.direct > 0 || st.last > acked {
			return false
		}
		delete(o.order, k)
	}
	return true
}

// publishAcked publishes msgs over the client's connection when their keys are clear, and waits
// for the acknowledgements. It takes keys for msgs first and holds them (delivery stops below
// them) while it waits; it returns how many were acknowledged (a prefix), and for the rest the
// first held key and their publishes still in flight (see publishDirect). The caller commits
// the rest under their held keys, then calls endDirect.
func (o *Outbox) publishAcked(c *Client, msgs []Publish) (int, uint64, []*sentDirect) {
	s, _ := c.current()
	if s == nil {
		return 0, 0, nil
	}
	o.keyMu.Lock()
	if !o.clearLocked(c, msgs) {
		o.keyMu.Unlock()
		return 0, 0, nil
	}
	first := o.nextKey + 1
	o.nextKey += uint64(len(msgs))
	o.held[first] = o.nextKey
	for _, m := range msgs {
		k := orderKey(o.base, m.Topic)
		st := o.order[k]
		st.direct++
		o.order[k] = st
	}
	o.keyMu.Unlock()
	toks := make([]paho.Token, len(msgs))
	for i, m := range msgs {
		toks[i] = c.publish(s, m.Topic, m.QoS, m.Retained, m.Payload)
	}
	acked := o.awaitAcks(s, msgs[0].Topic, toks)
	if acked == len(msgs) {
		o.endDirect(first, 0, msgs)
		return acked, 0, nil
	}
	unacked := make([]*sentDirect, 0, len(toks)-acked)
	for _, t := range toks[acked:] {
		unacked = append(unacked, &sentDirect{tok: t, sess: s})
	}
	return acked, first, unacked
}

// awaitAcks waits up to the acknowledgement wait for toks, in order, and returns how many
// succeeded before one failed, the connection ended or the wait ran out. A wait of 0 (tests)
// takes none.
func (o *Outbox) awaitAcks(s *session, topic string, toks []paho.Token) int {
	d := o.ackWait
	if o.ackWaitFor != nil {
		d = o.ackWaitFor(topic)
	}
	if d <= 0 {
		return 0
	}
	wait := time.NewTimer(d)
	defer wait.Stop()
	for i, t := range toks {
		select {
		case <-t.Done():
			if t.Error() == nil {
				continue
			}
		case <-wait.C:
		case <-s.ended:
		}
		return i
	}
	return len(toks)
}

// endDirect ends the hold of publishAcked on the keys from first, and msgs' direct publishes;
// last > 0: the late ones were committed up to that key (and recorded as queued for their keys,
// which stay busy until the deliverer has them acknowledged).
func (o *Outbox) endDirect(first, last uint64, msgs []Publish) {
	o.keyMu.Lock()
	if last > 0 {
		o.raiseTail(last)
	}
	delete(o.held, first)
	acked := o.ackedSnap.Load()
	for _, m := range msgs {
		k := orderKey(o.base, m.Topic)
		st := o.order[k]
		st.direct--
		if st.direct == 0 && st.last <= acked {
			delete(o.order, k) // settled: a fleet publishing directly leaves nothing behind
			continue
		}
		o.order[k] = st
	}
	o.keyMu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// deliverLimit is the last key the deliverer may send: the last committed one, or the one
// before keys held by a direct publish.
func (o *Outbox) deliverLimit() uint64 {
	o.keyMu.Lock()
	defer o.keyMu.Unlock()
	limit := o.tail.Load()
	for first := range o.held {
		limit = min(limit, first-1)
	}
	return limit
}

// adopt records that the entry under key was already published by a direct publish.
func (o *Outbox) adopt(key uint64, sd *sentDirect) {
	o.adoptMu.Lock()
	o.adoptedKeys[key] = sd
	o.adoptMu.Unlock()
}

// adopted returns the pending direct publish of key on s, if there is one to wait for, and
// forgets every adopted key up to key (passed, or to be published again on a new connection).
func (o *Outbox) adopted(key uint64, s *session) paho.Token {
	o.adoptMu.Lock()
	defer o.adoptMu.Unlock()
	if len(o.adoptedKeys) == 0 {
		return nil
	}
	sd := o.adoptedKeys[key]
	for k := range o.adoptedKeys {
		if k <= key {
			delete(o.adoptedKeys, k)
		}
	}
	if sd == nil || sd.sess != s || tokenDone(sd.tok) && sd.tok.Error() != nil {
		return nil
	}
	return sd.tok
}
