package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

const wait = 20 * time.Second

// TestE2EGatewayWithCPEs drives a real gateway (ACS, bridge, outbox, embedded broker) with
// simulated CPEs over real HTTP and a platform over real MQTT, with CPE authentication off,
// Basic and Digest: bootstrap, connection-request credential provisioning, periodic informs,
// a connection request that leads to a GetParameterValues, SetParameterValues,
// AddObject/DeleteObject, Reboot, and Download → TransferComplete.
func TestE2EGatewayWithCPEs(t *testing.T) {
	for _, mode := range []string{"none", "basic", "digest"} {
		t.Run("auth="+mode, func(t *testing.T) {
			env := map[string]string{}
			cpeCfg := sim.Config{Serial: "E2E" + strings.ToUpper(mode)}
			if mode != "none" {
				env["CWMP2MQTT_CWMP_AUTH_MODE"] = mode
				env["CWMP2MQTT_CWMP_AUTH_USERNAME"] = "cpe"
				env["CWMP2MQTT_CWMP_AUTH_PASSWORD"] = "s3cret"
				cpeCfg.Auth, cpeCfg.Username, cpeCfg.Password = sim.AuthMode(mode), "cpe", "s3cret"
			}
			gw := startGateway(t, env)
			pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
			cpeCfg.ACSURL = gw.ACSURL
			fileSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "firmware image")
			}))
			defer fileSrv.Close()
			cpeCfg.FetchDownloads = true
			cpe := startCPE(t, cpeCfg, "tr098")
			id := cpe.ID
			B := "cwmp2mqtt/" + id

			// Bootstrap: registration, the Inform, events, availability.
			pf.await("cwmp2mqtt/bridge/event", map[string]any{"event": "device_registered", "device": id}, wait)
			inf := pf.await(B+"/inform", nil, wait)
			if !strings.Contains(mustJSON(inf["events"]), "0 BOOTSTRAP") {
				t.Fatalf("bootstrap inform events: %v", inf["events"])
			}
			pf.await(B+"/availability", map[string]any{"state": "online"}, wait)

			// Credential provisioning (checklist 49): the gateway set per-device CR credentials.
			cpe.waitRPC(t, sim.Mark{}, func(e sim.RPCEvent) bool {
				return e.Method == "SetParameterValues" && e.Fault == nil && contains(e.Names, "InternetGatewayDevice.ManagementServer.ConnectionRequestUsername")
			})
			user := cpe.value(t, "InternetGatewayDevice.ManagementServer.ConnectionRequestUsername")
			if !strings.HasPrefix(user, "cwmp2mqtt-") {
				t.Fatalf("CR username on the CPE: %q", user)
			}
			cpe.waitSession(t, sim.Mark{}, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventBootstrap) && s.Err == nil })

			// A connection request leads to the GetParameterValues (checklist 47).
			mark := cpe.rec.Mark()
			pf.publish(B+"/rpc", `{"id":"gpv-1","method":"GetParameterValues","args":{"names":["InternetGatewayDevice.DeviceInfo.SoftwareVersion"]},"expires":30,"timeout":30}`)
			pf.await(B+"/rpc/result", map[string]any{"id": "gpv-1", "status": "accepted"}, wait)
			cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventConnectionRequest) })
			done := pf.await(B+"/rpc/result", map[string]any{"id": "gpv-1", "status": "done"}, wait)
			want := cpe.value(t, "InternetGatewayDevice.DeviceInfo.SoftwareVersion")
			if !strings.Contains(mustJSON(done["result"]), `"value":"`+want+`"`) {
				t.Fatalf("GPV result %v lacks %q", done["result"], want)
			}

			// SetParameterValues changes the CPE.
			ssid := "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
			pf.publish(B+"/rpc", `{"id":"spv-1","method":"SetParameterValues","args":{"parameters":[["`+ssid+`","e2e-net","xsd:string"]]},"expires":30}`)
			pf.await(B+"/rpc/result", map[string]any{"id": "spv-1", "status": "done", "result": map[string]any{"status": 0, "applied_later": false}}, wait)
			if got := cpe.value(t, ssid); got != "e2e-net" {
				t.Fatalf("SSID on the CPE = %q", got)
			}

			// AddObject then DeleteObject of the new instance.
			pm := "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.PortMapping."
			pf.publish(B+"/rpc", `{"id":"add-1","method":"AddObject","args":{"object":"`+pm+`"},"expires":30}`)
			add := pf.await(B+"/rpc/result", map[string]any{"id": "add-1", "status": "done"}, wait)
			inst := int(add["result"].(map[string]any)["instance_number"].(float64))
			if _, err := cpe.Model().Names(fmt.Sprintf("%s%d.", pm, inst), false); err != nil {
				t.Fatalf("instance %d not on the CPE: %v", inst, err)
			}
			pf.publish(B+"/rpc", fmt.Sprintf(`{"id":"del-1","method":"DeleteObject","args":{"object":"%s%d."},"expires":30}`, pm, inst))
			pf.await(B+"/rpc/result", map[string]any{"id": "del-1", "status": "done"}, wait)
			if _, err := cpe.Model().Names(fmt.Sprintf("%s%d.", pm, inst), false); err == nil {
				t.Fatalf("instance %d still on the CPE", inst)
			}

			// Reboot: done, then the CPE comes back with 1 BOOT and M Reboot.
			mark = cpe.rec.Mark()
			pf.publish(B+"/rpc", `{"id":"reboot-1","method":"Reboot","args":{"command_key":"rb-1"},"expires":30}`)
			pf.await(B+"/rpc/result", map[string]any{"id": "reboot-1", "status": "done"}, wait)
			cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventBoot) && s.HasEvent("M Reboot", "rb-1") })
			pf.await(B+"/event", map[string]any{"event": "boot"}, wait)

			// Download: status 1, then TransferComplete in a later session, as an event.
			pf.publish(B+"/rpc", `{"id":"dl-1","method":"Download","args":{"file_type":"firmware","url":"`+fileSrv.URL+`/fw.bin","command_key":"dl-key"},"expires":30}`)
			dl := pf.await(B+"/rpc/result", map[string]any{"id": "dl-1", "status": "done"}, wait)
			if st := dl["result"].(map[string]any)["status"]; st != float64(1) && st != float64(0) {
				t.Fatalf("download status %v", st)
			}
			tc := pf.await(B+"/event", map[string]any{"event": "transfer_complete", "command_key": "dl-key"}, wait)
			if strings.Contains(mustJSON(tc), `"fault_code":90`) {
				t.Fatalf("transfer failed: %v", tc)
			}

			// Every request got exactly one terminal result.
			for _, rid := range []string{"gpv-1", "spv-1", "add-1", "del-1", "reboot-1", "dl-1"} {
				n := 0
				for _, m := range pf.messages(B + "/rpc/result") {
					if strings.Contains(string(m.Payload), `"id":"`+rid+`"`) && !strings.Contains(string(m.Payload), `"accepted"`) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%s: %d terminal results", rid, n)
				}
			}
		})
	}
}

