package mqtt

import (
	"bytes"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.uber.org/zap"
)

// Inbound flow control of the embedded broker. A QoS 1 PUBLISH is acknowledged (PUBACK) to its
// publisher before it is fanned out; mochi then holds at most MaximumInflight unacknowledged
// messages per subscriber and drops the rest ("client store quota reached"). A platform that
// fires 10,000 requests at once thus had about 2,000 acknowledged and lost: the gateway's
// subscription queues were full, and its forced reconnects to get them redelivered only made the
// broker's in-flight store overflow. brokerFlow holds such a publisher before its PUBACK while the
// gateway has flowWindow messages not yet acknowledged (taken durably by the bridge): the broker
// acknowledges only what the gateway can take, and TCP slows the publisher down.

// flowWindow is how many messages the gateway may have unacknowledged before publishers to its
// subscriptions wait. It stays below the client's per-subscription queue (mqtt.queue_depth, 256)
// so that the queue never overflows and nothing has to be redelivered.
const flowWindow = 128

// flowMaxWait bounds one publisher's wait: the gateway reconnecting or stopped must not hang a
// platform for good. Past it the message is passed on (mochi still keeps up to MaximumInflight
// for the gateway's session).
const flowMaxWait = 30 * time.Second

type brokerFlow struct {
	mochi.HookBase
	srv    *mochi.Server
	gwUser []byte
	log    *zap.Logger
}

func (h *brokerFlow) ID() string { return "cwmp2mqtt-flow" }

func (h *brokerFlow) Provides(b byte) bool { return b == mochi.OnPublish }

// OnPublish runs on the publisher's connection before its PUBACK.
func (h *brokerFlow) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Qos == 0 || cl.Net.Inline || bytes.Equal(cl.Properties.Username, h.gwUser) {
		// The gateway's own publishes (its inline client in process, or its network client)
		// never wait: it would wait for itself. The inline client has no user name: without
		// this check each Inform's messages paid a subscriber lookup (3 % of a session's CPU).
		return pk, nil
	}
	deadline := time.Now().Add(flowMaxWait)
	for wait := time.Millisecond; h.gatewayBusy(pk.TopicName); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			h.log.Warn("gateway not taking requests; passing one on after waiting", zap.String("client", cl.ID),
				zap.String("topic", pk.TopicName), zap.Duration("waited", flowMaxWait))
			break
		}
		time.Sleep(wait)
	}
	return pk, nil
}

// gatewayBusy reports whether a gateway client subscribed to topic has flowWindow messages or
// more in flight.
func (h *brokerFlow) gatewayBusy(topic string) bool {
	subs := h.srv.Topics.Subscribers(topic)
	for id := range subs.Subscriptions {
		c, ok := h.srv.Clients.Get(id)
		if ok && bytes.Equal(c.Properties.Username, h.gwUser) && c.State.Inflight.Len() >= flowWindow {
			return true
		}
	}
	return false
}
