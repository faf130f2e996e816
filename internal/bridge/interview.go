package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/interview"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/present"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/taskq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"go.uber.org/zap"
)

// The interview (docs/mqtt-api.md "Interview"): on first contact, on 0 BOOTSTRAP and when the
// SoftwareVersion changes, the gateway discovers the device's data model with GetParameterNames
// and reads every exposed key the device has, so B/D/state is complete after the device's first
// session whatever its Inform events. The names are stored per model (OUI, ProductClass,
// SoftwareVersion): a sibling skips discovery. Friendly get/set then name only parameters the
// device has: cheap CPE firmware drops the session on an unknown name instead of answering 9005.

// Purposes of the interview's tasks.
const (
	purposeInterviewNames = "interview_names" // GetParameterNames: whole tree, or one level of the walk
	purposeInterviewRead  = "interview_read"  // GetParameterValues of the exposed keys the device has
)

// InterviewOptions bound an interview (interview.* in cwmp2mqtt.yaml); zero values take the
// defaults.
type InterviewOptions = interview.Options

// DefaultInterviewOptions is the `interview.*` section with nothing set.
func DefaultInterviewOptions() InterviewOptions { return interview.DefaultOptions() }

// interviewRun is an interview in progress: the walk (package interview) and, while queued or
// in flight, its whole-tree GetParameterNames: a session that ends on it (an answer too large
// for the CPE) switches to the walk.
type interviewRun struct {
	*interview.Run
	wholeTree *taskRecord
}

// modelKey names the data model devices share.
func modelKey(r *registry.Record) string {
	return interview.Key(r.OUI, r.ProductClass, r.SoftwareVersion)
}

// dataModel returns the shared data model of a key, from memory or the store; nil when none.
func (b *Bridge) dataModel(key string) *sdk.DataModel {
	m, err := b.models.Get(key)
	if err != nil {
		b.log.Error("stored data model unreadable", zap.String("model", interview.Printable(key)), zap.Error(err))
		return nil
	}
	return m
}

// deviceModel is the data model of a device whose interview found it; nil while unknown.
func (b *Bridge) deviceModel(id string) *sdk.DataModel {
	b.mu.Lock()
	d := b.devices[id]
	if d == nil || d.rec.Interview == nil || d.rec.Interview.State != api.InterviewDone {
		b.mu.Unlock()
		return nil
	}
	r := d.rec
	r.SoftwareVersion = d.rec.Interview.Firmware
	key := modelKey(&r)
	b.mu.Unlock()
	return b.dataModel(key)
}

// requestModel is the data model a get or set is planned with: the interview's names plus the
// parameters the device reported since (a host that joined the LAN after the interview is in
// the device's data model too); nil while the device has not been interviewed.
func (b *Bridge) requestModel(id string) *sdk.DataModel {
	model := b.deviceModel(id)
	if model == nil {
		return nil
	}
	var extra []string
	b.reg.WithParams(id, func(params map[string]registry.ParamValue) {
		for name := range params {
			if !model.Has(name) {
				extra = append(extra, name)
			}
		}
	})
	if len(extra) == 0 {
		return model
	}
	return sdk.NewDataModel(append(slices.Clone(model.Names()), extra...))
}

// interviewReasonLocked says why the device needs an interview now, "" when it does not.
func (b *Bridge) interviewReasonLocked(d *device, bootstrap, boot bool) string {
	r := &d.rec
	// Without a translator the state is the raw parameters: nothing to plan a read for.
	if b.opts.Interview.Disabled || b.tr == nil || r.Root == "" || d.iv != nil {
		return ""
	}
	iv := r.Interview
	switch {
	case d.reinterview:
		return api.InterviewRequested
	case iv == nil:
		return api.InterviewFirstContact
	case bootstrap:
		return api.InterviewBootstrap
	case iv.Firmware != r.SoftwareVersion:
		return api.InterviewFirmwareChanged
	case iv.State == api.InterviewRunning:
		return api.InterviewRetry // interrupted by a restart
	case iv.State == api.InterviewFailed && boot:
		return api.InterviewRetry
	}
	return ""
}

