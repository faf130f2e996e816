package sdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/translatorv1"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

func TestLoggerWritesHCLogJSON(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, slog.LevelDebug-4)
	log.Log(context.Background(), slog.LevelDebug-4, "fine detail")
	log.Debug("detail")
	log.Info("started", "radios", 2)
	log.Warn("odd value", "device", "00D09E-Box-1")
	log.Error("gave up")
	log.WithGroup("req").Info("grouped", "key", "v")

	wantLevels := []string{"trace", "debug", "info", "warn", "error", "info"}
	sc := bufio.NewScanner(&buf)
	for i := 0; sc.Scan(); i++ {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d is not JSON: %s", i, sc.Text())
		}
		if line["@level"] != wantLevels[i] {
			t.Errorf("line %d @level = %v, want %s", i, line["@level"], wantLevels[i])
		}
		// go-plugin parses exactly this layout; any other makes the line plain text.
		if ts, _ := line["@timestamp"].(string); ts == "" {
			t.Errorf("line %d has no @timestamp", i)
		} else if _, err := time.Parse(hclogTime, ts); err != nil {
			t.Errorf("line %d @timestamp %q: %v", i, ts, err)
		}
		if _, ok := line["@message"].(string); !ok {
			t.Errorf("line %d has no @message: %s", i, sc.Text())
		}
		if i == 3 && line["device"] != "00D09E-Box-1" {
			t.Errorf("attribute lost: %s", sc.Text())
		}
		if i == 5 && line["req"].(map[string]any)["key"] != "v" {
			t.Errorf("group lost: %s", sc.Text())
		}
	}
}

func TestLogLevelFollowsTheHost(t *testing.T) {
	for env, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug, "warn": slog.LevelWarn, "error": slog.LevelError, "trace": slog.LevelDebug - 4} {
		t.Setenv(wire.EnvLogLevel, env)
		if got := logLevel(); got != want {
			t.Errorf("%s=%q: level %v, want %v", wire.EnvLogLevel, env, got, want)
		}
	}
}

func TestOptionsComeFromTheEnvironment(t *testing.T) {
	t.Setenv("CWMP2MQTT_PLUGIN_OPT_REGION", "eu")
	t.Setenv("CWMP2MQTT_PLUGIN_OPT_INFORM_INTERVAL", "300")
	t.Setenv("CWMP2MQTT_PLUGIN_OPT_", "no key")
	opts := Options()
	if opts["region"] != "eu" || opts["inform_interval"] != "300" || len(opts) != 2 {
		t.Errorf("Options() = %v", opts)
	}
	if Option("Region") != "eu" || Option("missing") != "" {
		t.Errorf("Option: %q %q", Option("Region"), Option("missing"))
	}
}

// nanTranslator answers something with no wire form.
type nanTranslator struct{ Translator }

func (nanTranslator) Normalize(NormalizeRequest) (State, error) {
	return State{"x": math.NaN()}, nil
}

func (nanTranslator) Provision(ProvisionRequest) ([]RPC, error) {
	return []RPC{{Method: "Reboot", Args: map[string]any{"c": make(chan int)}}}, nil
}

func TestServerReportsUnencodableAnswersAsInternal(t *testing.T) {
	s := &server{impl: nanTranslator{}}
	_, err := s.Normalize(context.Background(), &pb.NormalizeRequest{})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), `key "x"`) {
		t.Errorf("NaN state: %v, want Internal naming the key", err)
	}
	_, err = s.Provision(context.Background(), &pb.ProvisionRequest{})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "rpc 0 (Reboot)") {
		t.Errorf("channel argument: %v, want Internal naming the RPC", err)
	}
	// A nil embedded Translator panics: the call fails, the process lives.
	_, err = s.ResolveGet(context.Background(), &pb.ResolveGetRequest{})
	if status.Code(err) != wire.CodeTranslatorError || !strings.Contains(err.Error(), "panic in ResolveGet") {
		t.Errorf("panic: %v", err)
	}
}
