package acs

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// nopHandler is the cheapest Handler: it accepts every Inform and has no tasks.
type nopHandler struct{}

func (nopHandler) Inform(context.Context, *Session, *soap.Inform) error { return nil }
func (nopHandler) CPERequest(context.Context, *Session, soap.Message) (soap.Message, error) {
	return nil, nil
}
func (nopHandler) NextTask(context.Context, *Session) (*Task, error)              { return nil, nil }
func (nopHandler) TaskDone(context.Context, *Session, *Task, soap.Message, error) {}
func (nopHandler) SessionEnded(context.Context, *Session, *Task, EndReason)       {}

// BenchmarkInformSession measures one whole session over loopback HTTP with keep-alive:
// Inform → InformResponse (+cookie) → empty POST → 204. Allocations count the client too.
func BenchmarkInformSession(b *testing.B) {
	srv, err := New(Config{Path: testPath, IdleTimeout: time.Minute}, nopHandler{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	url := "http://" + ln.Addr().String() + testPath
	inform := informXML(informOpts{Serial: "BENCH"})
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := strings.NewReader("")

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body.Reset(inform)
		req, _ := http.NewRequest(http.MethodPost, url, body)
		req.Header.Set("Content-Type", "text/xml")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cookie := resp.Header.Get("Set-Cookie")
		if resp.StatusCode != http.StatusOK || cookie == "" {
			b.Fatalf("Inform: %d", resp.StatusCode)
		}
		req, _ = http.NewRequest(http.MethodPost, url, http.NoBody)
		req.Header.Set("Cookie", cookie[:strings.IndexByte(cookie, ';')])
		resp, err = client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("empty POST: %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	if st := srv.Stats(); st.Open != 0 {
		b.Fatalf("%d sessions left open", st.Open)
	}
}
