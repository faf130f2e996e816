package main

// End-to-end tests of the translator plugins (docs/design.md §4, docs/plugins.md) through the real
// gateway: real plugin binaries built by `go build` (plugins/huawei, the misbehaving test
// plugin, the gateway itself for `cwmp2mqtt plugin standard`), simulated CPEs over HTTP and a
// paho platform over the embedded broker. What is checked is what a platform sees: state,
// rpc results, bridge events and responses, and which processes are left running.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
)

// pluginBins are the plugin binaries, built once beside the gateway binary TestMain builds
// (crash_test.go), in the directory TestMain removes at the end.
var pluginBins struct {
	once               sync.Once
	huawei, testplugin string
	err                error
}

// builtPlugins returns the paths of the Huawei plugin, the misbehaving test plugin
// (plugins/sdk/internal/testtranslator) and the gateway binary.
func builtPlugins(t *testing.T) (huawei, testplugin, gateway string) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	b := &pluginBins
	b.once.Do(func() {
		build := func(name, pkg string) string {
			bin := filepath.Join(filepath.Dir(gatewayBin), name)
			if b.err == nil {
				if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
					b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				}
			}
			return bin
		}
		b.huawei = build("huawei", "github.com/cwmp2mqtt/cwmp2mqtt/plugins/huawei")
		b.testplugin = build("testplugin", "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator/cmd/testplugin")
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.huawei, b.testplugin, gatewayBin
}

// ownCopy copies a plugin binary into the test's directory, so the test may take it away.
func ownCopy(t *testing.T, bin string) string {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(bin))
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeConfig writes the gateway's YAML file: plugins.translators lives in the file only.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cwmp2mqtt.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// acmeConfig configures the test plugin as translator "acme" in the given mode; it describes
// the match rule Manufacturer "Acme".
func acmeConfig(t *testing.T, bin, mode string) string {
	return writeConfig(t, fmt.Sprintf("plugins:\n  translators:\n    acme:\n      path: %q\n      options: {mode: %s}\n", bin, mode))
}

// stateMsg is a B/D/state payload.
type stateMsg struct {
	Translator string         `json:"translator"`
	Model      string         `json:"model"`
	Stale      bool           `json:"stale"`
	Error      string         `json:"error"`
	Values     map[string]any `json:"values"`
}

// awaitJSON returns the first message on topic, from the since-th on (an index into
// pf.messages), that decodes into T and satisfies ok; it fails the test after `wait`.
func awaitJSON[T any](t *testing.T, pf *platform, topic string, since int, what string, ok func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		msgs := pf.messages(topic)
		for _, m := range msgs[min(since, len(msgs)):] {
			var v T
			if json.Unmarshal(m.Payload, &v) == nil && ok(v) {
				return v
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no %s on %s within %s; seen on that topic:\n%s", what, topic, wait, pf.dump(topic))
		}
		select {
		case <-pf.notify:
		case <-time.After(min(left, 50*time.Millisecond)):
		}
	}
}

func awaitState(t *testing.T, pf *platform, id string, since int, what string, ok func(stateMsg) bool) stateMsg {
	t.Helper()
	return awaitJSON(t, pf, "cwmp2mqtt/"+id+"/state", since, what, ok)
}

// mark is where the next message on topic will be in pf.messages.
func mark(pf *platform, topic string) int { return len(pf.messages(topic)) }

// bridgeOp runs a gateway operation (B/bridge/request/<op>) and returns its response. Its
// response also proves that everything the gateway published before has arrived: one
// connection, one ordered outbox.
func bridgeOp(t *testing.T, pf *platform, op, transaction string) map[string]any {
	t.Helper()
	pf.await("cwmp2mqtt/bridge/state", nil, wait) // retained: the platform's subscription is active
	pf.publish("cwmp2mqtt/bridge/request/"+op, `{"transaction":"`+transaction+`"}`)
	return pf.await("cwmp2mqtt/bridge/response/"+op, map[string]any{"transaction": transaction, "status": "ok"}, wait)
}

