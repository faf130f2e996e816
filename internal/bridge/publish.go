package bridge

import (
	"hash/fnv"
	"sort"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/present"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"go.uber.org/zap"
)

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

// sink is where the presenter's messages go: into a batch (one outbox commit for all), or
// straight to the outbox when the batch is nil.
type sink struct {
	b    *Bridge
	into *present.Batch
}

func (b *Bridge) to(into *present.Batch) sink { return sink{b, into} }

// put takes a message from the presenter; one that could not be encoded is logged and dropped.
func (s sink) put(m mqtt.Publish, err error) {
	if err != nil {
		s.b.log.Error("payload not encoded", zap.String("topic", m.Topic), zap.Error(err))
		return
	}
	if s.into != nil {
		s.into.Add(m)
		return
	}
	if err := s.b.pub.Enqueue(m.Topic, m.Payload, m.Retained, m.QoS); err != nil {
		s.b.log.Error("publish failed", zap.String("topic", m.Topic), zap.Error(err))
	}
}

func (b *Bridge) flushBatch(into *present.Batch) {
	if err := b.pub.EnqueueBatch(into.Msgs...); err != nil {
		b.log.Error("publish failed", zap.Int("messages", len(into.Msgs)), zap.Error(err))
	}
}

func (b *Bridge) publishBridgeState(state string) {
	b.to(nil).put(b.out.BridgeState(state, b.opts.Version, b.started))
}

func (b *Bridge) emitBridgeEvent(into *present.Batch, event api.BridgeEventType, device, reason string) {
	b.sendBridgeEvent(into, api.BridgeEvent{Event: event, Device: device, Reason: reason, Time: b.opts.Now().UTC()})
}

// sendBridgeEvent publishes a B/bridge/event and shows it to the observer (metrics).
func (b *Bridge) sendBridgeEvent(into *present.Batch, ev api.BridgeEvent) {
	b.to(into).put(b.out.BridgeEvent(ev))
	b.opts.Observer.Event(ev)
}

// PublishOutboxDropped reports messages the outbox had to drop (outbox.max_bytes, max_age).
func (b *Bridge) PublishOutboxDropped(count int) {
	b.sendBridgeEvent(nil, api.BridgeEvent{Event: api.BridgeOutboxDropped, Count: count,
		Reason: "outbox full or messages too old while the broker was unreachable", Time: b.opts.Now().UTC()})
}

// PluginEvent publishes a translator host event (plugin_failed, plugin_restarted …).
func (b *Bridge) PluginEvent(event api.BridgeEventType, plugin, reason string) {
	b.sendBridgeEvent(nil, api.BridgeEvent{Event: event, Plugin: plugin, Reason: reason, Time: b.opts.Now().UTC()})
}

func (b *Bridge) publishInform(into *present.Batch, id string, inf *soap.Inform, now time.Time) {
	msgs, err := b.out.Inform(id, inf, now)
	if err != nil {
		b.log.Error("payload not encoded", zap.String("device", id), zap.Error(err))
	}
	for _, m := range msgs {
		b.to(into).put(m, nil)
	}
}

func (b *Bridge) publishCPERequestEvent(id string, m soap.Message) {
	defer b.lockDeviceOrder(id)()
	if ev, ok := api.DeviceEventFromRequest(id, m, b.opts.Now()); ok {
		b.to(nil).put(b.out.DeviceEvent(ev))
	}
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
	if p := b.tasks.Progress(t); status != statusAccepted && p.Drops > 0 {
		res.Attempts, res.DroppedSessions = p.Attempts, p.Drops
	}
	b.annot.Unlock()
	if fault != nil {
		fi := api.FaultResult(fault)
		fi.Explanation = explain
		res.Fault = &fi
	}
	m, err := b.out.Result(&res, t.ReplyTo)
	if err != nil {
		b.log.Error("payload not encoded", zap.String("device", t.Device), zap.String("topic", m.Topic), zap.Error(err))
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
	return m, true
}

// renderResult turns a CPE response into the documented JSON result.
func renderResult(m soap.Message) (any, error) {
	return api.ResultFromMessage(m)
}

// buildMessage rebuilds the CWMP request of a stored task.
func (b *Bridge) buildMessage(t *taskRecord) (soap.Message, error) {
	return api.BuildRPC(t.Method, t.Args)
}

// publishDeviceListIfDirty republishes the retained B/bridge/devices counts. The registry keeps
// them up to date as devices come, go and change availability: nothing here walks the fleet.
func (b *Bridge) publishDeviceListIfDirty() {
	devices, online, changed := b.reg.TakeCounts()
	if !changed {
		return
	}
	counts := api.DeviceCounts{Devices: devices, Online: online, Offline: devices - online, Updated: b.opts.Now().UTC()}
	b.to(nil).put(b.out.DeviceCounts(counts))
}

// listDevices is one page of list_devices: the devices that pass the filter, in id order.
func (b *Bridge) listDevices(f *api.DeviceFilter, offset, limit int) (page []api.DeviceSummary, total, next int) {
	if limit <= 0 {
		limit = api.DefaultListLimit
	}
	b.mu.Lock()
	var all []api.DeviceSummary
	for _, d := range b.devices {
		if s := d.rec.Summary(); f.Match(&s) {
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
// published (present.Published.InfoChanged: a new last_inform alone is no change).
func (b *Bridge) emitInfo(into *present.Batch, id string) {
	b.mu.Lock()
	d := b.devices[id]
	if d == nil {
		b.mu.Unlock()
		return
	}
	s := d.rec.Summary()
	changed := d.published.InfoChanged(s)
	if changed && d.rec.InfoSum != d.published.Info() {
		d.rec.InfoSum = d.published.Info()
		b.markDirtyLocked(d)
	}
	b.mu.Unlock()
	if changed {
		b.to(into).put(b.out.Info(&s))
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
