package host

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

// Config of the plugin host (config section `plugins`). Zero values take the defaults below.
// Fields tagged "-" are not settings of the gateway: only a program embedding the host sets them.
type Config struct {
	// Dir (plugins.dir): every executable regular file in it is started as a plugin named after
	// the file. Empty: no directory scan.
	Dir string `mapstructure:"dir"`
	// Plugins (plugins.translators) configures plugins by name. An entry without Path names an
	// executable of Dir.
	Plugins map[string]PluginConfig `mapstructure:"translators"`
	// CallTimeout bounds every translator call (default 2s).
	CallTimeout time.Duration `mapstructure:"call_timeout"`
	// StartTimeout bounds a plugin's start-up handshake (default 10s).
	StartTimeout time.Duration `mapstructure:"-"`
	// MaxMsgSize is the gRPC message limit in bytes, applied both ways by both ends
	// (default 16 MiB).
	MaxMsgSize int `mapstructure:"-"`
	// Env is the allow-list of the gateway's environment variables a plugin inherits
	// (default PATH, HOME, TZ, LANG). Nothing else leaks: no CWMP2MQTT_MQTT_PASSWORD.
	Env []string `mapstructure:"-"`
	// PingInterval is the health-check period of each plugin process (default 5s).
	PingInterval time.Duration `mapstructure:"-"`
	// HangAfter consecutive call time-outs, or failed pings, mark a process hung: it is killed
	// and restarted (default 3).
	HangAfter int `mapstructure:"-"`
	// RestartMin and RestartMax bound the exponential restart back-off (default 500ms, 30s).
	// The back-off starts again from RestartMin once a process has stayed up for RestartMax.
	RestartMin time.Duration `mapstructure:"-"`
	RestartMax time.Duration `mapstructure:"-"`
	// CrashLoopMax failures within CrashLoopWindow make the host give up on a plugin
	// (default 5 in 10 minutes).
	CrashLoopMax    int           `mapstructure:"-"`
	CrashLoopWindow time.Duration `mapstructure:"-"`
}

// PluginConfig configures one plugin.
type PluginConfig struct {
	// Path of the executable; default Dir/<name>.
	Path string `mapstructure:"path"`
	// Args are passed to the executable (e.g. ["plugin", "standard"] for the gateway binary).
	Args []string `mapstructure:"args"`
	// Options reach the plugin as environment variables CWMP2MQTT_PLUGIN_OPT_<KEY> (key
	// upper-cased; letters, digits and _ only); the SDK reads them with sdk.Options().
	Options map[string]string `mapstructure:"options"`
	// Match, when set, replaces the match rules the plugin describes.
	Match []sdk.Match `mapstructure:"match"`
}

// Defaults.
const (
	DefaultCallTimeout     = 2 * time.Second
	DefaultStartTimeout    = 10 * time.Second
	DefaultMaxMsgSize      = wire.DefaultMaxMsgSize
	DefaultPingInterval    = 5 * time.Second
	DefaultHangAfter       = 3
	DefaultRestartMin      = 500 * time.Millisecond
	DefaultRestartMax      = 30 * time.Second
	DefaultCrashLoopMax    = 5
	DefaultCrashLoopWindow = 10 * time.Minute
)

// DefaultConfig is the `plugins.*` section with nothing set (the gateway's settings table and
// configs/cwmp2mqtt.yaml hold the same values; a test there keeps them equal).
func DefaultConfig() Config {
	return Config{CallTimeout: DefaultCallTimeout, StartTimeout: DefaultStartTimeout, MaxMsgSize: DefaultMaxMsgSize,
		Env: append([]string(nil), DefaultEnv...), PingInterval: DefaultPingInterval, HangAfter: DefaultHangAfter,
		RestartMin: DefaultRestartMin, RestartMax: DefaultRestartMax, CrashLoopMax: DefaultCrashLoopMax,
		CrashLoopWindow: DefaultCrashLoopWindow}
}

// DefaultEnv is the default environment allow-list.
var DefaultEnv = []string{"PATH", "HOME", "TZ", "LANG"}

var (
	pluginNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	optionKeyRE  = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	envNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// withDefaults fills zero values and validates; errors name the config key.
func (c Config) withDefaults() (Config, error) {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDur(&c.CallTimeout, DefaultCallTimeout)
	setDur(&c.StartTimeout, DefaultStartTimeout)
	setDur(&c.PingInterval, DefaultPingInterval)
	setDur(&c.RestartMin, DefaultRestartMin)
	setDur(&c.RestartMax, DefaultRestartMax)
	setDur(&c.CrashLoopWindow, DefaultCrashLoopWindow)
	if c.MaxMsgSize == 0 {
		c.MaxMsgSize = DefaultMaxMsgSize
	}
	if c.HangAfter == 0 {
		c.HangAfter = DefaultHangAfter
	}
	if c.CrashLoopMax == 0 {
		c.CrashLoopMax = DefaultCrashLoopMax
	}
	if c.Env == nil {
		c.Env = DefaultEnv
	}

	var errs []error
	for key, d := range map[string]time.Duration{
		"plugins.call_timeout": c.CallTimeout, "plugins.start_timeout": c.StartTimeout,
		"plugins.ping_interval": c.PingInterval, "plugins.restart_min": c.RestartMin,
		"plugins.restart_max": c.RestartMax, "plugins.crash_loop_window": c.CrashLoopWindow,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %v", key, d))
		}
	}
	if c.RestartMax < c.RestartMin {
		errs = append(errs, fmt.Errorf("plugins.restart_max: %v is below plugins.restart_min %v", c.RestartMax, c.RestartMin))
	}
	if c.MaxMsgSize < 0 {
		errs = append(errs, fmt.Errorf("plugins.max_msg_size: must be positive, got %d", c.MaxMsgSize))
	}
	if c.HangAfter < 0 {
		errs = append(errs, fmt.Errorf("plugins.hang_after: must be positive, got %d", c.HangAfter))
	}
	if c.CrashLoopMax < 0 {
		errs = append(errs, fmt.Errorf("plugins.crash_loop_max: must be positive, got %d", c.CrashLoopMax))
	}
	for _, name := range c.Env {
		if !envNameRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("plugins.env: %q is not a variable name", name))
		}
	}
	for name, pc := range c.Plugins {
		key := "plugins.translators." + name
		if !pluginNameRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("%s: invalid plugin name (letters, digits, . _ -)", key))
		}
		if pc.Path == "" && c.Dir == "" {
			errs = append(errs, fmt.Errorf("%s.path: required when plugins.dir is not set", key))
		}
		for k := range pc.Options {
			if !optionKeyRE.MatchString(k) {
				errs = append(errs, fmt.Errorf("%s.options.%s: option keys are letters, digits and _", key, k))
			}
		}
		for i, m := range pc.Match {
			if err := validateMatch(m); err != nil {
				errs = append(errs, fmt.Errorf("%s.match[%d]: %w", key, i, err))
			}
		}
	}
	return c, errors.Join(errs...)
}
