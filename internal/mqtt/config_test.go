package mqtt_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := mqtt.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if cfg.QoS != 1 || cfg.KeepAlive != 30*time.Second || cfg.BaseTopic != "cwmp2mqtt" ||
		!strings.HasPrefix(cfg.ClientID, "cwmp2mqtt-") {
		t.Errorf("defaults %+v differ from docs/design.md §5", cfg)
	}
	if _, err := mqtt.NewClient(cfg, nil); err == nil || !contains(err.Error(), "mqtt.url") {
		t.Errorf("NewClient without URL = %v, want an error naming mqtt.url", err)
	}
}

// Every invalid setting is reported with its configuration key.
func TestConfigValidateNamesKey(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.pem")
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		mod  func(*mqtt.Config)
		key  string
	}{
		{"scheme", func(c *mqtt.Config) { c.URL = "http://broker:1883" }, "mqtt.url"},
		{"no host", func(c *mqtt.Config) { c.URL = "tcp://" }, "mqtt.url"},
		{"unparsable", func(c *mqtt.Config) { c.URL = "tcp://[::1" }, "mqtt.url"},
		{"qos 3", func(c *mqtt.Config) { c.QoS = 3 }, "mqtt.qos must be 0, 1 or 2"},
		{"qos -1", func(c *mqtt.Config) { c.QoS = -1 }, "mqtt.qos"},
		{"client id", func(c *mqtt.Config) { c.ClientID = "" }, "mqtt.client_id"},
		{"password alone", func(c *mqtt.Config) { c.Password = "x" }, "mqtt.username"},
		{"keepalive", func(c *mqtt.Config) { c.KeepAlive = 0 }, "mqtt.keepalive"},
		{"keepalive huge", func(c *mqtt.Config) { c.KeepAlive = 24 * time.Hour }, "mqtt.keepalive"},
		{"base empty", func(c *mqtt.Config) { c.BaseTopic = "" }, "mqtt.base_topic"},
		{"base wildcard", func(c *mqtt.Config) { c.BaseTopic = "site/+" }, "mqtt.base_topic"},
		{"base slash", func(c *mqtt.Config) { c.BaseTopic = "site/" }, "mqtt.base_topic"},
		{"connect timeout", func(c *mqtt.Config) { c.ConnectTimeout = 0 }, "mqtt.connect_timeout"},
		{"reconnect min", func(c *mqtt.Config) { c.ReconnectMin = 0 }, "mqtt.reconnect_min"},
		{"reconnect max", func(c *mqtt.Config) { c.ReconnectMax = time.Millisecond }, "mqtt.reconnect_max"},
		{"queue depth", func(c *mqtt.Config) { c.QueueDepth = 0 }, "mqtt.queue_depth"},
		{"tls on tcp", func(c *mqtt.Config) { c.URL = "tcp://b:1883"; c.TLS.InsecureSkipVerify = true }, "mqtt.tls"},
		{"ca missing", func(c *mqtt.Config) { c.URL = "ssl://b:8883"; c.TLS.CAFile = missing }, "mqtt.tls.ca_file"},
		{"ca not pem", func(c *mqtt.Config) { c.URL = "ssl://b:8883"; c.TLS.CAFile = notPEM }, "mqtt.tls.ca_file"},
		{"cert without key", func(c *mqtt.Config) { c.URL = "ssl://b:8883"; c.TLS.CertFile = notPEM }, "mqtt.tls.key_file"},
		{"bad keypair", func(c *mqtt.Config) { c.URL = "ssl://b:8883"; c.TLS.CertFile, c.TLS.KeyFile = notPEM, notPEM }, "mqtt.tls.cert_file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mqtt.DefaultConfig()
			cfg.URL = "tcp://127.0.0.1:1883"
			tc.mod(&cfg)
			err := cfg.Validate()
			if err == nil || !contains(err.Error(), tc.key) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.key)
			}
			if _, err := mqtt.NewClient(cfg, nil); err == nil {
				t.Fatal("NewClient accepted the invalid config")
			}
		})
	}
	for _, ok := range []string{"", "tcp://b:1883", "ssl://b:8883", "ws://b:80/mqtt", "wss://b/mqtt", "mqtts://b"} {
		cfg := mqtt.DefaultConfig()
		cfg.URL = ok
		if err := cfg.Validate(); err != nil {
			t.Errorf("URL %q rejected: %v", ok, err)
		}
	}
}
