package sdk

import (
	"os"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

const envLogLevel = wire.EnvLogLevel

// Options returns the options configured for this plugin in the gateway
// (plugins.translators.<name>.options), keys in lower case. They arrive as environment variables
// CWMP2MQTT_PLUGIN_OPT_<KEY>, so they can be read before Serve, e.g. to build the translator.
func Options() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, ok := strings.Cut(kv, "=")
		if name, isOpt := strings.CutPrefix(k, wire.EnvOptionPrefix); ok && isOpt && name != "" {
			out[strings.ToLower(name)] = v
		}
	}
	return out
}

// Option returns one configured option (key case-insensitive), "" when unset.
func Option(key string) string {
	return os.Getenv(wire.EnvOptionPrefix + strings.ToUpper(key))
}
