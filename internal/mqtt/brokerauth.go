package mqtt

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"
)

// Role is what a client of the embedded broker may do under the gateway's base topic.
type Role string

const (
	// RolePlatform subscribes anywhere under the base topic and publishes only the gateway's
	// inputs: B/<device>/rpc, B/<device>/set, B/<device>/get and B/bridge/request/#.
	RolePlatform Role = "platform"
	// RoleViewer subscribes anywhere under the base topic and publishes nothing.
	RoleViewer Role = "viewer"
	// roleGateway is the gateway's own account: it alone publishes the gateway's topics.
	roleGateway Role = "gateway"
)

// ParseRole reads a configured role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RolePlatform, RoleViewer:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want platform or viewer)", s)
}

// BrokerUser is one account of the embedded broker. The password is kept only as a bcrypt hash
// ($2a$, $2b$ or $2y$, as htpasswd -B writes it).
type BrokerUser struct {
	PasswordHash []byte
	Role         Role
}

// CheckPasswordHash reports whether h is a bcrypt hash the broker can verify.
func CheckPasswordHash(h []byte) error {
	if _, err := bcrypt.Cost(h); err != nil {
		return fmt.Errorf("not a bcrypt hash (make one with: htpasswd -nbB user PASSWORD): %w", err)
	}
	return nil
}

// brokerAuth is the embedded broker's authentication and topic ACL (a mochi hook). Without a
// base topic there is no ACL: every client that may connect may publish and subscribe anywhere
// (a plain broker, for tests and tools).
type brokerAuth struct {
	mochi.HookBase
	base           string // "B/" when the ACL is on
	users          map[string]BrokerUser
	gwUser, gwPass string
	anonymous      Role // role of clients without a user name; "" refuses them
	open           bool // no accounts at all and no ACL: everyone may connect
}

func (h *brokerAuth) ID() string { return "cwmp2mqtt-auth" }

func (h *brokerAuth) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck}, []byte{b})
}

// dummyHash makes a refused unknown user cost the same bcrypt time as a known one.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("cwmp2mqtt"), bcrypt.MinCost)

// roleOf authenticates a CONNECT; ok=false refuses it.
func (h *brokerAuth) roleOf(user string, pass []byte) (Role, bool) {
	switch {
	case h.gwUser != "" && user == h.gwUser:
		return roleGateway, subtle.ConstantTimeCompare(pass, []byte(h.gwPass)) == 1
	case user == "":
		if h.open {
			return roleGateway, true
		}
		return h.anonymous, h.anonymous != ""
	}
	u, known := h.users[user]
	if !known {
		_ = bcrypt.CompareHashAndPassword(dummyHash, pass)
		return "", false
	}
	return u.Role, bcrypt.CompareHashAndPassword(u.PasswordHash, pass) == nil
}

func (h *brokerAuth) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	// The gateway publishes through mochi's inline client, registered under this id: a network
	// client taking it over would inherit (and cut) the gateway's own publishing session.
	if cl != nil && cl.ID == mochi.InlineClientId && !cl.Net.Inline {
		return false
	}
	role, ok := h.roleOf(string(pk.Connect.Username), pk.Connect.Password)
	if !ok {
		return false
	}
	// mochi publishes a will without an ACL check: a client may only leave a will where it may
	// publish, or it could forge the gateway's topics by disconnecting.
	return !pk.Connect.WillFlag || h.allowed(role, pk.Connect.WillTopic, true)
}

func (h *brokerAuth) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if h.base == "" {
		return true
	}
	role, ok := h.clientRole(string(cl.Properties.Username))
	return ok && h.allowed(role, topic, write)
}

// clientRole is the role of a connected client (authenticated at CONNECT).
func (h *brokerAuth) clientRole(user string) (Role, bool) {
	switch {
	case h.gwUser != "" && user == h.gwUser:
		return roleGateway, true
	case user == "":
		if h.open {
			return roleGateway, true
		}
		return h.anonymous, h.anonymous != ""
	}
	u, ok := h.users[user]
	return u.Role, ok
}

// allowed applies the topic ACL: topic is a topic name (publish, delivery) or a filter
// (subscribe).
func (h *brokerAuth) allowed(role Role, topic string, write bool) bool {
	if h.base == "" || role == roleGateway {
		return true
	}
	rest, under := strings.CutPrefix(topic, h.base)
	if !under || rest == "" {
		return false
	}
	if !write {
		return role == RolePlatform || role == RoleViewer
	}
	if role != RolePlatform || strings.ContainsAny(rest, "+#") {
		return false
	}
	levels := strings.Split(rest, "/")
	switch {
	case len(levels) == 2 && levels[0] != "" && (levels[1] == "rpc" || levels[1] == "set" || levels[1] == "get"):
		return levels[0] != "bridge"
	case len(levels) >= 3 && levels[0] == "bridge" && levels[1] == "request":
		return true
	}
	return false
}