// checkInterviewLocked runs at each Inform: it says why an interview fails ("" when it goes on:
// past interview.max_time, or left without a task) and, when its whole-tree GetParameterNames
// was sent but the session ended without an answer (too large for the CPE), walks the tree
// instead.
func (b *Bridge) checkInterviewLocked(d *device, now time.Time) (failed string) {
	iv := d.iv
	if iv == nil {
		return ""
	}
	if iv.Expired(now) {
		return interview.ErrTime.Error()
	}
	if iv.WaitFor != "" {
		if !b.discoveringLocked(iv.WaitFor) { // the device discovering it went away
			b.discoverLocked(d)
		}
		return ""
	}
	if (iv.Model == nil || iv.ReadQueued) && !b.tasks.Any(d.rec.ID, func(t *taskRecord, _ taskq.Progress) bool { return isInterviewTask(t) }) {
		// Its last task was given up (the CPE dropped the session on it tasks.max_attempts
		// times): the interview cannot go on.
		return interview.ErrGivenUp.Error()
	}
	if t := iv.wholeTree; t != nil && sentBefore(b.tasks.Progress(t)) {
		b.log.Warn("the CPE broke the session on the whole-tree GetParameterNames; walking its tree", zap.String("device", d.rec.ID))
		b.dropTaskLocked(d, t)
		iv.wholeTree = nil
		b.startWalkLocked(d, d.iv.Walk())
	}
	return ""
}

// sentBefore: queued again after a session dropped it.
func sentBefore(p taskq.Progress) bool { return p.State == taskq.Queued && p.Attempts > 0 }

func isInterviewTask(t *taskRecord) bool {
	return t.Purpose == purposeInterviewNames || t.Purpose == purposeInterviewRead
}

// dropTaskLocked removes a queued volatile task.
func (b *Bridge) dropTaskLocked(d *device, t *taskRecord) {
	b.tasks.Drop(d.rec.ID, func(q *taskRecord) bool { return q == t })
}

// startInterview begins an interview decided by interviewReasonLocked (called without the
// lock, during the Inform; interview_started joins the Inform's publications): from the shared
// names of the model when another device's interview found them — shared is then true and the
// caller queues the read with queueInterviewRead once the Inform is committed — else with a
// GetParameterNames of the whole tree.
func (b *Bridge) startInterview(into *present.Batch, id, reason string) (shared bool) {
	b.mu.Lock()
	d := b.devices[id]
	if d == nil {
		b.mu.Unlock()
		return false
	}
	now := b.opts.Now()
	forced := d.reinterview
	d.reinterview = false
	key := modelKey(&d.rec)
	iv := &api.Interview{State: api.InterviewRunning, Reason: reason, Firmware: d.rec.SoftwareVersion, Started: now.UTC()}
	d.rec.Interview = iv
	d.iv = &interviewRun{Run: interview.NewRun(key, d.rec.Root, now, b.opts.Interview)}
	b.markDirtyLocked(d)
	b.reg.TouchCounts()
	b.mu.Unlock()

	b.emitInterviewEvent(into, id, api.EventInterviewStarted, iv)
	var model *sdk.DataModel
	if !forced && reason != api.InterviewBootstrap {
		model = b.dataModel(key)
	}
	b.mu.Lock()
	if d = b.devices[id]; d == nil || d.iv == nil {
		b.mu.Unlock()
		return false
	}
	if model == nil {
		if b.discoveringLocked(key) {
			d.iv.WaitFor = key
		} else {
			b.discoverLocked(d)
		}
		b.mu.Unlock()
		return false
	}
	d.iv.Model = model
	cp := *d.rec.Interview
	cp.Shared, cp.Names = true, model.Len()
	d.rec.Interview = &cp
	b.mu.Unlock()
	return true
}

// discoverLocked makes the device the one that discovers its model's names.
func (b *Bridge) discoverLocked(d *device) {
	b.models.Claim(d.iv.Key, d.rec.ID)
	d.iv.wholeTree = b.askNamesLocked(d, d.iv.Discover())
}

