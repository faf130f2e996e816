package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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
