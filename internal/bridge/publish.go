package bridge

import (
	"encoding/json"
	"hash/fnv"
	"sort"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"go.uber.org/zap"
)

// topic joins the base topic and parts: topic("bridge","state") = "B/bridge/state".
func (b *Bridge) topic(parts ...string) string {
	n := len(b.opts.BaseTopic)
	for _, p := range parts {
		n += 1 + len(p)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, b.opts.BaseTopic...)
	for _, p := range parts {
		buf = append(buf, '/')
		buf = append(buf, p...)
	}
	return string(buf)
}

// publishJSON marshals and hands a payload to the outbox, or to the batch of the Inform being
// handled (b.batch). A failure is logged, never fatal: the outbox only fails when the store does.
func (b *Bridge) publishJSON(topic string, v any, retained bool) {
	b.emit(nil, topic, v, retained)
}

// lockDeviceOrder holds off the device's other time-stamped publications until unlock: an
// Inform stamps its messages when it arrives and hands them to the outbox once handled (a
// translator call and a store write later), so without it a newer Inform of the same device
// (superseding a session whose Inform is still being handled) or an interview ending on another
// goroutine could enqueue an event stamped later before it, and B/D/event would go back in
// time. Striped by device id; never hold two (no path locks a second device while holding one).
func (b *Bridge) lockDeviceOrder(id string) (unlock func()) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	m := &b.order[h.Sum32()%uint32(len(b.order))]
	m.Lock()
	return m.Unlock
}

// batch collects an Inform's publications so they cost one outbox commit, not one each.
type batch struct{ msgs []mqtt.Publish }

func (b *Bridge) emit(into *batch, topic string, v any, retained bool) {
	payload, err := json.Marshal(v)
	if err != nil {
		b.log.Error("payload not encoded", zap.String("topic", topic), zap.Error(err))
		return
	}
	if into != nil {
		into.msgs = append(into.msgs, mqtt.Publish{Topic: topic, Payload: payload, Retained: retained, QoS: b.opts.QoS})
		return
	}
	if err := b.pub.Enqueue(topic, payload, retained, b.opts.QoS); err != nil {
		b.log.Error("publish failed", zap.String("topic", topic), zap.Error(err))
	}
}

func (b *Bridge) flushBatch(into *batch) {
	if err := b.pub.EnqueueBatch(into.msgs...); err != nil {
		b.log.Error("publish failed", zap.Int("messages", len(into.msgs)), zap.Error(err))
	}
}

func (b *Bridge) publishBridgeState(state string) {
	started := b.started.UTC()
	b.publishJSON(b.topic("bridge", "state"), api.BridgeState{State: state, Version: b.opts.Version, Started: &started}, true)
}

func (b *Bridge) publishBridgeEvent(event api.BridgeEventType, device, reason string) {
	b.emitBridgeEvent(nil, event, device, reason)
}

func (b *Bridge) emitBridgeEvent(into *batch, event api.BridgeEventType, device, reason string) {
	ev := api.BridgeEvent{Event: event, Device: device, Reason: reason, Time: b.opts.Now().UTC()}
	b.emit(into, b.topic("bridge", "event"), ev, false)
	b.opts.Observer.Event(ev)
}

// PublishOutboxDropped reports messages the outbox had to drop (outbox.max_bytes, max_age).
func (b *Bridge) PublishOutboxDropped(count int) {
	ev := api.BridgeEvent{Event: api.BridgeOutboxDropped, Count: count,
		Reason: "outbox full or messages too old while the broker was unreachable", Time: b.opts.Now().UTC()}
	b.publishJSON(b.topic("bridge", "event"), ev, false)
	b.opts.Observer.Event(ev)
}

// PluginEvent publishes a translator host event (plugin_failed, plugin_restarted …).
func (b *Bridge) PluginEvent(event api.BridgeEventType, plugin, reason string) {
	ev := api.BridgeEvent{Event: event, Plugin: plugin, Reason: reason, Time: b.opts.Now().UTC()}
	b.publishJSON(b.topic("bridge", "event"), ev, false)
	b.opts.Observer.Event(ev)
}

func (b *Bridge) publishInform(into *batch, id string, inf *soap.Inform, now time.Time) {
	b.emit(into, b.topic(id, "inform"), api.InformMessage(id, inf, now), false)
	for _, ev := range api.DeviceEventsFromInform(id, inf, now) {
		b.emit(into, b.topic(id, "event"), ev, false)
	}
}

func (b *Bridge) publishCPERequestEvent(id string, m soap.Message) {
	defer b.lockDeviceOrder(id)()
	if ev, ok := api.DeviceEventFromRequest(id, m, b.opts.Now()); ok {
		b.publishJSON(b.topic(id, "event"), ev, false)
	}
}

func (b *Bridge) publishAvailability(into *batch, id string, online bool, now time.Time, reason string) {
	a := api.NewAvailability(online, now)
	a.Reason = reason
	b.emit(into, b.topic(id, "availability"), a, true)
}

// publishResult sends a request's result to reply_to or B/D/rpc/result.
func (b *Bridge) publishResult(t *taskRecord, status string, result any, fault *soap.Fault, reason string) {
	if m, ok := b.resultMessage(t, status, result, fault, reason); ok {
		if err := b.pub.Enqueue(m.Topic, m.Payload, m.Retained, m.QoS); err != nil {
			b.log.Error("publish failed", zap.String("device", t.Device), zap.String("id", t.ID), zap.Error(err))
		}
	}
}

