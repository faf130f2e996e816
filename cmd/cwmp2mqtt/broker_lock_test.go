package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"
)

// TestEmbeddedBrokerOffLoopbackNeedsUsers is issue 9 point 6 (configuration): a listener reachable
// from other hosts without users stops start-up with a message naming the keys; users, or an
// explicit allow_anonymous, let it start; plain-text passwords are refused.
func TestEmbeddedBrokerOffLoopbackNeedsUsers(t *testing.T) {
	for _, listen := range []string{":1883", "0.0.0.0:1883", "[::]:1883", "192.0.2.1:1883"} {
		_, err := load(t, nil, map[string]string{"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": listen})
		if err == nil {
			t.Fatalf("listen %s without users started", listen)
		}
		for _, key := range []string{"mqtt.embedded.listen", "mqtt.embedded.users_file", "mqtt.embedded.allow_anonymous"} {
			if !strings.Contains(err.Error(), key) {
				t.Errorf("listen %s: error %q does not name %s", listen, err, key)
			}
		}
	}
	for _, listen := range []string{"localhost:1883", "127.0.0.1:1883", "[::1]:1883"} {
		c, err := load(t, nil, map[string]string{"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": listen})
		if err != nil || c.MQTT.Embedded.Anonymous != "platform" {
			t.Fatalf("loopback %s: %v (anonymous role %q)", listen, err, c.MQTT.Embedded.Anonymous)
		}
	}
	c, err := load(t, nil, map[string]string{"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": ":1883", "CWMP2MQTT_MQTT_EMBEDDED_ALLOW_ANONYMOUS": "true"})
	if err != nil || c.MQTT.Embedded.Anonymous != "platform" {
		t.Fatalf("allow_anonymous: %v", err)
	}

	dir := t.TempDir()
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	users := filepath.Join(dir, "users.yaml")
	os.WriteFile(users, []byte("platform:\n  role: platform\n  password_hash: '"+string(h)+"'\nwall:\n  role: viewer\n  password_hash: '"+string(h)+"'\n"), 0o600)
	c, err = load(t, nil, map[string]string{"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": ":1883", "CWMP2MQTT_MQTT_EMBEDDED_USERS_FILE": users})
	if err != nil || len(c.MQTT.Embedded.Users) != 2 || c.MQTT.Embedded.Anonymous != "" {
		t.Fatalf("users file: %v, %d users, anonymous role %q", err, len(c.MQTT.Embedded.Users), c.MQTT.Embedded.Anonymous)
	}
	hashFile := filepath.Join(dir, "hash")
	os.WriteFile(hashFile, append(h, '\n'), 0o600)
	c, err = load(t, nil, map[string]string{"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": ":1883", "CWMP2MQTT_MQTT_EMBEDDED_USERNAME": "p",
		"CWMP2MQTT_MQTT_EMBEDDED_PASSWORD_HASH_FILE": hashFile, "CWMP2MQTT_MQTT_EMBEDDED_ROLE": "viewer"})
	if err != nil || c.MQTT.Embedded.Users["p"].Role != "viewer" {
		t.Fatalf("username with password_hash_file: %v", err)
	}
	for name, env := range map[string]map[string]string{
		"plain password":   {"CWMP2MQTT_MQTT_EMBEDDED_USERNAME": "p", "CWMP2MQTT_MQTT_EMBEDDED_PASSWORD": "secret"},
		"not a hash":       {"CWMP2MQTT_MQTT_EMBEDDED_USERNAME": "p", "CWMP2MQTT_MQTT_EMBEDDED_PASSWORD_HASH": "secret"},
		"unknown role":     {"CWMP2MQTT_MQTT_EMBEDDED_USERNAME": "p", "CWMP2MQTT_MQTT_EMBEDDED_PASSWORD_HASH": string(h), "CWMP2MQTT_MQTT_EMBEDDED_ROLE": "admin"},
		"reserved name":    {"CWMP2MQTT_MQTT_EMBEDDED_USERNAME": gatewayBrokerUser, "CWMP2MQTT_MQTT_EMBEDDED_PASSWORD_HASH": string(h)},
		"cert without key": {"CWMP2MQTT_MQTT_EMBEDDED_TLS_CERT_FILE": "/x.pem"},
	} {
		if _, err := load(t, nil, env); err == nil || !strings.Contains(err.Error(), "mqtt.embedded.") {
			t.Errorf("%s: %v, want an error naming an mqtt.embedded key", name, err)
		}
	}
}

// TestEmbeddedBrokerLockedByDefault is issue 9 point 6 end to end: with the defaults (loopback,
// no users) an anonymous client is a platform: its forged state and bridge publications never
// reach a subscriber, its rpc does; the gateway's own publications flow.
func TestEmbeddedBrokerLockedByDefault(t *testing.T) {
	gw := startGateway(t, nil)
	p := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	p.await("cwmp2mqtt/bridge/state", map[string]any{"state": "online"}, 20*time.Second)

	forger := paho.NewClient(paho.NewClientOptions().AddBroker(gw.Broker).SetClientID("forger").SetAutoReconnect(false))
	if tok := forger.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("anonymous connect on loopback: %v", tok.Error())
	}
	forger.Publish("cwmp2mqtt/00147F-SN1/state", 1, true, `{"forged":true}`).WaitTimeout(5 * time.Second)
	forger.Disconnect(0)

	p.publish("cwmp2mqtt/bridge/request/health", `{"transaction":"after-forgery"}`)
	p.await("cwmp2mqtt/bridge/response/health", map[string]any{"transaction": "after-forgery"}, 20*time.Second)
	if n := len(p.messages("cwmp2mqtt/00147F-SN1/state")); n != 0 {
		t.Fatalf("a forged state reached the platform: %s", p.dump("cwmp2mqtt/00147F-SN1/state"))
	}
}

// TestReadmeMosquittoSubWorksWithDefaults: the README's `mosquitto_sub -h localhost` against
// the default embedded broker (localhost, no users) sees the gateway's retained bridge/state.
func TestReadmeMosquittoSubWorksWithDefaults(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_sub"); err != nil {
		t.Skip("mosquitto_sub not installed (apt-get install mosquitto-clients)")
	}
	port := strconv.Itoa(mqtttest.FreePort(t))
	gw := startGateway(t, map[string]string{"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": "localhost:" + port})
	_ = gw
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mosquitto_sub", "-h", "localhost", "-p", port, "-t", "cwmp2mqtt/bridge/state", "-C", "1", "-W", "15").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"online"`) {
		t.Fatalf("mosquitto_sub -h localhost: %v\n%s", err, out)
	}
}
