package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/present"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"go.uber.org/zap"
)

// Translators is the translator host as the bridge sees it (package plugins/sdk/host implements
// it). Each call picks the device's translator by its match rules and returns its name.
type Translators interface {
	Normalize(ctx context.Context, dev sdk.DeviceInfo, params map[string]sdk.Value) (string, sdk.State, error)
	// ResolveGet and DenormalizeSet get the device's data model as its interview found it (nil
	// while unknown), so they name only parameters the device has.
	ResolveGet(ctx context.Context, dev sdk.DeviceInfo, keys []string, model *sdk.DataModel) (string, sdk.GetPlan, error)
	DenormalizeSet(ctx context.Context, dev sdk.DeviceInfo, values map[string]any, params map[string]sdk.Value, model *sdk.DataModel) (string, sdk.SetPlan, error)
	Provision(ctx context.Context, dev sdk.DeviceInfo, events []string, params map[string]sdk.Value) (string, []sdk.RPC, error)
	// List describes the loaded translators (bridge/info, list_translators).
	List() []api.TranslatorInfo
}

// snapshot copies what a translator call needs: the record under b.mu, the raw parameters
// from the registry (which may read them from the store) after it.
func (b *Bridge) snapshot(id string) (sdk.DeviceInfo, map[string]sdk.Value, bool) {
	b.mu.Lock()
	d := b.devices[id]
	if d == nil {
		b.mu.Unlock()
		return sdk.DeviceInfo{}, nil, false
	}
	dev := d.rec.DeviceInfo()
	b.mu.Unlock()
	var params map[string]sdk.Value
	b.reg.WithParams(id, func(raw map[string]registry.ParamValue) {
		params = make(map[string]sdk.Value, len(raw))
		for k, v := range raw {
			params[k] = sdk.Value{Value: v.Value, Type: v.Type}
		}
	})
	if params == nil {
		params = map[string]sdk.Value{}
	}
	return dev, params, true
}

// updateState publishes B/D/state: the translator's normalized state, or the raw parameters
// when no translator is configured. A failing translator leaves the last state, marked stale;
// the raw inform and rpc topics are unaffected. On BOOT/BOOTSTRAP the translator's provisioning
// RPCs are queued.
func (b *Bridge) updateState(ctx context.Context, into *present.Batch, id string, boot bool, events []string) {
	b.makeState(ctx, into, id, boot, boot, events)
}

// republishState publishes the device's state at start even when the store says it is current
// (the retained message went with the embedded broker's restart): normalized again.
func (b *Bridge) republishState(into *present.Batch, id string) {
	b.makeState(b.ctx, into, id, true, false, nil)
}

// makeState is updateState; force: normalized even when current.
func (b *Bridge) makeState(ctx context.Context, into *present.Batch, id string, force, boot bool, events []string) {
	key, current := b.stateCurrent(id)
	if current && !force {
		return // nothing changed since the state was published (unchanged.go)
	}
	dev, params, ok := b.snapshot(id)
	if !ok {
		return
	}
	st := api.State{Device: id, Updated: b.opts.Now().UTC()}
	if b.tr == nil {
		st.Model = "raw"
		st.Values = rawValues(params)
	} else {
		name, values, err := b.tr.Normalize(ctx, dev, params)
		st.Translator, st.Model = name, "1"
		if err != nil {
			b.log.Warn("translator failed; state is stale", zap.String("device", id), zap.String("translator", name), zap.Error(err))
			st.Stale = true
			st.Error = err.Error()
			st.Values = b.lastState(id)
		} else {
			st.Values = map[string]any(values)
			b.rememberState(id, name, st.Values)
		}
	}
	if b.stateChanged(id, &st) {
		b.to(into).put(b.out.State(&st))
	}
	b.stateMade(id, key, !st.Stale)
	if boot && b.tr != nil {
		b.provision(ctx, id, dev, events, params)
	}
}

