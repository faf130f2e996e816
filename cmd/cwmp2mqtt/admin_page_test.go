package main

import (
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// chromium finds Debian's headless-capable browser.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runChromium runs one headless Chromium command (--dump-dom or --screenshot) on url with a
// fresh profile and nothing that phones home, and returns its standard output.
func runChromium(t *testing.T, browser, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, browser, append(append(base, args...), url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", browser, args, err, stderr.String())
	}
	return string(out)
}

// row returns the HTML of the status page's table row of device id ("" when absent).
func row(dom, id string) string {
	i := strings.Index(dom, `data-device="`+html.EscapeString(id)+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(dom[i:], "</tr>")
	if j < 0 {
		return dom[i:]
	}
	return dom[i : i+j]
}

// TestAdminStatusPageInChromium opens the status page of a gateway serving a simulated fleet in
// headless Chromium and checks what a technician would: every device is listed with its
// manufacturer, model, state and finished interview, a waiting request shows in the queue column, and the filter
// narrows the list. With CWMP2MQTT_SCREENSHOT=file.png it also saves a screenshot
// (docs/status-page.png is made so).
func TestAdminStatusPageInChromium(t *testing.T) {
	browser := chromium()
	if browser == "" {
		t.Skip("no chromium on PATH: install Debian's chromium (apt-get install chromium; .ci/run does when CI=true) to test the status page in a browser")
	}
	url, _, _ := mqtttest.StartEmbedded(t)
	pf := newPlatform(t, url, "cwmp2mqtt/#")
	gw := startGateway(t, map[string]string{"CWMP2MQTT_MQTT_URL": url, "CWMP2MQTT_CWMP_CONNREQ_RETRIES": "0"})
	const n = 6
	f, ids := startOnlineFleet(t, pf, sim.FleetConfig{N: n, SerialPrefix: "PAGE",
		Model: func(i int) (*datamodel.Model, error) {
			if i%2 == 1 {
				return datamodel.LoadTR098Huawei()
			}
			return datamodel.LoadTR181()
		},
		CPE: sim.Config{ACSURL: gw.ACSURL, PeriodicInterval: time.Hour}})
	// A request for a CPE that ignores connection requests waits in its queue (once the boot
	// sessions are over: an open session would take it at once).
	for _, id := range ids {
		pf.await("cwmp2mqtt/"+id+"/event", map[string]any{"event": "interview_done"}, wait)
	}
	eventually(t, "boot sessions ended", func() bool {
		m := scrape(t, gw.adminURL())
		return m["cwmp2mqtt_cwmp_sessions_open"] == 0 && m["cwmp2mqtt_cwmp_sessions_started_total"] >= n
	})
	f.CPE(n - 1).SetMuted(true)
	pf.publish("cwmp2mqtt/"+ids[n-1]+"/rpc", `{"id":"page-1","method":"Reboot","expires":3600}`)
	pf.await("cwmp2mqtt/"+ids[n-1]+"/rpc/result", map[string]any{"id": "page-1", "status": "accepted"}, wait)

	page := gw.adminURL() + "/"
	dom := runChromium(t, browser, page, "--dump-dom")
	for i, id := range ids {
		r := row(dom, id)
		if r == "" {
			t.Errorf("device %s is not on the page", id)
			continue
		}
		dev := f.CPE(i).Model().DeviceID()
		for _, want := range []string{html.EscapeString(dev.Manufacturer), "online", ">done</span>"} {
			if !strings.Contains(r, want) {
				t.Errorf("row of %s lacks %q: %s", id, want, r)
			}
		}
	}
	if r := row(dom, ids[n-1]); !strings.Contains(r, `<td class="num">1</td>`) {
		t.Errorf("row of %s should show 1 queued request: %s", ids[n-1], r)
	}
	if !strings.Contains(dom, fmt.Sprintf("%d online of %d known", n, n)) || !strings.Contains(dom, "ready") ||
		!strings.Contains(dom, "device_registered") {
		t.Errorf("the page lacks the summary, readiness or events:\n%s", dom)
	}
	dom = runChromium(t, browser, page+"?q="+f.CPE(2).Serial(), "--dump-dom")
	for i, id := range ids {
		if shown := row(dom, id) != ""; shown != (i == 2) {
			t.Errorf("filter %s: device %s shown = %v", f.CPE(2).Serial(), id, shown)
		}
	}
	if shot := os.Getenv("CWMP2MQTT_SCREENSHOT"); shot != "" {
		runChromium(t, browser, page, "--screenshot="+shot, "--window-size=1280,860", "--hide-scrollbars")
		t.Logf("screenshot written to %s", shot)
	}
}
