package sdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/internal/translatorv1"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/internal/wire"
)

var testPlugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sdk-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPlugin = filepath.Join(dir, "testplugin")
	out, err := exec.Command("go", "build", "-o", testPlugin,
		"github.com/cwmp2mqtt/cwmp2mqtt/plugins/internal/testtranslator/cmd/testplugin").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the test plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

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

func TestServeRefusesAManualStart(t *testing.T) {
	cmd := exec.Command(testPlugin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "This binary is a plugin") {
		t.Fatalf("manual start: %v\n%s", err, out)
	}
}

// TestServeExitsWhenParentDies starts a plugin under a shell (so no Pdeathsig is involved),
// SIGKILLs the shell and checks the orphaned plugin notices and exits.
func TestServeExitsWhenParentDies(t *testing.T) {
	sh := exec.Command("sh", "-c", `"$0" & echo "pid $!"; wait`, testPlugin)
	sh.Env = []string{"PATH=" + os.Getenv("PATH"), wire.Handshake.MagicCookieKey + "=" + wire.Handshake.MagicCookieValue}
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	pid, served := 0, false
	sc := bufio.NewScanner(out)
	for (pid == 0 || !served) && sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, _ = strconv.Atoi(p)
		} else if strings.HasPrefix(sc.Text(), "1|1|unix|") {
			served = true // the go-plugin handshake line: the plugin is serving
		}
	}
	if pid == 0 || !served {
		t.Fatalf("plugin did not start under the shell (pid %d, served %v)", pid, served)
	}
	if err := sh.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = sh.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("orphaned plugin %d still running", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive says whether pid runs (a zombie has exited).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
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
