package main

// End-to-end tests of the interview (docs/mqtt-api.md "Interview") and of "only names the device
// has": a real gateway with the built-in standard translator, cpesim CPEs with quirk profiles of
// real firmware, and a paho platform on the embedded broker.

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

// interviewRig is a gateway and a platform subscribed to everything.
type interviewRig struct {
	gw *testGateway
	pf *platform
}

func newInterviewRig(t *testing.T) interviewRig {
	gw := startGateway(t, nil)
	return interviewRig{gw: gw, pf: newPlatform(t, gw.Broker, "cwmp2mqtt/#")}
}

// interviewDone waits for the device's interview_done event and returns its data.
func (r interviewRig) interviewDone(t *testing.T, id string) map[string]any {
	t.Helper()
	ev := r.pf.await("cwmp2mqtt/"+id+"/event", map[string]any{"event": "interview_done"}, wait)
	data, _ := ev["data"].(map[string]any)
	if data["state"] != "done" {
		t.Fatalf("interview_done of %s carries %v", id, ev)
	}
	if n := r.pf.count("cwmp2mqtt/"+id+"/event", map[string]any{"event": "interview_failed"}); n > 0 {
		t.Fatalf("%s: %d interview_failed events:\n%s", id, n, r.pf.dump("cwmp2mqtt/"+id+"/event"))
	}
	return data
}

// lastState returns the values of the last state published for the device.
func (r interviewRig) lastState(t *testing.T, id string) map[string]any {
	t.Helper()
	msgs := r.pf.messages("cwmp2mqtt/" + id + "/state")
	if len(msgs) == 0 {
		t.Fatalf("no state for %s", id)
	}
	var st struct {
		Values map[string]any `json:"values"`
	}
	if err := json.Unmarshal(msgs[len(msgs)-1].Payload, &st); err != nil {
		t.Fatal(err)
	}
	return st.Values
}

// A CPE that never sends BOOT or BOOTSTRAP (every CPE of a site re-pointed at the gateway) has a
// complete state after its first session, in both data models; before the interview its state
// held the few values of its Inform for ever. The TR-181 LAN address and mask are among them:
// they need the DHCPv4 pool that names the LAN interface.
func TestInterviewPeriodicOnlyCPEHasCompleteStateAfterFirstSession(t *testing.T) {
	for _, c := range []struct {
		model string
		want  []string
	}{
		{"tr098", []string{"device.uptime", "wan.status", "wan.ipv4_address", "lan.ipv4_address", "lan.ipv4_netmask",
			"lan.dhcp_pool_start", "wifi.ssid.1.ssid", "wifi.radio.1.channel", "hosts.count", "hosts.1.mac",
			"management.periodic_inform_interval"}},
		// The simulated TR-181 WAN (10.0.0.2, no NAT, no route) is not told from a LAN: no wan.*.
		{"tr181", []string{"device.uptime", "device.memory_free", "lan.ipv4_address",
			"lan.ipv4_netmask", "lan.dhcp_pool_start", "wifi.ssid.1.ssid", "wifi.radio.1.channel", "hosts.count",
			"management.periodic_inform_interval"}},
	} {
		t.Run(c.model, func(t *testing.T) {
			r := newInterviewRig(t)
			cpe := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "PERIODIC-" + strings.ToUpper(c.model),
				Quirks: sim.Quirks{sim.QuirkPeriodicOnly}}, c.model)
			first := cpe.waitSession(t, sim.Mark{}, func(sim.SessionResult) bool { return true })
			if first.Err != nil || !first.HasEvent("2 PERIODIC") || first.HasEvent(sim.EventBootstrap) {
				t.Fatalf("first session: events %v, err %v; want a periodic-only CPE's clean session", first.Events, first.Err)
			}
			if !contains(first.RPCs, "GetParameterNames") || !contains(first.RPCs, "GetParameterValues") {
				t.Fatalf("first session ran %v: want the interview (GetParameterNames, then GetParameterValues)", first.RPCs)
			}
			data := r.interviewDone(t, cpe.ID)
			if data["reason"] != "first_contact" || data["shared"] != false || data["names"].(float64) < 500 {
				t.Errorf("interview_done data %v: want a first-contact discovery of the whole model", data)
			}
			st := r.lastState(t, cpe.ID)
			var missing []string
			for _, k := range c.want {
				if _, ok := st[k]; !ok {
					missing = append(missing, k)
				}
			}
			if len(missing) > 0 {
				t.Errorf("state after the first session lacks %v; it has %d keys: %v", missing, len(st), st)
			}
			if got, want := int(data["keys"].(float64)), len(st); got != want {
				t.Errorf("interview_done says %d keys, the state has %d", got, want)
			}
			if c.model == "tr181" && (st["lan.ipv4_address"] != cpe.value(t, "Device.IP.Interface.1.IPv4Address.1.IPAddress") ||
				st["lan.ipv4_netmask"] != cpe.value(t, "Device.IP.Interface.1.IPv4Address.1.SubnetMask")) {
				t.Errorf("TR-181 LAN %v/%v, want the CPE's IP.Interface.1", st["lan.ipv4_address"], st["lan.ipv4_netmask"])
			}
			dev := deviceInfo(t, r.pf, cpe.ID)
			if iv, _ := dev["interview"].(map[string]any); iv["state"] != "done" {
				t.Errorf("info of %s: interview %v, want state done", cpe.ID, dev["interview"])
			}
		})
	}
}

