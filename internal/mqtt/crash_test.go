package mqtt_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// The crash tests re-run this test binary as a child in one of these modes
// and SIGKILL it: a real crash, not a simulated one.
const (
	childModeEnv = "MQTT_TEST_CHILD"
	childURLEnv  = "MQTT_TEST_URL"
	childBaseEnv = "MQTT_TEST_BASE"
	childDBEnv   = "MQTT_TEST_DB"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childModeEnv) {
	case "gateway":
		childGateway()
	case "enqueue":
		childEnqueue()
	case "direct":
		childDirect()
	case "retained":
		childRetained()
	default:
		os.Exit(m.Run())
	}
}

// childGateway connects like the gateway does, announces online through the
// outbox, prints "online" once delivered and waits to be killed.
func childGateway() {
	_, c, ob := childClient("crash-child")
	c.OnConnect(func() { must(ob.Enqueue(c.StateTopic(), []byte(onlinePayload), true, 1)) })
	must(c.Start())
	must(ob.Start(c))
	for ob.Stats().Delivered == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Println("online")
	select {}
}

// childEnqueue enqueues from 4 goroutines and prints "ok <id>" after each
// Enqueue returns, until killed.
func childEnqueue() {
	db, err := bbolt.Open(os.Getenv(childDBEnv), 0o600, nil)
	must(err)
	ob, err := mqtt.OpenOutbox(db, mqtt.DefaultOutboxOptions(), zap.NewNop())
	must(err)
	var mu sync.Mutex
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				id := g*10_000_000 + i
				must(ob.Enqueue(fmt.Sprintf("gw/D%d/event", g), []byte(strconv.Itoa(id)), false, 1))
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ok %d\n", id)
				mu.Unlock()
			}
		}()
	}
	select {}
}

// childDirect publishes through a broker over the network from 8 goroutines, each message to a
// device of its own (so each may go directly), and prints "ok <id>" after each EnqueueBatch
// returns, until killed.
func childDirect() {
	cfg, c, ob := childClient("crash-direct")
	must(c.Start())
	must(ob.Start(c))
	must(c.WaitConnected(context.Background()))
	var mu sync.Mutex
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				id := g*10_000_000 + i
				topic := fmt.Sprintf("%s/D%d/event", cfg.BaseTopic, id)
				must(ob.EnqueueBatch(mqtt.Publish{Topic: topic, Payload: []byte(strconv.Itoa(id)), QoS: 1}))
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ok %d\n", id)
				mu.Unlock()
			}
		}()
	}
	select {}
}

// childClient opens the outbox of the child's store and a client of the broker it was given,
// neither started.
func childClient(clientID string) (mqtt.Config, *mqtt.Client, *mqtt.Outbox) {
	cfg := mqtt.DefaultConfig()
	cfg.URL, cfg.BaseTopic, cfg.ClientID = os.Getenv(childURLEnv), os.Getenv(childBaseEnv), clientID
	cfg.ReconnectMin, cfg.ReconnectMax = 20*time.Millisecond, 200*time.Millisecond
	db, err := bbolt.Open(os.Getenv(childDBEnv), 0o600, nil)
	must(err)
	ob, err := mqtt.OpenOutbox(db, mqtt.DefaultOutboxOptions(), zap.NewNop())
	must(err)
	c, err := mqtt.NewClient(cfg, zap.NewNop())
	must(err)
	return cfg, c, ob
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
}

// startChild runs the test binary in mode and returns its stdout lines.
func startChild(t *testing.T, mode string, env ...string) (*exec.Cmd, *bufio.Scanner, io.Closer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childModeEnv + "=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewScanner(out), out
}

// A gateway process killed with SIGKILL leaves the broker to publish the
// retained will: the platform sees {"state":"offline"}.
func TestWillPublishedWhenGatewayProcessIsKilled(t *testing.T) {
	eachBroker(t, func(t *testing.T, b brokerKind) {
		url, _, _ := b.start(t)
		base := "gw/crash"
		state := mqtt.Topics{Base: base}.BridgeState()
		sub := mqtttest.Subscribe(t, url, state)
		cmd, lines, _ := startChild(t, "gateway", childURLEnv+"="+url, childBaseEnv+"="+base,
			childDBEnv+"="+t.TempDir()+"/child.db")
		lineCh := make(chan string, 1)
		go func() {
			if lines.Scan() {
				lineCh <- lines.Text()
			}
			close(lineCh)
		}()
		select {
		case l := <-lineCh:
			if l != "online" {
				t.Fatalf("child said %q", l)
			}
		case <-time.After(waitLong):
			t.Fatal("child did not come online")
		}
		expectState(t, sub, onlinePayload)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		expectState(t, sub, mqtt.StatePayloadOffline)
		late := mqtttest.Subscribe(t, url, state)
		if m := late.Next(waitLong); !m.Retained || string(m.Payload) != mqtt.StatePayloadOffline {
			t.Errorf("retained state after the crash = %q (retained %v), want offline", m.Payload, m.Retained)
		}
	})
}