// readParam asks the CPE for one parameter over rpc: the gateway's connection request makes the
// CPE open a session with an Inform, then the GetParameterValues runs; the done result is
// returned.
func readParam(t *testing.T, pf *platform, cpe *simCPE, rid, name string) map[string]any {
	t.Helper()
	B := "cwmp2mqtt/" + cpe.ID
	pf.publish(B+"/rpc", `{"id":"`+rid+`","method":"GetParameterValues","args":{"names":["`+name+`"]},"expires":30}`)
	done := pf.await(B+"/rpc/result", map[string]any{"id": rid, "status": "done"}, wait)
	if want := cpe.value(t, name); !strings.Contains(mustJSON(done["result"]), `"value":"`+want+`"`) {
		t.Fatalf("%s: result %v lacks %s = %q", rid, done["result"], name, want)
	}
	return done
}

// bootedCPE starts a CPE and waits for the end of its bootstrap session, with the gateway's
// and the translator's provisioning.
func bootedCPE(t *testing.T, cfg sim.Config, model string) *simCPE {
	t.Helper()
	cpe := startCPE(t, cfg, model)
	cpe.waitSession(t, sim.Mark{}, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventBootstrap) && s.Err == nil })
	return cpe
}

// pluginPID is the process id the host reports for a plugin of an in-process gateway.
func pluginPID(t *testing.T, gw *testGateway, name string) int {
	t.Helper()
	for _, in := range gw.g.plugins.Translators() {
		if in.Name == name && in.PID > 0 {
			return in.PID
		}
	}
	t.Fatalf("no running process for plugin %s: %+v", name, gw.g.plugins.Translators())
	return 0
}

// eventSeen says whether a bridge event of kind for plugin arrived.
func eventSeen(pf *platform, kind, plugin string) bool {
	return pf.count("cwmp2mqtt/bridge/event", map[string]any{"event": kind, "plugin": plugin}) > 0
}

