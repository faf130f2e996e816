package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/taskq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Subscriptions are the topic filters the bridge consumes.
func (b *Bridge) Subscriptions() []string {
	return []string{b.out.Topic("+", "rpc"), b.out.Topic("+", "set"), b.out.Topic("+", "get"), b.out.Topic("bridge", "request", "+")}
}

// HandleMessage processes one inbound message. It returns nil once the message is dealt with
// for good (a request durably queued, or answered `rejected`), so the MQTT client may ack it; an
// error means "not stored, let the broker redeliver". duplicate is the MQTT DUP flag: a
// redelivered request whose id already finished is dropped, not run twice.
func (b *Bridge) HandleMessage(ctx context.Context, topic string, payload []byte, duplicate bool) error {
	rest, ok := strings.CutPrefix(topic, b.opts.BaseTopic+"/")
	if !ok {
		return nil
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 3 && parts[0] == "bridge" && parts[1] == "request":
		b.handleBridgeRequest(parts[2], payload)
		return nil
	case len(parts) == 2 && parts[1] == "rpc":
		return b.handleRPC(parts[0], payload, duplicate)
	case len(parts) == 2 && parts[1] == "set":
		return b.handleSet(ctx, parts[0], payload, duplicate)
	case len(parts) == 2 && parts[1] == "get":
		return b.handleGet(ctx, parts[0], payload, duplicate)
	}
	return nil
}

func (b *Bridge) handleRPC(device string, payload []byte, duplicate bool) error {
	req, _, err := api.ParseRPCRequest(payload)
	if err != nil {
		b.reject(device, req, "", payload, err)
		return nil
	}
	if err := b.checkReplyTo(req.ReplyTo); err != nil {
		req.ReplyTo = "" // the rejection itself goes to B/D/rpc/result
		b.reject(device, req, "", payload, err)
		return nil
	}
	if duplicate && b.recentlyFinished(device, req.ID) {
		return nil
	}
	t := b.newTask(device, req.Request, originRPC, req.Method, req.Args)
	return b.accept(t, &req.Request)
}

// recentlyFinished reports (and logs) a redelivery of a request that already ended: QoS 1 can
// bring a request back after its PUBACK was lost; it must not run again.
func (b *Bridge) recentlyFinished(device, id string) bool {
	// In memory for the last ids; older ones, or finished before a restart: the store remembers.
	seen, err := b.tasks.RecentlyFinished(device, id)
	if err != nil {
		b.log.Error("finished request ids not readable", zap.String("device", device), zap.Error(err))
	}
	if seen {
		b.log.Info("redelivered request already finished; dropped", zap.String("device", device), zap.String("id", id))
	}
	return seen
}

// newTask builds the durable record of a validated request.
func (b *Bridge) newTask(device string, r api.Request, origin, method string, args json.RawMessage) *taskRecord {
	now := b.opts.Now()
	t := &taskRecord{Task: taskq.Task{Device: device, ID: r.ID, Origin: origin, Method: method, Args: args,
		ReplyTo: r.ReplyTo, Accepted: now}}
	t.Timeout = r.TimeoutDuration()
	if d := r.ExpiresDuration(); d > 0 {
		t.Expires = now.Add(d)
	} else {
		// No expires: do not wait for a later session (docs/mqtt-api.md "timeout and expires").
		t.NoWait = true
		t.Expires = now.Add(b.opts.WakeGrace)
	}
	return t
}

// accept queues a task and publishes `accepted`, or `rejected` with the reason.
func (b *Bridge) accept(t *taskRecord, r *api.Request) error {
	if err := b.enqueue(t); err != nil {
		if errors.Is(err, taskq.ErrDuplicateID) {
			// A redelivered or re-sent request: it is queued already; say so again, once.
			b.publishResult(t, statusAccepted, nil, nil, "")
			return nil
		}
		if rejectable(err) {
			b.log.Info("request rejected", zap.String("device", t.Device), zap.String("id", t.ID), zap.Error(err))
			b.publishResult(t, statusRejected, nil, nil, err.Error())
			return nil
		}
		b.log.Error("request not queued; broker will redeliver", zap.String("device", t.Device), zap.Error(err))
		return err
	}
	b.publishResult(t, statusAccepted, nil, nil, "")
	if t.offline != "" {
		b.finish(t, taskq.Offline, nil, nil, t.offline)
	}
	return nil
}

// rejectable errors end a request with `rejected`; any other (a store failure) leaves the MQTT
// message unacked so the broker redelivers it.
func rejectable(err error) bool {
	return errors.Is(err, errUnknownDevice) || errors.Is(err, taskq.ErrQueueFull)
}

// reject answers a request that failed validation. The id and reply_to are taken from the
// payload when it is at least a JSON object, so the platform can match the rejection.
func (b *Bridge) reject(device string, req *api.RPCRequest, method string, payload []byte, err error) {
	var env struct {
		ID      any    `json:"id"`
		Method  any    `json:"method"`
		ReplyTo string `json:"reply_to"`
	}
	_ = json.Unmarshal(payload, &env)
	id, _ := env.ID.(string)
	if method == "" {
		method, _ = env.Method.(string)
	}
	t := &taskRecord{Task: taskq.Task{Device: device, ID: id, Method: method, Origin: originRPC}}
	if req != nil {
		t.ID, t.ReplyTo = req.ID, req.ReplyTo
	}

	b.log.Info("request rejected", zap.String("device", device), zap.String("id", id), zap.Error(err))
	b.publishResult(t, statusRejected, nil, nil, err.Error())
}

