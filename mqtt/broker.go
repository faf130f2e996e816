package mqtt

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.uber.org/zap"
)

// BrokerOptions configures the embedded broker (used when mqtt.url is empty,
// DESIGN.md §5).
type BrokerOptions struct {
	// Listen is the TCP address; default ":1883".
	Listen string `mapstructure:"listen"`
	// Users enables username/password authentication; empty allows everyone.
	Users map[string]string `mapstructure:"users"`
}

// DefaultBrokerListen is the embedded broker's default address.
const DefaultBrokerListen = ":1883"

// Broker is the embedded mochi-mqtt broker. It persists nothing: sessions and
// retained messages live in memory; the durable copy of what the gateway
// publishes is the outbox.
type Broker struct {
	srv  *mochi.Server
	addr net.Addr
	log  *zap.Logger
}

const brokerListenerID = "tcp"

// StartBroker starts the embedded broker and returns once it listens.
func StartBroker(opts BrokerOptions, log *zap.Logger) (*Broker, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultBrokerListen
	}
	for u := range opts.Users {
		if u == "" {
			return nil, errors.New("mqtt.embedded: empty username")
		}
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("broker")
	caps := mochi.NewDefaultServerCapabilities()
	// mochi's default (24 h) also deletes retained messages a day after they were published: a
	// device whose state does not change would lose its retained state and availability. Only a
	// message's own expiry applies (MQTT 5), and the broker keeps no expiry index for the rest.
	// Queued QoS messages stay bounded per client by MaximumInflight.
	caps.MaximumMessageExpiryInterval = 0
	srv := mochi.New(&mochi.Options{
		Logger:       slog.New(newSlogHandler(log)),
		InlineClient: false,
		Capabilities: caps,
	})
	// mochi refuses every client unless an auth hook allows it.
	if hookErr := srv.AddHook(&userAuth{users: opts.Users}, nil); hookErr != nil {
		return nil, fmt.Errorf("embedded broker: auth hook: %w", hookErr)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: brokerListenerID, Address: opts.Listen})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("mqtt.embedded.listen %q: %w", opts.Listen, err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	addr, err := net.ResolveTCPAddr("tcp", tcp.Address())
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: listener address: %w", err)
	}
	b := &Broker{srv: srv, addr: addr, log: log}
	log.Info("embedded broker listening", zap.String("addr", addr.String()), zap.Bool("auth", len(opts.Users) > 0))
	return b, nil
}

// Addr is the address the broker listens on (the real port when Listen had :0).
func (b *Broker) Addr() net.Addr { return b.addr }

// URL is the tcp:// URL a local client connects to (loopback when the broker
// listens on all interfaces).
func (b *Broker) URL() string {
	a := b.addr.(*net.TCPAddr)
	host := a.IP
	if host == nil || host.IsUnspecified() {
		host = net.IPv4(127, 0, 0, 1)
	}
	return "tcp://" + net.JoinHostPort(host.String(), fmt.Sprint(a.Port))
}

// Close disconnects every client and stops listening.
func (b *Broker) Close() error {
	err := b.srv.Close()
	b.log.Info("embedded broker stopped")
	return err
}

// userAuth checks username/password against a fixed table (everyone is
// allowed when the table is empty) and allows every topic to a connected
// client. (mochi's own hooks/auth would pull in a YAML module for nothing.)
type userAuth struct {
	mochi.HookBase
	users map[string]string
}

func (h *userAuth) ID() string { return "cwmp2mqtt-users" }

func (h *userAuth) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck}, []byte{b})
}

func (h *userAuth) OnConnectAuthenticate(_ *mochi.Client, pk packets.Packet) bool {
	if len(h.users) == 0 {
		return true
	}
	want, ok := h.users[string(pk.Connect.Username)]
	if !ok {
		// Compare anyway so unknown users cost the same time as known ones.
		subtle.ConstantTimeCompare(pk.Connect.Password, pk.Connect.Password)
		return false
	}
	return subtle.ConstantTimeCompare(pk.Connect.Password, []byte(want)) == 1
}

func (h *userAuth) OnACLCheck(*mochi.Client, string, bool) bool { return true }