// deviceInfo waits for the device's retained B/D/info with an interview that ended.
func deviceInfo(t *testing.T, pf *platform, id string) map[string]any {
	t.Helper()
	var found map[string]any
	pf.awaitFunc("cwmp2mqtt/"+id+"/info", func(payload []byte) bool {
		var d map[string]any
		if json.Unmarshal(payload, &d) != nil {
			return false
		}
		iv, _ := d["interview"].(map[string]any)
		if iv != nil && iv["state"] != "running" {
			found = d
			return true
		}
		return false
	})
	return found
}

// awaitFunc waits for a message on topic whose payload satisfies ok.
func (p *platform) awaitFunc(topic string, ok func([]byte) bool) {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		for _, m := range p.messages(topic) {
			if ok(m.Payload) {
				return
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			p.t.Fatalf("no matching message on %s within %s; seen:\n%s", topic, wait, p.dump(topic))
		}
		select {
		case <-p.notify:
		case <-time.After(min(left, 100*time.Millisecond)):
		}
	}
}

// A sibling (same OUI, ProductClass and SoftwareVersion) skips discovery: no GetParameterNames,
// the names come from the first device's interview.
func TestInterviewSiblingSharesTheDataModel(t *testing.T) {
	r := newInterviewRig(t)
	a := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "SIBLING-A", Quirks: sim.Quirks{sim.QuirkPeriodicOnly}}, "tr098")
	r.interviewDone(t, a.ID)
	b := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "SIBLING-B", Quirks: sim.Quirks{sim.QuirkPeriodicOnly}}, "tr098")
	data := r.interviewDone(t, b.ID)
	if data["shared"] != true {
		t.Errorf("sibling's interview %v: want shared", data)
	}
	if n := b.rec.Received(sim.Mark{}, "SIBLING-B", "GetParameterNames", ""); n != 0 {
		t.Errorf("sibling was sent %d GetParameterNames, want none", n)
	}
	if _, ok := r.lastState(t, b.ID)["wifi.ssid.1.ssid"]; !ok {
		t.Errorf("sibling's state lacks wifi.ssid.1.ssid: %v", r.lastState(t, b.ID))
	}
}

