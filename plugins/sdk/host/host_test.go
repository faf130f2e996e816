package host

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator"
)

func TestHandshakeAndDescribe(t *testing.T) {
	h, ev := startHost(t, fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Normal)}), nil)
	in := info(t, h, "acme")
	if in.State != StateRunning || in.Kind != KindPlugin || in.PID == 0 || !pidAlive(in.PID) {
		t.Fatalf("plugin not running after Start: %+v", in)
	}
	want, _ := testtranslator.New(nil).Describe()
	got := mustGet(t, h, "acme").Description()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe over gRPC:\n got %+v\nwant %+v", got, want)
	}
	if in.Version != "1.0.0" || in.Exposes != len(want.Exposes) {
		t.Errorf("Translators() = %+v", in)
	}
	if len(ev.all()) != 0 {
		t.Errorf("unexpected events on a clean start: %+v", ev.all())
	}
}

func TestNormalizeOverGRPCEqualsInProcess(t *testing.T) {
	h, _ := startHost(t, fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Normal)}), nil)
	if err := h.RegisterInProcess(renamed{testtranslator.New(nil), "local", nil}); err != nil {
		t.Fatal(err)
	}
	remote, local := mustGet(t, h, "acme"), mustGet(t, h, "local")
	ctx := context.Background()
	params := testtranslator.Params100()
	params["Device.DeviceInfo.UpTime"] = sdk.Value{Value: "86400", Type: "unsignedInt"}
	params["Device.DeviceInfo.ProcessStatus.CPUUsage"] = sdk.Value{Value: "12", Type: "unsignedInt"}
	params["Device.Time.CurrentLocalTime"] = sdk.Value{Value: "2024-05-01T10:00:00+02:00", Type: "dateTime"}
	params["Device.ManagementServer.PeriodicInformEnable"] = sdk.Value{Value: "1", Type: "boolean"}

	rs, err := remote.Normalize(ctx, normalizeReq(params))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := local.Normalize(ctx, normalizeReq(params))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rs, ls) {
		t.Fatalf("Normalize differs:\nplugin     %v\nin-process %v", rs, ls)
	}
	// 25 SSIDs × 3 mapped parameters + 4 device parameters; Status is not exposed.
	if len(rs) != 79 || rs["wifi.ssids.7.ssid"] != "acme-7" || rs["device.uptime"] != int64(86400) ||
		rs["device.cpu_usage"] != float64(12) || rs["management.periodic_inform_enable"] != true {
		t.Fatalf("unexpected state (%d keys): %v", len(rs), rs)
	}

	getReq := sdk.GetRequest{Device: acmeBox, Keys: []string{"wifi.ssids.3.ssid", "device.uptime", "no.such"}}
	rg, err1 := remote.ResolveGet(ctx, getReq)
	lg, err2 := local.ResolveGet(ctx, getReq)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(rg, lg) {
		t.Fatalf("ResolveGet differs: %v %v\n%+v\n%+v", err1, err2, rg, lg)
	}
	if want := []string{"Device.WiFi.SSID.3.SSID", "Device.DeviceInfo.UpTime"}; !reflect.DeepEqual(rg.Names, want) || !reflect.DeepEqual(rg.Unknown, []string{"no.such"}) {
		t.Errorf("ResolveGet = %+v", rg)
	}

	// The device's data model crosses the wire: a key whose parameter it lacks comes back Missing.
	getReq.Model = sdk.NewDataModel([]string{"Device.DeviceInfo.UpTime", "Device.WiFi.SSID.1.SSID"})
	rg, err1 = remote.ResolveGet(ctx, getReq)
	lg, err2 = local.ResolveGet(ctx, getReq)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(rg, lg) {
		t.Fatalf("ResolveGet with a data model differs: %v %v\n%+v\n%+v", err1, err2, rg, lg)
	}
	if !reflect.DeepEqual(rg.Names, []string{"Device.DeviceInfo.UpTime"}) || rg.Missing["wifi.ssids.3.ssid"] != "Device.WiFi.SSID.3.SSID" {
		t.Errorf("ResolveGet with a data model = %+v", rg)
	}

	setReq := sdk.SetRequest{Device: acmeBox, Values: map[string]any{
		"wifi.ssids.2.ssid": "guest", "management.periodic_inform_interval": int64(600), "device.uptime": int64(1),
	}}
	rp, err1 := remote.DenormalizeSet(ctx, setReq)
	lp, err2 := local.DenormalizeSet(ctx, setReq)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(rp, lp) {
		t.Fatalf("DenormalizeSet differs: %v %v\n%+v\n%+v", err1, err2, rp, lp)
	}
	if len(rp.RPCs) != 1 || rp.RPCs[0].Method != "SetParameterValues" || rp.Rejected["device.uptime"] != "read-only" {
		t.Errorf("DenormalizeSet = %+v", rp)
	}
	list, _ := rp.RPCs[0].Args["ParameterList"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["Name"] != "Device.ManagementServer.PeriodicInformInterval" {
		t.Errorf("ParameterList = %#v", rp.RPCs[0].Args["ParameterList"])
	}

	provReq := sdk.ProvisionRequest{Device: acmeBox, Events: []string{"0 BOOTSTRAP", "1 BOOT"}}
	rr, err1 := remote.Provision(ctx, provReq)
	lr, err2 := local.Provision(ctx, provReq)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(rr, lr) || len(rr) != 1 {
		t.Fatalf("Provision differs: %v %v\n%+v\n%+v", err1, err2, rr, lr)
	}
	nothing, err := remote.Provision(ctx, sdk.ProvisionRequest{Device: acmeBox, Events: []string{"2 PERIODIC"}})
	if err != nil || nothing != nil {
		t.Errorf("Provision on PERIODIC = %v, %v; want nil, nil", nothing, err)
	}
}

