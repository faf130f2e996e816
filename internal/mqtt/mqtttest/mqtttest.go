// Package mqtttest starts real MQTT brokers for tests: a Mosquitto process or
// the gateway's embedded broker, both restartable on the same port for outage
// tests, a TCP proxy that can cut live connections, and a plain paho
// subscriber that records what the platform would see. The mqtt and bridge
// tests share it.
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
)

// startTimeout bounds how long a broker may take to accept connections.
const startTimeout = 10 * time.Second

// MosquittoPath is where Debian's "mosquitto" package installs the broker.
const MosquittoPath = "/usr/sbin/mosquitto"

// StartMosquitto runs a private Mosquitto on a free loopback port
// (persistence off, anonymous allowed) and returns its URL, stop (kill the
// process, idempotent) and restart (kill and start again on the same port:
// sessions and retained messages are gone, as after a broker crash). It is
// stopped when the test ends. Skips when Mosquitto is not installed.
func StartMosquitto(t testing.TB) (url string, stop func(), restart func()) {
	t.Helper()
	return StartMosquittoWith(t, "")
}

// StartMosquittoWith is StartMosquitto with extra lines of mosquitto.conf, e.g. "max_qos 1" for
// a broker without QoS 2 (a v3.1.1 client publishing at QoS 2 is disconnected, as NATS does).
func StartMosquittoWith(t testing.TB, extra string) (url string, stop func(), restart func()) {
	t.Helper()
	bin := MosquittoPath
	if _, err := os.Stat(bin); err != nil {
		if p, lerr := exec.LookPath("mosquitto"); lerr == nil {
			bin = p
		} else {
			t.Skipf("mosquitto not installed (install the Debian package \"mosquitto\"): %v", err)
		}
	}
	port := FreePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	// max_queued_messages 0: no per-client queue limit, so a slow test
	// subscriber never makes the broker discard QoS 1 messages.
	cfg := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nlog_dest stderr\nlog_type error\nlog_type warning\n%s\n", port, extra)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatalf("mosquitto config: %v", err)
	}
	m := &mosquitto{t: t, bin: bin, conf: conf, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	m.start()
	t.Cleanup(m.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", m.log.String())
		}
	})
	return "tcp://" + m.addr, m.stop, func() { m.stop(); m.start() }
}

type mosquitto struct {
	t          testing.TB
	bin, conf  string
	addr       string
	cmd        *exec.Cmd
	exited     chan struct{}
	log        lockedBuffer
	stopCalled sync.Mutex
}

func (m *mosquitto) start() {
	m.t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		cmd := exec.Command(m.bin, "-c", m.conf)
		cmd.Stdout, cmd.Stderr = &m.log, &m.log
		if err := cmd.Start(); err != nil {
			m.t.Fatalf("start mosquitto: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if waitListening(m.addr, exited, deadline) {
			m.cmd, m.exited = cmd, exited
			return
		}
		select {
		case <-exited: // e.g. the port was still held; retry until the deadline
			if time.Now().After(deadline) {
				m.t.Fatalf("mosquitto exited at start-up:\n%s", m.log.String())
			}
			time.Sleep(20 * time.Millisecond)
		default:
			_ = cmd.Process.Kill()
			<-exited
			m.t.Fatalf("mosquitto did not listen on %s within %s:\n%s", m.addr, startTimeout, m.log.String())
		}
	}
}

func (m *mosquitto) stop() {
	m.stopCalled.Lock()
	defer m.stopCalled.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.exited
	m.cmd = nil
}

