package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Fallback is the translator Select returns when no rule matches.
const Fallback = "standard"

// Host owns the translators of the gateway.
type Host struct {
	cfg    Config
	log    *zap.Logger
	events func(Event)

	mu      sync.RWMutex
	byName  map[string]*entry
	local   []*entry // in-process, in registration order
	procs   []*proc  // plugins, by name
	ordered []*entry // Select's tie order: plugins by name, then in-process
	started bool
	stopped bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New validates cfg (errors name the config key) and returns a Host; nothing starts before
// Start. events may be nil.
func New(cfg Config, log *zap.Logger, events func(Event)) (*Host, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	if events == nil {
		events = func(Event) {}
	}
	return &Host{cfg: cfg, log: log.Named("plugins"), events: events, byName: map[string]*entry{}}, nil
}

func (h *Host) emit(ev Event) {
	ev.Time = time.Now()
	h.events(ev)
}

// RegisterInProcess registers a translator linked into the gateway (the built-in standard)
// under its described name. It is called without RPC, yet behind the same handle, time-out and
// validation as a plugin.
func (h *Host) RegisterInProcess(impl sdk.Translator) error {
	if impl == nil {
		return errors.New("plugins: RegisterInProcess: nil translator")
	}
	e := &entry{kind: KindInProcess, callTimeout: h.cfg.CallTimeout, b: inProcess{impl}, log: h.log}
	ctx, cancel := context.WithTimeoutCause(context.Background(), h.cfg.CallTimeout, errCallTimeout)
	defer cancel()
	d, err := e.b.describe(ctx)
	if err != nil {
		return fmt.Errorf("plugins: in-process translator: Describe: %w", err)
	}
	if err := ValidateDescription(d); err != nil {
		return fmt.Errorf("plugins: in-process translator %q: %w", d.Name, err)
	}
	e.name = d.Name
	e.log = h.log.With(zap.String("translator", d.Name))
	e.setDescription(d)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.byName[e.name]; dup {
		return fmt.Errorf("plugins: translator %q is already registered", e.name)
	}
	h.byName[e.name] = e
	h.local = append(h.local, e)
	h.reorder()
	return nil
}

// reorder rebuilds Select's order; h.mu held.
func (h *Host) reorder() {
	h.ordered = h.ordered[:0]
	for _, p := range h.procs {
		h.ordered = append(h.ordered, p.e)
	}
	h.ordered = append(h.ordered, h.local...)
}

// Start discovers the plugins (Dir and Plugins), starts them all, and returns once each has
// either answered Describe or failed its first attempt (or ctx ends). Plugins that fail keep
// being restarted in the background; Start fails only on configuration errors.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.started {
		h.mu.Unlock()
		return errors.New("plugins: host already started")
	}
	h.started = true
	procs, err := h.discover()
	if err != nil {
		h.mu.Unlock()
		return err
	}
	for _, p := range procs {
		h.byName[p.name] = p.e
	}
	h.procs = procs
	h.reorder()
	run, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Add(len(procs))
	for _, p := range procs {
		go func() {
			defer h.wg.Done()
			p.supervise(run)
		}()
	}
	h.mu.Unlock()

	for _, p := range procs {
		select {
		case <-p.first:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// discover lists the plugins to run, sorted by name; h.mu held.
func (h *Host) discover() ([]*proc, error) {
	paths := map[string]string{}
	if h.cfg.Dir != "" {
		list, err := os.ReadDir(h.cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("plugins.dir: %w", err)
		}
		for _, de := range list {
			path := filepath.Join(h.cfg.Dir, de.Name())
			fi, err := os.Stat(path) // follows symlinks
			if strings.HasPrefix(de.Name(), ".") || err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
				continue
			}
			if !pluginNameRE.MatchString(de.Name()) {
				h.log.Warn("plugin file name not usable as a name; skipped", zap.String("path", path))
				continue
			}
			paths[de.Name()] = path
		}
	}
	for name, pc := range h.cfg.Plugins {
		switch {
		case pc.Path != "":
			paths[name] = pc.Path
		case paths[name] == "":
			return nil, fmt.Errorf("plugins.translators.%s: no path, and no executable %s in plugins.dir", name, name)
		}
	}
	var procs []*proc
	for name, path := range paths {
		if _, dup := h.byName[name]; dup {
			return nil, fmt.Errorf("plugins.translators.%s: name taken by an in-process translator", name)
		}
		procs = append(procs, newProc(h, name, path, h.cfg.Plugins[name]))
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].name < procs[j].name })
	return procs, nil
}

