package mqtt

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/zap"
)

// Handler processes one inbound message on its subscription's own goroutine.
// It must call m.Ack once the message is safely stored (the bridge: after the
// request is durably queued). Returning without Ack leaves a QoS 1/2 message
// unacknowledged: the broker redelivers it on the next connection.
type Handler func(ctx context.Context, m Message)

// Message is one inbound publish.
type Message struct {
	Topic     string
	Payload   []byte
	Retained  bool
	Duplicate bool // the broker may have delivered it before
	ack       func()
}

// Ack acknowledges the message to the broker (PUBACK for QoS 1). If several
// subscriptions match, the broker is acked when all their handlers have acked.
// Calling Ack twice is harmless; QoS 0 messages need no ack.
func (m Message) Ack() {
	if m.ack != nil {
		m.ack()
	}
}

// subscription is one entry of the client's own subscription table, with its
// bounded queue and worker.
type subscription struct {
	filter      string
	handler     Handler
	queue       chan Message
	stop        chan struct{}
	overflowing atomic.Bool
	// refused: a message was left unacked since the queue last drained.
	refused atomic.Bool
}

// Subscribe adds filter to the subscription table (restored on every
// reconnect) and subscribes now if connected. Messages are queued (up to
// mqtt.queue_depth) and handled in order on a goroutine of their own, so a
// slow handler never stalls other subscriptions or the keep-alive.
//
// The broker's own in-flight limit (mosquitto max_inflight_messages, 20 by
// default) is per client: a handler that holds many QoS 1 messages without
// acking will, beyond that limit, delay deliveries to other subscriptions too.
func (c *Client) Subscribe(filter string, h Handler) error {
	if err := validateFilter(filter); err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("mqtt: subscribe %q: nil handler", filter)
	}
	sub := &subscription{filter: filter, handler: h, queue: make(chan Message, c.cfg.QueueDepth), stop: make(chan struct{})}
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		return ErrClosed
	}
	if _, dup := c.subs[filter]; dup {
		c.mu.Unlock()
		return fmt.Errorf("mqtt: already subscribed to %q", filter)
	}
	c.subs[filter] = sub
	s := c.live
	c.wg.Add(1)
	c.mu.Unlock()
	go c.work(sub)
	if s != nil {
		return c.subscribeOn(s, filter)
	}
	return nil
}

// Unsubscribe removes filter from the table and from the broker's session.
// Messages still queued for it are left unacknowledged.
func (c *Client) Unsubscribe(filter string) error {
	c.mu.Lock()
	sub, ok := c.subs[filter]
	delete(c.subs, filter)
	s := c.live
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("mqtt: not subscribed to %q", filter)
	}
	close(sub.stop)
	if s == nil {
		return nil
	}
	tok := s.pc.Unsubscribe(filter)
	if !tok.WaitTimeout(c.cfg.ConnectTimeout) {
		return fmt.Errorf("unsubscribe %q: no UNSUBACK within %s", filter, c.cfg.ConnectTimeout)
	}
	return tok.Error()
}

// route is paho's default publish handler. It runs on paho's network
// goroutine, so it only matches and enqueues; it never blocks.
func (c *Client) route(_ paho.Client, pm paho.Message) {
	topic := pm.Topic()
	c.mu.Lock()
	var matched []*subscription
	for f, sub := range c.subs {
		if matchTopic(f, topic) {
			matched = append(matched, sub)
		}
	}
	c.mu.Unlock()
	if len(matched) == 0 {
		// A leftover of the persistent session (a filter we no longer hold):
		// ack it, or the broker would redeliver it forever.
		pm.Ack()
		c.log.Debug("message without subscription acked", zap.String("topic", topic))
		return
	}
	// The broker is acked once every matching handler has acked.
	remaining := atomic.Int32{}
	remaining.Store(int32(len(matched)))
	for _, sub := range matched {
		m := Message{
			Topic:     topic,
			Payload:   pm.Payload(),
			Retained:  pm.Retained(),
			Duplicate: pm.Duplicate(),
			ack: sync.OnceFunc(func() {
				if remaining.Add(-1) == 0 {
					pm.Ack()
				}
			}),
		}
		select {
		case sub.queue <- m:
			c.received.Add(1)
			sub.overflowing.Store(false)
		default:
			// Never block paho: refuse and leave unacked, so the broker
			// redelivers it on the next connection.
			c.dropped.Add(1)
			sub.refused.Store(true)
			if !sub.overflowing.Swap(true) {
				c.log.Warn("subscription queue full; message left unacked for redelivery",
					zap.String("filter", sub.filter), zap.String("topic", topic), zap.Int("queue_depth", cap(sub.queue)))
			}
		}
	}
}

// work runs one subscription's handler over its queue.
func (c *Client) work(sub *subscription) {
	defer c.wg.Done()
	for {
		select {
		case m := <-sub.queue:
			c.handle(sub, m)
			if len(sub.queue) == 0 && sub.refused.Swap(false) {
				c.redeliver()
			}
		case <-sub.stop:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// handle calls the handler; a panicking handler is logged, its message left
// unacked, and the subscription keeps running.
func (c *Client) handle(sub *subscription, m Message) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("message handler panicked", zap.String("filter", sub.filter),
				zap.String("topic", m.Topic), zap.Any("panic", r))
		}
	}()
	sub.handler(c.ctx, m)
}
