package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/admin"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/boltmap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
	"go.yaml.in/yaml/v3"
)

func load(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	return loadConfig(newFlagSet("test"), args, func(k string) string { return env[k] })
}

func TestDefaultsNeedNoFile(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.CWMP.Listen != ":7547" || c.CWMP.Path != "/" || c.MQTT.URL != "" || c.MQTT.EmbeddedListen != "localhost:1883" || c.MQTT.Embedded.Anonymous != "platform" ||
		c.MQTT.BaseTopic != "cwmp2mqtt" || c.MQTT.QoS != 1 || c.CWMP.Auth.Mode != "none" ||
		c.CWMP.Session.IdleTimeout != 30*time.Second || c.StorePath != "./data/cwmp2mqtt.db" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

// The shipped file documents every key, and holds the defaults.
func TestEveryKeyDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../configs/cwmp2mqtt.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			inFile[prefix+k] = true
		}
	}
	walk("", tree)
	lines := strings.Split(string(raw), "\n")
	for _, s := range settings {
		if !inFile[s.key] {
			t.Errorf("%s: missing from configs/cwmp2mqtt.yaml", s.key)
		}
		delete(inFile, s.key)
	}
	for k := range inFile {
		t.Errorf("%s: in configs/cwmp2mqtt.yaml but not a setting", k)
	}
	// Each key line is preceded by a comment line (or belongs to a commented pair).
	for i, l := range lines {
		tl := strings.TrimSpace(l)
		if tl == "" || strings.HasPrefix(tl, "#") || strings.HasSuffix(tl, ":") {
			continue
		}
		j := i - 1
		for j >= 0 && !strings.HasPrefix(strings.TrimSpace(lines[j]), "#") && strings.TrimSpace(lines[j]) != "" && !strings.HasSuffix(strings.TrimSpace(lines[j]), ":") {
			j--
		}
		if j < 0 || !strings.HasPrefix(strings.TrimSpace(lines[j]), "#") {
			t.Errorf("configs/cwmp2mqtt.yaml line %d %q has no comment above it", i+1, tl)
		}
	}
	// The documented values are the defaults.
	c, err := load(t, []string{"--config", "../../configs/cwmp2mqtt.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := load(t, nil, nil)
	d.ConfigFileUsed = c.ConfigFileUsed
	if !reflect.DeepEqual(c, d) {
		t.Fatalf("file values differ from the defaults:\nfile %+v\ndefault %+v", c, d)
	}
}

func TestEnvironmentAndFlagPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("cwmp:\n  listen: \"127.0.0.1:1000\"\nmqtt:\n  base_topic: fromfile\n  qos: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CWMP2MQTT_CWMP_LISTEN": "127.0.0.1:7547", "CWMP2MQTT_MQTT_URL": "tcp://broker:1883"}
	c, err := load(t, []string{"--config", file, "--mqtt.qos", "2"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.CWMP.Listen != "127.0.0.1:7547" { // env beats file
		t.Errorf("cwmp.listen = %q", c.CWMP.Listen)
	}
	if c.MQTT.BaseTopic != "fromfile" || c.MQTT.URL != "tcp://broker:1883" || c.MQTT.QoS != 2 {
		t.Errorf("got base_topic %q url %q qos %d", c.MQTT.BaseTopic, c.MQTT.URL, c.MQTT.QoS)
	}
}

// An invalid value stops start-up with a message naming the key.
func TestInvalidValuesNameTheKey(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		key  string
	}{
		{map[string]string{"CWMP2MQTT_CWMP_LISTEN": "nonsense"}, nil, "cwmp.listen"},
		{nil, []string{"--mqtt.qos", "3"}, "mqtt.qos"},
		{map[string]string{"CWMP2MQTT_MQTT_URL": "http://x"}, nil, "mqtt.url"},
		{map[string]string{"CWMP2MQTT_CWMP_AUTH_MODE": "kerberos"}, nil, "cwmp.auth.mode"},
		{map[string]string{"CWMP2MQTT_CWMP_AUTH_MODE": "digest"}, nil, "cwmp.auth.mode"},
		{map[string]string{"CWMP2MQTT_CWMP_SESSION_IDLE_TIMEOUT": "soon"}, nil, "cwmp.session.idle_timeout"},
		{map[string]string{"CWMP2MQTT_MQTT_BASE_TOPIC": "a/#"}, nil, "mqtt.base_topic"},
		{map[string]string{"CWMP2MQTT_LOG_LEVEL": "loud"}, nil, "log.level"},
		{map[string]string{"CWMP2MQTT_AVAILABILITY_FACTOR": "0.5"}, nil, "availability.factor"},
		{map[string]string{"CWMP2MQTT_CWMP_TLS_CERT_FILE": "x.pem"}, nil, "cwmp.tls.cert_file"},
	}
	for _, tc := range cases {
		_, err := load(t, tc.args, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%v %v: error %v does not name %s", tc.env, tc.args, err, tc.key)
		}
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("cwmp:\n  lisen: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, []string{"--config", file}, nil)
	if err == nil || !strings.Contains(err.Error(), "cwmp.lisen: unknown key") {
		t.Fatalf("err = %v", err)
	}
}

func TestPasswordFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, []string{"--mqtt.password_file", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.Password != "s3cret" {
		t.Fatalf("password %q", c.MQTT.Password)
	}
}

func TestTranslatorsFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	yaml := `plugins:
  translators:
    huawei:
      path: /opt/plugins/huawei
      options: {periodic_inform_interval: "300"}
      match: [{manufacturer: "Huawei Technologies Co., Ltd.", product_class: BM632w}]
    standard:
      options: {bool_as_number: "true"}
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Translators["huawei"]
	if h.Path != "/opt/plugins/huawei" || h.Options["periodic_inform_interval"] != "300" || len(h.Match) != 1 ||
		h.Match[0].ProductClass != "BM632w" || c.Translators["standard"].Options["bool_as_number"] != "true" {
		t.Fatalf("translators %+v", c.Translators)
	}
	if err := os.WriteFile(file, []byte("plugins:\n  translators:\n    vendor: {options: {a: b}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, []string{"--config", file}, nil); err == nil || !strings.Contains(err.Error(), "plugins.translators.vendor.path") {
		t.Fatalf("err = %v", err)
	}
}

// Each package owns the defaults of its section; the settings table (and through
// TestEveryKeyDocumented configs/cwmp2mqtt.yaml) must give the gateway the same values. Until
// issue 8 they were written out twice and had drifted: cwmp.connreq.timeout was 10 s here and
// 5 s in internal/cwmp/connreq, mqtt.embedded.listen localhost:1883 here and :1883 in mqtt.
func TestSettingsDefaultsMatchPackageDefaults(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, cr, m, o := acs.DefaultConfig(), connreq.DefaultOptions(), mqtt.DefaultConfig(), mqtt.DefaultOutboxOptions()
	b, iv, h, ad := bridge.DefaultOptions(), bridge.DefaultInterviewOptions(), host.DefaultConfig(), admin.DefaultConfig()
	// key → (what the gateway got with nothing set, the package's default)
	owned := map[string][2]any{
		"cwmp.listen":                 {c.CWMP.Listen, a.Listen},
		"cwmp.path":                   {c.CWMP.Path, a.Path},
		"cwmp.session.idle_timeout":   {c.CWMP.Session.IdleTimeout, a.IdleTimeout},
		"cwmp.session.max_duration":   {c.CWMP.Session.MaxDuration, a.MaxSessionDuration},
		"cwmp.session.max_rpcs":       {c.CWMP.Session.MaxRPCs, a.MaxRPCsPerSession},
		"cwmp.session.max_concurrent": {c.CWMP.Session.MaxConcurrent, a.MaxConcurrentSessions},
		"cwmp.session.max_body_bytes": {int64(c.CWMP.Session.MaxBodyBytes), a.MaxBodyBytes},
		"cwmp.session.retry_after":    {c.CWMP.Session.RetryAfter, a.RetryAfter},
		"cwmp.connreq.timeout":        {c.CWMP.ConnReq.Timeout, cr.Timeout},
		"cwmp.connreq.retries":        {c.CWMP.ConnReq.Retries, cr.Retries},
		"cwmp.connreq.allow_basic":    {c.CWMP.ConnReq.AllowBasic, cr.AllowBasic},
		"cwmp.connreq.username":       {c.CWMP.ConnReq.Username, cr.FallbackUsername},
		"cwmp.connreq.password":       {c.CWMP.ConnReq.Password, cr.FallbackPassword},
		"cwmp.connreq.udp_repeats":    {c.CWMP.ConnReq.UDPRepeats, cr.UDPRepeats},
		"cwmp.connreq.session_wait":   {c.CWMP.ConnReq.SessionWait, b.SessionWait},
		"cwmp.connreq.provision":      {c.CWMP.ConnReq.Provision, b.ProvisionConnReq},
		"cwmp.max_devices":            {c.CWMP.MaxDevices, b.MaxDevices},
		"cwmp.registration_rate":      {c.CWMP.RegistrationRate, b.RegistrationRate},
		"cwmp.registration_burst":     {c.CWMP.RegistrationBurst, b.RegistrationBurst},
		"cwmp.quirks.bool_as_number":  {len(c.CWMP.Quirks.BoolAsNumber), len(b.BoolAsNumber)},
		"cwmp.quirks.datetime_millis": {len(c.CWMP.Quirks.DateTimeMillis), len(b.DateTimeMillis)},
		"mqtt.url":                    {c.MQTT.URL, m.URL},
		"mqtt.embedded.listen":        {c.MQTT.EmbeddedListen, mqtt.DefaultBrokerListen},
		"mqtt.base_topic":             {c.MQTT.BaseTopic, m.BaseTopic},
		"mqtt.username":               {c.MQTT.Username, m.Username},
		"mqtt.password":               {c.MQTT.Password, m.Password},
		"mqtt.tls.ca_file":            {c.MQTT.TLSCAFile, m.TLS.CAFile},
		"mqtt.tls.cert_file":          {c.MQTT.TLSCertFile, m.TLS.CertFile},
		"mqtt.tls.key_file":           {c.MQTT.TLSKeyFile, m.TLS.KeyFile},
		"mqtt.tls.insecure":           {c.MQTT.TLSInsecure, m.TLS.InsecureSkipVerify},
		"mqtt.qos":                    {c.MQTT.QoS, m.QoS},
		"mqtt.keepalive":              {c.MQTT.KeepAlive, m.KeepAlive},
		"outbox.max_bytes":            {c.OutboxMaxBytes, o.MaxBytes},
		"outbox.max_age":              {c.OutboxMaxAge, o.MaxAge},
		"availability.factor":         {c.AvailFactor, b.AvailabilityFactor},
		"availability.floor":          {c.AvailFloor, b.AvailabilityFloor},
		"tasks.wake_grace":            {c.TaskWakeGrace, b.WakeGrace},
		"tasks.transfer_timeout":      {c.TransferTimeout, b.TransferTimeout},
		"tasks.max_queue":             {c.TaskMaxQueue, b.MaxQueue},
		"store.params_cache":          {c.ParamsCache, b.ParamsCache},
		"store.release_pages":         {c.ReleasePages, boltmap.DefaultInterval},
		"tasks.max_attempts":          {c.TaskMaxAttempts, b.MaxAttempts},
		"interview.enabled":           {c.Interview.Disabled, iv.Disabled},
		"interview.max_names":         {c.Interview.MaxNames, iv.MaxNames},
		"interview.max_rpcs":          {c.Interview.MaxRPCs, iv.MaxRPCs},
		"interview.max_time":          {c.Interview.MaxTime, iv.MaxTime},
		"plugins.dir":                 {c.PluginsDir, h.Dir},
		"plugins.call_timeout":        {c.PluginTimeout, h.CallTimeout},
		"admin.listen":                {c.Admin.Listen, ad.Listen},
		"admin.pprof":                 {c.Admin.Pprof, ad.Pprof},
		"admin.username":              {c.Admin.Username, ad.Username},
		"admin.password":              {c.Admin.Password, ad.Password},
	}
	// The gateway's own keys: no package has a default for them (they are wiring, secrets or
	// files, or choices only the binary makes).
	gateway := []string{
		"cwmp.url", "cwmp.allow_networks", "cwmp.trusted_proxies",
		"cwmp.auth.mode", "cwmp.auth.realm", "cwmp.auth.username", "cwmp.auth.password", "cwmp.auth.password_file",
		"cwmp.auth.devices_file", "cwmp.auth.nonce_secret", "cwmp.auth.nonce_secret_file",
		"cwmp.tls.cert_file", "cwmp.tls.key_file", "cwmp.tls.client_ca_file", "cwmp.tls.client_auth",
		"cwmp.connreq.password_file",
		"mqtt.embedded.users_file", "mqtt.embedded.username", "mqtt.embedded.password_hash", "mqtt.embedded.password_hash_file",
		"mqtt.embedded.role", "mqtt.embedded.password", "mqtt.embedded.allow_anonymous",
		"mqtt.embedded.tls.cert_file", "mqtt.embedded.tls.key_file",
		"mqtt.client_id", // empty: mqtt.InstallationClientID, kept in the store
		"mqtt.password_file", "store.path", "plugins.standard",
		"admin.password_file", "admin.allow_anonymous", "log.level", "log.format",
		"runtime.memory_limit", "runtime.procs",
	}
	seen := map[string]bool{}
	for _, k := range gateway {
		seen[k] = true
	}
	for _, s := range settings {
		pair, ok := owned[s.key]
		switch {
		case ok:
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("%s: the gateway's default is %v, its package's %v", s.key, pair[0], pair[1])
			}
			delete(owned, s.key)
		case seen[s.key]:
			delete(seen, s.key)
		default:
			t.Errorf("%s: a new setting: take its default from its package's Default…() in settings.go and add it here, or list it as the gateway's own", s.key)
		}
	}
	for k := range owned {
		t.Errorf("%s: listed here but not a setting", k)
	}
	for k := range seen {
		t.Errorf("%s: listed as the gateway's own but not a setting", k)
	}
}

// The packages' config structs tag their fields with the key they are set by; a tag naming no
// setting is a promise the gateway does not keep (mqtt.keep_alive, mqtt.tls.insecure_skip_verify,
// outbox.window, plugins.plugins, plugins.start_timeout, … were). "-" marks a field that is not
// a setting.
func TestPackageConfigTagsNameRealKeys(t *testing.T) {
	known := map[string]bool{translatorsKey: true}
	for _, s := range settings {
		known[s.key] = true
	}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			tag, ok := f.Tag.Lookup("mapstructure")
			if !ok || tag == "-" {
				continue
			}
			key := prefix + tag
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(key+".", f.Type)
				continue
			}
			if !known[key] {
				t.Errorf("%s.%s is tagged %q: no such setting", typ, f.Name, key)
			}
		}
	}
	walk("mqtt.", reflect.TypeOf(mqtt.Config{}))
	walk("mqtt.embedded.", reflect.TypeOf(mqtt.BrokerOptions{}))
	walk("outbox.", reflect.TypeOf(mqtt.OutboxOptions{}))
	walk("plugins.", reflect.TypeOf(host.Config{}))
}

// Flag beats environment beats file beats default, for one and the same key.
func TestFlagBeatsEnvironmentBeatsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("mqtt:\n  qos: 0\n  keepalive: 40s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CWMP2MQTT_MQTT_QOS": "2", "CWMP2MQTT_MQTT_KEEPALIVE": "50s", "CWMP2MQTT_CONFIG": file}
	c, err := load(t, nil, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.QoS != 2 || c.MQTT.KeepAlive != 50*time.Second || c.ConfigFileUsed != file {
		t.Errorf("env over file: qos %d keepalive %s file %q", c.MQTT.QoS, c.MQTT.KeepAlive, c.ConfigFileUsed)
	}
	c, err = load(t, []string{"--mqtt.qos", "1", "--mqtt.keepalive", "1m"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.QoS != 1 || c.MQTT.KeepAlive != time.Minute {
		t.Errorf("flag over env: qos %d keepalive %s", c.MQTT.QoS, c.MQTT.KeepAlive)
	}
	c, err = load(t, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.QoS != 0 || c.MQTT.KeepAlive != 40*time.Second || c.CWMP.ConnReq.Timeout != connreq.DefaultTimeout {
		t.Errorf("file over default: qos %d keepalive %s connreq.timeout %s", c.MQTT.QoS, c.MQTT.KeepAlive, c.CWMP.ConnReq.Timeout)
	}
}

// The docs quote defaults in "| key | default |" tables and in prose ("`key` (10 s)",
// "`key`, default 3", "`key` (default `x`)"); each must be the setting's default.
func TestDocsDefaultsMatchSettings(t *testing.T) {
	pages, _ := filepath.Glob("../../docs/*.md")
	pages = append(pages, "../../README.md")
	defaults := map[string]any{}
	for _, s := range settings {
		defaults[s.key] = s.def
	}
	prose := regexp.MustCompile("`([a-z_]+(?:\\.[a-z_]+)+)`(?: \\(default:? |, default | \\()(`[^`]+`|[0-9][0-9,.]*(?: ?(?:s|min|h|days?|MiB)\\b)?)")
	row := regexp.MustCompile("^\\| `([a-z_.]+)` \\| ([^|(]+)")
	checked, page := 0, ""
	check := func(line int, key, quoted string) {
		def, ok := defaults[key]
		if !ok {
			return
		}
		checked++
		if !docValueIs(strings.Trim(strings.TrimSpace(quoted), "`"), def) {
			t.Errorf("%s:%d: %s is %q there, its default is %v", page, line, key, quoted, def)
		}
	}
	for _, page = range pages {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		page = strings.TrimPrefix(page, "../../")
		defaultTable := false
		for i, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "| key |") {
				defaultTable = strings.HasPrefix(l, "| key | default |")
			}
			if m := row.FindStringSubmatch(l); m != nil && defaultTable {
				check(i+1, m[1], m[2])
				continue
			}
			for _, m := range prose.FindAllStringSubmatch(l, -1) {
				check(i+1, m[1], m[2])
			}
		}
	}
	if checked < 30 {
		t.Fatalf("only %d defaults found in the docs: the patterns no longer match the pages", checked)
	}
}

// docValueIs compares a value as the docs write it ("10 s", "2 min", "7 days", "256 MiB", "10,000") with a default.
func docValueIs(s string, def any) bool {
	s = strings.ReplaceAll(s, ",", "")
	switch d := def.(type) {
	case time.Duration:
		var days int
		if _, err := fmt.Sscanf(s, "%d day", &days); err == nil {
			return time.Duration(days)*24*time.Hour == d
		}
		s = strings.ReplaceAll(strings.ReplaceAll(s, " min", "m"), " ", "")
		got, err := time.ParseDuration(s)
		return err == nil && got == d
	case int:
		n, unit := int64(0), ""
		fmt.Sscanf(s, "%d %s", &n, &unit)
		if unit == "MiB" {
			n <<= 20
		}
		return fmt.Sprint(n) == fmt.Sprint(d) && (unit == "" || unit == "MiB")
	default:
		return s == fmt.Sprint(d)
	}
}
