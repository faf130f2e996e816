package mqtt

import (
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// cwmp2mqtt patch: tests of the retained feed (retained_feed.go).

// pagedStore is a mapStore that is read a page at a time in topic order (RetainedPagedStore),
// with writes held back until settle, as a file store holds them until its flush.
type pagedStore struct {
	*mapStore
	mu      sync.Mutex
	pending map[string]*packets.Packet
	pages   int
}

func newPagedStore() *pagedStore {
	return &pagedStore{mapStore: newMapStore(), pending: map[string]*packets.Packet{}}
}

func (p *pagedStore) Put(pk packets.Packet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending[pk.TopicName] = &pk
}

func (p *pagedStore) settle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for topic, pk := range p.pending {
		if pk == nil {
			p.mapStore.Delete(topic)
		} else {
			p.mapStore.Put(*pk)
		}
	}
	p.pending = map[string]*packets.Packet{}
}

func (p *pagedStore) MatchPending(filter string, fn func(topic string, pk *packets.Packet)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for topic, pk := range p.pending {
		if MatchTopic(filter, topic) {
			fn(topic, pk)
		}
	}
}

func (p *pagedStore) MatchPage(filter string, after []byte, limit int, fn func(pk packets.Packet)) ([]byte, bool) {
	p.pages++
	p.mapStore.Lock()
	var topics []string
	for topic := range p.m {
		if MatchTopic(filter, topic) && topic > string(after) {
			topics = append(topics, topic)
		}
	}
	sort.Strings(topics)
	more := len(topics) > limit
	if more {
		topics = topics[:limit]
	}
	pks := make([]packets.Packet, len(topics))
	for i, topic := range topics {
		pks[i] = p.m[topic]
	}
	p.mapStore.Unlock()
	for _, pk := range pks {
		fn(pk)
	}
	if len(topics) == 0 {
		return after, false
	}
	return []byte(topics[len(topics)-1]), more
}

// feedServer is a server over a paged store holding n retained messages gw/dNNNN/state with
// payload "old" at QoS 1, whose clients may queue `pending` packets and hold `inflight` QoS messages.
func feedServer(t *testing.T, n int, pending, inflight int32) (*Server, *pagedStore) {
	t.Helper()
	st := newPagedStore()
	for i := 0; i < n; i++ {
		pk := retained(fmt.Sprintf("gw/d%04d/state", i), 4, 1, 0, "old")
		pk.FixedHeader.Qos = 1 // as the gateway publishes its states
		st.Put(pk)
	}
	st.settle()
	caps := NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = pending
	caps.MaximumInflight = uint16(inflight)
	caps.MaximumMessageExpiryInterval = 0
	s := New(&Options{RetainedStore: st, Capabilities: caps})
	if err := s.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	return s, st
}

// feedClient is a connected client of s subscribed to filter at qos, its retained messages not
// sent yet.
func feedClient(t *testing.T, s *Server, filter string, qos byte) (*Client, packets.Subscription) {
	t.Helper()
	conn, peer := net.Pipe()
	t.Cleanup(func() { conn.Close(); peer.Close() })
	cl := s.NewClient(conn, "test", "sub", false)
	cl.Properties.ProtocolVersion = 4
	s.Clients.Add(cl)
	sub := packets.Subscription{Filter: filter, Qos: qos}
	s.Topics.Subscribe(cl.ID, sub)
	return cl, sub
}

// received takes what cl's write loop would write, as it would, until nothing came for a while:
// the payload of each topic in the order received (the last is what the subscriber keeps), and
// at QoS 1 a PUBACK for each.
func received(t *testing.T, s *Server, cl *Client) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for {
		select {
		case pk := <-cl.State.outbound:
			atomic.AddInt32(&cl.State.outboundQty, -1)
			got[pk.TopicName] = append(got[pk.TopicName], string(pk.Payload))
			if pk.FixedHeader.Qos == 1 {
				ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID}
				if err := s.processPuback(cl, ack); err != nil {
					t.Fatal(err)
				}
			}
		case <-time.After(300 * time.Millisecond):
			return got
		}
	}
}

