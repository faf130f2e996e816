package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
)

// testGateway is a real gateway started in-process on free loopback ports.
type testGateway struct {
	t      *testing.T
	g      *gateway
	env    map[string]string
	ACSURL string
	Broker string
}

// startGateway runs the gateway with the default configuration plus env overrides, as
// CWMP2MQTT_* variables would. The ACS and embedded broker listen on free loopback ports.
func startGateway(t *testing.T, env map[string]string) *testGateway {
	t.Helper()
	e := map[string]string{
		"CWMP2MQTT_CWMP_LISTEN":          "127.0.0.1:0",
		"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": "127.0.0.1:0",
		"CWMP2MQTT_ADMIN_LISTEN":         "127.0.0.1:0",
		"CWMP2MQTT_STORE_PATH":           filepath.Join(t.TempDir(), "gw.db"),
		"CWMP2MQTT_MQTT_CLIENT_ID":       "gw-" + strings.ReplaceAll(t.Name(), "/", "-"),
	}
	for k, v := range env {
		e[k] = v
	}
	tg := &testGateway{t: t, env: e}
	tg.start()
	t.Cleanup(tg.stop)
	return tg
}

func (tg *testGateway) start() {
	tg.t.Helper()
	cfg, err := loadConfig(newFlagSet("test"), nil, func(k string) string { return tg.env[k] })
	if err != nil {
		tg.t.Fatal(err)
	}
	log := zaptest.NewLogger(tg.t, zaptest.Level(zapcore.WarnLevel))
	tg.g, err = newGateway(cfg, log)
	if err != nil {
		tg.t.Fatal(err)
	}
	if err := tg.g.Start(context.Background()); err != nil {
		tg.g.Stop()
		tg.t.Fatal(err)
	}
	tg.ACSURL = "http://" + tg.g.acs.Addr().String() + "/"
	if tg.g.broker != nil {
		tg.Broker = tg.g.broker.URL()
	} else {
		tg.Broker = cfg.MQTT.URL
	}
}

func (tg *testGateway) stop() {
	if tg.g != nil {
		tg.g.Stop()
		tg.g = nil
	}
}

// platform is a plain paho client standing in for the IoT platform: it records every message
// under the base topic and lets tests wait for one by predicate, in any order.
type platform struct {
	t      *testing.T
	c      paho.Client
	mu     sync.Mutex
	msgs   []recv
	notify chan struct{}
}

type recv struct {
	Topic    string
	Payload  []byte
	Retained bool
}

func newPlatform(t *testing.T, brokerURL, filter string) *platform {
	t.Helper()
	p := &platform{t: t, notify: make(chan struct{}, 1)}
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID("platform-" + strings.ReplaceAll(t.Name(), "/", "-")).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true)
	opts.SetOnConnectHandler(func(c paho.Client) {
		c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
			if schema := schemaFor(m.Topic()); schema != "" && len(m.Payload()) > 0 {
				if err := apitest.ValidatePayload(schema, m.Payload()); err != nil {
					t.Errorf("payload on %s does not match docs/schema/%s.json: %v\n%s", m.Topic(), schema, err, m.Payload())
				}
			}
			p.mu.Lock()
			p.msgs = append(p.msgs, recv{m.Topic(), append([]byte(nil), m.Payload()...), m.Retained()})
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
		})
	})
	p.c = paho.NewClient(opts)
	tok := p.c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("platform connect: %v", tok.Error())
	}
	t.Cleanup(func() { p.c.Disconnect(100) })
	return p
}

