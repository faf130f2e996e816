package bridge

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Purposes of the gateway's own tasks.
const (
	purposeCredentials  = "connreq_credentials"
	purposeReadInterval = "read_interval"
	purposeTranslator   = "translator_provision"
)

// Terminal statuses of docs/mqtt-api.md.
const (
	statusAccepted  = "accepted"
	statusDone      = "done"
	statusFault     = "fault"
	statusTimeout   = "timeout"
	statusExpired   = "expired"
	statusOffline   = "offline"
	statusRejected  = "rejected"
	statusCancelled = "cancelled"
)

// errQueueFull and friends are the readable reasons of `rejected` results.
var (
	errUnknownDevice = errors.New("unknown device: it has never sent an Inform to this gateway")
	errQueueFull     = errors.New("the device's queue is full (tasks.max_queue)")
	errDuplicateID   = errors.New("a request with this id is already queued for the device")
	errNoTarget      = errors.New("the device reported no ConnectionRequestURL")
)

// finishedMemory is how many finished request ids per device are kept in memory to drop QoS 1
// redeliveries without a store read; the store remembers every one for finishedKeep.
const finishedMemory = 64

// pruneEvery: the finished ids older than finishedKeep are pruned at start and every so many
// finished requests.
const pruneEvery = 4096

// idempotent methods are re-run after a restart that interrupted them; the others end with
// `timeout`, since the CPE may have executed them (no duplicates of a Reboot or an AddObject).
var idempotent = map[string]bool{
	"GetRPCMethods": true, "GetParameterNames": true, "GetParameterValues": true,
	"GetParameterAttributes": true, "SetParameterValues": true, "SetParameterAttributes": true,
	"GetQueuedTransfers": true, "GetAllQueuedTransfers": true,
}

// enqueue validates limits, commits the task, and wakes the device when it is not in session.
// It returns only after the task is durable: the caller then publishes `accepted` and acks.
func (b *Bridge) enqueue(t *taskRecord) error {
	b.mu.Lock()
	d := b.devices[t.Device]
	if d == nil {
		b.mu.Unlock()
		return errUnknownDevice
	}
	if len(d.queue) >= b.opts.MaxQueue {
		b.mu.Unlock()
		return errQueueFull
	}
	if t.ID != "" {
		for _, q := range d.queue {
			if q.ID == t.ID && q.Origin != originProvision {
				b.mu.Unlock()
				return errDuplicateID
			}
		}
	}
	b.mu.Unlock()
	// Not shared yet: number and marshal it without the lock, and commit outside it (bbolt's
	// Batch groups concurrent commits into one fsync).
	t.Seq = b.seq.Add(1)
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := b.st.putTask(t.Device, t.Seq, v); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	d = b.devices[t.Device]
	if d == nil { // removed meanwhile
		_ = b.st.deleteTask(t.Device, t.Seq)
		return errUnknownDevice
	}
	d.queue = append(d.queue, t)
	sortQueue(d.queue)
	b.armTasksLocked(d)
	if d.inSession == "" {
		if t.NoWait && d.rec.ConnReqURL == "" && d.rec.ConnReqUDP == "" && b.waker != nil {
			if b.goLocked() {
				go func() {
					defer b.wg.Done()
					b.wakeDone(d.rec.ID, errNoTarget)
				}()
			}
		} else if why := b.noWakeLocked(d, b.opts.Now()); why != "" && t.Origin != originProvision {
			// Said in `accepted`; a request that cannot wait ends `offline` right after it.
			b.annotate(t, why, "")
			if t.NoWait && !d.rec.CRNoSession.IsZero() {
				t.offline = "not woken: " + why
			}
		} else {
			b.wakeLocked(d)
		}
	}
	return nil
}

// queueInternalLocked queues a gateway task (credentials, interval read, translator
// provisioning). It is not stored: a crash loses it, and the next Inform or BOOT queues it again.
func (b *Bridge) queueInternalLocked(d *device, method, purpose string, args map[string]any) *taskRecord {
	raw, _ := json.Marshal(args)
	if d.poisonedLocked(method, raw) {
		b.log.Info("gateway request skipped: the CPE dropped the session on it before", zap.String("device", d.rec.ID),
			zap.String("purpose", purpose), zap.String("method", method))
		return nil
	}
	t := &taskRecord{
		Device: d.rec.ID, Origin: originProvision, Method: method, Args: raw,
		Accepted: b.opts.Now(), State: taskQueued, Purpose: purpose, volatile: true,
	}
	t.Seq = b.seq.Add(1)
	t.ID = purpose + "-" + randomToken(6)
	d.queue = append(d.queue, t)
	sortQueue(d.queue)
	b.armTasksLocked(d)
	return t
}

