package mqtt_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
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

func hash(t testing.TB, pass string) []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// connectAs connects a paho client; it returns the client (nil on error) and the error.
func connectAs(t *testing.T, url, user, pass string, opts ...func(*paho.ClientOptions)) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID("c-" + user + "-" + strings.ReplaceAll(t.Name(), "/", "-")).
		SetUsername(user).SetPassword(pass).SetConnectRetry(false).SetAutoReconnect(false)
	for _, f := range opts {
		f(o)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(waitLong) {
		return nil, errors.New("connect timed out")
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

// With accounts the embedded broker refuses wrong credentials, unknown users and anonymous
// clients, and accepts the right ones (bcrypt hashes as htpasswd -B writes them, $2y$ included);
// the gateway client connects with its own account.
func TestBrokerUsersAuthenticate(t *testing.T) {
	y := hash(t, "s3cret")
	y[2] = 'y' // htpasswd's spelling of the same algorithm
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0", BaseTopic: "gwtest",
		Users:       map[string]mqtt.BrokerUser{"platform": {PasswordHash: y, Role: mqtt.RolePlatform}},
		GatewayUser: "gateway", GatewayPassword: "gw-pass"}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") || b.Addr().(*net.TCPAddr).Port == 0 {
		t.Fatalf("URL %s / Addr %s: want the real loopback port", b.URL(), b.Addr())
	}
	for _, bad := range [][2]string{{"platform", "wrong"}, {"intruder", "s3cret"}, {"", ""}, {"gateway", "s3cret"}} {
		if _, err := connectAs(t, b.URL(), bad[0], bad[1]); err == nil {
			t.Errorf("user %q password %q accepted", bad[0], bad[1])
		}
	}
	if _, err := connectAs(t, b.URL(), "platform", "s3cret"); err != nil {
		t.Errorf("right credentials refused: %v", err)
	}
	cfg := testConfig(t, b.URL())
	cfg.Username, cfg.Password, cfg.BaseTopic = "gateway", "gw-pass", "gwtest"
	startClient(t, cfg, nil)
}

