package acs

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// ---------------------------------------------------------------- the in-test Handler

// recHandler is a small Handler with a task queue per device, like the bridge: tasks a session
// leaves outstanding go back to the front of the queue (checklist 14).
type recHandler struct {
	mu        sync.Mutex
	queue     map[string][]*Task
	informs   []Session
	cpeReqs   []soap.Message
	done      []doneRec
	informErr error
	// cpeAnswer overrides the default answers to CPE requests.
	cpeAnswer func(soap.Message) (soap.Message, error)
	// nextHook, when set, runs at the start of NextTask (tests block in it).
	nextHook func(ctx context.Context, s *Session)

	ended chan endRec
	tasks chan doneRec
}

type doneRec struct {
	Device string
	Task   *Task
	Resp   soap.Message
	Err    error
}

type endRec struct {
	Session     Session
	Outstanding *Task
	Reason      EndReason
}

func newRecHandler() *recHandler {
	return &recHandler{queue: map[string][]*Task{}, ended: make(chan endRec, 64), tasks: make(chan doneRec, 64)}
}

func (h *recHandler) enqueue(device string, reqs ...soap.Message) []*Task {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ts []*Task
	for i, r := range reqs {
		t := &Task{Request: r, Ref: fmt.Sprintf("%s#%d", device, len(h.queue[device])+i)}
		ts = append(ts, t)
	}
	h.queue[device] = append(h.queue[device], ts...)
	return ts
}

func (h *recHandler) pending(device string) []*Task {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Task(nil), h.queue[device]...)
}

func (h *recHandler) Inform(ctx context.Context, s *Session, inf *soap.Inform) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.informs = append(h.informs, *s)
	return h.informErr
}

func (h *recHandler) CPERequest(ctx context.Context, s *Session, req soap.Message) (soap.Message, error) {
	h.mu.Lock()
	h.cpeReqs = append(h.cpeReqs, req)
	answer := h.cpeAnswer
	h.mu.Unlock()
	if answer != nil {
		return answer(req)
	}
	switch req.(type) {
	case *soap.TransferComplete:
		return &soap.TransferCompleteResponse{}, nil
	case *soap.GetRPCMethods:
		return &soap.GetRPCMethodsResponse{MethodList: []string{"Inform", "GetRPCMethods", "TransferComplete"}}, nil
	}
	return nil, nil // not supported: the server answers 8000
}

func (h *recHandler) NextTask(ctx context.Context, s *Session) (*Task, error) {
	h.mu.Lock()
	hook := h.nextHook
	h.mu.Unlock()
	if hook != nil {
		hook(ctx, s)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.queue[s.DeviceID]
	if len(q) == 0 {
		return nil, nil
	}
	h.queue[s.DeviceID] = q[1:]
	return q[0], nil
}

func (h *recHandler) TaskDone(ctx context.Context, s *Session, t *Task, resp soap.Message, err error) {
	d := doneRec{Device: s.DeviceID, Task: t, Resp: resp, Err: err}
	h.mu.Lock()
	h.done = append(h.done, d)
	h.mu.Unlock()
	h.tasks <- d
}

func (h *recHandler) SessionEnded(ctx context.Context, s *Session, outstanding *Task, reason EndReason) {
	if ctx.Err() != nil {
		panic("SessionEnded got a cancelled context")
	}
	if outstanding != nil {
		h.mu.Lock()
		h.queue[s.DeviceID] = append([]*Task{outstanding}, h.queue[s.DeviceID]...)
		h.mu.Unlock()
	}
	h.ended <- endRec{Session: *s, Outstanding: outstanding, Reason: reason}
}

// waitEnded returns the next SessionEnded call, failing the test after a generous deadline.
func (h *recHandler) waitEnded(t *testing.T) endRec {
	t.Helper()
	select {
	case e := <-h.ended:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no SessionEnded within 10s")
		return endRec{}
	}
}

func (h *recHandler) waitTask(t *testing.T) doneRec {
	t.Helper()
	select {
	case d := <-h.tasks:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no TaskDone within 10s")
		return doneRec{}
	}
}

// noEnd asserts no session has ended so far.
func (h *recHandler) noEnd(t *testing.T) {
	t.Helper()
	select {
	case e := <-h.ended:
		t.Fatalf("unexpected SessionEnded: %s %s", e.Session.DeviceID, e.Reason)
	default:
	}
}

// ---------------------------------------------------------------- server and client

const testPath = "/acs"

type testACS struct {
	srv  *Server
	url  string
	addr string
	logs *observer.ObservedLogs
}

func startACS(t testing.TB, cfg Config, h Handler) *testACS {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = testPath
	}
	core, logs := observer.New(zap.DebugLevel)
	srv, err := New(cfg, h, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	return &testACS{srv: srv, url: scheme + "://" + ln.Addr().String() + cfg.Path, addr: ln.Addr().String(), logs: logs}
}

// cpe is a CPE's HTTP side: its own connection pool and, by default, a cookie jar.
type cpe struct {
	t   testing.TB
	url string
	hc  *http.Client
}

func newCPE(t testing.TB, url string) *cpe {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &cpe{t: t, url: url, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}}
}

