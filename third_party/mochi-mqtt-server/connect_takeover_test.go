package mqtt

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// cwmp2mqtt patch: connections with the same client id at once (attachClient's connecting locks).

// allowConnect lets every client connect and read or write every topic.
type allowConnect struct{ HookBase }

func (h *allowConnect) ID() string { return "allow-connect" }
func (h *allowConnect) Provides(b byte) bool {
	return b == OnConnectAuthenticate || b == OnACLCheck
}
func (h *allowConnect) OnConnectAuthenticate(cl *Client, pk packets.Packet) bool { return true }
func (h *allowConnect) OnACLCheck(cl *Client, topic string, write bool) bool     { return true }

// connectRaw opens a TCP connection to addr and sends an MQTT 3.1.1 CONNECT with a clean
// session and client id id; it returns once the CONNACK is read.
func connectRaw(addr, id string) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, byte(len(id))}, id...)
	if _, err := conn.Write(append([]byte{0x10, byte(len(body))}, body...)); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		conn.Close()
		return nil, errors.Join(errors.New("no CONNACK accepting the connection"), err)
	}
	return conn, nil
}

// stillOpen reports whether the broker left conn open: a read that times out rather than ends.
func stillOpen(conn net.Conn) bool {
	_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := conn.Read(make([]byte, 64))
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// A client id identifies one connection: a new one takes the session over and the broker
// closes the other [MQTT-3.1.4-3]. Connections with the same id that arrived together both
// found no session to take over and both stayed open, the first no longer among the broker's
// clients, so nothing published reached it (the gateway's test of two gateways sharing a client
// id saw it about once in fifty runs).
func TestConnectionsWithOneClientIDAtOnceLeaveOneOpen(t *testing.T) {
	s := New(&Options{Logger: nil})
	if err := s.AddHook(new(allowConnect), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "t", Address: "127.0.0.1:0"})
	if err := s.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	const together = 8
	for round := 0; round < 20; round++ {
		conns := make([]net.Conn, together)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range conns {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				conns[i], _ = connectRaw(l.Address(), "same-id")
			}(i)
		}
		close(start)
		wg.Wait()
		time.Sleep(20 * time.Millisecond) // the takeovers close the others
		open := 0
		for _, c := range conns {
			if c != nil {
				if stillOpen(c) {
					open++
				}
				c.Close()
			}
		}
		if open != 1 {
			t.Fatalf("round %d: %d connections with one client id left open, want 1", round, open)
		}
	}
}

// A session is taken over although its old connection's peer stopped reading: the broker's
// DISCONNECT to it waited for room in a full socket for good, and the new connection never got
// its CONNACK (nor, under the lock above, did other client ids sharing its stripe).
func TestTakeoverOfAConnectionThatStoppedReading(t *testing.T) {
	s := New(&Options{InlineClient: true})
	if err := s.AddHook(new(allowConnect), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "t", Address: "127.0.0.1:0"})
	if err := s.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	stalled, err := connectRaw(l.Address(), "same-id")
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	// SUBSCRIBE to "t" at QoS 0, then never read again.
	if _, err := stalled.Write([]byte{0x82, 6, 0, 1, 0, 1, 't', 0}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	big := make([]byte, 64<<10)
	for i := 0; i < 400; i++ { // 25 MB: far more than the sockets buffer
		if err := s.Publish("t", big, false, 0); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the write loop fills the socket and blocks

	start := time.Now()
	next, err := connectRaw(l.Address(), "same-id")
	if err != nil {
		t.Fatalf("the new connection was not accepted: %v", err)
	}
	next.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the takeover took %s", d)
	}
}