// saveTask commits a task's current state; the record is marshalled under the lock, since
// sessions and the sweeper change tasks concurrently.
func (b *Bridge) saveTask(t *taskRecord) {
	b.mu.Lock()
	v, err := json.Marshal(t)
	volatile := t.volatile
	b.mu.Unlock()
	if volatile {
		return
	}
	if err == nil {
		err = b.st.putTask(t.Device, t.Seq, v)
	}
	if err != nil {
		b.log.Error("task state not persisted", zap.String("device", t.Device), zap.String("id", t.ID), zap.Error(err))
	}
}

// queueCredentialsLocked provisions per-device connection-request credentials
// (checklist 49): a SetParameterValues on the device's root, active once it succeeds.
func (b *Bridge) queueCredentialsLocked(d *device) {
	for _, t := range d.queue {
		if t.Purpose == purposeCredentials {
			return
		}
	}
	r := &d.rec
	r.PendingUser = "cwmp2mqtt-" + randomToken(6)
	r.PendingPass = randomToken(18)
	b.queueInternalLocked(d, "SetParameterValues", purposeCredentials, map[string]any{
		"parameters": [][]string{
			{r.Root + "ManagementServer.ConnectionRequestUsername", r.PendingUser, "xsd:string"},
			{r.Root + "ManagementServer.ConnectionRequestPassword", r.PendingPass, "xsd:string"},
		},
		"parameter_key": "cwmp2mqtt-credentials",
	})
}

