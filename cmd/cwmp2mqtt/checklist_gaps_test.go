package main

// Checklist items that need the whole gateway (docs/checklist.md): the real gateway, a
// simulated CPE over HTTP and a paho platform on the embedded broker.

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

// captureTransport is the CPE's HTTP transport that keeps every body the ACS answered with, so
// a test can read the exact bytes a real CPE would parse.
type captureTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen [][]byte
}

func newCaptureTransport() *captureTransport {
	return &captureTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
}

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.mu.Lock()
	c.seen = append(c.seen, body)
	c.mu.Unlock()
	return resp, nil
}

// find returns the first captured ACS body containing every one of subs.
func (c *captureTransport) find(subs ...string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.seen {
		if containsAll(b, subs) {
			return b
		}
	}
	return nil
}

// TestChecklist35QuirkConfigReachesTheWire: a CPE listed in cwmp.quirks.bool_as_number (by OUI,
// any case) receives booleans as 1/0 in the SetParameterValues the platform asked for with
// "true"; the CPE applies it.
func TestChecklist35QuirkConfigReachesTheWire(t *testing.T) {
	env := requestEnv()
	env["CWMP2MQTT_CWMP_QUIRKS_BOOL_AS_NUMBER"] = "202bc1" // the simulated Huawei's OUI, lower case
	gw := startGateway(t, env)
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	tr := newCaptureTransport()
	cpe := startReadyCPE(t, gw.ACSURL, pf, "QUIRK1", tr)
	const pIdle = igd + "IDLE.Enable"
	B := "cwmp2mqtt/" + cpe.ID
	pf.publish(B+"/rpc", `{"id":"bool-1","method":"SetParameterValues","args":{"parameters":[["`+pIdle+`","true","xsd:boolean"]]},"expires":30}`)
	pf.await(B+"/rpc/result", map[string]any{"id": "bool-1", "status": "done"}, wait)
	body := tr.find("SetParameterValues>", pIdle)
	if body == nil {
		t.Fatal("no SetParameterValues naming " + pIdle + " reached the CPE")
	}
	if !bytes.Contains(body, []byte(`<Value xsi:type="xsd:boolean">1</Value>`)) {
		t.Errorf("boolean not sent as 1 to a CPE in cwmp.quirks.bool_as_number:\n%s", body)
	}
	if got := cpe.value(t, pIdle); got != "1" && got != "true" {
		t.Errorf("%s on the CPE = %q after setting it", pIdle, got)
	}
}

// TestChecklist50DeferredConnectionRequest: the CPE accepts the connection request (200) while
// busy and defers it; its next Inform says "2 PERIODIC", not "6 CONNECTION REQUEST". A request
// without expires (it waits tasks.wake_grace after a successful connection request) still runs in
// that session and ends `done`.
func TestChecklist50DeferredConnectionRequest(t *testing.T) {
	gw := startGateway(t, requestEnv())
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	cpe := startReadyCPE(t, gw.ACSURL, pf, "DEFER1", nil)
	B := "cwmp2mqtt/" + cpe.ID

	// The CPE's connection-request endpoint answers 200 and opens no session (deferred).
	crs := make(chan struct{}, 8)
	deferring := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		crs <- struct{}{}
	}))
	t.Cleanup(deferring.Close)
	if err := cpe.SetConnectionRequestURL(deferring.URL + "/cr"); err != nil {
		t.Fatal(err)
	}
	mark := cpe.rec.Mark()
	cpe.Inform(sim.EventPeriodic, "") // the gateway learns the new URL from this Inform
	cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventPeriodic) && s.Err == nil })

	pf.publish(B+"/rpc", `{"id":"defer-1","method":"GetParameterValues","args":{"names":["`+pSoftware+`"]}}`)
	pf.await(B+"/rpc/result", map[string]any{"id": "defer-1", "status": "accepted"}, wait)
	select {
	case <-crs:
	case <-time.After(wait):
		t.Fatal("the gateway sent no connection request")
	}
	mark = cpe.rec.Mark()
	cpe.Inform(sim.EventPeriodic, "")
	done := pf.await(B+"/rpc/result", map[string]any{"id": "defer-1", "status": "done"}, wait)
	if !strings.Contains(mustJSON(done["result"]), cpe.value(t, pSoftware)) {
		t.Errorf("result %v lacks the software version", done["result"])
	}
	s := cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return contains(s.RPCs, "GetParameterValues") })
	if s.HasEvent(sim.EventConnectionRequest) || !s.HasEvent(sim.EventPeriodic) {
		t.Errorf("the request ran in a session with events %v, want only the CPE's 2 PERIODIC", s.Events)
	}
	requireOneTerminal(t, pf, B+"/rpc/result", "defer-1", "done")
}

// TestChecklist41DownloadThroughGateway: a Download with only file_type and url goes out with
// every child (empty strings, FileSize 0); the CPE's Status 1 is `done` with pending true, and
// the TransferComplete of a later session is published as transfer_complete with its command key.
func TestChecklist41DownloadThroughGateway(t *testing.T) {
	gw := startGateway(t, requestEnv())
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	tr := newCaptureTransport()
	cpe := startReadyCPE(t, gw.ACSURL, pf, "DL1", tr)
	B := "cwmp2mqtt/" + cpe.ID
	pf.publish(B+"/rpc", `{"id":"dl-1","method":"Download","args":{"file_type":"firmware","url":"http://fw.example/x.bin","command_key":"fw-1"},"expires":30}`)
	r := pf.await(B+"/rpc/result", map[string]any{"id": "dl-1", "status": "done"}, wait)
	if res, _ := r["result"].(map[string]any); res["status"] != float64(1) || res["pending"] != true {
		t.Errorf("Download result %v, want status 1 pending true", r["result"])
	}
	body := tr.find("<cwmp:Download>")
	want := `<cwmp:Download><CommandKey>fw-1</CommandKey><FileType>1 Firmware Upgrade Image</FileType><URL>http://fw.example/x.bin</URL>` +
		`<Username></Username><Password></Password><FileSize>0</FileSize><TargetFileName></TargetFileName>` +
		`<DelaySeconds>0</DelaySeconds><SuccessURL></SuccessURL><FailureURL></FailureURL></cwmp:Download>`
	if !bytes.Contains(body, []byte(want)) {
		t.Errorf("Download on the wire lacks children; want %s in:\n%s", want, body)
	}
	ev := pf.await(B+"/event", map[string]any{"event": "transfer_complete", "command_key": "fw-1"}, wait)
	if d, _ := ev["data"].(map[string]any); d["success"] != true {
		t.Errorf("transfer_complete %v, want success", ev)
	}
}