// Upstream, a subscription matching more retained messages than a client may have queued lost the
// rest: 8,192 of 100,000 states at QoS 1 with the broker's defaults. Here with 16 writes pending
// and 8 in flight, 1,000 messages in four pages; and with room for one message at a time.
func TestRetainedFeedSendsEveryMessagePastTheClientsLimits(t *testing.T) {
	for _, c := range []struct {
		qos               byte
		pending, inflight int32
	}{{0, 16, 8}, {1, 16, 8}, {1, 1, 1}} {
		t.Run(fmt.Sprintf("QoS %d, %d pending, %d in flight", c.qos, c.pending, c.inflight), func(t *testing.T) {
			qos := c.qos
			s, st := feedServer(t, 1000, c.pending, c.inflight)
			cl, sub := feedClient(t, s, "gw/+/state", qos)
			s.publishRetainedToClient(cl, sub, false)
			got := received(t, s, cl)
			if len(got) != 1000 {
				t.Fatalf("the subscriber received %d of 1000 retained messages", len(got))
			}
			for topic, payloads := range got {
				if len(payloads) != 1 || payloads[0] != "old" {
					t.Fatalf("%s: received %q, want it once", topic, payloads)
				}
			}
			if st.pages < 4 {
				t.Fatalf("the store was read in %d pages: the feed holds more than a page", st.pages)
			}
			if n := cl.State.feeds.active.Load(); n != 0 {
				t.Fatalf("%d feeds left running after the last message", n)
			}
			if d := s.Info.MessagesDropped; d != 0 {
				t.Fatalf("%d messages dropped", d)
			}
		})
	}
}

// A retained message published live while the feed runs reaches the subscriber, and the older
// one the feed had read is not sent after it: the subscriber keeps the newer.
func TestRetainedFeedNeverSendsAnOlderMessageAfterALiveOne(t *testing.T) {
	s, st := feedServer(t, 100, 8, 8)
	cl, sub := feedClient(t, s, "gw/#", 0)
	st.Put(retained("gw/d0099/state", 4, 1, 0, "pending")) // accepted, not yet in the ordered part
	s.publishRetainedToClient(cl, sub, false)
	if cl.State.feeds.active.Load() != 1 {
		t.Fatal("the feed did not wait for the client")
	}
	// The feed has read its first page; now gw/d0050/state changes, live.
	live := retained("gw/d0050/state", 4, 2, 0, "new")
	s.Topics.RetainMessage(live)
	s.publishToSubscribers(live)
	got := received(t, s, cl)
	if len(got) != 100 {
		t.Fatalf("the subscriber received %d of 100 topics", len(got))
	}
	if p := got["gw/d0050/state"]; p[len(p)-1] != "new" {
		t.Fatalf("gw/d0050/state received as %q: the feed's older message came after the live one", p)
	}
	if p := got["gw/d0099/state"]; len(p) != 1 || p[0] != "pending" {
		t.Fatalf("gw/d0099/state received as %q, want the pending write once", p)
	}
}

// An UNSUBSCRIBE ends the feed of its filter, and a client that goes away ends all of its feeds.
func TestRetainedFeedEndsWithItsSubscriptionOrClient(t *testing.T) {
	s, _ := feedServer(t, 100, 8, 8)
	cl, sub := feedClient(t, s, "gw/#", 0)
	s.publishRetainedToClient(cl, sub, false)
	cl.stopFeed(sub.Filter)
	if got := received(t, s, cl); len(got) > 10 {
		t.Fatalf("%d messages received after the feed was stopped", len(got))
	}

	cl2, sub2 := feedClient(t, s, "gw/#", 0)
	s.publishRetainedToClient(cl2, sub2, false)
	cl2.Stop(nil)
	deadline := time.Now().Add(5 * time.Second)
	for cl2.State.feeds.active.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the feed of a closed client still runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
