package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/zap"
)

// Client is the gateway's connection to the broker. It keeps one persistent
// session (clean session off, stable client id) across reconnects, sets the
// LWT on B/bridge/state, resubscribes its own subscription table on every
// connection, and never blocks paho's network loop in a handler.
//
// Each connection is a fresh paho client with auto-reconnect off: paho's own
// resume completes the tokens of in-flight publishes as if acknowledged
// (messageIds.claimID → flowComplete) before the broker has acked the resent
// copy, which would let the outbox delete unacknowledged messages. With one
// paho client per connection, a token that completes without error is a real
// PUBACK on that connection, and everything still in flight when the
// connection dies is simply replayed from the outbox.
type Client struct {
	cfg    Config
	tls    *tls.Config
	topics Topics
	log    *zap.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup // subscription workers

	mu        sync.Mutex
	started   bool
	live      *session // connected, possibly still resubscribing
	ready     *session // connected and resubscribed: what Connected and the outbox see
	changed   chan struct{}
	subs      map[string]*subscription
	onConnect func()

	// maxQoS is the highest QoS the broker takes: mqtt.qos until the broker refuses QoS 2.
	maxQoS atomic.Int32
	// inproc is the embedded broker publishes go into (PublishInProcess), nil: over the network.
	inproc atomic.Pointer[Broker]

	// firstSession is closed once the first connection is up; firstPresent says whether the
	// broker still held this client id's session then (FirstSessionPresent).
	firstSession     chan struct{}
	firstSessionOnce sync.Once
	firstPresent     atomic.Bool

	connects        atomic.Uint64
	connectFailures atomic.Uint64
	received        atomic.Uint64
	dropped         atomic.Uint64
}

// session is one network connection (one paho client).
type session struct {
	pc        paho.Client
	lost      chan struct{} // closed by paho's connection-lost handler
	lostErr   error
	abort     chan struct{} // closed when the outbox finds the connection unusable, or to get refused messages redelivered
	abortOnce sync.Once
	abortWhy  string
	ended     chan struct{} // closed when serve returns, whatever the reason
}

// ClientStats is a snapshot of the client's counters.
type ClientStats struct {
	Connected       bool
	Connects        uint64 // successful connections, including reconnects
	ConnectFailures uint64
	Received        uint64 // inbound messages handed to handlers
	Dropped         uint64 // inbound messages refused by a full queue (left unacked: redelivered)
	Subscriptions   int
}

// ErrClosed is returned by operations on a closed Client or Outbox.
var ErrClosed = errors.New("mqtt: closed")

// NewClient validates cfg and prepares a client; Start connects it.
func NewClient(cfg Config, log *zap.Logger) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("mqtt.url is empty: start the embedded broker and pass its URL")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.TLS.build()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:     cfg,
		tls:     tlsCfg,
		topics:  Topics{Base: cfg.BaseTopic},
		log:     log.Named("mqtt"),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		subs:    make(map[string]*subscription),

		firstSession: make(chan struct{}),
	}
	c.maxQoS.Store(int32(cfg.QoS))
	return c, nil
}

// qosFor caps a publish's QoS at what the broker takes.
func (c *Client) qosFor(q byte) byte {
	return min(q, byte(c.maxQoS.Load()))
}

// fallBackToQoS1 stops using QoS 2 on a broker that does not support it (NATS, Mosquitto with
// max_qos 1): without it the gateway reconnects in a loop, every QoS 2 publish closing the
// connection. QoS 1 keeps at-least-once; results and events carry ids to drop repeats.
func (c *Client) fallBackToQoS1(why string) {
	if c.maxQoS.CompareAndSwap(2, 1) {
		c.log.Warn("broker does not support QoS 2; falling back to QoS 1 (set mqtt.qos: 1 to silence this)",
			zap.String("url", RedactURL(c.cfg.URL)), zap.String("evidence", why))
	}
}