// A CPE that drops the connection on a name it lacks (no 9005) is never sent one by the
// interview, a get without keys, or a set whose key has alternatives in TR-098 (the Huawei model
// has WLANConfiguration.{i}.PreSharedKey.1.PreSharedKey, not KeyPassphrase). A key the device
// lacks is rejected at once, naming the key and the parameter, and nothing reaches the CPE.
func TestInterviewCrashOnUnknownNameCPEIsNeverSentANameItLacks(t *testing.T) {
	r := newInterviewRig(t)
	cpe := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "CRASHY",
		Quirks: sim.Quirks{sim.QuirkCrashOnUnknownName, sim.QuirkPeriodicOnly}}, "tr098")
	B := "cwmp2mqtt/" + cpe.ID
	res := B + "/rpc/result"
	r.interviewDone(t, cpe.ID)

	r.pf.publish(B+"/get", `{"id":"get-all","expires":30}`)
	got := r.pf.await(res, map[string]any{"id": "get-all", "status": "done"}, wait)
	values, _ := got["result"].(map[string]any)["values"].(map[string]any)
	if _, ok := values["wifi.ssid.1.ssid"]; !ok {
		t.Errorf("get without keys: %v", got)
	}

	r.pf.publish(B+"/set", `{"id":"psk","values":{"wifi.ssid.1.passphrase":"correct horse battery"},"expires":30}`)
	r.pf.await(res, map[string]any{"id": "psk", "status": "done"}, wait)
	const psk = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.PreSharedKey.1.PreSharedKey"
	if v := cpe.value(t, psk); v != "correct horse battery" {
		t.Errorf("%s = %q after the set", psk, v)
	}

	mark := cpe.rec.Mark()
	for _, c := range []struct{ topic, payload, key, param string }{
		{"/get", `{"id":"cpu","keys":["device.cpu_usage"],"expires":30}`, "device.cpu_usage", "InternetGatewayDevice.DeviceInfo.ProcessStatus.CPUUsage"},
		{"/set", `{"id":"ssid9","values":{"wifi.ssid.9.ssid":"nine"},"expires":30}`, "wifi.ssid.9.ssid", "WLANConfiguration.9."},
	} {
		var id map[string]any
		_ = json.Unmarshal([]byte(c.payload), &id)
		r.pf.publish(B+c.topic, c.payload)
		rej := r.pf.await(res, map[string]any{"id": id["id"], "status": "rejected"}, wait)
		if e, _ := rej["error"].(string); !strings.Contains(e, c.key) || !strings.Contains(e, c.param) {
			t.Errorf("%s rejected with %q: want the key %s and the parameter %s named", id["id"], e, c.key, c.param)
		}
	}
	// A request after the rejected ones: once it is done, anything the rejected ones had sent
	// would have been received before it.
	r.pf.publish(B+"/get", `{"id":"after","keys":["device.uptime"],"expires":30}`)
	r.pf.await(res, map[string]any{"id": "after", "status": "done"}, wait)
	if n := cpe.rec.CountRPCs(mark, func(e sim.RPCEvent) bool {
		return e.Method != "GetParameterValues" || !e.Named("InternetGatewayDevice.DeviceInfo.UpTime")
	}); n != 0 {
		t.Errorf("the rejected requests reached the CPE: %d RPCs besides the last get", n)
	}
	if n := cpe.rec.Crashes(sim.Mark{}, "CRASHY"); n != 0 {
		t.Errorf("the CPE crashed %d times on names it lacks:\n%s", n, r.pf.dump(res))
	}
	if n := r.pf.count(res, map[string]any{"status": "done"}); n != 3 {
		t.Errorf("%d requests done, want 3:\n%s", n, r.pf.dump(res))
	}
}