func TestTranslatorErrorAndPanicAreErrPlugin(t *testing.T) {
	h, ev := startHost(t, fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Normal)}), nil)
	if err := h.RegisterInProcess(renamed{testtranslator.New(nil), "local", nil}); err != nil {
		t.Fatal(err)
	}
	pid := info(t, h, "acme").PID
	for _, name := range []string{"acme", "local"} {
		tr := mustGet(t, h, name)
		_, err := tr.Normalize(context.Background(), normalizeReq(map[string]sdk.Value{"Test.Error": {Value: "no such radio"}}))
		var ce *CallError
		if !errors.Is(err, ErrPlugin) || !errors.As(err, &ce) || ce.Detail != "no such radio" || ce.Translator != name || ce.Method != "Normalize" {
			t.Errorf("%s: translator error = %v, want ErrPlugin with its text", name, err)
		}
		_, err = tr.Normalize(context.Background(), normalizeReq(map[string]sdk.Value{"Test.Panic": {}}))
		if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), "panic in Normalize: asked to panic") {
			t.Errorf("%s: panic = %v, want ErrPlugin naming the panic", name, err)
		}
		if _, err := tr.Normalize(context.Background(), normalizeReq(testtranslator.Params100())); err != nil {
			t.Errorf("%s: call after a panic: %v", name, err)
		}
	}
	if got := info(t, h, "acme").PID; got != pid || len(ev.all()) != 0 {
		t.Errorf("a panic must not cost the process: pid %d → %d, events %+v", pid, got, ev.all())
	}
}

func TestPluginKilledIsRestarted(t *testing.T) {
	h, ev := startHost(t, fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Normal)}), nil)
	tr := mustGet(t, h, "acme")
	pid := info(t, h, "acme").PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	failed := ev.waitFor(t, EventFailed, 10*time.Second)
	if failed.Plugin != "acme" || failed.Attempt != 1 || !strings.Contains(failed.Reason, "killed") {
		t.Errorf("plugin_failed = %+v, want attempt 1 and the signal in the reason", failed)
	}
	restarted := ev.waitFor(t, EventRestarted, 10*time.Second)
	if restarted.Plugin != "acme" || restarted.Attempt != 1 {
		t.Errorf("plugin_restarted = %+v", restarted)
	}
	in := info(t, h, "acme")
	if in.PID == pid || !pidAlive(in.PID) || in.Restarts != 1 || in.State != StateRunning {
		t.Fatalf("after restart: %+v (old pid %d)", in, pid)
	}
	st, err := tr.Normalize(context.Background(), normalizeReq(testtranslator.Params100()))
	if err != nil || st["wifi.ssids.1.ssid"] != "acme-1" {
		t.Fatalf("call after restart through the old handle: %v, %v", st, err)
	}
}