// A process SIGKILLed mid-enqueue leaves a bbolt file that reopens cleanly and
// holds every message whose Enqueue had returned.
func TestOutboxKilledMidEnqueueKeepsAcknowledged(t *testing.T) {
	path := t.TempDir() + "/crash.db"
	cmd, lines, out := startChild(t, "enqueue", childDBEnv+"="+path)
	// Keep reading while killing, so the child is busy enqueuing (not
	// blocked on a full pipe) when SIGKILL lands.
	acked := make(map[string]bool)
	killed := false
	for lines.Scan() {
		id, ok := strings.CutPrefix(lines.Text(), "ok ")
		if !ok {
			t.Fatalf("child said %q", lines.Text())
		}
		acked[id] = true
		if len(acked) >= 3000 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = out.Close()
	_ = cmd.Wait()
	if len(acked) < 3000 {
		t.Fatalf("child acknowledged only %d messages before dying", len(acked))
	}

	db := openDB(t, path)
	if err := db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("bbolt consistency check after SIGKILL: %v", err)
	}
	ob := openOutbox(t, db, mqtt.DefaultOutboxOptions())
	entries, err := mqtt.OutboxEntries(db)
	if err != nil {
		t.Fatal(err)
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[string(e.Payload)] = true
	}
	for id := range acked {
		if !present[id] {
			t.Fatalf("message %s was acknowledged by Enqueue but is missing after the crash", id)
		}
	}
	if q := ob.Stats().Queued; q != int64(len(entries)) {
		t.Errorf("Stats().Queued = %d, want %d", q, len(entries))
	}
	t.Logf("%d acknowledged before SIGKILL, %d on disk", len(acked), len(entries))
}

// A process SIGKILLed while direct publishes to a network broker await their acknowledgements
// (the broker stopped answering) loses nothing it acknowledged: what EnqueueBatch returned for
// was either acknowledged by the broker or committed, and reaches the platform after a restart.
func TestOutboxKilledAwaitingAckKeepsAcknowledged(t *testing.T) {
	eachBroker(t, func(t *testing.T, b brokerKind) {
		url, _, _ := b.start(t)
		proxy := mqtttest.StartProxy(t, url)
		base := "gw/killdirect"
		sub := mqtttest.Subscribe(t, url, base+"/+/event")
		path := t.TempDir() + "/direct.db"
		cmd, lines, out := startChild(t, "direct", childURLEnv+"="+proxy.URL(), childBaseEnv+"="+base, childDBEnv+"="+path)
		acked := make(map[string]bool)
		const direct, late = 2000, 40
		stalled, killed := false, false
		for lines.Scan() {
			id, ok := strings.CutPrefix(lines.Text(), "ok ")
			if !ok {
				t.Fatalf("child said %q", lines.Text())
			}
			acked[id] = true
			switch {
			case len(acked) == direct && !stalled:
				proxy.Stall() // publishes made from now on wait for acknowledgements that never come
				stalled = true
			case len(acked) == direct+late && !killed:
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		_ = out.Close()
		_ = cmd.Wait()
		if !killed {
			t.Fatalf("child acknowledged only %d messages before dying", len(acked))
		}
		proxy.Block()

		db := openDB(t, path)
		entries, err := mqtt.OutboxEntries(db)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) >= len(acked) {
			t.Errorf("%d entries on disk for %d acknowledged messages: none was published directly", len(entries), len(acked))
		}
		// Restart: the outbox delivers what was committed.
		cfg := testConfig(t, url)
		cfg.BaseTopic, cfg.ClientID = base, "crash-direct"
		c := startClient(t, cfg, nil)
		ob := openOutbox(t, db, mqtt.DefaultOutboxOptions())
		if err := ob.Start(c); err != nil {
			t.Fatal(err)
		}
		got := make(map[string]bool, len(acked))
		missing := func() int {
			n := 0
			for id := range acked {
				if !got[id] {
					n++
				}
			}
			return n
		}
		deadline := time.After(waitLong)
		for missing() > 0 {
			select {
			case m := <-sub.C:
				got[string(m.Payload)] = true
			case <-deadline:
				t.Fatalf("%d of %d messages acknowledged before SIGKILL never reached the platform (%d entries were on disk)",
					missing(), len(acked), len(entries))
			}
		}
		t.Logf("%d acknowledged before SIGKILL (%d after the broker stopped answering), %d of them on disk", len(acked), late, len(entries))
	})
}
