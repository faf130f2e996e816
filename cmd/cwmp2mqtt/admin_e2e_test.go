package main

// End-to-end tests of the admin listener (docs/operations.md, Monitoring): a real gateway with a
// simulated fleet, scraped over HTTP.

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// adminURL is the test gateway's admin listener.
func (tg *testGateway) adminURL() string { return "http://" + tg.g.admin.Addr().String() }

// scrape reads /metrics into series → value, the series written as exposed
// (`name{label="v",…}`, labels sorted by name).
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// startOnlineFleet starts a fleet serving connection requests and waits until the platform sees
// each CPE online; it returns the fleet and the gateway's device ids.
func startOnlineFleet(t *testing.T, pf *platform, cfg sim.FleetConfig) (*sim.Fleet, []string) {
	t.Helper()
	cfg.CRListen = "127.0.0.1:0"
	f, err := sim.NewFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	ids := make([]string, cfg.N)
	for i := range cfg.N {
		ids[i] = acs.DeviceIDFor(f.CPE(i).Model().DeviceID())
		pf.await("cwmp2mqtt/"+ids[i]+"/availability", map[string]any{"state": "online"}, wait)
	}
	return f, ids
}

// TestAdminMetricsCountAFleetRun drives a fleet through the gateway and checks that each counter
// moved by exactly what the test did: three requests run through connection requests (two
// done, one answered with a fault), one rejected request, one CPE request with a wrong password.
func TestAdminMetricsCountAFleetRun(t *testing.T) {
	url, _, _ := mqtttest.StartEmbedded(t)
	pf := newPlatform(t, url, "cwmp2mqtt/#") // subscribed before any retained publish (see onBrokers)
	gw := startGateway(t, map[string]string{
		"CWMP2MQTT_MQTT_URL":           url,
		"CWMP2MQTT_CWMP_AUTH_MODE":     "any",
		"CWMP2MQTT_CWMP_AUTH_USERNAME": "cpe",
		"CWMP2MQTT_CWMP_AUTH_PASSWORD": "secret",
	})
	const n = 3
	f, ids := startOnlineFleet(t, pf, sim.FleetConfig{N: n, SerialPrefix: "MET",
		Model: func(int) (*datamodel.Model, error) { return datamodel.LoadTR181() },
		CPE:   sim.Config{ACSURL: gw.ACSURL, PeriodicInterval: time.Hour, Auth: sim.AuthDigest, Username: "cpe", Password: "secret"}})
	base := gw.adminURL()
	// Quiet: the bootstrap sessions (with the gateway's own provisioning) are over.
	var before map[string]float64
	eventually(t, "bootstrap sessions ended", func() bool {
		before = scrape(t, base)
		return before["cwmp2mqtt_cwmp_sessions_open"] == 0 && before["cwmp2mqtt_cwmp_sessions_started_total"] >= n &&
			before["cwmp2mqtt_cwmp_sessions_total{outcome=\"done\"}"] == before["cwmp2mqtt_cwmp_sessions_started_total"]
	})
	for series, want := range map[string]float64{
		`cwmp2mqtt_devices_known`: n, `cwmp2mqtt_devices_online`: n, `cwmp2mqtt_mqtt_connected`: 1,
		`cwmp2mqtt_cwmp_informs_total{event="0 BOOTSTRAP"}`: n, `cwmp2mqtt_cwmp_informs_total{event="1 BOOT"}`: n,
		`cwmp2mqtt_build_info{version="` + version + `"}`: 1, `cwmp2mqtt_request_queue_depth`: 0,
	} {
		if got, ok := before[series]; !ok || got != want {
			t.Errorf("after the boot: %s = %v (present %v), want %v", series, got, ok, want)
		}
	}

	f.CPE(2).Faults().FailMethod("GetParameterValues", sim.FaultRule{Code: 9002, Times: 1})
	gpv := `{"id":"%s","method":"GetParameterValues","args":{"names":["Device.DeviceInfo.SoftwareVersion"]}}`
	for i, id := range []string{"m-0", "m-1", "m-2"} {
		pf.publish("cwmp2mqtt/"+ids[i]+"/rpc", fmt.Sprintf(gpv, id))
	}
	pf.publish("cwmp2mqtt/"+ids[0]+"/rpc", `{"id":"m-bad","method":"NoSuchMethod"}`)
	for i, st := range []string{"done", "done", "fault"} {
		pf.await("cwmp2mqtt/"+ids[i]+"/rpc/result", map[string]any{"id": fmt.Sprintf("m-%d", i), "status": st}, wait)
	}
	pf.await("cwmp2mqtt/"+ids[0]+"/rpc/result", map[string]any{"id": "m-bad", "status": "rejected"}, wait)
	req, _ := http.NewRequest(http.MethodPost, gw.ACSURL, strings.NewReader("<x/>"))
	req.SetBasicAuth("cpe", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s, want 401", resp.Status)
	}

	want := map[string]float64{
		`cwmp2mqtt_cwmp_informs_total{event="6 CONNECTION REQUEST"}`:                               3,
		`cwmp2mqtt_cwmp_sessions_started_total`:                                                    3,
		`cwmp2mqtt_cwmp_sessions_total{outcome="done"}`:                                            3,
		`cwmp2mqtt_cwmp_connection_requests_total{outcome="ok"}`:                                   3,
		`cwmp2mqtt_rpc_requests_total{method="GetParameterValues",status="done"}`:                  2,
		`cwmp2mqtt_rpc_requests_total{method="GetParameterValues",status="fault"}`:                 1,
		`cwmp2mqtt_rpc_requests_total{method="other",status="rejected"}`:                           1,
		`cwmp2mqtt_rpc_request_duration_seconds_count{method="GetParameterValues"}`:                3,
		`cwmp2mqtt_cwmp_cpe_faults_total`:                                                          1,
		`cwmp2mqtt_cwmp_auth_failures_total`:                                                       1,
		`cwmp2mqtt_cwmp_informs_refused_total`:                                                     0,
		`cwmp2mqtt_mqtt_received_total`:                                                            4,
		`cwmp2mqtt_cwmp_informs_total{event="1 BOOT"}`:                                             0,
		`cwmp2mqtt_translator_errors_total{call="normalize",translator="standard"}`:                0,
		`cwmp2mqtt_cwmp_connection_requests_total{outcome="unreachable"}`:                          0,
		`cwmp2mqtt_devices_known`:                                                                  0,
		`cwmp2mqtt_cwmp_overload_refusals_total`:                                                   0,
		`cwmp2mqtt_outbox_dropped_total{reason="full"}`:                                            0,
		`cwmp2mqtt_translator_restarts_total{translator="standard"}`:                               0,
		`cwmp2mqtt_mqtt_connects_total`:                                                            0,
		`cwmp2mqtt_translator_call_duration_seconds_count{call="provision",translator="standard"}`: 0,
	}
	var after map[string]float64
	t.Cleanup(func() {
		if t.Failed() {
			for _, k := range []string{"cwmp2mqtt_cwmp_sessions_open", `cwmp2mqtt_cwmp_sessions_total{outcome="done"}`, "cwmp2mqtt_outbox_delivered_total",
				"cwmp2mqtt_outbox_coalesced_total", "cwmp2mqtt_outbox_enqueued_total", "cwmp2mqtt_outbox_messages"} {
				t.Logf("last scrape: %s = %v (before %v)", k, after[k], before[k])
			}
		}
	})
	eventually(t, "the run's sessions ended and the outbox drained", func() bool {
		after = scrape(t, base)
		return after["cwmp2mqtt_cwmp_sessions_open"] == 0 &&
			after[`cwmp2mqtt_cwmp_sessions_total{outcome="done"}`]-before[`cwmp2mqtt_cwmp_sessions_total{outcome="done"}`] >= 3 &&
			after["cwmp2mqtt_outbox_messages"] == 0 && after["cwmp2mqtt_outbox_in_flight"] == 0
	})
	for series, d := range want {
		if got := after[series] - before[series]; got != d {
			t.Errorf("%s moved by %v, want %v (before %v, after %v)", series, got, d, before[series], after[series])
		}
	}
	// Normalizations counted: every device's boot was normalized; the run's Informs and reads
	// report the values the gateway already had, and a state whose inputs did not change is not
	// normalized again (bridge/unchanged.go).
	normalized := `cwmp2mqtt_translator_call_duration_seconds_count{call="normalize",translator="standard"}`
	if before[normalized] < n {
		t.Errorf("normalize calls at the boot: %v, want at least one per device (%d)", before[normalized], n)
	}
	if got := after[normalized] - before[normalized]; got != 0 {
		t.Errorf("normalize calls moved by %v for Informs and reads that change nothing, want 0", got)
	}
	if d := after["cwmp2mqtt_outbox_enqueued_total"] - before["cwmp2mqtt_outbox_enqueued_total"]; d < 3*2 {
		t.Errorf("outbox enqueued moved by %v, want at least an inform and a result per request", d)
	}
	if d := after["cwmp2mqtt_outbox_delivered_total"] - before["cwmp2mqtt_outbox_delivered_total"]; d < 3*2 {
		t.Errorf("outbox delivered moved by %v, want at least an inform and a result per request", d)
	}
	if after[`cwmp2mqtt_translator_state{state="running",translator="standard"}`] != 1 {
		t.Error("translator standard not reported running")
	}
	if t.Failed() {
		t.Logf("after:\n%v", after)
	}
}