// Stop ends every plugin process (gracefully, SIGKILL after go-plugin's 2 s grace) and waits
// for them. In-process translators stay registered. Stop is idempotent.
func (h *Host) Stop() {
	h.mu.Lock()
	if h.stopped || h.cancel == nil {
		h.stopped = true
		h.mu.Unlock()
		return
	}
	h.stopped = true
	h.cancel()
	h.mu.Unlock()
	h.wg.Wait()
}

// Select picks a device's translator: among the rules of every registered translator that
// match dev, the most specific (most non-empty fields) wins; ties go to plugins in name order,
// then in-process translators in registration order. With no match it returns Fallback, and a
// nil Translator when Fallback is not registered either.
func (h *Host) Select(dev sdk.DeviceInfo) (string, Translator) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var best *entry
	bestScore := -1
	for _, e := range h.ordered {
		for _, r := range e.rules() {
			if score, ok := matchScore(r, dev); ok && score > bestScore {
				best, bestScore = e, score
			}
		}
	}
	if best == nil {
		best = h.byName[Fallback]
	}
	if best == nil {
		return "", nil
	}
	return best.name, best
}

// matchScore says whether rule matches dev and how specific it is (sdk.Match).
func matchScore(r sdk.Match, dev sdk.DeviceInfo) (int, bool) {
	score := 0
	for _, f := range [...]struct {
		rule, dev string
		prefix    bool
	}{
		{r.Manufacturer, dev.Manufacturer, false},
		{r.OUI, dev.OUI, false},
		{r.ProductClass, dev.ProductClass, false},
		{r.SoftwareVersion, dev.SoftwareVersion, true},
		{r.HardwareVersion, dev.HardwareVersion, true},
	} {
		if f.rule == "" {
			continue
		}
		d := f.dev
		if f.prefix && len(d) >= len(f.rule) {
			d = d[:len(f.rule)]
		}
		if !strings.EqualFold(d, f.rule) {
			return 0, false
		}
		score++
	}
	return score, true
}

// Get returns the translator registered under name.
func (h *Host) Get(name string) (Translator, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	e, ok := h.byName[name]
	if !ok {
		return nil, false
	}
	return e, true
}

// Info describes one registered translator (for B/bridge/info and the list-translators
// operation).
type Info struct {
	Name         string `json:"name"`
	Kind         Kind   `json:"kind"`
	State        State  `json:"state"`
	Version      string `json:"version,omitempty"`
	ModelVersion string `json:"model_version,omitempty"`
	Path         string `json:"path,omitempty"`
	PID          int    `json:"pid,omitempty"`
	Restarts     int    `json:"restarts"`
	Exposes      int    `json:"exposes"`
	LastError    string `json:"last_error,omitempty"`
}

// Translators lists the registered translators in Select's order.
func (h *Host) Translators() []Info {
	h.mu.RLock()
	defer h.mu.RUnlock()
	procOf := make(map[*entry]*proc, len(h.procs))
	for _, p := range h.procs {
		procOf[p.e] = p
	}
	out := make([]Info, 0, len(h.ordered))
	for _, e := range h.ordered {
		d := e.Description()
		in := Info{Name: e.name, Kind: e.kind, State: StateRunning, Version: d.Version,
			ModelVersion: d.ModelVersion, Exposes: len(d.Exposes)}
		if p := procOf[e]; p != nil {
			p.mu.Lock()
			in.State, in.Path, in.Restarts, in.LastError = p.state, p.path, p.restarts, p.lastError
			if p.cur != nil {
				in.PID = p.cur.run.pid
			}
			p.mu.Unlock()
		}
		out = append(out, in)
	}
	return out
}