// askNamesLocked queues one GetParameterNames of the interview.
func (b *Bridge) askNamesLocked(d *device, q interview.Question) *taskRecord {
	return b.queueInternalLocked(d, "GetParameterNames", purposeInterviewNames,
		map[string]any{"path": q.Path, "next_level": q.NextLevel})
}

// discoveringLocked reports whether a device is discovering the model key now.
func (b *Bridge) discoveringLocked(key string) bool {
	o := b.devices[b.models.Discoverer(key)]
	return o != nil && o.iv != nil && o.iv.Discovering(key)
}

// discoveryEndedLocked hands the outcome of a model's discovery to the devices waiting for it:
// the names (they go on to their read, returned to be queued without the lock), or, when it
// failed, the first of them discovers in turn (woken for it) and the others wait again.
func (b *Bridge) discoveryEndedLocked(key string, model *sdk.DataModel) (read []string) {
	b.models.Release(key)
	for id, d := range b.devices {
		if d.iv == nil || d.iv.WaitFor != key {
			continue
		}
		if model == nil && !b.discoveringLocked(key) {
			b.discoverLocked(d)
			if d.inSession == "" {
				b.wakeLocked(d)
			}
			continue
		}
		if model == nil {
			continue
		}
		d.iv.WaitFor, d.iv.Model = "", model
		cp := *d.rec.Interview
		cp.Shared, cp.Names = true, model.Len()
		d.rec.Interview = &cp
		read = append(read, id)
	}
	return read
}

// startWalkLocked records that the device's names are walked and asks the walk's first
// question (the root's first level; each object found is asked in turn).
func (b *Bridge) startWalkLocked(d *device, first interview.Question) {
	cp := *d.rec.Interview
	cp.Walked = true
	d.rec.Interview = &cp
	b.askNamesLocked(d, first)
}

// countInterviewRPC counts the interview's RPCs (each answer, fault or not, is one).
func (b *Bridge) countInterviewRPC(t *taskRecord) {
	if t.Purpose != purposeInterviewNames && t.Purpose != purposeInterviewRead {
		return
	}
	b.mu.Lock()
	if d := b.devices[t.Device]; d != nil && d.iv != nil {
		d.iv.RPCs++
	}
	b.mu.Unlock()
}

// interviewTaskDone advances the interview after one of its tasks ended (TaskDone).
func (b *Bridge) interviewTaskDone(ctx context.Context, t *taskRecord, resp soap.Message, err error) {
	switch t.Purpose {
	case purposeInterviewNames:
		b.namesAnswered(ctx, t, resp, err)
	case purposeInterviewRead:
		if err != nil {
			b.failInterview(t.Device, "the state read failed: "+err.Error())
			return
		}
		b.finishInterview(t.Device)
	}
}

