package main

import (
	"fmt"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// Events before attach arrive first and in order, up to the bound (the loss is logged); later
// ones go straight through.
func TestPluginEventsHeldUntilTheBridgeExists(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	p := newPluginEvents(zap.New(core))
	for i := range pluginEventsHeld + 3 {
		p.emit("plugin_failed", fmt.Sprint(i), "")
	}
	var got []string
	p.attach(func(kind, plugin, reason string) { got = append(got, plugin) })
	p.emit("plugin_restarted", "late", "")
	if len(got) != pluginEventsHeld+1 || got[0] != "0" || got[pluginEventsHeld-1] != fmt.Sprint(pluginEventsHeld-1) || got[pluginEventsHeld] != "late" {
		t.Fatalf("delivered %d events: first %q, last %q", len(got), got[0], got[len(got)-1])
	}
	if e := logs.FilterMessage("plugin events before start-up lost").All(); len(e) != 1 || e[0].ContextMap()["lost"] != int64(3) {
		t.Errorf("loss not logged with its count: %v", e)
	}
}
