package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/boltmap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

// storeFilesResident is how much of each store file the gateway (this process) has mapped.
func storeFilesResident(t *testing.T, tg *testGateway) map[string]int64 {
	t.Helper()
	store := tg.env["CWMP2MQTT_STORE_PATH"]
	out := map[string]int64{}
	for _, f := range []string{store, valuesFile(store), brokerRetainedFile(store)} {
		n, err := boltmap.Resident(f)
		if err != nil {
			t.Skipf("no /proc/self/smaps: %v", err)
		}
		out[f] = n
	}
	return out
}

// The store files' pages that registrations and retained messages mapped are given back at
// store.release_pages (package boltmap), and the gateway goes on reading its files: without it
// the pages stay mapped (counted in RSS) until the kernel reclaims them (at 100,000 devices,
// 170–330 MiB after a registration wave; docs/performance.md).
func TestStorePagesReleasedAndTheStoreStillRead(t *testing.T) {
	tg := startGateway(t, map[string]string{"CWMP2MQTT_STORE_RELEASE_PAGES": "200ms"})
	pf := newPlatform(t, tg.Broker, "cwmp2mqtt/#")
	var cpes []*simCPE
	for i := range 4 {
		c := startCPE(t, sim.Config{ACSURL: tg.ACSURL, Serial: fmt.Sprintf("PAGES%d", i)}, "tr098")
		pf.await("cwmp2mqtt/"+c.ID+"/availability", map[string]any{"state": "online"}, wait)
		cpes = append(cpes, c)
	}
	// Released within a few intervals: at most the two meta pages a transaction since read.
	var resident map[string]int64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resident = storeFilesResident(t, tg)
		released := true
		for _, n := range resident {
			released = released && n <= 8<<10
		}
		if released {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store files still mapped 10 s after the registrations: %v bytes", resident)
		}
	}
	// The store is read as before: a device's raw values (from the values file) and a request.
	c := cpes[2]
	pf.publish("cwmp2mqtt/"+c.ID+"/rpc", `{"id":"pages-1","method":"GetParameterValues","args":{"names":["`+pSoftware+`"]},"expires":60}`)
	res := pf.await("cwmp2mqtt/"+c.ID+"/rpc/result", map[string]any{"id": "pages-1", "status": "done"}, wait)
	want, err := c.Model().Get(pSoftware)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := res["result"].(map[string]any)["parameters"].(map[string]any)[pSoftware].(map[string]any)
	if got["value"] != want.Value.Raw {
		t.Errorf("%s read as %v after the release, the CPE has %q", pSoftware, got["value"], want.Value.Raw)
	}
	// And after a restart every device is known from the records file.
	tg.stop()
	tg.start()
	known := map[string]bool{}
	for _, d := range tg.g.bridge.DeviceStatuses() {
		known[d.ID] = true
	}
	for _, c := range cpes {
		if !known[c.ID] {
			t.Errorf("%s unknown after a restart", c.ID)
		}
	}
}
