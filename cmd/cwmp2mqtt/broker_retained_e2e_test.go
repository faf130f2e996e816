package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// The embedded broker keeps its retained messages in a file beside the store (issue 11: out of
// the heap). After a clean restart of the gateway binary a platform finds every device's
// retained state as it was and the gateway does not publish them all again; after kill -9 —
// right after a new device's first session, whose messages may not be in the file yet — the
// file is discarded with a log line, the gateway republishes, and no device's state is lost.
func TestEmbeddedBrokerRetainedTopicsAcrossCleanRestartAndKill(t *testing.T) {
	port := strconv.Itoa(mqtttest.FreePort(t))
	url := "tcp://127.0.0.1:" + port
	env := requestEnv()
	env["CWMP2MQTT_MQTT_EMBEDDED_LISTEN"] = "127.0.0.1:" + port
	env["CWMP2MQTT_LOG_LEVEL"] = "info"
	gw := startCrashGateway(t, env)
	pf := newPlatform(t, url, "cwmp2mqtt/#")
	var ids []string
	for _, serial := range []string{"KEEP1", "KEEP2", "KEEP3"} {
		ids = append(ids, startReadyCPE(t, gw.ACSURL, pf, serial, nil).ID)
	}
	states := map[string][]byte{}
	for _, id := range ids {
		pf.await("cwmp2mqtt/"+id+"/state", map[string]any{}, wait)
		msgs := pf.messages("cwmp2mqtt/" + id + "/state")
		states[id] = msgs[len(msgs)-1].Payload
	}
	pf.c.Disconnect(0)

	gw.terminate()
	gw.start()
	eventually(t, "the bridge's decision about its retained topics", func() bool {
		return strings.Contains(gw.logText(), "devices' retained topics not republished") ||
			strings.Contains(gw.logText(), "retained topics republished")
	})
	if !strings.Contains(gw.logText(), "broker kept the retained messages; devices' retained topics not republished") {
		t.Fatalf("after a clean restart the gateway republished its devices' retained topics:\n%s", gw.logText())
	}
	pf = newPlatform(t, url, "cwmp2mqtt/#")
	for _, id := range ids {
		pf.await("cwmp2mqtt/"+id+"/state", map[string]any{}, wait)
		m := pf.messages("cwmp2mqtt/" + id + "/state")[0]
		if !m.Retained || !bytes.Equal(m.Payload, states[id]) {
			t.Errorf("%s's state after a clean restart (retained %v):\n%s\nwant the one published before it:\n%s", id, m.Retained, m.Payload, states[id])
		}
	}
	late := startReadyCPE(t, gw.ACSURL, pf, "KEEP4", nil)
	pf.await("cwmp2mqtt/"+late.ID+"/state", map[string]any{}, wait)
	ids = append(ids, late.ID)
	pf.c.Disconnect(0)

	gw.kill()
	before := strings.Count(gw.logText(), "retained topics republished")
	gw.start()
	eventually(t, "the republication after kill -9", func() bool {
		return strings.Count(gw.logText(), "retained topics republished") > before
	})
	if !strings.Contains(gw.logText(), "retained-message file discarded") {
		t.Errorf("no log line says the retained-message file of the killed gateway was discarded:\n%s", gw.logText())
	}
	pf = newPlatform(t, url, "cwmp2mqtt/#")
	for _, id := range ids {
		got := pf.await("cwmp2mqtt/"+id+"/state", map[string]any{}, wait)
		if id == late.ID {
			continue
		}
		var was map[string]any
		if err := json.Unmarshal(states[id], &was); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got["values"], was["values"]) {
			t.Errorf("%s's state values after kill -9: %v, want %v", id, got["values"], was["values"])
		}
	}
}

// The retained messages kept by the embedded broker are used only by a gateway that would make
// the same ones: after a change of mqtt.base_topic every device's retained topics are published
// again under the new one (they are not in the file), without waiting for each device's Inform.
func TestEmbeddedBrokerRepublishesAfterBaseTopicChange(t *testing.T) {
	tg := startGateway(t, requestEnv())
	pf := newPlatform(t, tg.Broker, "cwmp2mqtt/#")
	cpe := startReadyCPE(t, tg.ACSURL, pf, "RETOPIC", nil)
	pf.await("cwmp2mqtt/"+cpe.ID+"/state", map[string]any{}, wait)
	pf.c.Disconnect(0)
	tg.stop()

	tg.env["CWMP2MQTT_MQTT_BASE_TOPIC"] = "site2"
	tg.start()
	pf = newPlatform(t, tg.Broker, "site2/#")
	pf.await("site2/"+cpe.ID+"/state", map[string]any{}, wait)
	pf.await("site2/"+cpe.ID+"/availability", map[string]any{"state": "online"}, wait)
}
