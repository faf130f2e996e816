package host

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/translatorv1"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

// State of a translator.
type State string

const (
	StateStarting   State = "starting"
	StateRunning    State = "running"
	StateRestarting State = "restarting"
	StateFailed     State = "failed" // given up; stays down until the gateway restarts
	StateStopped    State = "stopped"
)

// errInvalidDescription marks a plugin whose Describe fails validation: restarting the same
// binary cannot fix it, so the host gives up at once.
var errInvalidDescription = errors.New("invalid description")

// errConfiguration marks a plugin that exited with status 2 before serving: it refused its
// options, and restarting the same binary with the same options cannot fix that.
var errConfiguration = errors.New("configuration refused")

// healthService is the service go-plugin registers in the gRPC health server of every plugin.
const healthService = "plugin"

// instance is one running plugin process.
type instance struct {
	client  *plugin.Client
	run     *procRunner
	api     pb.TranslatorClient
	health  healthpb.HealthClient
	started time.Time
}

// proc supervises the processes of one plugin: start, Describe, health, restart, give up.
type proc struct {
	h     *Host
	e     *entry
	name  string
	path  string
	cfg   PluginConfig
	log   *zap.Logger
	kick  chan struct{} // a call saw a time-out or an unreachable process
	first chan struct{} // closed after the first start attempt, whatever its outcome
	once  sync.Once

	timeouts atomic.Int32 // consecutive call time-outs of ours

	mu        sync.Mutex
	state     State
	cur       *instance
	restarts  int
	failures  []time.Time
	lastError string
}

func newProc(h *Host, name, path string, cfg PluginConfig) *proc {
	p := &proc{
		h: h, name: name, path: path, cfg: cfg,
		log:   h.log.With(zap.String("plugin", name)),
		kick:  make(chan struct{}, 1),
		first: make(chan struct{}),
		state: StateStarting,
	}
	p.e = &entry{
		name: name, kind: KindPlugin, callTimeout: h.cfg.CallTimeout, b: pluginBackend{p}, log: p.log,
		override:  cfg.Match,
		onFailure: p.callFailed,
		onSuccess: func() { p.timeouts.Store(0) },
	}
	return p
}

func (p *proc) current() *instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

func (p *proc) stateNow() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *proc) setState(s State, cur *instance) {
	p.mu.Lock()
	p.state, p.cur = s, cur
	p.mu.Unlock()
}

// callFailed is the handle's report of a time-out or unreachable process.
func (p *proc) callFailed(kind error, ourTimeout bool) {
	if kind == ErrTimeout && ourTimeout {
		p.timeouts.Add(1)
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// supervise runs until ctx ends (Host.Stop) or the plugin is given up on.
func (p *proc) supervise(ctx context.Context) {
	failures := 0 // consecutive, for back-off and events
	for {
		inst, err := p.launch()
		if ctx.Err() != nil {
			if inst != nil {
				inst.client.Kill()
			}
			p.setState(StateStopped, nil)
			return
		}
		if err == nil {
			p.timeouts.Store(0)
			p.setState(StateRunning, inst)
			if failures > 0 {
				p.mu.Lock()
				p.restarts++
				p.mu.Unlock()
				p.log.Info("plugin restarted", zap.Int("pid", inst.run.pid), zap.Int("attempt", failures))
				p.h.emit(Event{Kind: EventRestarted, Plugin: p.name, Attempt: failures})
			} else {
				p.log.Info("plugin started", zap.Int("pid", inst.run.pid), zap.String("path", p.path))
			}
			p.once.Do(func() { close(p.first) })
			err = p.watch(ctx, inst)
			if ctx.Err() != nil {
				p.setState(StateStopped, nil)
				inst.client.Kill() // graceful: go-plugin asks the plugin to exit, then SIGKILLs
				return
			}
			p.setState(StateRestarting, nil)
			_ = inst.run.Kill(context.Background()) // hung or dead: no grace
			inst.client.Kill()
			if time.Since(inst.started) >= p.h.cfg.RestartMax {
				failures = 0
			}
		}
		failures++
		reason := err.Error()
		p.log.Error("plugin failed", zap.String("reason", reason), zap.Int("attempt", failures))
		p.h.emit(Event{Kind: EventFailed, Plugin: p.name, Reason: reason, Attempt: failures})
		if p.crashLoop(err) {
			p.setState(StateFailed, nil)
			p.once.Do(func() { close(p.first) })
			p.log.Error("plugin given up", zap.String("reason", reason), zap.Int("attempt", failures))
			p.h.emit(Event{Kind: EventGaveUp, Plugin: p.name, Reason: reason, Attempt: failures})
			return
		}
		p.setState(StateRestarting, nil)
		p.once.Do(func() { close(p.first) })
		t := time.NewTimer(p.backoff(failures))
		select {
		case <-ctx.Done():
			t.Stop()
			p.setState(StateStopped, nil)
			return
		case <-t.C:
		}
	}
}

// crashLoop records a failure and says whether the cap is reached.
func (p *proc) crashLoop(err error) bool {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastError = err.Error()
	if errors.Is(err, errInvalidDescription) || errors.Is(err, errConfiguration) {
		return true
	}
	kept := p.failures[:0]
	for _, t := range p.failures {
		if now.Sub(t) < p.h.cfg.CrashLoopWindow {
			kept = append(kept, t)
		}
	}
	p.failures = append(kept, now)
	return len(p.failures) >= p.h.cfg.CrashLoopMax
}

// backoff doubles from RestartMin per consecutive failure, up to RestartMax.
func (p *proc) backoff(failures int) time.Duration {
	d := p.h.cfg.RestartMin
	for i := 1; i < failures && d < p.h.cfg.RestartMax; i++ {
		d *= 2
	}
	return min(d, p.h.cfg.RestartMax)
}

// watch returns why inst must be replaced, or nil when ctx ends.
func (p *proc) watch(ctx context.Context, inst *instance) error {
	tick := time.NewTicker(p.h.cfg.PingInterval)
	defer tick.Stop()
	pingFailures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-inst.run.exited:
			return errors.New(inst.run.exitReason())
		case <-p.kick:
		case <-tick.C:
		}
		if n := int(p.timeouts.Load()); n >= p.h.cfg.HangAfter {
			return fmt.Errorf("hung: %d consecutive call timeouts", n)
		}
		pctx, cancel := context.WithTimeout(ctx, p.h.cfg.CallTimeout)
		_, err := inst.health.Check(pctx, &healthpb.HealthCheckRequest{Service: healthService})
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			pingFailures = 0
			continue
		}
		select {
		case <-inst.run.exited:
			return errors.New(inst.run.exitReason())
		default:
		}
		pingFailures++
		p.log.Warn("plugin ping failed", zap.Error(err), zap.Int("count", pingFailures))
		if pingFailures >= p.h.cfg.HangAfter {
			return fmt.Errorf("hung: %d consecutive failed pings: %v", pingFailures, err)
		}
	}
}

