package acs

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// AuthFailure describes one refused CPE request, for Config.OnAuthFailure (the gateway publishes
// it as the auth_failed bridge event).
type AuthFailure struct {
	// Device is the device id the request claimed, "" when it was refused before the body was
	// read (wrong password) and no session names it.
	Device string
	// User is the user name the request claimed (unverified), "" without credentials.
	User   string
	Remote netip.AddrPort
	// Status is the HTTP status sent: 401, or 403 for credentials of another device.
	Status int
	Reason string
}

// authFailed logs a refused request and reports it.
func (s *Server) authFailed(r *http.Request, device, user string, status int, err error) {
	s.stats.authFailures.Add(1)
	dev := zap.Skip()
	if device != "" {
		dev = zap.String("device", device)
	}
	s.log.Warn("authentication failed", zap.String("remote", s.clientAddr(r).String()), dev, zap.String("user", user),
		zap.Int("status", status), zap.Error(err))
	if s.cfg.OnAuthFailure != nil {
		s.cfg.OnAuthFailure(AuthFailure{Device: device, User: user, Remote: s.clientAddr(r), Status: status, Reason: err.Error()})
	}
}

// identity is what an Inform claims, for auth.Verifier.Admit.
func identity(d soap.DeviceID, id string) auth.Identity {
	return auth.Identity{OUI: d.OUI, ProductClass: d.ProductClass, SerialNumber: d.SerialNumber, DeviceID: id}
}

// admit checks that the authenticated client may speak for the device id (per-device
// credentials, a Digest nonce never used for another device). On refusal it answers — 403 for
// credentials of another device, 401 with a fresh challenge otherwise — and reports the failure.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, g auth.Grant, d soap.DeviceID, id string) bool {
	if s.cfg.Auth == nil {
		return true
	}
	err := s.cfg.Auth.Admit(g, identity(d, id))
	if err == nil {
		return true
	}
	if errors.Is(err, auth.ErrWrongDevice) {
		s.authFailed(r, id, g.User, http.StatusForbidden, err)
		http.Error(w, "these credentials belong to another device", http.StatusForbidden)
		return false
	}
	s.authFailed(r, id, g.User, http.StatusUnauthorized, err)
	s.cfg.Auth.Challenge(w, true)
	http.Error(w, "authentication required", http.StatusUnauthorized)
	return false
}

// claim decides whether a request that found its session by cookie on another TCP connection
// than the one that opened (or last proved) it may use it: only with credentials that
// authenticate the same device (g, from the Authorization header), or, with authentication off,
// from the same IP address. Anything else is 401 and the session is left as it was. On success the
// session moves to this connection.
func (s *Server) claim(w http.ResponseWriter, r *http.Request, ss *session, g auth.Grant) bool {
	if s.cfg.Auth == nil {
		if s.clientAddr(r).Addr() != ss.pub.RemoteAddr.Addr() {
			s.authFailed(r, ss.pub.DeviceID, "", http.StatusUnauthorized,
				errors.New("session cookie presented from another address than the session's"))
			http.Error(w, "this session belongs to another client", http.StatusUnauthorized)
			return false
		}
	} else if !s.admit(w, r, g, ss.pub.Device, ss.pub.DeviceID) {
		return false
	}
	cs, _ := r.Context().Value(connKey{}).(*connState)
	s.mu.Lock()
	ss.conn = cs
	if cs != nil {
		cs.sess = ss
	}
	s.mu.Unlock()
	return true
}

// BusyError, returned by Handler.Inform, refuses the session with HTTP 503 and Retry-After
// instead of a SOAP fault: the gateway is not broken, it only will not take this device now
// (cwmp.max_devices, the registration rate). The CPE retries later (TR-069 3.2.1.1).
type BusyError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *BusyError) Error() string { return "acs: retry later: " + e.Reason }

// busy answers a BusyError.
func (s *Server) busy(w http.ResponseWriter, e *BusyError) {
	secs := int((e.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	w.Header().Set("Connection", "close") // nothing more will happen on it for a while
	http.Error(w, e.Reason, http.StatusServiceUnavailable)
}

// clientAddr is the address a request comes from: the TCP peer, or, when the peer is one of
// Config.TrustedProxies, the right-most X-Forwarded-For entry that is not a trusted proxy (entries
// to its left were written by the client and prove nothing).
func (s *Server) clientAddr(r *http.Request) netip.AddrPort {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !inAny(s.cfg.TrustedProxies, peer.Addr()) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a malformed chain: trust only what we saw
		}
		a = a.Unmap()
		if !inAny(s.cfg.TrustedProxies, a) {
			return netip.AddrPortFrom(a, 0)
		}
	}
	return peer
}

func inAny(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// admitNetwork refuses, with 403 and an auth failure, a request from outside
// Config.AllowNetworks (when set: the gateway sets it while CPE authentication is off).
func (s *Server) admitNetwork(w http.ResponseWriter, r *http.Request) bool {
	if len(s.cfg.AllowNetworks) == 0 {
		return true
	}
	from := s.clientAddr(r)
	if inAny(s.cfg.AllowNetworks, from.Addr()) {
		return true
	}
	s.authFailed(r, "", "", http.StatusForbidden, fmt.Errorf("address %s is outside cwmp.allow_networks", from.Addr()))
	w.Header().Set("Connection", "close")
	http.Error(w, "this address may not use the ACS", http.StatusForbidden)
	return false
}
