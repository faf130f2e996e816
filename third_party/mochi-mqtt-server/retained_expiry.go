package mqtt

import (
	"sync"

	"github.com/mochi-mqtt/server/v2/packets"
)

// cwmp2mqtt patch: retainedExpiries indexes the retained messages that can expire by the second
// after which they have expired, so the once-a-second expiry scan touches only the messages that
// are due instead of copying every retained message (Packets.GetAll) and testing each one.
// Messages that cannot expire (no message expiry, no MaximumMessageExpiryInterval) are not
// indexed at all.
type retainedExpiries struct {
	sync.Mutex
	at      map[string]int64              // topic → the second after which its message has expired
	buckets map[int64]map[string]struct{} // that second → topics
	done    int64                         // the buckets up to this second have been handed out
}

func newRetainedExpiries() *retainedExpiries {
	return &retainedExpiries{at: map[string]int64{}, buckets: map[int64]map[string]struct{}{}}
}

// set indexes topic to expire after second at; at 0 forgets it (a message that never expires,
// or a retained message deleted).
func (r *retainedExpiries) set(topic string, at int64) {
	r.Lock()
	defer r.Unlock()
	if old, ok := r.at[topic]; ok {
		if old == at {
			return
		}
		delete(r.buckets[old], topic)
		if len(r.buckets[old]) == 0 {
			delete(r.buckets, old)
		}
		delete(r.at, topic)
	}
	if at == 0 {
		return
	}
	if at <= r.done { // already due: the next scan takes it
		at = r.done + 1
	}
	r.at[topic] = at
	b := r.buckets[at]
	if b == nil {
		b = map[string]struct{}{}
		r.buckets[at] = b
	}
	b[topic] = struct{}{}
}

// due removes and returns the topics whose second is before now.
func (r *retainedExpiries) due(now int64) []string {
	r.Lock()
	defer r.Unlock()
	var out []string
	take := func(sec int64) {
		for topic := range r.buckets[sec] {
			out = append(out, topic)
			delete(r.at, topic)
		}
		delete(r.buckets, sec)
	}
	last := now - 1
	if last-r.done > int64(len(r.buckets)) { // a long gap (the first scan): walk the buckets instead
		for sec := range r.buckets {
			if sec <= last {
				take(sec)
			}
		}
	} else {
		for sec := r.done + 1; sec <= last; sec++ {
			take(sec)
		}
	}
	if last > r.done {
		r.done = last
	}
	return out
}

// Len is the number of indexed retained messages.
func (r *retainedExpiries) Len() int {
	r.Lock()
	defer r.Unlock()
	return len(r.at)
}

// retainedExpiresAt is the second after which a retained message has expired by the rules of
// clearExpiredRetainedMessages, 0 when it never does.
func (s *Server) retainedExpiresAt(pk packets.Packet) int64 {
	var at int64
	if pk.ProtocolVersion == 5 && pk.Expiry > 0 { // [MQTT-3.3.2-5]
		at = pk.Expiry
	}
	if m := s.Options.Capabilities.MaximumMessageExpiryInterval; m > 0 {
		if e := pk.Created + m; at == 0 || e < at {
			at = e
		}
	}
	return at
}

// indexRetained keeps the expiry index in step with a RetainMessage of pk.
func (s *Server) indexRetained(pk packets.Packet) {
	if len(pk.Payload) == 0 {
		s.retainedExpiry.set(pk.TopicName, 0)
		return
	}
	s.retainedExpiry.set(pk.TopicName, s.retainedExpiresAt(pk))
}
