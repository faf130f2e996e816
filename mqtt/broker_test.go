package mqtt_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwmp2mqtt/cwmp2mqtt/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/mqtt/mqtttest"
)

// A retained state or availability must outlive a day without change: the embedded broker
// applies no maximum expiry (mochi's default deletes every retained message after 24 h).
func TestEmbeddedBrokerRetainedMessagesDoNotExpireAfterADay(t *testing.T) {
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0"}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if got := b.MaxMessageExpiry(); got != 0 {
		t.Fatalf("maximum message expiry = %d s: retained messages would be deleted that long after publication", got)
	}
}

// With a users table the embedded broker refuses wrong credentials and
// accepts the right ones; the gateway client connects with them.
func TestBrokerUsersAuthenticate(t *testing.T) {
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0", Users: map[string]string{"gw": "s3cret"}}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") || b.Addr().(*net.TCPAddr).Port == 0 {
		t.Fatalf("URL %s / Addr %s: want the real loopback port", b.URL(), b.Addr())
	}
	connect := func(user, pass string) error {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("auth-" + user + pass).
			SetUsername(user).SetPassword(pass).SetConnectRetry(false).SetAutoReconnect(false))
		tok := c.Connect()
		if !tok.WaitTimeout(waitLong) {
			return errors.New("connect timed out")
		}
		if tok.Error() == nil {
			c.Disconnect(0)
		}
		return tok.Error()
	}
	if err := connect("gw", "wrong"); err == nil {
		t.Error("wrong password accepted")
	}
	if err := connect("intruder", "s3cret"); err == nil {
		t.Error("unknown user accepted")
	}
	if err := connect("gw", "s3cret"); err != nil {
		t.Errorf("right credentials refused: %v", err)
	}
	cfg := testConfig(t, b.URL())
	cfg.Username, cfg.Password = "gw", "s3cret"
	startClient(t, cfg, nil)
}

// The default listen address is :1883 and a taken port is reported with the key.
func TestBrokerListenErrorNamesKey(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = mqtt.StartBroker(mqtt.BrokerOptions{Listen: ln.Addr().String()}, nil)
	if err == nil || !strings.Contains(err.Error(), "mqtt.embedded.listen") {
		t.Fatalf("StartBroker on a taken port = %v, want an error naming mqtt.embedded.listen", err)
	}
	if mqtt.DefaultBrokerListen != ":1883" {
		t.Errorf("DefaultBrokerListen = %q, want :1883 (DESIGN.md §5)", mqtt.DefaultBrokerListen)
	}
}

// mochi's slog records land in zap with their level, message and attributes.
func TestBrokerLogsGoToZap(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0"}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	started := logs.FilterMessage("mochi mqtt starting").All()
	if len(started) != 1 {
		t.Fatalf("mochi start-up line not routed to zap; got %v", logs.All())
	}
	if e := started[0]; e.LoggerName != "broker" || e.Level != zapcore.InfoLevel || e.ContextMap()["version"] == nil {
		t.Errorf("entry %+v: want logger broker, info level, version attribute", e)
	}
}

// The helper's restart keeps the port, so a client reconnects by itself.
func TestEmbeddedRestartKeepsPort(t *testing.T) {
	url, _, restart := mqtttest.StartEmbedded(t)
	c := startClient(t, testConfig(t, url), nil)
	restart()
	waitFor(t, "reconnect after restart", func() bool { return c.Stats().Connects >= 2 && c.Connected() })
}
