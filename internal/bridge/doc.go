// Package bridge is the core of the gateway: it sits between the ACS (package internal/cwmp/acs, whose
// Handler it implements) and the MQTT side (package mqtt, through which it publishes and
// receives), with the translator host beside it:
//
//	CPE ─▶ internal/cwmp/acs ─▶ bridge ─▶ outbox ─▶ mqtt ─▶ platform
//	CPE ◀─ internal/cwmp/connreq ◀─ bridge (task queues) ◀─ mqtt ◀─ platform
//
// It owns the device registry, the durable per-device task queues, the translation of Informs
// into topics (docs/mqtt-api.md), availability, and connection-request provisioning.
//
// Durability (docs/design.md §5): the registry and the queues live in the gateway's one bbolt file,
// beside the outbox. A request is answered `accepted` only after it is committed; a task is marked
// in flight (committed) before it is sent to the CPE, so a restart never runs it twice
// (see recoverInflight). Per-Inform registry updates are written behind in batches: losing the
// last second of "last inform" times in a crash is harmless, the next Inform restores them.
package bridge