// TestBrokerRolesAndTopicACL is issue 9 point 6: only the gateway's account publishes the
// gateway's topics; platform publishes only rpc, set, get and bridge/request; viewer publishes
// nothing; both subscribe only under the base topic; nobody leaves a will on a gateway topic.
func TestBrokerRolesAndTopicACL(t *testing.T) {
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0", BaseTopic: "cwmp2mqtt",
		Users: map[string]mqtt.BrokerUser{
			"plat": {PasswordHash: hash(t, "p"), Role: mqtt.RolePlatform},
			"view": {PasswordHash: hash(t, "v"), Role: mqtt.RoleViewer},
		},
		GatewayUser: "gw", GatewayPassword: "g", Anonymous: mqtt.RoleViewer}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })

	got := make(chan string, 64)
	gw, err := connectAs(t, b.URL(), "gw", "g")
	if err != nil {
		t.Fatal(err)
	}
	if tok := gw.Subscribe("#", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) }); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	// MQTT 3.1.1 has no negative PUBACK: mochi drops a client that publishes where it may not,
	// so each forbidden publication gets a client of its own.
	pub := func(user, pass, topic string) {
		t.Helper()
		c, err := connectAs(t, b.URL(), user, pass)
		if err != nil {
			t.Fatal(err)
		}
		c.Publish(topic, 1, false, "x").WaitTimeout(waitLong)
	}
	allowed := []string{"cwmp2mqtt/00147F-SN1/rpc", "cwmp2mqtt/00147F-SN1/set", "cwmp2mqtt/00147F-SN1/get", "cwmp2mqtt/bridge/request/health"}
	for _, topic := range []string{"cwmp2mqtt/00147F-SN1/state", "cwmp2mqtt/bridge/devices", "cwmp2mqtt/00147F-SN1/rpc/result", "cwmp2mqtt/bridge/event", "other/x"} {
		pub("plat", "p", topic)
	}
	for _, topic := range allowed {
		pub("view", "v", topic)
		pub("", "", topic)
	}
	plat, err := connectAs(t, b.URL(), "plat", "p")
	if err != nil {
		t.Fatal(err)
	}
	view, err := connectAs(t, b.URL(), "view", "v")
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range allowed {
		if tok := plat.Publish(topic, 1, false, "x"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
			t.Fatalf("platform publish %s: %v", topic, tok.Error())
		}
	}
	want := map[string]bool{}
	for _, topic := range allowed {
		want[topic+" x"] = true
	}
	for len(want) > 0 {
		select {
		case m := <-got:
			if !want[m] {
				t.Fatalf("the gateway received %q, which no role may publish", m)
			}
			delete(want, m)
		case <-time.After(waitLong):
			t.Fatalf("allowed publications never arrived: %v", want)
		}
	}
	gw.Publish("cwmp2mqtt/00147F-SN1/state", 1, false, "x").WaitTimeout(waitLong) // the gateway's own topics are the gateway's
	select {
	case m := <-got:
		if m != "cwmp2mqtt/00147F-SN1/state x" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(waitLong):
		t.Fatal("the gateway's own publication never arrived")
	}

	// Subscriptions outside the base topic are refused (SUBACK 0x80), inside are granted.
	for _, c := range []paho.Client{plat, view} {
		tok := c.Subscribe("#", 1, nil)
		tok.WaitTimeout(waitLong)
		if st := tok.(*paho.SubscribeToken).Result()["#"]; st != 0x80 {
			t.Errorf("subscribe # granted (%#x)", st)
		}
		tok = c.Subscribe("cwmp2mqtt/#", 1, nil)
		tok.WaitTimeout(waitLong)
		if st := tok.(*paho.SubscribeToken).Result()["cwmp2mqtt/#"]; st == 0x80 {
			t.Error("subscribe cwmp2mqtt/# refused")
		}
	}
	// A will on a gateway topic is refused at CONNECT.
	if _, err := connectAs(t, b.URL(), "plat", "p", func(o *paho.ClientOptions) {
		o.SetWill("cwmp2mqtt/bridge/state", `{"state":"offline"}`, 1, true)
	}); err == nil {
		t.Error("a platform client set a will on cwmp2mqtt/bridge/state")
	}
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
	if mqtt.DefaultBrokerListen != "localhost:1883" {
		t.Errorf("DefaultBrokerListen = %q, want localhost:1883 (docs/design.md §5)", mqtt.DefaultBrokerListen)
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

// TestNetworkClientCannotTakeTheInlineClientID: the gateway publishes through mochi's inline
// client, registered as "inline"; a network client connecting with that id is refused instead
// of taking the gateway's publishing session over, and in-process publishing keeps working.
func TestNetworkClientCannotTakeTheInlineClientID(t *testing.T) {
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0", BaseTopic: "cwmp2mqtt",
		Users:       map[string]mqtt.BrokerUser{"plat": {PasswordHash: hash(t, "p"), Role: mqtt.RolePlatform}},
		GatewayUser: "gw", GatewayPassword: "g"}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	for _, who := range [][2]string{{"plat", "p"}, {"gw", "g"}} {
		if _, err := connectAs(t, b.URL(), who[0], who[1], func(o *paho.ClientOptions) { o.SetClientID("inline") }); err == nil {
			t.Fatalf("%s connected with the inline client's id", who[0])
		}
	}
	got := make(chan string, 1)
	sub, err := connectAs(t, b.URL(), "plat", "p")
	if err != nil {
		t.Fatal(err)
	}
	if tok := sub.Subscribe("cwmp2mqtt/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if err := b.PublishInlineForTest("cwmp2mqtt/x/state", []byte("in-process"), false, 1); err != nil {
		t.Fatalf("in-process publish after the refused takeover: %v", err)
	}
	select {
	case m := <-got:
		if m != "in-process" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(waitLong):
		t.Fatal("in-process publication not delivered")
	}
}
