package mqtt_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// waitLong bounds every wait for something the network should do promptly.
const waitLong = 10 * time.Second

type brokerKind struct {
	name  string
	start func(testing.TB) (string, func(), func())
}

var brokers = []brokerKind{
	{"embedded", mqtttest.StartEmbedded},
	{"mosquitto", mqtttest.StartMosquitto},
}

// eachBroker runs fn against the embedded broker and against Mosquitto.
func eachBroker(t *testing.T, fn func(t *testing.T, b brokerKind)) {
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// testConfig is a fast-reconnecting config with a per-test client id and base.
func testConfig(t testing.TB, url string) mqtt.Config {
	cfg := mqtt.DefaultConfig()
	cfg.URL = url
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	cfg.ClientID = "test-" + name
	cfg.BaseTopic = "gw/" + name
	cfg.KeepAlive = 5 * time.Second
	cfg.ConnectTimeout = 2 * time.Second
	cfg.ReconnectMin = 20 * time.Millisecond
	cfg.ReconnectMax = 200 * time.Millisecond
	return cfg
}

func logger(t testing.TB) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
}

// startClient starts a client and waits until it is connected.
func startClient(t testing.TB, cfg mqtt.Config, onConnect func()) *mqtt.Client {
	t.Helper()
	c, err := mqtt.NewClient(cfg, logger(t))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if onConnect != nil {
		c.OnConnect(onConnect)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	waitConnected(t, c)
	return c
}

func waitConnected(t testing.TB, c *mqtt.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("not connected: %v", err)
	}
}

// openDB opens a bbolt file in the test's temp dir (or path if given).
func openDB(t testing.TB, path string) *bbolt.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "state.db")
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("bbolt open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openOutbox(t testing.TB, db *bbolt.DB, opts mqtt.OutboxOptions) *mqtt.Outbox {
	t.Helper()
	ob, err := mqtt.OpenOutbox(db, opts, logger(t))
	if err != nil {
		t.Fatalf("OpenOutbox: %v", err)
	}
	t.Cleanup(func() { _ = ob.Close() })
	return ob
}

// waitFor polls cond until true or fails after waitLong.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	apitest.Eventually(t, what, waitLong, cond)
}
