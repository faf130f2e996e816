package bridge

// Checklist items the other tests of this package leave open (docs/checklist.md). These run the
// real ACS server (internal/cwmp/acs) with the Bridge as its Handler on a real store; the CPE is an HTTP
// client posting CWMP envelopes, and the wire bytes the ACS sends are what is checked.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// acsFixture is a bridge fixture served by a real ACS on a loopback port.
type acsFixture struct {
	*fixture
	url string
}

func newACSFixture(t *testing.T, opts Options) *acsFixture {
	t.Helper()
	f := newFixture(t, opts)
	srv, err := acs.New(acs.Config{Listen: "127.0.0.1:0", Path: "/"}, f.b, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // runs before the fixture's stop: the ACS ends its sessions first
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("ACS shutdown: %v", err)
		}
	})
	return &acsFixture{fixture: f, url: "http://" + srv.Addr().String() + "/"}
}

// wireCPE is a CPE's HTTP side: a cookie jar and one kept-alive connection.
type wireCPE struct {
	t  *testing.T
	f  *acsFixture
	hc *http.Client
	ns string
}

func (f *acsFixture) cpe() *wireCPE {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	f.t.Cleanup(tr.CloseIdleConnections)
	return &wireCPE{t: f.t, f: f, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}, ns: soap.NSCWMP10}
}

// wire is one ACS answer: the raw body and, when there is one, the decoded envelope.
type wire struct {
	Status int
	Raw    []byte
	Env    *soap.Envelope
}

func (w wire) method() string {
	if w.Env == nil || w.Env.Body == nil {
		return ""
	}
	return w.Env.Body.MethodName()
}

