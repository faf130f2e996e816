package mqtt

import (
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// PublishInProcess makes the client publish into b, the embedded broker of this process, instead
// of through its own connection to it: no loopback TCP, no encoding and decoding of every
// message twice, and an answer (the broker has taken the message) without a round trip. The
// connection stays for what needs a real client: the gateway's subscriptions, its will, and the
// notion of being connected that the outbox follows. Call it before Start; b must outlive the
// client's publishing (the gateway closes the outbox, then the client, then the broker).
func (c *Client) PublishInProcess(b *Broker) {
	c.inproc.Store(b)
}

// inProcess is the embedded broker the client publishes into, nil for a broker over the network.
func (c *Client) inProcess() *Broker { return c.inproc.Load() }

// publish sends one message over s, or into the embedded broker when the client publishes in
// process. The token completes when the broker has taken the message (PUBACK for QoS 1).
func (c *Client) publish(s *session, topic string, qos byte, retained bool, payload []byte) paho.Token {
	if b := c.inProcess(); b != nil {
		return doneToken{b.publishInline(topic, payload, retained, c.qosFor(qos))}
	}
	return s.pc.Publish(topic, c.qosFor(qos), retained, payload)
}

// doneToken is the token of an in-process publish: complete when made.
type doneToken struct{ err error }

// closedChan is the Done channel of every doneToken.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (doneToken) Wait() bool                     { return true }
func (doneToken) WaitTimeout(time.Duration) bool { return true }
func (doneToken) Done() <-chan struct{}          { return closedChan }
func (t doneToken) Error() error                 { return t.err }
