package mqtt

import (
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"
)

// RetainedStore keeps a broker's retained messages outside its topic tree (cwmp2mqtt patch), for
// example in a file, so that they need not live in the heap. Set it with Options.RetainedStore;
// nil keeps them in memory as before (TopicsIndex.Retained and the topic tree). Topics that
// begin with '$' (the broker's own $SYS topics, republished every SysTopicResendInterval) stay
// in memory either way.
//
// The broker calls it concurrently; the store orders the calls for one topic as they were
// made (a Get after a Put returns the Put's packet).
type RetainedStore interface {
	// Put makes pk (a retained PUBLISH with a non-empty payload) the retained message of
	// pk.TopicName, replacing any. The store may keep pk.Payload: the broker does not modify it.
	Put(pk packets.Packet)
	// Delete removes the retained message of topic and reports whether there was one.
	Delete(topic string) bool
	// Get returns the retained message of topic.
	Get(topic string) (packets.Packet, bool)
	// Match calls fn with every retained message whose topic matches filter (MatchTopic), in
	// any order, until fn returns false. pk.Payload is only valid during the call: fn copies
	// what it keeps.
	Match(filter string, fn func(pk packets.Packet) bool)
	// Len is the number of retained messages held.
	Len() int
}

// RetainedExpiringStore is a RetainedStore that can list the messages carrying an MQTT 5
// message expiry without reading the others (cwmp2mqtt patch). Serve indexes the expiry of the
// messages a store holds at start: without this, it walks Match("#") and reads every message,
// although, without MaximumMessageExpiryInterval, only those with an expiry can expire.
type RetainedExpiringStore interface {
	RetainedStore
	// MatchExpiring calls fn with every retained message that has ProtocolVersion 5 and an
	// Expiry above 0, in any order, until fn returns false. pk.Payload may be empty.
	MatchExpiring(fn func(pk packets.Packet) bool)
}

// MatchTopic reports whether topic matches the topic filter by the rules of MQTT v5 §4.7: '+'
// matches one level, a trailing '#' the parent level and every level below it, and a filter
// that begins with a wildcard does not match a topic that begins with '$' [MQTT-4.7.2-1].
func MatchTopic(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		if f == "#" {
			return !fmore
		}
		t, trest, tmore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		if !fmore || !tmore {
			// "a/#" matches "a" [MQTT-4.7.1-2]
			return fmore == tmore || (!tmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}

// inTree reports whether a retained message on topic is kept by the topic tree when the index
// has an external store.
func inTree(topic string) bool { return len(topic) > 0 && topic[0] == '$' }

// RetainedGet returns the retained message of topic, wherever it is kept.
func (x *TopicsIndex) RetainedGet(topic string) (packets.Packet, bool) {
	if x.store != nil && !inTree(topic) {
		return x.store.Get(topic)
	}
	return x.Retained.Get(topic)
}

// RetainedLen is the number of retained messages, wherever they are kept.
func (x *TopicsIndex) RetainedLen() int {
	n := x.Retained.Len()
	if x.store != nil {
		n += x.store.Len()
	}
	return n
}

// DeleteRetained removes the retained message of topic (an expiry), as an empty retained
// PUBLISH would.
func (x *TopicsIndex) DeleteRetained(topic string) {
	x.RetainMessage(packets.Packet{TopicName: topic, FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}})
}

// streamsRetained reports whether the retained messages matching filter come from the external
// store through a wildcard walk (Messages would gather them all).
func (x *TopicsIndex) streamsRetained(filter string) bool {
	return x.store != nil && !inTree(filter) && strings.ContainsAny(filter, "+#")
}

// storeMessages returns copies of the store's retained messages matching filter.
func (x *TopicsIndex) storeMessages(filter string) []packets.Packet {
	var pks []packets.Packet
	x.store.Match(filter, func(pk packets.Packet) bool {
		pk.Payload = append([]byte(nil), pk.Payload...)
		pks = append(pks, pk)
		return true
	})
	return pks
}

// indexStoredRetained indexes the expiry of the messages an external store holds at start: they
// were retained by an earlier run of the broker. Without MaximumMessageExpiryInterval only the
// messages with an MQTT 5 expiry can expire: a RetainedExpiringStore lists those alone, so that
// a start reads none of the others (a file store would otherwise read its whole file).
func (s *Server) indexStoredRetained() {
	if s.Topics.store == nil {
		return
	}
	index := func(pk packets.Packet) bool {
		if at := s.retainedExpiresAt(pk); at != 0 {
			s.retainedExpiry.set(pk.TopicName, at)
		}
		return true
	}
	if es, ok := s.Topics.store.(RetainedExpiringStore); ok && s.Options.Capabilities.MaximumMessageExpiryInterval <= 0 {
		es.MatchExpiring(index)
		return
	}
	s.Topics.store.Match("#", index)
}
