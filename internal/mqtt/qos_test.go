package mqtt_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// observed is a client whose log lines the test can read.
func observedClient(t *testing.T, cfg mqtt.Config) (*mqtt.Client, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	c, err := mqtt.NewClient(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, logs
}

// mqtt.qos 2 on a broker without QoS 2 (Mosquitto with max_qos 1 disconnects a v3.1.1 client
// that publishes at QoS 2, as NATS does): the client says so, falls back to QoS 1, and every
// message is delivered instead of a reconnect loop.
func TestQoS2RefusedFallsBackToQoS1(t *testing.T) {
	url, _, _ := mqtttest.StartMosquittoWith(t, "max_qos 1")
	cfg := testConfig(t, url)
	cfg.QoS = 2
	c, logs := observedClient(t, cfg)
	if err := c.Subscribe(cfg.BaseTopic+"/+/rpc", func(context.Context, mqtt.Message) {}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	topic := cfg.BaseTopic + "/D1/event"
	sub := mqtttest.Subscribe(t, url, topic)
	ob := openOutbox(t, openDB(t, ""), mqtt.DefaultOutboxOptions())
	const n = 20
	for i := range n {
		if err := ob.Enqueue(topic, []byte(strconv.Itoa(i)), false, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := ob.Start(c); err != nil {
		t.Fatal(err)
	}
	collectSeq(t, sub, n, mqtt.DefaultOutboxOptions().Window)
	if logs.FilterMessageSnippet("falling back to QoS 1").Len() != 1 {
		t.Errorf("no single clear log line about the fallback; log: %v", logs.All())
	}
	if st := c.Stats(); st.Connects > 2 {
		t.Errorf("%d connections: the client looped reconnecting", st.Connects)
	}
}

// Two gateways with one client id take the session from each other in a loop; the log must say
// so instead of only "connection lost".
func TestClientIDTakeoverIsExplained(t *testing.T) {
	url, _, _ := mqtttest.StartEmbedded(t)
	cfg := testConfig(t, url)
	cfg.ReconnectMin, cfg.ReconnectMax = 50*time.Millisecond, 100*time.Millisecond
	a, logsA := observedClient(t, cfg)
	b, logsB := observedClient(t, cfg)
	for _, c := range []*mqtt.Client{a, b} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Which of the two is kicked out three times in a row first depends on timing: the hint
	// must come from one of them (an operator reads either gateway's log).
	waitFor(t, "the takeover hint", func() bool {
		const hint = "another client probably uses the same client id"
		return logsA.FilterMessageSnippet(hint).Len()+logsB.FilterMessageSnippet(hint).Len() > 0
	})
}

// The installation's client id is generated once, kept in the store, and differs between two
// stores (two gateways on one host used to share cwmp2mqtt-<hostname>).
func TestInstallationClientIDStablePerStore(t *testing.T) {
	dir := t.TempDir()
	db1 := openDB(t, dir+"/a.db")
	id1, err := mqtt.InstallationClientID(db1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := mqtt.InstallationClientID(db1)
	id2, _ := mqtt.InstallationClientID(openDB(t, dir+"/b.db"))
	if id1 != again || id1 == id2 || len(id1) <= len(mqtt.DefaultClientID()) {
		t.Fatalf("ids %q, %q (again %q): want stable per store, distinct between stores", id1, id2, again)
	}
}
