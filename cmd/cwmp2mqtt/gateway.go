package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/admin"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/boltmap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"
)

// gateway wires the parts together. Lifecycle: newGateway (build and validate everything that
// can fail without side effects) → Start (open the store, listen, connect) → Stop (reverse order).
type gateway struct {
	cfg *Config
	log *zap.Logger

	db     *bolt.DB
	values *bolt.DB // the devices' raw parameters and states (valuesFile)
	broker *mqtt.Broker
	client *mqtt.Client
	outbox *mqtt.Outbox
	bridge *bridge.Bridge
	// pluginEvents carries the translator host's events to the bridge (pluginevents.go).
	pluginEvents *pluginEvents
	acs          *acs.Server
	plugins      *translators
	metrics      *admin.Metrics // nil with the admin listener off
	admin        *admin.Server
	// infoSnap is the B/bridge/info payload, also shown on the status page.
	infoSnap *api.BridgeInfo

	started   time.Time
	clientID  string
	releaser  *boltmap.Releaser // nil: store.release_pages 0
	stopWatch chan struct{}
	watchDone chan struct{}
}

func newGateway(cfg *Config, log *zap.Logger) (*gateway, error) {
	return &gateway{cfg: cfg, log: log}, nil
}

// Start brings the gateway up; on error the caller calls Stop to release what was started.
func (g *gateway) Start(ctx context.Context) error {
	cfg, log := g.cfg, g.log
	g.started = time.Now()
	if cfg.CWMP.Auth.Mode == "none" {
		log.Warn("CPE authentication is off: any device can inform this ACS; set cwmp.auth.mode to digest with cwmp.auth.username and cwmp.auth.password (or cwmp.auth.devices_file) to turn it on")
	}
	verifier, err := buildVerifier(cfg)
	if err != nil {
		return err
	}
	tlsCfg, err := buildACSTLS(cfg)
	if err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Dir(cfg.StorePath), 0o750); err != nil {
		return fmt.Errorf("store.path: %w", err)
	}
	// A second gateway on the same file would corrupt nothing but wait forever: fail fast.
	g.db, err = bolt.Open(cfg.StorePath, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("store.path %s: %w", cfg.StorePath, err)
	}
	// bbolt's Batch waits up to 10 ms for other writers to join a commit; 1 ms still groups
	// concurrent writers under load (registrations, interview models). A request's three task
	// writes (accepted, in flight, done) do not use Batch: they commit at once, grouped only with
	// what arrives during a commit (bridge's committer; docs/performance.md).
	g.db.MaxBatchDelay = time.Millisecond
	// The devices' raw parameters and states: read only when used, so a start maps the records
	// alone (package registry, Store).
	valuesPath := valuesFile(cfg.StorePath)
	if g.values, err = bolt.Open(valuesPath, 0o600, &bolt.Options{Timeout: 2 * time.Second}); err != nil {
		return fmt.Errorf("store.path %s: %w", valuesPath, err)
	}
	g.values.MaxBatchDelay = time.Millisecond
	if cfg.ReleasePages > 0 {
		// Writes and sessions leave the files' pages mapped, counted in RSS, until the kernel
		// needs the memory: give them back to the page cache (boltmap).
		g.releaser = boltmap.Start(cfg.ReleasePages, log.Named("store"), g.db, g.values)
	}

	brokerURL := cfg.MQTT.URL
	var embeddedUser, embeddedPass string
	if brokerURL == "" {
		e := cfg.MQTT.Embedded
		if e.AllowAnonymous && !isLoopbackListen(cfg.MQTT.EmbeddedListen) {
			log.Warn("embedded MQTT broker accepts anonymous clients from the network (mqtt.embedded.allow_anonymous): anyone who reaches it can send RPCs to every CPE (FactoryReset, Download) and read every device; configure mqtt.embedded.users_file instead",
				zap.String("listen", cfg.MQTT.EmbeddedListen))
		}
		bo := mqtt.BrokerOptions{Listen: cfg.MQTT.EmbeddedListen, BaseTopic: cfg.MQTT.BaseTopic, Users: e.Users,
			GatewayUser: gatewayBrokerUser, GatewayPassword: rand.Text(), Anonymous: e.Anonymous,
			RetainedFile: brokerRetainedFile(cfg.StorePath), ReleasePages: cfg.ReleasePages}
		if e.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
			if err != nil {
				return fmt.Errorf("mqtt.embedded.tls.cert_file: %w", err)
			}
			bo.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		g.broker, err = mqtt.StartBroker(bo, log)
		if err != nil {
			return fmt.Errorf("mqtt.embedded.listen: %w", err)
		}
		brokerURL = g.broker.URL()
		embeddedUser, embeddedPass = bo.GatewayUser, bo.GatewayPassword
		log.Info("embedded MQTT broker started", zap.String("listen", cfg.MQTT.EmbeddedListen),
			zap.Int("users", len(e.Users)), zap.String("anonymous_role", string(e.Anonymous)), zap.Bool("tls", bo.TLS != nil))
	}
	mc := mqtt.DefaultConfig()
	mc.URL = brokerURL
	mc.BaseTopic = cfg.MQTT.BaseTopic
	if cfg.MQTT.ClientID != "" {
		mc.ClientID = cfg.MQTT.ClientID
	} else if mc.ClientID, err = mqtt.InstallationClientID(g.db); err != nil {
		return err
	}
	mc.Username, mc.Password = cfg.MQTT.Username, cfg.MQTT.Password
	mc.TLS = mqtt.TLSConfig{CAFile: cfg.MQTT.TLSCAFile, CertFile: cfg.MQTT.TLSCertFile, KeyFile: cfg.MQTT.TLSKeyFile, InsecureSkipVerify: cfg.MQTT.TLSInsecure}
	if g.broker != nil {
		// The gateway's own account on its own broker; over TLS it connects to its own listener in
		// this process, whose certificate names the site, not this address.
		mc.Username, mc.Password = embeddedUser, embeddedPass
		mc.TLS = mqtt.TLSConfig{InsecureSkipVerify: cfg.MQTT.Embedded.CertFile != ""}
	}
	mc.QoS = cfg.MQTT.QoS
	mc.KeepAlive = cfg.MQTT.KeepAlive
	if err := mc.Validate(); err != nil {
		return err
	}
	g.clientID = mc.ClientID
	g.client, err = mqtt.NewClient(mc, log)
	if err != nil {
		return err
	}
	if g.broker != nil {
		// Publish into the broker of this process: no loopback TCP, and an Inform's messages, when
		// nothing is queued before them, are taken by the broker without a disk commit.
		g.client.PublishInProcess(g.broker)
	}
	oo := mqtt.DefaultOutboxOptions()
	oo.MaxBytes, oo.MaxAge = cfg.OutboxMaxBytes, cfg.OutboxMaxAge
	g.outbox, err = mqtt.OpenOutbox(g.db, oo, log)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}

	var waker bridge.Waker = connreq.New(log, connreq.Options{
		Timeout: cfg.CWMP.ConnReq.Timeout, Retries: cfg.CWMP.ConnReq.Retries, AllowBasic: cfg.CWMP.ConnReq.AllowBasic,
		FallbackUsername: cfg.CWMP.ConnReq.Username, FallbackPassword: cfg.CWMP.ConnReq.Password,
		UDPRepeats: cfg.CWMP.ConnReq.UDPRepeats,
	})
	if cfg.Admin.Listen != "" {
		if cfg.Admin.AllowAnonymous && cfg.Admin.Username == "" && !isLoopbackListen(cfg.Admin.Listen) {
			log.Warn("admin listener serves the status page and metrics to anyone on the network (admin.allow_anonymous): device list and addresses are visible; set admin.username and admin.password instead",
				zap.String("listen", cfg.Admin.Listen))
		}
		g.metrics = admin.NewMetrics()
		waker = observedWaker{waker, g.metrics}
	}

	// The host reports a plugin that fails its first start before the bridge exists: the relay
	// holds those events and hands them over once it does.
	g.pluginEvents = newPluginEvents(log)
	g.plugins, err = startTranslators(ctx, cfg, log, g.pluginEvents.emit)
	if err != nil {
		return err
	}
	var tr bridge.Translators = g.plugins
	var observer bridge.Observer // a nil *admin.Metrics would not be a nil Observer
	if g.metrics != nil {
		tr = observedTranslators{tr, g.metrics}
		observer = g.metrics
	}

	var retainedKept func(context.Context) bool
	var retainedComplete func()
	if g.broker == nil {
		retainedKept = g.client.FirstSessionPresent
	} else {
		retainedKept, retainedComplete = g.embeddedRetainedKept(cfg)
	}
	g.bridge, err = bridge.New(g.db, g.outbox, waker, tr, bridge.Options{
		BaseTopic: cfg.MQTT.BaseTopic, QoS: byte(cfg.MQTT.QoS), Version: version,
		AvailabilityFactor: cfg.AvailFactor, AvailabilityFloor: cfg.AvailFloor,
		MaxQueue: cfg.TaskMaxQueue, WakeGrace: cfg.TaskWakeGrace, TransferTimeout: cfg.TransferTimeout,
		MaxAttempts: cfg.TaskMaxAttempts, SessionWait: cfg.CWMP.ConnReq.SessionWait,
		Interview:        cfg.Interview,
		ProvisionConnReq: cfg.CWMP.ConnReq.Provision,
		BoolAsNumber:     cfg.CWMP.Quirks.BoolAsNumber, DateTimeMillis: cfg.CWMP.Quirks.DateTimeMillis,
		Health: g.health, Observer: observer,
		MaxDevices: cfg.CWMP.MaxDevices, RegistrationRate: cfg.CWMP.RegistrationRate, RegistrationBurst: cfg.CWMP.RegistrationBurst,
		RetainedKept: retainedKept, RetainedComplete: retainedComplete, ParamsCache: paramsCache(cfg.ParamsCache), ValuesStore: g.values,
	}, log)
	if err != nil {
		return err
	}
	if err := g.bridge.Start(ctx); err != nil {
		return err
	}
	g.pluginEvents.attach(func(kind, plugin, reason string) {
		g.bridge.PluginEvent(api.BridgeEventType(kind), plugin, reason)
	})
	g.client.OnConnect(g.bridge.OnConnect)
	for _, filter := range g.bridge.Subscriptions() {
		if err := g.client.Subscribe(filter, func(ctx context.Context, m mqtt.Message) {
			// Ack only once the request is durably queued or answered: otherwise the broker
			// redelivers it (persistent session).
			if err := g.bridge.HandleMessage(ctx, m.Topic, m.Payload, m.Duplicate); err == nil {
				m.Ack()
			}
		}); err != nil {
			return err
		}
	}
	if err := g.client.Start(); err != nil {
		return err
	}
	if err := g.outbox.Start(g.client); err != nil {
		return err
	}

	var allowNetworks []netip.Prefix // with CPE authentication on, credentials decide, not addresses
	if cfg.CWMP.Auth.Mode == "none" {
		allowNetworks = cfg.CWMP.AllowNetworks
	}
	g.acs, err = acs.New(acs.Config{
		Listen: cfg.CWMP.Listen, Path: cfg.CWMP.Path, Auth: verifier, TLS: tlsCfg,
		IdleTimeout: cfg.CWMP.Session.IdleTimeout, MaxSessionDuration: cfg.CWMP.Session.MaxDuration,
		MaxRPCsPerSession: cfg.CWMP.Session.MaxRPCs, MaxConcurrentSessions: cfg.CWMP.Session.MaxConcurrent,
		MaxBodyBytes: int64(cfg.CWMP.Session.MaxBodyBytes), RetryAfter: cfg.CWMP.Session.RetryAfter,
		AllowNetworks: allowNetworks, TrustedProxies: cfg.CWMP.TrustedProxies,
		OnAuthFailure: func(f acs.AuthFailure) {
			g.bridge.AuthFailed(f.Device, f.User, addrString(f.Remote), f.Reason)
		},
		OnSessionFault: func(f acs.SessionFault) {
			g.bridge.SessionFault(f.Device, addrString(f.Remote), f.Reason)
		},
	}, g.bridge, log)
	if err != nil {
		return err
	}
	if err := g.acs.Start(ctx); err != nil {
		return fmt.Errorf("cwmp.listen: %w", err)
	}
	if g.metrics != nil {
		if err := g.startAdmin(ctx); err != nil {
			return err
		}
	}
	g.infoSnap = g.info(brokerURL)
	g.bridge.SetInfo(g.infoSnap)
	g.watchOutbox()
	log.Info("gateway started", zap.String("version", version), zap.String("cwmp", g.acs.Addr().String()),
		zap.String("broker", mqtt.RedactURL(brokerURL)), zap.String("base_topic", cfg.MQTT.BaseTopic), zap.String("store", cfg.StorePath))
	return nil
}