func (c *wireCPE) post(body string) wire {
	c.t.Helper()
	resp, err := c.hc.Post(c.f.url, "text/xml", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	w := wire{Status: resp.StatusCode, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if w.Env, err = soap.Decode(raw, resp.Header.Get("Content-Type")); err != nil {
			c.t.Fatalf("ACS answer does not decode: %v\n%s", err, raw)
		}
	}
	return w
}

// expect fails unless the ACS answered 200 with method.
func (w wire) expect(t *testing.T, method string) wire {
	t.Helper()
	if w.Status != http.StatusOK || w.method() != method {
		t.Fatalf("want 200 %s, got %d %s:\n%s", method, w.Status, w.method(), w.Raw)
	}
	return w
}

func (w wire) expectEnd(t *testing.T) {
	t.Helper()
	if w.Status != http.StatusNoContent || len(w.Raw) != 0 {
		t.Fatalf("want 204 with an empty body, got %d:\n%s", w.Status, w.Raw)
	}
}

// envelope wraps a method element in a CPE envelope with cwmp:ID id.
func (c *wireCPE) envelope(id, method string) string {
	return `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" ` +
		`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="` + c.ns + `">` +
		`<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">` + id + `</cwmp:ID></soap-env:Header><soap-env:Body>` + method +
		`</soap-env:Body></soap-env:Envelope>`
}

// inform opens a session as the fixture's device (devID), with the parameters that keep the
// bridge from queueing its own reads (root, interval and connection-request URL known).
func (c *wireCPE) inform(events ...string) {
	c.t.Helper()
	var ev strings.Builder
	for _, e := range events {
		ev.WriteString(`<EventStruct><EventCode>` + e + `</EventCode><CommandKey></CommandKey></EventStruct>`)
	}
	c.post(c.envelope("inf", `<cwmp:Inform><DeviceId><Manufacturer>Huawei</Manufacturer><OUI>00259E</OUI><ProductClass>HG8245</ProductClass>`+
		`<SerialNumber>SN0001</SerialNumber></DeviceId><Event soap-enc:arrayType="cwmp:EventStruct[1]">`+ev.String()+`</Event>`+
		`<MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2026-01-02T03:04:05Z</CurrentTime><RetryCount>0</RetryCount>`+
		`<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[3]">`+
		`<ParameterValueStruct><Name>InternetGatewayDevice.DeviceInfo.SoftwareVersion</Name><Value xsi:type="xsd:string">V1R2</Value></ParameterValueStruct>`+
		`<ParameterValueStruct><Name>InternetGatewayDevice.ManagementServer.ConnectionRequestURL</Name><Value xsi:type="xsd:string">http://192.0.2.10:7547/cr</Value></ParameterValueStruct>`+
		`<ParameterValueStruct><Name>InternetGatewayDevice.ManagementServer.PeriodicInformInterval</Name><Value xsi:type="xsd:unsignedInt">300</Value></ParameterValueStruct>`+
		`</ParameterList></cwmp:Inform>`)).expect(c.t, "InformResponse")
}

// answer posts the CPE's response (a method element) to the request w, echoing its cwmp:ID.
func (c *wireCPE) answer(w wire, method string) wire {
	c.t.Helper()
	return c.post(c.envelope(w.Env.ID, method))
}

// awaitPublished returns the first message so far or to come (not consumed, unlike
// recorder.waitFor) on topic whose JSON has every field of want; a want value that is a
// func(any) bool is a predicate on the field.
func (f *acsFixture) awaitPublished(topic string, want map[string]any) map[string]any {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.pub.mu.Lock()
		msgs := f.pub.msgs
		f.pub.mu.Unlock()
		for _, m := range msgs {
			var got map[string]any
			if m.Topic != topic || json.Unmarshal(m.Payload, &got) != nil {
				continue
			}
			ok := true
			for k, v := range want {
				if pred, isPred := v.(func(any) bool); isPred {
					ok = ok && pred(got[k])
				} else {
					ok = ok && mustJSON(got[k]) == mustJSON(v)
				}
			}
			if ok {
				return got
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("nothing on %s matching %v", topic, want)
		}
		time.Sleep(5 * time.Millisecond) // poll the recorder until the deadline
	}
}

// TestChecklist36SentRequestsTypedKeyedCounted: an rpc SetParameterValues whose parameters
// carry no type and no parameter_key still goes out with xsi:type on every Value, an empty
// ParameterKey and a soap-enc:arrayType with the true count; AddObject gets its ParameterKey.
func TestChecklist36SentRequestsTypedKeyedCounted(t *testing.T) {
	f := newACSFixture(t, Options{})
	c := f.cpe()
	c.inform("2 PERIODIC")
	f.rpc(`{"id":"spv","method":"SetParameterValues","args":{"parameters":[["InternetGatewayDevice.X.A","a"],["InternetGatewayDevice.X.B","7","xsd:unsignedInt"]]},"expires":60}`)
	f.rpc(`{"id":"add","method":"AddObject","args":{"object":"InternetGatewayDevice.X.Y."},"expires":60}`)
	w := c.post("").expect(t, "SetParameterValues")
	for _, want := range []string{
		`<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[2]">`,
		`<Name>InternetGatewayDevice.X.A</Name><Value xsi:type="xsd:string">a</Value>`,
		`<Name>InternetGatewayDevice.X.B</Name><Value xsi:type="xsd:unsignedInt">7</Value>`,
		`<ParameterKey></ParameterKey>`,
	} {
		if !bytes.Contains(w.Raw, []byte(want)) {
			t.Errorf("SetParameterValues on the wire lacks %s:\n%s", want, w.Raw)
		}
	}
	w = c.answer(w, `<cwmp:SetParameterValuesResponse><Status>0</Status></cwmp:SetParameterValuesResponse>`).expect(t, "AddObject")
	if !bytes.Contains(w.Raw, []byte(`<ObjectName>InternetGatewayDevice.X.Y.</ObjectName><ParameterKey></ParameterKey>`)) {
		t.Errorf("AddObject on the wire lacks an empty ParameterKey:\n%s", w.Raw)
	}
	c.answer(w, `<cwmp:AddObjectResponse><InstanceNumber>3</InstanceNumber><Status>0</Status></cwmp:AddObjectResponse>`).expectEnd(t)
	f.awaitPublished(resultTopic, map[string]any{"id": "add", "status": "done"})
}

// TestChecklist37RootPathOrRootName: GetParameterNames with an empty path (the root) and with
// the root object's name (for CPEs that refuse the empty path, Sagemcom) both reach the CPE as
// given; partial paths end with ".".
func TestChecklist37RootPathOrRootName(t *testing.T) {
	f := newACSFixture(t, Options{})
	c := f.cpe()
	c.inform("2 PERIODIC")
	paths := []string{"", "InternetGatewayDevice.", "InternetGatewayDevice.DeviceInfo."}
	for i, p := range paths {
		f.rpc(`{"id":"gpn` + string(rune('0'+i)) + `","method":"GetParameterNames","args":{"path":"` + p + `","next_level":true},"expires":60}`)
	}
	w := c.post("")
	for i, p := range paths {
		w.expect(t, "GetParameterNames")
		gpn := w.Env.Body.(*soap.GetParameterNames)
		if gpn.ParameterPath != p || !gpn.NextLevel {
			t.Errorf("rpc path %q went out as ParameterPath %q NextLevel %v", p, gpn.ParameterPath, gpn.NextLevel)
		}
		if !bytes.Contains(w.Raw, []byte(`<ParameterPath>`+p+`</ParameterPath>`)) {
			t.Errorf("ParameterPath %q not on the wire:\n%s", p, w.Raw)
		}
		w = c.answer(w, `<cwmp:GetParameterNamesResponse><ParameterList soap-enc:arrayType="cwmp:ParameterInfoStruct[1]">`+
			`<ParameterInfoStruct><Name>InternetGatewayDevice.DeviceInfo.</Name><Writable>0</Writable></ParameterInfoStruct></ParameterList></cwmp:GetParameterNamesResponse>`)
		f.awaitPublished(resultTopic, map[string]any{"id": "gpn" + string(rune('0'+i)), "status": "done"})
	}
	w.expectEnd(t)
}

// TestChecklist38StatusOneReportedAppliedLater: SetParameterValues, AddObject and DeleteObject
// answered with Status 1 are `done` with applied_later true; Status 0 with applied_later false.
func TestChecklist38StatusOneReportedAppliedLater(t *testing.T) {
	f := newACSFixture(t, Options{})
	c := f.cpe()
	c.inform("2 PERIODIC")
	reqs := []struct{ id, rpc, resp string }{
		{"spv1", `"method":"SetParameterValues","args":{"parameters":[["InternetGatewayDevice.X.A","a","xsd:string"]]}`,
			`<cwmp:SetParameterValuesResponse><Status>1</Status></cwmp:SetParameterValuesResponse>`},
		{"add1", `"method":"AddObject","args":{"object":"InternetGatewayDevice.X.Y."}`,
			`<cwmp:AddObjectResponse><InstanceNumber>4</InstanceNumber><Status>1</Status></cwmp:AddObjectResponse>`},
		{"del1", `"method":"DeleteObject","args":{"object":"InternetGatewayDevice.X.Y.4."}`,
			`<cwmp:DeleteObjectResponse><Status>1</Status></cwmp:DeleteObjectResponse>`},
		{"spv0", `"method":"SetParameterValues","args":{"parameters":[["InternetGatewayDevice.X.A","b","xsd:string"]]}`,
			`<cwmp:SetParameterValuesResponse><Status>0</Status></cwmp:SetParameterValuesResponse>`},
	}
	for _, r := range reqs {
		f.rpc(`{"id":"` + r.id + `",` + r.rpc + `,"expires":60}`)
	}
	w := c.post("")
	for _, r := range reqs {
		w = c.answer(w, r.resp)
	}
	w.expectEnd(t)
	for _, r := range reqs {
		res := f.awaitPublished(resultTopic, map[string]any{"id": r.id, "status": "done"})["result"].(map[string]any)
		later := r.id != "spv0"
		if res["applied_later"] != later || res["status"] != map[bool]float64{true: 1, false: 0}[later] {
			t.Errorf("%s: result %v, want status %v applied_later %v", r.id, res, map[bool]int{true: 1, false: 0}[later], later)
		}
	}
}

// TestChecklist42TransferCompleteAnyCommandKey: while the CPE holds the turn, a TransferComplete
// with an empty or never-issued CommandKey still gets its TransferCompleteResponse; FaultCode 0
// is published as success, any other code as a failure with the fault.
func TestChecklist42TransferCompleteAnyCommandKey(t *testing.T) {
	f := newACSFixture(t, Options{})
	c := f.cpe()
	c.inform("7 TRANSFER COMPLETE", "M Download")
	tc := func(key, code, text string) string {
		return `<cwmp:TransferComplete><CommandKey>` + key + `</CommandKey><FaultStruct><FaultCode>` + code + `</FaultCode><FaultString>` + text +
			`</FaultString></FaultStruct><StartTime>2026-01-02T03:00:00Z</StartTime><CompleteTime>2026-01-02T03:01:00Z</CompleteTime></cwmp:TransferComplete>`
	}
	w := c.post(c.envelope("tc-1", tc("", "0", ""))).expect(t, "TransferCompleteResponse")
	if w.Env.ID != "tc-1" {
		t.Errorf("TransferCompleteResponse cwmp:ID %q, want tc-1", w.Env.ID)
	}
	c.post(c.envelope("tc-2", tc("never-issued", "9010", "Download failure"))).expect(t, "TransferCompleteResponse")
	c.post("").expectEnd(t)

	topic := "cwmp2mqtt/" + devID + "/event"
	hasData := func(v any) bool { return v != nil } // the TransferComplete's, not the Inform event's
	ok := f.awaitPublished(topic, map[string]any{"event": "transfer_complete", "command_key": nil, "data": hasData})
	if d, _ := ok["data"].(map[string]any); d["success"] != true || d["fault"] != nil {
		t.Errorf("FaultCode 0 with an empty CommandKey: %v, want success without fault", ok)
	}
	bad := f.awaitPublished(topic, map[string]any{"event": "transfer_complete", "command_key": "never-issued", "data": hasData})
	d, _ := bad["data"].(map[string]any)
	fault, _ := d["fault"].(map[string]any)
	if d["success"] != false || fault["code"] != float64(9010) {
		t.Errorf("FaultCode 9010: %v, want success false with the fault", bad)
	}
}

// TestChecklist43EveryCPEMethodAnswered: each CPE-initiated method of TR-069 gets its response
// from the gateway (not a fault), a CPE-side event is published for those that report
// something, and an unknown method gets a well-formed 8000 fault; the session goes on.
func TestChecklist43EveryCPEMethodAnswered(t *testing.T) {
	f := newACSFixture(t, Options{})
	c := f.cpe()
	c.inform("2 PERIODIC")
	const at = `<StartTime>2026-01-02T03:00:00Z</StartTime><CompleteTime>2026-01-02T03:01:00Z</CompleteTime>`
	for _, m := range []struct{ method, body, event string }{
		{"GetRPCMethods", `<cwmp:GetRPCMethods/>`, ""},
		{"TransferComplete", `<cwmp:TransferComplete><CommandKey>k1</CommandKey><FaultStruct><FaultCode>0</FaultCode><FaultString/></FaultStruct>` + at + `</cwmp:TransferComplete>`, "transfer_complete"},
		{"AutonomousTransferComplete", `<cwmp:AutonomousTransferComplete><AnnounceURL/><TransferURL>http://fw/x.bin</TransferURL><IsDownload>1</IsDownload>` +
			`<FileType>1 Firmware Upgrade Image</FileType><FileSize>10</FileSize><TargetFileName/><FaultStruct><FaultCode>0</FaultCode><FaultString/></FaultStruct>` + at +
			`</cwmp:AutonomousTransferComplete>`, "autonomous_transfer_complete"},
		{"RequestDownload", `<cwmp:RequestDownload><FileType>1 Firmware Upgrade Image</FileType><FileTypeArg soap-enc:arrayType="cwmp:ArgStruct[0]"/></cwmp:RequestDownload>`, "request_download"},
		{"DUStateChangeComplete", `<cwmp:DUStateChangeComplete><Results soap-enc:arrayType="cwmp:OpResultStruct[0]"/><CommandKey>du1</CommandKey></cwmp:DUStateChangeComplete>`, "du_state_change_complete"},
		{"AutonomousDUStateChangeComplete", `<cwmp:AutonomousDUStateChangeComplete><Results soap-enc:arrayType="cwmp:AutonOpResultStruct[0]"/></cwmp:AutonomousDUStateChangeComplete>`, "autonomous_du_state_change_complete"},
		{"Kicked", `<cwmp:Kicked><Command>cmd</Command><Referer>http://portal/</Referer><Arg>a</Arg><Next>http://portal/next</Next></cwmp:Kicked>`, "kicked"},
	} {
		w := c.post(c.envelope("cpe-"+m.method, m.body)).expect(t, m.method+"Response")
		if w.Env.ID != "cpe-"+m.method {
			t.Errorf("%sResponse carries cwmp:ID %q", m.method, w.Env.ID)
		}
		if m.event != "" {
			f.awaitPublished("cwmp2mqtt/"+devID+"/event", map[string]any{"event": m.event})
		}
		if m.method == "Kicked" && w.Env.Body.(*soap.KickedResponse).NextURL != "http://portal/next" {
			t.Errorf("KickedResponse NextURL %q", w.Env.Body.(*soap.KickedResponse).NextURL)
		}
		if m.method == "GetRPCMethods" {
			list := w.Env.Body.(*soap.GetRPCMethodsResponse).MethodList
			if !strings.Contains(strings.Join(list, ","), "TransferComplete") {
				t.Errorf("GetRPCMethodsResponse %v lacks the ACS methods", list)
			}
		}
	}
	w := c.post(c.envelope("x-1", `<cwmp:X_ACME_Hello/>`)).expect(t, "Fault")
	if f := w.Env.Body.(*soap.Fault); f.Code != soap.FaultMethodNotSupported || f.SOAPCode != "Client" || w.Env.ID != "x-1" {
		t.Errorf("unknown method: fault %+v with ID %q, want Client 8000 echoing x-1", f, w.Env.ID)
	}
	c.post("").expectEnd(t)
}

// TestChecklist46MismatchFaultsOnlyThatTask: the CPE answers a GetParameterValues with another
// method's response; that request ends `fault` with a readable reason, and the next queued
// request runs in the same session and succeeds.
func TestChecklist46MismatchFaultsOnlyThatTask(t *testing.T) {
	f := newACSFixture(t, Options{})
	c := f.cpe()
	c.inform("2 PERIODIC")
	f.rpc(`{"id":"gpv","method":"GetParameterValues","args":{"names":["InternetGatewayDevice.DeviceInfo.UpTime"]},"expires":60}`)
	f.rpc(`{"id":"rpcm","method":"GetRPCMethods","expires":60}`)
	w := c.post("").expect(t, "GetParameterValues")
	w = c.answer(w, `<cwmp:RebootResponse/>`).expect(t, "GetRPCMethods")
	c.answer(w, `<cwmp:GetRPCMethodsResponse><MethodList soap-enc:arrayType="xsd:string[1]"><string>Inform</string></MethodList></cwmp:GetRPCMethodsResponse>`).expectEnd(t)
	r := f.awaitPublished(resultTopic, map[string]any{"id": "gpv", "status": "fault"})
	if reason := mustJSON(r); !strings.Contains(reason, "GetParameterValuesResponse") {
		t.Errorf("mismatch result %s does not say what was expected", reason)
	}
	f.awaitPublished(resultTopic, map[string]any{"id": "rpcm", "status": "done"})
}

// TestChecklist39UnevenGPVWarned: a GetParameterValuesResponse that leaves out a requested
// name and adds another is `done` with what came, and each difference is logged as a warning
// naming the device and the parameter.
func TestChecklist39UnevenGPVWarned(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	db, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, db: db, pub: newRecorder(), waker: &fakeWaker{woke: make(chan connreq.Target, 16)}}
	if f.b, err = New(db, f.pub, f.waker, nil, Options{}, zap.New(core)); err != nil {
		t.Fatal(err)
	}
	if err := f.b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.b.Stop)
	s := f.inform("2 PERIODIC")
	f.rpc(`{"id":"uneven","method":"GetParameterValues","args":{"names":["A.asked","A.missing"]},"expires":60}`)
	task := f.next(s)
	f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{ParameterList: []soap.ParameterValue{
		{Name: "A.asked", Value: soap.StringValue("1")}, {Name: "A.extra", Value: soap.StringValue("2")}}}, nil)
	// The name left out is asked again alone (short answers), and still does not come.
	task = f.next(s)
	if gpv, ok := task.Request.(*soap.GetParameterValues); !ok || mustJSON(gpv.ParameterNames) != `["A.missing"]` {
		t.Fatalf("re-ask %#v, want the missing name alone", task.Request)
	}
	f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{}, nil)
	r := f.pub.waitFor(t, resultTopic, map[string]any{"id": "uneven", "status": "done"})
	if inv := mustJSON(r["result"].(map[string]any)["invalid_names"]); inv != `["A.missing"]` {
		t.Errorf("invalid_names %s, want the name the CPE never returned", inv)
	}
	if p := r["result"].(map[string]any)["parameters"].(map[string]any); p["A.asked"] == nil || p["A.extra"] == nil {
		t.Errorf("parameters %v, want what came kept", p)
	}
	for _, name := range []string{"A.missing", "A.extra"} {
		got := logs.FilterField(zap.String("name", name)).FilterField(zap.String("device", devID))
		if got.Len() != 1 {
			t.Errorf("%s: %d warnings naming it and the device, want 1; all: %v", name, got.Len(), logs.All())
		}
	}
}

