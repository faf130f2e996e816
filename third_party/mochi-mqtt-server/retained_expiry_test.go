package mqtt

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// cwmp2mqtt patch: tests of the retained-message expiry index (stdlib only, like the copy).

func retained(topic string, version byte, created, expiry int64, payload string) packets.Packet {
	return packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true},
		TopicName:   topic, Payload: []byte(payload), ProtocolVersion: version, Created: created, Expiry: expiry,
	}
}

func hasRetained(s *Server, topic string) bool {
	_, ok := s.Topics.Retained.Get(topic)
	return ok
}

func TestRetainedMessagesExpireOnTimeWithoutFullScan(t *testing.T) {
	s := New(nil) // MaximumMessageExpiryInterval: 24 h
	const now = 1_000_000
	max := s.Options.Capabilities.MaximumMessageExpiryInterval
	s.retainMessage(nil, retained("v5/expiring", 5, now, now+5, "a"))
	s.retainMessage(nil, retained("v3/plain", 4, now, 0, "b"))
	s.retainMessage(nil, retained("gone", 4, now, 0, "c"))
	s.retainMessage(nil, retained("gone", 4, now, 0, "")) // an empty retained message deletes
	if n := s.retainedExpiry.Len(); n != 2 {
		t.Fatalf("indexed %d retained messages, want 2 (the deleted one is forgotten)", n)
	}
	s.clearExpiredRetainedMessages(now + 5)
	if !hasRetained(s, "v5/expiring") {
		t.Fatal("a message expiring at now+5 was deleted at now+5")
	}
	s.clearExpiredRetainedMessages(now + 6)
	if hasRetained(s, "v5/expiring") || !hasRetained(s, "v3/plain") {
		t.Fatalf("at now+6: v5/expiring kept %v (want deleted), v3/plain kept %v (want kept)",
			hasRetained(s, "v5/expiring"), hasRetained(s, "v3/plain"))
	}
	s.clearExpiredRetainedMessages(now + max)
	if !hasRetained(s, "v3/plain") {
		t.Fatal("deleted before MaximumMessageExpiryInterval had passed")
	}
	s.clearExpiredRetainedMessages(now + max + 1)
	if hasRetained(s, "v3/plain") {
		t.Fatal("kept past MaximumMessageExpiryInterval")
	}
	if n := s.retainedExpiry.Len(); n != 0 {
		t.Fatalf("%d messages still indexed after all expired", n)
	}
}

func TestRetainedMessageReplacedKeepsItsNewExpiry(t *testing.T) {
	s := New(nil)
	const now = 2_000_000
	s.retainMessage(nil, retained("dev/state", 5, now, now+5, "old"))
	s.retainMessage(nil, retained("dev/state", 5, now+1, now+100, "new"))
	s.clearExpiredRetainedMessages(now + 50)
	if pk, ok := s.Topics.Retained.Get("dev/state"); !ok || string(pk.Payload) != "new" {
		t.Fatalf("the replacing message (expiry now+100) is gone at now+50: %v", ok)
	}
	s.clearExpiredRetainedMessages(now + 101)
	if hasRetained(s, "dev/state") {
		t.Fatal("the replacing message outlived its expiry")
	}
}

func TestRetainedMessagesWithoutExpiryAreNotIndexed(t *testing.T) {
	opts := &Options{Capabilities: NewDefaultServerCapabilities()}
	opts.Capabilities.MaximumMessageExpiryInterval = 0
	s := New(opts)
	for _, topic := range []string{"a", "b", "c"} {
		s.retainMessage(nil, retained(topic, 4, 1, 0, "x"))
	}
	if n := s.retainedExpiry.Len(); n != 0 {
		t.Fatalf("%d messages without expiry indexed", n)
	}
	s.clearExpiredRetainedMessages(1 << 40)
	if s.Topics.Retained.Len() != 3 {
		t.Fatalf("messages without expiry were deleted: %d left", s.Topics.Retained.Len())
	}
}
