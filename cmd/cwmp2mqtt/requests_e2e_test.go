package main

// End-to-end tests of the request life cycle of docs/mqtt-api.md ("Requests" and "Life cycle"):
// a real gateway, a simulated CPE over HTTP and a paho platform, over the gateway's embedded
// broker and over Mosquitto.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

// requestEnv makes a failed connection request fail fast: one attempt, short timeout, so
// `offline` comes within the test's patience.
func requestEnv() map[string]string {
	return map[string]string{
		"CWMP2MQTT_CWMP_CONNREQ_RETRIES": "0",
		"CWMP2MQTT_CWMP_CONNREQ_TIMEOUT": "2s",
	}
}

// reqRig is one request test's world: a gateway, a platform, and a CPE past its bootstrap whose
// HTTP goes through a holdTransport; B is the CPE's base topic, res its result topic.
type reqRig struct {
	gw     *testGateway
	pf     *platform
	cpe    *simCPE
	tr     *holdTransport
	B, res string
}

// onBrokers runs test against the embedded mochi broker and Mosquitto (skipped, naming the
// Debian package, when absent), each with a fresh rig around a CPE of serial number serial.
// The broker runs beside the gateway (mqtt.url) so that the platform subscribes before the
// gateway publishes anything retained: mochi v2.7.9 races a wildcard subscription against a
// retained publish on a new topic (TopicsIndex.retainPath, upstream issue #200), which -race
// reports; the gateway's in-process embedded broker is covered by TestE2EGatewayWithCPEs.
func onBrokers(t *testing.T, serial string, test func(t *testing.T, r reqRig)) {
	for _, b := range externalBrokers {
		t.Run(b.name, func(t *testing.T) {
			url, _, _ := b.start(t)
			env := requestEnv()
			env["CWMP2MQTT_MQTT_URL"] = url
			r := reqRig{pf: newPlatform(t, url, "cwmp2mqtt/#"), tr: newHoldTransport()}
			r.gw = startGateway(t, env)
			r.cpe = startReadyCPE(t, r.gw.ACSURL, r.pf, serial, r.tr)
			r.B = "cwmp2mqtt/" + r.cpe.ID
			r.res = r.B + "/rpc/result"
			test(t, r)
		})
	}
}

// startReadyCPE starts a TR-098 CPE and waits until its bootstrap session, with the gateway's
// own provisioning (checklist 49), is over: from then on the test's requests are the only tasks.
func startReadyCPE(t *testing.T, acsURL string, pf *platform, serial string, tr http.RoundTripper) *simCPE {
	t.Helper()
	cpe := startCPE(t, sim.Config{ACSURL: acsURL, Serial: serial, Transport: tr}, "tr098")
	s := cpe.waitSession(t, sim.Mark{}, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventBootstrap) && s.Err == nil })
	if !contains(s.RPCs, "SetParameterValues") {
		t.Fatalf("bootstrap session of %s ran %v, want the credential SetParameterValues", cpe.ID, s.RPCs)
	}
	pf.await("cwmp2mqtt/"+cpe.ID+"/availability", map[string]any{"state": "online"}, wait)
	return cpe
}

// terminals returns the results of request id on topic other than `accepted`, in arrival order.
func terminals(pf *platform, topic, id string) []map[string]any {
	var out []map[string]any
	for _, m := range pf.messages(topic) {
		var r map[string]any
		if err := json.Unmarshal(m.Payload, &r); err == nil && r["id"] == id && r["status"] != "accepted" {
			out = append(out, r)
		}
	}
	return out
}

// awaitNth returns the n-th message (1-based) on topic matching want, failing after timeout.
func (p *platform) awaitNth(topic string, want map[string]any, n int, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		seen := 0
		for _, m := range p.messages(topic) {
			var got map[string]any
			if json.Unmarshal(m.Payload, &got) == nil && matches(got, want) {
				if seen++; seen == n {
					return got
				}
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			p.t.Fatalf("no %d-th message on %s with %v within %s; seen on that topic:\n%s", n, topic, want, timeout, p.dump(topic))
		}
		select {
		case <-p.notify:
		case <-time.After(min(left, 100*time.Millisecond)):
		}
	}
}

// requireOneTerminal checks that request id ended exactly once, with status.
func requireOneTerminal(t *testing.T, pf *platform, topic, id, status string) {
	t.Helper()
	got := terminals(pf, topic, id)
	if len(got) != 1 || got[0]["status"] != status {
		t.Errorf("request %s: want exactly one terminal result %q, got %d:\n%s", id, status, len(got), pf.dump(topic))
	}
}

