package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
)

// Fakes of the gateway's parts: this package's unit tests only (the end-to-end tests in
// cmd/cwmp2mqtt run the real gateway).
type fakeACS struct{ st acs.Stats }

func (f fakeACS) Stats() acs.Stats { return f.st }

type fakeClient struct{ st mqtt.ClientStats }

func (f fakeClient) Stats() mqtt.ClientStats { return f.st }

type fakeOutbox struct{ st mqtt.OutboxStats }

func (f fakeOutbox) Stats() mqtt.OutboxStats { return f.st }

type fakeDevices []bridge.DeviceStatus

func (f fakeDevices) DeviceStatuses() []bridge.DeviceStatus { return f }

type fakeTranslators []host.Info

func (f fakeTranslators) Translators() []host.Info { return f }

func device(id, manufacturer, model string, online bool, queue int) bridge.DeviceStatus {
	return bridge.DeviceStatus{DeviceSummary: api.DeviceSummary{ID: id, Manufacturer: manufacturer, Model: model,
		Firmware: "1.0", Online: online, LastInform: time.Now().Add(-time.Minute)}, Queue: queue}
}

func interviewed(d bridge.DeviceStatus, state string) bridge.DeviceStatus {
	d.Interview = &api.Interview{State: state, Reason: api.InterviewFirstContact}
	return d
}

func testSources(notReady ...Check) Sources {
	return Sources{
		Ready: func() []Check { return notReady },
		ACS: fakeACS{acs.Stats{Open: 2, Started: 10, Ended: map[acs.EndReason]uint64{acs.EndDone: 7, acs.EndTimeout: 1},
			AuthFailures: 3}},
		MQTT:   fakeClient{mqtt.ClientStats{Connected: true, Connects: 1}},
		Outbox: fakeOutbox{mqtt.OutboxStats{Queued: 4, Enqueued: 40, Delivered: 36, Dropped: map[mqtt.DropReason]mqtt.DropCount{mqtt.DropFull: {Messages: 2, Bytes: 300}}}},
		Devices: fakeDevices{interviewed(device("00259E-HG8245-A1", "Huawei", "HG8245", true, 2), api.InterviewFailed), device("001122-Box-B2", "Acme", "Box", false, 0),
			device("001122-Box-C3", "Acme", "Box", true, 1)},
		Translators: fakeTranslators{{Name: "standard", State: host.StateRunning}, {Name: "huawei", State: host.StateRestarting, Restarts: 2}},
		Info: func() *api.BridgeInfo {
			return &api.BridgeInfo{Version: "9.9.9", Started: time.Unix(1700000000, 0), Broker: api.Broker{URL: "tcp://127.0.0.1:1883", Embedded: true},
				Listeners: []api.Listener{{Name: "acs", Address: "127.0.0.1:7547", Path: "/"}}}
		},
	}
}

