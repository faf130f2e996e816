package main

// kill -9 of the gateway binary (docs/design.md §5: "a restart or a kill -9 loses no accepted request
// and no buffered message"): the real binary runs as a child process on a store in a temp dir
// and is SIGKILLed while requests wait in queues, tasks are in flight and the outbox holds what
// the broker never got; started again on the same store and ports, it must finish them all.

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
	bolt "go.etcd.io/bbolt"
)

// gatewayBin is the gateway binary TestMain builds once; buildErr says why there is none.
var (
	gatewayBin string
	buildErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cwmp2mqtt-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatewayBin, buildErr = buildGateway(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildGateway runs `go build` of this package from the module root; a failure fails only the
// tests that need the binary.
func buildGateway(dir string) (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cwmp2mqtt")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/cwmp2mqtt")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/cwmp2mqtt: %v\n%s", err, out)
	}
	return bin, nil
}

// crashGateway is the gateway binary running as a child process, configured by CWMP2MQTT_*
// variables only, restartable on the same store and ports.
type crashGateway struct {
	t      *testing.T
	env    []string
	ACSURL string
	Store  string
	acs    string // host:port

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    bytes.Buffer // every run's stderr
}

// startCrashGateway starts the binary on a free ACS port, a store in t.TempDir() and the given
// CWMP2MQTT_* overrides.
func startCrashGateway(t *testing.T, env map[string]string) *crashGateway {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	g := &crashGateway{t: t, Store: filepath.Join(t.TempDir(), "gw.db")}
	g.acs = net.JoinHostPort("127.0.0.1", strconv.Itoa(mqtttest.FreePort(t)))
	g.ACSURL = "http://" + g.acs + "/"
	e := map[string]string{
		"CWMP2MQTT_CWMP_LISTEN":    g.acs,
		"CWMP2MQTT_STORE_PATH":     g.Store,
		"CWMP2MQTT_MQTT_CLIENT_ID": "gw-" + strings.ReplaceAll(t.Name(), "/", "-"),
		"CWMP2MQTT_LOG_LEVEL":      "warn",
		"CWMP2MQTT_ADMIN_LISTEN":   "127.0.0.1:0",
	}
	for k, v := range env {
		e[k] = v
	}
	for _, kv := range os.Environ() { // the developer's own CWMP2MQTT_* must not leak in
		if !strings.HasPrefix(kv, "CWMP2MQTT_") {
			g.env = append(g.env, kv)
		}
	}
	for k, v := range e {
		g.env = append(g.env, k+"="+v)
	}
	t.Cleanup(func() {
		g.terminate()
		if t.Failed() {
			g.mu.Lock()
			t.Logf("gateway log:\n%s", g.log.String())
			g.mu.Unlock()
		}
	})
	g.start()
	return g
}