// stateChanged reports whether st differs from the last state published for the device
// (present.Published): "updated" is therefore the time of the last change. A translator's
// state that differs from the stored one goes to the store with the next flush (bucket
// "state"), for lastState.
func (b *Bridge) stateChanged(id string, st *api.State) bool {
	seen, err := present.SeeState(st)
	if err != nil {
		return true // its encoding fails where it is published, and is logged there
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.devices[id]
	if d == nil {
		return false
	}
	if b.tr != nil && !st.Stale && seen.Sum != d.rec.StateSum {
		d.rec.StateSum = seen.Sum
		b.reg.SetState(id, seen.JSON)
		b.markDirtyLocked(d)
	}
	return d.published.StateChanged(seen)
}

// lastState is the device's last normalized state (empty when none is known), read from the
// store unless not yet written: only a failing translator and a `get` that needs no read ask.
func (b *Bridge) lastState(id string) map[string]any {
	raw, err := b.reg.State(id)
	if err != nil {
		b.log.Error("stored state unreadable", zap.String("device", id), zap.Error(err))
	}
	out := map[string]any{}
	if len(raw) > 0 {
		// Numbers keep their text, so the state republishes byte for byte.
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			b.log.Error("stored state unreadable", zap.String("device", id), zap.Error(err))
			return map[string]any{}
		}
	}
	return out
}

// getResult renders a `get` from what the CPE returned for this request only: the keys whose
// value depends on a parameter it returned (found by normalizing with and without them), never
// older state passed off as read. With no read at all (every key absent or needing none) the
// last state answers, and the note says so.
func (b *Bridge) getResult(ctx context.Context, t *taskRecord, resp soap.Message) api.GetResult {
	res := api.GetResult{Values: map[string]any{}}
	wanted := func(k string) bool { return len(t.Keys) == 0 || keyMatches(t.Keys, k) }
	if resp == nil {
		for k, v := range b.lastState(t.Device) {
			if wanted(k) {
				res.Values[k] = v
			}
		}
		b.annotate(t, "nothing needed reading from the device: the values are from the last known state", "")
		return res
	}
	if t.run != nil {
		res.InvalidNames = t.run.unanswered()
	}
	m, _ := resp.(*soap.GetParameterValuesResponse)
	dev, params, ok := b.snapshot(t.Device)
	if !ok || b.tr == nil || m == nil {
		return res
	}
	name, with, err := b.tr.Normalize(ctx, dev, params)
	var base sdk.State
	if err == nil {
		without := maps.Clone(params)
		for _, p := range m.ParameterList {
			delete(without, p.Name)
		}
		_, base, err = b.tr.Normalize(ctx, dev, without)
	}
	if err != nil {
		b.log.Warn("translator failed on a get result", zap.String("device", t.Device), zap.String("translator", name), zap.Error(err))
		b.annotate(t, fmt.Sprintf("translator %s failed on the values read: %v", name, err), "")
		return res
	}
	for k, v := range with {
		if old, had := base[k]; wanted(k) && (!had || !reflect.DeepEqual(old, v)) {
			res.Values[k] = v
		}
	}
	return res
}

func (b *Bridge) rememberState(id, translator string, values map[string]any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.devices[id]; d != nil {
		d.stateKeys = len(values)
		if d.rec.Translator != translator {
			d.rec.Translator = b.strs.of(translator)
			b.markDirtyLocked(d)
			b.reg.TouchCounts()
		}
	}
}

