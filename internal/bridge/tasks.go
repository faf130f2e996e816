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
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/taskq"
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

// Task origins: who asked, which decides where the result goes (package taskq).
const (
	originRPC       = taskq.OriginRPC
	originSet       = taskq.OriginSet
	originGet       = taskq.OriginGet
	originProvision = taskq.OriginProvision
)

// taskRecord is a task as the bridge keeps it: the queue's task (its life is package taskq's),
// and what lives in memory only, guarded by b.mu (run) and b.annot (note, explain).
type taskRecord struct {
	taskq.Task
	// note is a remark published with the next result (why an accepted request waits, how a
	// short answer was completed); explain is the gateway's explanation of a fault it publishes.
	note, explain string
	// offline is set when the request cannot wait and the device will not be woken: accept ends
	// it `offline` with this reason right after `accepted`.
	offline string
	// run is the in-session progress of a batched GetParameterValues; a broken session starts
	// it over (reading is idempotent).
	run *gpvRun
}

// Statuses published outside a task's terminal end (its state's name is its status then).
const statusAccepted = "accepted"

var (
	statusDone     = taskq.Done.String()
	statusRejected = taskq.Rejected.String()
)

// The readable reasons of `rejected` results (with taskq.ErrQueueFull).
var (
	errUnknownDevice = errors.New("unknown device: it has never sent an Inform to this gateway")
	errNoTarget      = errors.New("the device reported no ConnectionRequestURL")
)

// taskStore is the persistence of the task queues: the bridge's store file.
type taskStore struct {
	st  *store
	now func() time.Time
}

func (s taskStore) SaveTask(device string, seq uint64, v []byte) error {
	return s.st.putTask(device, seq, v)
}

func (s taskStore) WasFinished(device, id string) (bool, error) {
	return s.st.finishedSince(device, id, s.now().Add(-finishedKeep))
}

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
	// An idle device with nothing queued is woken while the task commits, not after: its
	// session reaches NextTask later than the commit ends (the connection request, the Inform
	// and its InformResponse come first), and NextTask waits for the commit (committing) so
	// the session cannot miss the request. A task that is then refused (a duplicate id still
	// committing) or not stored costs the CPE an idle session, no more.
	early := d.inSession == "" && b.tasks.Len(t.Device) == 0 && b.noWakeLocked(d, b.opts.Now()) == "" &&
		(d.rec.ConnReqURL != "" || d.rec.ConnReqUDP != "")
	if early {
		b.committing[t.Device]++
		b.wakeLocked(d)
	}
	b.mu.Unlock()
	// Limits, duplicate id, number, and the commit (outside any lock: concurrent commits share
	// one, see committer).
	err := b.tasks.Accept(t)
	b.mu.Lock()
	defer b.mu.Unlock()
	if early { // in the same hold of mu as the Insert below: NextTask sees the task, or no commit
		if b.committing[t.Device]--; b.committing[t.Device] == 0 {
			delete(b.committing, t.Device)
			b.committed.Broadcast()
		}
	}
	if err != nil {
		return err
	}
	d = b.devices[t.Device]
	if d == nil { // removed meanwhile
		b.tasks.Forget(t)
		_ = b.st.deleteTask(t.Device, t.Seq)
		return errUnknownDevice
	}
	b.tasks.Insert(t)
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
	t := &taskRecord{Task: taskq.Task{
		Device: d.rec.ID, ID: purpose + "-" + randomToken(6), Origin: originProvision, Method: method, Args: raw,
		Accepted: b.opts.Now(), Purpose: purpose,
	}}
	if err := b.tasks.AddInternal(t); err != nil { // a new task: cannot fail
		b.log.Error("gateway request not queued", zap.String("device", d.rec.ID), zap.String("purpose", purpose), zap.Error(err))
		return nil
	}
	b.armTasksLocked(d)
	return t
}

// saveTask commits a task's current state; the record is marshalled under the queues' lock,
// since sessions and the sweeper change tasks concurrently.
func (b *Bridge) saveTask(t *taskRecord) {
	if t.Volatile {
		return
	}
	v, err := b.tasks.Marshal(t)
	if errors.Is(err, taskq.ErrNotQueued) {
		return // it ended meanwhile: its end is committed, not its progress
	}
	b.storeProgress(t, v, err)
}

// storeProgress writes a task's progress marshalled by saveTask (err: its marshalling failed).
// The task may have ended since: the store then keeps it ended (updateTask).
func (b *Bridge) storeProgress(t *taskRecord, v []byte, err error) {
	if err == nil {
		err = b.st.updateTask(t.Device, t.Seq, v)
	}
	if err != nil {
		b.log.Error("task state not persisted", zap.String("device", t.Device), zap.String("id", t.ID), zap.Error(err))
	}
}