// TestPluginsHuaweiEndToEnd runs the Huawei example translator as a real plugin process
// (plugins.translators.huawei with path and match) beside the built-in standard: the Huawei
// TR-098 CPE gets huawei.* keys with its data model's values, a TR-181 CPE stays on standard,
// and set / get / rejections work through the plugin.
func TestPluginsHuaweiEndToEnd(t *testing.T) {
	huaweiBin, _, _ := builtPlugins(t)
	cfg := writeConfig(t, fmt.Sprintf(`plugins:
  translators:
    huawei:
      path: %q
      match:
        - manufacturer: "Huawei Technologies Co., Ltd."
`, huaweiBin))
	gw := startGateway(t, map[string]string{"CWMP2MQTT_CONFIG": cfg})
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	hw := bootedCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "HWE2E1"}, "tr098")
	gen := bootedCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "GENE2E1"}, "tr181")
	if pid := pluginPID(t, gw, "huawei"); !alive(pid) {
		t.Fatalf("huawei plugin pid %d is not running", pid)
	}

	// State: the Huawei device's values are its data model's, through the plugin.
	const (
		telnet   = "InternetGatewayDevice.DeviceInfo.X_HUAWEI_ServiceManage.TelnetEnable"
		firewall = "InternetGatewayDevice.X_HUAWEI_FireWall.CurrentLevel"
		port     = "InternetGatewayDevice.DeviceInfo.X_HUAWEI_ServiceManage.TelnetPort"
	)
	telnetOn, err := strconv.ParseBool(hw.value(t, telnet))
	if err != nil || !telnetOn {
		t.Fatalf("the BM632w model should start with Telnet on: %q", hw.value(t, telnet))
	}
	level := strings.ToLower(hw.value(t, firewall)) // "Low" → "low" (keys.go firewallLevels)
	telnetPort, _ := strconv.Atoi(hw.value(t, port))
	st := awaitState(t, pf, hw.ID, 0, "huawei state with the model's values", func(s stateMsg) bool {
		return s.Values["huawei.telnet_enabled"] == telnetOn && s.Values["huawei.firewall_level"] == level
	})
	if st.Translator != "huawei" || st.Stale || st.Model != "1" {
		t.Fatalf("huawei device state: translator %q stale %v model %q (error %q)", st.Translator, st.Stale, st.Model, st.Error)
	}
	if st.Values["huawei.telnet_port"] != float64(telnetPort) || st.Values["device.manufacturer"] != "Huawei Technologies Co., Ltd." {
		t.Fatalf("huawei state values: %v", st.Values)
	}
	genSt := awaitState(t, pf, gen.ID, 0, "standard state", func(s stateMsg) bool { return s.Values["device.manufacturer"] != nil })
	if genSt.Translator != "standard" || genSt.Stale {
		t.Fatalf("TR-181 device state: translator %q stale %v (error %q)", genSt.Translator, genSt.Stale, genSt.Error)
	}
	for k := range genSt.Values {
		if strings.HasPrefix(k, "huawei.") {
			t.Fatalf("TR-181 device on standard has a huawei key %s", k)
		}
	}

	// set through the plugin: done, the CPE changed, the state follows.
	B := "cwmp2mqtt/" + hw.ID
	since := mark(pf, B+"/state")
	pf.publish(B+"/set", `{"id":"telnet-off","values":{"huawei.telnet_enabled":false},"expires":30}`)
	done := pf.await(B+"/rpc/result", map[string]any{"id": "telnet-off", "method": "set", "status": "done"}, wait)
	if r, _ := done["result"].(map[string]any); r["status"] != float64(0) || r["applied_later"] != false {
		t.Errorf("set result %v, want status 0, applied_later false", done["result"])
	}
	if on, err := strconv.ParseBool(hw.value(t, telnet)); err != nil || on {
		t.Fatalf("TelnetEnable on the CPE after set: %q", hw.value(t, telnet))
	}
	awaitState(t, pf, hw.ID, since, "state with Telnet off", func(s stateMsg) bool {
		return s.Translator == "huawei" && s.Values["huawei.telnet_enabled"] == false
	})

	// get through the plugin: done with the values read.
	pf.publish(B+"/get", `{"id":"get-fw","keys":["huawei.firewall_level","huawei.telnet_port"],"expires":30}`)
	got := pf.await(B+"/rpc/result", map[string]any{"id": "get-fw", "method": "get", "status": "done"}, wait)
	want := map[string]any{"values": map[string]any{"huawei.firewall_level": level, "huawei.telnet_port": float64(telnetPort)}}
	if !reflect.DeepEqual(got["result"], want) {
		t.Fatalf("get result %v, want %v", got["result"], want)
	}

	// Refusals name the key and the reason; the Huawei keys are the Huawei device's only.
	for _, c := range []struct{ topic, id, values, reason string }{
		{B, "set-ro", `{"huawei.wimax.rssi":-40}`, "huawei.wimax.rssi: read-only key"},
		{B, "set-unknown", `{"huawei.no_such_key":1}`, "huawei.no_such_key: unknown key"},
		{"cwmp2mqtt/" + gen.ID, "set-other", `{"huawei.telnet_enabled":false}`, "huawei.telnet_enabled: unknown key"},
	} {
		pf.publish(c.topic+"/set", `{"id":"`+c.id+`","values":`+c.values+`,"expires":30}`)
		r := pf.await(c.topic+"/rpc/result", map[string]any{"id": c.id}, wait)
		if r["status"] != "rejected" || r["error"] != c.reason {
			t.Errorf("%s: %v, want rejected with %q", c.id, r, c.reason)
		}
	}

	// Both translators are listed: bridge/info (retained) and list_translators.
	info := pf.await("cwmp2mqtt/bridge/info", nil, wait)
	lt := bridgeOp(t, pf, "list_translators", "lt-1")
	for where, list := range map[string]any{"bridge/info": info["translators"], "list_translators": lt["data"]} {
		byName := translatorsByName(list)
		if h := byName["huawei"]; h == nil || h["builtin"] != false || h["state"] != "running" || h["version"] == "" {
			t.Errorf("%s: huawei entry %v", where, h)
		}
		if s := byName["standard"]; s == nil || s["builtin"] != true || s["state"] != "running" {
			t.Errorf("%s: standard entry %v", where, s)
		}
	}
}

func translatorsByName(list any) map[string]map[string]any {
	items, _ := list.([]any)
	out := map[string]map[string]any{}
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out[fmt.Sprint(m["name"])] = m
		}
	}
	return out
}