// launch starts a process, checks its Describe and installs it in the handle.
func (p *proc) launch() (*instance, error) {
	cfg := p.h.cfg
	var run *procRunner
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.PluginSets(&wire.Plugin{}),
		RunnerFunc: func(_ hclog.Logger, tmpl *exec.Cmd, _ string) (runner.Runner, error) {
			env := pluginEnv(cfg.Env, p.name, p.cfg.Options, cfg.MaxMsgSize, levelName(p.log))
			r, err := newProcRunner(p.name, p.path, p.cfg.Args, env, tmpl.Env)
			run = r
			return r, err
		},
		AllowedProtocols:    []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:            true,
		SkipHostEnv:         true,
		StartTimeout:        cfg.StartTimeout,
		Logger:              newHCLog(p.log, p.name),
		PluginLogBufferSize: logLineMax,
		SyncStdout:          &outputWriter{z: p.log, stream: "stdout"},
		SyncStderr:          &outputWriter{z: p.log, stream: "stderr"},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(cfg.MaxMsgSize), grpc.MaxCallSendMsgSize(cfg.MaxMsgSize))},
	})
	rpc, err := client.Client() // runs RunnerFunc, starts the process, handshakes
	if err == nil {
		var inst *instance
		if inst, err = p.connect(client, rpc, run); err == nil {
			return inst, nil
		}
	} else {
		err = fmt.Errorf("start: %w", err)
		if run != nil {
			err = run.startFailure(err)
		}
	}
	client.Kill()
	return nil, err
}

// connect dispenses the translator, Describes it and installs the description in the handle.
func (p *proc) connect(client *plugin.Client, rpc plugin.ClientProtocol, run *procRunner) (*instance, error) {
	raw, err := rpc.Dispense(wire.PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense: %w", err)
	}
	conn, ok := raw.(*grpc.ClientConn)
	if !ok {
		return nil, fmt.Errorf("dispense: unexpected %T", raw)
	}
	inst := &instance{
		client: client, run: run, started: time.Now(),
		api: pb.NewTranslatorClient(conn), health: healthpb.NewHealthClient(conn),
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), p.h.cfg.CallTimeout, errCallTimeout)
	defer cancel()
	d, err := describeRPC(ctx, inst.api)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	if err := ValidateDescription(d); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalidDescription, err)
	}
	if d.Name != p.name {
		p.log.Debug("plugin describes itself under another name", zap.String("described", d.Name))
	}
	p.e.setDescription(d)
	return inst, nil
}
