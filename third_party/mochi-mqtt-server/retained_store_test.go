package mqtt

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// cwmp2mqtt patch: tests of the pluggable retained-message store (RetainedStore).

// mapStore is a RetainedStore in a map, as a file store would behave for the broker; it keeps
// copies so that a test sees what the broker handed over.
type mapStore struct {
	sync.Mutex
	m map[string]packets.Packet
}

func newMapStore() *mapStore { return &mapStore{m: map[string]packets.Packet{}} }

func (m *mapStore) Put(pk packets.Packet) {
	m.Lock()
	defer m.Unlock()
	m.m[pk.TopicName] = pk
}

func (m *mapStore) Delete(topic string) bool {
	m.Lock()
	defer m.Unlock()
	_, ok := m.m[topic]
	delete(m.m, topic)
	return ok
}

func (m *mapStore) Get(topic string) (packets.Packet, bool) {
	m.Lock()
	defer m.Unlock()
	pk, ok := m.m[topic]
	return pk, ok
}

func (m *mapStore) Match(filter string, fn func(packets.Packet) bool) {
	m.Lock()
	var pks []packets.Packet
	for topic, pk := range m.m {
		if MatchTopic(filter, topic) {
			pks = append(pks, pk)
		}
	}
	m.Unlock()
	for _, pk := range pks {
		if !fn(pk) {
			return
		}
	}
}

func (m *mapStore) Len() int {
	m.Lock()
	defer m.Unlock()
	return len(m.m)
}

func TestMatchTopic(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a/+", "a/b", true},
		{"a/+", "a", false},
		{"a/+", "a/b/c", false},
		{"+/+", "a/b", true},
		{"+/b", "a/b", true},
		{"a/#", "a", true}, // [MQTT-4.7.1-2]
		{"a/#", "a/b/c", true},
		{"a/#", "b/c", false},
		{"a/b/#", "a", false},
		{"#", "a/b/c", true},
		{"#", "$SYS/broker/uptime", false}, // [MQTT-4.7.2-1]
		{"+/broker/uptime", "$SYS/broker/uptime", false},
		{"$SYS/#", "$SYS/broker/uptime", true},
		{"cwmp2mqtt/+/state", "cwmp2mqtt/dev-1/state", true},
		{"cwmp2mqtt/+/state", "cwmp2mqtt/dev-1/info", false},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
	} {
		if got := MatchTopic(c.filter, c.topic); got != c.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}

func topicsOf(pks []packets.Packet) []string {
	var out []string
	for _, pk := range pks {
		out = append(out, pk.TopicName+"="+string(pk.Payload))
	}
	sort.Strings(out)
	return out
}

func TestRetainedStoreKeepsMessagesOutOfTheTopicTree(t *testing.T) {
	st := newMapStore()
	caps := NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0
	s := New(&Options{InlineClient: true, Capabilities: caps, RetainedStore: st})
	for _, p := range [][2]string{{"gw/d1/state", "s1"}, {"gw/d1/info", "i1"}, {"gw/d2/state", "s2"}, {"gw/d2/state", "s2b"}} {
		if err := s.Publish(p[0], []byte(p[1]), true, 1); err != nil {
			t.Fatal(err)
		}
	}
	if st.Len() != 3 {
		t.Fatalf("store holds %d messages, want 3", st.Len())
	}
	if n := s.Topics.root.particles.len(); n != 0 {
		t.Fatalf("the topic tree has %d top levels for retained messages kept by the store, want 0", n)
	}
	if got := topicsOf(s.Topics.Messages("gw/+/state")); len(got) != 2 || got[0] != "gw/d1/state=s1" || got[1] != "gw/d2/state=s2b" {
		t.Fatalf("Messages(gw/+/state) = %v, want d1's and d2's newest", got)
	}
	if got := topicsOf(s.Topics.Messages("gw/d1/info")); len(got) != 1 || got[0] != "gw/d1/info=i1" {
		t.Fatalf("Messages(gw/d1/info) = %v", got)
	}
	if got := s.Topics.Messages("gw/d9/info"); len(got) != 0 {
		t.Fatalf("Messages of a topic without a retained message = %v", got)
	}
	if s.Info.Retained != 3 {
		t.Fatalf("$SYS retained count %d, want 3", s.Info.Retained)
	}
	if err := s.Publish("gw/d1/state", nil, true, 1); err != nil { // an empty payload deletes
		t.Fatal(err)
	}
	if _, ok := st.Get("gw/d1/state"); ok || s.Info.Retained != 2 {
		t.Fatalf("after an empty retained publish the store still has it (%v) or the count is %d, want 2", ok, s.Info.Retained)
	}
	if got := topicsOf(s.Topics.Messages("#")); len(got) != 2 {
		t.Fatalf("Messages(#) = %v, want the two left", got)
	}

	s.publishSysTopics() // the broker's own $SYS topics stay in memory
	if _, ok := st.Get(SysPrefix + "/broker/version"); ok {
		t.Fatal("a $SYS topic went to the store")
	}
	if got := s.Topics.Messages(SysPrefix + "/broker/version"); len(got) != 1 {
		t.Fatalf("Messages($SYS/broker/version) = %v, want the broker's", topicsOf(got))
	}
	if got := topicsOf(s.Topics.Messages("#")); len(got) != 2 {
		t.Fatalf("Messages(#) after $SYS = %v, want the store's two only", got)
	}
}

