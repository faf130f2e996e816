package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// DefaultNonceTTL is how long a Digest nonce stays fresh; older nonces get a stale=true challenge.
const DefaultNonceTTL = 5 * time.Minute

// nonceLen is 8 bytes of issue time and a 16-byte MAC, hex encoded: hex only, because some CPE
// firmware mishandles nonces with '/', '+' or '='.
const (
	nonceTimeLen = 8
	nonceMACLen  = 16
	nonceLen     = 2 * (nonceTimeLen + nonceMACLen)
)

var errForeignNonce = errors.New("nonce not issued by this server")

// nonces issues and checks stateless Digest nonces: hex(issue time ‖ HMAC-SHA256(secret,
// issue time ‖ realm)). Nothing is stored, so a nonce survives a new TCP connection and any number
// of server goroutines or instances sharing the secret (checklist 17: AVM Fritzbox reconnects
// after the 401).
//
// Replays are caught by nonceUses beside it, which tracks nonce counts of verified responses.
type nonces struct {
	secret []byte
	realm  string
	ttl    time.Duration
	now    func() time.Time
}

func (n *nonces) mac(ts []byte) []byte {
	m := hmac.New(sha256.New, n.secret)
	m.Write(ts)
	m.Write([]byte(n.realm))
	return m.Sum(nil)[:nonceMACLen]
}

func (n *nonces) issue() string {
	var ts [nonceTimeLen]byte
	binary.BigEndian.PutUint64(ts[:], uint64(n.now().UnixNano()))
	return hex.EncodeToString(ts[:]) + hex.EncodeToString(n.mac(ts[:]))
}

// check verifies the MAC and reports whether the nonce has expired. A nonce from the future
// beyond one TTL (clock jump, or another instance's clock) is treated as expired too, so the
// client gets a fresh one rather than a hard failure.
// It also returns when the nonce stops being fresh.
func (n *nonces) check(nonce string) (expired bool, until time.Time, err error) {
	if len(nonce) != nonceLen {
		return false, time.Time{}, errForeignNonce
	}
	raw, err := hex.DecodeString(nonce)
	if err != nil {
		return false, time.Time{}, errForeignNonce
	}
	ts, sum := raw[:nonceTimeLen], raw[nonceTimeLen:]
	if !hmac.Equal(sum, n.mac(ts)) {
		return false, time.Time{}, errForeignNonce
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(ts)))
	age := n.now().Sub(issued)
	return age > n.ttl || age < -n.ttl, issued.Add(n.ttl), nil
}
