package mqtt

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Retained messages for a new subscription are fed to the client with flow control (cwmp2mqtt
// patch). Upstream sends them all at once through publishToClient, which drops what does not fit:
// the client's pending writes are bounded (MaximumClientWritesPending, 8,192) and so are its
// in-flight QoS messages (MaximumInflight, 8,192). A subscriber to "B/+/state" over 100,000
// retained states received 8,192 of them at QoS 1 (every other one logged as "client store
// quota reached"), and a few thousand fewer than all at QoS 0 whenever its socket fell behind.
//
// A feed instead waits for room: it sends while the client's queue and in-flight window are less
// than half full (the other half stays free for live messages), and otherwise continues in a
// goroutine of its own that waits for the client to drain. Nothing is dropped until the client
// goes away, unsubscribes, or subscribes to the same filter again (which starts a new feed).
//
// A feed must never send an older message after a newer live one of the same topic (the
// subscriber would keep the stale one): while a client has feeds, each retained message
// published to it live is noted under feedsMu and the feeds skip its topic.

// retainedFeedPage is how many messages a feed reads from an external store at a time: its memory
// is bounded by a page, and no store transaction stays open while the client is slow.
const retainedFeedPage = 256

// retainedFeedWait bounds the wait between two looks at a full client.
const retainedFeedWait = 20 * time.Millisecond

// RetainedPagedStore is a RetainedStore that can be read a page at a time (cwmp2mqtt patch), so
// that a subscription matching many retained messages is served without holding them all or a
// read of the store open while the subscriber drains.
type RetainedPagedStore interface {
	RetainedStore
	// MatchPending calls fn with each write (pk nil: a deletion) whose topic matches filter and
	// that MatchPage may not see yet: the store accepted it but has not placed it in its ordered
	// part. Everything accepted before the call is either passed to fn or seen by MatchPage.
	MatchPending(filter string, fn func(topic string, pk *packets.Packet))
	// MatchPage calls fn with up to limit messages of the ordered part whose topic matches filter,
	// starting after the cursor a previous call returned (nil: from the start), and returns the
	// cursor to continue from; more is false when there are none left. pk.Payload is only valid
	// during the call.
	MatchPage(filter string, after []byte, limit int, fn func(pk packets.Packet)) (next []byte, more bool)
}

// clientFeeds are the retained feeds running for one client.
type clientFeeds struct {
	active atomic.Int32 // len(feeds): publishToClient's cheap test
	mu     sync.Mutex   // feeds, each feed's live set, and a send that must not interleave with a note
	feeds  map[string]*retainedFeed
}

// retainedFeed sends the retained messages of one subscription to one client.
type retainedFeed struct {
	s      *Server
	cl     *Client
	sub    packets.Subscription
	stop   atomic.Bool
	live   map[string]struct{} // topics published to the client live since the feed began
	skip   map[string]struct{} // topics already sent from the store's pending writes
	batch  []packets.Packet    // read, not yet sent
	store  RetainedPagedStore  // nil: batch holds everything there is
	cursor []byte
	more   bool
}

// feedRetained starts a feed of the retained messages matching sub to cl. It sends what fits
// before it returns and leaves the rest to a goroutine.
func (s *Server) feedRetained(cl *Client, sub packets.Subscription) {
	f := &retainedFeed{s: s, cl: cl, sub: sub, live: map[string]struct{}{}}
	cl.State.feeds.mu.Lock()
	if cl.State.feeds.feeds == nil {
		cl.State.feeds.feeds = map[string]*retainedFeed{}
	}
	if old := cl.State.feeds.feeds[sub.Filter]; old != nil {
		old.stop.Store(true) // [MQTT-3.8.4-3]: a repeated SUBSCRIBE sends the retained messages again
	} else {
		cl.State.feeds.active.Add(1)
	}
	cl.State.feeds.feeds[sub.Filter] = f
	cl.State.feeds.mu.Unlock()

	// Registered first: anything published from here on is noted, so what is read below may be
	// older than what the client receives live but is then skipped.
	if ps, ok := s.Topics.store.(RetainedPagedStore); ok && s.Topics.streamsRetained(sub.Filter) {
		f.store, f.more, f.skip = ps, true, map[string]struct{}{}
		ps.MatchPending(sub.Filter, func(topic string, pk *packets.Packet) {
			f.skip[topic] = struct{}{}
			if pk != nil {
				cp := *pk
				cp.Payload = append([]byte(nil), pk.Payload...)
				f.batch = append(f.batch, cp)
			}
		})
	} else {
		f.batch = s.Topics.Messages(sub.Filter) // [MQTT-3.8.4-4]
	}
	if !f.run(false) {
		go f.run(true)
	}
}

// stopFeed ends cl's feed of filter, if any (an UNSUBSCRIBE).
func (cl *Client) stopFeed(filter string) {
	cl.State.feeds.mu.Lock()
	defer cl.State.feeds.mu.Unlock()
	if f := cl.State.feeds.feeds[filter]; f != nil {
		f.stop.Store(true)
		delete(cl.State.feeds.feeds, filter)
		cl.State.feeds.active.Add(-1)
	}
}

// noteLive is called by publishToClient, under feeds.mu, for a retained message published to
// cl live while it has feeds.
func (cl *Client) noteLive(topic string) {
	for _, f := range cl.State.feeds.feeds {
		f.live[topic] = struct{}{}
	}
}

// run sends until the feed is done (true) or, unless wait, until the client is full (false).
func (f *retainedFeed) run(wait bool) bool {
	pause := time.Millisecond
	for {
		if f.stop.Load() || f.cl.Closed() {
			f.end()
			return true
		}
		if len(f.batch) == 0 && !f.read() {
			f.end()
			return true
		}
		if f.room(f.batch[0]) {
			if f.send(f.batch[0]) {
				f.batch[0] = packets.Packet{} // its payload can go
				f.batch = f.batch[1:]
				pause = time.Millisecond
				continue
			}
		}
		if !wait {
			return false
		}
		select {
		case <-f.cl.State.open.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, retainedFeedWait)
	}
}

// read fills the batch with the next page; false when there is nothing left.
func (f *retainedFeed) read() bool {
	for f.store != nil && f.more && len(f.batch) == 0 {
		f.cursor, f.more = f.store.MatchPage(f.sub.Filter, f.cursor, retainedFeedPage, func(pk packets.Packet) {
			if _, sent := f.skip[pk.TopicName]; !sent {
				pk.Payload = append([]byte(nil), pk.Payload...)
				f.batch = append(f.batch, pk)
			}
		})
	}
	return len(f.batch) > 0
}

// room reports whether the client can take pk without filling more than half of its pending
// writes or, at QoS 1 and 2, of its in-flight window.
func (f *retainedFeed) room(pk packets.Packet) bool {
	caps := f.s.Options.Capabilities
	if len(f.cl.State.outbound) >= max(cap(f.cl.State.outbound)/2, 1) {
		return false
	}
	if min(pk.FixedHeader.Qos, f.sub.Qos, caps.MaximumQos) == 0 {
		return true
	}
	in := f.cl.State.Inflight
	if in.Len() >= max(int(caps.MaximumInflight)/2, 1) {
		return false
	}
	return atomic.LoadInt32(&in.maximumSendQuota) == 0 || atomic.LoadInt32(&in.sendQuota) > 0
}

// send sends pk unless its topic was published live meanwhile; false when the client had no room
// after all (a live message took it) and pk must be sent again.
func (f *retainedFeed) send(pk packets.Packet) bool {
	feeds := &f.cl.State.feeds
	feeds.mu.Lock()
	defer feeds.mu.Unlock()
	if _, newer := f.live[pk.TopicName]; newer {
		return true
	}
	sub := f.sub
	sub.FwdRetainedFlag = true
	_, err := f.s.publishToClient(f.cl, sub, pk)
	switch {
	case err == nil:
		f.s.hooks.OnRetainPublished(f.cl, pk)
	case errors.Is(err, packets.ErrPendingClientWritesExceeded), errors.Is(err, packets.ErrQuotaExceeded):
		return false
	default:
		f.s.Log.Debug("failed to publish retained message", "error", err, "client", f.cl.ID, "topic", pk.TopicName)
	}
	return true
}

// end unregisters the feed unless a newer one of the same filter took its place.
func (f *retainedFeed) end() {
	feeds := &f.cl.State.feeds
	feeds.mu.Lock()
	defer feeds.mu.Unlock()
	if feeds.feeds[f.sub.Filter] == f {
		delete(feeds.feeds, f.sub.Filter)
		feeds.active.Add(-1)
	}
	f.batch = nil
}