// TestPluginsListTranslatorsShowsExposes: docs/mqtt-api.md says list_translators gives each
// translator's exposes, the keys a platform may use in set and get.
func TestPluginsListTranslatorsShowsExposes(t *testing.T) {
	huaweiBin, _, _ := builtPlugins(t)
	gw := startGateway(t, map[string]string{"CWMP2MQTT_CONFIG": writeConfig(t, fmt.Sprintf("plugins:\n  translators:\n    huawei: {path: %q}\n", huaweiBin))})
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	byName := translatorsByName(bridgeOp(t, pf, "list_translators", "lt-x")["data"])
	for name, key := range map[string]string{"huawei": "huawei.telnet_enabled", "standard": "wifi.ssid.*.ssid"} {
		found := false
		exposes, _ := byName[name]["exposes"].([]any)
		for _, e := range exposes {
			if m, _ := e.(map[string]any); m["key"] == key {
				found = m["type"] != nil && m["access"] != nil
			}
		}
		if !found {
			t.Errorf("list_translators: %s has no expose %s with type and access: %v", name, key, byName[name])
		}
	}
}

// TestPluginsStandardInProcessAndOutOfProcessAgree: plugins.standard process runs the built-in
// translator as `cwmp2mqtt plugin standard` (a child of the gateway binary); for the same CPEs
// it gives the same state as the in-process translator.
func TestPluginsStandardInProcessAndOutOfProcessAgree(t *testing.T) {
	_, _, gwBin := builtPlugins(t)
	// The CR URL carries each simulated CPE's own listening port.
	volatile := map[string]bool{"management.connection_request_url": true}
	run := func(t *testing.T, acsURL, broker string) map[string]map[string]any {
		pf := newPlatform(t, broker, "cwmp2mqtt/#")
		states := map[string]map[string]any{}
		for _, c := range []struct{ serial, model string }{{"STDCMP181", "tr181"}, {"STDCMP098", "tr098"}} {
			cpe := bootedCPE(t, sim.Config{ACSURL: acsURL, Serial: c.serial}, c.model)
			bridgeOp(t, pf, "health", "barrier-"+c.serial) // the bootstrap session's states have arrived
			msgs := pf.messages("cwmp2mqtt/" + cpe.ID + "/state")
			if len(msgs) == 0 {
				t.Fatalf("%s: no state", cpe.ID)
			}
			var st stateMsg
			if err := json.Unmarshal(msgs[len(msgs)-1].Payload, &st); err != nil {
				t.Fatal(err)
			}
			// The Inform alone gives a dozen keys; the boot-time read of every key gives the rest.
			if st.Translator != "standard" || st.Stale || len(st.Values) < 40 {
				t.Fatalf("%s: state translator %q stale %v error %q, %d values", cpe.ID, st.Translator, st.Stale, st.Error, len(st.Values))
			}
			for k := range volatile {
				delete(st.Values, k)
			}
			states[cpe.ID] = st.Values
		}
		return states
	}

	var inproc, outproc map[string]map[string]any
	t.Run("inprocess", func(t *testing.T) {
		gw := startGateway(t, nil)
		inproc = run(t, gw.ACSURL, gw.Broker)
	})
	t.Run("process", func(t *testing.T) {
		gp, broker := pluginGateway(t, map[string]string{"CWMP2MQTT_PLUGINS_STANDARD": "process"})
		if pids := childPIDs(gp.cmd.Process.Pid); len(pids) != 1 || cmdline(pids[0]) != gwBin+" plugin standard" {
			t.Fatalf("want one child `%s plugin standard`, children: %v", gwBin, describePIDs(pids))
		}
		outproc = run(t, gp.ACSURL, broker)
	})
	if t.Failed() {
		return
	}
	for id, in := range inproc {
		out := outproc[id]
		for k, v := range in {
			if !reflect.DeepEqual(out[k], v) {
				t.Errorf("%s %s: in process %#v, out of process %#v", id, k, v, out[k])
			}
		}
		for k := range out {
			if _, ok := in[k]; !ok {
				t.Errorf("%s %s: only out of process (%#v)", id, k, out[k])
			}
		}
	}
}

