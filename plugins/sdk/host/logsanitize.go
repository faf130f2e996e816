package host

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// logLineMax is the longest plugin log line inspected whole; go-plugin reads with the same
// buffer (ClientConfig.PluginLogBufferSize).
const logLineMax = 64 << 10

// logSanitizer sits between a plugin's stderr and go-plugin. go-plugin type-asserts the
// "@message", "@level" and "@timestamp" fields of a JSON log line without checking, so a single
// line like {"@message":1} from a buggy plugin would panic the gateway. Such lines, and lines
// too long to inspect, are prefixed so go-plugin treats them as plain text.
type logSanitizer struct {
	src     io.Closer
	r       *bufio.Reader
	pending []byte
	midLine bool // inside a long line already passed on
	err     error
}

func newLogSanitizer(rc io.ReadCloser) *logSanitizer {
	return &logSanitizer{src: rc, r: bufio.NewReaderSize(rc, logLineMax)}
}

func (s *logSanitizer) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.fill()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *logSanitizer) Close() error { return s.src.Close() }

func (s *logSanitizer) fill() {
	line, err := s.r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		if !s.midLine {
			s.pending = append([]byte("[DEBUG] "), line...)
		} else {
			s.pending = append(s.pending[:0], line...)
		}
		s.midLine = true
		return
	case err != nil:
		s.err = err
	}
	if s.midLine {
		s.midLine = false
		s.pending = append(s.pending[:0], line...)
		return
	}
	s.pending = sanitizeLogLine(line)
}

// sanitizeLogLine returns line, prefixed with "[WARN] malformed plugin log: " when go-plugin
// would parse it as JSON and choke on the type of one of hclog's fields.
func sanitizeLogLine(line []byte) []byte {
	body := bytes.TrimSpace(line)
	if len(body) == 0 || body[0] != '{' {
		return append([]byte(nil), line...)
	}
	var fields map[string]any
	if json.Unmarshal(body, &fields) != nil {
		return append([]byte(nil), line...)
	}
	for _, k := range []string{"@message", "@level", "@timestamp"} {
		if v, ok := fields[k]; ok {
			if _, isString := v.(string); !isString {
				return append([]byte("[WARN] malformed plugin log: "), line...)
			}
		}
	}
	return append([]byte(nil), line...)
}
