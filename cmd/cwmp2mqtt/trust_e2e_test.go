package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

// TestImpostorWithAnotherDevicesCredentialsGetsAuthFailed is issue 9 points 1 and 5 end to end:
// with a devices file, a CPE that authenticates as DEVA0001 but informs as DEVB0002 gets no
// session; the platform sees auth_failed naming both, and DEVB0002 is never registered. The real
// DEVB0002 then registers normally.
func TestImpostorWithAnotherDevicesCredentialsGetsAuthFailed(t *testing.T) {
	devices := filepath.Join(t.TempDir(), "devices.yaml")
	if err := os.WriteFile(devices, []byte("DEVA0001: pa\nDEVB0002: pb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := startGateway(t, map[string]string{
		"CWMP2MQTT_CWMP_AUTH_MODE": "digest", "CWMP2MQTT_CWMP_AUTH_DEVICES_FILE": devices,
	})
	p := newPlatform(t, gw.Broker, "cwmp2mqtt/#")

	impostor := startCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "DEVB0002", Auth: sim.AuthDigest,
		Username: "DEVA0001", Password: "pa"}, "")
	ev := p.await("cwmp2mqtt/bridge/event", map[string]any{"event": "auth_failed", "device": impostor.ID, "user": "DEVA0001"}, 20*time.Second)
	if ev["remote"] == "" || ev["reason"] == "" {
		t.Errorf("auth_failed without remote or reason: %v", ev)
	}
	if n := p.count("cwmp2mqtt/bridge/event", map[string]any{"event": "device_registered", "device": impostor.ID}); n != 0 {
		t.Fatalf("the impostor registered %s", impostor.ID)
	}

	real := startCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "DEVB0002", Auth: sim.AuthDigest,
		Username: "DEVB0002", Password: "pb"}, "")
	p.await("cwmp2mqtt/bridge/event", map[string]any{"event": "device_registered", "device": real.ID}, 20*time.Second)
}

// TestOpenACSBoundedByNetworksAndMaxDevices is issue 9 point 7 end to end: with authentication
// off, a CPE outside cwmp.allow_networks gets auth_failed (403); inside, the registry stops at
// cwmp.max_devices with registration_refused while the known device keeps working.
func TestOpenACSBoundedByNetworksAndMaxDevices(t *testing.T) {
	outside := startGateway(t, map[string]string{"CWMP2MQTT_CWMP_ALLOW_NETWORKS": "10.0.0.0/8"})
	po := newPlatform(t, outside.Broker, "cwmp2mqtt/#")
	startCPE(t, sim.Config{ACSURL: outside.ACSURL, Serial: "LAN0001"}, "")
	po.await("cwmp2mqtt/bridge/event", map[string]any{"event": "auth_failed"}, 20*time.Second)

	gw := startGateway(t, map[string]string{"CWMP2MQTT_CWMP_MAX_DEVICES": "1"})
	p := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	first := startCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "FIRST001"}, "")
	p.await("cwmp2mqtt/bridge/event", map[string]any{"event": "device_registered", "device": first.ID}, 20*time.Second)
	second := startCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "SECOND02"}, "")
	p.await("cwmp2mqtt/bridge/event", map[string]any{"event": "registration_refused", "device": second.ID}, 20*time.Second)
	mark := first.rec.Mark()
	first.Inform("2 PERIODIC", "")
	first.waitSession(t, mark, func(s sim.SessionResult) bool { return s.Err == nil })
}