// startServer runs an admin listener on a free loopback port.
func startServer(t *testing.T, cfg Config, src Sources, m *Metrics) string {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if m == nil {
		m = NewMetrics()
	}
	s, err := New(cfg, src, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return "http://" + s.Addr().String()
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthzAnswersWhileNotReady(t *testing.T) {
	base := startServer(t, Config{}, testSources(Check{"broker", "broker not connected"}), nil)
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q, want 200 ok: the process is alive even when not ready", code, body)
	}
}

func TestReadyzGives503WithReason(t *testing.T) {
	base := startServer(t, Config{}, testSources(Check{"broker", "broker not connected"}, Check{"acs", "ACS not listening"}), nil)
	code, body := get(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || body != "not ready: broker not connected; ACS not listening\n" {
		t.Fatalf("/readyz = %d %q, want 503 with the reasons", code, body)
	}
	code, body = get(t, base+"/readyz?exclude=broker")
	if code != http.StatusServiceUnavailable || body != "not ready: ACS not listening\n" {
		t.Fatalf("/readyz?exclude=broker = %d %q, want 503 for the ACS alone", code, body)
	}
	if code, body = get(t, base+"/readyz?exclude=broker&exclude=acs"); code != 200 {
		t.Fatalf("/readyz excluding both failed checks = %d %q, want 200", code, body)
	}
	base = startServer(t, Config{}, testSources(), nil)
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz = %d %q, want 200 ready", code, body)
	}
}

func TestMetricsExposeSourcesAndObservations(t *testing.T) {
	m := NewMetrics()
	m.Inform("d1", []string{"0 BOOTSTRAP", "1 BOOT"})
	m.Inform("d1", []string{"2 PERIODIC", "X 00256D Vendor thing", "garbage!"})
	m.RequestDone("d1", "GetParameterValues", "done", 20*time.Millisecond)
	m.RequestDone("d1", "NoSuchMethod", "rejected", 0)
	m.ConnReq("d1", nil)
	m.ConnReq("d2", connreq.ErrUnreachable)
	m.TranslatorCall("standard", "normalize", time.Millisecond, nil)
	m.TranslatorCall("standard", "normalize", time.Millisecond, errors.New("boom"))
	base := startServer(t, Config{}, testSources(), m)
	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`cwmp2mqtt_build_info{version="9.9.9"} 1`,
		`cwmp2mqtt_cwmp_sessions_open 2`,
		`cwmp2mqtt_cwmp_sessions_started_total 10`,
		`cwmp2mqtt_cwmp_sessions_total{outcome="done"} 7`,
		`cwmp2mqtt_cwmp_sessions_total{outcome="timeout"} 1`,
		`cwmp2mqtt_cwmp_auth_failures_total 3`,
		`cwmp2mqtt_cwmp_informs_total{event="0 BOOTSTRAP"} 1`,
		`cwmp2mqtt_cwmp_informs_total{event="2 PERIODIC"} 1`,
		`cwmp2mqtt_cwmp_informs_total{event="X vendor"} 1`,
		`cwmp2mqtt_cwmp_informs_total{event="other"} 1`,
		`cwmp2mqtt_rpc_requests_total{method="GetParameterValues",status="done"} 1`,
		`cwmp2mqtt_rpc_requests_total{method="other",status="rejected"} 1`,
		`cwmp2mqtt_rpc_request_duration_seconds_count{method="GetParameterValues"} 1`,
		`cwmp2mqtt_rpc_request_duration_seconds_bucket{method="GetParameterValues",le="0.025"} 1`,
		`cwmp2mqtt_cwmp_connection_requests_total{outcome="ok"} 1`,
		`cwmp2mqtt_cwmp_connection_requests_total{outcome="unreachable"} 1`,
		`cwmp2mqtt_translator_call_duration_seconds_count{call="normalize",translator="standard"} 2`,
		`cwmp2mqtt_translator_errors_total{call="normalize",translator="standard"} 1`,
		`cwmp2mqtt_translator_state{state="restarting",translator="huawei"} 1`,
		`cwmp2mqtt_translator_restarts_total{translator="huawei"} 2`,
		`cwmp2mqtt_devices_known 3`,
		`cwmp2mqtt_devices_online 2`,
		`cwmp2mqtt_request_queue_depth 3`,
		`cwmp2mqtt_mqtt_connected 1`,
		`cwmp2mqtt_outbox_messages 4`,
		`cwmp2mqtt_outbox_enqueued_total 40`,
		`cwmp2mqtt_outbox_delivered_total 36`,
		`cwmp2mqtt_outbox_dropped_total{reason="full"} 2`,
		`cwmp2mqtt_outbox_dropped_total{reason="max_age"} 0`,
		`cwmp2mqtt_outbox_dropped_bytes_total{reason="full"} 300`,
		`process_cpu_seconds_total`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// TestEveryMetricInOperationsDoc keeps the table of docs/operations.md in step with /metrics.
func TestEveryMetricInOperationsDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	m.RequestDone("d", "Reboot", "done", time.Millisecond)
	m.Inform("d", []string{"1 BOOT"})
	m.ConnReq("d", nil)
	m.TranslatorCall("standard", "normalize", time.Millisecond, errors.New("x"))
	base := startServer(t, Config{}, testSources(), m)
	_, body := get(t, base+"/metrics")
	seen := map[string]bool{}
	for _, name := range regexp.MustCompile(`(?m)^# TYPE (cwmp2mqtt_\w+) `).FindAllStringSubmatch(body, -1) {
		seen[name[1]] = true
		if !strings.Contains(string(doc), "`"+name[1]+"`") {
			t.Errorf("%s is exported but not in the metrics table of docs/operations.md", name[1])
		}
	}
	for _, name := range regexp.MustCompile("`(cwmp2mqtt_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		if !seen[name[1]] {
			t.Errorf("docs/operations.md lists %s, which /metrics does not export", name[1])
		}
	}
}