func randomToken(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// NextTask hands the device's next queued task to its session, marking it in flight (committed
// first, so a crash cannot run it twice); a batched GetParameterValues sends its next batch
// first (acs.Handler).
func (b *Bridge) NextTask(ctx context.Context, s *acs.Session) (*acs.Task, error) {
	for {
		b.mu.Lock()
		d := b.devices[s.DeviceID]
		if d == nil || d.inSession != s.ID {
			b.mu.Unlock()
			return nil, nil
		}
		var t *taskRecord
		for _, q := range d.queue {
			if q.State == taskInflight && q.run != nil && q.run.current == nil && !q.Ended {
				if gpv := q.run.next(); gpv != nil {
					b.mu.Unlock()
					return &acs.Task{Request: gpv, Ref: q}, nil
				}
			}
		}
		var cancel *taskRecord
		var why string
		for _, q := range d.queue {
			if q.State == taskQueued {
				hold, lacks := b.blindCheckLocked(d, q)
				if hold {
					continue // its device's data model is being discovered
				}
				t, cancel, why = q, q, lacks
				break
			}
		}
		if why != "" {
			b.mu.Unlock()
			b.finish(cancel, statusCancelled, nil, nil, why)
			continue
		}
		if t == nil {
			b.mu.Unlock()
			return nil, nil
		}
		now := b.opts.Now()
		if !t.Deadline.IsZero() && now.After(t.Deadline) {
			// Sent before, dropped, and its timeout ran out meanwhile: not sent again.
			b.mu.Unlock()
			b.finish(t, statusTimeout, nil, nil, droppedTimeoutReason(t))
			continue
		}
		t.State = taskInflight
		b.annot.Lock()
		t.Attempts++
		b.annot.Unlock()
		if t.Timeout > 0 && t.Deadline.IsZero() {
			// Counted from the first send and never restarted: a re-send after a dropped session
			// does not buy the request a new timeout.
			t.Deadline = now.Add(t.Timeout)
		}
		batch := gpvBatchSize
		if d.hasQuirk(quirkOneNamePerGPV) {
			batch = 1
		}
		b.mu.Unlock()

		msg, err := b.buildMessage(t)
		if err != nil { // cannot happen for validated requests; never loop on it
			b.log.Error("queued task cannot be built", zap.String("device", t.Device), zap.String("id", t.ID), zap.Error(err))
			b.finish(t, statusFault, nil, &soap.Fault{Code: soap.FaultInternalError, String: err.Error()}, err.Error())
			continue
		}
		if gpv, ok := msg.(*soap.GetParameterValues); ok {
			b.mu.Lock()
			t.run = newGPVRun(gpv.ParameterNames, batch)
			msg = t.run.next()
			b.mu.Unlock()
		}
		b.saveTask(t)
		b.log.Debug("task sent", zap.String("device", t.Device), zap.String("id", t.ID), zap.String("method", t.Method))
		return &acs.Task{Request: msg, Ref: t}, nil
	}
}

// TaskDone publishes the task's terminal result and applies what it read (acs.Handler).
func (b *Bridge) TaskDone(ctx context.Context, s *acs.Session, at *acs.Task, resp soap.Message, err error) {
	t, ok := at.Ref.(*taskRecord)
	if !ok {
		return
	}
	b.countInterviewRPC(t)
	if t.run != nil && !t.Ended {
		b.mu.Lock()
		more, fatal := t.run.absorb(resp, err)
		b.mu.Unlock()
		if more {
			return // NextTask sends the next batch in this session
		}
		if fatal != nil {
			resp, err = nil, fatal
		} else {
			b.checkCoverage(t, t.run)
			b.learnShortAnswers(t)
			var explain string
			if resp, explain, err = t.run.result(); explain != "" {
				b.annotate(t, "", explain)
			}
		}
	}
	var fault *soap.Fault
	switch {
	case errors.As(err, &fault):
		b.onInternalFault(t, fault)
		b.finish(t, statusFault, nil, fault, "")
	case err != nil:
		// A response that does not match the request (checklist 46) is a fault for this task only.
		f := &soap.Fault{Code: soap.FaultInternalError, String: err.Error()}
		b.annotate(t, "", "made by the gateway, not sent by the CPE: the CPE's answer did not match the request")
		b.finish(t, statusFault, nil, f, err.Error())
	default:
		b.onResponse(ctx, s, t, resp)
		b.trackTransfer(t, resp)
		b.finish(t, statusDone, b.result(ctx, t, resp), nil, "")
	}
	b.interviewTaskDone(ctx, t, resp, err)
}

// SessionEnded puts an interrupted task back at the head of its queue and wakes the device
// again when work is left (acs.Handler).
func (b *Bridge) SessionEnded(ctx context.Context, s *acs.Session, outstanding *acs.Task, reason acs.EndReason) {
	var requeue *taskRecord
	if outstanding != nil {
		requeue, _ = outstanding.Ref.(*taskRecord)
	}
	b.mu.Lock()
	d := b.devices[s.DeviceID]
	if d == nil {
		b.mu.Unlock()
		return
	}
	if d.inSession == s.ID {
		d.inSession = ""
		b.trimParamsLocked()
	}
	var drop, spent *taskRecord
	switch {
	case requeue != nil && requeue.Ended:
		// Its `timeout` is out: it must not run again, only be cleaned up.
		drop, requeue = requeue, nil
	case requeue != nil && requeue.State == taskInflight:
		requeue.run = nil
		if reason != acs.EndShutdown { // the gateway stopping is not the CPE dropping it
			b.annot.Lock()
			requeue.Drops++
			b.annot.Unlock()
		}
		if requeue.Attempts >= b.opts.MaxAttempts {
			// A request the CPE keeps dying on is not re-sent for ever (tasks.max_attempts).
			spent, requeue = requeue, nil
			if spent.Drops > 0 {
				b.rememberPoisonLocked(spent)
			}
		} else {
			requeue.State = taskQueued
		}
	}
	pending := false
	for _, q := range d.queue {
		if q.State == taskQueued && !b.heldLocked(d, q) {
			pending = true
		}
	}
	// A task queued between the session's last NextTask and its end must not wait for the next
	// periodic inform.
	if pending && d.inSession == "" && reason != acs.EndSuperseded && reason != acs.EndShutdown {
		b.wakeLocked(d)
	}
	b.mu.Unlock()
	if requeue != nil {
		b.saveTask(requeue)
	}
	if drop != nil {
		b.finish(drop, statusTimeout, nil, nil, "")
	}
	if spent != nil {
		b.log.Warn("CPE dropped the session while running a request; not sent again", zap.String("device", spent.Device),
			zap.String("id", spent.ID), zap.String("method", spent.Method), zap.Int("attempts", spent.Attempts),
			zap.Int("dropped_sessions", spent.Drops), zap.String("reason", string(reason)))
		b.finish(spent, statusTimeout, nil, nil, b.spentReason(spent, reason))
	}
	b.log.Debug("session ended", zap.String("device", s.DeviceID), zap.String("reason", string(reason)))
}

// finish removes a task and publishes its one terminal result (internal tasks publish none).
func (b *Bridge) finish(t *taskRecord, status string, result any, fault *soap.Fault, reason string) {
	b.mu.Lock()
	if d := b.devices[t.Device]; d != nil {
		for i, q := range d.queue {
			if q == t {
				// A new array: the old one would keep the finished task (with a state read's
				// every value) alive behind an empty queue, since a slice of it points into it.
				d.queue = append(d.queue[:i:i], d.queue[i+1:]...)
				if len(d.queue) == 0 {
					d.queue = nil
				}
				break
			}
		}
		if t.Origin != originProvision && t.ID != "" {
			if len(d.finished) >= finishedMemory {
				d.finished = d.finished[1:]
			}
			d.finished = append(d.finished, t.ID)
		}
	}
	b.mu.Unlock()
	var msg mqtt.Publish
	publish := !t.Ended && t.Origin != originProvision
	if publish {
		msg, publish = b.resultMessage(t, status, result, fault, reason)
	}
	if !t.volatile {
		// The task's end and its result commit together (a crash between the two lost results).
		err := b.st.commitTask(t.Device, t.Seq, nil, func(tx *bolt.Tx) error {
			if t.Origin != originProvision && t.ID != "" {
				if err := putFinished(tx, t.Device, t.ID, b.opts.Now()); err != nil {
					return err
				}
			}
			if !publish {
				return nil
			}
			return b.pub.EnqueueTx(tx, msg)
		})
		if err != nil {
			b.log.Error("task end not stored; the task is recovered at the next start", zap.String("device", t.Device),
				zap.String("id", t.ID), zap.String("status", status), zap.Error(err))
			return
		}
	} else if publish {
		if err := b.pub.Enqueue(msg.Topic, msg.Payload, msg.Retained, msg.QoS); err != nil {
			b.log.Error("publish failed", zap.String("device", t.Device), zap.String("id", t.ID), zap.Error(err))
		}
	}
	if b.finishes.Add(1)%pruneEvery == 0 {
		b.pruneFinished()
	}
	switch {
	case t.Ended:
		b.log.Info("timed-out request removed; its outcome is not published again", zap.String("device", t.Device), zap.String("id", t.ID), zap.String("status", status))
	case t.Origin == originProvision:
		b.log.Debug("internal task finished", zap.String("device", t.Device), zap.String("purpose", t.Purpose), zap.String("status", status))
	}
}

// result renders a response: CWMP terms for rpc, device-model terms for set and get.
func (b *Bridge) result(ctx context.Context, t *taskRecord, resp soap.Message) any {
	switch t.Origin {
	case originGet:
		return b.getResult(ctx, t, resp)
	case originSet:
		status := 0
		if r, ok := resp.(*soap.SetParameterValuesResponse); ok {
			status = r.Status
		}
		// Status 1: the CPE applies the change later, e.g. after a reboot (checklist 38).
		return api.StatusResult{Status: status, AppliedLater: status == 1}
	}
	result, err := renderResult(resp)
	if err != nil {
		b.log.Warn("result not rendered", zap.String("device", t.Device), zap.Error(err))
	}
	if t.run != nil && len(t.run.invalid)+len(t.run.missing) > 0 {
		switch v := result.(type) {
		case api.ValuesResult:
			v.InvalidNames = t.run.unanswered()
			result = v
		case *api.ValuesResult:
			v.InvalidNames = t.run.unanswered()
		}
	}
	return result
}

// keyMatches: k is one of keys, or below one of them ("wifi" covers "wifi.ssid.1.ssid").
func keyMatches(keys []string, k string) bool {
	for _, want := range keys {
		if k == want || len(k) > len(want) && k[len(want)] == '.' && k[:len(want)] == want {
			return true
		}
	}
	return false
}

// onInternalFault logs the failure of the gateway's own tasks.
func (b *Bridge) onInternalFault(t *taskRecord, f *soap.Fault) {
	if t.Origin != originProvision {
		return
	}
	b.log.Warn("device refused a gateway task", zap.String("device", t.Device),
		zap.String("purpose", t.Purpose), zap.Int("fault", f.Code), zap.String("reason", f.String))
	if t.Purpose == purposeCredentials {
		b.mu.Lock()
		if d := b.devices[t.Device]; d != nil {
			d.rec.PendingUser, d.rec.PendingPass = "", ""
			b.markDirtyLocked(d)
		}
		b.mu.Unlock()
	}
}

// onResponse applies a successful response to the registry and state.
func (b *Bridge) onResponse(ctx context.Context, s *acs.Session, t *taskRecord, resp soap.Message) {
	switch m := resp.(type) {
	case *soap.GetParameterValuesResponse:
		b.mu.Lock()
		if d := b.devices[t.Device]; d != nil {
			b.setParamsLocked(d, m.ParameterList)
			b.applyKnownParamsLocked(d, m.ParameterList)
			b.markDirtyLocked(d)
		}
		b.mu.Unlock()
		b.updateState(ctx, nil, t.Device, false, nil)
		b.emitInfo(nil, t.Device) // firmware, model, translator may have changed
	case *soap.SetParameterValuesResponse:
		// The values written, read back from the stored request with the same parser that
		// accepted it (every args form: pairs, triples, objects, JSON booleans and numbers).
		var pl []soap.ParameterValue
		if msg, err := b.buildMessage(t); err == nil {
			if spv, ok := msg.(*soap.SetParameterValues); ok {
				pl = spv.ParameterList
			}
		}
		b.mu.Lock()
		d := b.devices[t.Device]
		if d == nil {
			b.mu.Unlock()
			return
		}
		if t.Purpose == purposeCredentials && d.rec.PendingUser != "" {
			d.rec.ConnReqUser, d.rec.ConnReqPass = d.rec.PendingUser, d.rec.PendingPass
			d.rec.PendingUser, d.rec.PendingPass = "", ""
			b.log.Info("connection-request credentials provisioned", zap.String("device", t.Device))
		}
		if t.Purpose != purposeCredentials { // never keep passwords in the published state
			b.setParamsLocked(d, pl)
		}
		b.applyKnownParamsLocked(d, pl)
		rec := d.snapshotLocked()
		b.mu.Unlock()
		// Credentials must survive: write now.
		if _, err := b.putRecords([]*registry.Record{rec}); err != nil {
			b.log.Error("registry write failed", zap.String("device", t.Device), zap.Error(err))
		}
		if t.Purpose != purposeCredentials {
			b.updateState(ctx, nil, t.Device, false, nil)
		}
	}
}

// recoverInflight runs once at start: a task in flight when the gateway stopped is re-queued if
// running it again is harmless, and ended with `timeout` otherwise (at most once).
func (b *Bridge) recoverInflight() {
	var ended, requeued []*taskRecord
	b.mu.Lock()
	for _, d := range b.devices {
		for _, t := range d.queue {
			if t.State != taskInflight {
				continue
			}
			if t.Ended || t.Attempts >= b.opts.MaxAttempts {
				// Its timeout was published, or it was sent as often as allowed: not sent again.
				ended = append(ended, t)
			} else if idempotent[t.Method] || t.Origin == originProvision {
				t.State = taskQueued
				requeued = append(requeued, t)
			} else {
				ended = append(ended, t)
			}
		}
	}
	b.mu.Unlock()
	for _, t := range requeued {
		b.saveTask(t)
	}
	for _, t := range ended {
		b.log.Warn("task interrupted by a restart; not re-run", zap.String("device", t.Device), zap.String("id", t.ID), zap.String("method", t.Method))
		why := "because " + t.Method + " is not idempotent"
		if t.Attempts >= b.opts.MaxAttempts {
			why = fmt.Sprintf("because it was sent %d times already (tasks.max_attempts)", t.Attempts)
		}
		b.finish(t, statusTimeout, nil, nil,
			"the gateway stopped while the CPE was executing "+t.Method+"; its outcome is unknown and it is not re-run, "+why)
	}
}

// sweepTasks ends tasks whose expiry or deadline passed, and re-wakes devices with waiting work.
func (b *Bridge) sweepTasks(now time.Time) {
	type ending struct {
		t      *taskRecord
		status string
		reason string
	}
	var ends []ending
	var timedOut []*taskRecord
	b.mu.Lock()
	due := b.popDueLocked(dueTasks, now) // deadlines.go: only the devices with something due
	for _, d := range due {
		b.sweepWakeLocked(d, now)
		if len(d.queue) == 0 {
			continue
		}
		waiting := false
		for _, t := range d.queue {
			switch {
			case t.State == taskQueued && !t.Deadline.IsZero() && now.After(t.Deadline):
				ends = append(ends, ending{t, statusTimeout, droppedTimeoutReason(t)})
			case t.State == taskQueued && !t.Expires.IsZero() && now.After(t.Expires):
				status, reason := b.notSentLocked(d, t)
				ends = append(ends, ending{t, status, reason})
			case t.State == taskInflight && !t.Ended && !t.Deadline.IsZero() && now.After(t.Deadline):
				t.Ended = true
				timedOut = append(timedOut, t)
			case t.State == taskQueued:
				waiting = true
			}
		}
		if waiting && d.inSession == "" && !d.waking && b.rewakeDueLocked(d, now) {
			b.wakeLocked(d)
		}
	}
	b.mu.Unlock()
	for _, e := range ends {
		b.finish(e.t, e.status, nil, nil, e.reason)
	}
	for _, t := range timedOut {
		b.endInflight(t, inflightTimeoutReason(t))
	}
	b.mu.Lock()
	for _, d := range due {
		if at := b.nextTaskCheckLocked(d, now); !at.IsZero() {
			b.armLocked(d, dueTasks, at)
		}
	}
	b.mu.Unlock()
}

// pruneFinished forgets finished request ids older than finishedKeep.
func (b *Bridge) pruneFinished() {
	n, err := b.st.pruneFinished(b.opts.Now().Add(-finishedKeep))
	if err != nil {
		b.log.Error("finished request ids not pruned", zap.Error(err))
		return
	}
	b.log.Debug("finished request ids pruned", zap.Int("ids", n))
}

// endInflight publishes `timeout` for a task still in a session (marked Ended) and stores the mark
// in the same commit: it stays queued until its session ends, and is never run again.
func (b *Bridge) endInflight(t *taskRecord, reason string) {
	b.mu.Lock()
	v, err := json.Marshal(t)
	volatile := t.volatile
	b.mu.Unlock()
	if volatile {
		return // internal: nothing to publish, nothing stored
	}
	if err == nil {
		err = b.st.commitTask(t.Device, t.Seq, v, func(tx *bolt.Tx) error {
			if t.Origin == originProvision {
				return nil
			}
			m, ok := b.resultMessage(t, statusTimeout, nil, nil, reason)
			if !ok {
				return nil
			}
			return b.pub.EnqueueTx(tx, m)
		})
	}
	if err != nil {
		b.log.Error("timeout not stored; the task is recovered at the next start", zap.String("device", t.Device), zap.String("id", t.ID), zap.Error(err))
	}
}

// wakeLocked sends a connection request in the background (one at a time per device).
func (b *Bridge) wakeLocked(d *device) {
	if b.waker == nil || d.waking || d.rec.ConnReqURL == "" && d.rec.ConnReqUDP == "" || !b.mayWakeLocked(d) || !b.goLocked() {
		return
	}
	d.waking = true
	d.lastWake = b.opts.Now()
	target := connreq.Target{
		DeviceID: d.rec.ID, URL: d.rec.ConnReqURL, UDPAddr: d.rec.ConnReqUDP,
		Username: d.rec.ConnReqUser, Password: d.rec.ConnReqPass,
	}
	ctx := b.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	go func() {
		defer b.wg.Done()
		err := b.waker.Wake(ctx, target)
		b.wakeDone(target.DeviceID, err)
	}()
}

// goLocked counts a new bridge goroutine in wg, unless Stop began (b.mu held).
func (b *Bridge) goLocked() bool {
	if b.stopping {
		return false
	}
	b.wg.Add(1)
	return true
}

// wakeDone ends the requests that asked not to wait when the device cannot be woken; a busy or
// timed-out CPE is asked again later instead (wake.go). A wake cut short by Stop says nothing
// about the device: its requests stay queued for the next start.
func (b *Bridge) wakeDone(id string, err error) {
	var offline []*taskRecord
	final := false
	b.mu.Lock()
	stopping := b.stopping
	d := b.devices[id]
	if d != nil {
		d.waking = false
		final = !stopping && b.wakeResultLocked(d, err)
		if final && d.inSession == "" {
			for _, t := range d.queue {
				if t.NoWait && t.State == taskQueued {
					offline = append(offline, t)
				}
			}
		}
	}
	b.mu.Unlock()
	if err != nil && stopping {
		b.log.Info("connection request cut short by shutdown; requests stay queued", zap.String("device", id))
	} else if final { // a busy CPE is logged as retried (wakeResultLocked)
		b.log.Warn("connection request failed", zap.String("device", id), zap.Error(err))
	}
	for _, t := range offline {
		b.finish(t, statusOffline, nil, nil, "connection request failed: "+err.Error())
	}
}