// TestPluginsKilledPluginRestartsAndStateRecovers: the plugin process is SIGKILLed and cannot
// come back at once (its binary is away, as during an upgrade). Meanwhile the device's raw
// inform and rpc keep working and its state says stale with the reason; the host reports
// plugin_failed, then plugin_restarted once the binary is back, and the next Inform gives a
// fresh state.
func TestPluginsKilledPluginRestartsAndStateRecovers(t *testing.T) {
	_, tp, _ := builtPlugins(t)
	bin := ownCopy(t, tp)
	gw := startGateway(t, map[string]string{"CWMP2MQTT_CONFIG": acmeConfig(t, bin, "normal")})
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	cpe := bootedCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "KILL1", Manufacturer: "Acme"}, "tr181")
	B := "cwmp2mqtt/" + cpe.ID
	awaitState(t, pf, cpe.ID, 0, "fresh acme state", func(s stateMsg) bool {
		return s.Translator == "acme" && !s.Stale && s.Values["device.software_version"] != nil
	})
	pid := pluginPID(t, gw, "acme")

	away := bin + ".away"
	if err := os.Rename(bin, away); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ev := pf.await("cwmp2mqtt/bridge/event", map[string]any{"event": "plugin_failed", "plugin": "acme"}, wait)
	if !strings.Contains(fmt.Sprint(ev["reason"]), "killed") {
		t.Errorf("plugin_failed reason %q does not say the process was killed", ev["reason"])
	}

	// The outage: raw inform and rpc flow, the state is the last good one marked stale.
	informs, states := mark(pf, B+"/inform"), mark(pf, B+"/state")
	readParam(t, pf, cpe, "during-outage", "Device.DeviceInfo.SoftwareVersion")
	awaitJSON(t, pf, B+"/inform", informs, "inform during the outage", func(m map[string]any) bool {
		return strings.Contains(mustJSON(m["events"]), sim.EventConnectionRequest)
	})
	stale := awaitState(t, pf, cpe.ID, states, "stale state", func(s stateMsg) bool { return s.Stale })
	if stale.Translator != "acme" || !strings.Contains(stale.Error, "unavailable") || stale.Values["device.software_version"] == nil {
		t.Errorf("stale state: translator %q error %q values %v", stale.Translator, stale.Error, stale.Values)
	}
	if eventSeen(pf, "plugin_restarted", "acme") {
		t.Fatal("plugin_restarted while its binary is away")
	}

	// Back: restarted by the supervisor, and the next Inform is normalized again.
	if err := os.Rename(away, bin); err != nil {
		t.Fatal(err)
	}
	pf.await("cwmp2mqtt/bridge/event", map[string]any{"event": "plugin_restarted", "plugin": "acme"}, wait)
	if newPID := pluginPID(t, gw, "acme"); newPID == pid {
		t.Fatalf("plugin pid %d unchanged after restart", pid)
	}
	states = mark(pf, B+"/state")
	readParam(t, pf, cpe, "after-restart", "Device.DeviceInfo.SoftwareVersion")
	awaitState(t, pf, cpe.ID, states, "fresh state after the restart", func(s stateMsg) bool {
		return s.Translator == "acme" && !s.Stale && s.Error == ""
	})
}

