package main

// End-to-end tests of issue 7's retry and truth rules against cpesim quirk profiles modelled on
// real CPE firmware: a real gateway, a real broker, a simulated CPE over HTTP.

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// quirkRig is a gateway beside a broker, a platform, and one TR-098 CPE with quirks.
type quirkRig struct {
	gw     *testGateway
	pf     *platform
	cpe    *simCPE
	B, res string
}

// startQuirkRig starts the rig; env adds gateway settings, cfg adjusts the CPE. The broker runs
// beside the gateway (see onBrokers on mochi's retained race).
func startQuirkRig(t *testing.T, serial string, env map[string]string, cfg sim.Config) quirkRig {
	t.Helper()
	url, _, _ := mqtttest.StartEmbedded(t)
	e := requestEnv()
	e["CWMP2MQTT_MQTT_URL"] = url
	// A fixed ACS port, so the CPE finds a restarted gateway.
	e["CWMP2MQTT_CWMP_LISTEN"] = net.JoinHostPort("127.0.0.1", strconv.Itoa(mqtttest.FreePort(t)))
	for k, v := range env {
		e[k] = v
	}
	r := quirkRig{pf: newPlatform(t, url, "cwmp2mqtt/#")}
	r.gw = startGateway(t, e)
	cfg.ACSURL, cfg.Serial = r.gw.ACSURL, serial
	r.cpe = startCPE(t, cfg, "tr098")
	r.B = "cwmp2mqtt/" + r.cpe.ID
	r.res = r.B + "/rpc/result"
	r.pf.await(r.B+"/availability", map[string]any{"state": "online"}, wait)
	return r
}

// idle waits until the CPE ended a session cleanly after mark: the gateway's own start-up work is
// over (or given up).
func (r quirkRig) idle(t *testing.T, mark sim.Mark) {
	t.Helper()
	r.cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return s.Err == nil })
}

// crash-on-unknown-name: a raw SetParameterValues of a name the CPE lacks makes it drop the
// connection and boot again. The gateway sends it at most twice (tasks.max_attempts), then ends
// it with exactly one truthful `timeout`. Before issue 7 it was sent at every session until its
// expires (10 sends seen on a real CPE), then `expired` with "the device did not open a session".
func TestQuirkCrashOnUnknownNameSentAtMostTwice(t *testing.T) {
	r := startQuirkRig(t, "CRASH1", nil, sim.Config{Quirks: sim.Quirks{sim.QuirkCrashOnUnknownName}, CrashSilence: 500 * time.Millisecond})
	r.idle(t, sim.Mark{})
	const bad = igd + "DeviceInfo.X_NOPE_Unknown"
	mark := r.cpe.rec.Mark()
	r.pf.publish(r.B+"/rpc", `{"id":"crash-1","method":"SetParameterValues","args":{"parameters":[["`+bad+`","1"]]},"expires":120}`)
	res := r.pf.await(r.res, map[string]any{"id": "crash-1", "status": "timeout"}, 60*time.Second)
	if reason, _ := res["error"].(string); !strings.Contains(reason, "dropped the session 2 times") || strings.Contains(reason, "did not open a session") {
		t.Errorf("reason %q does not say that the CPE dropped the session twice", reason)
	}
	if res["attempts"] != float64(2) || res["dropped_sessions"] != float64(2) {
		t.Errorf("attempts %v, dropped_sessions %v, want 2 and 2", res["attempts"], res["dropped_sessions"])
	}
	// The CPE comes back once more after its second crash; nothing is sent to it then.
	r.idle(t, mark)
	if n := r.cpe.rec.Received(mark, r.cpe.Serial(), "SetParameterValues", bad); n != 2 {
		t.Errorf("the SetParameterValues reached the CPE %d times, want 2", n)
	}
	if n := r.cpe.rec.Crashes(mark, r.cpe.Serial()); n != 2 {
		t.Errorf("%d crashes, want 2", n)
	}
	requireOneTerminal(t, r.pf, r.res, "crash-1", "timeout")
}