// Stop shuts down in reverse order: no new sessions, then the bridge, the MQTT side, plugins, store.
func (g *gateway) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if g.acs != nil {
		if err := g.acs.Shutdown(ctx); err != nil {
			g.log.Warn("ACS shutdown", zap.Error(err))
		}
	}
	if g.stopWatch != nil {
		close(g.stopWatch)
		<-g.watchDone
	}
	// After the ACS: /readyz answers 503 "ACS not listening" while sessions drain.
	if g.admin != nil {
		if err := g.admin.Shutdown(ctx); err != nil {
			g.log.Warn("admin shutdown", zap.Error(err))
		}
	}
	if g.bridge != nil {
		g.bridge.Stop()
	}
	if g.outbox != nil {
		g.outbox.Close()
	}
	if g.client != nil {
		_ = g.client.Close()
	}
	if g.broker != nil {
		_ = g.broker.Close()
	}
	if g.plugins != nil {
		g.plugins.Stop()
	}
	if g.releaser != nil {
		g.releaser.Stop()
	}
	if g.values != nil {
		_ = g.values.Close()
	}
	if g.db != nil {
		_ = g.db.Close()
	}
}

// valuesFile is where the devices' raw parameters and states are kept: beside the store
// (cwmp2mqtt.db → cwmp2mqtt.values.db).
func valuesFile(storePath string) string {
	return strings.TrimSuffix(storePath, filepath.Ext(storePath)) + ".values.db"
}