func (p *platform) publish(topic, payload string) {
	p.t.Helper()
	tok := p.c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		p.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// schemaFor names the JSON Schema of what the gateway publishes on topic; "" for inbound
// topics (the platform's own requests, some deliberately invalid).
func schemaFor(topic string) string {
	parts := strings.Split(topic, "/")
	if len(parts) < 3 {
		return ""
	}
	rest := parts[len(parts)-2:]
	switch {
	case parts[1] == "bridge" && len(parts) == 3:
		switch parts[2] {
		case "state":
			return "bridge-state"
		case "info":
			return "bridge-info"
		case "devices":
			return "bridge-devices"
		case "event":
			return "bridge-event"
		}
	case parts[1] == "bridge" && len(parts) == 4 && parts[2] == "response":
		return "bridge-response"
	case rest[0] == "rpc" && rest[1] == "result":
		return "rpc-result"
	case len(parts) == 3:
		switch parts[2] {
		case "inform":
			return "inform"
		case "state":
			return "state"
		case "availability":
			return "availability"
		case "event":
			return "device-event"
		}
	}
	return ""
}

// await returns the first message (from the start of the recording) on topic whose JSON
// object has every field of want (compared as JSON values), failing after timeout.
func (p *platform) await(topic string, want map[string]any, timeout time.Duration) map[string]any {
	p.t.Helper()
	m, ok := p.find(topic, want, timeout)
	if !ok {
		p.t.Fatalf("no message on %s with %v within %s; seen on that topic:\n%s", topic, want, timeout, p.dump(topic))
	}
	return m
}

func (p *platform) find(topic string, want map[string]any, timeout time.Duration) (map[string]any, bool) {
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		msgs := p.msgs
		p.mu.Unlock()
		for _, m := range msgs {
			if m.Topic != topic {
				continue
			}
			var got map[string]any
			if json.Unmarshal(m.Payload, &got) != nil {
				continue
			}
			if matches(got, want) {
				return got, true
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, false
		}
		select {
		case <-p.notify:
		case <-time.After(min(left, 100*time.Millisecond)):
		}
	}
}

var matches = apitest.Matches

// count is how many messages on topic match want so far.
func (p *platform) count(topic string, want map[string]any) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.msgs {
		var got map[string]any
		if m.Topic == topic && json.Unmarshal(m.Payload, &got) == nil && matches(got, want) {
			n++
		}
	}
	return n
}

func (p *platform) messages(topic string) []recv {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []recv
	for _, m := range p.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

func (p *platform) dump(topic string) string {
	var b strings.Builder
	for _, m := range p.messages(topic) {
		b.WriteString("  " + string(m.Payload) + "\n")
	}
	return b.String()
}

// simCPE is one simulated CPE with a recorder, on its own connection-request port.
type simCPE struct {
	*sim.CPE
	rec *sim.Recorder
	ID  string // gateway device id
}

func startCPE(t *testing.T, cfg sim.Config, model string) *simCPE {
	t.Helper()
	var m *datamodel.Model
	var err error
	if model == "tr181" {
		m, err = datamodel.LoadTR181()
	} else {
		m, err = datamodel.LoadTR098Huawei()
	}
	if err != nil {
		t.Fatal(err)
	}
	rec := sim.NewRecorder()
	cfg.Model = m
	cfg.Hooks = rec.Hooks()
	if cfg.PeriodicInterval == 0 {
		cfg.PeriodicInterval = time.Hour
	}
	cpe, err := sim.NewCPE(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := cpe.ListenCR(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cpe.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &simCPE{CPE: cpe, rec: rec, ID: acs.DeviceIDFor(cpe.Model().DeviceID())}
}

func (c *simCPE) waitSession(t *testing.T, since sim.Mark, match func(sim.SessionResult) bool) sim.SessionResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := c.rec.WaitSession(ctx, since, match)
	if err != nil {
		t.Fatalf("no matching session of %s: %v", c.ID, err)
	}
	return s
}

func (c *simCPE) waitRPC(t *testing.T, since sim.Mark, match func(sim.RPCEvent) bool) sim.RPCEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e, err := c.rec.WaitRPC(ctx, since, match)
	if err != nil {
		t.Fatalf("no matching RPC on %s: %v", c.ID, err)
	}
	return e
}

func (c *simCPE) value(t *testing.T, name string) string {
	t.Helper()
	pv, err := c.Model().Get(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return pv.Value.Raw
}

var mustJSON = apitest.MustJSON
