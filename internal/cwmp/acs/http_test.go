package acs

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// rawExchange writes raw request bytes on a fresh TCP connection and reads one response.
func rawExchange(t *testing.T, addr, req string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestChecklist01OnlyPOST(t *testing.T) {
	acs := startACS(t, Config{}, newRecHandler())
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete, http.MethodOptions} {
		req, _ := http.NewRequest(m, acs.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s: got %d Allow=%q, want 405 Allow=POST", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	resp, err := http.Post(strings.TrimSuffix(acs.url, testPath)+"/elsewhere", "text/xml", strings.NewReader(informXML(informOpts{})))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST to another path: got %d, want 404", resp.StatusCode)
	}
}

func TestChecklist02ContentLengthAndChunked(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	body := fixture(t, "01-thomson-speedtouch780-inform-periodic.xml")

	// Content-Length, as the Thomson sent it.
	resp := rawExchange(t, acs.addr, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml; charset=ISO-8859-1\r\nSOAPAction: \r\nContent-Length: %d\r\n\r\n%s", testPath, len(body), body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Content-Length body: got %d", resp.StatusCode)
	}

	// Chunked, in odd-sized chunks.
	var chunked strings.Builder
	for rest := body; rest != ""; {
		n := min(len(rest), 333)
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", n, rest[:n])
		rest = rest[n:]
	}
	chunked.WriteString("0\r\n\r\n")
	resp = rawExchange(t, acs.addr, "POST "+testPath+" HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"+chunked.String())
	b, _ := io.ReadAll(resp.Body)
	env, err := parseEnv(b)
	if resp.StatusCode != http.StatusOK || err != nil || env.Method != "InformResponse" {
		t.Fatalf("chunked body: got %d %q (%v)", resp.StatusCode, env.Method, err)
	}
	if env.ID != "3_THOM_TR69_ID" {
		t.Errorf("InformResponse cwmp:ID %q, want the Thomson's 3_THOM_TR69_ID", env.ID)
	}
	if e := h.waitEnded(t); e.Reason != EndSuperseded || e.Session.DeviceID != "00147F-SpeedTouch%20780-CP0644JTHJ4" {
		t.Errorf("second Inform should supersede the first session of the same device, got %s %s", e.Session.DeviceID, e.Reason)
	}
}

