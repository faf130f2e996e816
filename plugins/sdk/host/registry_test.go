package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator"
)

func TestSelectMostSpecificRuleWins(t *testing.T) {
	h, err := New(Config{}, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	base := testtranslator.New(nil)
	for _, r := range []renamed{
		{base, "standard", nil},
		{base, "acme", []sdk.Match{{Manufacturer: "Acme"}}},
		{base, "acme-box", []sdk.Match{{Manufacturer: "ACME", ProductClass: "testbox"}}},
		{base, "acme-box-v2", []sdk.Match{{OUI: "00d09e", ProductClass: "TestBox", SoftwareVersion: "2."}}},
		{base, "tie", []sdk.Match{{Manufacturer: "Acme", ProductClass: "Other"}, {OUI: "00D09E", ProductClass: "TestBox"}}},
	} {
		if err := h.RegisterInProcess(r); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		dev  sdk.DeviceInfo
		want string
	}{
		{sdk.DeviceInfo{Manufacturer: "Acme", ProductClass: "Router"}, "acme"},
		{sdk.DeviceInfo{Manufacturer: "acme", ProductClass: "TestBox"}, "acme-box"},                                             // case-insensitive
		{sdk.DeviceInfo{Manufacturer: "Acme", OUI: "00D09E", ProductClass: "TestBox", SoftwareVersion: "2.4.1"}, "acme-box-v2"}, // prefix, 3 fields
		{sdk.DeviceInfo{Manufacturer: "Acme", OUI: "00D09E", ProductClass: "TestBox", SoftwareVersion: "1.9"}, "acme-box"},      // tie at 2 → registered first
		{sdk.DeviceInfo{OUI: "00D09E", ProductClass: "TestBox", SoftwareVersion: "2"}, "tie"},                                   // "2" is shorter than the "2." prefix
		{sdk.DeviceInfo{Manufacturer: "Other"}, "standard"},
	}
	for _, c := range cases {
		if name, tr := h.Select(c.dev); name != c.want || tr == nil || tr.Name() != name {
			t.Errorf("Select(%+v) = %q, want %q", c.dev, name, c.want)
		}
	}
}

func TestSelectWithoutFallbackReturnsNil(t *testing.T) {
	h, _ := New(Config{}, nil, nil)
	if name, tr := h.Select(acmeBox); name != "" || tr != nil {
		t.Fatalf("Select with nothing registered = %q, %v", name, tr)
	}
}

func TestSelectPrefersPluginsOnTiesAndHonoursMatchOverride(t *testing.T) {
	cfg := fastConfig(map[string]PluginConfig{
		"acme":  mode(testtranslator.Normal),
		"other": {Path: testPlugin, Match: []sdk.Match{{Manufacturer: "Globex"}}},
	})
	h, _ := startHost(t, cfg, nil)
	if err := h.RegisterInProcess(renamed{testtranslator.New(nil), "builtin", []sdk.Match{{Manufacturer: "Acme", ProductClass: "TestBox"}}}); err != nil {
		t.Fatal(err)
	}
	if name, _ := h.Select(acmeBox); name != "acme" {
		t.Errorf("tie between plugin and in-process went to %q, want the plugin", name)
	}
	if name, _ := h.Select(sdk.DeviceInfo{Manufacturer: "Globex"}); name != "other" {
		t.Errorf("configured match override: got %q", name)
	}
	if got := mustGet(t, h, "other").Description().Match; len(got) != 1 || got[0].Manufacturer != "Globex" {
		t.Errorf("Description().Match = %+v, want the override", got)
	}
}

func TestRegisterInProcessRefusesDuplicatesAndBadDescriptions(t *testing.T) {
	h, _ := New(Config{}, nil, nil)
	if err := h.RegisterInProcess(testtranslator.New(nil)); err != nil {
		t.Fatal(err)
	}
	if err := h.RegisterInProcess(testtranslator.New(nil)); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("duplicate name: %v", err)
	}
	bad := testtranslator.New(map[string]string{"bad_describe": "1"})
	if err := h.RegisterInProcess(renamed{bad, "bad", nil}); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Errorf("bad description: %v", err)
	}
	if err := h.RegisterInProcess(nil); err == nil {
		t.Error("nil translator accepted")
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{CallTimeout: -1}, "plugins.call_timeout"},
		{Config{RestartMin: time.Minute, RestartMax: time.Second}, "plugins.restart_max"},
		{Config{Env: []string{"BAD NAME"}}, "plugins.env"},
		{Config{Plugins: map[string]PluginConfig{"acme": {}}}, "plugins.translators.acme.path"},
		{Config{Plugins: map[string]PluginConfig{"a/b": {Path: "/x"}}}, "plugins.translators.a/b"},
		{Config{Plugins: map[string]PluginConfig{"acme": {Path: "/x", Options: map[string]string{"a-b": "1"}}}}, "plugins.translators.acme.options.a-b"},
		{Config{Plugins: map[string]PluginConfig{"acme": {Path: "/x", Match: []sdk.Match{{OUI: "xyz"}}}}}, "plugins.translators.acme.match[0]"},
		{Config{MaxMsgSize: -5}, "plugins.max_msg_size"},
	}
	for _, c := range cases {
		_, err := New(c.cfg, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	h, err := New(Config{Dir: filepath.Join(t.TempDir(), "missing")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "plugins.dir") {
		t.Errorf("missing plugins.dir: %v", err)
	}
}

func TestDirPluginsAreDiscovered(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"acme", "globex", ".hidden"} {
		if err := os.Symlink(testPlugin, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not a plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(map[string]PluginConfig{"globex": {Options: map[string]string{"mode": "garbage"}}})
	cfg.Dir = dir
	h, _ := startHost(t, cfg, nil)
	var names []string
	for _, in := range h.Translators() {
		names = append(names, in.Name)
		if in.State != StateRunning || in.Path != filepath.Join(dir, in.Name) {
			t.Errorf("%+v", in)
		}
	}
	if strings.Join(names, ",") != "acme,globex" {
		t.Fatalf("discovered %v, want acme,globex", names)
	}
	// The Plugins entry without a path configures the file of the same name.
	if _, err := mustGet(t, h, "globex").Normalize(context.Background(), normalizeReq(nil)); !errors.Is(err, ErrBadResponse) {
		t.Errorf("globex should run in garbage mode: %v", err)
	}
	if _, err := mustGet(t, h, "acme").Normalize(context.Background(), normalizeReq(nil)); err != nil {
		t.Errorf("acme: %v", err)
	}
}

// hung is an in-process translator that never answers Normalize.
type hung struct{ sdk.Translator }

func (hung) Normalize(sdk.NormalizeRequest) (sdk.State, error) { select {} }

func TestInProcessCallsTimeOut(t *testing.T) {
	h, _ := New(Config{CallTimeout: 50 * time.Millisecond}, nil, nil)
	if err := h.RegisterInProcess(hung{testtranslator.New(nil)}); err != nil {
		t.Fatal(err)
	}
	_, err := mustGet(t, h, "testtranslator").Normalize(context.Background(), normalizeReq(nil))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("hung in-process call: %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustGet(t, h, "testtranslator").Normalize(ctx, normalizeReq(nil)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v, want context.Canceled", err)
	}
}

// loose answers with Go values that only become canonical in the host.
type loose struct{ sdk.Translator }

func (loose) Normalize(sdk.NormalizeRequest) (sdk.State, error) {
	return sdk.State{
		"device.uptime":     uint32(7),
		"device.cpu_usage":  3, // an int for a number
		"time.current":      time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		"wifi.ssids.2.ssid": "caf\xe9", // Latin-1 from an old CPE
	}, nil
}

func TestInProcessAnswersAreCanonical(t *testing.T) {
	h, _ := New(Config{}, nil, nil)
	if err := h.RegisterInProcess(loose{testtranslator.New(nil)}); err != nil {
		t.Fatal(err)
	}
	st, err := mustGet(t, h, "testtranslator").Normalize(context.Background(), normalizeReq(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.State{"device.uptime": int64(7), "device.cpu_usage": float64(3), "time.current": "2024-05-01T10:00:00Z", "wifi.ssids.2.ssid": "caf\uFFFD"}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s = %#v, want %#v", k, st[k], v)
		}
	}
}

func TestExposeLookupMatchesInstancesOnly(t *testing.T) {
	d, _ := testtranslator.New(nil).Describe()
	ix := newExposeIndex(d.Exposes)
	for key, want := range map[string]bool{
		"wifi.ssids.12.ssid":  true,
		"device.uptime":       true,
		"wifi.ssids.x.ssid":   false,
		".wifi.ssids.1.ssid":  false,
		"wifi.ssids.1.ssid.":  false,
		"wifi.ssids..ssid":    false,
		"wifi.ssids.1.1.ssid": false,
		"":                    false,
	} {
		if _, ok := ix.lookup(key); ok != want {
			t.Errorf("lookup(%q) = %v, want %v", key, ok, want)
		}
	}
}

func TestHostRoutesCallsToTheSelectedTranslator(t *testing.T) {
	h, _ := New(Config{}, nil, nil)
	ctx := context.Background()
	if _, _, err := h.Normalize(ctx, acmeBox, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no translator at all: %v, want ErrUnavailable", err)
	}
	if err := h.RegisterInProcess(renamed{testtranslator.New(nil), "acme", []sdk.Match{{Manufacturer: "Acme"}}}); err != nil {
		t.Fatal(err)
	}
	name, st, err := h.Normalize(ctx, acmeBox, testtranslator.Params100())
	if err != nil || name != "acme" || st["wifi.ssids.3.ssid"] != "acme-3" {
		t.Errorf("Normalize = %q, %d keys, %v", name, len(st), err)
	}
	name, plan, err := h.ResolveGet(ctx, acmeBox, []string{"device.uptime"}, nil)
	if err != nil || name != "acme" || len(plan.Names) != 1 {
		t.Errorf("ResolveGet = %q, %+v, %v", name, plan, err)
	}
	name, set, err := h.DenormalizeSet(ctx, acmeBox, map[string]any{"wifi.ssids.1.enabled": false}, nil, nil)
	if err != nil || name != "acme" || len(set.RPCs) != 1 {
		t.Errorf("DenormalizeSet = %q, %+v, %v", name, set, err)
	}
	name, rpcs, err := h.Provision(ctx, acmeBox, []string{"0 BOOTSTRAP"}, nil)
	if err != nil || name != "acme" || len(rpcs) != 1 {
		t.Errorf("Provision = %q, %+v, %v", name, rpcs, err)
	}
	if name, _, err := h.Normalize(ctx, sdk.DeviceInfo{Manufacturer: "Globex"}, nil); !errors.Is(err, ErrUnavailable) || name != "" {
		t.Errorf("unmatched device without fallback: %q, %v", name, err)
	}
}
