package sdk

import (
	"io"
	"log/slog"
	"os"
	"sync"
)

// stderr is the process's real standard error, kept before go-plugin's Serve redirects
// os.Stderr into its stdio stream: the host reads plugin logs from the real one.
var stderr = os.Stderr

// hclogTime is the timestamp layout go-plugin parses in JSON log lines; any other layout makes
// the host treat the line as unstructured text.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"

var logger = sync.OnceValue(func() *slog.Logger { return newLogger(stderr, logLevel()) })

// newLogger writes hclog JSON lines to w.
func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: hclogAttr}))
}

// Logger returns the plugin's logger. Lines are written as hclog JSON on the process's standard
// error; the gateway parses them and re-emits them through its own log with the plugin's name,
// keeping level, message and attributes. The level threshold follows the gateway's.
func Logger() *slog.Logger { return logger() }

// hclogAttr renames slog's built-in keys to hclog's.
func hclogAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().Format(hclogTime))
	case slog.LevelKey:
		l, _ := a.Value.Any().(slog.Level)
		return slog.String("@level", logLevelName(l))
	case slog.MessageKey:
		return slog.String("@message", a.Value.String())
	}
	return a
}

// logLevel is the threshold the host asked for (default info).
func logLevel() slog.Level {
	switch os.Getenv(envLogLevel) {
	case "trace":
		return slog.LevelDebug - 4
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