// namesAnswered takes one GetParameterNames answer: the whole tree (done, or walk when refused
// or the CPE answered one level only), or one level of the walk.
func (b *Bridge) namesAnswered(ctx context.Context, t *taskRecord, resp soap.Message, err error) {
	var q interview.Question
	if msg, e := b.buildMessage(t); e == nil {
		if g, ok := msg.(*soap.GetParameterNames); ok {
			q = interview.Question{Path: g.ParameterPath, NextLevel: g.NextLevel}
		}
	}
	reply := interview.Reply{Err: err}
	if list, ok := resp.(*soap.GetParameterNamesResponse); ok && list != nil {
		reply.Names, reply.Listed = parameterNames(list.ParameterList), true
	}
	b.mu.Lock()
	d := b.devices[t.Device]
	if d == nil || d.iv == nil {
		b.mu.Unlock()
		return
	}
	iv := d.iv
	if iv.wholeTree == t {
		iv.wholeTree = nil
	}
	step := iv.Answer(q, reply, b.opts.Now())
	switch {
	case step.Walk:
		b.log.Info("whole-tree GetParameterNames not usable; walking the tree", zap.String("device", t.Device), zap.String("why", step.WalkWhy))
		b.startWalkLocked(d, *step.Ask)
		b.mu.Unlock()
		return
	case step.Skipped != nil:
		b.log.Warn("GetParameterNames of a subtree failed; skipped", zap.String("device", t.Device), zap.String("path", q.Path), zap.Error(step.Skipped))
	}
	switch {
	case step.Failed != "":
		b.mu.Unlock()
		b.failInterview(t.Device, step.Failed)
		return
	case !step.Done:
		b.askNamesLocked(d, *step.Ask)
		b.mu.Unlock()
		return
	}
	model, key := step.Model, iv.Key
	b.models.Found(key, model)
	cp := *d.rec.Interview
	cp.Names = model.Len()
	d.rec.Interview = &cp
	waiting := b.discoveryEndedLocked(key, model)
	b.mu.Unlock()
	if err := b.models.Store(key, model, t.Device, b.opts.Now().UTC()); err != nil {
		b.log.Error("data model not stored", zap.String("device", t.Device), zap.Error(err))
	}
	b.queueInterviewRead(ctx, t.Device)
	for _, id := range waiting {
		b.queueInterviewRead(ctx, id) // wakes the devices no longer in session
	}
}

func parameterNames(list []soap.ParameterInfo) []string {
	names := make([]string, len(list))
	for i, p := range list {
		names[i] = p.Name
	}
	return names
}

// oneLevel and toWalk read a GetParameterNames answer as the walk does (interview.OneLevel,
// interview.ToWalk).
func oneLevel(path string, list []soap.ParameterInfo) bool {
	return interview.OneLevel(path, parameterNames(list))
}

func toWalk(path string, list []soap.ParameterInfo) []string {
	return interview.ToWalk(path, parameterNames(list))
}

// queueInterviewRead queues the read of every exposed key the device has; with nothing to
// read (no translator, no key) the interview is done at once.
func (b *Bridge) queueInterviewRead(ctx context.Context, id string) {
	names, err := b.stateReadNames(ctx, id)
	if err != nil {
		b.failInterview(id, err.Error())
		return
	}
	b.mu.Lock()
	d := b.devices[id]
	if d == nil || d.iv == nil {
		b.mu.Unlock()
		return
	}
	if len(names) == 0 {
		b.mu.Unlock()
		b.finishInterview(id)
		return
	}
	b.queueInternalLocked(d, "GetParameterValues", purposeInterviewRead, map[string]any{"names": names})
	d.iv.ReadQueued = true
	if d.inSession == "" {
		b.wakeLocked(d)
	}
	b.mu.Unlock()
}

// stateReadNames plans the read of every exposed key: the translator's names for no keys, kept
// to those in the device's data model when it is known.
func (b *Bridge) stateReadNames(ctx context.Context, id string) ([]string, error) {
	if b.tr == nil {
		return nil, nil
	}
	dev, _, ok := b.snapshot(id)
	if !ok {
		return nil, errUnknownDevice
	}
	model := b.interviewModel(id)
	name, plan, err := b.tr.ResolveGet(ctx, dev, nil, model)
	if err != nil {
		b.log.Warn("translator cannot plan the state read", zap.String("device", id), zap.String("translator", name), zap.Error(err))
		return nil, fmt.Errorf("translator %s cannot plan the state read: %w", name, err)
	}
	kept, _ := keepKnown(model, plan.Names)
	return kept, nil
}

// interviewModel is the data model of the running interview, else the device's.
func (b *Bridge) interviewModel(id string) *sdk.DataModel {
	b.mu.Lock()
	d := b.devices[id]
	if d != nil && d.iv != nil && d.iv.Model != nil {
		m := d.iv.Model
		b.mu.Unlock()
		return m
	}
	b.mu.Unlock()
	return b.deviceModel(id)
}

