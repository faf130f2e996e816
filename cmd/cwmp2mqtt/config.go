package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/admin"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is the validated configuration of one gateway. It is loaded once (load → validate →
// start → stop, Caddy style); every error names the key at fault.
type Config struct {
	CWMP struct {
		Listen, Path, URL string
		AllowNetworks     []netip.Prefix
		TrustedProxies    []netip.Prefix
		MaxDevices        int
		RegistrationRate  float64
		RegistrationBurst int
		Auth              struct {
			Mode, Realm, Username, Password, DevicesFile, NonceSecret string
		}
		TLS struct {
			CertFile, KeyFile, ClientCAFile, ClientAuth string
		}
		Session struct {
			IdleTimeout, MaxDuration, RetryAfter time.Duration
			MaxRPCs, MaxConcurrent, MaxBodyBytes int
		}
		Quirks struct {
			BoolAsNumber, DateTimeMillis []string
		}
		ConnReq struct {
			Timeout            time.Duration
			Retries            int
			AllowBasic         bool
			Username, Password string
			Provision          bool
			UDPRepeats         int
			SessionWait        time.Duration
		}
	}
	MQTT struct {
		URL, EmbeddedListen                     string
		Embedded                                EmbeddedBroker
		BaseTopic, ClientID, Username, Password string
		TLSCAFile, TLSCertFile, TLSKeyFile      string
		TLSInsecure                             bool
		QoS                                     int
		KeepAlive                               time.Duration
	}
	Admin struct {
		Listen, Username, Password string
		Pprof, AllowAnonymous      bool
	}
	StorePath   string
	ParamsCache int
	// ReleasePages is store.release_pages: how often the store files' maps are released
	// (package boltmap); 0 never.
	ReleasePages time.Duration
	// MemoryLimit is runtime.memory_limit: bytes, 0 for none, memoryLimitAuto (memlimit.go).
	MemoryLimit int64
	// Procs is runtime.procs: a GOMAXPROCS, or procsAuto (procs.go).
	Procs           int
	OutboxMaxBytes  int64
	OutboxMaxAge    time.Duration
	AvailFactor     float64
	AvailFloor      time.Duration
	TaskWakeGrace   time.Duration
	TaskMaxQueue    int
	TaskMaxAttempts int
	TransferTimeout time.Duration
	Interview       bridge.InterviewOptions
	PluginsDir      string
	Translators     map[string]host.PluginConfig
	PluginTimeout   time.Duration
	StandardMode    string
	LogLevel        string
	LogFormat       string
	ConfigFileUsed  string
}

// argsError is a command-line mistake (unknown flag, stray word): usage and exit 2, never a start.
type argsError struct{ error }

// errVersion asks for the version instead of a start.
var errVersion = errors.New("version requested")

// EmbeddedBroker is the locked embedded broker's configuration (docs/operations.md, "Embedded
// broker").
type EmbeddedBroker struct {
	Users map[string]mqtt.BrokerUser
	// AllowAnonymous: clients without a user name get the platform role, even off loopback.
	AllowAnonymous    bool
	CertFile, KeyFile string
	// Anonymous is the role anonymous clients get: platform on a loopback listener without users
	// (the README's mosquitto_sub -h localhost) or with AllowAnonymous, else none.
	Anonymous mqtt.Role
}

// configError collects every invalid key so one start-up shows them all.
type configError []string

func (e configError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e, "\n  ")
}

// newFlagSet registers --config and one flag per setting.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.String("config", "", "configuration file (YAML); see configs/cwmp2mqtt.yaml")
	fs.Bool("version", false, "print the version and exit")
	for _, s := range settings {
		switch d := s.def.(type) {
		case string:
			fs.String(s.key, d, s.help)
		case bool:
			fs.Bool(s.key, d, s.help)
		case int:
			fs.Int(s.key, d, s.help)
		case float64:
			fs.Float64(s.key, d, s.help)
		case time.Duration:
			fs.Duration(s.key, d, s.help)
		default:
			panic("settings: unsupported default type for " + s.key)
		}
	}
	return fs
}