// start runs the binary and returns once the ACS accepts connections (it listens last, after
// the store, bridge and MQTT client are up).
func (g *crashGateway) start() {
	g.t.Helper()
	cmd := exec.Command(gatewayBin)
	cmd.Env = g.env
	cmd.Stdout, cmd.Stderr = g.writer(), g.writer()
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	g.cmd, g.exited = cmd, exited
	deadline := time.Now().Add(wait)
	for {
		select {
		case <-exited:
			g.t.Fatalf("gateway exited at start-up (%v):\n%s", cmd.ProcessState, g.logText())
		default:
		}
		if c, err := net.DialTimeout("tcp", g.acs, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("gateway did not listen on %s within %s:\n%s", g.acs, wait, g.logText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill is kill -9: no shutdown code runs, the store is left as the last commit made it.
func (g *crashGateway) kill() {
	g.t.Helper()
	if err := g.cmd.Process.Kill(); err != nil {
		g.t.Fatal(err)
	}
	<-g.exited
}

// terminate stops a running gateway with SIGTERM (graceful), SIGKILL if it hangs.
func (g *crashGateway) terminate() {
	if g.cmd == nil {
		return
	}
	select {
	case <-g.exited:
		return
	default:
	}
	_ = g.cmd.Process.Signal(os.Interrupt)
	select {
	case <-g.exited:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
}

type lockedWriter struct{ g *crashGateway }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	return w.g.log.Write(p)
}

func (g *crashGateway) writer() lockedWriter { return lockedWriter{g} }

func (g *crashGateway) logText() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.log.String()
}

// checkStore opens the store files of a dead gateway (the store and the devices' values beside
// it) and runs bbolt's consistency check over every page: a torn write would show here.
func checkStore(t *testing.T, path string) {
	t.Helper()
	checkFile(t, path, "devices", "tasks", "outbox")
	checkFile(t, valuesFile(path), "params", "state")
}

func checkFile(t *testing.T, path string, buckets ...string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("%s does not reopen after kill -9: %v", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("%s corrupt after kill -9: %v", path, err)
		}
		for _, b := range buckets {
			if tx.Bucket([]byte(b)) == nil {
				t.Errorf("%s lost its %q bucket", path, b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCrashKeepsQueuedTasksAndOutbox kills the gateway binary with requests queued for a CPE
// that cannot be woken, a Reboot and a GetParameterValues in flight, and the outbox holding a
// fleet's informs the broker never got (the gateway's network to the broker is down). Started
// again on the same store: the queued requests run in order once the CPE informs, the in-flight
// GetParameterValues is re-run (idempotent), the in-flight Reboot ends `timeout` (it may have
// happened; it is never run twice), and every message the killed gateway had accepted arrives.
func TestCrashKeepsQueuedTasksAndOutbox(t *testing.T) {
	for _, b := range externalBrokers {
		t.Run(b.name, func(t *testing.T) {
			url, _, _ := b.start(t)
			testCrash(t, url)
		})
	}
}

func testCrash(t *testing.T, brokerURL string) {
	proxy := mqtttest.StartProxy(t, brokerURL)
	env := requestEnv()
	env["CWMP2MQTT_MQTT_URL"] = proxy.URL()
	pf := newPlatform(t, brokerURL, "cwmp2mqtt/#") // first: see testOutage on mochi's retained race
	gw := startCrashGateway(t, env)
	pf.await("cwmp2mqtt/bridge/state", map[string]any{"state": "online"}, wait)

	trR, trG := newHoldTransport(), newHoldTransport()
	q := startReadyCPE(t, gw.ACSURL, pf, "CRASHQ", nil)
	r := startReadyCPE(t, gw.ACSURL, pf, "CRASHR", trR)
	g := startReadyCPE(t, gw.ACSURL, pf, "CRASHG", trG)
	rpc := func(c *simCPE, payload string) { pf.publish("cwmp2mqtt/"+c.ID+"/rpc", payload) }
	result := func(c *simCPE) string { return "cwmp2mqtt/" + c.ID + "/rpc/result" }

	// Queued: q cannot be woken; two idempotent requests and an AddObject wait for it.
	q.SetMuted(true)
	queued := []string{"q-1", "q-2", "q-3"}
	rpc(q, `{"id":"q-1","method":"GetParameterValues","args":{"names":["`+pSoftware+`"]},"expires":120}`)
	rpc(q, `{"id":"q-2","method":"SetParameterValues","args":{"parameters":[["`+pPortalPC+`","http://q-2","xsd:string"]]},"expires":120}`)
	rpc(q, `{"id":"q-3","method":"AddObject","args":{"object":"`+igd+`WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.PortMapping."},"expires":120}`)
	for _, id := range queued {
		pf.await(result(q), map[string]any{"id": id, "status": "accepted"}, wait)
	}
	// In flight: the CPEs executed the RPCs, their answers are held on the way back.
	hdR := trR.arm(t, "RebootResponse")
	rpc(r, `{"id":"r-1","method":"Reboot","args":{"command_key":"crash"},"expires":120}`)
	hdG := trG.arm(t, "GetParameterValuesResponse", pProvCode)
	rpc(g, `{"id":"g-1","method":"GetParameterValues","args":{"names":["`+pProvCode+`"]},"expires":120}`)
	hdR.wait(t)
	hdG.wait(t)

	// Undelivered: the gateway's network to the broker goes down, a fleet bootstraps and
	// informs every 200 ms; all of it waits in the outbox.
	proxy.Block()
	f := startFleet(t, gw.ACSURL, 4, "CRASHF", 200*time.Millisecond, nil)
	f.waitSessions(t, time.Time{}, 3)

	killAt := time.Now()
	gw.kill()
	var sessions []sim.SessionResult // ground truth: sessions over before the kill
	for _, s := range f.rec.Sessions() {
		if s.Start.Add(s.Duration).Before(killAt) {
			sessions = append(sessions, s)
		}
	}
	checkStore(t, gw.Store)

	gw.start()
	hdR.Release() // the answers now reach a gateway that never sent those requests
	hdG.Release()
	for _, c := range []*simCPE{q, r, g} {
		c.Inform(sim.EventPeriodic, "")
	}
	replayFrom := pf.total()
	proxy.Unblock()

	for _, id := range queued {
		pf.await(result(q), map[string]any{"id": id, "status": "done"}, wait)
	}
	pf.await(result(g), map[string]any{"id": "g-1", "status": "done"}, wait)
	to := pf.await(result(r), map[string]any{"id": "r-1", "status": "timeout"}, wait)
	if reason, _ := to["error"].(string); !strings.Contains(reason, "Reboot") || !strings.Contains(reason, "not re-run") {
		t.Errorf("in-flight Reboot after the crash: reason %q should say it is not re-run", reason)
	}

	// The queued requests ran in order, once each.
	var ran []string
	for _, e := range q.rec.RPCs() {
		switch {
		case e.Method == "GetParameterValues" && only(e.Names, pSoftware):
			ran = append(ran, "q-1")
		case e.Method == "SetParameterValues" && only(e.Names, pPortalPC):
			ran = append(ran, "q-2")
		case e.Method == "AddObject":
			ran = append(ran, "q-3")
		}
	}
	if strings.Join(ran, ",") != strings.Join(queued, ",") {
		t.Errorf("queued requests executed as %v, want %v once each", ran, queued)
	}
	if q.value(t, pPortalPC) != "http://q-2" {
		t.Errorf("q-2 did not change the CPE")
	}
	gpvs := 0
	for _, e := range g.rec.RPCs() {
		if e.Method == "GetParameterValues" && only(e.Names, pProvCode) {
			gpvs++
		}
	}
	if gpvs != 2 {
		t.Errorf("the in-flight GetParameterValues ran %d times, want 2 (before the kill, and re-run after)", gpvs)
	}
	reboots := 0
	for _, e := range r.rec.RPCs() {
		if e.Method == "Reboot" {
			reboots++
		}
	}
	if reboots != 1 {
		t.Errorf("the in-flight Reboot was sent %d times, want 1", reboots)
	}

	// Every message of a session over before the kill arrives: no gap, in order.
	f.awaitInforms(t, pf, sessions)
	f.Stop()
	deliveryCheck{t: t, pf: pf, f: f, sessions: sessions, before: killAt, replayFrom: replayFrom, maxExtra: 1}.run()
	for _, c := range []*simCPE{q, r, g} {
		for _, id := range append(queued, "r-1", "g-1") {
			if ts := terminals(pf, result(c), id); len(ts) > 1 {
				t.Errorf("%s: %d terminal results", id, len(ts))
			}
		}
	}
	pf.barrier(t)
	if st := pf.messages("cwmp2mqtt/bridge/state"); !strings.Contains(string(st[len(st)-1].Payload), `"online"`) {
		t.Errorf("bridge/state after the restart is not online:\n%s", pf.dump("cwmp2mqtt/bridge/state"))
	}
}

// only: names is exactly [name] (the gateway's own state reads name many parameters at once).
func only(names []string, name string) bool { return len(names) == 1 && names[0] == name }

// TestCrashStoreSurvivesKillUnderLoad kills the gateway three times while a dozen CPEs inform
// back to back (registry writes, outbox commits and deletes all under way): each time the store
// must pass bbolt's check and the gateway must start on it; in the end every device is still
// registered and every Inform of a session the CPE saw succeed reached the platform.
func TestCrashStoreSurvivesKillUnderLoad(t *testing.T) {
	url, _, _ := mqtttest.StartEmbedded(t)
	pf := newPlatform(t, url, "cwmp2mqtt/#")
	gw := startCrashGateway(t, map[string]string{"CWMP2MQTT_MQTT_URL": url})
	f := startFleet(t, gw.ACSURL, 12, "LOAD", 20*time.Millisecond, nil)

	const kills = 3
	for i := range kills {
		since := time.Now()
		eventually(t, "sessions under way", func() bool {
			n := 0
			for _, s := range f.rec.Sessions() {
				if s.Err == nil && s.Start.After(since) {
					n++
				}
			}
			return n >= 150
		})
		gw.kill()
		checkStore(t, gw.Store)
		gw.start()
		t.Logf("kill %d/%d: store checked, gateway restarted", i+1, kills)
	}
	f.waitSessions(t, time.Now(), 2)
	f.Stop()

	pf.publish("cwmp2mqtt/bridge/request/list_devices", `{"transaction":"after-kills"}`)
	resp := pf.await("cwmp2mqtt/bridge/response/list_devices", map[string]any{"transaction": "after-kills"}, wait)
	listed := map[string]bool{}
	if list, ok := resp["data"].([]any); ok {
		for _, d := range list {
			if m, ok := d.(map[string]any); ok {
				listed[fmt.Sprint(m["id"])] = true
			}
		}
	}
	for sn, id := range f.ids {
		if !listed[id] {
			t.Errorf("%s (%s) is not registered after the kills: %v", sn, id, resp["data"])
		}
	}

	sessions := f.rec.Sessions()
	f.awaitInforms(t, pf, sessions)
	// After a crash, duplicates may also be acknowledged entries whose batched delete was not
	// committed (mqtt package doc): no bound on where their first copy arrived.
	dups := deliveryCheck{t: t, pf: pf, f: f, sessions: sessions, replayFrom: math.MaxInt, maxExtra: -1}.run()
	t.Logf("%d sessions across %d kills; %d duplicates on device topics", len(sessions), kills, dups)
}