type reply struct {
	Status int
	Header http.Header
	Body   []byte
	Env    parsedEnv
}

func (c *cpe) post(body string) reply {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
	}
	return c.do(req)
}

func (c *cpe) do(req *http.Request) reply {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	r := reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if resp.StatusCode == http.StatusOK && len(bytes.TrimSpace(b)) > 0 {
		if r.Env, err = parseEnv(b); err != nil {
			c.t.Fatalf("ACS sent malformed XML: %v\n%s", err, b)
		}
	}
	return r
}

// expect fails unless the reply is a 200 carrying method.
func (r reply) expect(t testing.TB, method string) reply {
	t.Helper()
	if r.Status != http.StatusOK || r.Env.Method != method {
		t.Fatalf("want 200 %s, got %d %q: %s", method, r.Status, r.Env.Method, r.Body)
	}
	return r
}

func (r reply) expectFault(t testing.TB, code int) reply {
	t.Helper()
	r.expect(t, "Fault")
	if r.Env.FaultCode != code {
		t.Fatalf("want fault %d, got %d (%s)", code, r.Env.FaultCode, r.Body)
	}
	if r.Env.SOAPFaultCode != "Client" && r.Env.SOAPFaultCode != "Server" {
		t.Fatalf("faultcode %q is neither Client nor Server", r.Env.SOAPFaultCode)
	}
	return r
}

func (r reply) expectEnd(t testing.TB) {
	t.Helper()
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("want 204 with an empty body, got %d: %s", r.Status, r.Body)
	}
}

// ---------------------------------------------------------------- reading what the ACS sent

// parsedEnv is what a CPE reads from an ACS envelope. It is parsed with encoding/xml, not with
// internal/cwmp/soap, so the test does not trust the codec under test to read its own output.
type parsedEnv struct {
	ID             string
	HasID          bool
	UseCWMPVersion string
	HeaderElems    []string
	Method         string
	MethodNS       string
	SOAPFaultCode  string
	FaultCode      int
	FaultString    string
	MaxEnvelopes   string
	Fields         map[string]string // text of leaf elements inside the method, by local name
}

func parseEnv(b []byte) (parsedEnv, error) {
	var p parsedEnv
	p.Fields = map[string]string{}
	d := xml.NewDecoder(bytes.NewReader(b))
	var stack []xml.Name
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			stack = append(stack, el.Name)
			text.Reset()
			switch {
			case len(stack) == 3 && stack[1].Local == "Header":
				p.HeaderElems = append(p.HeaderElems, el.Name.Local)
			case len(stack) == 3 && stack[1].Local == "Body":
				p.Method, p.MethodNS = el.Name.Local, el.Name.Space
			}
		case xml.CharData:
			text.Write(el)
		case xml.EndElement:
			s := text.String()
			switch {
			case len(stack) == 3 && stack[1].Local == "Header" && el.Name.Local == "ID":
				p.ID, p.HasID = s, true
			case len(stack) == 3 && stack[1].Local == "Header" && el.Name.Local == "UseCWMPVersion":
				p.UseCWMPVersion = s
			case len(stack) > 3 && stack[1].Local == "Body":
				switch el.Name.Local {
				case "faultcode":
					p.SOAPFaultCode = s
				case "FaultCode":
					if p.FaultCode == 0 {
						p.FaultCode, _ = strconv.Atoi(s)
					}
				case "FaultString":
					if p.FaultString == "" {
						p.FaultString = s
					}
				case "MaxEnvelopes":
					p.MaxEnvelopes = s
				}
				p.Fields[el.Name.Local] = s
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		}
	}
	if len(stack) != 0 || p.Method == "" {
		return p, errors.New("no method element in Body")
	}
	return p, nil
}

