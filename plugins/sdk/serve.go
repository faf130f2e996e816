package sdk

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

// parentPollInterval is how often a plugin checks that the gateway still runs.
const parentPollInterval = 500 * time.Millisecond

// Serve runs impl as a translator plugin and returns only when the gateway ends the plugin
// (normally it never returns: go-plugin exits the process). It must be the last call of main.
//
// The plugin speaks gRPC only (protocol version 1), accepts go-plugin's automatic mutual TLS,
// and applies the message size limit the gateway passes. Panics in impl are recovered and
// reported as errors of that one call. Started by hand (without the gateway's handshake cookie),
// it prints a short explanation and exits 1.
func Serve(impl Translator) {
	if impl == nil {
		fmt.Fprintln(stderr, "sdk.Serve: nil Translator")
		os.Exit(1)
	}
	maxMsg := wire.MaxMsgSizeFromEnv(os.Getenv)
	// Belt and braces beside the host's Pdeathsig: a plugin must not outlive the gateway, even
	// one killed with SIGKILL, or on a platform without Pdeathsig.
	go watchParent(os.Getppid(), parentPollInterval, func() {
		Logger().Warn("gateway process gone; exiting")
		os.Exit(1)
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.PluginSets(&wire.Plugin{Impl: &server{impl: impl}}),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
			return grpc.NewServer(opts...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "go-plugin",
			Level:      hclog.LevelFromString(logLevelName(logLevel())),
			Output:     stderr,
			JSONFormat: true,
		}),
	})
}

// watchParent calls exit once the parent process is no longer ppid (the orphan was re-parented
// to init or a subreaper).
func watchParent(ppid int, every time.Duration, exit func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != ppid {
			exit()
			return
		}
	}
}

// logLevelName is the hclog name of a slog level.
func logLevelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
