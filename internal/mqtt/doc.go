// Package mqtt is the platform side of the gateway:
//
//	CPE → cwmp → bridge → mqtt → platform   (plugins beside bridge)
//
// It holds the paho.mqtt.golang client (persistent session, LWT, TLS,
// exponential reconnect, non-blocking handlers with manual acks), the durable
// in-order outbox every outbound publish goes through (bbolt, group commit),
// the embedded mochi-mqtt broker used when no external broker is configured,
// and the topic names of the MQTT contract (docs/design.md §3).
//
// Delivery guarantees, in one place:
//
//   - Outbound: Outbox.Enqueue returns once the message is fsynced, or, with
//     the embedded broker in this process and nothing enqueued before still
//     unacknowledged, once that broker has taken it (no disk write at all). A single
//     deliverer publishes the committed entries in key order with a window of
//     in-flight publishes and deletes the acknowledged prefix. After a disconnect or a crash it resumes
//     from the first unacknowledged entry, so the messages that were in flight
//     may be published twice: at most OutboxOptions.Window after a disconnect;
//     after a crash also the acknowledged entries whose batched delete (every
//     256 acks, or when idle) was not yet committed. QoS 1 is at-least-once.
//     Order per topic is preserved; a duplicate is always a replay of a
//     contiguous run, never an older message after a newer one's first copy.
//   - Bounds: outbox.max_bytes drops the oldest non-retained entries first,
//     outbox.max_age drops expired ones; both are counted in OutboxStats.
//     Retained entries on one topic coalesce to the newest while queued.
//   - Inbound: the client acknowledges a QoS 1/2 message only when every
//     matching handler has called Message.Ack. The bridge acks after the request
//     is durably queued; a handler that returns without Ack leaves the message
//     unacknowledged and the broker redelivers it on the next connection
//     (clean session off, stable client id).
//
// This package never imports cwmp or bridge.
package mqtt
