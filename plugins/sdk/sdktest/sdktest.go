// Package sdktest is the test harness a translator vendor runs in its own CI:
//
//	func TestTranslator(t *testing.T) {
//		sdktest.Run(t, acme.New(nil), sdktest.Config{Main: "./cmd/acme-translator"},
//			sdktest.Case{Name: "periodic inform", Device: dev, Params: params, Want: sdk.State{"device.uptime": 3600}})
//	}
//
// Run checks that Describe is sane (the gateway's own validation, plus match rules and exposes
// present), that Normalize returns only exposed keys with their declared types (and the Want
// values), that ResolveGet covers every readable key and lists unknown keys, that
// DenormalizeSet covers every writable key, and that Provision answers known RPCs. Then it
// builds the vendor's main package with `go build`, starts it through the gateway's real plugin
// host (go-plugin, gRPC, mTLS) and proves every answer identical to the in-process one.
//
// Keys are probed on the device of each case (once per distinct DeviceInfo), so a translator
// of several data models is checked on each. A key that device rightly lacks passes: ResolveGet
// lists it in GetPlan.Absent, DenormalizeSet rejects it with sdk.RejectAbsent or
// sdk.RejectReadOnlyHere. Such claims are checked against the case's own Normalize: a key
// called absent must not be in the state the same device's parameters give.
//
// Where it sits: beside the SDK, for vendors; it drives the gateway's plugins/sdk/host, so what
// passes here passes in the gateway.
package sdktest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

// Config tells Run how to exercise the translator.
type Config struct {
	// Main is the translator's main package, as given to `go build` from the test's directory
	// ("./cmd/acme-translator" or an import path). Empty skips the plugin half of Run.
	Main string
	// Args are the plugin's command-line arguments (plugins.translators.<name>.args), e.g.
	// ["plugin", "standard"] for the gateway binary serving its built-in translator.
	Args []string
	// Options are the plugin options the gateway would pass (sdk.Options in the process).
	Options map[string]string
	// SetValues are the values DenormalizeSet is probed with, by concrete key. A writable key
	// without one gets a value of its declared type, "*" segments replaced by 1.
	SetValues map[string]any
	// CallTimeout bounds each call (default 10s: CI machines are slow, this is no benchmark).
	CallTimeout time.Duration
}

// Case is one realistic input, e.g. the parameters of a captured Inform.
type Case struct {
	Name   string
	Device sdk.DeviceInfo
	Params map[string]sdk.Value
	// Events are the Inform's events for Provision (default "0 BOOTSTRAP", "1 BOOT").
	Events []string
	// Want lists keys Normalize must return with these values (other keys may appear too).
	Want sdk.State
}

// device is one device keys are probed on, with what its first case's parameters give: the
// yardstick for the translator's claims that the device lacks a key.
type device struct {
	info   sdk.DeviceInfo
	params map[string]sdk.Value
	label  string    // " on <case>" when several devices are probed, else ""
	state  sdk.State // Normalize of the case's parameters
	// constant is what Normalize returns from no parameters: keys that need nothing read.
	constant sdk.State
}

// unknownKey is asked of ResolveGet to check unknown keys are reported, not dropped.
const unknownKey = "sdktest.no_such_key"