// TestChecklist40LargeSPVStaysAtomic: checklist 40 batches reads; a SetParameterValues is
// deliberately NOT split: TR-069 §A.3.2.1 makes an SPV all-or-nothing on the CPE, and splitting
// a 40-parameter write into two RPCs would leave the first half applied when the second faults.
// It goes out whole, and a fault names the offending parameters (docs/mqtt-api.md).
func TestChecklist40LargeSPVStaysAtomic(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.inform("2 PERIODIC")
	var params [][]string
	for i := range 40 {
		params = append(params, []string{"InternetGatewayDevice.X." + strconv.Itoa(i), "v", "xsd:string"})
	}
	args, _ := json.Marshal(map[string]any{"parameters": params})
	f.rpc(`{"id":"bigset","method":"SetParameterValues","args":` + string(args) + `,"expires":60}`)
	task := f.next(s)
	if n := len(task.Request.(*soap.SetParameterValues).ParameterList); n != 40 {
		t.Fatalf("SPV sent with %d parameters, want all 40 in one atomic RPC", n)
	}
	f.b.TaskDone(context.Background(), s, task, &soap.SetParameterValuesResponse{}, nil)
	if next := f.next(s); next != nil {
		t.Fatalf("a second RPC followed: %#v", next.Request)
	}
	f.pub.waitFor(t, resultTopic, map[string]any{"id": "bigset", "status": "done"})
}