// short-gpv: the CPE answers a GetParameterValues of several names with only the last value.
// The gateway's own state read at bootstrap meets it first: the missing names are asked again
// one at a time and the quirk is learned, so a later `get` goes one name per GetParameterValues
// (also after a restart: it is stored). A get result holds only what the CPE returned: a key
// whose name it refused has no value, although the state knows one from the Inform. Before
// issue 7 the read ended `done` with one value of each batch, and a get result carried old state.
func TestQuirkShortGPVReaskedAndLearned(t *testing.T) {
	r := startQuirkRig(t, "SHORT1", nil, sim.Config{Quirks: sim.Quirks{sim.QuirkShortGPV}})
	r.idle(t, sim.Mark{})
	if n := r.cpe.rec.CountRPCs(sim.Mark{}, func(e sim.RPCEvent) bool { return e.Quirk == sim.QuirkShortGPV }); n == 0 {
		t.Fatal("the CPE never short-answered: the quirk profile did not apply")
	}
	if n := r.cpe.rec.CountRPCs(sim.Mark{}, func(e sim.RPCEvent) bool { return e.Method == "GetParameterValues" && len(e.Names) == 1 }); n == 0 {
		t.Error("the names left out of short answers were never asked again alone")
	}

	r.pf.await(r.B+"/info", map[string]any{"quirks": []string{"one_name_per_gpv"}}, wait)

	mark := r.cpe.rec.Mark()
	r.cpe.Faults().FailName(pSoftware, sim.FaultRule{Code: 9005, String: "no firmware for you"})
	r.pf.publish(r.B+"/get", `{"id":"short-1","keys":["device.firmware","device.model","device.uptime","device.description"],"expires":60}`)
	res := r.pf.await(r.res, map[string]any{"id": "short-1", "status": "done"}, wait)
	result, _ := res["result"].(map[string]any)
	values, _ := result["values"].(map[string]any)
	for _, k := range []string{"device.model", "device.uptime", "device.description"} {
		if _, ok := values[k]; !ok {
			t.Errorf("%s missing from the result %v", k, result)
		}
	}
	if _, ok := values["device.firmware"]; ok {
		t.Errorf("device.firmware in the result %v: the CPE refused it, the value is old state", result)
	}
	if inv := mustJSON(result["invalid_names"]); !strings.Contains(inv, pSoftware) {
		t.Errorf("invalid_names %s does not list the refused name", inv)
	}
	if n := r.cpe.rec.CountRPCs(mark, func(e sim.RPCEvent) bool { return e.Method == "GetParameterValues" && len(e.Names) > 1 }); n != 0 {
		t.Errorf("%d GetParameterValues of several names after the quirk was learned", n)
	}
	r.cpe.Faults().Clear()

	// Learned and stored: after a restart, reads go one name at a time from the start.
	r.gw.stop()
	r.gw.start()
	mark = r.cpe.rec.Mark()
	names := []string{pSoftware, pProvCode, pPortalPC}
	r.pf.publish(r.B+"/rpc", `{"id":"short-2","method":"GetParameterValues","args":{"names":["`+strings.Join(names, `","`)+`"]},"expires":60}`)
	r.cpe.Inform(sim.EventPeriodic, "")
	res = r.pf.await(r.res, map[string]any{"id": "short-2", "status": "done"}, wait)
	if params, _ := res["result"].(map[string]any)["parameters"].(map[string]any); len(params) != 3 {
		t.Errorf("after the restart: result %v, want 3 values", res["result"])
	}
	if n := r.cpe.rec.CountRPCs(mark, func(e sim.RPCEvent) bool { return e.Method == "GetParameterValues" && len(e.Names) > 1 }); n != 0 {
		t.Errorf("after the restart %d GetParameterValues named several parameters", n)
	}
	if n := r.cpe.rec.CountRPCs(mark, func(e sim.RPCEvent) bool { return e.Quirk == sim.QuirkShortGPV }); n != 0 {
		t.Errorf("after the restart the CPE short-answered %d times", n)
	}
}