// Periodic informs keep the device online and each one is published.
func TestE2EPeriodicInforms(t *testing.T) {
	gw := startGateway(t, nil)
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	cpe := startCPE(t, sim.Config{ACSURL: gw.ACSURL, Serial: "PERIODIC1", PeriodicInterval: 300 * time.Millisecond, NS: soap.NSCWMP12}, "tr181")
	cpe.waitSession(t, sim.Mark{}, func(s sim.SessionResult) bool { return s.HasEvent(sim.EventPeriodic) })
	cpe.waitSession(t, cpe.rec.Mark(), func(s sim.SessionResult) bool { return s.HasEvent(sim.EventPeriodic) })
	ev := pf.await("cwmp2mqtt/"+cpe.ID+"/event", map[string]any{"event": "periodic"}, wait)
	if ev["device"] != cpe.ID {
		t.Fatalf("event %v", ev)
	}
	pf.await("cwmp2mqtt/"+cpe.ID+"/availability", map[string]any{"state": "online"}, wait)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Two gateways on one host used to share the default client id cwmp2mqtt-<hostname> and took
// each other's session over in a loop. Without mqtt.client_id each installation now has its own,
// kept in its store across restarts.
func TestDefaultClientIDPerInstallation(t *testing.T) {
	a := startGateway(t, map[string]string{"CWMP2MQTT_MQTT_CLIENT_ID": ""})
	b := startGateway(t, map[string]string{"CWMP2MQTT_MQTT_CLIENT_ID": ""})
	idA, idB := a.g.clientID, b.g.clientID
	if idA == idB || !strings.HasPrefix(idA, "cwmp2mqtt-") {
		t.Fatalf("client ids %q and %q: want distinct, generated ones", idA, idB)
	}
	a.stop()
	a.start()
	if a.g.clientID != idA {
		t.Fatalf("client id changed across a restart: %q, then %q", idA, a.g.clientID)
	}
}
