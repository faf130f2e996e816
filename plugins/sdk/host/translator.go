package host

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

// Translator is the handle bridge calls a translator through, in-process or plugin alike. Every
// call is bounded by Config.CallTimeout, its answer is validated against the translator's
// Describe and returned in canonical form (see sdk.Type*), and its error is a *CallError whose
// kind is ErrTimeout, ErrUnavailable, ErrBadResponse, ErrPlugin or ErrTooLarge. A handle stays
// valid across restarts of the plugin process.
type Translator interface {
	Name() string
	// Description is the validated Describe answer, with configured match overrides applied.
	Description() sdk.Description
	Normalize(ctx context.Context, req sdk.NormalizeRequest) (sdk.State, error)
	ResolveGet(ctx context.Context, req sdk.GetRequest) (sdk.GetPlan, error)
	DenormalizeSet(ctx context.Context, req sdk.SetRequest) (sdk.SetPlan, error)
	Provision(ctx context.Context, req sdk.ProvisionRequest) ([]sdk.RPC, error)
}

// Kind says where a translator runs.
type Kind string

const (
	KindInProcess Kind = "in-process"
	KindPlugin    Kind = "plugin"
)

// backend is one way of reaching a translator. Errors are *failure values.
type backend interface {
	describe(ctx context.Context) (sdk.Description, error)
	normalize(ctx context.Context, req sdk.NormalizeRequest) (sdk.State, error)
	resolveGet(ctx context.Context, req sdk.GetRequest) (sdk.GetPlan, error)
	denormalizeSet(ctx context.Context, req sdk.SetRequest) (sdk.SetPlan, error)
	provision(ctx context.Context, req sdk.ProvisionRequest) ([]sdk.RPC, error)
}

// errCallTimeout is the cause of a context cancelled by CallTimeout, telling our time-out (a
// sign of a hung plugin) from the caller's.
var errCallTimeout = errors.New("call timeout")

// entry is the registered translator behind a handle.
type entry struct {
	name        string
	kind        Kind
	callTimeout time.Duration
	b           backend
	log         *zap.Logger
	// onFailure tells the supervisor about time-outs and unreachable processes (plugins only).
	onFailure func(kind error, ourTimeout bool)
	// onSuccess resets the supervisor's time-out count (plugins only).
	onSuccess func()
	override  []sdk.Match // configured match rules, replacing the described ones

	mu    sync.RWMutex
	desc  sdk.Description
	index *exposeIndex
	ready bool // described at least once
}

func (e *entry) Name() string { return e.name }

func (e *entry) Description() sdk.Description {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.desc
}

// setDescription installs a validated description.
func (e *entry) setDescription(d sdk.Description) {
	if e.override != nil {
		d.Match = e.override
	}
	ix := newExposeIndex(d.Exposes)
	e.mu.Lock()
	e.desc, e.index, e.ready = d, ix, true
	e.mu.Unlock()
}

// rules are the match rules Select uses; nil before the first Describe unless configured.
func (e *entry) rules() []sdk.Match {
	if e.override != nil {
		return e.override
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.desc.Match
}

func (e *entry) exposes() *exposeIndex {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.index
}

func (e *entry) Normalize(ctx context.Context, req sdk.NormalizeRequest) (sdk.State, error) {
	return call(ctx, e, "Normalize", req.Device.ID,
		func(c context.Context) (sdk.State, error) { return e.b.normalize(c, req) },
		func(ix *exposeIndex, st sdk.State) (sdk.State, error) { return ix.checkState(st) })
}

func (e *entry) ResolveGet(ctx context.Context, req sdk.GetRequest) (sdk.GetPlan, error) {
	return call(ctx, e, "ResolveGet", req.Device.ID,
		func(c context.Context) (sdk.GetPlan, error) { return e.b.resolveGet(c, req) },
		func(_ *exposeIndex, plan sdk.GetPlan) (sdk.GetPlan, error) { return checkGetPlan(req, plan) })
}

func (e *entry) DenormalizeSet(ctx context.Context, req sdk.SetRequest) (sdk.SetPlan, error) {
	return call(ctx, e, "DenormalizeSet", req.Device.ID,
		func(c context.Context) (sdk.SetPlan, error) { return e.b.denormalizeSet(c, req) },
		func(_ *exposeIndex, plan sdk.SetPlan) (sdk.SetPlan, error) { return checkSetPlan(req, plan) })
}

func (e *entry) Provision(ctx context.Context, req sdk.ProvisionRequest) ([]sdk.RPC, error) {
	return call(ctx, e, "Provision", req.Device.ID,
		func(c context.Context) ([]sdk.RPC, error) { return e.b.provision(c, req) },
		func(_ *exposeIndex, rpcs []sdk.RPC) ([]sdk.RPC, error) { return checkProvision(rpcs) })
}

// call runs one translator call: time-out, error kinds, validation of the answer.
func call[T any](ctx context.Context, e *entry, method, device string,
	do func(context.Context) (T, error), check func(*exposeIndex, T) (T, error)) (T, error) {
	var zero T
	ix := e.exposes()
	if ix == nil {
		return zero, &CallError{Translator: e.name, Method: method, Kind: ErrUnavailable, Detail: "not started yet"}
	}
	// A time-out is ours (a sign of a hung plugin) unless the caller's deadline came first.
	// Decided up front: gRPC may report DeadlineExceeded before the context's timer fires.
	ours := true
	if d, ok := ctx.Deadline(); ok && d.Before(time.Now().Add(e.callTimeout)) {
		ours = false
	}
	cctx, cancel := context.WithTimeoutCause(ctx, e.callTimeout, errCallTimeout)
	defer cancel()
	v, err := do(cctx)
	if err != nil {
		return zero, e.callError(method, err, ours)
	}
	if e.onSuccess != nil {
		e.onSuccess()
	}
	v, err = check(ix, v)
	if err != nil {
		e.log.Warn("translator answer refused", zap.String("device", device), zap.String("translator", e.name),
			zap.String("method", method), zap.Error(err))
		return zero, &CallError{Translator: e.name, Method: method, Kind: ErrBadResponse, Detail: err.Error()}
	}
	return v, nil
}

// callError names a backend failure and tells the supervisor about signs of a sick process.
func (e *entry) callError(method string, err error, ourTimeout bool) error {
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{kind: ErrBadResponse, detail: err.Error()}
	}
	if e.onFailure != nil && (f.kind == ErrTimeout || f.kind == ErrUnavailable) {
		e.onFailure(f.kind, ourTimeout)
	}
	return &CallError{Translator: e.name, Method: method, Kind: f.kind, Detail: f.detail}
}