// Run runs the checks as subtests of t.
func Run(t *testing.T, impl sdk.Translator, cfg Config, cases ...Case) {
	t.Helper()
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	var desc sdk.Description
	if !t.Run("Describe", func(t *testing.T) { desc = checkDescribe(t, impl) }) {
		return // nothing below means anything with a broken description
	}
	local, err := host.New(host.Config{CallTimeout: cfg.CallTimeout}, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.RegisterInProcess(impl); err != nil {
		t.Fatalf("the gateway refuses the translator: %v", err)
	}
	tr, _ := local.Get(desc.Name)
	probes := buildProbes(desc, cfg, cases, devices(tr, cfg.CallTimeout, cases))
	results := make([]outcome, len(probes))
	t.Run("InProcess", func(t *testing.T) {
		for i, p := range probes {
			results[i] = p.call(tr, cfg.CallTimeout)
			if results[i].err != nil && !p.mayFail {
				t.Errorf("%s: %v", p.name, results[i].err)
				continue
			}
			if p.check != nil {
				problems, notes := p.check(results[i].value)
				for _, problem := range problems {
					t.Errorf("%s: %s", p.name, problem)
				}
				for _, note := range notes {
					t.Logf("%s: %s", p.name, note)
				}
			}
		}
	})

	t.Run("Plugin", func(t *testing.T) {
		if cfg.Main == "" {
			t.Skip("sdktest.Config.Main not set: the translator was not run as a plugin")
		}
		remote := startPlugin(t, cfg)
		if got := remote.Description(); !reflect.DeepEqual(tidy(got), tidy(desc)) {
			t.Errorf("Describe over gRPC differs:\nplugin     %+v\nin-process %+v", got, desc)
		}
		for i, p := range probes {
			got := p.call(remote, cfg.CallTimeout)
			if !got.sameAs(results[i]) {
				t.Errorf("%s differs over the plugin boundary:\nplugin     %v\nin-process %v", p.name, got, results[i])
			}
		}
	})
}

// checkDescribe validates the description as the gateway does, and what makes it useful.
func checkDescribe(t *testing.T, impl sdk.Translator) sdk.Description {
	d, err := impl.Describe()
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if err := host.ValidateDescription(d); err != nil {
		t.Fatalf("the gateway refuses this description: %v", err)
	}
	if len(d.Exposes) == 0 {
		t.Error("no exposes: the translator offers no normalized key")
	}
	if len(d.Match) == 0 && d.Name != host.Fallback {
		t.Errorf("no match rules: the gateway would never select %q", d.Name)
	}
	if d.ModelVersion == "" {
		t.Error("ModelVersion is empty: say which device-model version the state follows")
	}
	return d
}

// tidy makes empty lists nil: the wire does not tell them apart.
func tidy(d sdk.Description) sdk.Description {
	if len(d.Match) == 0 {
		d.Match = nil
	}
	if len(d.Exposes) == 0 {
		d.Exposes = nil
	}
	return d
}

// outcome is what one call gave; errors compare by kind.
type outcome struct {
	value any
	err   error
}

func (o outcome) sameAs(p outcome) bool {
	if (o.err == nil) != (p.err == nil) {
		return false
	}
	if o.err != nil {
		return errorKind(o.err) == errorKind(p.err)
	}
	return reflect.DeepEqual(o.value, p.value)
}

func (o outcome) String() string {
	if o.err != nil {
		return "error " + o.err.Error()
	}
	return fmt.Sprintf("%+v", o.value)
}

func errorKind(err error) error {
	for _, k := range []error{host.ErrTimeout, host.ErrUnavailable, host.ErrBadResponse, host.ErrPlugin, host.ErrTooLarge} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}

// probe is one call made both in-process and over the plugin boundary.
type probe struct {
	name string
	do   func(ctx context.Context, tr host.Translator) (any, error)
	// check returns problems with the in-process answer, and notes worth a log line (keys the
	// device lacks, so a vendor sees what was not exercised).
	check   func(v any) (problems, notes []string)
	mayFail bool
}

func (p probe) call(tr host.Translator, timeout time.Duration) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	v, err := p.do(ctx, tr)
	return outcome{v, err}
}

// devices lists the distinct devices of the cases (one without cases), with what the in-process
// translator, through the gateway's checks, makes of their first case's parameters and of none.
func devices(tr host.Translator, timeout time.Duration, cases []Case) []*device {
	var out []*device
	if len(cases) == 0 {
		out = append(out, &device{})
	}
	for _, c := range cases {
		if slices.ContainsFunc(out, func(d *device) bool { return d.info == c.Device }) {
			continue
		}
		out = append(out, &device{info: c.Device, params: c.Params, label: " on " + c.Name})
	}
	normalize := func(d *device, params map[string]sdk.Value) sdk.State {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		st, _ := tr.Normalize(ctx, sdk.NormalizeRequest{Device: d.info, Params: params}) // a failure is the Normalize probe's to report
		return st
	}
	for _, d := range out {
		if len(out) == 1 {
			d.label = ""
		}
		d.state, d.constant = normalize(d, d.params), normalize(d, nil)
	}
	return out
}