// holdTransport is the CPE's HTTP transport with a valve: an armed hold stops the POST whose
// body contains every given substring (the CPE's answer to one RPC) until released, as a slow
// CPE or network would. The session stays open meanwhile, so tests decide when the answer lands.
type holdTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	next *hold
}

type hold struct {
	match   []string
	held    chan struct{} // closed once the matching POST is held
	release chan struct{} // closed by Release
	once    sync.Once
}

func newHoldTransport() *holdTransport {
	return &holdTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
}

// arm holds the next POST whose body contains all of match; it is released at the test's end
// at the latest.
func (h *holdTransport) arm(t *testing.T, match ...string) *hold {
	hd := &hold{match: match, held: make(chan struct{}), release: make(chan struct{})}
	h.mu.Lock()
	h.next = hd
	h.mu.Unlock()
	t.Cleanup(hd.Release)
	return hd
}

func (hd *hold) Release() { hd.once.Do(func() { close(hd.release) }) }

// wait blocks until the hold has caught its POST.
func (hd *hold) wait(t *testing.T) {
	t.Helper()
	select {
	case <-hd.held:
	case <-time.After(wait):
		t.Fatalf("the CPE never posted a body with %q", hd.match)
	}
}

func (h *holdTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Method != http.MethodPost {
		return h.base.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.mu.Lock()
	hd := h.next
	if hd != nil && containsAll(body, hd.match) {
		h.next = nil
	} else {
		hd = nil
	}
	h.mu.Unlock()
	if hd != nil {
		close(hd.held)
		select {
		case <-hd.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return h.base.RoundTrip(r)
}

func containsAll(body []byte, subs []string) bool {
	for _, s := range subs {
		if !bytes.Contains(body, []byte(s)) {
			return false
		}
	}
	return true
}

// TR-098 parameters of the simulated Huawei the request tests read and write.
const (
	igd          = "InternetGatewayDevice."
	pSoftware    = igd + "DeviceInfo.SoftwareVersion"
	pProvCode    = igd + "DeviceInfo.ProvisioningCode"
	pPortalPC    = igd + "DeviceInfo.X_HUAWEI_PortalManagement.PortalUrl-Computer"
	pPortalPhone = igd + "DeviceInfo.X_HUAWEI_PortalManagement.PortalUrl-Phone"
	pPortalSTB   = igd + "DeviceInfo.X_HUAWEI_PortalManagement.PortalUrl-STB"
	pVendorClass = igd + "LANDevice.1.LANHostConfigManagement.DHCPConditionalServingPool.%d.VendorClassID"
)

// Bad requests end `rejected` with a reason that names the problem (docs/mqtt-api.md "Life
// cycle"), are never `accepted`, and leave the gateway serving good requests.
func TestE2ERequestsRejectedWithReason(t *testing.T) {
	onBrokers(t, "REJECT1", func(t *testing.T, rig reqRig) {
		pf, cpe, B := rig.pf, rig.cpe, rig.B
		const never = "000000-NEVERSEEN" // a well-formed id of a device that never informed
		cases := []struct {
			name, device, payload, id string
			want                      []string // substrings of the `error`
		}{
			{"malformed JSON", cpe.ID, `{"id":"bad-json","method":`, "", []string{"malformed JSON"}},
			{"not an object", cpe.ID, `["GetParameterValues"]`, "", []string{"JSON object", "array"}},
			{"unknown method", cpe.ID, `{"id":"bad-method","method":"Rebot","args":{}}`, "bad-method", []string{"method", `unknown method "Rebot"`}},
			{"missing args", cpe.ID, `{"id":"bad-missing","method":"GetParameterValues","args":{}}`, "bad-missing", []string{"args.names", "required"}},
			{"no args at all", cpe.ID, `{"id":"bad-noargs","method":"SetParameterValues"}`, "bad-noargs", []string{"args", "required"}},
			{"mistyped args", cpe.ID, `{"id":"bad-type","method":"GetParameterValues","args":{"names":["` + pSoftware + `",7]}}`, "bad-type", []string{"args.names[1]", "must be a string, got a number"}},
			{"mistyped expires", cpe.ID, `{"id":"bad-expires","method":"Reboot","expires":"soon"}`, "bad-expires", []string{"expires"}},
			{"unknown field", cpe.ID, `{"id":"bad-field","method":"Reboot","timout":5}`, "bad-field", []string{"timout", "unknown field"}},
			{"unknown device", never, `{"id":"bad-device","method":"Reboot","args":{}}`, "bad-device", []string{"unknown device"}},
		}
		for _, c := range cases {
			topic := "cwmp2mqtt/" + c.device + "/rpc/result"
			// One at a time: two of them carry no usable id, so the n-th rejection is theirs.
			want := map[string]any{"id": c.id, "status": "rejected"}
			n := pf.count(topic, want)
			pf.publish("cwmp2mqtt/"+c.device+"/rpc", c.payload)
			r := pf.awaitNth(topic, want, n+1, wait)
			reason, _ := r["error"].(string)
			for _, w := range c.want {
				if !strings.Contains(reason, w) {
					t.Errorf("%s: reason %q does not mention %q", c.name, reason, w)
				}
			}
			if r["device"] != c.device {
				t.Errorf("%s: rejection names device %v, want %s", c.name, r["device"], c.device)
			}
		}

		// The gateway still serves: a good request after the bad ones runs on the CPE.
		pf.publish(B+"/rpc", `{"id":"good-1","method":"GetParameterValues","args":{"names":["`+pSoftware+`"]},"expires":30}`)
		done := pf.await(B+"/rpc/result", map[string]any{"id": "good-1", "status": "done"}, wait)
		if !strings.Contains(mustJSON(done["result"]), cpe.value(t, pSoftware)) {
			t.Errorf("good request result %v lacks the CPE's software version", done["result"])
		}
		for _, c := range cases {
			topic := "cwmp2mqtt/" + c.device + "/rpc/result"
			if c.id != "" && pf.count(topic, map[string]any{"id": c.id, "status": "accepted"}) != 0 {
				t.Errorf("%s: a rejected request was also accepted", c.name)
			}
			if c.id != "" {
				requireOneTerminal(t, pf, topic, c.id, "rejected")
			}
		}
		if n := pf.count(B+"/rpc/result", map[string]any{"id": "", "status": "rejected"}); n != 2 {
			t.Errorf("%d rejections with an empty id, want 2 (malformed JSON, not an object)", n)
		}
	})
}

// A CPE that does not answer connection requests: without "expires" a request ends `offline`
// at once; with "expires" it waits in the queue, survives failed wake-ups, and runs when the CPE
// informs on its own — by a "2 PERIODIC", not a "6 CONNECTION REQUEST" (checklist 50).
func TestChecklist50QueuedRequestRunsAtOwnInform(t *testing.T) {
	onBrokers(t, "MUTED1", func(t *testing.T, rig reqRig) {
		pf, cpe, B, res := rig.pf, rig.cpe, rig.B, rig.res
		cpe.SetMuted(true)

		gpv := func(id, extra string) string {
			return `{"id":"` + id + `","method":"GetParameterValues","args":{"names":["` + pSoftware + `"]}` + extra + `}`
		}
		pf.publish(B+"/rpc", gpv("now-1", ""))
		pf.await(res, map[string]any{"id": "now-1", "status": "accepted"}, wait)
		off := pf.await(res, map[string]any{"id": "now-1", "status": "offline"}, wait)
		if !strings.Contains(off["error"].(string), "connection request failed") {
			t.Errorf("offline reason %q does not say the connection request failed", off["error"])
		}

		pf.publish(B+"/rpc", gpv("later-1", `,"expires":60`))
		pf.await(res, map[string]any{"id": "later-1", "status": "accepted"}, wait)
		// A second no-wait request: its `offline` proves a wake-up failed after later-1 was
		// queued, and later-1 must have outlived it.
		pf.publish(B+"/rpc", gpv("now-2", ""))
		pf.await(res, map[string]any{"id": "now-2", "status": "offline"}, wait)
		if got := terminals(pf, res, "later-1"); len(got) != 0 {
			t.Fatalf("queued request ended while the CPE was unreachable: %v", got)
		}

		mark := cpe.rec.Mark()
		cpe.Inform(sim.EventPeriodic, "")
		done := pf.await(res, map[string]any{"id": "later-1", "status": "done"}, wait)
		if !strings.Contains(mustJSON(done["result"]), cpe.value(t, pSoftware)) {
			t.Errorf("result %v lacks the CPE's software version", done["result"])
		}
		s := cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return contains(s.RPCs, "GetParameterValues") })
		if !s.HasEvent(sim.EventPeriodic) || s.HasEvent(sim.EventConnectionRequest) {
			t.Errorf("the request ran in a session with events %v, want the CPE's own 2 PERIODIC", s.Events)
		}
		requireOneTerminal(t, pf, res, "now-1", "offline")
		requireOneTerminal(t, pf, res, "now-2", "offline")
		requireOneTerminal(t, pf, res, "later-1", "done")
	})
}

// "timeout" counts from when the request is sent in a session (docs/mqtt-api.md): a request
// queued for a muted CPE does not time out while it waits; sent, with the CPE's answer held
// back, it ends `timeout` once, and the late answer is dropped without a second result.
func TestE2ERequestTimeoutOnce(t *testing.T) {
	onBrokers(t, "SLOW1", func(t *testing.T, rig reqRig) {
		pf, cpe, B, res, tr := rig.pf, rig.cpe, rig.B, rig.res, rig.tr
		cpe.SetMuted(true)

		pf.publish(B+"/rpc", `{"id":"slow-1","method":"GetParameterValues","args":{"names":["`+pProvCode+`"]},"timeout":1,"expires":60}`)
		pf.await(res, map[string]any{"id": "slow-1", "status": "accepted"}, wait)
		// Waiting in the queue is not the timeout: longer than it, no result (this absence is
		// what is asserted, so it takes the time it takes).
		if m, ok := pf.find(res, map[string]any{"id": "slow-1", "status": "timeout"}, 1500*time.Millisecond); ok {
			t.Fatalf("timed out while queued, before it was ever sent: %v", m)
		}

		hd := tr.arm(t, "GetParameterValuesResponse", pProvCode)
		mark := cpe.rec.Mark()
		cpe.Inform(sim.EventPeriodic, "")
		hd.wait(t)
		r := pf.await(res, map[string]any{"id": "slow-1", "status": "timeout"}, wait)
		if reason, _ := r["error"].(string); !strings.Contains(reason, "timeout") {
			t.Errorf("timeout reason %q does not mention the timeout", reason)
		}
		hd.Release()
		// The late answer reaches the gateway and the session ends normally.
		cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return contains(s.RPCs, "GetParameterValues") && s.Err == nil })

		// The queue is not wedged by the dropped answer: the next request runs.
		cpe.SetMuted(false)
		pf.publish(B+"/rpc", `{"id":"after-1","method":"GetParameterValues","args":{"names":["`+pSoftware+`"]},"expires":30}`)
		pf.await(res, map[string]any{"id": "after-1", "status": "done"}, wait)
		requireOneTerminal(t, pf, res, "slow-1", "timeout")
		requireOneTerminal(t, pf, res, "after-1", "done")
	})
}

