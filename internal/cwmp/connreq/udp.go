package connreq

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

// UDPRequest is a decoded UDP connection request (TR-069 Annex G.2.1: an HTTP GET carried in
// one datagram, the credentials proven by an HMAC instead of a challenge).
type UDPRequest struct {
	Timestamp string // ts: seconds since the Unix epoch, as sent
	ID        string // id: message id, the same in every repeat of one request
	Username  string // un: ConnectionRequestUsername
	CNonce    string // cn: random string
	Signature string // sig: hex HMAC-SHA1(password, ts ‖ id ‖ un ‖ cn)
}

// udpSignature is the Annex G signature: HMAC-SHA1 keyed with the connection request password
// over the concatenation of ts, id, un and cn, hex encoded.
func udpSignature(password, ts, id, un, cn string) string {
	m := hmac.New(sha1.New, []byte(password))
	m.Write([]byte(ts + id + un + cn))
	return hex.EncodeToString(m.Sum(nil))
}

// encodeUDPRequest renders the datagram. The Request-URI is absolute, with the parameters in
// the order of the Annex G example; naive CPE parsers exist.
func encodeUDPRequest(addr string, r UDPRequest) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET http://%s?ts=%s&id=%s&un=%s&cn=%s&sig=%s HTTP/1.1\r\nHost: %s\r\n\r\n",
		addr, r.Timestamp, r.ID, url.QueryEscape(r.Username), url.QueryEscape(r.CNonce), r.Signature, addr)
	return b.Bytes()
}

// newUDPRequest builds a signed request with a fresh id and cnonce.
func newUDPRequest(now time.Time, username, password string) UDPRequest {
	var rnd [12]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails (Go 1.24+)
	r := UDPRequest{
		Timestamp: strconv.FormatInt(now.Unix(), 10),
		ID:        strconv.FormatUint(uint64(binary.BigEndian.Uint32(rnd[:4])), 10),
		Username:  username,
		CNonce:    strings.ToUpper(hex.EncodeToString(rnd[4:])),
	}
	r.Signature = udpSignature(password, r.Timestamp, r.ID, r.Username, r.CNonce)
	return r
}

// wakeUDP sends the signed datagram UDPRepeats times (checklist 51). Delivery cannot be
// confirmed; nil means sent.
func (c *Client) wakeUDP(ctx context.Context, log *zap.Logger, addr, user, pass string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%w: UDP connection request address %q: %v", ErrBadTarget, addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer conn.Close()
	msg := encodeUDPRequest(addr, newUDPRequest(time.Now(), user, pass))
	sent := 0
	var lastErr error
	for i := 0; i < c.opts.UDPRepeats; i++ {
		if i > 0 {
			if err := wait(ctx, c.opts.UDPInterval); err != nil {
				return err
			}
		}
		// A write can fail with the ICMP "port unreachable" of the previous datagram; the
		// request counts as sent if any datagram left.
		if _, err := conn.Write(msg); err != nil {
			lastErr = err
			continue
		}
		sent++
	}
	if sent == 0 {
		return fmt.Errorf("%w: udp %s: %v", ErrUnreachable, addr, lastErr)
	}
	log.Info("udp connection request sent", zap.String("addr", addr), zap.Int("datagrams", sent))
	return nil
}

// ParseUDPRequest decodes a UDP connection request datagram. It checks the form only; use
// VerifyUDPRequest for the signature. A receiver drops repeats by ID.
func ParseUDPRequest(datagram []byte) (UDPRequest, error) {
	line, _, _ := bytes.Cut(datagram, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) != 3 || f[0] != "GET" || !strings.HasPrefix(f[2], "HTTP/1.") {
		return UDPRequest{}, fmt.Errorf("%w: udp request line %q", auth.ErrMalformed, line)
	}
	u, err := url.Parse(f[1])
	if err != nil {
		return UDPRequest{}, fmt.Errorf("%w: udp request URI: %v", auth.ErrMalformed, err)
	}
	q := u.Query()
	r := UDPRequest{Timestamp: q.Get("ts"), ID: q.Get("id"), Username: q.Get("un"), CNonce: q.Get("cn"), Signature: q.Get("sig")}
	for _, k := range []string{"ts", "id", "un", "cn", "sig"} {
		if !q.Has(k) {
			return UDPRequest{}, fmt.Errorf("%w: udp request without %s", auth.ErrMalformed, k)
		}
	}
	if _, err := strconv.ParseUint(r.ID, 10, 32); err != nil {
		return UDPRequest{}, fmt.Errorf("%w: udp request id %q is not an unsigned integer", auth.ErrMalformed, r.ID)
	}
	if _, err := strconv.ParseInt(r.Timestamp, 10, 64); err != nil {
		return UDPRequest{}, fmt.Errorf("%w: udp request ts %q is not a number", auth.ErrMalformed, r.Timestamp)
	}
	return r, nil
}

// VerifyUDPRequest checks a datagram the way a CPE must (Annex G.2.1): the form, the user name,
// the signature, and a timestamp within maxSkew of now (maxSkew 0 skips that check). Errors wrap
// auth.ErrMalformed, auth.ErrBadCredentials (user or signature) or auth.ErrStaleNonce (ts).
func VerifyUDPRequest(datagram []byte, username, password string, maxSkew time.Duration) error {
	r, err := ParseUDPRequest(datagram)
	if err != nil {
		return err
	}
	if r.Username != username {
		return fmt.Errorf("%w: udp request for user %q", auth.ErrBadCredentials, r.Username)
	}
	got, err := hex.DecodeString(r.Signature)
	want, _ := hex.DecodeString(udpSignature(password, r.Timestamp, r.ID, r.Username, r.CNonce))
	if err != nil || !hmac.Equal(got, want) {
		return fmt.Errorf("%w: udp request signature does not match", auth.ErrBadCredentials)
	}
	if maxSkew > 0 {
		ts, _ := strconv.ParseInt(r.Timestamp, 10, 64)
		if skew := time.Since(time.Unix(ts, 0)); skew > maxSkew || skew < -maxSkew {
			return fmt.Errorf("%w: udp request ts is %s from now", auth.ErrStaleNonce, skew.Round(time.Second))
		}
	}
	return nil
}
