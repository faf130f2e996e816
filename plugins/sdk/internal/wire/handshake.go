package wire

import (
	"context"
	"strconv"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/translatorv1"
)

// ProtocolVersion is the go-plugin application protocol version of translator.v1. A future v2
// is served beside it through go-plugin's VersionedPlugins, so old plugins keep working.
const ProtocolVersion = 1

// PluginName is the name the translator is dispensed under inside a plugin set.
const PluginName = "translator"

// Handshake is the go-plugin handshake both ends must agree on. The cookie is not a secret: it
// only stops a user from running a plugin binary by hand and wondering why it waits.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "CWMP2MQTT_PLUGIN",
	MagicCookieValue: "translator-4f1c0a7e9b2d",
}

// Environment variables the host sets for a plugin process (besides go-plugin's own and the
// allow-listed ones of the gateway).
const (
	// EnvOptionPrefix + upper-cased option key carries each configured plugin option.
	EnvOptionPrefix = "CWMP2MQTT_PLUGIN_OPT_"
	// EnvName is the name the plugin is registered under in the gateway.
	EnvName = "CWMP2MQTT_PLUGIN_NAME"
	// EnvMaxMsgSize is the gRPC message limit in bytes, applied by both ends.
	EnvMaxMsgSize = "CWMP2MQTT_PLUGIN_MAX_MSG_SIZE"
	// EnvLogLevel is the lowest level the host keeps (trace, debug, info, warn, error), so the
	// plugin does not serialise lines the host would drop.
	EnvLogLevel = "CWMP2MQTT_PLUGIN_LOG_LEVEL"
)

// DefaultMaxMsgSize is the gRPC message limit when none is configured: a full GetParameterValues
// of a large TR-181 device is a few MiB.
const DefaultMaxMsgSize = 16 << 20

// CodeTranslatorError is the gRPC status code of an error returned by the translator itself
// (as opposed to transport failures), see translator.proto.
const CodeTranslatorError = codes.Unknown

// MaxMsgSizeFromEnv returns the limit the host passed, or DefaultMaxMsgSize.
func MaxMsgSizeFromEnv(getenv func(string) string) int {
	n, err := strconv.Atoi(getenv(EnvMaxMsgSize))
	if err != nil || n <= 0 {
		return DefaultMaxMsgSize
	}
	return n
}

// Plugin is the go-plugin glue of translator.v1. In the plugin process Impl is set and
// registered; in the host GRPCClient hands back the connection so the host can also reach the
// health service go-plugin registers beside ours.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.TranslatorServer
}

// GRPCServer registers the translator service.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterTranslatorServer(s, p.Impl)
	return nil
}

// GRPCClient returns the *grpc.ClientConn of the plugin.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

// PluginSets is the VersionedPlugins map for both ends.
func PluginSets(p *Plugin) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: p}}
}