// keepKnown splits names into those the data model has and those it lacks (all kept when the
// model is unknown). It is the bridge's own guard: whatever a translator plans, a CPE is never
// sent a name its data model lacks by a get, a set or the interview.
func keepKnown(model *sdk.DataModel, names []string) (kept, lacking []string) {
	if model == nil {
		return names, nil
	}
	for _, n := range names {
		if model.Has(n) {
			kept = append(kept, n)
		} else {
			lacking = append(lacking, n)
		}
	}
	return kept, lacking
}

// finishInterview records a successful interview and publishes interview_done.
func (b *Bridge) finishInterview(id string) {
	b.endInterview(nil, id, api.InterviewDone, "")
}

func (b *Bridge) failInterview(id, why string) {
	b.endInterview(nil, id, api.InterviewFailed, why)
}

// endInterview records the end of the device's interview and publishes it, into the batch of
// the Inform being handled when there is one (its events must not overtake the Inform's).
func (b *Bridge) endInterview(into *present.Batch, id, state, why string) {
	now := b.opts.Now()
	b.mu.Lock()
	d := b.devices[id]
	if d == nil || d.iv == nil || d.rec.Interview == nil {
		b.mu.Unlock()
		return
	}
	iv := d.iv
	d.iv = nil
	if b.models.Discoverer(iv.Key) == id {
		b.discoveryEndedLocked(iv.Key, nil) // failed before it found the names
	}
	// Its tasks still queued are dropped: the interview is over.
	b.tasks.Drop(id, isInterviewTask)
	cp := *d.rec.Interview
	fin := now.UTC()
	cp.State, cp.Error, cp.Finished = state, why, &fin
	cp.RPCs, cp.DurationMs = iv.RPCs, now.Sub(iv.Started).Milliseconds()
	cp.Keys = d.stateKeys
	d.rec.Interview = &cp
	rec := d.snapshotLocked()
	b.reg.TouchCounts()
	b.mu.Unlock()
	// The record says whether friendly get/set may trust the names: written now.
	if _, err := b.putRecords([]*registry.Record{rec}); err != nil {
		b.log.Error("registry write failed", zap.String("device", id), zap.Error(err))
	}
	ev := api.EventInterviewDone
	if state == api.InterviewFailed {
		ev = api.EventInterviewFailed
		b.log.Warn("interview failed", zap.String("device", id), zap.String("reason", why), zap.Int("rpcs", cp.RPCs))
	} else {
		b.log.Info("interview done", zap.String("device", id), zap.Int("names", cp.Names), zap.Int("keys", cp.Keys),
			zap.Int("rpcs", cp.RPCs), zap.Int64("ms", cp.DurationMs), zap.Bool("shared", cp.Shared))
	}
	b.emitInterviewEvent(into, id, ev, &cp)
	b.emitInfo(into, id)
}

func (b *Bridge) emitInterviewEvent(into *present.Batch, id string, ev api.EventType, iv *api.Interview) {
	data := *iv
	if into == nil { // else the Inform that owns the batch holds the device's order lock
		defer b.lockDeviceOrder(id)()
	}
	b.to(into).put(b.out.DeviceEvent(api.DeviceEvent{Event: ev, Device: id, Data: data, Time: b.opts.Now().UTC()}))
}