func buildProbes(d sdk.Description, cfg Config, cases []Case, devs []*device) []probe {
	var probes []probe
	for _, c := range cases {
		probes = append(probes, normalizeProbe(c))
	}
	for _, dev := range devs {
		var readable []string
		for _, e := range d.Exposes {
			key := concrete(e.Key)
			if e.Access == sdk.Read || e.Access == sdk.ReadWrite {
				readable = append(readable, key)
				probes = append(probes, resolveProbe(dev, key))
			}
			if e.Access == sdk.Write || e.Access == sdk.ReadWrite {
				probes = append(probes, setProbe(dev, key, sampleValue(cfg, key, e.Type)))
			}
		}
		probes = append(probes, unknownProbe(dev, readable))
	}
	for _, c := range cases {
		events := c.Events
		if events == nil {
			events = []string{"0 BOOTSTRAP", "1 BOOT"}
		}
		req := sdk.ProvisionRequest{Device: c.Device, Events: events, Params: c.Params}
		probes = append(probes, probe{
			name: "Provision " + c.Name,
			do:   func(ctx context.Context, tr host.Translator) (any, error) { return tr.Provision(ctx, req) },
		})
	}
	return probes
}

func normalizeProbe(c Case) probe {
	req := sdk.NormalizeRequest{Device: c.Device, Params: c.Params}
	return probe{
		name: "Normalize " + c.Name,
		do:   func(ctx context.Context, tr host.Translator) (any, error) { return tr.Normalize(ctx, req) },
		check: func(v any) (_, _ []string) {
			st := v.(sdk.State)
			var problems []string
			for _, k := range sortedKeys(c.Want) {
				want, err := wire.Canonical(c.Want[k])
				if err != nil {
					problems = append(problems, fmt.Sprintf("Want[%q]: %v", k, err))
					continue
				}
				got, ok := st[k]
				switch {
				case !ok:
					problems = append(problems, fmt.Sprintf("key %q missing", k))
				case !reflect.DeepEqual(got, want) && !reflect.DeepEqual(got, numberOf(want)):
					problems = append(problems, fmt.Sprintf("key %q = %#v, want %#v", k, got, want))
				}
			}
			return problems, nil
		},
	}
}

// numberOf lets Want say 3 for a number-typed 3.0.
func numberOf(v any) any {
	if n, ok := v.(int64); ok {
		return float64(n)
	}
	return v
}

// resolveProbe: a readable key is read (names), absent on this device (and then not in its
// state), or needs nothing read (Normalize gives it from no parameters, like "model").
func resolveProbe(dev *device, key string) probe {
	req := sdk.GetRequest{Device: dev.info, Keys: []string{key}}
	return probe{
		name: "ResolveGet " + key + dev.label,
		do:   func(ctx context.Context, tr host.Translator) (any, error) { return tr.ResolveGet(ctx, req) },
		check: func(v any) (_, _ []string) {
			plan := v.(sdk.GetPlan)
			_, inState := dev.state[key]
			_, constant := dev.constant[key]
			switch {
			case slices.Contains(plan.Absent, key) && inState:
				return []string{"listed Absent, yet Normalize of the same device's parameters returns it"}, nil
			case slices.Contains(plan.Absent, key):
				return nil, []string{"absent on this device"}
			case len(plan.Unknown) > 0 || len(plan.Names) == 0 && !constant:
				return []string{fmt.Sprintf("readable key not covered: names %v, unknown %v (a key this device lacks goes in Absent)", plan.Names, plan.Unknown)}, nil
			}
			return nil, nil
		},
	}
}