// loadConfig reads defaults ← file ← environment ← flags (later wins) and validates.
func loadConfig(fs *pflag.FlagSet, args []string, getenv func(string) string) (*Config, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, err
		}
		return nil, argsError{err}
	}
	if v, _ := fs.GetBool("version"); v {
		return nil, errVersion
	}
	if fs.NArg() > 0 {
		return nil, argsError{fmt.Errorf("unknown command or argument %q", fs.Arg(0))}
	}
	// One viper, each layer where viper puts it: flags (BindPFlags, only those given) > the
	// environment > the file > defaults (SetDefault). The environment comes through getenv (tests
	// and the healthcheck pass their own), so it is merged over the file's values rather than
	// read by AutomaticEnv, which only sees the process environment.
	v := viper.New()
	file, _ := fs.GetString("config")
	if file == "" {
		file = getenv(envName("config"))
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		// Only the file is in v yet: every key it has must be a setting.
		var unknown configError
		for _, k := range v.AllKeys() {
			if !knownKey(k) && k != translatorsKey && !strings.HasPrefix(k, translatorsKey+".") {
				unknown = append(unknown, fmt.Sprintf("%s: unknown key (in %s)", k, file))
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return nil, unknown
		}
	}
	env := map[string]any{}
	for _, s := range settings {
		v.SetDefault(s.key, s.def)
		if val := getenv(envName(s.key)); val != "" {
			setNested(env, s.key, val)
		}
	}
	if err := v.MergeConfigMap(env); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	if err := v.BindPFlags(fs); err != nil {
		return nil, err
	}
	var translators map[string]host.PluginConfig
	if file != "" && v.InConfig(translatorsKey) {
		if err := v.UnmarshalKey(translatorsKey, &translators); err != nil {
			return nil, fmt.Errorf("%s: %w", translatorsKey, err)
		}
	}
	c, err := decodeConfig(v)
	if err != nil {
		return nil, err
	}
	c.ConfigFileUsed = file
	if err := validateTranslators(translators); err != nil {
		return nil, err
	}
	c.Translators = translators
	return c, nil
}

