package mqtt

import (
	"errors"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// deleteEvery is how many acknowledged entries are deleted per request; the
// acked prefix is also deleted whenever the deliverer goes idle.
const deleteEvery = 256

// readAhead is how many entries one read transaction loads.
const readAhead = 256

// flight is one publish handed to paho, awaiting its PUBACK.
type flight struct {
	key uint64
	tok paho.Token
}

// Start begins delivering through c: a single goroutine publishes in key
// order while c is connected, with up to Window publishes in flight, and
// deletes the acknowledged prefix in batches. When the connection drops it
// stops and, on the next connection, resumes from the first unacknowledged
// entry: the in-flight window may be published twice (at-least-once; order
// per topic is kept).
func (o *Outbox) Start(c *Client) error {
	o.deliverMu.Lock()
	defer o.deliverMu.Unlock()
	select {
	case <-o.quit:
		return ErrClosed
	default:
	}
	if o.deliverQuit != nil {
		return errors.New("outbox: delivery already started")
	}
	o.deliverQuit, o.deliverDone = make(chan struct{}), make(chan struct{})
	o.startOrder(c.topics.Base)
	o.client.Store(c)
	go o.deliver(c, o.deliverQuit, o.deliverDone)
	return nil
}

// stopDelivery stops the deliverer (if running) and waits for it.
func (o *Outbox) stopDelivery() {
	o.deliverMu.Lock()
	q, d := o.deliverQuit, o.deliverDone
	o.deliverMu.Unlock()
	if q == nil {
		return
	}
	o.client.Store(nil)
	close(q)
	<-d
}

func (o *Outbox) deliver(c *Client, quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	defer o.requestDelete()
	for {
		s, changed := c.current()
		if s == nil {
			select {
			case <-changed:
				continue
			case <-quit:
				return
			}
		}
		replayFrom := o.acked
		n := o.deliverOn(c, s, quit)
		// Rewind: what was in flight is sent again on the next connection.
		o.sentThrough.Store(o.acked)
		o.inFlight.Store(0)
		o.log.Debug("delivery paused", zap.Uint64("resumed_after_key", replayFrom),
			zap.Uint64("acked_key", o.acked), zap.Int("published", n))
		select {
		case <-quit:
			return
		default:
		}
	}
}

// deliverOn publishes over one connection until it ends; it returns the
// number of publishes made.
//
// paho's Publish can block for up to its write timeout when the connection
// dies under it, so a sender goroutine makes the calls and the deliverer only
// waits on channels: a lost connection stops delivery at once, and the stuck
// sender finishes on its own against the dead client.
func (o *Outbox) deliverOn(c *Client, s *session, quit <-chan struct{}) int {
	window := o.opts.Window
	send := make(chan entry, window)     // to the sender
	flights := make(chan flight, window) // tokens back, in order
	stop := make(chan struct{})
	defer close(stop)
	defer close(send)
	go func() {
		for e := range send {
			tok := o.adopted(e.key, s)
			if tok == nil {
				tok = c.publish(s, e.topic, e.qos, e.retained, e.payload)
			}
			select {
			case flights <- flight{key: e.key, tok: tok}:
			case <-stop:
				return
			}
		}
	}()

	var (
		sent      = o.acked
		buf       []entry
		inflight  []flight // tokens received, oldest first
		pending   int      // handed to the sender and not yet acked (≤ window)
		published int
	)
	for {
		// Fill the window in key order.
		for pending < window {
			if len(buf) == 0 {
				tail := o.deliverLimit()
				if sent >= tail {
					break
				}
				var err error
				if buf, err = o.read(sent+1, readAhead); err != nil {
					o.log.Error("outbox read failed", zap.Error(err))
					return published
				}
				for i, e := range buf {
					if e.key > tail { // committed behind keys a direct publish still holds
						buf = buf[:i]
						break
					}
				}
				if len(buf) == 0 {
					sent = tail // everything up to tail was coalesced or dropped
					break
				}
			}
			send <- buf[0]
			sent = buf[0].key
			buf = buf[1:]
			o.sentThrough.Store(sent)
			pending++
			published++
		}
		o.inFlight.Store(int64(pending))

		if pending == 0 && sent > o.acked {
			// Nothing in flight and nothing left up to sent: the keys in between were coalesced,
			// dropped, published directly or never committed. Caught up; nothing to delete.
			if o.acked == o.deleted {
				o.deleted = sent
			}
			o.setAcked(sent)
		}
		if pending == 0 {
			o.requestDelete()
			select {
			case <-o.wake:
				continue
			case <-s.ended:
			case <-s.abort:
			case <-quit:
			}
			return published
		}
		var headDone <-chan struct{}
		if len(inflight) > 0 {
			headDone = inflight[0].tok.Done()
		}
		select {
		case f := <-flights:
			inflight = append(inflight, f)
		case <-headDone:
		case <-o.wake:
			continue
		case <-s.ended:
			return published
		case <-s.abort:
			return published
		case <-quit:
			return published
		}
		// Advance over the acknowledged prefix.
		var acks uint64
		for len(inflight) > 0 && tokenDone(inflight[0].tok) {
			if err := inflight[0].tok.Error(); err != nil {
				o.addDelivered(acks)
				if !c.Connected() {
					return published // the connection is gone; nothing to abort
				}
				o.log.Warn("publish failed; reconnecting to replay from the first unacked entry",
					zap.Uint64("key", inflight[0].key), zap.Error(err))
				c.abort(s)
				return published
			}
			o.setAcked(inflight[0].key)
			inflight = inflight[1:]
			pending--
			acks++
		}
		o.addDelivered(acks)
		if o.acked-o.deleted >= deleteEvery {
			o.requestDelete()
		}
	}
}

// setAcked advances acked (owned by the deliverer) and its mirror for publishDirect.
func (o *Outbox) setAcked(key uint64) {
	o.acked = key
	o.ackedSnap.Store(key)
}

func tokenDone(t paho.Token) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

func (o *Outbox) addDelivered(n uint64) {
	if n == 0 {
		return
	}
	o.statsMu.Lock()
	o.delivered += n
	o.statsMu.Unlock()
}

// requestDelete hands the acknowledged, not yet deleted prefix to the writer.
func (o *Outbox) requestDelete() {
	if o.acked <= o.deleted {
		return
	}
	o.dels <- keyRange{from: o.deleted + 1, to: o.acked}
	o.deleted = o.acked
}

// read loads up to n entries with keys ≥ from. A corrupt entry is skipped
// (logged); it is deleted with the acknowledged prefix around it.
func (o *Outbox) read(from uint64, n int) ([]entry, error) {
	out := make([]entry, 0, n)
	err := o.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(outboxBucket).Cursor()
		for k, v := c.Seek(entryKey(from)); k != nil && len(out) < n; k, v = c.Next() {
			e, err := decodeEntry(k, v)
			if err != nil {
				o.log.Error("outbox entry skipped", zap.Binary("key", k), zap.Error(err))
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
