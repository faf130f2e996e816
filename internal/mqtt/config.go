package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is the `mqtt.*` section of the gateway configuration. Start from
// DefaultConfig: a zero QoS is a valid choice, so zero values are not defaulted.
// Tags name the keys under mqtt.; "-" marks fields that are not settings of the gateway.
type Config struct {
	// URL of the broker: tcp://, ssl://, tls://, mqtt://, mqtts://, ws:// or
	// wss://. Empty means "embedded broker": the caller starts it with
	// StartBroker and passes Broker.URL() here.
	URL string `mapstructure:"url"`
	// ClientID must be stable across restarts: the broker keys the persistent
	// session (and the undelivered requests in it) on it.
	ClientID string    `mapstructure:"client_id"`
	Username string    `mapstructure:"username"`
	Password string    `mapstructure:"password"`
	TLS      TLSConfig `mapstructure:"tls"`
	// QoS of outbound publishes made by the caller and of subscriptions.
	QoS       int           `mapstructure:"qos"`
	KeepAlive time.Duration `mapstructure:"keepalive"`
	// BaseTopic is B of docs/design.md §3; the will is B/bridge/state.
	BaseTopic      string        `mapstructure:"base_topic"`
	ConnectTimeout time.Duration `mapstructure:"-"`
	// ReconnectMin and ReconnectMax bound the exponential back-off between
	// connection attempts.
	ReconnectMin time.Duration `mapstructure:"-"`
	ReconnectMax time.Duration `mapstructure:"-"`
	// QueueDepth bounds each subscription's inbound queue.
	QueueDepth int `mapstructure:"-"`
}

// TLSConfig is `mqtt.tls.*`.
type TLSConfig struct {
	CAFile             string `mapstructure:"ca_file"`
	CertFile           string `mapstructure:"cert_file"`
	KeyFile            string `mapstructure:"key_file"`
	InsecureSkipVerify bool   `mapstructure:"insecure"`
}

// DefaultBaseTopic is `mqtt.base_topic` when unset (docs/design.md §3).
const DefaultBaseTopic = "cwmp2mqtt"

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		ClientID:       DefaultClientID(),
		QoS:            1,
		KeepAlive:      30 * time.Second,
		BaseTopic:      DefaultBaseTopic,
		ConnectTimeout: 10 * time.Second,
		ReconnectMin:   time.Second,
		ReconnectMax:   time.Minute,
		QueueDepth:     256,
	}
}

// DefaultClientID is "cwmp2mqtt-<hostname>", the prefix of InstallationClientID (which the
// gateway uses: the host name alone is shared by two gateways on one host).
func DefaultClientID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "gateway"
	}
	return "cwmp2mqtt-" + h
}

// maxKeepAlive is the largest keep-alive the 16-bit CONNECT field can carry.
const maxKeepAlive = 65535 * time.Second

var validSchemes = map[string]bool{
	"tcp": true, "mqtt": true, "ssl": true, "tls": true, "mqtts": true, "ws": true, "wss": true,
}

var tlsSchemes = map[string]bool{"ssl": true, "tls": true, "mqtts": true, "wss": true}

// Validate reports the first invalid setting, naming its configuration key.
// An empty URL is valid (it selects the embedded broker).
func (c Config) Validate() error {
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			return fmt.Errorf("mqtt.url %q is not a URL: %w", c.URL, err)
		}
		if !validSchemes[u.Scheme] {
			return fmt.Errorf("mqtt.url %q: scheme must be tcp, mqtt, ssl, tls, mqtts, ws or wss", c.URL)
		}
		if u.Host == "" {
			return fmt.Errorf("mqtt.url %q has no host", c.URL)
		}
		usesTLS := c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.InsecureSkipVerify
		if usesTLS && !tlsSchemes[u.Scheme] {
			return fmt.Errorf("mqtt.tls is set but mqtt.url %q is not a TLS scheme (use ssl:// or wss://)", c.URL)
		}
	}
	if c.ClientID == "" {
		return errors.New("mqtt.client_id must not be empty (it keys the persistent session)")
	}
	if len(c.ClientID) > 65535 {
		return errors.New("mqtt.client_id is longer than 65535 bytes")
	}
	if c.Password != "" && c.Username == "" {
		// MQTT 3.1.1 §3.1.2.9: a password flag requires the username flag.
		return errors.New("mqtt.password is set but mqtt.username is empty")
	}
	if c.QoS < 0 || c.QoS > 2 {
		return fmt.Errorf("mqtt.qos must be 0, 1 or 2 (got %d)", c.QoS)
	}
	if c.KeepAlive < time.Second || c.KeepAlive > maxKeepAlive {
		return fmt.Errorf("mqtt.keepalive must be between 1s and %s (got %s)", maxKeepAlive, c.KeepAlive)
	}
	if err := ValidateBaseTopic(c.BaseTopic); err != nil {
		return fmt.Errorf("mqtt.base_topic: %w", err)
	}
	if c.ConnectTimeout <= 0 {
		return fmt.Errorf("mqtt.connect_timeout must be positive (got %s)", c.ConnectTimeout)
	}
	if c.ReconnectMin <= 0 {
		return fmt.Errorf("mqtt.reconnect_min must be positive (got %s)", c.ReconnectMin)
	}
	if c.ReconnectMax < c.ReconnectMin {
		return fmt.Errorf("mqtt.reconnect_max (%s) must not be below mqtt.reconnect_min (%s)", c.ReconnectMax, c.ReconnectMin)
	}
	if c.QueueDepth < 1 {
		return fmt.Errorf("mqtt.queue_depth must be at least 1 (got %d)", c.QueueDepth)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("mqtt.tls.cert_file and mqtt.tls.key_file must be set together")
	}
	_, err := c.TLS.build()
	return err
}

// ValidateBaseTopic checks a base topic: non-empty, no wildcards, no empty
// level at either end (B/bridge/state must be a plain topic name).
func ValidateBaseTopic(b string) error {
	switch {
	case b == "":
		return errors.New("must not be empty")
	case strings.ContainsAny(b, "+#\x00"):
		return fmt.Errorf("%q must not contain +, # or NUL", b)
	case strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/"):
		return fmt.Errorf("%q must not start or end with /", b)
	case strings.HasPrefix(b, "$"):
		return fmt.Errorf("%q must not start with $ (reserved for the broker)", b)
	}
	return nil
}

// build loads the TLS material; nil when no TLS setting is present (paho then
// uses the system roots for ssl:// and wss://).
func (t TLSConfig) build() (*tls.Config, error) {
	if t.CAFile == "" && t.CertFile == "" && !t.InsecureSkipVerify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // operator's explicit choice
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.tls.ca_file %s: no PEM certificate found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.cert_file/mqtt.tls.key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