// provision queues the translator's BOOT/BOOTSTRAP RPCs as internal tasks, then a read of
// every key the translator exposes that the device has, so B/D/state is fresh after a reboot.
// A device being interviewed gets that read from its interview (interview.go).
func (b *Bridge) provision(ctx context.Context, id string, dev sdk.DeviceInfo, events []string, params map[string]sdk.Value) {
	name, rpcs, err := b.tr.Provision(ctx, dev, events, params)
	if err != nil {
		b.log.Warn("translator provisioning failed", zap.String("device", id), zap.String("translator", name), zap.Error(err))
		rpcs = nil
	}
	b.mu.Lock()
	interviewing := b.devices[id] != nil && b.devices[id].iv != nil
	b.mu.Unlock()
	if !interviewing {
		if names, err := b.stateReadNames(ctx, id); err == nil && len(names) > 0 {
			rpcs = append(rpcs, sdk.RPC{Method: "GetParameterValues", Args: map[string]any{"names": names}})
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.devices[id]
	if d == nil {
		return
	}
	for _, r := range rpcs {
		if _, err := rpcArgs(r); err != nil {
			b.log.Warn("translator asked for an invalid RPC", zap.String("device", id), zap.String("translator", name), zap.String("method", r.Method), zap.Error(err))
			continue
		}
		b.queueInternalLocked(d, r.Method, purposeTranslator, r.Args)
	}
}

// rpcArgs encodes a translator's RPC arguments and checks them with the same parser as a
// platform's request, so a translator cannot queue what a platform could not.
func rpcArgs(r sdk.RPC) (json.RawMessage, error) {
	args, err := json.Marshal(r.Args)
	if err != nil {
		return nil, err
	}
	if _, err := api.BuildRPC(r.Method, args); err != nil {
		return nil, err
	}
	return args, nil
}

// rawValues is the state before translators: parameter name → typed JSON value.
func rawValues(params map[string]sdk.Value) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		out[k] = typedJSON(v.Type, v.Value)
	}
	return out
}

// typedJSON converts a CWMP value to its natural JSON type; unparseable text stays a string.
func typedJSON(typ, raw string) any {
	t := typ
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[i+1:]
	}
	switch t {
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true", "1":
			return true
		case "false", "0":
			return false
		}
	case "int", "long":
		if n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64); err == nil {
			return n
		}
	case "unsignedInt", "unsignedLong":
		if n, err := strconv.ParseUint(strings.TrimSpace(raw), 10, 64); err == nil {
			return n
		}
	}
	return raw
}

// handleSet turns a normalized `set` into the translator's RPCs, queued as one request.
func (b *Bridge) handleSet(ctx context.Context, device string, payload []byte, duplicate bool) error {
	req, err := api.ParseSetRequest(payload)
	if err == nil {
		err = b.checkReplyTo(req.ReplyTo)
	}
	if err != nil {
		b.reject(device, nil, "set", payload, err)
		return nil
	}
	if duplicate && b.recentlyFinished(device, req.ID) {
		return nil
	}
	t := b.newTask(device, req.Request, originSet, "", nil)
	dev, params, ok := b.snapshot(device)
	if !ok {
		b.publishResult(t, statusRejected, nil, nil, errUnknownDevice.Error())
		return nil
	}
	if b.tr == nil {
		b.publishResult(t, statusRejected, nil, nil, "no translator is loaded: use rpc with SetParameterValues")
		return nil
	}
	model := b.requestModel(device)
	name, plan, err := b.tr.DenormalizeSet(ctx, dev, req.Values, params, model)
	if err != nil {
		b.publishResult(t, statusRejected, nil, nil, fmt.Sprintf("translator %s: %v", name, err))
		return nil
	}
	if why := lackingInPlan(model, plan.RPCs); why != "" {
		b.publishResult(t, statusRejected, nil, nil, why)
		return nil
	}
	if len(plan.Rejected) > 0 {
		var reasons []string
		for k, why := range plan.Rejected {
			reasons = append(reasons, k+": "+why)
		}
		b.publishResult(t, statusRejected, nil, nil, strings.Join(sortedStrings(reasons), "; "))
		return nil
	}
	t.Blind = model == nil
	return b.acceptPlan(t, &req.Request, plan.RPCs, keysOf(req.Values))
}