// handleBridgeRequest answers gateway operations on B/bridge/request/<op>.
func (b *Bridge) handleBridgeRequest(op string, payload []byte) {
	resp := api.BridgeResponse{Op: api.EchoOp(op), Status: api.BridgeOK, Time: b.opts.Now().UTC()}
	req, err := api.ParseBridgeRequest(op, payload)
	if req != nil {
		resp.Transaction = req.Transaction
	}
	if err != nil {
		resp.Status, resp.Error = api.BridgeError, err.Error()
		b.to(nil).put(b.out.BridgeResponse(op, resp))
		return
	}
	switch op {
	case api.OpListDevices:
		page, total, next := b.listDevices(req.Filter, req.Offset, req.Limit)
		resp.Data, resp.Total, resp.NextOffset = api.DeviceList(page), &total, next
	case api.OpRemoveDevice:
		n, err := b.RemoveDevice(req.Device)
		if err != nil {
			resp.Status, resp.Error = api.BridgeError, err.Error()
		} else {
			resp.Data = api.RemovedDevice{Device: req.Device, DroppedRequests: n}
		}
	case api.OpHealth:
		resp.Data = b.Health()
	case api.OpListTranslators:
		resp.Data = b.translatorList(true)
	case api.OpReinterview:
		if q, err := b.Reinterview(req.Device); err != nil {
			resp.Status, resp.Error = api.BridgeError, err.Error()
		} else {
			resp.Data = q
		}
	}
	b.to(nil).put(b.out.BridgeResponse(op, resp))
}

// RemoveDevice forgets a device, its queue and its retained topics. A request not yet sent ends
// `cancelled` (it was accepted, so `rejected`, "nothing was queued", would be false); one in
// flight ends `timeout`, since the CPE may have run it. Internal tasks end silently.
func (b *Bridge) RemoveDevice(id string) (dropped int, err error) {
	b.mu.Lock()
	d := b.devices[id]
	if d == nil {
		b.mu.Unlock()
		return 0, errUnknownDevice
	}
	delete(b.devices, id)
	b.reg.Remove(id) // and from the counts
	var msgs []mqtt.Publish
	// Every task ends here; a late answer from a session still open is not published again.
	for _, r := range b.tasks.RemoveDevice(id) {
		if !r.Publish {
			continue
		}
		reason := "the device was removed before the request was sent"
		if r.State == taskq.Timeout {
			reason = "the device was removed while the request was in flight; its outcome is unknown"
		}
		if m, ok := b.resultMessage(r.Task, r.State.String(), nil, nil, reason); ok {
			msgs = append(msgs, m)
		}
		dropped++
	}
	b.mu.Unlock()
	// An empty retained payload clears the retained state, availability and info.
	for _, sub := range []string{"state", "availability", "info"} {
		msgs = append(msgs, b.out.Clear(b.out.Topic(id, sub)))
	}
	// Its values go first (a stop in between leaves a record without values, read as none);
	// the results go with the queue they end, in one commit.
	if err := b.reg.DeleteValues(id); err != nil {
		return 0, err
	}
	if err := b.st.deleteDevice(id, func(tx *bolt.Tx) error { return b.pub.EnqueueTx(tx, msgs...) }); err != nil {
		return 0, err
	}
	b.emitBridgeEvent(nil, api.BridgeDeviceRemoved, id, "")
	return dropped, nil
}

// Health is the answer of the health operation; the gateway adds broker, outbox and
// translator figures through Options.Health.
func (b *Bridge) Health() api.Health {
	b.mu.Lock()
	h := api.Health{Status: "ok", Uptime: b.opts.Now().Sub(b.started).Seconds(), Devices: len(b.devices),
		Translators: map[string]string{}}
	for _, d := range b.devices {
		if d.rec.Online {
			h.Online++
		}
		if d.inSession != "" {
			h.Sessions++
		}
	}
	h.QueuedRequests = b.tasks.Total()
	b.mu.Unlock()
	if b.opts.Health != nil {
		b.opts.Health(&h)
	}
	if len(h.Problems) > 0 {
		h.Status = "degraded"
	}
	return h
}

// translatorList lists the translators with the number of devices each serves; the exposed
// keys only for list_translators (bridge/info stays small).
func (b *Bridge) translatorList(withExposes bool) []api.TranslatorInfo {
	if b.tr == nil {
		return []api.TranslatorInfo{}
	}
	list := b.tr.List()
	b.mu.Lock()
	count := map[string]int{}
	for _, d := range b.devices {
		count[d.rec.Translator]++
	}
	b.mu.Unlock()
	for i := range list {
		list[i].Devices = count[list[i].Name]
		if !withExposes {
			list[i].Exposes = nil
		}
	}
	return list
}