// A CPE that faults the whole-tree GetParameterNames is walked with NextLevel=true; one that
// ignores NextLevel answers the walk's first question with the whole tree, and the walk stops
// there rather than asking for each object again.
func TestInterviewWalksACPEThatRefusesTheWholeTreeAndIgnoresNextLevel(t *testing.T) {
	r := newInterviewRig(t)
	cpe := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "IGNORENL",
		Quirks: sim.Quirks{sim.QuirkIgnoreNextLevel, sim.QuirkPeriodicOnly, sim.QuirkCrashOnUnknownName}}, "tr181")
	cpe.Faults().FailMethod("GetParameterNames", sim.FaultRule{Code: 9002, String: "too large", Times: 1})
	data := r.interviewDone(t, cpe.ID)
	if data["walked"] != true || data["names"].(float64) < 500 {
		t.Errorf("interview %v: want a walk that found the whole model", data)
	}
	if n := cpe.rec.Received(sim.Mark{}, "IGNORENL", "GetParameterNames", ""); n != 2 {
		t.Errorf("%d GetParameterNames sent, want 2 (the refused whole tree, the walk's root answered in full)", n)
	}
	st := r.lastState(t, cpe.ID)
	for _, k := range []string{"lan.ipv4_address", "wifi.ssid.1.ssid", "device.uptime"} {
		if _, ok := st[k]; !ok {
			t.Errorf("state lacks %s after the walked interview: %v", k, st)
		}
	}
	if n := cpe.rec.Crashes(sim.Mark{}, "IGNORENL"); n != 0 {
		t.Errorf("the CPE crashed %d times", n)
	}
}

// The data model is discovered again when the firmware changes (a new model key: nothing shared)
// and on the reinterview bridge operation, which wakes the device with a connection request.
func TestInterviewAgainOnFirmwareChangeAndOnRequest(t *testing.T) {
	r := newInterviewRig(t)
	cpe := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "REIV", Quirks: sim.Quirks{sim.QuirkPeriodicOnly}}, "tr181")
	r.interviewDone(t, cpe.ID)
	ev := "cwmp2mqtt/" + cpe.ID + "/event"

	mark := cpe.rec.Mark()
	if err := cpe.SetValue("Device.DeviceInfo.SoftwareVersion", "2.0.0"); err != nil {
		t.Fatal(err)
	}
	cpe.Inform("2 PERIODIC", "")
	got := r.pf.awaitNth(ev, map[string]any{"event": "interview_done"}, 2, wait)
	if d := got["data"].(map[string]any); d["reason"] != "firmware_changed" || d["firmware"] != "2.0.0" || d["shared"] != false {
		t.Errorf("after the firmware change: %v", got)
	}
	if n := cpe.rec.Received(mark, "REIV", "GetParameterNames", ""); n != 1 {
		t.Errorf("%d GetParameterNames after the firmware change, want 1", n)
	}

	mark = cpe.rec.Mark()
	r.pf.publish("cwmp2mqtt/bridge/request/reinterview", `{"transaction":"ri-1","device":"`+cpe.ID+`"}`)
	resp := r.pf.await("cwmp2mqtt/bridge/response/reinterview", map[string]any{"transaction": "ri-1"}, wait)
	if resp["status"] != "ok" {
		t.Fatalf("reinterview answered %v", resp)
	}
	got = r.pf.awaitNth(ev, map[string]any{"event": "interview_done"}, 3, wait)
	if d := got["data"].(map[string]any); d["reason"] != "requested" || d["shared"] != false {
		t.Errorf("after reinterview: %v", got)
	}
	if n := cpe.rec.Received(mark, "REIV", "GetParameterNames", ""); n != 1 {
		t.Errorf("%d GetParameterNames after reinterview, want 1 (discovered again, not shared)", n)
	}

	r.pf.publish("cwmp2mqtt/bridge/request/reinterview", `{"transaction":"ri-2","device":"nope"}`)
	if resp := r.pf.await("cwmp2mqtt/bridge/response/reinterview", map[string]any{"transaction": "ri-2"}, wait); resp["status"] != "error" {
		t.Errorf("reinterview of an unknown device: %v", resp)
	}
}