// cr-no-session: the CPE answers connection requests 200 but only restarts its periodic timer.
// After one such CR the gateway sends none before the device's next Inform, requests say so in
// their `accepted` note, and the periodic Inform runs them. Before issue 7 every new request
// (and every minute) sent another CR, each postponing the periodic Inform: requests waited for
// ever.
func TestQuirkCRNoSessionNoStorm(t *testing.T) {
	const interval = 6 * time.Second
	r := startQuirkRig(t, "NOSESS1", map[string]string{"CWMP2MQTT_CWMP_CONNREQ_SESSION_WAIT": "1s"},
		sim.Config{Quirks: sim.Quirks{sim.QuirkCRNoSession}, PeriodicInterval: interval})
	r.idle(t, sim.Mark{})
	mark := r.cpe.rec.Mark()
	gpv := func(id string) string {
		return `{"id":"` + id + `","method":"GetParameterValues","args":{"names":["` + pSoftware + `"]},"expires":120}`
	}
	r.pf.publish(r.B+"/rpc", gpv("nosess-0"))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := r.cpe.rec.WaitCR(ctx, mark, nil); err != nil {
		t.Fatalf("no connection request reached the CPE: %v", err)
	}
	// More requests while the first waits: each one would have sent a CR. Soon one says why the
	// device is not woken.
	ids := []string{"nosess-0"}
	noted := false
	for i := 1; i <= 4 && !noted; i++ {
		time.Sleep(time.Second)
		id := "nosess-" + strconv.Itoa(i)
		ids = append(ids, id)
		r.pf.publish(r.B+"/rpc", gpv(id))
		acc := r.pf.await(r.res, map[string]any{"id": id, "status": "accepted"}, wait)
		note, _ := acc["note"].(string)
		noted = strings.Contains(note, "opened no session")
	}
	if !noted {
		t.Error("no accepted note says the device is not woken because it opened no session")
	}
	for _, id := range ids {
		r.pf.await(r.res, map[string]any{"id": id, "status": "done"}, wait+interval)
		requireOneTerminal(t, r.pf, r.res, id, "done")
	}
	s := r.cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return contains(s.RPCs, "GetParameterValues") })
	if !s.HasEvent(sim.EventPeriodic) {
		t.Errorf("the requests ran in a session with events %v, want the periodic Inform", s.Events)
	}
	// Everything ran in that periodic session: one CR in all, the first.
	if n := r.cpe.rec.CountCRs(mark, nil); n != 1 {
		t.Errorf("%d connection requests, want 1", n)
	}
}

// busy-after-reset: after a Reboot the CPE answers connection requests 503 for a while, then
// informs. A request sent then is not ended `offline`: the CR is retried with back-off and the
// request runs when the device informs. Before issue 7 it ended `offline` at the first 503.
func TestQuirkBusyAfterResetRetried(t *testing.T) {
	r := startQuirkRig(t, "BUSY1", nil, sim.Config{Quirks: sim.Quirks{sim.QuirkBusyAfterReset}, BusyAfterReset: 5 * time.Second})
	r.idle(t, sim.Mark{})
	r.pf.publish(r.B+"/rpc", `{"id":"busy-reboot","method":"Reboot","args":{"command_key":"busy"},"expires":60}`)
	r.pf.await(r.res, map[string]any{"id": "busy-reboot", "status": "done"}, wait)
	// `done` comes with the RebootResponse, before the session ends: a request sent then may
	// rightly run in that very session (TR-069 lets the ACS go on after a Reboot), and no CR
	// would be needed. The case is a request sent once the CPE is down rebooting.
	eventually(t, "the CPE begins its busy time after the Reboot", func() bool { return r.cpe.BusyFor() > 0 })
	mark := r.cpe.rec.Mark()
	// No expires: "now or never" for an unreachable CPE, but a busy one is asked again.
	r.pf.publish(r.B+"/rpc", `{"id":"busy-1","method":"GetParameterValues","args":{"names":["`+pSoftware+`"]}}`)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := r.cpe.rec.WaitCR(ctx, mark, func(e sim.CREvent) bool { return e.Status == 503 }); err != nil {
		t.Fatalf("no connection request met the busy CPE: %v", err)
	}
	r.pf.await(r.res, map[string]any{"id": "busy-1", "status": "done"}, wait)
	requireOneTerminal(t, r.pf, r.res, "busy-1", "done")
}

// A CPE's own fault is published as it sent it: its FaultString is not replaced by the
// gateway's text, which goes to fault.explanation. Before issue 7 a 9005 on every name of a
// GetParameterValues came out as "invalid parameter names: …".
func TestQuirkCPEFaultKeepsItsString(t *testing.T) {
	r := startQuirkRig(t, "FAULT1", nil, sim.Config{})
	r.idle(t, sim.Mark{})
	r.cpe.Faults().FailName(pProvCode, sim.FaultRule{Code: 9005, String: "ProvisioningCode: not here, says the CPE"})
	r.pf.publish(r.B+"/rpc", `{"id":"fault-1","method":"GetParameterValues","args":{"names":["`+pProvCode+`"]},"expires":60}`)
	res := r.pf.await(r.res, map[string]any{"id": "fault-1", "status": "fault"}, wait)
	f, _ := res["fault"].(map[string]any)
	if f["code"] != float64(9005) || f["string"] != "ProvisioningCode: not here, says the CPE" {
		t.Errorf("fault %v, want the CPE's code and string as sent", f)
	}
	if ex, _ := f["explanation"].(string); !strings.Contains(ex, pProvCode) {
		t.Errorf("explanation %q does not name the refused parameter", ex)
	}
}
