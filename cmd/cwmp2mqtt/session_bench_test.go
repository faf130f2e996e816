package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// BenchmarkPeriodicSession: what one periodic session of a known device costs the whole
// gateway (ACS, bridge, store, outbox, embedded broker with a subscribed platform, standard
// translator in process): a new TCP connection, the Inform (2 PERIODIC, the forced-inform
// parameters with the values the gateway knows) → InformResponse, the empty POST → 204. The
// client writes and reads HTTP by hand so that allocs/op and B/op are nearly all the gateway's
// (they count every goroutine of the process). Sessions run one after another.
//
//	go test ./cmd/cwmp2mqtt -run '^$' -bench PeriodicSession -benchtime 2000x -count 6
func BenchmarkPeriodicSession(b *testing.B) {
	r := newBenchRig(b)
	m := r.cpe.Model()
	inf := &soap.Inform{DeviceID: m.DeviceID(), Events: []soap.Event{{Code: "2 PERIODIC"}}, MaxEnvelopes: 1,
		CurrentTime: soap.NewDateTime(time.Now())}
	for _, rel := range []string{"DeviceSummary", "DeviceInfo.SpecVersion", "DeviceInfo.HardwareVersion",
		"DeviceInfo.SoftwareVersion", "DeviceInfo.ProvisioningCode", "ManagementServer.ParameterKey",
		"ManagementServer.ConnectionRequestURL", "WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"} {
		if pv, err := m.Get(m.Root() + rel); err == nil {
			inf.ParameterList = append(inf.ParameterList, pv)
		}
	}
	if len(inf.ParameterList) < 4 {
		b.Fatalf("only %d forced-inform parameters in the model", len(inf.ParameterList))
	}
	body, err := soap.Encode(&soap.Envelope{ID: "1", HasID: true, Body: inf})
	if err != nil {
		b.Fatal(err)
	}
	addr := r.acs
	informReq := []byte(fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nSOAPAction: \"\"\r\nContent-Length: %d\r\n\r\n%s",
		addr, len(body), body))
	buf := make([]byte, 0, 512)
	session := func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := c.Write(informReq); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), "InformResponse") {
			b.Fatalf("Inform: %s %s", resp.Status, got)
		}
		cookie := resp.Header.Get("Set-Cookie")
		if i := strings.IndexByte(cookie, ';'); i >= 0 {
			cookie = cookie[:i]
		}
		buf = append(buf[:0], "POST / HTTP/1.1\r\nHost: "...)
		buf = append(buf, addr...)
		buf = append(buf, "\r\nContent-Length: 0\r\nCookie: "...)
		buf = append(buf, cookie...)
		buf = append(buf, "\r\n\r\n"...)
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("empty POST: %s", resp.Status)
		}
	}
	session() // the first one records these parameters; the measured ones repeat them
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the platform's messages (B/D/inform of each session) are dropped
		for {
			select {
			case <-r.msgs:
			case <-stop:
				return
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		session()
	}
}