// ---------------------------------------------------------------- building what the CPE sends

type informOpts struct {
	NS, ID, OUI, ProductClass, Serial string
	Events                            []string
	Header                            string // extra header elements
	NoHeader                          bool
}

func informXML(o informOpts) string {
	if o.NS == "" {
		o.NS = soap.NSCWMP10
	}
	if o.OUI == "" {
		o.OUI = "00147F"
	}
	if o.Serial == "" {
		o.Serial = "SN0001"
	}
	if o.ID == "" {
		o.ID = "inform-1"
	}
	if o.Events == nil {
		o.Events = []string{"2 PERIODIC"}
	}
	var ev strings.Builder
	for _, e := range o.Events {
		fmt.Fprintf(&ev, "<EventStruct><EventCode>%s</EventCode><CommandKey></CommandKey></EventStruct>", e)
	}
	header := `<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">` + xmlEscape(o.ID) + `</cwmp:ID>` + o.Header + `</soap-env:Header>`
	if o.NoHeader {
		header = ""
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="` + o.NS + `">` +
		header + `<soap-env:Body><cwmp:Inform><DeviceId><Manufacturer>ACME</Manufacturer><OUI>` + o.OUI +
		`</OUI><ProductClass>` + o.ProductClass + `</ProductClass><SerialNumber>` + xmlEscape(o.Serial) +
		`</SerialNumber></DeviceId><Event soap-enc:arrayType="cwmp:EventStruct[` + strconv.Itoa(len(o.Events)) + `]">` + ev.String() +
		`</Event><MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2026-01-02T03:04:05Z</CurrentTime><RetryCount>0</RetryCount>` +
		`<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[1]"><ParameterValueStruct><Name>Device.DeviceInfo.SoftwareVersion</Name>` +
		`<Value xsi:type="xsd:string">1.0</Value></ParameterValueStruct></ParameterList></cwmp:Inform></soap-env:Body></soap-env:Envelope>`
}

// cpeMessage wraps a method element (inner XML of Body) in an envelope with cwmp:ID id.
func cpeMessage(ns, id, body string) string {
	if ns == "" {
		ns = soap.NSCWMP10
	}
	return `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="` + ns +
		`"><soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">` + xmlEscape(id) + `</cwmp:ID></soap-env:Header><soap-env:Body>` +
		body + `</soap-env:Body></soap-env:Envelope>`
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var reFixtureID = regexp.MustCompile(`(<[A-Za-z0-9_-]+:ID[^>]*>)[^<]*(</)`)

// withID replaces the cwmp:ID of a captured message, so a real CPE response answers our request.
func withID(msg, id string) string {
	return reFixtureID.ReplaceAllString(msg, "${1}"+xmlEscape(id)+"${2}")
}

// openSession posts an Inform and checks the InformResponse.
func (c *cpe) openSession(o informOpts) reply {
	c.t.Helper()
	return c.post(informXML(o)).expect(c.t, "InformResponse")
}

var (
	gpv    = &soap.GetParameterValues{ParameterNames: []string{"Device.DeviceInfo.UpTime"}}
	reboot = &soap.Reboot{CommandKey: "reboot-1"}
)

const gpvResponseBody = `<cwmp:GetParameterValuesResponse><ParameterList><ParameterValueStruct><Name>Device.DeviceInfo.UpTime</Name><Value>42</Value></ParameterValueStruct></ParameterList></cwmp:GetParameterValuesResponse>`