// Tasks of one device run in the order the platform published them, and their results come
// out in that order.
func TestE2ETasksRunInOrder(t *testing.T) {
	onBrokers(t, "ORDER1", func(t *testing.T, rig reqRig) {
		pf, cpe, B, res := rig.pf, rig.cpe, rig.B, rig.res

		type req struct{ id, method, name, payload string }
		var reqs []req
		for i, name := range []string{pPortalPC, fmt.Sprintf(pVendorClass, 1), pPortalPhone, fmt.Sprintf(pVendorClass, 2), pPortalSTB} {
			id := fmt.Sprintf("order-%d", i+1)
			if i%2 == 0 {
				reqs = append(reqs, req{id, "SetParameterValues", name,
					fmt.Sprintf(`{"id":%q,"method":"SetParameterValues","args":{"parameters":[[%q,%q,"xsd:string"]]},"expires":30}`, id, name, "http://"+id)})
			} else {
				reqs = append(reqs, req{id, "GetParameterValues", name,
					fmt.Sprintf(`{"id":%q,"method":"GetParameterValues","args":{"names":[%q]},"expires":30}`, id, name)})
			}
		}
		before := len(cpe.rec.RPCs())
		for _, r := range reqs {
			pf.publish(B+"/rpc", r.payload)
		}
		for _, r := range reqs {
			pf.await(res, map[string]any{"id": r.id, "status": "done"}, wait)
		}

		// The CPE executed them in order (the Recorder is the CPE's own account).
		var ran []string
		for _, e := range cpe.rec.RPCs()[before:] {
			for _, r := range reqs {
				if e.Method == r.method && only(e.Names, r.name) {
					ran = append(ran, r.id)
				}
			}
		}
		var want, accepted, ended []string
		for _, r := range reqs {
			want = append(want, r.id)
		}
		for _, m := range pf.messages(res) {
			var r map[string]any
			if json.Unmarshal(m.Payload, &r) == nil {
				if r["status"] == "accepted" {
					accepted = append(accepted, r["id"].(string))
				} else {
					ended = append(ended, r["id"].(string))
				}
			}
		}
		for what, got := range map[string][]string{"executed on the CPE": ran, "accepted": accepted, "results": ended} {
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s in order %v, want %v", what, got, want)
			}
		}
		for _, r := range reqs {
			if r.method == "SetParameterValues" {
				if got := cpe.value(t, r.name); got != "http://"+r.id {
					t.Errorf("%s on the CPE = %q after %s", r.name, got, r.id)
				}
			}
		}
	})
}

