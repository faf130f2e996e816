package auth

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrReplayed: a Digest response that verifies but was already used: the same nonce, cnonce and
// a nonce count (nc) not above the last one seen, or a nonce used before for another device. The
// caller challenges with stale=true (an honest client simply retries with a fresh nonce) and
// reports it as an authentication failure.
var ErrReplayed = errors.New("auth: digest response replayed")

// maxNonceUses bounds the replay table. Only verified responses enter it (a wrong password never
// does) and entries leave when their nonce expires, so only a very large fleet reaches the bound;
// past it the oldest half is forgotten, which reopens replay only for those nonces.
const maxNonceUses = 1 << 17

// nonceUses remembers, per nonce and cnonce, the highest nonce count seen and the device the
// nonce first authenticated (RFC 7616 §3.4: the server should check nc to detect replays). The
// nonce itself stays stateless (see nonces): a CPE that answers the 401 on a new connection, or
// on another instance sharing the secret, still authenticates; this table is per instance.
type nonceUses struct {
	mu sync.Mutex
	m  map[string]*nonceUse
}

type nonceUse struct {
	nc      uint64 // highest nonce count seen
	window  uint64 // bit i set: nc-1-i was seen too
	device  string
	expires time.Time
}

// ncWindow is how far below the highest nonce count a late request may arrive: a client's
// concurrent requests of one nonce reach the server out of order (as in IPsec anti-replay).
const ncWindow = 64

// record notes a verified use. key is nonce and cnonce; without qop there is no nc (hasNC false)
// and the same header may come again (RFC 2069 clients reuse it), bound to one device by bind.
func (u *nonceUses) record(key string, nc uint64, hasNC bool, expires, now time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = make(map[string]*nonceUse)
	}
	e := u.m[key]
	if e == nil {
		if len(u.m) >= maxNonceUses {
			u.pruneLocked(now)
		}
		u.m[key] = &nonceUse{nc: nc, expires: expires}
		return nil
	}
	if !hasNC {
		return nil
	}
	switch {
	case nc > e.nc:
		if shift := nc - e.nc; shift >= ncWindow {
			e.window = 0
		} else {
			e.window = e.window<<shift | 1<<(shift-1)
		}
		e.nc = nc
		return nil
	case nc == e.nc:
	case e.nc-nc <= ncWindow:
		bit := uint64(1) << (e.nc - nc - 1)
		if e.window&bit == 0 {
			e.window |= bit
			return nil
		}
	}
	return fmt.Errorf("%w: nonce count %08x already seen (highest %08x)", ErrReplayed, nc, e.nc)
}

// bind ties the use to a device; a use already tied to another device is refused.
func (u *nonceUses) bind(key, device string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	e := u.m[key]
	switch {
	case e == nil: // pruned: nothing to compare with
		return nil
	case e.device == "":
		e.device = device
		return nil
	case e.device != device:
		return fmt.Errorf("%w: nonce already authenticated device %q, now offered for %q", ErrReplayed, e.device, device)
	}
	return nil
}

// pruneLocked drops expired entries, and half of the rest when that is not enough.
func (u *nonceUses) pruneLocked(now time.Time) {
	for k, e := range u.m {
		if now.After(e.expires) {
			delete(u.m, k)
		}
	}
	if len(u.m) < maxNonceUses {
		return
	}
	n := len(u.m) / 2
	for k := range u.m { // map order is random: a random half
		if n == 0 {
			break
		}
		delete(u.m, k)
		n--
	}
}
