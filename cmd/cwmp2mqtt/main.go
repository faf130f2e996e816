// Command cwmp2mqtt is the gateway: the ACS for the site's TR-069 CPEs and an MQTT client toward
// the IoT platform. It loads and validates the configuration, wires cwmp, bridge, mqtt and the
// translator plugins together, and runs until SIGINT or SIGTERM.
//
//	cwmp2mqtt [--config FILE] [--<key> value …]   run the gateway
//	cwmp2mqtt plugin standard                      serve the built-in translator as a plugin
//	cwmp2mqtt version | --version                  print the version
//	cwmp2mqtt help | --help                        list the subcommands and the settings
//	cwmp2mqtt healthcheck [--config FILE] [--<key> value …]
//	                                               exit 0 when the gateway's /readyz answers 200
//
// Any other word or stray argument is a usage error (exit 2): a typo must never start a gateway.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// usageHead lists the subcommands; --help adds every setting's flag below it.
const usageHead = `usage:
  cwmp2mqtt [--config FILE] [--<key> value ...]   run the gateway
  cwmp2mqtt plugin standard                       serve the built-in translator as a plugin
  cwmp2mqtt version                               print the version (also --version)
  cwmp2mqtt healthcheck [--config FILE] [...]     exit 0 when the admin listener's /readyz is 200
  cwmp2mqtt help                                  this text (also --help, -h)

settings (file key, env CWMP2MQTT_<KEY>, or flag):
`

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := newFlagSet("cwmp2mqtt")
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	if len(args) > 0 {
		switch args[0] {
		case "version":
			if len(args) > 1 {
				return usageError(stderr, "version takes no arguments")
			}
			fmt.Fprintln(stderr, "cwmp2mqtt", version)
			return 0
		case "help":
			fs.Usage()
			return 0
		case "plugin":
			return runPlugin(args[1:], stderr)
		case "healthcheck":
			return runHealthcheck(args[1:], getenv, stderr)
		}
	}
	cfg, err := loadConfig(fs, args, getenv)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errVersion) {
		fmt.Fprintln(stderr, "cwmp2mqtt", version)
		return 0
	}
	var argErr argsError
	if errors.As(err, &argErr) {
		return usageError(stderr, err.Error())
	}
	if err != nil {
		fmt.Fprintln(stderr, "cwmp2mqtt:", err)
		return 2
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "cwmp2mqtt:", err)
		return 2
	}
	defer log.Sync() //nolint:errcheck
	applyMemoryLimit(cfg.MemoryLimit, getenv, func() (int64, bool) { return cgroupMemoryLimit("/proc/self/cgroup", cgroupRoot) }, log.Named("runtime"))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer applyProcs(ctx, cfg.Procs, getenv, log.Named("runtime"))()
	defer trimHeapAfterBusy(ctx, log.Named("runtime"))()
	gw, err := newGateway(cfg, log)
	if err != nil {
		log.Error("start-up failed", zap.Error(err))
		return 1
	}
	if err := gw.Start(ctx); err != nil {
		log.Error("start-up failed", zap.Error(err))
		gw.Stop()
		return 1
	}
	<-ctx.Done()
	log.Info("shutting down")
	gw.Stop()
	log.Info("stopped")
	return 0
}

// usageError reports a command-line mistake with the usage and exit status 2.
func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "cwmp2mqtt: %s\n%s", msg, usageHead[:strings.Index(usageHead, "\n\n")+1])
	fmt.Fprintln(stderr, "run 'cwmp2mqtt --help' for the settings")
	return 2
}

func newLogger(cfg *Config, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if cfg.LogFormat == "json" {
		enc = zapcore.NewJSONEncoder(encCfg)
	} else {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core), nil
}