// queueCredentialsLocked provisions per-device connection-request credentials
// (checklist 49): a SetParameterValues on the device's root, active once it succeeds.
func (b *Bridge) queueCredentialsLocked(d *device) {
	if b.tasks.Any(d.rec.ID, func(t *taskRecord, _ taskq.Progress) bool { return t.Purpose == purposeCredentials }) {
		return
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
		for b.committing[s.DeviceID] > 0 { // a request that woke this session is still committing
			b.committed.Wait()
		}
		d := b.devices[s.DeviceID]
		if d == nil || d.inSession != s.ID {
			b.mu.Unlock()
			return nil, nil
		}
		var more *acs.Task
		b.tasks.Each(d.rec.ID, func(q *taskRecord, p taskq.Progress) bool {
			if p.State == taskq.Sent && q.run != nil && q.run.current == nil {
				if gpv := q.run.next(); gpv != nil {
					more = &acs.Task{Request: gpv, Ref: q}
					return false
				}
			}
			return true
		})
		if more != nil {
			b.mu.Unlock()
			return more, nil
		}
		var t *taskRecord
		var why string
		b.tasks.Each(d.rec.ID, func(q *taskRecord, p taskq.Progress) bool {
			if p.State != taskq.Queued {
				return true
			}
			hold, lacks := b.blindCheckLocked(d, q)
			if hold {
				return true // its device's data model is being discovered
			}
			t, why = q, lacks
			return false
		})
		if why != "" {
			b.mu.Unlock()
			b.finish(t, taskq.Cancelled, nil, nil, why)
			continue
		}
		if t == nil {
			b.mu.Unlock()
			return nil, nil
		}
		if err := b.tasks.Send(t, b.opts.Now()); err != nil {
			b.mu.Unlock()
			if errors.Is(err, taskq.ErrTimedOut) {
				// Sent before, dropped, and its timeout ran out meanwhile: not sent again.
				b.finish(t, taskq.Timeout, nil, nil, droppedTimeoutReason(t, b.tasks.Progress(t)))
			} // else it ended meanwhile (a sweep, a failed connection request): the next one
			continue
		}
		batch := gpvBatchSize
		if d.hasQuirk(quirkOneNamePerGPV) {
			batch = 1
		}
		b.mu.Unlock()

		msg, err := b.buildMessage(t)
		if err != nil { // cannot happen for validated requests; never loop on it
			b.log.Error("queued task cannot be built", zap.String("device", t.Device), zap.String("id", t.ID), zap.Error(err))
			b.finish(t, taskq.Fault, nil, &soap.Fault{Code: soap.FaultInternalError, String: err.Error()}, err.Error())
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
	if t.run != nil && b.tasks.Progress(t).State != taskq.Lapsed {
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
		b.finish(t, taskq.Fault, nil, fault, "")
	case err != nil:
		// A response that does not match the request (checklist 46) is a fault for this task only.
		f := &soap.Fault{Code: soap.FaultInternalError, String: err.Error()}
		b.annotate(t, "", "made by the gateway, not sent by the CPE: the CPE's answer did not match the request")
		b.finish(t, taskq.Fault, nil, f, err.Error())
	default:
		b.onResponse(ctx, s, t, resp)
		b.trackTransfer(t, resp)
		b.finish(t, taskq.Done, b.result(ctx, t, resp), nil, "")
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
	outcome := taskq.Untouched
	if requeue != nil {
		// The gateway stopping is not the CPE dropping the session.
		outcome = b.tasks.Interrupted(requeue, reason != acs.EndShutdown)
		if outcome != taskq.Abandoned {
			requeue.run = nil
		}
		if outcome == taskq.Spent && b.tasks.Progress(requeue).Drops > 0 {
			b.rememberPoisonLocked(requeue)
		}
	}
	pending := b.tasks.Any(d.rec.ID, func(q *taskRecord, p taskq.Progress) bool {
		return p.State == taskq.Queued && !b.heldLocked(d, q)
	})
	// A task queued between the session's last NextTask and its end must not wait for the next
	// periodic inform.
	if pending && d.inSession == "" && reason != acs.EndSuperseded && reason != acs.EndShutdown {
		b.wakeLocked(d)
	}
	b.mu.Unlock()
	switch outcome {
	case taskq.Requeued:
		b.saveTask(requeue)
	case taskq.Abandoned: // its `timeout` is out: it must not run again, only be cleaned up
		b.finish(requeue, taskq.Timeout, nil, nil, "")
	case taskq.Spent: // a request the CPE keeps dying on is not re-sent for ever (tasks.max_attempts)
		p := b.tasks.Progress(requeue)
		b.log.Warn("CPE dropped the session while running a request; not sent again", zap.String("device", requeue.Device),
			zap.String("id", requeue.ID), zap.String("method", requeue.Method), zap.Int("attempts", p.Attempts),
			zap.Int("dropped_sessions", p.Drops), zap.String("reason", string(reason)))
		b.finish(requeue, taskq.Timeout, nil, nil, b.spentReason(requeue, p, reason))
	}
	b.log.Debug("session ended", zap.String("device", s.DeviceID), zap.String("reason", string(reason)))
}

// finish ends a task in state to (its queue decides whether the end is legal, and whether a
// result is due: none for internal tasks and for a lapsed one, whose `timeout` is out) and
// commits its end with its one terminal result.
func (b *Bridge) finish(t *taskRecord, to taskq.State, result any, fault *soap.Fault, reason string) {
	publish, err := b.tasks.Finish(t, to)
	if err != nil { // it ended already (its device was removed meanwhile): one end only
		b.log.Debug("task end refused", zap.String("device", t.Device), zap.String("id", t.ID), zap.Stringer("status", to), zap.Error(err))
		return
	}
	lapsed := !publish && !t.Internal()
	status := to.String()
	var msg mqtt.Publish
	if publish {
		msg, publish = b.resultMessage(t, status, result, fault, reason)
	}
	if !t.Volatile {
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
	case lapsed:
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
	requeued, ended := b.tasks.Recover(func(t *taskRecord) bool { return idempotent[t.Method] || t.Internal() })
	for _, t := range requeued {
		b.saveTask(t)
	}
	for _, t := range ended {
		b.log.Warn("task interrupted by a restart; not re-run", zap.String("device", t.Device), zap.String("id", t.ID), zap.String("method", t.Method))
		why := "because " + t.Method + " is not idempotent"
		if p := b.tasks.Progress(t); p.Attempts >= b.opts.MaxAttempts {
			why = fmt.Sprintf("because it was sent %d times already (tasks.max_attempts)", p.Attempts)
		}
		b.finish(t, taskq.Timeout, nil, nil,
			"the gateway stopped while the CPE was executing "+t.Method+"; its outcome is unknown and it is not re-run, "+why)
	}
}

// sweepTasks ends tasks whose expiry or deadline passed, and re-wakes devices with waiting work.
func (b *Bridge) sweepTasks(now time.Time) {
	type ending struct {
		t      *taskRecord
		status taskq.State
		reason string
	}
	var ends []ending
	var timedOut []*taskRecord
	b.mu.Lock()
	due := b.popDueLocked(dueTasks, now) // deadlines.go: only the devices with something due
	for _, d := range due {
		b.sweepWakeLocked(d, now)
		sw := b.tasks.Sweep(d.rec.ID, now)
		for _, t := range sw.Overdue {
			ends = append(ends, ending{t, taskq.Timeout, droppedTimeoutReason(t, b.tasks.Progress(t))})
		}
		for _, t := range sw.Expired {
			status, reason := b.notSentLocked(d, t)
			ends = append(ends, ending{t, status, reason})
		}
		timedOut = append(timedOut, sw.Lapsed...)
		if sw.Waiting && d.inSession == "" && !d.waking && b.rewakeDueLocked(d, now) {
			b.wakeLocked(d)
		}
	}
	b.mu.Unlock()
	for _, e := range ends {
		b.finish(e.t, e.status, nil, nil, e.reason)
	}
	for _, t := range timedOut {
		b.endInflight(t, inflightTimeoutReason(t, b.tasks.Progress(t)))
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

// endInflight publishes `timeout` for a task still in a session (Lapsed) and stores the mark in
// the same commit: it stays queued until its session ends, and is never run again.
func (b *Bridge) endInflight(t *taskRecord, reason string) {
	if t.Volatile {
		return // internal: nothing to publish, nothing stored
	}
	v, err := b.tasks.Marshal(t)
	if err == nil {
		err = b.st.commitTask(t.Device, t.Seq, v, func(tx *bolt.Tx) error {
			if t.Internal() {
				return nil
			}
			m, ok := b.resultMessage(t, taskq.Timeout.String(), nil, nil, reason)
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
			b.tasks.Each(id, func(t *taskRecord, p taskq.Progress) bool {
				if t.NoWait && p.State == taskq.Queued {
					offline = append(offline, t)
				}
				return true
			})
		}
	}
	b.mu.Unlock()
	if err != nil && stopping {
		b.log.Info("connection request cut short by shutdown; requests stay queued", zap.String("device", id))
	} else if final { // a busy CPE is logged as retried (wakeResultLocked)
		b.log.Warn("connection request failed", zap.String("device", id), zap.Error(err))
	}
	for _, t := range offline {
		b.finish(t, taskq.Offline, nil, nil, "connection request failed: "+err.Error())
	}
}