// A device in session takes a task queued during that session: no new connection request, no
// second session (docs/design.md §1 step 3).
func TestE2ESessionTakesNewTasks(t *testing.T) {
	onBrokers(t, "INSESSION1", func(t *testing.T, rig reqRig) {
		pf, cpe, B, res, tr := rig.pf, rig.cpe, rig.B, rig.res, rig.tr

		hd := tr.arm(t, "GetParameterValuesResponse", pProvCode)
		mark, before := cpe.rec.Mark(), len(cpe.rec.Sessions())
		pf.publish(B+"/rpc", `{"id":"first","method":"GetParameterValues","args":{"names":["`+pProvCode+`"]},"expires":30}`)
		hd.wait(t) // the session is open, the CPE's answer to "first" on its way
		pf.publish(B+"/rpc", `{"id":"second","method":"SetParameterValues","args":{"parameters":[["`+pPortalPC+`","http://second","xsd:string"]]},"expires":30}`)
		pf.await(res, map[string]any{"id": "second", "status": "accepted"}, wait)
		hd.Release()
		pf.await(res, map[string]any{"id": "first", "status": "done"}, wait)
		pf.await(res, map[string]any{"id": "second", "status": "done"}, wait)

		s := cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return contains(s.RPCs, "GetParameterValues") })
		if strings.Join(s.RPCs, ",") != "GetParameterValues,SetParameterValues" {
			t.Errorf("the session ran %v, want both requests in it", s.RPCs)
		}
		if s.Err != nil {
			t.Errorf("session: %v", s.Err)
		}
		if n := len(cpe.rec.Sessions()) - before; n != 1 {
			t.Errorf("%d sessions since the first request, want 1", n)
		}
		if cpe.value(t, pPortalPC) != "http://second" {
			t.Errorf("the second request did not change the CPE")
		}
	})
}

