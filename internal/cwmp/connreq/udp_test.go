package connreq_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
)

// listenUDP is the CPE's UDPConnectionRequestAddress.
func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// receive reads n datagrams, failing after a deadline.
func receive(t *testing.T, conn *net.UDPConn, n int) [][]byte {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out [][]byte
	buf := make([]byte, 2048)
	for len(out) < n {
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(out), n, err)
		}
		out = append(out, append([]byte(nil), buf[:k]...))
	}
	return out
}

func TestChecklist51UDPConnectionRequest(t *testing.T) {
	conn := listenUDP(t)
	addr := conn.LocalAddr().String()
	err := fast(connreq.Options{UDPRepeats: 4}).Wake(context.Background(),
		connreq.Target{DeviceID: "nat-cpe", UDPAddr: addr, Username: "cr user", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, conn, 4)
	for i, d := range got[1:] {
		if !bytes.Equal(d, got[0]) {
			t.Fatalf("repeat %d differs: %q vs %q (one request, one id)", i+1, d, got[0])
		}
	}
	d := got[0]
	if err := connreq.VerifyUDPRequest(d, "cr user", "pw", time.Minute); err != nil {
		t.Fatalf("valid datagram rejected: %v\n%s", err, d)
	}

	// Annex G.2.1 form, checked independently of the package.
	line, rest, _ := strings.Cut(string(d), "\r\n")
	if rest != "Host: "+addr+"\r\n\r\n" {
		t.Errorf("headers %q, want only Host", rest)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "GET" || f[2] != "HTTP/1.1" || !strings.HasPrefix(f[1], "http://"+addr+"?ts=") {
		t.Fatalf("request line %q", line)
	}
	q, _ := url.ParseQuery(strings.SplitN(f[1], "?", 2)[1])
	ts, _ := strconv.ParseInt(q.Get("ts"), 10, 64)
	if age := time.Since(time.Unix(ts, 0)); age < -time.Second || age > time.Minute {
		t.Errorf("ts %s is %s old", q.Get("ts"), age)
	}
	if _, err := strconv.ParseUint(q.Get("id"), 10, 32); err != nil || q.Get("un") != "cr user" || q.Get("cn") == "" {
		t.Errorf("id %q un %q cn %q", q.Get("id"), q.Get("un"), q.Get("cn"))
	}
	m := hmac.New(sha1.New, []byte("pw"))
	m.Write([]byte(q.Get("ts") + q.Get("id") + q.Get("un") + q.Get("cn")))
	if want := hex.EncodeToString(m.Sum(nil)); !strings.EqualFold(q.Get("sig"), want) {
		t.Errorf("sig %s, want HMAC-SHA1 %s", q.Get("sig"), want)
	}
}

func TestChecklist51VerifyUDPRequestRejectsTampering(t *testing.T) {
	conn := listenUDP(t)
	if err := fast(connreq.Options{UDPRepeats: 1}).Wake(context.Background(),
		connreq.Target{DeviceID: "d", UDPAddr: conn.LocalAddr().String(), Username: "u", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	good := string(receive(t, conn, 1)[0])
	q := strings.SplitN(strings.Fields(good)[1], "?", 2)[1]
	v, _ := url.ParseQuery(q)
	replace := func(key, val string) []byte {
		return []byte(strings.Replace(good, key+"="+url.QueryEscape(v.Get(key)), key+"="+val, 1))
	}
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	m := hmac.New(sha1.New, []byte("pw"))
	m.Write([]byte(old + v.Get("id") + "u" + v.Get("cn")))
	oldSigned := strings.Replace(string(replace("ts", old)), v.Get("sig"), hex.EncodeToString(m.Sum(nil)), 1)

	for name, tc := range map[string]struct {
		datagram   []byte
		user, pass string
		want       error
	}{
		"tampered user":      {replace("un", "v"), "v", "pw", auth.ErrBadCredentials},
		"tampered id":        {replace("id", "1"), "u", "pw", auth.ErrBadCredentials},
		"tampered signature": {replace("sig", strings.Repeat("0", 40)), "u", "pw", auth.ErrBadCredentials},
		"wrong password":     {[]byte(good), "u", "other", auth.ErrBadCredentials},
		"other user":         {[]byte(good), "x", "pw", auth.ErrBadCredentials},
		"old ts":             {[]byte(oldSigned), "u", "pw", auth.ErrStaleNonce},
		"no sig":             {[]byte(strings.Replace(good, "&sig=", "&x=", 1)), "u", "pw", auth.ErrMalformed},
		"POST":               {[]byte("POST" + strings.TrimPrefix(good, "GET")), "u", "pw", auth.ErrMalformed},
		"garbage":            {[]byte("\x00\xff"), "u", "pw", auth.ErrMalformed},
		"empty":              {nil, "u", "pw", auth.ErrMalformed},
	} {
		if err := connreq.VerifyUDPRequest(tc.datagram, tc.user, tc.pass, time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v\n%q", name, err, tc.want, tc.datagram)
		}
	}
	// The old ts is otherwise valid: without a window it passes.
	if err := connreq.VerifyUDPRequest([]byte(oldSigned), "u", "pw", 0); err != nil {
		t.Errorf("re-signed old datagram without a skew check: %v", err)
	}
}

func TestChecklist51UDPFallbackWhenHTTPUnreachable(t *testing.T) {
	conn := listenUDP(t)
	target := connreq.Target{DeviceID: "nat", URL: "http://" + closedPort(t) + "/", UDPAddr: conn.LocalAddr().String(), Username: "u", Password: "pw"}
	if err := fast(connreq.Options{UDPRepeats: 2}).Wake(context.Background(), target); err != nil {
		t.Fatalf("HTTP unreachable with a UDP address: %v", err)
	}
	for _, d := range receive(t, conn, 2) {
		if err := connreq.VerifyUDPRequest(d, "u", "pw", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseUDPRequestGivesTheIDForDeduplication(t *testing.T) {
	d := []byte("GET http://10.1.1.1:8080?ts=1120673700&id=1234&un=CPE57689&cn=XTGRWIPC6D3IPXS3&sig=3545F7B5820D76A3DF45A3A509DA8D8C38F7A4D1 HTTP/1.1\r\nHost: 10.1.1.1:8080\r\n\r\n")
	r, err := connreq.ParseUDPRequest(d)
	if err != nil {
		t.Fatal(err)
	}
	want := connreq.UDPRequest{Timestamp: "1120673700", ID: "1234", Username: "CPE57689", CNonce: "XTGRWIPC6D3IPXS3", Signature: "3545F7B5820D76A3DF45A3A509DA8D8C38F7A4D1"}
	if r != want {
		t.Fatalf("got %+v, want %+v", r, want)
	}
}