// Reinterview asks for a new interview of the device (discovery again, not from a sibling):
// started now when the device is in session, else at the Inform of the session a connection
// request asks for (or of its next periodic one).
func (b *Bridge) Reinterview(id string) (api.ReinterviewQueued, error) {
	b.mu.Lock()
	d := b.devices[id]
	switch {
	case d == nil:
		b.mu.Unlock()
		return api.ReinterviewQueued{}, errUnknownDevice
	case b.tr == nil || b.opts.Interview.Disabled:
		b.mu.Unlock()
		return api.ReinterviewQueued{}, errors.New("interviews are off: no translator is loaded, or interview.enabled is false")
	case d.rec.Root == "":
		b.mu.Unlock()
		return api.ReinterviewQueued{}, errors.New("the device's data model root is not known yet: it sent no parameter of it")
	case d.iv != nil:
		b.mu.Unlock()
		return api.ReinterviewQueued{}, errors.New("an interview of the device is running: ask again after its interview_done or interview_failed")
	}
	d.reinterview = true
	inSession := d.inSession != ""
	b.mu.Unlock()
	if inSession && b.startInterview(nil, id, api.InterviewRequested) {
		b.queueInterviewRead(b.ctx, id)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	woken := false
	if d = b.devices[id]; d != nil && d.inSession == "" && !d.waking && b.waker != nil && (d.rec.ConnReqURL != "" || d.rec.ConnReqUDP != "") {
		// The session that was open may have ended before the interview's first task was queued.
		b.wakeLocked(d)
		woken = true
	}
	return api.ReinterviewQueued{Device: id, Woken: woken}, nil
}

// missingReason is the rejection of a get naming keys the device lacks: each key with the
// parameter it needs.
func missingReason(missing map[string]string) string {
	parts := make([]string, 0, len(missing))
	for k, p := range missing {
		parts = append(parts, k+": the device's data model has no "+p)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// lackingInPlan checks the parameters and objects a set plan writes against the device's data
// model; it says which are missing, "" when all are there (or the model is unknown).
func lackingInPlan(model *sdk.DataModel, rpcs []sdk.RPC) string {
	if model == nil {
		return ""
	}
	var lacking []string
	for _, r := range rpcs {
		args, err := json.Marshal(r.Args)
		if err != nil {
			continue
		}
		msg, err := api.BuildRPC(r.Method, args)
		if err != nil {
			continue // acceptPlan rejects it with the parser's reason
		}
		var names []string
		switch m := msg.(type) {
		case *soap.SetParameterValues:
			for _, p := range m.ParameterList {
				names = append(names, p.Name)
			}
		case *soap.AddObject:
			names = append(names, m.ObjectName)
		case *soap.DeleteObject:
			names = append(names, m.ObjectName)
		}
		_, miss := keepKnown(model, names)
		lacking = append(lacking, miss...)
	}
	if len(lacking) == 0 {
		return ""
	}
	return "not in the device's data model: " + strings.Join(lacking, ", ")
}

// modelLocked is the device's data model from memory: its running interview's, else its last
// done interview's if loaded; nil when unknown.
func (b *Bridge) modelLocked(d *device) *sdk.DataModel {
	if d.iv != nil {
		return d.iv.Model
	}
	if iv := d.rec.Interview; iv != nil && iv.State == api.InterviewDone {
		r := d.rec
		r.SoftwareVersion = iv.Firmware
		return b.models.Loaded(modelKey(&r))
	}
	return nil
}

// heldLocked reports a task blindCheckLocked holds: a session ended with only such tasks left
// needs no connection request (the interview wakes the device when its names are in).
func (b *Bridge) heldLocked(d *device, t *taskRecord) bool {
	return t.Blind && d.iv != nil && b.modelLocked(d) == nil
}

// blindCheckLocked decides, as it is about to be sent, about a get or set planned before the
// device's data model was known (its first interview was running): held while the interview
// still has no names, refused (lacks says why) when it names what the model lacks, sent as
// planned otherwise or when no model will come (the interview failed, or interviews are off).
// It runs in a b.tasks.Each callback: Blind is cleared under the queues' lock.
func (b *Bridge) blindCheckLocked(d *device, t *taskRecord) (hold bool, lacks string) {
	if !t.Blind {
		return false, ""
	}
	model := b.modelLocked(d)
	if model == nil {
		return d.iv != nil, ""
	}
	t.Blind = false
	msg, err := b.buildMessage(t)
	if err != nil {
		return false, ""
	}
	var names []string
	switch m := msg.(type) {
	case *soap.GetParameterValues:
		names = m.ParameterNames
	case *soap.SetParameterValues:
		for _, p := range m.ParameterList {
			names = append(names, p.Name)
		}
	case *soap.AddObject:
		names = []string{m.ObjectName}
	}
	if _, miss := keepKnown(model, names); len(miss) > 0 {
		return false, "not sent: planned before the device's interview, it names what the device's data model lacks: " + strings.Join(miss, ", ")
	}
	return false, ""
}