func TestPluginCrashingMidCallIsUnavailableThenRestarted(t *testing.T) {
	cfg := fastConfig(map[string]PluginConfig{"acme": {Path: testPlugin, Options: map[string]string{"mode": "crash_after", "n": "2"}}})
	h, ev := startHost(t, cfg, nil)
	tr := mustGet(t, h, "acme")
	req := normalizeReq(testtranslator.Params100())
	for i := 0; i < 2; i++ {
		if _, err := tr.Normalize(context.Background(), req); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if _, err := tr.Normalize(context.Background(), req); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call that crashes the plugin: %v, want ErrUnavailable", err)
	}
	ev.waitFor(t, EventFailed, 10*time.Second)
	ev.waitFor(t, EventRestarted, 10*time.Second)
	if _, err := tr.Normalize(context.Background(), req); err != nil {
		t.Fatalf("call after restart: %v", err)
	}
}

func TestHangingPluginTimesOutAndIsRestarted(t *testing.T) {
	cfg := fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Hang)})
	cfg.CallTimeout = 300 * time.Millisecond
	cfg.PingInterval = time.Hour // only the call time-outs may reveal the hang
	h, ev := startHost(t, cfg, nil)
	tr := mustGet(t, h, "acme")
	pid := info(t, h, "acme").PID
	for i := 0; i < cfg.HangAfter; i++ {
		start := time.Now()
		_, err := tr.Normalize(context.Background(), normalizeReq(nil))
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("call %d to a hung plugin: %v, want ErrTimeout", i+1, err)
		}
		// The contract, not a speed test: the call ends at the time-out, not never.
		if el := time.Since(start); el < cfg.CallTimeout || el > cfg.CallTimeout+5*time.Second {
			t.Errorf("call %d took %v with CallTimeout %v", i+1, el, cfg.CallTimeout)
		}
	}
	failed := ev.waitFor(t, EventFailed, 10*time.Second)
	if !strings.Contains(failed.Reason, "hung: 2 consecutive call timeouts") {
		t.Errorf("plugin_failed reason = %q", failed.Reason)
	}
	ev.waitFor(t, EventRestarted, 10*time.Second)
	waitPidGone(t, pid, 5*time.Second)
}

func TestStoppedPluginFailsPingsAndIsRestarted(t *testing.T) {
	cfg := fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Normal)})
	cfg.CallTimeout = 200 * time.Millisecond
	cfg.PingInterval = 50 * time.Millisecond
	h, ev := startHost(t, cfg, nil)
	pid := info(t, h, "acme").PID
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	failed := ev.waitFor(t, EventFailed, 10*time.Second)
	if !strings.Contains(failed.Reason, "consecutive failed pings") {
		t.Errorf("plugin_failed reason = %q", failed.Reason)
	}
	ev.waitFor(t, EventRestarted, 10*time.Second)
	waitPidGone(t, pid, 5*time.Second)
	if _, err := mustGet(t, h, "acme").Normalize(context.Background(), normalizeReq(nil)); err != nil {
		t.Fatalf("call after restart: %v", err)
	}
}

func TestGarbageIsBadResponse(t *testing.T) {
	h, ev := startHost(t, fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Garbage)}), nil)
	pid := info(t, h, "acme").PID
	_, err := mustGet(t, h, "acme").Normalize(context.Background(), normalizeReq(nil))
	if !errors.Is(err, ErrBadResponse) {
		t.Fatalf("garbage answer: %v, want ErrBadResponse", err)
	}
	for _, want := range []string{`key "no.such.key" is not exposed`, `key "device.uptime": string value for type integer`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if info(t, h, "acme").PID != pid || len(ev.all()) != 0 {
		t.Errorf("a bad answer is not a reason to restart: events %+v", ev.all())
	}
}