func TestRetainedStoreCopiesPayloadsHandedToSubscribers(t *testing.T) {
	st := newMapStore()
	s := New(&Options{RetainedStore: st})
	s.retainMessage(nil, retained("a/b", 4, 1, 0, "xyz"))
	pks := s.Topics.Messages("a/#")
	if len(pks) != 1 {
		t.Fatalf("%d messages", len(pks))
	}
	stored, _ := st.Get("a/b")
	stored.Payload[0] = 'Q' // Match's payload is only valid during the call: a store may reuse it
	if string(pks[0].Payload) != "xyz" {
		t.Fatalf("the packet from Messages shares the store's payload: %q", pks[0].Payload)
	}
}

func TestRetainedStoreMessagesExpireAndAreIndexedAtStart(t *testing.T) {
	st := newMapStore()
	const now = 1_000_000
	st.Put(retained("old/expiring", 5, now, now+5, "a")) // left by an earlier run
	st.Put(retained("old/plain", 4, now, 0, "b"))
	caps := NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0
	s := New(&Options{Capabilities: caps, RetainedStore: st})
	s.indexStoredRetained() // what Serve does
	s.retainMessage(nil, retained("new/expiring", 5, now, now+3, "c"))
	if n := s.retainedExpiry.Len(); n != 2 {
		t.Fatalf("indexed %d, want the two expiring messages", n)
	}
	s.clearExpiredRetainedMessages(now + 4)
	if _, ok := st.Get("new/expiring"); ok {
		t.Fatal("new/expiring kept past its expiry")
	}
	s.clearExpiredRetainedMessages(now + 6)
	if _, ok := st.Get("old/expiring"); ok {
		t.Fatal("a message the store held at start was kept past its expiry")
	}
	if _, ok := st.Get("old/plain"); !ok {
		t.Fatal("a message without expiry was deleted")
	}
}

// expiringStore is a mapStore that lists its expiring messages apart (RetainedExpiringStore)
// and counts the messages it hands over through Match, as a file store would read them.
type expiringStore struct {
	*mapStore
	matched atomic.Int64
}

func (e *expiringStore) Match(filter string, fn func(packets.Packet) bool) {
	e.mapStore.Match(filter, func(pk packets.Packet) bool {
		e.matched.Add(1)
		return fn(pk)
	})
}

func (e *expiringStore) MatchExpiring(fn func(packets.Packet) bool) {
	e.mapStore.Match("#", func(pk packets.Packet) bool { // the map's walk stands for the store's own list
		if pk.ProtocolVersion == 5 && pk.Expiry > 0 {
			return fn(pk)
		}
		return true
	})
}

// A broker started on a store that already holds many retained messages that cannot expire (no
// MQTT 5 expiry, no MaximumMessageExpiryInterval) reads none of them: for a file store, reading
// them all at start made the whole file resident. The one that can expire still does.
func TestRetainedStoreStartReadsNoMessageThatCannotExpire(t *testing.T) {
	const now = 1_000_000
	st := &expiringStore{mapStore: newMapStore()}
	for i := 0; i < 1000; i++ {
		st.Put(retained(fmt.Sprintf("gw/d%d/state", i), 4, now, 0, "s"))
	}
	st.Put(retained("gw/expiring", 5, now, now+5, "e"))
	caps := NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0
	s := New(&Options{Capabilities: caps, RetainedStore: st})
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := st.matched.Load(); n != 0 {
		t.Fatalf("the start read %d retained messages through Match, want 0", n)
	}
	if n := s.retainedExpiry.Len(); n != 1 {
		t.Fatalf("indexed %d, want the expiring message", n)
	}
	s.clearExpiredRetainedMessages(now + 6)
	if _, ok := st.Get("gw/expiring"); ok {
		t.Fatal("a message the store held at start was kept past its expiry")
	}
}

// With MaximumMessageExpiryInterval every message can expire: the start indexes them all, even
// with a store that lists its expiring messages apart.
func TestRetainedStoreStartIndexesEveryMessageUnderAMaximumExpiry(t *testing.T) {
	const now = 1_000_000
	st := &expiringStore{mapStore: newMapStore()}
	st.Put(retained("gw/a", 4, now, 0, "a"))
	st.Put(retained("gw/b", 5, now, 0, "b"))
	caps := NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 10
	s := New(&Options{Capabilities: caps, RetainedStore: st})
	s.indexStoredRetained() // what Serve does
	if n := s.retainedExpiry.Len(); n != 2 {
		t.Fatalf("indexed %d, want both", n)
	}
	s.clearExpiredRetainedMessages(now + 11)
	if st.Len() != 0 {
		t.Fatalf("%d messages kept past the maximum expiry", st.Len())
	}
}

// allowAll lets every client read every topic (the package's own auth hooks import it).
type allowAll struct{ HookBase }

func (h *allowAll) ID() string                                           { return "allow-all" }
func (h *allowAll) Provides(b byte) bool                                 { return b == OnACLCheck }
func (h *allowAll) OnACLCheck(cl *Client, topic string, write bool) bool { return true }
