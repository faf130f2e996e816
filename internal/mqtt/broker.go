package mqtt

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"go.uber.org/zap"
)

// BrokerOptions configures the embedded broker (used when mqtt.url is empty,
// docs/design.md §5).
type BrokerOptions struct {
	// Listen is the TCP address (mqtt.embedded.listen); default DefaultBrokerListen. The host
	// "localhost" listens on the loopback addresses (127.0.0.1, and ::1 where it exists).
	Listen string `mapstructure:"listen"`
	// TLS, when set, serves MQTT over TLS on Listen.
	TLS *tls.Config
	// BaseTopic turns the topic ACL on (see Role); empty: no ACL.
	BaseTopic string
	// Users are the accounts (bcrypt hashes and roles).
	Users map[string]BrokerUser
	// GatewayUser and GatewayPassword are the gateway's own account: the only one that publishes
	// the gateway's topics.
	GatewayUser, GatewayPassword string
	// Anonymous is the role of clients without a user name; "" refuses them. With no account at
	// all (no Users, no GatewayUser) everyone may connect and do anything: a plain broker.
	Anonymous Role
	// RetainedFile, when set, is the bbolt file that keeps the retained messages instead of the
	// heap (retained_file.go); kept across a clean restart. Empty: in memory, lost at exit.
	RetainedFile string
	// ReleasePages is how often the retained file's pages are dropped from the process's map
	// (store.release_pages; package boltmap); 0 keeps them mapped.
	ReleasePages time.Duration
}

// DefaultBrokerListen is the embedded broker's default address: loopback only, so a broker
// without users is not open to the network (the gateway's mqtt.embedded.listen default).
const DefaultBrokerListen = "localhost:1883"

// Broker is the embedded mochi-mqtt broker. Sessions and in-flight messages live in memory (the
// durable copy of what the gateway publishes is the outbox). Retained messages live in memory
// too, or, with BrokerOptions.RetainedFile, in a file of their own: out of the heap, and kept
// across a clean restart (RetainedKept), so that the gateway need not publish them again; after
// a crash the file is discarded and they are.
type Broker struct {
	srv      *mochi.Server
	addr     net.Addr
	log      *zap.Logger
	tls      bool
	retained *retainedFile // nil: retained messages in memory

	// mu orders in-process publishes before Close: a publish that returns nil was taken by a
	// running broker, never by one already closing.
	mu     sync.RWMutex
	closed bool
}

const brokerListenerID = "tcp"