// resultMessage encodes a request's result for reply_to or B/D/rpc/result.
func (b *Bridge) resultMessage(t *taskRecord, status string, result any, fault *soap.Fault, reason string) (mqtt.Publish, bool) {
	method := t.Method
	if t.Origin == originSet || t.Origin == originGet {
		method = t.Origin
	}
	res := api.RPCResult{ID: t.ID, Device: t.Device, Method: method, Status: api.Status(status),
		Result: result, Error: reason, Time: b.opts.Now().UTC()}
	b.annot.Lock()                // sessions and the sweeper touch tasks concurrently
	res.Note, t.note = t.note, "" // said once
	explain := t.explain
	if status != statusAccepted && t.Drops > 0 {
		res.Attempts, res.DroppedSessions = t.Attempts, t.Drops
	}
	b.annot.Unlock()
	if fault != nil {
		fi := api.FaultResult(fault)
		fi.Explanation = explain
		res.Fault = &fi
	}
	topic := t.ReplyTo
	if topic == "" {
		topic = b.topic(t.Device, "rpc", "result")
	}
	payload, err := json.Marshal(res)
	if err != nil {
		b.log.Error("payload not encoded", zap.String("device", t.Device), zap.String("topic", topic), zap.Error(err))
		return mqtt.Publish{}, false
	}
	// Every result passes here (published at once, or committed with the task's removal).
	if status != statusAccepted {
		var took time.Duration
		if !t.Accepted.IsZero() {
			took = res.Time.Sub(t.Accepted)
		}
		b.opts.Observer.RequestDone(t.Device, method, status, took)
	}
	return mqtt.Publish{Topic: topic, Payload: payload, QoS: b.opts.QoS}, true
}

// renderResult turns a CPE response into the documented JSON result.
func renderResult(m soap.Message) (any, error) {
	return api.ResultFromMessage(m)
}

// buildMessage rebuilds the CWMP request of a stored task.
func (b *Bridge) buildMessage(t *taskRecord) (soap.Message, error) {
	return api.BuildRPC(t.Method, t.Args)
}

// publishDeviceListIfDirty republishes the retained B/bridge/devices counts. They are kept up
// to date as devices come, go and change availability: nothing here walks the fleet.
func (b *Bridge) publishDeviceListIfDirty() {
	b.mu.Lock()
	if !b.listDirty {
		b.mu.Unlock()
		return
	}
	b.listDirty = false
	counts := api.DeviceCounts{Devices: len(b.devices), Online: b.online, Offline: len(b.devices) - b.online,
		Updated: b.opts.Now().UTC()}
	b.mu.Unlock()
	b.publishJSON(b.topic("bridge", "devices"), counts, true)
}

// listDevices is one page of list_devices: the devices that pass the filter, in id order.
func (b *Bridge) listDevices(f *api.DeviceFilter, offset, limit int) (page []api.DeviceSummary, total, next int) {
	if limit <= 0 {
		limit = api.DefaultListLimit
	}
	b.mu.Lock()
	var all []api.DeviceSummary
	for _, d := range b.devices {
		if s := summary(&d.rec); f.Match(&s) {
			all = append(all, s)
		}
	}
	b.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	total = len(all)
	if offset >= total {
		return []api.DeviceSummary{}, total, 0
	}
	end := min(offset+limit, total)
	if end < total {
		next = end
	}
	return all[offset:end], total, next
}

// emitInfo publishes the retained B/D/info when the device's entry changed since it was last
// published. A new last_inform alone is no change (B/D/inform and availability carry it): the
// entry is compared without it, so a periodic Inform does not republish it.
func (b *Bridge) emitInfo(into *batch, id string) {
	b.mu.Lock()
	d := b.devices[id]
	if d == nil {
		b.mu.Unlock()
		return
	}
	s := summary(&d.rec)
	last := s.LastInform
	s.LastInform = time.Time{}
	key, err := json.Marshal(s)
	if err != nil {
		b.mu.Unlock()
		return
	}
	h := fnv.New64a()
	h.Write(key)
	sum := h.Sum64()
	if sum == d.infoSum {
		b.mu.Unlock()
		return
	}
	d.infoSum = sum
	b.mu.Unlock()
	s.LastInform = last
	b.emit(into, b.topic(id, "info"), s, true)
}

func summary(r *deviceRecord) api.DeviceSummary {
	model := r.ModelName
	if model == "" {
		model = r.ProductClass
	}
	return api.DeviceSummary{
		ID: r.ID, Manufacturer: r.Manufacturer, OUI: r.OUI, ProductClass: r.ProductClass,
		SerialNumber: r.SerialNumber, Model: model, Firmware: r.SoftwareVersion,
		Hardware: r.HardwareVersion, Translator: r.Translator, Online: r.Online,
		LastInform: r.LastInform.UTC(), IP: hostOf(r.RemoteAddr), Interview: r.Interview, Quirks: r.Quirks,
	}
}

// annotate sets what the task's next result says beyond its status: a note, the gateway's
// explanation of a fault ("" leaves either as it is).
func (b *Bridge) annotate(t *taskRecord, note, explain string) {
	b.annot.Lock()
	defer b.annot.Unlock()
	if note != "" {
		t.note = note
	}
	if explain != "" {
		t.explain = explain
	}
}