// TestPluginsHungPluginTimedOut: a plugin whose Normalize never returns costs each call
// plugins.call_timeout; the device's state says so, the host kills and restarts the hung
// process (plugin_failed "hung", plugin_restarted), and the gateway keeps serving this device's
// rpc and the other devices' state.
func TestPluginsHungPluginTimedOut(t *testing.T) {
	_, tp, _ := builtPlugins(t)
	gw := startGateway(t, map[string]string{
		"CWMP2MQTT_CONFIG":               acmeConfig(t, tp, "hang"),
		"CWMP2MQTT_PLUGINS_CALL_TIMEOUT": "300ms",
	})
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	cpe := bootedCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "HANG1", Manufacturer: "Acme"}, "tr181")
	st := awaitState(t, pf, cpe.ID, 0, "stale state", func(s stateMsg) bool { return s.Stale })
	if st.Translator != "acme" || !strings.Contains(st.Error, host.ErrTimeout.Error()) {
		t.Errorf("state of the hung translator's device: translator %q error %q", st.Translator, st.Error)
	}
	pf.await("cwmp2mqtt/"+cpe.ID+"/inform", nil, wait)

	// Each Inform costs one time-out; a few in a row mark the process hung (plugins/sdk/host
	// Config.HangAfter) and it is replaced.
	for i := 0; !eventSeen(pf, "plugin_failed", "acme"); i++ {
		if i == 5 {
			t.Fatalf("no plugin_failed after %d more Informs; events:\n%s", i, pf.dump("cwmp2mqtt/bridge/event"))
		}
		readParam(t, pf, cpe, "wake-"+strconv.Itoa(i), "Device.DeviceInfo.SoftwareVersion")
	}
	ev := pf.await("cwmp2mqtt/bridge/event", map[string]any{"event": "plugin_failed", "plugin": "acme"}, wait)
	if !strings.Contains(fmt.Sprint(ev["reason"]), "hung") {
		t.Errorf("plugin_failed reason %q does not say hung", ev["reason"])
	}
	pf.await("cwmp2mqtt/bridge/event", map[string]any{"event": "plugin_restarted", "plugin": "acme"}, wait)

	// The gateway serves on: this device's rpc, another device's translator, operations.
	readParam(t, pf, cpe, "after-hang", "Device.DeviceInfo.SoftwareVersion")
	other := bootedCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "HANG2"}, "tr181")
	awaitState(t, pf, other.ID, 0, "standard state of another device", func(s stateMsg) bool {
		return s.Translator == "standard" && !s.Stale && len(s.Values) > 0
	})
	bridgeOp(t, pf, "health", "h-1")
}

// TestPluginsGarbageAnswerReported: a plugin answering undeclared keys and wrong types is
// refused by the host; the state says why (stale, naming the key), the process is not
// restarted for it (a bad answer is not a sick process), and the gateway keeps serving.
func TestPluginsGarbageAnswerReported(t *testing.T) {
	_, tp, _ := builtPlugins(t)
	gw := startGateway(t, map[string]string{"CWMP2MQTT_CONFIG": acmeConfig(t, tp, "garbage")})
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	cpe := bootedCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "GARBAGE1", Manufacturer: "Acme"}, "tr181")
	st := awaitState(t, pf, cpe.ID, 0, "stale state", func(s stateMsg) bool { return s.Stale })
	if st.Translator != "acme" || !strings.Contains(st.Error, host.ErrBadResponse.Error()) || !strings.Contains(st.Error, "no.such.key") {
		t.Errorf("state of the garbage translator's device: translator %q error %q", st.Translator, st.Error)
	}
	if _, ok := st.Values["no.such.key"]; ok {
		t.Errorf("refused key published: %v", st.Values)
	}
	readParam(t, pf, cpe, "after-garbage", "Device.DeviceInfo.SoftwareVersion")
	if h, _ := bridgeOp(t, pf, "health", "h-1")["data"].(map[string]any); mustJSON(h["translators"]) != `{"acme":"running","standard":"running"}` {
		t.Errorf("health after garbage answers: %v", h)
	}
	if eventSeen(pf, "plugin_failed", "acme") {
		t.Errorf("garbage answers restarted the plugin: %s", pf.dump("cwmp2mqtt/bridge/event"))
	}
	if s := translatorsByName(bridgeOp(t, pf, "list_translators", "lt-1")["data"])["acme"]; s["state"] != "running" {
		t.Errorf("acme after garbage answers: %v", s)
	}
}