// handleGet turns a normalized `get` into a GetParameterValues of the translator's names.
func (b *Bridge) handleGet(ctx context.Context, device string, payload []byte, duplicate bool) error {
	req, err := api.ParseGetRequest(payload)
	if err == nil {
		err = b.checkReplyTo(req.ReplyTo)
	}
	if err != nil {
		b.reject(device, nil, "get", payload, err)
		return nil
	}
	if duplicate && b.recentlyFinished(device, req.ID) {
		return nil
	}
	t := b.newTask(device, req.Request, originGet, "", nil)
	dev, _, ok := b.snapshot(device)
	if !ok {
		b.publishResult(t, statusRejected, nil, nil, errUnknownDevice.Error())
		return nil
	}
	if b.tr == nil {
		b.publishResult(t, statusRejected, nil, nil, "no translator is loaded: use rpc with GetParameterValues")
		return nil
	}
	model := b.requestModel(device)
	name, plan, err := b.tr.ResolveGet(ctx, dev, req.Keys, model)
	if err != nil {
		b.publishResult(t, statusRejected, nil, nil, fmt.Sprintf("translator %s: %v", name, err))
		return nil
	}
	if len(plan.Unknown) > 0 {
		b.publishResult(t, statusRejected, nil, nil, "unknown keys: "+strings.Join(plan.Unknown, ", "))
		return nil
	}
	if len(plan.Missing) > 0 {
		b.publishResult(t, statusRejected, nil, nil, missingReason(plan.Missing))
		return nil
	}
	var lacking []string
	plan.Names, lacking = keepKnown(model, plan.Names)
	if len(lacking) > 0 && len(req.Keys) > 0 {
		b.publishResult(t, statusRejected, nil, nil, "not in the device's data model: "+strings.Join(lacking, ", "))
		return nil
	}
	if len(plan.Names) == 0 {
		if len(req.Keys) == 0 {
			b.publishResult(t, statusRejected, nil, nil, "nothing to read")
			return nil
		}
		// Every key is absent on this device or needs no read ("model"): answer from the last
		// state, where absent keys simply have no value (sdk.GetPlan.Absent).
		t.Keys = req.Keys
		b.publishResult(t, statusDone, b.result(ctx, t, nil), nil, "")
		return nil
	}
	rpc := sdk.RPC{Method: "GetParameterValues", Args: map[string]any{"names": plan.Names}}
	t.Blind = model == nil
	return b.acceptPlan(t, &req.Request, []sdk.RPC{rpc}, req.Keys)
}

// acceptPlan queues a translator plan. A one-RPC plan is one task; a longer plan (AddObject then
// SetParameterValues) is queued in order, the platform's id on the last, whose result is the
// request's; earlier steps are internal and their faults are logged. Every step is checked
// before any is queued, so an invalid plan leaves nothing behind.
func (b *Bridge) acceptPlan(t *taskRecord, r *api.Request, rpcs []sdk.RPC, keys []string) error {
	if len(rpcs) == 0 {
		b.publishResult(t, statusRejected, nil, nil, "the translator produced nothing to do")
		return nil
	}
	args := make([]json.RawMessage, len(rpcs))
	for i, rpc := range rpcs {
		var err error
		if args[i], err = rpcArgs(rpc); err != nil {
			b.publishResult(t, statusRejected, nil, nil, "translator produced an invalid "+rpc.Method+": "+err.Error())
			return nil
		}
	}
	last := len(rpcs) - 1
	for i, rpc := range rpcs[:last] {
		step := *t
		step.Method, step.Args, step.Keys = rpc.Method, args[i], keys
		step.Origin, step.Purpose, step.ID = originProvision, purposeTranslator, t.ID+"#"+strconv.Itoa(i)
		if err := b.enqueue(&step); err != nil {
			if rejectable(err) {
				b.publishResult(t, statusRejected, nil, nil, err.Error())
				return nil
			}
			return err
		}
	}
	t.Method, t.Args, t.Keys = rpcs[last].Method, args[last], keys
	return b.accept(t, r)
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sortedStrings(out)
}