// waitListening polls addr until it accepts a connection, the process exits
// or the deadline passes.
func waitListening(addr string, exited <-chan struct{}, deadline time.Time) bool {
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// StartEmbedded runs the gateway's embedded broker (mqtt.StartBroker) on a
// free loopback port; stop and restart behave as for StartMosquitto.
func StartEmbedded(t testing.TB) (url string, stop func(), restart func()) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	var (
		mu sync.Mutex
		b  *mqtt.Broker
	)
	start := func() {
		t.Helper()
		deadline := time.Now().Add(startTimeout)
		for {
			nb, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: addr}, zap.NewNop())
			if err == nil {
				mu.Lock()
				b = nb
				mu.Unlock()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("embedded broker: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	stop = func() {
		mu.Lock()
		defer mu.Unlock()
		if b != nil {
			_ = b.Close()
			b = nil
		}
	}
	start()
	t.Cleanup(stop)
	return "tcp://" + addr, stop, func() { stop(); start() }
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Proxy is a TCP relay in front of a broker; Cut drops every live connection
// at once (a network failure: no DISCONNECT, so the broker sends the will and
// keeps the persistent session), while new connections keep working.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool        // Block: refuse new connections
	stall  atomic.Bool // Stall: relay nothing
}

// StartProxy relays a free loopback port to brokerURL (tcp://host:port).
func StartProxy(t testing.TB, brokerURL string) *Proxy {
	t.Helper()
	target, ok := cutScheme(brokerURL)
	if !ok {
		t.Fatalf("proxy: %q is not a tcp:// URL", brokerURL)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	go p.accept()
	t.Cleanup(func() { _ = ln.Close(); p.Cut() })
	return p
}

func cutScheme(u string) (string, bool) {
	const s = "tcp://"
	if len(u) > len(s) && u[:len(s)] == s {
		return u[len(s):], true
	}
	return "", false
}

// URL is the proxy's tcp:// URL.
func (p *Proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// Block cuts every connection and refuses new ones until Unblock: the
// gateway's network is down while the broker stays up.
func (p *Proxy) Block() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Cut()
}

// Unblock lets connections through again (and ends a Stall).
func (p *Proxy) Unblock() {
	p.mu.Lock()
	p.closed = false
	p.mu.Unlock()
	p.stall.Store(false)
}

// Stall keeps the connections open but throws away whatever crosses them, both ways, until
// Unblock: a network that eats packets, so a publish awaits its acknowledgement until the
// connection is given up.
func (p *Proxy) Stall() { p.stall.Store(true) }

// Cut closes every open connection through the proxy.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *Proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		blocked := p.closed
		if !blocked {
			p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		}
		p.mu.Unlock()
		if blocked {
			_ = in.Close()
			_ = out.Close()
			continue
		}
		pipe := func(dst, src net.Conn) {
			buf := make([]byte, 32<<10)
			for {
				n, err := src.Read(buf)
				if n > 0 && !p.stall.Load() {
					if _, werr := dst.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			_ = dst.Close()
			_ = src.Close()
		}
		go pipe(in, out)
		go pipe(out, in)
	}
}

// Received is a message as the platform sees it.
type Received struct {
	Topic     string
	Payload   []byte
	Retained  bool
	Duplicate bool
}

// Subscriber is a plain paho client (clean session, auto-ack) standing in
// for the platform.
type Subscriber struct {
	t testing.TB
	c paho.Client
	// C carries every message received, in arrival order.
	C chan Received
}

// Subscribe connects a subscriber to url and subscribes filter at QoS 1.
func Subscribe(t testing.TB, url, filter string) *Subscriber {
	t.Helper()
	s := &Subscriber{t: t, C: make(chan Received, 1<<16)}
	subscribed := make(chan error, 1)
	o := paho.NewClientOptions().AddBroker(url).
		SetClientID(fmt.Sprintf("mqtttest-sub-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(false).
		SetMaxReconnectInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(c paho.Client) {
			// Subscribe on every connection: a clean session forgets it.
			tok := c.Subscribe(filter, 1, nil)
			go func() {
				tok.Wait()
				select {
				case subscribed <- tok.Error():
				default:
				}
			}()
		}).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			s.C <- Received{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained(), Duplicate: m.Duplicate()}
		})
	s.c = paho.NewClient(o)
	if tok := s.c.Connect(); !tok.WaitTimeout(startTimeout) || tok.Error() != nil {
		t.Fatalf("subscriber connect %s: %v", url, tok.Error())
	}
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatalf("subscriber subscribe %s: %v", filter, err)
		}
	case <-time.After(startTimeout):
		t.Fatalf("subscriber subscribe %s: no SUBACK within %s", filter, startTimeout)
	}
	t.Cleanup(func() { s.c.Disconnect(100) })
	return s
}

// Next returns the next message or fails the test after timeout.
func (s *Subscriber) Next(timeout time.Duration) Received {
	s.t.Helper()
	select {
	case m := <-s.C:
		return m
	case <-time.After(timeout):
		s.t.Fatalf("no message within %s", timeout)
		return Received{}
	}
}

// WaitFor returns the first message on topic, skipping others, or fails.
func (s *Subscriber) WaitFor(topic string, timeout time.Duration) Received {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-s.C:
			if m.Topic == topic {
				return m
			}
		case <-deadline:
			s.t.Fatalf("no message on %s within %s", topic, timeout)
			return Received{}
		}
	}
}

// Publish sends one message from the subscriber's connection and waits for
// the broker's ack (a platform publishing a request).
func (s *Subscriber) Publish(topic string, payload []byte, retained bool) {
	s.t.Helper()
	if tok := s.c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(startTimeout) || tok.Error() != nil {
		s.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