// StartBroker starts the embedded broker and returns once it listens.
func StartBroker(opts BrokerOptions, log *zap.Logger) (*Broker, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultBrokerListen
	}
	for u, acct := range opts.Users {
		if u == "" {
			return nil, errors.New("mqtt.embedded: empty username")
		}
		if err := CheckPasswordHash(acct.PasswordHash); err != nil {
			return nil, fmt.Errorf("mqtt.embedded: user %q: %w", u, err)
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
	mo := &mochi.Options{
		Logger: slog.New(newSlogHandler(log)),
		// The gateway publishes in process (Client.PublishInProcess): no TCP, no encoding twice.
		// The inline client bypasses the topic ACL: only the gateway itself holds it.
		InlineClient: true,
		Capabilities: caps,
	}
	var retained *retainedFile
	if opts.RetainedFile != "" {
		var err error
		if retained, err = openRetainedFile(opts.RetainedFile, opts.ReleasePages, log); err != nil {
			return nil, err
		}
		mo.RetainedStore = retained
	}
	b, err := startBroker(mo, opts, log)
	if err != nil {
		if retained != nil {
			_ = retained.close()
		}
		return nil, err
	}
	b.retained = retained
	return b, nil
}

func startBroker(mo *mochi.Options, opts BrokerOptions, log *zap.Logger) (*Broker, error) {
	srv := mochi.New(mo)
	hook := &brokerAuth{users: opts.Users, gwUser: opts.GatewayUser, gwPass: opts.GatewayPassword, anonymous: opts.Anonymous,
		open: len(opts.Users) == 0 && opts.GatewayUser == ""}
	if opts.BaseTopic != "" {
		hook.base = opts.BaseTopic + "/"
	}
	// mochi refuses every client unless an auth hook allows it.
	if hookErr := srv.AddHook(hook, nil); hookErr != nil {
		return nil, fmt.Errorf("embedded broker: auth hook: %w", hookErr)
	}
	if opts.GatewayUser != "" {
		flow := &brokerFlow{srv: srv, gwUser: []byte(opts.GatewayUser), log: log}
		if hookErr := srv.AddHook(flow, nil); hookErr != nil {
			return nil, fmt.Errorf("embedded broker: flow-control hook: %w", hookErr)
		}
	}
	addrs, err := brokerListenAddrs(opts.Listen)
	if err != nil {
		return nil, err
	}
	var first *listeners.TCP
	for i, a := range addrs {
		tcp := listeners.NewTCP(listeners.Config{ID: fmt.Sprintf("%s%d", brokerListenerID, i), Address: a, TLSConfig: opts.TLS})
		if err := srv.AddListener(tcp); err != nil {
			if i > 0 { // ::1 beside 127.0.0.1: a host without IPv6 loopback still serves
				log.Debug("optional loopback listener not opened", zap.String("addr", a), zap.Error(err))
				continue
			}
			return nil, fmt.Errorf("mqtt.embedded.listen %q: %w", opts.Listen, err)
		}
		if first == nil {
			first = tcp
		}
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	addr, err := net.ResolveTCPAddr("tcp", first.Address())
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: listener address: %w", err)
	}
	b := &Broker{srv: srv, addr: addr, log: log, tls: opts.TLS != nil}
	log.Info("embedded broker listening", zap.Strings("addrs", addrs), zap.Int("users", len(opts.Users)),
		zap.String("anonymous", string(opts.Anonymous)), zap.Bool("acl", opts.BaseTopic != ""), zap.Bool("tls", opts.TLS != nil))
	return b, nil
}

// brokerListenAddrs expands "localhost:port" to the loopback addresses (::1 only with a fixed
// port: with :0 the two would get different ports).
func brokerListenAddrs(listen string) ([]string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("mqtt.embedded.listen %q: %w", listen, err)
	}
	if !strings.EqualFold(host, "localhost") {
		return []string{listen}, nil
	}
	addrs := []string{net.JoinHostPort("127.0.0.1", port)}
	if port != "0" {
		addrs = append(addrs, net.JoinHostPort("::1", port))
	}
	return addrs, nil
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
	scheme := "tcp://"
	if b.tls {
		scheme = "ssl://"
	}
	return scheme + net.JoinHostPort(host.String(), fmt.Sprint(a.Port))
}

// publishInline hands a message to the broker in this process. When it returns nil the broker
// has taken it (retained stored, queued for every matching subscriber), as a PUBACK would say.
func (b *Broker) publishInline(topic string, payload []byte, retained bool, qos byte) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	return b.srv.Publish(topic, payload, retained, qos)
}

// RetainedKept reports whether the broker started with the retained messages of a clean
// shutdown (BrokerOptions.RetainedFile), and the tag that shutdown wrote (SetRetainedTag).
func (b *Broker) RetainedKept() (tag string, kept bool) {
	if b.retained == nil || !b.retained.restored {
		return "", false
	}
	return b.retained.prevTag, true
}

// SetRetainedTag sets what a clean Close writes beside the retained messages: what they were
// made with (the gateway's version, its translators), for the next start to compare.
func (b *Broker) SetRetainedTag(tag string) {
	if b.retained != nil {
		b.retained.setTag(tag)
	}
}

// Close disconnects every client and stops listening, then writes the retained messages to
// their file, if any, and marks it clean.
func (b *Broker) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	err := b.srv.Close()
	if b.retained != nil {
		if rerr := b.retained.close(); err == nil {
			err = rerr
		}
	}
	b.log.Info("embedded broker stopped")
	return err
}