// brokerRetainedFile is where the embedded broker keeps its retained messages: beside the store
// (cwmp2mqtt.db → cwmp2mqtt.broker-retained.db).
func brokerRetainedFile(storePath string) string {
	return strings.TrimSuffix(storePath, filepath.Ext(storePath)) + ".broker-retained.db"
}

// embeddedRetainedKept tells the bridge whether the embedded broker came back with the retained
// messages of the last clean shutdown, made by the same gateway version, base topic and
// translators (their versions, state and configuration: they make every state): then the
// start-up republication of every device's retained topics is skipped. A device's first Inform
// normalizes and publishes it again, as with an external broker that kept them. The file is
// tagged as this run's only when complete is called (bridge.Options.RetainedComplete): a clean
// stop before the republication ended leaves it untagged, and the next start republishes.
func (g *gateway) embeddedRetainedKept(cfg *Config) (kept func(context.Context) bool, complete func()) {
	tag := retainedTag(cfg, g.plugins.List())
	complete = func() { g.broker.SetRetainedTag(tag) }
	prev, wasKept := g.broker.RetainedKept()
	if wasKept && prev != tag {
		g.log.Info("retained messages of the last run were made by another gateway version, base topic or translator set: every device's are published again",
			zap.String("last", prev), zap.String("now", tag))
	}
	wasKept = wasKept && prev == tag
	return func(context.Context) bool { return wasKept }, complete
}

