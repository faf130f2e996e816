package present

import (
	"encoding/json"
	"hash/fnv"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
)

// Published remembers what was last published on a device's retained B/D/state and B/D/info,
// so a periodic Inform that changes nothing publishes neither again: the outbox stays small
// during an outage, and a state's "updated" is the time of its last change. It keeps a hash of
// each (FNV-64a of the JSON), not the JSON, so an idle device costs bytes, not kilobytes. The
// zero value is "nothing published since start". The caller guards it with its device.
type Published struct {
	state uint64 // the values last published on B/D/state (0: none)
	stale bool
	info  uint64 // the entry last published on B/D/info (0: none)
}

// StateSeen is a state as Published compares it: its values encoded (JSON, which the caller may
// also store), their hash and whether it is stale.
type StateSeen struct {
	JSON  []byte
	Sum   uint64
	Stale bool
}

// SeeState encodes st for StateChanged, outside the caller's lock.
func SeeState(st *api.State) (StateSeen, error) {
	vb, err := json.Marshal(st.Values)
	if err != nil {
		return StateSeen{}, err
	}
	return StateSeen{JSON: vb, Sum: sum64(vb), Stale: st.Stale}, nil
}

// StateChanged reports whether s differs from the state last published (its values or its
// stale flag), and if so records it as published.
func (p *Published) StateChanged(s StateSeen) bool {
	if p.state == s.Sum && p.stale == s.Stale {
		return false
	}
	p.state, p.stale = s.Sum, s.Stale
	return true
}

// InfoChanged reports whether s differs from the entry last published, and if so records it.
// A new last_inform alone is no change (B/D/inform and availability carry it): the entry is
// compared without it, so a periodic Inform does not republish B/D/info.
func (p *Published) InfoChanged(s api.DeviceSummary) bool {
	sum := infoSum(&s)
	if sum == p.info {
		return false
	}
	p.info = sum
	return true
}

// Info is the hash of the B/D/info entry last published (0: none), kept in the device's record.
func (p *Published) Info() uint64 { return p.info }

// KeptInfo records that the entry identified by sum (an earlier Info) is the one the broker holds.
func (p *Published) KeptInfo(sum uint64) { p.info = sum }

// infoSum identifies a B/D/info entry but its last_inform: FNV-64a of its fields, strings after
// their length (the JSON's hash cost an encoding per Inform, under the bridge's lock). Every
// field must be here: TestEveryInfoFieldButLastInformIsAChange checks that each one counts.
func infoSum(s *api.DeviceSummary) uint64 {
	h := fnvHash(fnvOffset)
	for _, v := range [...]string{s.ID, s.Manufacturer, s.OUI, s.ProductClass, s.SerialNumber, s.Model,
		s.Firmware, s.Hardware, s.Translator, s.IP} {
		h.str(v)
	}
	h.flag(s.Online)
	h.num(uint64(len(s.Quirks)))
	for _, q := range s.Quirks {
		h.str(q)
	}
	iv := s.Interview
	h.flag(iv != nil)
	if iv != nil {
		for _, v := range [...]string{iv.State, iv.Reason, iv.Firmware, iv.Error} {
			h.str(v)
		}
		h.flag(iv.Shared)
		h.flag(iv.Walked)
		for _, n := range [...]int64{int64(iv.Names), int64(iv.Keys), int64(iv.RPCs), iv.DurationMs, iv.Started.UnixNano()} {
			h.num(uint64(n))
		}
		h.flag(iv.Finished != nil)
		if iv.Finished != nil {
			h.num(uint64(iv.Finished.UnixNano()))
		}
	}
	return uint64(h)
}

// fnvHash is an FNV-64a sum being written, without the allocation of hash/fnv's.
type fnvHash uint64

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (h *fnvHash) byte(c byte) { *h = (*h ^ fnvHash(c)) * fnvPrime }

func (h *fnvHash) str(s string) {
	h.num(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		h.byte(s[i])
	}
}

func (h *fnvHash) num(n uint64) {
	for range 8 {
		h.byte(byte(n))
		n >>= 8
	}
}

func (h *fnvHash) flag(b bool) {
	if b {
		h.byte(1)
	} else {
		h.byte(0)
	}
}

// SameState reports whether p and q record the same published state values.
func (p Published) SameState(q Published) bool { return p.state == q.state }

// SameInfo reports whether p and q record the same published info entry.
func (p Published) SameInfo(q Published) bool { return p.info == q.info }

func sum64(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
