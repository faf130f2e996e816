package mqtt

import (
	"net"
	"syscall"
)

// quickAckConn sends the TCP acknowledgement of what it reads at once instead of delaying it.
// A broker with Nagle's algorithm on (Mosquitto's default) holds a PUBACK while its previous one
// is unacknowledged, so with delayed ACKs each PUBACK after the first of an Inform's messages
// waited ~10-40 ms for the gateway's ack — and an Inform is answered only once all its PUBACKs
// are in (Outbox.EnqueueBatch). TCP_QUICKACK is not sticky: it is set again after every read,
// which also flushes an acknowledgement already scheduled.
type quickAckConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 {
		_ = c.rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	return n, err
}

// quickAck wraps a TCP connection in a quickAckConn; anything else is returned as is.
func quickAck(conn net.Conn) net.Conn {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return conn
	}
	return &quickAckConn{TCPConn: tc, rc: rc}
}