// Devices of one new model met at the same moment (a site re-pointed at the gateway) discover
// the model once: the others wait for those names, then read their state.
func TestInterviewSiteOfOneModelMetAtOnceDiscoversItOnce(t *testing.T) {
	r := newInterviewRig(t)
	var cpes []*simCPE
	for i := range 6 {
		cpes = append(cpes, startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: fmt.Sprintf("SITE%d", i),
			Quirks: sim.Quirks{sim.QuirkPeriodicOnly}}, "tr098"))
	}
	gpn, shared := 0, 0
	for _, c := range cpes {
		if r.interviewDone(t, c.ID)["shared"] == true {
			shared++
		}
		if _, ok := r.lastState(t, c.ID)["wifi.ssid.1.ssid"]; !ok {
			t.Errorf("%s: state lacks wifi.ssid.1.ssid", c.ID)
		}
		gpn += c.rec.Received(sim.Mark{}, "", "GetParameterNames", "")
	}
	if gpn != 1 || shared != len(cpes)-1 {
		t.Errorf("%d GetParameterNames for %d devices of one model (%d shared), want 1", gpn, len(cpes), shared)
	}
}

// Tables change after the interview: an SSID added since (by the CPE's own UI, say) is not in
// the interview's names, so a get of it is refused (the CPE is not asked for a name it may lack)
// until a read of the table shows it; from then on the get is sent.
func TestInterviewTableInstanceSeenAfterTheInterviewIsReadable(t *testing.T) {
	r := newInterviewRig(t)
	cpe := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "NEWSSID",
		Quirks: sim.Quirks{sim.QuirkPeriodicOnly, sim.QuirkCrashOnUnknownName}}, "tr181")
	B, res := "cwmp2mqtt/"+cpe.ID, "cwmp2mqtt/"+cpe.ID+"/rpc/result"
	r.interviewDone(t, cpe.ID)
	n, err := cpe.Model().AddObject("Device.WiFi.SSID.")
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("wifi.ssid.%d.ssid", n)
	if err := cpe.SetValue(fmt.Sprintf("Device.WiFi.SSID.%d.SSID", n), "added-later"); err != nil {
		t.Fatal(err)
	}
	r.pf.publish(B+"/get", `{"id":"early","keys":["`+key+`"],"expires":30}`)
	if got := r.pf.await(res, map[string]any{"id": "early", "status": "rejected"}, wait); !strings.Contains(got["error"].(string), key) {
		t.Errorf("get of an SSID unknown to the gateway: %v, want rejected naming %s", got, key)
	}
	r.pf.publish(B+"/get", `{"id":"table","keys":["wifi.ssid"],"expires":30}`)
	r.pf.await(res, map[string]any{"id": "table", "status": "done"}, wait)
	r.pf.publish(B+"/get", `{"id":"late","keys":["`+key+`"],"expires":30}`)
	got := r.pf.await(res, map[string]any{"id": "late", "status": "done"}, wait)
	if v, _ := got["result"].(map[string]any); v["values"].(map[string]any)[key] != "added-later" {
		t.Errorf("get of the new SSID after the table was read: %v", got)
	}
	if n := cpe.rec.Crashes(sim.Mark{}, "NEWSSID"); n != 0 {
		t.Errorf("the CPE crashed %d times", n)
	}
}

