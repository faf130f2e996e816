package host

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator"
)

// testPlugin is the path of the testtranslator plugin binary built by TestMain.
var testPlugin string

// childEnv switches the test binary into "gateway" mode for TestPluginDiesWithGateway.
const childEnv = "HOST_TEST_CHILD_PLUGIN"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		runChildGateway(path)
		return
	}
	os.Exit(testtranslator.RunTests(m, &testPlugin))
}

// runChildGateway is a minimal gateway: it starts one plugin, prints its pid and waits to be
// killed.
func runChildGateway(path string) {
	h, err := New(Config{Plugins: map[string]PluginConfig{"acme": {Path: path}}}, zap.NewNop(), nil)
	if err == nil {
		err = h.Start(context.Background())
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	info := h.Translators()
	fmt.Println(info[0].PID)
	select {}
}

// fastConfig has supervisor timings short enough for tests, and a call time-out long enough
// that a loaded CI machine does not turn a slow answer into a failure.
func fastConfig(plugins map[string]PluginConfig) Config {
	return Config{
		Plugins:         plugins,
		CallTimeout:     10 * time.Second,
		PingInterval:    100 * time.Millisecond,
		HangAfter:       2,
		RestartMin:      10 * time.Millisecond,
		RestartMax:      100 * time.Millisecond,
		CrashLoopMax:    5,
		CrashLoopWindow: time.Minute,
	}
}

func mode(m testtranslator.Mode) PluginConfig {
	return PluginConfig{Path: testPlugin, Options: map[string]string{"mode": string(m)}}
}

// events records supervisor events.
type events struct {
	mu   sync.Mutex
	list []Event
	ch   chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 256)} }

func (e *events) record(ev Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
	e.ch <- ev
}

func (e *events) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.list...)
}

// waitFor returns the next event of kind, failing the test after d.
func (e *events) waitFor(t *testing.T, kind EventKind, d time.Duration) Event {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within %v; events: %+v", kind, d, e.all())
		}
	}
}

// startHost starts a host and stops it at the end of the test.
func startHost(t *testing.T, cfg Config, log *zap.Logger) (*Host, *events) {
	t.Helper()
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	ev := newEvents()
	h, err := New(cfg, log, ev.record)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h, ev
}

func mustGet(t *testing.T, h *Host, name string) Translator {
	t.Helper()
	tr, ok := h.Get(name)
	if !ok {
		t.Fatalf("translator %q not registered", name)
	}
	return tr
}

func info(t *testing.T, h *Host, name string) Info {
	t.Helper()
	for _, in := range h.Translators() {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("translator %q not listed", name)
	return Info{}
}

var pidAlive = testtranslator.Alive

func waitPidGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for pidAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after %v", pid, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var acmeBox = sdk.DeviceInfo{ID: "00D09E-TestBox-S1", Manufacturer: "Acme", OUI: "00D09E", ProductClass: "TestBox", SerialNumber: "S1", Root: "Device."}

func normalizeReq(params map[string]sdk.Value) sdk.NormalizeRequest {
	return sdk.NormalizeRequest{Device: acmeBox, Params: params}
}

// renamed serves a translator under another name (a second registration, or "standard").
type renamed struct {
	sdk.Translator
	name  string
	match []sdk.Match
}

func (r renamed) Describe() (sdk.Description, error) {
	d, err := r.Translator.Describe()
	d.Name, d.Match = r.name, r.match
	return d, err
}

// readLine reads the first line a child prints.
func readLine(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child printed nothing: %v", err)
	}
	return strings.TrimSpace(line)
}
