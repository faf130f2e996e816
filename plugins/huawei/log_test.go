package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"go.uber.org/zap"
)

// Skipped-value warnings reach the SDK logger with their typed fields.
func TestLoggerForwardsToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))).Named("standard")
	l.Debug("hidden")
	l.With(zap.String("device", "202BC1-BM632w-1")).Warn("value skipped", zap.String("key", "device.uptime"))
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v in %q (the debug line must be filtered)", err, buf.String())
	}
	for k, want := range map[string]any{"level": "WARN", "msg": "value skipped", "device": "202BC1-BM632w-1", "key": "device.uptime", "logger": "standard"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
}