// TestPluginsNoOrphanAfterGatewayExit: no plugin process outlives the gateway, whether it stops
// on SIGTERM or is SIGKILLed (Pdeathsig and the SDK's parent watch).
func TestPluginsNoOrphanAfterGatewayExit(t *testing.T) {
	_, tp, _ := builtPlugins(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			gp, _ := pluginGateway(t, map[string]string{
				"CWMP2MQTT_CONFIG":           acmeConfig(t, tp, "normal"),
				"CWMP2MQTT_PLUGINS_STANDARD": "process",
			})
			pids := childPIDs(gp.cmd.Process.Pid)
			if len(pids) != 2 {
				t.Fatalf("want 2 plugin processes (acme, standard), children: %v", describePIDs(pids))
			}
			if err := gp.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-gp.exited:
			case <-time.After(wait):
				t.Fatalf("gateway still running %s after %v", wait, sig)
			}
			if code := gp.cmd.ProcessState.ExitCode(); sig == syscall.SIGTERM && code != 0 {
				t.Errorf("gateway exit code %d after SIGTERM:\n%s", code, gp.logText())
			}
			deadline := time.Now().Add(5 * time.Second)
			for _, pid := range pids {
				for alive(pid) {
					if time.Now().After(deadline) {
						t.Fatalf("plugin %d (%s) still running after the gateway's %v", pid, cmdline(pid), sig)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}

// pluginGateway runs the gateway binary as a child process (crash_test.go's crashGateway) with
// its embedded broker on a free port; for what needs a real process: a real os.Executable for
// `plugin standard`, signals, plugin processes that must not outlive it.
func pluginGateway(t *testing.T, env map[string]string) (gp *crashGateway, broker string) {
	t.Helper()
	port := strconv.Itoa(mqtttest.FreePort(t))
	e := map[string]string{"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": "127.0.0.1:" + port}
	for k, v := range env {
		e[k] = v
	}
	return startCrashGateway(t, e), "tcp://127.0.0.1:" + port
}

// childPIDs lists the live child processes of parent: for a gateway, its plugins, all started
// (or failed once) before the ACS listens.
func childPIDs(parent int) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err == nil && alive(pid) && parentPID(pid) == parent {
			out = append(out, pid)
		}
	}
	return out
}

// procStat returns the fields of /proc/<pid>/stat after "pid (comm)": state, ppid, …
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

func parentPID(pid int) int {
	if f := procStat(pid); len(f) > 1 {
		n, _ := strconv.Atoi(f[1])
		return n
	}
	return 0
}

// alive says whether pid runs; a zombie (exited, not yet reaped by whoever inherited it) has
// ended. (plugins/sdk/internal/testtranslator.Alive is the same, but internal to plugins/.)
func alive(pid int) bool {
	f := procStat(pid)
	return len(f) > 0 && f[0] != "Z"
}

// cmdline is a process's command line, arguments separated by spaces.
func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

func describePIDs(pids []int) []string {
	var out []string
	for _, p := range pids {
		out = append(out, fmt.Sprintf("%d %s", p, cmdline(p)))
	}
	return out
}

// TestPluginsStartupFailureReachesBridgeEvent: a translator that refuses its options fails
// during the gateway's start-up, before the bridge exists. Its plugin_failed, with the plugin's
// own error, still reaches B/bridge/event (the events were dropped when the host's callback read
// a bridge not built yet), and the gateway runs without it.
func TestPluginsStartupFailureReachesBridgeEvent(t *testing.T) {
	_, tp, _ := builtPlugins(t)
	url, _, _ := mqtttest.StartEmbedded(t)
	pf := newPlatform(t, url, "cwmp2mqtt/#") // subscribed before the gateway starts
	startGateway(t, map[string]string{
		"CWMP2MQTT_MQTT_URL": url,
		"CWMP2MQTT_CONFIG":   acmeConfig(t, ownCopy(t, tp), "bad_option"), /* testtranslator.BadOption */
	})
	ev := pf.await("cwmp2mqtt/bridge/event", map[string]any{"event": "plugin_failed", "plugin": "acme"}, wait)
	if !strings.Contains(fmt.Sprint(ev["reason"]), "option n: not a number") {
		t.Errorf("plugin_failed reason %q lacks the plugin's own error", ev["reason"])
	}
	awaitJSON(t, pf, "cwmp2mqtt/bridge/event", 0, "plugin_failed saying it gave up", func(m map[string]any) bool {
		return m["event"] == "plugin_failed" && m["plugin"] == "acme" && strings.Contains(fmt.Sprint(m["reason"]), "gave up")
	})
}