func TestCrashLoopGivesUp(t *testing.T) {
	cfg := fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.ExitAtStart)})
	cfg.CrashLoopMax = 3
	h, ev := startHost(t, cfg, nil)
	for i := 1; i <= 3; i++ {
		f := ev.waitFor(t, EventFailed, 10*time.Second)
		if f.Attempt != i || !strings.Contains(f.Reason, "start:") {
			t.Errorf("failure %d = %+v", i, f)
		}
	}
	gave := ev.waitFor(t, EventGaveUp, 10*time.Second)
	if gave.Attempt != 3 {
		t.Errorf("plugin_gave_up = %+v", gave)
	}
	if in := info(t, h, "acme"); in.State != StateFailed || in.LastError == "" {
		t.Errorf("state after giving up: %+v", in)
	}
	if _, err := mustGet(t, h, "acme").Normalize(context.Background(), normalizeReq(nil)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("call to a given-up plugin: %v, want ErrUnavailable", err)
	}
	for _, e := range ev.all() {
		if e.Kind == EventRestarted {
			t.Errorf("a plugin that never started was reported restarted: %+v", e)
		}
	}
}

func TestInvalidDescriptionGivesUpAtOnce(t *testing.T) {
	h, ev := startHost(t, fastConfig(map[string]PluginConfig{"acme": {Path: testPlugin, Options: map[string]string{"mode": "normal", "bad_describe": "1"}}}), nil)
	gave := ev.waitFor(t, EventGaveUp, 10*time.Second)
	if !strings.Contains(gave.Reason, "invalid description") || gave.Attempt != 1 {
		t.Errorf("plugin_gave_up = %+v", gave)
	}
	if name, _ := h.Select(acmeBox); name == "acme" {
		t.Error("an undescribed plugin was selected")
	}
}

func TestEnvironmentAllowList(t *testing.T) {
	t.Setenv("CWMP2MQTT_MQTT_PASSWORD", "s3cret")
	t.Setenv("TZ", "Europe/Paris")
	t.Setenv("EXTRA_ALLOWED", "yes")
	cfg := fastConfig(map[string]PluginConfig{"acme": {Path: testPlugin, Options: map[string]string{"mode": "normal", "Region": "eu"}}})
	cfg.Env = append(DefaultEnv, "EXTRA_ALLOWED")
	h, _ := startHost(t, cfg, nil)
	st, err := mustGet(t, h, "acme").Normalize(context.Background(), normalizeReq(map[string]sdk.Value{"Test.Environ": {}}))
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(st["debug.environ"].(string), "\n")
	has := func(prefix string) bool {
		for _, kv := range env {
			if strings.HasPrefix(kv, prefix) {
				return true
			}
		}
		return false
	}
	for _, leak := range []string{"CWMP2MQTT_MQTT_PASSWORD=", "GOPATH=", "GOFLAGS="} {
		if has(leak) {
			t.Errorf("plugin environment leaks %s", leak)
		}
	}
	for _, want := range []string{"PATH=", "TZ=Europe/Paris", "EXTRA_ALLOWED=yes", "CWMP2MQTT_PLUGIN_OPT_REGION=eu", "CWMP2MQTT_PLUGIN_NAME=acme", "CWMP2MQTT_PLUGIN=translator-"} {
		if !has(want) {
			t.Errorf("plugin environment lacks %s: %q", want, env)
		}
	}
}

func TestNoPluginLeftAfterStop(t *testing.T) {
	cfg := fastConfig(map[string]PluginConfig{"a": mode(testtranslator.Normal), "b": mode(testtranslator.Hang)})
	ev := newEvents()
	h, err := New(cfg, zap.NewNop(), ev.record)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, in := range h.Translators() {
		if !pidAlive(in.PID) {
			t.Fatalf("%s not running: %+v", in.Name, in)
		}
		pids = append(pids, in.PID)
	}
	h.Stop()
	for _, pid := range pids {
		if pidAlive(pid) {
			t.Errorf("plugin process %d still alive after Stop", pid)
		}
	}
	for _, in := range h.Translators() {
		if in.State != StateStopped {
			t.Errorf("%s state after Stop = %s", in.Name, in.State)
		}
	}
	if len(ev.all()) != 0 {
		t.Errorf("a clean stop is not a failure: %+v", ev.all())
	}
	h.Stop() // idempotent
}

