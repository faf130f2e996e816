package main

import (
	"sync"

	"go.uber.org/zap"
)

// pluginEventsHeld bounds the events held before the bridge exists: a plugin that fails its
// first start gives two (plugin_failed, then plugin_failed "gave up"), so this is room for a
// site's every translator failing at once.
const pluginEventsHeld = 256

// pluginEvents relays the translator host's events (plugin_failed, plugin_restarted…) to the
// bridge. The host starts first — the bridge is built on its translators — and reports a plugin
// that fails its first start from inside host.Start, before the bridge exists: those events are
// held in order and handed over by attach, so a misconfigured translator is reported on
// B/bridge/event like one that fails later.
type pluginEvents struct {
	log *zap.Logger

	mu      sync.Mutex // held while calling sink, so events reach it in order
	sink    func(kind, plugin, reason string)
	held    []heldPluginEvent
	dropped int
}

type heldPluginEvent struct{ kind, plugin, reason string }

func newPluginEvents(log *zap.Logger) *pluginEvents {
	return &pluginEvents{log: log.Named("plugins")}
}

// emit is the host's callback; it may run on any supervisor goroutine.
func (p *pluginEvents) emit(kind, plugin, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sink != nil {
		p.sink(kind, plugin, reason)
		return
	}
	if len(p.held) == pluginEventsHeld {
		p.dropped++
		return
	}
	p.held = append(p.held, heldPluginEvent{kind, plugin, reason})
}

// attach hands the held events to sink, then every later one.
func (p *pluginEvents) attach(sink func(kind, plugin, reason string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.held {
		sink(e.kind, e.plugin, e.reason)
	}
	if p.dropped > 0 {
		p.log.Warn("plugin events before start-up lost", zap.Int("held", len(p.held)), zap.Int("lost", p.dropped))
	}
	p.held, p.dropped, p.sink = nil, 0, sink
}