// The set and get examples of docs/ run against a real gateway and a simulated TR-098 CPE as a
// user would paste them: each is accepted and ends done, never rejected (the documented
// wifi.ssids.1.ssid and .enable were refused as unknown keys).
func TestDocSetGetExamplesRunAgainstTheGateway(t *testing.T) {
	exs, err := apitest.Examples()
	if err != nil {
		t.Fatal(err)
	}
	b := externalBrokers[0]
	url, _, _ := b.start(t)
	env := requestEnv()
	env["CWMP2MQTT_MQTT_URL"] = url
	pf := newPlatform(t, url, "cwmp2mqtt/#")
	gw := startGateway(t, env)
	cpe := startReadyCPE(t, gw.ACSURL, pf, "DOCS0001", nil)
	B := "cwmp2mqtt/" + cpe.ID
	ran := 0
	for _, ex := range exs {
		var sub string
		switch ex.Schema {
		case "set-request":
			sub = "set"
		case "get-request":
			sub = "get"
		default:
			continue
		}
		var req map[string]any
		if err := json.Unmarshal([]byte(ex.Body), &req); err != nil {
			t.Fatalf("docs/%s:%d: %v", ex.File, ex.Line, err)
		}
		id := fmt.Sprintf("doc-%s-%d", sub, ex.Line)
		req["id"] = id
		pf.publish(B+"/"+sub, mustJSON(req))
		deadline := time.Now().Add(wait)
		var ends []map[string]any
		for len(ends) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			ends = terminals(pf, B+"/rpc/result", id)
		}
		if len(ends) == 0 || ends[0]["status"] != "done" {
			t.Errorf("docs/%s:%d (%s) did not end done: %v", ex.File, ex.Line, ex.Schema, ends)
			continue
		}
		ran++
	}
	if ran < 2 {
		t.Fatalf("%d set/get examples ran", ran)
	}
}