func TestPluginDiesWithGatewaySIGKILL(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+testPlugin)
	line := readLine(t, cmd)
	pid, err := strconv.Atoi(line)
	if err != nil || !pidAlive(pid) {
		t.Fatalf("child gateway said %q", line)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup code runs in the gateway
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitPidGone(t, pid, 10*time.Second)
}

func TestMessageSizeLimit(t *testing.T) {
	cfg := fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.Normal)})
	cfg.MaxMsgSize = 256 << 10
	h, ev := startHost(t, cfg, nil)
	tr := mustGet(t, h, "acme")
	ctx := context.Background()
	if _, err := tr.Normalize(ctx, normalizeReq(map[string]sdk.Value{"Test.Size": {Value: "100000"}})); err != nil {
		t.Fatalf("answer under the limit: %v", err)
	}
	_, err := tr.Normalize(ctx, normalizeReq(map[string]sdk.Value{"Test.Size": {Value: "300000"}}))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("answer over the limit: %v, want ErrTooLarge", err)
	}
	big := map[string]sdk.Value{"Device.DeviceInfo.SoftwareVersion": {Value: strings.Repeat("v", 300000), Type: "string"}}
	if _, err := tr.Normalize(ctx, normalizeReq(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("request over the limit: %v, want ErrTooLarge", err)
	}
	if _, err := tr.Normalize(ctx, normalizeReq(nil)); err != nil || len(ev.all()) != 0 {
		t.Errorf("an oversized message must not cost the process: %v, %+v", err, ev.all())
	}
}

func TestPluginLogsReachZapAndMalformedLinesAreHarmless(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h, _ := startHost(t, fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.BadLog)}), zap.New(core))
	if _, err := mustGet(t, h, "acme").Normalize(context.Background(), normalizeReq(map[string]sdk.Value{"Test.Log": {Value: "hello"}})); err != nil {
		t.Fatal(err)
	}
	h.Stop() // flushes the stderr reader
	var sawWarn, sawMalformed bool
	for _, e := range logs.All() {
		fields := e.ContextMap()
		if e.Message == "plugin says" && e.Level == zapcore.WarnLevel && fields["plugin"] == "acme" && fields["device"] == acmeBox.ID && fields["text"] == "hello" {
			sawWarn = true
		}
		if strings.HasPrefix(e.Message, "[WARN] malformed plugin log") && e.Level == zapcore.WarnLevel {
			sawMalformed = true
		}
	}
	if !sawWarn || !sawMalformed {
		for _, e := range logs.All() {
			t.Logf("%s %q %v", e.Level, e.Message, e.ContextMap())
		}
		t.Fatalf("plugin warn re-emitted: %v; malformed lines defused: %v", sawWarn, sawMalformed)
	}
}

// A translator that refuses its options says why on stderr and exits 2: plugin_failed carries
// that line (not go-plugin's "Unrecognized remote plugin message"), and it is not restarted in a
// loop, since the same options would fail the same way.
func TestPluginConfigErrorShowsStderrAndIsNotRestarted(t *testing.T) {
	cfg := fastConfig(map[string]PluginConfig{"acme": mode(testtranslator.BadOption)})
	h, ev := startHost(t, cfg, nil)
	f := ev.waitFor(t, EventFailed, 10*time.Second)
	if !strings.Contains(f.Reason, "option n: not a number") {
		t.Errorf("plugin_failed reason %q lacks the plugin's own error", f.Reason)
	}
	gave := ev.waitFor(t, EventGaveUp, 10*time.Second)
	if gave.Attempt != 1 || !strings.Contains(gave.Reason, "option n: not a number") {
		t.Errorf("plugin_gave_up = %+v: want at once, with the plugin's error", gave)
	}
	if in := info(t, h, "acme"); in.State != StateFailed {
		t.Errorf("state %s, want failed", in.State)
	}
}