// retainedTag names what the retained messages are made with (see embeddedRetainedKept).
func retainedTag(cfg *Config, list []api.TranslatorInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version=%s base_topic=%s", version, cfg.MQTT.BaseTopic)
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	for _, t := range list {
		fmt.Fprintf(&b, " translator=%s/%s/%s/%s", t.Name, t.Version, t.ModelVersion, t.State)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%v", cfg.Translators)) // their options may hold secrets
	fmt.Fprintf(&b, " config=%x", sum[:8])
	return b.String()
}

// info is the retained B/bridge/info payload: addresses, broker and a configuration summary,
// never a secret.
func (g *gateway) info(brokerURL string) *api.BridgeInfo {
	c := g.cfg
	info := &api.BridgeInfo{
		Version: version, Started: g.started.UTC(), BaseTopic: c.MQTT.BaseTopic,
		Listeners: []api.Listener{{Name: "acs", Address: g.acs.Addr().String(), TLS: c.CWMP.TLS.CertFile != "", Path: c.CWMP.Path}},
		// Connected: a retained info only ever reaches a subscriber through a live connection.
		Broker: api.Broker{URL: mqtt.RedactURL(brokerURL), Embedded: g.broker != nil, ClientID: g.clientID, Connected: true},
		Config: map[string]any{
			"cwmp.auth.mode": c.CWMP.Auth.Mode, "cwmp.session.idle_timeout": c.CWMP.Session.IdleTimeout.String(),
			"cwmp.session.max_concurrent": c.CWMP.Session.MaxConcurrent, "cwmp.connreq.provision": c.CWMP.ConnReq.Provision,
			"mqtt.qos": c.MQTT.QoS, "availability.factor": c.AvailFactor, "tasks.max_queue": c.TaskMaxQueue,
			"tasks.wake_grace": c.TaskWakeGrace.String(), "outbox.max_bytes": c.OutboxMaxBytes, "outbox.max_age": c.OutboxMaxAge.String(),
		},
	}
	if g.broker != nil {
		info.Listeners = append(info.Listeners, api.Listener{Name: "mqtt_embedded", Address: g.broker.Addr().String()})
	}
	if g.admin != nil {
		info.Listeners = append(info.Listeners, api.Listener{Name: "admin", Address: g.admin.Addr().String(), Path: "/"})
	}
	return info
}

// watchOutbox reports outbox drops as bridge events (outbox_dropped, with the count since the
// last report); they reach the platform once delivery resumes.
func (g *gateway) watchOutbox() {
	g.stopWatch = make(chan struct{})
	g.watchDone = make(chan struct{})
	go func() {
		defer close(g.watchDone)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		var reported uint64
		for {
			select {
			case <-g.stopWatch:
				return
			case <-t.C:
			}
			st := g.outbox.Stats()
			if n := st.DroppedMessages; n > reported {
				g.log.Warn("outbox dropped messages", zap.Uint64("count", n-reported), zap.Uint64("bytes_total", st.DroppedBytes))
				g.bridge.PublishOutboxDropped(int(n - reported))
				reported = n
			}
		}
	}()
}

// health adds the broker, outbox and translator figures to the bridge's health answer.
func (g *gateway) health(h *api.Health) {
	for _, t := range g.plugins.List() {
		h.Translators[t.Name] = t.State
		if t.State != "running" {
			h.Problems = append(h.Problems, "translator "+t.Name+" is "+t.State)
		}
	}
	h.BrokerConnected = g.client != nil && g.client.Connected()
	if !h.BrokerConnected {
		h.Problems = append(h.Problems, "broker unreachable: publications wait in the outbox")
	}
	if g.acs != nil {
		if n := g.acs.Stats().InformsRefused; n > 0 {
			h.Problems = append(h.Problems, fmt.Sprintf("%d Informs refused since start because they could not be stored (the CPEs retry them)", n))
		}
	}
	if g.outbox != nil {
		st := g.outbox.Stats()
		h.Outbox = int(st.Queued)
		if st.DroppedMessages > 0 {
			h.Problems = append(h.Problems, fmt.Sprintf("outbox dropped %d messages since start (outbox.max_bytes / outbox.max_age)", st.DroppedMessages))
		}
	}
}

func buildVerifier(cfg *Config) (*auth.Verifier, error) {
	a := cfg.CWMP.Auth
	if a.Mode == "none" {
		return nil, nil
	}
	var chain auth.Chain
	if a.DevicesFile != "" {
		raw, err := os.ReadFile(a.DevicesFile)
		if err != nil {
			return nil, fmt.Errorf("cwmp.auth.devices_file: %w", err)
		}
		devs, err := parseDevicesFile(raw)
		if err != nil {
			return nil, fmt.Errorf("cwmp.auth.devices_file %s: %w", a.DevicesFile, err)
		}
		chain = append(chain, devs)
	}
	if a.Username != "" {
		chain = append(chain, auth.Static{User: a.Username, Pass: a.Password})
	}
	secret := []byte(a.NonceSecret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	v, err := auth.NewVerifier(auth.Mode(a.Mode), a.Realm, chain, secret)
	if err != nil {
		return nil, fmt.Errorf("cwmp.auth.mode: %w", err)
	}
	return v, nil
}

// addrString is ip:port for bridge events, "" when unknown.
func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// parseDevicesFile reads per-device credentials: a YAML map of user name to either a password
// ("SERIAL: password", the user name names the device) or {password, device} where device is the
// one device id the user may speak for (docs/operations.md, "CPE authentication").
func parseDevicesFile(raw []byte) (auth.Devices, error) {
	var m map[string]yaml.Node
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("want a YAML map of username: password or username: {password, device}: %w", err)
	}
	devs := make(auth.Devices, len(m))
	for user, n := range m {
		var d auth.Device
		switch n.Kind {
		case yaml.ScalarNode:
			d.Password = n.Value
		case yaml.MappingNode:
			var e struct {
				Password string `yaml:"password"`
				Device   string `yaml:"device"`
			}
			if err := n.Decode(&e); err != nil {
				return nil, fmt.Errorf("%s: %w", user, err)
			}
			d = auth.Device{Password: e.Password, ID: e.Device}
		default:
			return nil, fmt.Errorf("%s (line %d): want a password or {password, device}", user, n.Line)
		}
		if d.Password == "" {
			return nil, fmt.Errorf("%s (line %d): empty password", user, n.Line)
		}
		devs[user] = d
	}
	return devs, nil
}

func buildACSTLS(cfg *Config) (*tls.Config, error) {
	t := cfg.CWMP.TLS
	if t.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("cwmp.tls.cert_file: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("cwmp.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("cwmp.tls.client_ca_file: no PEM certificate found")
		}
		tc.ClientCAs = pool
	}
	switch t.ClientAuth {
	case "request":
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case "require":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// paramsCache maps store.params_cache to bridge.Options.ParamsCache, where 0 is the default and
// a negative value keeps none.
func paramsCache(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