// shortLived is how soon after connecting a connection that ends counts as refused; after
// shortLivedMax of them in a row the client says (or guesses) why.
const (
	shortLived    = 10 * time.Second
	shortLivedMax = 3
)

// explainShortLived is called after shortLivedMax connections in a row ended within shortLived.
// A broker closes a fresh connection in a loop for two reasons seen in the field: QoS 2 it does
// not support, or another client with the same client id taking the session over each time.
func (c *Client) explainShortLived(n int) {
	if c.maxQoS.Load() == 2 {
		c.fallBackToQoS1(fmt.Sprintf("%d connections in a row closed by the broker within %s while using QoS 2", n, shortLived))
		return
	}
	c.log.Warn("the broker keeps closing the connection right after it is made: another client probably uses the same client id and takes the session over; give each gateway its own mqtt.client_id",
		zap.String("client_id", c.cfg.ClientID), zap.Int("connections", n), zap.Duration("within", shortLived))
}

// OnConnect sets the callback run after every (re)connection, once the
// subscriptions are restored. The gateway publishes its retained
// {"state":"online",...} there. It runs on the connection goroutine: keep it
// short (enqueue into the outbox, do not wait for delivery). Set it before Start.
func (c *Client) OnConnect(fn func()) {
	c.mu.Lock()
	c.onConnect = fn
	c.mu.Unlock()
}

// Start begins connecting in the background and returns at once: a broker
// that is down at start-up does not fail the gateway (the outbox buffers).
func (c *Client) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("mqtt: client already started")
	}
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	c.started = true
	go c.run()
	return nil
}

// Close publishes {"state":"offline"} (a clean DISCONNECT suppresses the
// will), disconnects and stops the handlers. Queued, unacknowledged inbound
// messages stay with the broker's session.
func (c *Client) Close() error {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	c.cancel()
	if started {
		<-c.done
	}
	c.wg.Wait()
	return nil
}

// Connected reports whether a connection is up and its subscriptions restored.
func (c *Client) Connected() bool {
	s, _ := c.current()
	return s != nil
}

// WaitConnected blocks until Connected or ctx ends.
func (c *Client) WaitConnected(ctx context.Context) error {
	for {
		s, changed := c.current()
		if s != nil {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.ctx.Done():
			return ErrClosed
		}
	}
}

// FirstSessionPresent waits for the first connection and reports whether the broker still held
// this client id's persistent session then: a broker that kept the session across the gateway's
// restart kept its retained messages too. False when ctx ends or the client closes first.
func (c *Client) FirstSessionPresent(ctx context.Context) bool {
	select {
	case <-c.firstSession:
		return c.firstPresent.Load()
	case <-ctx.Done():
	case <-c.ctx.Done():
	}
	return false
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	n := len(c.subs)
	connected := c.ready != nil
	c.mu.Unlock()
	return ClientStats{
		Connected:       connected,
		Connects:        c.connects.Load(),
		ConnectFailures: c.connectFailures.Load(),
		Received:        c.received.Load(),
		Dropped:         c.dropped.Load(),
		Subscriptions:   n,
	}
}

// StateTopic is B/bridge/state, the topic of the will.
func (c *Client) StateTopic() string { return c.topics.BridgeState() }

// current returns the ready session (nil while disconnected) and a channel
// closed at the next change.
func (c *Client) current() (*session, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready, c.changed
}