// A get or set that arrives while the device's first interview is still discovering its data
// model is planned from the translator's tables alone; it is checked against the names before
// it is sent: one naming what the device lacks ends `cancelled` (naming it) rather than crash a
// CPE that drops the session on an unknown name; the others run.
func TestInterviewRequestPlannedBeforeTheNamesIsCheckedWhenSent(t *testing.T) {
	r := newInterviewRig(t)
	tr := newHoldTransport()
	held := tr.arm(t, "GetParameterNamesResponse")
	cpe := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "EARLY", Transport: tr,
		Quirks: sim.Quirks{sim.QuirkCrashOnUnknownName, sim.QuirkPeriodicOnly}}, "tr098")
	B, res := "cwmp2mqtt/"+cpe.ID, "cwmp2mqtt/"+cpe.ID+"/rpc/result"
	held.wait(t) // the interview is discovering: the names are not known yet
	r.pf.publish(B+"/get", `{"id":"cpu","keys":["device.cpu_usage"],"expires":30}`)
	r.pf.publish(B+"/get", `{"id":"up","keys":["device.uptime"],"expires":30}`)
	r.pf.publish(B+"/set", `{"id":"code","values":{"device.provisioning_code":"site-7"},"expires":30}`)
	for _, id := range []string{"cpu", "up", "code"} {
		r.pf.await(res, map[string]any{"id": id, "status": "accepted"}, wait)
	}
	held.Release()
	r.interviewDone(t, cpe.ID)
	got := r.pf.await(res, map[string]any{"id": "cpu", "status": "cancelled"}, wait)
	if e, _ := got["error"].(string); !strings.Contains(e, "InternetGatewayDevice.DeviceInfo.ProcessStatus.CPUUsage") {
		t.Errorf("cpu cancelled with %q: want the parameter named", e)
	}
	r.pf.await(res, map[string]any{"id": "up", "status": "done"}, wait)
	r.pf.await(res, map[string]any{"id": "code", "status": "done"}, wait)
	if v := cpe.value(t, "InternetGatewayDevice.DeviceInfo.ProvisioningCode"); v != "site-7" {
		t.Errorf("ProvisioningCode %q after the set", v)
	}
	if n := cpe.rec.Crashes(sim.Mark{}, "EARLY"); n != 0 {
		t.Errorf("the CPE crashed %d times", n)
	}
}

// The names survive a restart (bbolt): the device is not interviewed again, and a get of a key
// it lacks is still refused at once.
func TestInterviewNamesSurviveARestart(t *testing.T) {
	// Fixed ports, so the CPE and the platform find the gateway again after the restart.
	gw := startGateway(t, map[string]string{"CWMP2MQTT_CWMP_LISTEN": freeAddr(t), "CWMP2MQTT_MQTT_EMBEDDED_LISTEN": freeAddr(t)})
	r := interviewRig{gw: gw, pf: newPlatform(t, gw.Broker, "cwmp2mqtt/#")}
	cpe := startCPE(t, sim.Config{ACSURL: r.gw.ACSURL, Serial: "RESTART",
		Quirks: sim.Quirks{sim.QuirkPeriodicOnly, sim.QuirkCrashOnUnknownName}}, "tr098")
	B, res := "cwmp2mqtt/"+cpe.ID, "cwmp2mqtt/"+cpe.ID+"/rpc/result"
	r.interviewDone(t, cpe.ID)
	online := map[string]any{"state": "online"}
	onlineBefore := r.pf.count("cwmp2mqtt/bridge/state", online)
	r.gw.stop()
	r.gw.start()
	mark := cpe.rec.Mark()
	cpe.Inform("2 PERIODIC", "")
	cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return s.Err == nil })
	// The embedded broker restarted with the gateway: the platform is back (reconnected and
	// subscribed again: the gateway's bridge/state reached it once more) before it asks, or the
	// get or its answer is lost with the old connection.
	eventually(t, "the platform subscribed again after the restart", func() bool {
		return r.pf.count("cwmp2mqtt/bridge/state", online) > onlineBefore
	})
	r.pf.publish(B+"/get", `{"id":"cpu","keys":["device.cpu_usage"],"expires":30}`)
	got := r.pf.await(res, map[string]any{"id": "cpu", "status": "rejected"}, wait)
	if e, _ := got["error"].(string); !strings.Contains(e, "InternetGatewayDevice.DeviceInfo.ProcessStatus.CPUUsage") {
		t.Errorf("after the restart: %v", got)
	}
	if n := cpe.rec.Received(mark, "RESTART", "GetParameterNames", ""); n != 0 {
		t.Errorf("%d GetParameterNames after the restart, want none", n)
	}
	if n := r.pf.count("cwmp2mqtt/"+cpe.ID+"/event", map[string]any{"event": "interview_started"}); n != 1 {
		t.Errorf("%d interviews, want 1", n)
	}
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