// envName is the environment variable of a key: CWMP2MQTT_<KEY>, dots → underscores, upper case.
func envName(key string) string {
	return "CWMP2MQTT_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// knownKey reports whether key is a setting.
func knownKey(key string) bool {
	for _, s := range settings {
		if s.key == key {
			return true
		}
	}
	return false
}

// setNested puts value at the dotted key of m, creating the maps on the way (viper's nested form).
func setNested(m map[string]any, key string, value any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = value
}

// translatorsKey holds per-translator settings in the file (not in env or flags: they are maps):
//
//	plugins:
//	  translators:
//	    huawei: {path: /opt/cwmp2mqtt/plugins/huawei, options: {periodic_inform_interval: "300"},
//	             match: [{manufacturer: "Huawei Technologies Co., Ltd."}]}
const translatorsKey = "plugins.translators"

func validateTranslators(m map[string]host.PluginConfig) error {
	var errs configError
	for name, pc := range m {
		key := translatorsKey + "." + name
		if name != host.Fallback && pc.Path == "" {
			errs = append(errs, key+".path: required (the plugin binary)")
		}
		for k := range pc.Options {
			for _, r := range k {
				if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
					errs = append(errs, fmt.Sprintf("%s.options.%s: option names are letters, digits and _", key, k))
					break
				}
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// reader converts viper values, recording an error naming the key for each bad one.
type reader struct {
	v    *viper.Viper
	errs configError
}

func (r *reader) bad(key, format string, args ...any) {
	r.errs = append(r.errs, key+": "+fmt.Sprintf(format, args...))
}

func (r *reader) str(key string) string { return strings.TrimSpace(r.v.GetString(key)) }

// list splits a comma-separated value (a YAML list is accepted too).
func (r *reader) list(key string) []string {
	var out []string
	switch v := r.v.Get(key).(type) {
	case []any:
		for _, e := range v {
			if s := strings.TrimSpace(fmt.Sprint(e)); s != "" {
				out = append(out, s)
			}
		}
	default:
		for _, e := range strings.Split(fmt.Sprint(v), ",") {
			if s := strings.TrimSpace(e); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (r *reader) oneOf(key string, allowed ...string) string {
	s := strings.ToLower(r.str(key))
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	r.bad(key, "must be one of %s, not %q", strings.Join(allowed, ", "), s)
	return allowed[0]
}

func (r *reader) boolean(key string) bool {
	switch strings.ToLower(fmt.Sprint(r.v.Get(key))) {
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off", "":
		return false
	}
	r.bad(key, "must be true or false, not %q", fmt.Sprint(r.v.Get(key)))
	return false
}

func (r *reader) integer(key string, min, max int64) int64 {
	raw := fmt.Sprint(r.v.Get(key))
	var n int64
	if _, err := fmt.Sscan(raw, &n); err != nil || fmt.Sprint(n) != strings.TrimSpace(raw) {
		r.bad(key, "must be a whole number, not %q", raw)
		return min
	}
	if n < min || n > max {
		r.bad(key, "must be between %d and %d, not %d", min, max, n)
	}
	return n
}

func (r *reader) number(key string, min, max float64) float64 {
	raw := fmt.Sprint(r.v.Get(key))
	var f float64
	if _, err := fmt.Sscan(raw, &f); err != nil {
		r.bad(key, "must be a number, not %q", raw)
		return min
	}
	if f < min || f > max {
		r.bad(key, "must be between %g and %g, not %g", min, max, f)
	}
	return f
}

func (r *reader) duration(key string, min time.Duration) time.Duration {
	raw := r.v.Get(key)
	var d time.Duration
	switch x := raw.(type) {
	case time.Duration:
		d = x
	default:
		var err error
		if d, err = time.ParseDuration(strings.TrimSpace(fmt.Sprint(x))); err != nil {
			r.bad(key, "must be a duration like 30s or 5m, not %q", fmt.Sprint(x))
			return min
		}
	}
	if d < min {
		r.bad(key, "must be at least %s, not %s", min, d)
	}
	return d
}

func (r *reader) listen(key string, allowEmpty bool) string {
	s := r.str(key)
	if s == "" && allowEmpty {
		return s
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		r.bad(key, "must be host:port or :port, not %q", s)
	}
	return s
}

// secret returns the key's value, or the trimmed content of the file named by fileKey.
func (r *reader) secret(key, fileKey string) string {
	if f := r.str(fileKey); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			r.bad(fileKey, "cannot read: %v", err)
			return ""
		}
		return strings.TrimRight(string(b), "\r\n")
	}
	return r.v.GetString(key)
}

func decodeConfig(v *viper.Viper) (*Config, error) {
	r := &reader{v: v}
	c := &Config{}
	c.CWMP.Listen = r.listen("cwmp.listen", false)
	c.CWMP.Path = r.str("cwmp.path")
	if !strings.HasPrefix(c.CWMP.Path, "/") {
		r.bad("cwmp.path", "must start with /, not %q", c.CWMP.Path)
	}
	c.CWMP.URL = r.str("cwmp.url")
	c.CWMP.AllowNetworks = r.prefixes("cwmp.allow_networks")
	c.CWMP.TrustedProxies = r.prefixes("cwmp.trusted_proxies")
	c.CWMP.MaxDevices = int(r.integer("cwmp.max_devices", 1, 1<<24))
	c.CWMP.RegistrationRate = r.number("cwmp.registration_rate", 0, 1e6)
	c.CWMP.RegistrationBurst = int(r.integer("cwmp.registration_burst", 1, 1<<24))
	a := &c.CWMP.Auth
	a.Mode = r.oneOf("cwmp.auth.mode", "none", "basic", "digest", "any")
	a.Realm = r.str("cwmp.auth.realm")
	a.Username = r.str("cwmp.auth.username")
	a.Password = r.secret("cwmp.auth.password", "cwmp.auth.password_file")
	a.DevicesFile = r.str("cwmp.auth.devices_file")
	a.NonceSecret = r.secret("cwmp.auth.nonce_secret", "cwmp.auth.nonce_secret_file")
	if a.Mode != "none" && a.Username == "" && a.DevicesFile == "" {
		r.bad("cwmp.auth.mode", "is %q but neither cwmp.auth.username nor cwmp.auth.devices_file gives credentials", a.Mode)
	}
	t := &c.CWMP.TLS
	t.CertFile, t.KeyFile = r.str("cwmp.tls.cert_file"), r.str("cwmp.tls.key_file")
	t.ClientCAFile = r.str("cwmp.tls.client_ca_file")
	t.ClientAuth = r.oneOf("cwmp.tls.client_auth", "none", "request", "require")
	if (t.CertFile == "") != (t.KeyFile == "") {
		r.bad("cwmp.tls.cert_file", "cwmp.tls.cert_file and cwmp.tls.key_file go together")
	}
	if t.ClientAuth != "none" && (t.CertFile == "" || t.ClientCAFile == "") {
		r.bad("cwmp.tls.client_auth", "needs cwmp.tls.cert_file, cwmp.tls.key_file and cwmp.tls.client_ca_file")
	}
	s := &c.CWMP.Session
	s.IdleTimeout = r.duration("cwmp.session.idle_timeout", time.Second)
	s.MaxDuration = r.duration("cwmp.session.max_duration", time.Second)
	s.RetryAfter = r.duration("cwmp.session.retry_after", time.Second)
	s.MaxRPCs = int(r.integer("cwmp.session.max_rpcs", 1, 1<<20))
	s.MaxConcurrent = int(r.integer("cwmp.session.max_concurrent", 1, 1<<24))
	s.MaxBodyBytes = int(r.integer("cwmp.session.max_body_bytes", 4096, 1<<30))
	c.CWMP.Quirks.BoolAsNumber = r.list("cwmp.quirks.bool_as_number")
	c.CWMP.Quirks.DateTimeMillis = r.list("cwmp.quirks.datetime_millis")
	cr := &c.CWMP.ConnReq
	cr.Timeout = r.duration("cwmp.connreq.timeout", 100*time.Millisecond)
	cr.Retries = int(r.integer("cwmp.connreq.retries", 0, 10))
	cr.AllowBasic = r.boolean("cwmp.connreq.allow_basic")
	cr.Username, cr.Password = r.str("cwmp.connreq.username"), r.secret("cwmp.connreq.password", "cwmp.connreq.password_file")
	cr.Provision = r.boolean("cwmp.connreq.provision")
	cr.UDPRepeats = int(r.integer("cwmp.connreq.udp_repeats", 1, 20))
	cr.SessionWait = r.duration("cwmp.connreq.session_wait", 100*time.Millisecond)

	m := &c.MQTT
	m.URL = r.str("mqtt.url")
	if m.URL != "" {
		u, err := url.Parse(m.URL)
		switch {
		case err != nil:
			r.bad("mqtt.url", "%v", err)
		case u.Scheme != "tcp" && u.Scheme != "ssl" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "mqtt" && u.Scheme != "mqtts":
			r.bad("mqtt.url", "scheme must be tcp, ssl, ws or wss, not %q", u.Scheme)
		case u.Host == "":
			r.bad("mqtt.url", "needs a host, as in tcp://broker:1883")
		}
	}
	m.EmbeddedListen = r.listen("mqtt.embedded.listen", m.URL != "")
	r.embeddedBroker(&m.Embedded, m.URL == "", m.EmbeddedListen)
	m.BaseTopic = strings.TrimRight(r.str("mqtt.base_topic"), "/")
	if m.BaseTopic == "" || strings.ContainsAny(m.BaseTopic, "+#") || strings.HasPrefix(m.BaseTopic, "/") {
		r.bad("mqtt.base_topic", "must be a non-empty topic without wildcards or a leading /, not %q", m.BaseTopic)
	}
	m.ClientID = r.str("mqtt.client_id")
	m.Username = r.str("mqtt.username")
	m.Password = r.secret("mqtt.password", "mqtt.password_file")
	m.TLSCAFile, m.TLSCertFile, m.TLSKeyFile = r.str("mqtt.tls.ca_file"), r.str("mqtt.tls.cert_file"), r.str("mqtt.tls.key_file")
	m.TLSInsecure = r.boolean("mqtt.tls.insecure")
	m.QoS = int(r.integer("mqtt.qos", 0, 2))
	m.KeepAlive = r.duration("mqtt.keepalive", time.Second)

	c.StorePath = r.str("store.path")
	if c.StorePath == "" {
		r.bad("store.path", "must name a file")
	}
	c.ParamsCache = int(r.integer("store.params_cache", 0, 1<<24))
	c.ReleasePages = r.duration("store.release_pages", 0)
	c.OutboxMaxBytes = r.integer("outbox.max_bytes", 1<<20, 1<<40)
	c.OutboxMaxAge = r.duration("outbox.max_age", time.Minute)
	c.AvailFactor = r.number("availability.factor", 1, 100)
	c.AvailFloor = r.duration("availability.floor", time.Second)
	c.TaskWakeGrace = r.duration("tasks.wake_grace", time.Second)
	c.TransferTimeout = r.duration("tasks.transfer_timeout", time.Second)
	c.TaskMaxQueue = int(r.integer("tasks.max_queue", 1, 1<<20))
	c.TaskMaxAttempts = int(r.integer("tasks.max_attempts", 1, 100))
	c.Interview.Disabled = !r.boolean("interview.enabled")
	c.Interview.MaxNames = int(r.integer("interview.max_names", 100, 1<<20))
	c.Interview.MaxRPCs = int(r.integer("interview.max_rpcs", 1, 1<<20))
	c.Interview.MaxTime = r.duration("interview.max_time", time.Second)
	c.PluginsDir = r.str("plugins.dir")
	c.PluginTimeout = r.duration("plugins.call_timeout", 10*time.Millisecond)
	c.StandardMode = r.oneOf("plugins.standard", "inprocess", "process")
	ad := &c.Admin
	ad.Listen = r.listen("admin.listen", true)
	ad.Pprof = r.boolean("admin.pprof")
	ad.Username = r.str("admin.username")
	ad.Password = r.secret("admin.password", "admin.password_file")
	ad.AllowAnonymous = r.boolean("admin.allow_anonymous")
	if (ad.Username == "") != (ad.Password == "") {
		r.bad("admin.password", "admin.username and admin.password (or admin.password_file) go together")
	}
	if ad.Listen != "" {
		if err := checkExposure("admin.listen", ad.Listen, ad.Username != "", ad.AllowAnonymous, "admin.allow_anonymous",
			"admin.username and admin.password (or admin.password_file)"); err != nil {
			r.errs = append(r.errs, err.Error())
		}
	}
	c.MemoryLimit = r.memoryLimit("runtime.memory_limit")
	c.Procs = r.procs("runtime.procs")
	c.LogLevel = r.oneOf("log.level", "debug", "info", "warn", "error")
	c.LogFormat = r.oneOf("log.format", "console", "json")
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	return c, nil
}

// prefixes reads a list of networks (CIDR, or one address).
func (r *reader) prefixes(key string) []netip.Prefix {
	var out []netip.Prefix
	for _, e := range r.list(key) {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil {
				r.bad(key, "%q is neither a network (10.0.0.0/8) nor an address", e)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// embeddedBroker reads the mqtt.embedded keys and applies the exposure rule when the embedded
// broker is used.
func (r *reader) embeddedBroker(e *EmbeddedBroker, used bool, listen string) {
	e.Users = map[string]mqtt.BrokerUser{}
	if f := r.str("mqtt.embedded.users_file"); f != "" {
		users, err := brokerUsersFile(f)
		if err != nil {
			r.bad("mqtt.embedded.users_file", "%s: %v", f, err)
		}
		e.Users = users
	}
	if r.v.GetString("mqtt.embedded.password") != "" {
		r.bad("mqtt.embedded.password", "plain-text passwords are no longer accepted: set mqtt.embedded.password_hash to a bcrypt hash (htpasswd -nbB user PASSWORD)")
	}
	if name := r.str("mqtt.embedded.username"); name != "" {
		u, err := brokerUser(name, r.str("mqtt.embedded.role"), r.v.GetString("mqtt.embedded.password_hash"), r.str("mqtt.embedded.password_hash_file"))
		if err != nil {
			r.bad("mqtt.embedded.username", "%v (see mqtt.embedded.password_hash, mqtt.embedded.role)", err)
		}
		e.Users[name] = u
	}
	e.AllowAnonymous = r.boolean("mqtt.embedded.allow_anonymous")
	e.CertFile, e.KeyFile = r.str("mqtt.embedded.tls.cert_file"), r.str("mqtt.embedded.tls.key_file")
	if (e.CertFile == "") != (e.KeyFile == "") {
		r.bad("mqtt.embedded.tls.cert_file", "mqtt.embedded.tls.cert_file and mqtt.embedded.tls.key_file go together")
	}
	if !used {
		return
	}
	if err := checkExposure("mqtt.embedded.listen", listen, len(e.Users) > 0, e.AllowAnonymous, "mqtt.embedded.allow_anonymous",
		"mqtt.embedded.users_file", "mqtt.embedded.username with mqtt.embedded.password_hash"); err != nil {
		r.errs = append(r.errs, err.Error())
	}
	if e.AllowAnonymous || len(e.Users) == 0 && isLoopbackListen(listen) {
		e.Anonymous = mqtt.RolePlatform
	}
}

var errUsage = errors.New("usage")

func (c *Config) adminConfig() admin.Config {
	return admin.Config{Listen: c.Admin.Listen, Pprof: c.Admin.Pprof, Username: c.Admin.Username, Password: c.Admin.Password}
}
