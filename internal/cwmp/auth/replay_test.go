package auth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
)

func digestRequest(header string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://acs.example:7547/acs", nil)
	r.Header.Set("Authorization", header)
	return r
}

// TestDigestNonceCountReplayRefused: the same nonce, cnonce and nc twice is a replay; counts may
// arrive out of order within the window (concurrent requests of one client); a new cnonce with
// the same nonce is a new use (a CPE that reconnects and restarts nc at 1).
func TestDigestNonceCountReplayRefused(t *testing.T) {
	v := mustVerifier(t, auth.ModeDigest, auth.Static{User: "cpe", Pass: "pw"})
	n := freshNonce(t, v)
	hdr := func(nc, cnonce string) string {
		return fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", qop=auth, nc=%s, cnonce="%s", response="%s"`,
			n, nc, cnonce, rfcResponse("cpe", "pw", n, "POST", "/acs", "auth", nc, cnonce, false))
	}
	steps := []struct {
		nc, cnonce string
		replay     bool
	}{
		{"00000001", "c1", false},
		{"00000001", "c1", true},
		{"00000003", "c1", false},
		{"00000002", "c1", false}, // late, within the window
		{"00000002", "c1", true},
		{"00000003", "c1", true},
		{"00000001", "c2", false}, // another cnonce
	}
	for i, s := range steps {
		_, err := v.Check(digestRequest(hdr(s.nc, s.cnonce)))
		if s.replay != errors.Is(err, auth.ErrReplayed) || (!s.replay && err != nil) {
			t.Fatalf("step %d (nc %s cnonce %s): err %v, replay expected %v", i, s.nc, s.cnonce, err, s.replay)
		}
	}
}

// TestDigestNonceBoundToOneDevice: an RFC 2069 response (no qop, no nc) can be sent again, but
// only for the device it first authenticated.
func TestDigestNonceBoundToOneDevice(t *testing.T) {
	v := mustVerifier(t, auth.ModeDigest, auth.Static{User: "cpe", Pass: "pw"})
	n := freshNonce(t, v)
	h := fmt.Sprintf(`Digest username="cpe", realm="cwmp2mqtt", nonce="%s", uri="/acs", response="%s"`,
		n, rfcResponse("cpe", "pw", n, "POST", "/acs", "", "", "", false))
	a := auth.Identity{OUI: "00147F", SerialNumber: "A", DeviceID: "00147F-A"}
	b := auth.Identity{OUI: "00147F", SerialNumber: "B", DeviceID: "00147F-B"}
	for i, want := range []struct {
		id     auth.Identity
		replay bool
	}{{a, false}, {a, false}, {b, true}} {
		g, err := v.Authenticate(digestRequest(h))
		if err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
		if err := v.Admit(g, want.id); errors.Is(err, auth.ErrReplayed) != want.replay {
			t.Fatalf("use %d for %s: Admit %v, replay expected %v", i, want.id.DeviceID, err, want.replay)
		}
	}
}