// ctxFailure is the failure of a call whose context ended.
func ctxFailure(ctx context.Context) *failure {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if errors.Is(context.Cause(ctx), errCallTimeout) {
			return fail(ErrTimeout, "no answer within the call timeout")
		}
		return fail(ErrTimeout, "caller deadline exceeded")
	}
	return &failure{kind: context.Canceled, detail: "call cancelled"}
}

// inProcess runs a translator linked into the gateway (the built-in standard) without RPC
// cost, with the same time-out, panic containment and canonical answers as a plugin.
type inProcess struct{ impl sdk.Translator }

// runLocal calls f on its own goroutine so a hung built-in costs one goroutine, not the
// device's session; a panic becomes ErrPlugin with the text the SDK gives a plugin's panic.
func runLocal[T any](ctx context.Context, method string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.err = fail(ErrPlugin, "panic in %s: %v", method, p)
			}
			done <- r
		}()
		r.v, r.err = f()
		if r.err != nil {
			r.err = &failure{kind: ErrPlugin, detail: r.err.Error()}
		}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctxFailure(ctx)
	}
}

func (b inProcess) describe(ctx context.Context) (sdk.Description, error) {
	return runLocal(ctx, "Describe", b.impl.Describe)
}

func (b inProcess) normalize(ctx context.Context, req sdk.NormalizeRequest) (sdk.State, error) {
	return runLocal(ctx, "Normalize", func() (sdk.State, error) { return b.impl.Normalize(req) })
}

func (b inProcess) resolveGet(ctx context.Context, req sdk.GetRequest) (sdk.GetPlan, error) {
	return runLocal(ctx, "ResolveGet", func() (sdk.GetPlan, error) { return b.impl.ResolveGet(req) })
}

func (b inProcess) denormalizeSet(ctx context.Context, req sdk.SetRequest) (sdk.SetPlan, error) {
	plan, err := runLocal(ctx, "DenormalizeSet", func() (sdk.SetPlan, error) { return b.impl.DenormalizeSet(req) })
	if err != nil {
		return plan, err
	}
	plan.RPCs, err = canonicalRPCs(plan.RPCs)
	return plan, err
}

func (b inProcess) provision(ctx context.Context, req sdk.ProvisionRequest) ([]sdk.RPC, error) {
	rpcs, err := runLocal(ctx, "Provision", func() ([]sdk.RPC, error) { return b.impl.Provision(req) })
	if err != nil {
		return nil, err
	}
	return canonicalRPCs(rpcs)
}

// canonicalRPCs gives in-process RPC arguments the JSON form they have after the wire.
func canonicalRPCs(rpcs []sdk.RPC) ([]sdk.RPC, error) {
	out := make([]sdk.RPC, len(rpcs))
	for i, r := range rpcs {
		args, err := wire.CanonicalArgs(r.Args)
		if err != nil {
			return nil, fail(ErrBadResponse, "unencodable answer: rpc %d (%s): %v", i, r.Method, err)
		}
		out[i] = sdk.RPC{Method: r.Method, Args: args}
	}
	return out, nil
}