func (c *Client) setReady(s *session) {
	c.mu.Lock()
	c.ready = s
	if s == nil {
		c.live = nil
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// abort drops a connection that the outbox found unusable (a publish failed
// while paho still believed it was up); the supervisor reconnects.
func (c *Client) abort(s *session) {
	c.abortFor(s, "a publish failed")
}

func (c *Client) abortFor(s *session, why string) {
	s.abortOnce.Do(func() { s.abortWhy = why; close(s.abort) })
}

// redeliver reconnects so the broker sends again the messages a full queue refused: MQTT 3.1.1
// resends unacked messages only on a new connection (§4.4), and each one left unacked holds one
// of the broker's in-flight slots (Mosquitto: 20), so waiting for a chance reconnect could stall
// every subscription.
func (c *Client) redeliver() {
	c.mu.Lock()
	s := c.live
	c.mu.Unlock()
	if s != nil {
		c.abortFor(s, "refused messages must be redelivered")
	}
}

// run is the connection supervisor: connect with exponential back-off,
// resubscribe, serve until the connection is lost, repeat.
func (c *Client) run() {
	defer close(c.done)
	delay := c.cfg.ReconnectMin
	failures := 0
	short := 0 // connections in a row that ended within shortLived
	for {
		s, err := c.connect()
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			c.connectFailures.Add(1)
			failures++
			// First failure of an outage at warn, then every tenth, to keep a
			// long outage from flooding the log.
			if failures == 1 || failures%10 == 0 {
				c.log.Warn("connect failed", zap.String("url", RedactURL(c.cfg.URL)), zap.Int("attempt", failures),
					zap.Duration("retry_in", delay), zap.Error(err))
			}
			if !c.sleep(delay) {
				return
			}
			delay = min(2*delay, c.cfg.ReconnectMax)
			continue
		}
		failures, delay = 0, c.cfg.ReconnectMin
		c.connects.Add(1)
		at := time.Now()
		c.serve(s)
		if c.ctx.Err() != nil {
			return
		}
		if time.Since(at) < shortLived {
			short++
			if short%(shortLivedMax*10) == shortLivedMax { // once per streak, then every 30th
				c.explainShortLived(short)
			}
		} else {
			short = 0
		}
		if !c.sleep(delay) {
			return
		}
	}
}

// serve runs one connection until it is lost, aborted or the client closes.
func (c *Client) serve(s *session) {
	defer close(s.ended)
	c.mu.Lock()
	c.live = s
	subs := make([]*subscription, 0, len(c.subs))
	for _, sub := range c.subs {
		subs = append(subs, sub)
	}
	onConnect := c.onConnect
	c.mu.Unlock()

	for _, sub := range subs {
		if err := c.subscribeOn(s, sub.filter); err != nil {
			c.log.Error("resubscribe failed", zap.String("filter", sub.filter), zap.Error(err))
		}
	}
	c.setReady(s)
	c.log.Info("connected", zap.String("url", RedactURL(c.cfg.URL)), zap.String("client_id", c.cfg.ClientID),
		zap.Int("subscriptions", len(subs)))
	if onConnect != nil {
		onConnect()
	}

	select {
	case <-s.lost:
		c.setReady(nil)
		c.log.Warn("connection lost", zap.String("url", RedactURL(c.cfg.URL)), zap.Error(s.lostErr))
	case <-s.abort:
		c.setReady(nil)
		c.log.Warn("reconnecting", zap.String("url", RedactURL(c.cfg.URL)), zap.String("reason", s.abortWhy))
		s.pc.Disconnect(0)
	case <-c.ctx.Done():
		c.setReady(nil)
		c.shutdown(s)
	}
}

// shutdown announces the departure and disconnects cleanly.
func (c *Client) shutdown(s *session) {
	const quiesce = 2 * time.Second
	tok := s.pc.Publish(c.topics.BridgeState(), 1, true, []byte(StatePayloadOffline))
	if !tok.WaitTimeout(quiesce) || tok.Error() != nil {
		c.log.Warn("offline state not published", zap.Error(tok.Error()))
	}
	s.pc.Disconnect(uint(quiesce / time.Millisecond / 4))
	c.log.Info("disconnected", zap.String("url", RedactURL(c.cfg.URL)))
}

// dialQuickAck opens a plain TCP connection to the broker as paho would, acknowledging what it
// receives at once (see quickAckConn).
func (c *Client) dialQuickAck(uri *url.URL, _ paho.ClientOptions) (net.Conn, error) {
	d := net.Dialer{Timeout: c.cfg.ConnectTimeout}
	conn, err := d.Dial("tcp", uri.Host)
	if err != nil {
		return nil, err
	}
	return quickAck(conn), nil
}

// connect makes one connection attempt with a fresh paho client.
func (c *Client) connect() (*session, error) {
	s := &session{lost: make(chan struct{}), abort: make(chan struct{}), ended: make(chan struct{})}
	o := paho.NewClientOptions().
		AddBroker(c.cfg.URL).
		SetClientID(c.cfg.ClientID).
		SetUsername(c.cfg.Username).
		SetPassword(c.cfg.Password).
		SetProtocolVersion(4).
		SetCleanSession(false). // persistent session: the broker keeps unacked requests for us
		SetOrderMatters(true).  // route() never blocks, and order into the queues is kept
		SetAutoAckDisabled(true).
		SetKeepAlive(c.cfg.KeepAlive).
		SetPingTimeout(min(c.cfg.KeepAlive, 10*time.Second)).
		SetConnectTimeout(c.cfg.ConnectTimeout).
		SetWriteTimeout(c.cfg.ConnectTimeout).
		SetAutoReconnect(false). // see the type comment: we reconnect ourselves
		SetConnectRetry(false).
		SetResumeSubs(false).
		SetBinaryWill(c.topics.BridgeState(), []byte(StatePayloadOffline), 1, true).
		SetDefaultPublishHandler(c.route).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.lostErr = err
			close(s.lost)
		})
	if c.tls != nil {
		o.SetTLSConfig(c.tls)
	}
	if u, err := url.Parse(c.cfg.URL); err == nil && (u.Scheme == "tcp" || u.Scheme == "mqtt") &&
		os.Getenv("all_proxy") == "" && os.Getenv("ALL_PROXY") == "" { // else paho dials (a proxy, TLS, websockets)
		o.SetCustomOpenConnectionFn(c.dialQuickAck)
	}
	s.pc = paho.NewClient(o)
	tok := s.pc.Connect()
	select {
	case <-tok.Done():
	case <-c.ctx.Done():
		go func() { // do not leave a late connection open
			if tok.Wait() && tok.Error() == nil {
				s.pc.Disconnect(0)
			}
		}()
		return nil, ErrClosed
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	present := false
	if ct, ok := tok.(*paho.ConnectToken); ok {
		present = ct.SessionPresent()
	}
	if !present {
		c.log.Info("broker has no session for this client id; starting a new one",
			zap.String("client_id", c.cfg.ClientID))
	}
	c.firstSessionOnce.Do(func() {
		c.firstPresent.Store(present)
		close(c.firstSession)
	})
	return s, nil
}