func unknownProbe(dev *device, readable []string) probe {
	req := sdk.GetRequest{Device: dev.info, Keys: append(append([]string(nil), readable...), unknownKey)}
	return probe{
		name: "ResolveGet of an unknown key" + dev.label,
		do:   func(ctx context.Context, tr host.Translator) (any, error) { return tr.ResolveGet(ctx, req) },
		check: func(v any) (_, _ []string) {
			plan := v.(sdk.GetPlan)
			if !reflect.DeepEqual(plan.Unknown, []string{unknownKey}) {
				return []string{fmt.Sprintf("Unknown = %v, want exactly [%s] (unknown keys are listed, never dropped)", plan.Unknown, unknownKey)}, nil
			}
			return nil, nil
		},
	}
}

// setProbe: a writable key gives RPCs, or is rejected as absent on this device (and then not
// in its state) or read-only in its data model. Any other rejection is a finding.
func setProbe(dev *device, key string, value any) probe {
	req := sdk.SetRequest{Device: dev.info, Values: map[string]any{key: value}, Params: dev.params}
	return probe{
		name: "DenormalizeSet " + key + dev.label,
		do:   func(ctx context.Context, tr host.Translator) (any, error) { return tr.DenormalizeSet(ctx, req) },
		check: func(v any) (_, _ []string) {
			plan := v.(sdk.SetPlan)
			reason, rejected := plan.Rejected[key]
			_, inState := dev.state[key]
			switch code := plan.Codes[key]; {
			case !rejected && len(plan.RPCs) == 0:
				return []string{"writable key produces no RPC"}, nil
			case !rejected:
				return nil, nil
			case code == sdk.RejectAbsent && inState:
				return []string{fmt.Sprintf("rejected as absent (%s), yet Normalize of the same device's parameters returns it", reason)}, nil
			case code == sdk.RejectAbsent || code == sdk.RejectReadOnlyHere:
				return nil, []string{fmt.Sprintf("not writable on this device (%s): %s", code, reason)}
			case code == sdk.RejectInvalid || code == "":
				return []string{fmt.Sprintf("writable key rejected with %#v: %s (give a valid sample in Config.SetValues)", value, reason)}, nil
			}
			return []string{fmt.Sprintf("writable key rejected as %s: %s", plan.Codes[key], reason)}, nil
		},
	}
}

// concrete turns an expose key into a key of instance 1.
func concrete(key string) string {
	segs := strings.Split(key, ".")
	for i, s := range segs {
		if s == "*" {
			segs[i] = "1"
		}
	}
	return strings.Join(segs, ".")
}

func sampleValue(cfg Config, key, typ string) any {
	if v, ok := cfg.SetValues[key]; ok {
		return v
	}
	switch typ {
	case sdk.TypeInteger:
		return int64(1)
	case sdk.TypeNumber:
		return 1.5
	case sdk.TypeBoolean:
		return true
	case sdk.TypeDateTime:
		return "2024-01-02T03:04:05Z"
	case sdk.TypeObject:
		return map[string]any{}
	}
	return "sdktest"
}

func sortedKeys(m sdk.State) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// startPlugin builds cfg.Main and runs it through a real plugin host.
func startPlugin(t *testing.T, cfg Config) host.Translator {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "translator")
	out, err := exec.Command(goTool(), "build", "-o", bin, cfg.Main).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", cfg.Main, err, out)
	}
	const name = "under-test"
	h, err := host.New(host.Config{
		Plugins:     map[string]host.PluginConfig{name: {Path: bin, Args: cfg.Args, Options: cfg.Options}},
		CallTimeout: cfg.CallTimeout,
	}, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if in := h.Translators()[0]; in.State != host.StateRunning {
		t.Fatalf("plugin did not start: %s (%s)", in.State, in.LastError)
	}
	tr, _ := h.Get(name)
	return tr
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	if p, err := exec.LookPath(filepath.Join(runtime.GOROOT(), "bin", "go")); err == nil {
		return p
	}
	return "go"
}
