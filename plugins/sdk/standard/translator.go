package standard

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Data model roots (TR-069 Annex F / TR-106): a TR-098 gateway answers under
// InternetGatewayDevice., a TR-181 (and TR-106 Device:1) device under Device.
const (
	RootTR098 = "InternetGatewayDevice."
	RootTR181 = "Device."
)

// DefaultPeriodicInformInterval is what Provision sets when Options leave it zero.
const DefaultPeriodicInformInterval = 300 * time.Second

// ErrUnknownRoot is returned when the parameters belong to neither data model.
var ErrUnknownRoot = errors.New("standard: unknown data model root (want Device. or InternetGatewayDevice.)")

// Options configure a Translator.
type Options struct {
	// PeriodicInformInterval is set on BOOTSTRAP/BOOT (whole seconds, at least 1 s);
	// zero means DefaultPeriodicInformInterval, negative disables that provisioning step.
	PeriodicInformInterval time.Duration
	// BoolAsNumber writes booleans as 1/0 for CPEs that refuse true/false (checklist 35).
	BoolAsNumber bool
	// ParameterKey is sent with the SetParameterValues this translator plans.
	ParameterKey string
	// Logger receives the skipped values of Normalize; nil logs nothing.
	Logger *zap.Logger
	// Name, Version and Match override what Describe says (a vendor translator built on this one).
	Name, Version string
	Match         []sdk.Match
	// Extensions add vendor keys and bindings on top of the standard mapping.
	Extensions []Extension
}

// Translator implements sdk.Translator for TR-181 and TR-098.
type Translator struct {
	opts     Options
	log      *zap.Logger
	desc     sdk.Description
	tr098    *model
	tr181    *model
	exposes  []sdk.Expose // every key, "{i}" for instances: what the translator knows in any model
	interval int64        // seconds
}

var _ sdk.Translator = (*Translator)(nil)

// New compiles the mapping tables. It panics when an extension's tables are inconsistent (a key
// bound but not exposed, instance counts that differ): those are programming errors in code that
// ships with the translator, caught by its first test.
func New(opts Options) *Translator {
	t, err := build(opts)
	if err != nil {
		panic(err)
	}
	return t
}

func build(opts Options) (*Translator, error) {
	t := &Translator{opts: opts, log: opts.Logger}
	if t.log == nil {
		t.log = zap.NewNop()
	}
	t.log = t.log.Named("standard")
	switch {
	case opts.PeriodicInformInterval == 0:
		t.interval = int64(DefaultPeriodicInformInterval / time.Second)
	case opts.PeriodicInformInterval > 0:
		t.interval = max(1, int64(opts.PeriodicInformInterval/time.Second))
	}
	catalog := map[string]sdk.Expose{}
	exposes := slices.Clone(standardKeys)
	for _, e := range standardKeys {
		catalog[e.Key] = e
	}
	var ext098, ext181 [][]Binding
	for _, ext := range opts.Extensions {
		for _, e := range ext.Exposes {
			if _, dup := catalog[e.Key]; dup {
				return nil, fmt.Errorf("standard: extension exposes %q twice", e.Key)
			}
			catalog[e.Key] = e
			exposes = append(exposes, e)
		}
		ext098 = append(ext098, ext.TR098)
		ext181 = append(ext181, ext.TR181)
	}
	var err error
	if t.tr098, err = newModel("TR-098", tr098Contexts, scan098, catalog, tr098Bindings, ext098); err != nil {
		return nil, err
	}
	if t.tr181, err = newModel("TR-181", tr181Contexts, scan181, catalog, tr181Bindings, ext181); err != nil {
		return nil, err
	}
	t.exposes = slices.Clone(exposes)
	// The SDK writes instance wildcards as "*" (sdk.Expose); the tables use "{i}".
	for i := range exposes {
		exposes[i].Key = strings.ReplaceAll(exposes[i].Key, placeholder, "*")
	}
	slices.SortFunc(exposes, func(a, b sdk.Expose) int { return strings.Compare(a.Key, b.Key) })
	t.desc = sdk.Description{Name: "standard", Version: "1.0.0", ModelVersion: ModelVersion,
		Match: []sdk.Match{{}}, Exposes: exposes}
	if opts.Name != "" {
		t.desc.Name = opts.Name
	}
	if opts.Version != "" {
		t.desc.Version = opts.Version
	}
	if opts.Match != nil {
		t.desc.Match = opts.Match
	}
	return t, nil
}

// Describe returns the name, the match rules (the standard translator matches every device
// with the lowest specificity: it is the fallback) and the exposed keys.
func (t *Translator) Describe() (sdk.Description, error) {
	d := t.desc
	d.Match = slices.Clone(d.Match)
	d.Exposes = slices.Clone(d.Exposes)
	return d, nil
}

// modelFor detects the data model: DeviceInfo.Root when given, else the parameter names.
// A "Device." root carrying TR-098 objects (TR-106 Device:1 as some Thomson CPEs send) is
// mapped with the TR-098 tables below that root.
func (t *Translator) modelFor(dev sdk.DeviceInfo, params map[string]sdk.Value) (*model, string, error) {
	root := dev.Root
	if root == "" {
		for name := range params {
			if strings.HasPrefix(name, RootTR098) {
				root = RootTR098
				break
			}
			if strings.HasPrefix(name, RootTR181) {
				root = RootTR181
			}
		}
	}
	switch root {
	case RootTR098:
		return t.tr098, root, nil
	case RootTR181:
		for name := range params {
			if strings.HasPrefix(name, "Device.LANDevice.") || strings.HasPrefix(name, "Device.WANDevice.") {
				return t.tr098, root, nil
			}
		}
		return t.tr181, root, nil
	}
	return nil, "", ErrUnknownRoot
}

// known finds the expose of a key (exact, or as a prefix unless exact) in either data model:
// a key known but not bound in the device's model is absent there, not unknown.
func (t *Translator) known(segs []string, exact bool) (sdk.Expose, bool) {
	for _, e := range t.exposes {
		if _, ok := matchKey(e.Key, segs, exact); ok {
			return e, true
		}
	}
	return sdk.Expose{}, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