// TestChecklist02Expect100Continue: easycwmp sends Expect: 100-continue and waits for the
// interim response before it sends the body.
func TestChecklist02Expect100Continue(t *testing.T) {
	acs := startACS(t, Config{}, newRecHandler())
	body := informXML(informOpts{})
	conn, err := net.Dial("tcp", acs.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", testPath, len(body))
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue before the body, got %q %v", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("interim response not terminated: %q", blank)
	}
	io.WriteString(conn, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if env, err := parseEnv(b); resp.StatusCode != 200 || err != nil || env.Method != "InformResponse" {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
}

func TestChecklist03AnyContentType(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	for i, ct := range []string{`text/xml; charset="utf-8"`, `text/xml; charset=utf-8`, "text/html", "application/xml",
		"application/soap+xml", ""} {
		c := newCPE(t, acs.url)
		req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader(informXML(informOpts{Serial: fmt.Sprint("CT", i)})))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		c.do(req).expect(t, "InformResponse")
		// The empty POST that follows comes without a Content-Type.
		req, _ = http.NewRequest(http.MethodPost, acs.url, nil)
		c.do(req).expectEnd(t)
		if e := h.waitEnded(t); e.Reason != EndDone {
			t.Errorf("Content-Type %q: session ended %s", ct, e.Reason)
		}
	}
}

// TestChecklist04Charset: a Latin-1 Inform declared in the Content-Type reaches the handler as
// UTF-8 (the server hands the header to the codec).
func TestChecklist04Charset(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	body := strings.Replace(informXML(informOpts{}), `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1)
	body = strings.Replace(body, "<Manufacturer>ACME</Manufacturer>", "<Manufacturer>T\xe9l\xe9com</Manufacturer>", 1)
	req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=ISO-8859-1")
	newCPE(t, acs.url).do(req).expect(t, "InformResponse")
	h.mu.Lock()
	defer h.mu.Unlock()
	if got := h.informs[0].Device.Manufacturer; got != "Télécom" {
		t.Errorf("Manufacturer %q, want Télécom", got)
	}
}

func TestChecklist05ContentEncoding(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	body := []byte(informXML(informOpts{}))
	compress := map[string]func(io.Writer) io.WriteCloser{
		"gzip":            func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"deflate":         func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) },
		"deflate-raw":     func(w io.Writer) io.WriteCloser { fw, _ := flate.NewWriter(w, 5); return fw },
		"x-gzip":          func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"identity":        nil,
		"GZIP (any case)": func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
	}
	header := map[string]string{"deflate-raw": "deflate", "GZIP (any case)": "GZIP"}
	for name, mk := range compress {
		var buf bytes.Buffer
		if mk == nil {
			buf.Write(body)
		} else {
			zw := mk(&buf)
			zw.Write(body)
			zw.Close()
		}
		enc := name
		if h, ok := header[name]; ok {
			enc = h
		}
		req, _ := http.NewRequest(http.MethodPost, acs.url, &buf)
		req.Header.Set("Content-Encoding", enc)
		newCPE(t, acs.url).do(req).expect(t, "InformResponse")
	}

	for _, enc := range []string{"br", "compress", "zstd"} {
		req, _ := http.NewRequest(http.MethodPost, acs.url, bytes.NewReader(body))
		req.Header.Set("Content-Encoding", enc)
		if r := newCPE(t, acs.url).do(req); r.Status != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Encoding %s: got %d, want 415", enc, r.Status)
		}
	}

	// A corrupt gzip stream is a clear 400, not a crash.
	req, _ := http.NewRequest(http.MethodPost, acs.url, strings.NewReader("\x1f\x8b\x08\x00garbage"))
	req.Header.Set("Content-Encoding", "gzip")
	if r := newCPE(t, acs.url).do(req); r.Status != http.StatusBadRequest {
		t.Errorf("corrupt gzip: got %d, want 400", r.Status)
	}
}

func TestChecklist06EmptyPOSTAndEmptyBody(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	h.enqueue("00147F-SN0001", gpv)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	// Whitespace only is an empty POST: the CPE yields the turn and gets the task.
	c.post(" \r\n\t ").expect(t, "GetParameterValues")

	// An Envelope with an empty Body is a protocol error. With the GPV outstanding it stands as
	// the CPE's broken answer: the task fails and the session ends, with 204 rather than a fault
	// the CPE may not survive (issue 7).
	const emptyBody = `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Header/><soap-env:Body></soap-env:Body></soap-env:Envelope>`
	c.post(emptyBody).expectEnd(t)
	if d := h.waitTask(t); !errors.Is(d.Err, ErrMismatch) || !strings.Contains(d.Err.Error(), "Body") {
		t.Errorf("outstanding GPV should fail with ErrMismatch naming the empty Body, got %v", d.Err)
	}
	if e := h.waitEnded(t); e.Reason != EndError {
		t.Errorf("session ended %s, want error", e.Reason)
	}
	if n := acs.logs.FilterMessage("undecodable envelope").FilterField(zap.String("device", "00147F-SN0001")).Len(); n != 1 {
		t.Errorf("protocol error should be logged once with the device id, got %d lines", n)
	}
	// With nothing outstanding it is answered with fault 8003 and a clear text.
	c = newCPE(t, acs.url)
	c.openSession(informOpts{})
	r := c.post(emptyBody).expectFault(t, soap.FaultInvalidArguments)
	if r.Env.SOAPFaultCode != "Client" || !strings.Contains(strings.ToLower(r.Env.FaultString), "body") {
		t.Errorf("fault should blame the client's empty Body, got %s %q", r.Env.SOAPFaultCode, r.Env.FaultString)
	}
	h.waitEnded(t)

	// Malformed XML without a session: a fault too, never a crash.
	r = newCPE(t, acs.url).post(`<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><cwmp:Inform>`)
	r.expectFault(t, soap.FaultInvalidArguments)
}

func TestChecklist07EndWith204(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	c := newCPE(t, acs.url)
	c.openSession(informOpts{})
	c.post("").expectEnd(t)
	e := h.waitEnded(t)
	if e.Reason != EndDone || e.Outstanding != nil {
		t.Errorf("got %s outstanding=%v, want done with nothing outstanding", e.Reason, e.Outstanding)
	}
	if st := acs.srv.Stats(); st.Open != 0 || st.Ended[EndDone] != 1 || st.Started != 1 {
		t.Errorf("stats after one session: %+v", st)
	}
}

func TestChecklist08StrayEmptyPOST(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{}, h)
	c := newCPE(t, acs.url)
	c.post("").expectEnd(t)
	c.post("\n").expectEnd(t)
	if st := acs.srv.Stats(); st.Open != 0 || st.Started != 0 {
		t.Errorf("a stray empty POST left state: %+v", st)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.informs) != 0 {
		t.Errorf("handler was called for a stray POST")
	}
	h.noEnd(t)
}

// TestChecklist09OverloadRefusesOnlyNewSessions: with the session limit reached, a new Inform
// gets 503 + Retry-After while the open session runs to its end.
func TestChecklist09OverloadRefusesOnlyNewSessions(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{MaxConcurrentSessions: 1, RetryAfter: 7 * time.Second}, h)
	h.enqueue("00147F-SN0001", gpv, reboot)
	a := newCPE(t, acs.url)
	a.openSession(informOpts{})
	task := a.post("").expect(t, "GetParameterValues")

	b := newCPE(t, acs.url)
	r := b.post(informXML(informOpts{Serial: "OTHER"}))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "7" {
		t.Fatalf("new session under overload: got %d Retry-After=%q, want 503 and 7", r.Status, r.Header.Get("Retry-After"))
	}

	// The session in progress continues untouched.
	task = a.post(cpeMessage("", task.Env.ID, gpvResponseBody)).expect(t, "Reboot")
	a.post(cpeMessage("", task.Env.ID, `<cwmp:RebootResponse/>`)).expectEnd(t)
	h.waitEnded(t)
	// Room again: the refused CPE gets in.
	b.openSession(informOpts{Serial: "OTHER"})
	if st := acs.srv.Stats(); st.Overload != 1 {
		t.Errorf("Overload = %d, want 1", st.Overload)
	}
}

// TestChecklist10Bounds: body size on the wire and after decompression (413), header size,
// read timeout.
func TestChecklist10Bounds(t *testing.T) {
	h := newRecHandler()
	acs := startACS(t, Config{MaxBodyBytes: 64 << 10, MaxHeaderBytes: 4 << 10, ReadTimeout: 300 * time.Millisecond}, h)
	big := informXML(informOpts{Serial: strings.Repeat("X", 70<<10)})

	// Declared too large: refused before the body is read (no 100 Continue).
	r := newCPE(t, acs.url).post(big)
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized Content-Length body: %d, want 413", r.Status)
	}
	// Chunked, so only counting catches it.
	req, _ := http.NewRequest(http.MethodPost, acs.url, io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	if r := newCPE(t, acs.url).do(req); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked body: %d, want 413", r.Status)
	}
	// A gzip bomb: 1 MiB of zeros compresses to ~1 KiB on the wire.
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	req, _ = http.NewRequest(http.MethodPost, acs.url, &bomb)
	req.Header.Set("Content-Encoding", "gzip")
	if r := newCPE(t, acs.url).do(req); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb: %d, want 413", r.Status)
	}

	// Header block too large.
	req, _ = http.NewRequest(http.MethodPost, acs.url, strings.NewReader(informXML(informOpts{})))
	req.Header.Set("X-Padding", strings.Repeat("p", 16<<10))
	if r := newCPE(t, acs.url).do(req); r.Status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized header: %d, want 431", r.Status)
	}

	// A client that never finishes its headers is disconnected.
	conn, err := net.Dial("tcp", acs.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST "+testPath+" HTTP/1.1\r\nHost: acs\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("slow client not disconnected by ReadTimeout: %v", err)
	}

	if st := acs.srv.Stats(); st.Started != 0 {
		t.Errorf("a refused request started a session")
	}
}