// sleep waits d with ±20% jitter (so gateways of a site do not reconnect in
// lockstep after a broker restart); false when the client is closing.
func (c *Client) sleep(d time.Duration) bool {
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// subscribeOn sends one SUBSCRIBE and checks the SUBACK.
func (c *Client) subscribeOn(s *session, filter string) error {
	want := byte(c.maxQoS.Load())
	tok := s.pc.Subscribe(filter, want, nil) // nil: route() dispatches from our own table
	if !tok.WaitTimeout(c.cfg.ConnectTimeout) {
		return fmt.Errorf("subscribe %q: no SUBACK within %s", filter, c.cfg.ConnectTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("subscribe %q: %w", filter, err)
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		code, found := st.Result()[filter]
		if found && code == 0x80 && want == 2 {
			// Refused at QoS 2: try QoS 1 before calling the subscription failed.
			c.fallBackToQoS1(fmt.Sprintf("SUBACK 0x80 for %q at QoS 2", filter))
			return c.subscribeOn(s, filter)
		}
		if found && code == 0x80 {
			return fmt.Errorf("subscribe %q: refused by the broker (SUBACK 0x80)", filter)
		}
		if found && want == 2 && code < 2 {
			c.fallBackToQoS1(fmt.Sprintf("SUBACK granted QoS %d for %q at QoS 2", code, filter))
		}
	}
	return nil
}

// RedactURL drops user:password from a broker URL before it is logged or published.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
