package host

import (
	"bytes"
	"io"
	"log"
	"sync"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// hclogZap is the hclog.Logger go-plugin is given: it re-emits the plugin's log lines through
// zap at their own level, and go-plugin's own chatter at debug (the supervisor reports what
// matters). output marks the logger go-plugin names after the plugin for its stderr.
type hclogZap struct {
	z      *zap.Logger
	plugin string
	output bool
	name   string
	args   []any
}

func newHCLog(z *zap.Logger, plugin string) hclog.Logger {
	return &hclogZap{z: z, plugin: plugin}
}

func (l *hclogZap) Log(level hclog.Level, msg string, args ...any) {
	zl := zapcore.DebugLevel
	if l.output {
		switch level {
		case hclog.Info:
			zl = zapcore.InfoLevel
		case hclog.Warn:
			zl = zapcore.WarnLevel
		case hclog.Error:
			zl = zapcore.ErrorLevel
		}
	}
	ce := l.z.Check(zl, msg)
	if ce == nil {
		return
	}
	ce.Write(l.fields(args)...)
}

// fields turns hclog key/value pairs into zap fields; go-plugin's re-parsed "timestamp" is
// dropped (zap stamps the line).
func (l *hclogZap) fields(args []any) []zap.Field {
	all := append(append([]any(nil), l.args...), args...)
	out := make([]zap.Field, 0, len(all)/2+1)
	if !l.output {
		out = append(out, zap.String("source", "go-plugin"))
	}
	for i := 0; i+1 < len(all); i += 2 {
		k, ok := all[i].(string)
		if !ok || k == "timestamp" {
			continue
		}
		out = append(out, zap.Any(k, all[i+1]))
	}
	if len(all)%2 == 1 {
		out = append(out, zap.Any("extra", all[len(all)-1]))
	}
	return out
}

func (l *hclogZap) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *hclogZap) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *hclogZap) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *hclogZap) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *hclogZap) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *hclogZap) IsTrace() bool { return l.z.Core().Enabled(zapcore.DebugLevel) }
func (l *hclogZap) IsDebug() bool { return l.z.Core().Enabled(zapcore.DebugLevel) }
func (l *hclogZap) IsInfo() bool  { return l.z.Core().Enabled(zapcore.InfoLevel) }
func (l *hclogZap) IsWarn() bool  { return l.z.Core().Enabled(zapcore.WarnLevel) }
func (l *hclogZap) IsError() bool { return l.z.Core().Enabled(zapcore.ErrorLevel) }

func (l *hclogZap) ImpliedArgs() []any { return l.args }

func (l *hclogZap) With(args ...any) hclog.Logger {
	c := *l
	c.args = append(append([]any(nil), l.args...), args...)
	return &c
}

func (l *hclogZap) Name() string { return l.name }

// Named: go-plugin names the logger of the plugin's stderr after runner.Name(), the plugin name.
func (l *hclogZap) Named(name string) hclog.Logger {
	c := *l
	c.name = name
	c.output = l.output || name == l.plugin
	return &c
}

func (l *hclogZap) ResetNamed(name string) hclog.Logger { return l.Named(name) }

// SetLevel is ignored: zap's level rules.
func (l *hclogZap) SetLevel(hclog.Level) {}

// GetLevel lets go-plugin skip parsing lines zap would drop.
func (l *hclogZap) GetLevel() hclog.Level {
	switch {
	case l.IsDebug():
		return hclog.Trace
	case l.IsInfo():
		return hclog.Info
	case l.IsWarn():
		return hclog.Warn
	case l.IsError():
		return hclog.Error
	}
	return hclog.Off
}

func (l *hclogZap) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return zap.NewStdLog(l.z)
}

func (l *hclogZap) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return zap.NewStdLog(l.z).Writer()
}

// levelName is the hclog level name of the lowest level z keeps, passed to the plugin.
func levelName(z *zap.Logger) string {
	switch l := (&hclogZap{z: z}).GetLevel(); l {
	case hclog.Trace:
		return "debug"
	case hclog.Off:
		return "error"
	default:
		return l.String()
	}
}

// outputWriter logs what a plugin writes to stdout/stderr after Serve (fmt.Println and the
// like; go-plugin streams it to the host), one line per log entry.
type outputWriter struct {
	z      *zap.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (w *outputWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = splitLines(w.buf, p, func(line []byte) {
		w.z.Info("plugin output", zap.String("stream", w.stream), zap.ByteString("line", line))
	})
	return len(p), nil
}

// splitLines appends p to buf and hands each complete line (and a line grown past logLineMax)
// to emit; it returns what is left of buf.
func splitLines(buf, p []byte, emit func(line []byte)) []byte {
	buf = append(buf, p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		emit(buf[:i])
		buf = buf[i+1:]
	}
	if len(buf) > logLineMax {
		emit(buf)
		buf = buf[:0]
	}
	return buf
}