// TestAdminReadyzFollowsTheBroker: /readyz and `cwmp2mqtt healthcheck` (the image's
// HEALTHCHECK) say ready while the broker is up, 503 "broker not connected" while it is down,
// and ready again once the gateway reconnects; /healthz stays 200 throughout.
func TestAdminReadyzFollowsTheBroker(t *testing.T) {
	url, stop, restart := mqtttest.StartEmbedded(t)
	gw := startGateway(t, map[string]string{"CWMP2MQTT_MQTT_URL": url})
	env := map[string]string{"CWMP2MQTT_ADMIN_LISTEN": gw.g.admin.Addr().String()}
	healthcheck := func(args ...string) (int, string) {
		var out strings.Builder
		code := run(append([]string{"healthcheck"}, args...), func(k string) string { return env[k] }, &out)
		return code, out.String()
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(gw.adminURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	eventually(t, "ready with the broker up", func() bool { code, _ := healthcheck(); return code == 0 })
	stop()
	eventually(t, "not ready with the broker down", func() bool {
		code, out := healthcheck()
		return code == 1 && strings.Contains(out, "503 not ready: broker not connected")
	})
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || body != "not ready: broker not connected\n" {
		t.Errorf("/readyz with the broker down = %d %q", code, body)
	}
	if code, body := get("/readyz?exclude=broker"); code != 200 {
		t.Errorf("/readyz?exclude=broker with the broker down = %d %q, want 200: the ACS still serves CPEs", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz with the broker down = %d, want 200", code)
	}
	restart()
	eventually(t, "ready again after reconnecting", func() bool { code, _ := healthcheck(); return code == 0 })

	if code, out := healthcheck("--admin.listen="); code != 2 || !strings.Contains(out, "admin.listen is empty") {
		t.Errorf("healthcheck with the listener off = %d %q, want 2 naming admin.listen", code, out)
	}
}

// TestAdminOffLoopbackNeedsCredentials: the embedded broker's rule for the admin listener, with
// the error naming the key to set.
func TestAdminOffLoopbackNeedsCredentials(t *testing.T) {
	load := func(env map[string]string) error {
		_, err := loadConfig(newFlagSet("test"), nil, func(k string) string { return env[k] })
		return err
	}
	if err := load(map[string]string{"CWMP2MQTT_ADMIN_LISTEN": ":7548"}); err == nil || !strings.Contains(err.Error(), `admin.listen: ":7548" is reachable from other hosts`) ||
		!strings.Contains(err.Error(), "admin.username") || !strings.Contains(err.Error(), "admin.allow_anonymous") {
		t.Errorf(":7548 without credentials: %v, want an error naming admin.listen and the keys that fix it", err)
	}
	if err := load(map[string]string{"CWMP2MQTT_ADMIN_LISTEN": "192.0.2.1:7548"}); err == nil {
		t.Error("a LAN address without credentials was accepted")
	}
	if err := load(map[string]string{"CWMP2MQTT_ADMIN_LISTEN": ":7548", "CWMP2MQTT_ADMIN_USERNAME": "op"}); err == nil || !strings.Contains(err.Error(), "admin.password") {
		t.Errorf("a user without a password: %v, want an error naming admin.password", err)
	}
	for _, env := range []map[string]string{
		{"CWMP2MQTT_ADMIN_LISTEN": ":7548", "CWMP2MQTT_ADMIN_USERNAME": "op", "CWMP2MQTT_ADMIN_PASSWORD": "pw"},
		{"CWMP2MQTT_ADMIN_LISTEN": ":7548", "CWMP2MQTT_ADMIN_ALLOW_ANONYMOUS": "true"},
		{"CWMP2MQTT_ADMIN_LISTEN": "[::1]:7548"},
		{},
	} {
		if err := load(env); err != nil {
			t.Errorf("%v: %v", env, err)
		}
	}
}
