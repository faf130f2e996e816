package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard"
	"go.uber.org/zap"
)

// translators is the plugin host as the bridge sees it: host.Host routes every call to the
// device's translator; List adapts its inventory to the MQTT contract.
type translators struct {
	*host.Host
}

// startTranslators starts the translator host: plugins found in plugins.dir and configured under
// plugins.translators, and the built-in standard translator, in process (no RPC cost) or served
// out of process by this same binary (`cwmp2mqtt plugin standard`).
func startTranslators(ctx context.Context, cfg *Config, log *zap.Logger, event func(kind, plugin, reason string)) (*translators, error) {
	hc := host.Config{Dir: cfg.PluginsDir, CallTimeout: cfg.PluginTimeout, Plugins: map[string]host.PluginConfig{}}
	for name, pc := range cfg.Translators {
		hc.Plugins[name] = pc
	}
	stdCfg, configured := hc.Plugins[host.Fallback]
	if cfg.StandardMode == "process" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("plugins.standard: process mode needs the gateway's own path: %w", err)
		}
		stdCfg.Path, stdCfg.Args = self, []string{"plugin", "standard"}
		hc.Plugins[host.Fallback] = stdCfg
	} else if configured && stdCfg.Path == "" {
		delete(hc.Plugins, host.Fallback) // options for the in-process standard only
	}
	h, err := host.New(hc, log, func(ev host.Event) {
		kind := string(ev.Kind)
		if ev.Kind == host.EventGaveUp {
			kind = string(api.BridgePluginFailed)
			ev.Reason = "gave up restarting: " + ev.Reason
		}
		event(kind, ev.Plugin, ev.Reason)
	})
	if err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	if cfg.StandardMode == "inprocess" {
		opts, err := standard.ParseOptions(stdCfg.Options)
		if err != nil {
			return nil, fmt.Errorf("plugins.translators.standard.options: %w", err)
		}
		if err := h.RegisterInProcess(standard.New(opts)); err != nil {
			return nil, fmt.Errorf("plugins.standard: %w", err)
		}
	}
	if err := h.Start(ctx); err != nil {
		h.Stop()
		return nil, fmt.Errorf("plugins: %w", err)
	}
	return &translators{h}, nil
}

// List is nil-safe: a gateway without translators lists none.
func (t *translators) List() []api.TranslatorInfo {
	if t == nil || t.Host == nil {
		return []api.TranslatorInfo{}
	}
	infos := t.Host.Translators()
	out := make([]api.TranslatorInfo, 0, len(infos))
	for _, in := range infos {
		ti := api.TranslatorInfo{Name: in.Name, Version: in.Version, ModelVersion: in.ModelVersion,
			State: string(in.State), Builtin: in.Kind == host.KindInProcess || in.Path == selfPath()}
		if h, ok := t.Host.Get(in.Name); ok {
			for _, e := range h.Description().Exposes {
				ti.Exposes = append(ti.Exposes, api.Expose{Key: e.Key, Type: e.Type, Unit: e.Unit, Access: string(e.Access), Description: e.Description})
			}
		}
		out = append(out, ti)
	}
	return out
}

func (t *translators) Stop() {
	if t != nil && t.Host != nil {
		t.Host.Stop()
	}
}

func selfPath() string {
	p, _ := os.Executable()
	return p
}

// runPlugin serves a built-in translator as a go-plugin process: `cwmp2mqtt plugin standard`.
func runPlugin(args []string, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "standard" {
		fmt.Fprintln(stderr, "usage: cwmp2mqtt plugin standard   (started by the gateway with plugins.standard: process)")
		return 2
	}
	opts, err := standard.ParseOptions(sdk.Options())
	if err != nil {
		fmt.Fprintln(stderr, "cwmp2mqtt plugin standard:", err)
		return 2
	}
	sdk.Serve(standard.New(opts))
	return 0
}
