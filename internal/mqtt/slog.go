package mqtt

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// slogHandler routes mochi-mqtt's log/slog records into zap (zap's exp/zapslog
// is a separate module; this small handler avoids the dependency).
type slogHandler struct {
	log    *zap.Logger
	prefix string // open groups, "a.b."
}

func newSlogHandler(log *zap.Logger) *slogHandler { return &slogHandler{log: log} }

func zapLevel(l slog.Level) zapcore.Level {
	switch {
	case l >= slog.LevelError:
		return zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		return zapcore.WarnLevel
	case l >= slog.LevelInfo:
		return zapcore.InfoLevel
	default:
		return zapcore.DebugLevel
	}
}

func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.Core().Enabled(zapLevel(l))
}

// msgConnectionEnded replaces the empty message mochi logs when a client
// connection ends (listeners' establish errors).
const msgConnectionEnded = "client connection ended"

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	level, msg := zapLevel(r.Level), r.Message
	if msg == "" {
		msg = msgConnectionEnded
		// A client hanging up is routine; auth failures and the like are not.
		r.Attrs(func(a slog.Attr) bool {
			if err, ok := a.Value.Any().(error); ok && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)) {
				level = zapcore.DebugLevel
			}
			return true
		})
	}
	ce := h.log.Check(level, msg)
	if ce == nil {
		return nil
	}
	fields := make([]zap.Field, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		fields = h.appendAttr(fields, h.prefix, a)
		return true
	})
	ce.Write(fields...)
	return nil
}

func (h *slogHandler) appendAttr(fields []zap.Field, prefix string, a slog.Attr) []zap.Field {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return fields
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			fields = h.appendAttr(fields, p, g)
		}
		return fields
	}
	key := prefix + a.Key
	switch a.Value.Kind() {
	case slog.KindString:
		return append(fields, zap.String(key, a.Value.String()))
	case slog.KindInt64:
		return append(fields, zap.Int64(key, a.Value.Int64()))
	case slog.KindUint64:
		return append(fields, zap.Uint64(key, a.Value.Uint64()))
	case slog.KindBool:
		return append(fields, zap.Bool(key, a.Value.Bool()))
	case slog.KindDuration:
		return append(fields, zap.Duration(key, a.Value.Duration()))
	case slog.KindTime:
		return append(fields, zap.Time(key, a.Value.Time()))
	case slog.KindFloat64:
		return append(fields, zap.Float64(key, a.Value.Float64()))
	}
	if err, ok := a.Value.Any().(error); ok {
		return append(fields, zap.NamedError(key, err))
	}
	return append(fields, zap.Any(key, a.Value.Any()))
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var fields []zap.Field
	for _, a := range attrs {
		fields = h.appendAttr(fields, h.prefix, a)
	}
	return &slogHandler{log: h.log.With(fields...), prefix: h.prefix}
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &slogHandler{log: h.log, prefix: h.prefix + strings.TrimSuffix(name, ".") + "."}
}