func TestPprofOnlyWhenEnabled(t *testing.T) {
	base := startServer(t, Config{}, testSources(), nil)
	if code, _ := get(t, base+"/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ without admin.pprof = %d, want 404", code)
	}
	base = startServer(t, Config{Pprof: true}, testSources(), nil)
	code, body := get(t, base+"/debug/pprof/")
	if code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("/debug/pprof/ with admin.pprof = %d, want the profile index", code)
	}
	if code, body := get(t, base+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile = %d %.80q", code, body)
	}
}

// TestBasicAuthGuardsAllButProbes: with credentials (required off loopback, see
// cmd/cwmp2mqtt TestAdminOffLoopbackNeedsCredentials) only /healthz and /readyz stay open.
func TestBasicAuthGuardsAllButProbes(t *testing.T) {
	base := startServer(t, Config{Username: "op", Password: "s3cret"}, testSources(), nil)
	for _, path := range []string{"/", "/metrics"} {
		if code, _ := get(t, base+path); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials = %d, want 401", path, code)
		}
		if code, _ := get(t, base+path, "Authorization", "Basic b3A6d3Jvbmc="); code != http.StatusUnauthorized { // op:wrong
			t.Errorf("%s with a wrong password = %d, want 401", path, code)
		}
		if code, _ := get(t, base+path, "Authorization", "Basic b3A6czNjcmV0"); code != 200 { // op:s3cret
			t.Errorf("%s with the credentials = %d, want 200", path, code)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(t, base+path); code != 200 {
			t.Errorf("%s without credentials = %d, want 200: probes carry no secret", path, code)
		}
	}
}

func TestStatusPageShowsGatewayDevicesAndFilter(t *testing.T) {
	m := NewMetrics()
	m.Event(api.BridgeEvent{Event: api.BridgeDeviceRegistered, Device: "001122-Box-C3", Time: time.Now()})
	base := startServer(t, Config{}, testSources(Check{"broker", "broker not connected"}), m)
	code, body := get(t, base+"/")
	if code != 200 {
		t.Fatalf("/ = %d", code)
	}
	for _, want := range []string{"9.9.9", "tcp://127.0.0.1:1883", "127.0.0.1:7547", "standard", "huawei", "restarting",
		`data-device="00259E-HG8245-A1"`, `data-device="001122-Box-B2"`, "HG8245", "not ready: broker not connected",
		"device_registered", `http-equiv="refresh"`, "2 online of 3 known", `title="first_contact">failed</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	_, body = get(t, base+"/?q=acme&state=online")
	if !strings.Contains(body, `data-device="001122-Box-C3"`) || strings.Contains(body, `data-device="001122-Box-B2"`) ||
		strings.Contains(body, `data-device="00259E-HG8245-A1"`) {
		t.Errorf("filter acme+online should show only 001122-Box-C3:\n%s", body)
	}
	_, body = get(t, base+"/?q=%3Cscript%3E")
	if strings.Contains(body, "<script>") {
		t.Error("the filter text is not escaped")
	}
	if code, _ := get(t, base+"/nothing-here"); code != http.StatusNotFound {
		t.Errorf("/nothing-here = %d, want 404", code)
	}
}
