package mqtt_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/boltmap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// startFileBroker starts the embedded broker with its retained messages in file, logging to an
// observer as well as the test.
func startFileBroker(t *testing.T, file string) (*mqtt.Broker, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(zapcore.NewTee(logger(t).Core(), core))
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0", RetainedFile: file}, log)
	if err != nil {
		t.Fatal(err)
	}
	return b, logs
}

// retainedSeen subscribes filter on a new connection and returns "topic=payload" of every
// retained message the broker sends for it, sorted; it waits until no more arrive.
func retainedSeen(t *testing.T, url, filter string) []string {
	t.Helper()
	s := mqtttest.Subscribe(t, url, filter)
	var got []string
	for {
		select {
		case m := <-s.C:
			if !m.Retained {
				t.Errorf("%s: a message that is not retained on subscribe: %s", filter, m.Topic)
			}
			got = append(got, m.Topic+"="+string(m.Payload))
		case <-time.After(300 * time.Millisecond): // SUBACK is in: retained messages follow it at once
			sort.Strings(got)
			return got
		}
	}
}

func wantSeen(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// Retained semantics hold with the messages in a file, whether a message is already written or
// still waits for the next flush: a wildcard subscription gets every match, an empty payload
// deletes, a replacement keeps the newest; as well through the gateway's in-process publish as
// through a network client.
func TestFileRetainedMessagesKeepMQTTSemanticsBeforeAndAfterTheirFlush(t *testing.T) {
	b, _ := startFileBroker(t, filepath.Join(t.TempDir(), "retained.db"))
	t.Cleanup(func() { _ = b.Close() })
	// The publisher subscribes to everything: mochi acks a network client's QoS 1 PUBLISH before
	// it hands the message to the subscribers, so a subscriber arriving right after the ack could
	// get the message live as well as retained. Seeing its own last message come back proves the
	// broker has handed over everything it sent (one client's PUBLISHes are processed in order).
	pub := mqtttest.Subscribe(t, b.URL(), "#")
	pub.Publish("gw/d1/state", []byte("s1"), true)
	pub.Publish("gw/d1/info", []byte("i1"), true)
	pub.Publish("gw/d2/state", []byte("s2"), true)
	if err := b.PublishInlineForTest("gw/d3/state", []byte("s3"), true, 1); err != nil {
		t.Fatal(err)
	}
	pub.Publish("other/x", []byte("x"), true)
	pub.WaitFor("other/x", 10*time.Second)
	b.FlushRetained()
	if n := b.RetainedPending(); n != 0 {
		t.Fatalf("%d messages still pending after a flush", n)
	}
	// Now change written messages while the changes are pending.
	pub.Publish("gw/d1/state", []byte("s1b"), true) // replaces a written one
	pub.Publish("gw/d2/state", nil, true)           // deletes a written one
	pub.Publish("gw/d4/state", []byte("s4"), true)  // new, pending
	pub.Publish("gw/d4/state", []byte("s4b"), true) // replaces a pending one
	for m := pub.WaitFor("gw/d4/state", 10*time.Second); string(m.Payload) != "s4b"; m = pub.WaitFor("gw/d4/state", 10*time.Second) {
	}
	if err := b.PublishInlineForTest("gw/d5/state", []byte("s5"), true, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.PublishInlineForTest("gw/d5/state", nil, true, 1); err != nil { // deletes a pending one
		t.Fatal(err)
	}
	if b.RetainedPending() == 0 {
		t.Fatal("nothing pending: the test would not cover reads that merge pending writes")
	}
	want := []string{"gw/d1/state=s1b", "gw/d3/state=s3", "gw/d4/state=s4b"}
	for round, flush := range []bool{false, true} {
		if flush {
			b.FlushRetained()
		}
		wantSeen(t, fmt.Sprintf("round %d: gw/+/state", round), retainedSeen(t, b.URL(), "gw/+/state"), want...)
		wantSeen(t, fmt.Sprintf("round %d: gw/#", round), retainedSeen(t, b.URL(), "gw/#"),
			append(want, "gw/d1/info=i1")...)
		wantSeen(t, fmt.Sprintf("round %d: #", round), retainedSeen(t, b.URL(), "#"),
			append(want, "gw/d1/info=i1", "other/x=x")...)
		wantSeen(t, fmt.Sprintf("round %d: gw/d4/state", round), retainedSeen(t, b.URL(), "gw/d4/state"), "gw/d4/state=s4b")
		wantSeen(t, fmt.Sprintf("round %d: gw/d2/state", round), retainedSeen(t, b.URL(), "gw/d2/state"))
		wantSeen(t, fmt.Sprintf("round %d: gw/d1/+", round), retainedSeen(t, b.URL(), "gw/d1/+"), "gw/d1/info=i1", "gw/d1/state=s1b")
	}
}

// The retained messages survive a clean restart of the broker: a new subscriber gets them from
// the file, nobody publishing them again, and the broker says it kept them (with the tag the
// gateway set), so that the gateway can skip its republication.
func TestFileRetainedMessagesSurviveACleanRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	b, _ := startFileBroker(t, file)
	if _, kept := b.RetainedKept(); kept {
		t.Fatal("a new file reported as kept")
	}
	for i := range 50 {
		if err := b.PublishInlineForTest(fmt.Sprintf("gw/d%d/state", i), []byte(strconv.Itoa(i)), true, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PublishInlineForTest("gw/d7/state", nil, true, 1); err != nil {
		t.Fatal(err)
	}
	b.SetRetainedTag("v1 translators")
	if err := b.Close(); err != nil { // its last writes still pending: Close writes them
		t.Fatal(err)
	}

	b, logs := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	if tag, kept := b.RetainedKept(); !kept || tag != "v1 translators" {
		t.Fatalf("RetainedKept() = %q, %v; want the tag of the clean shutdown, true", tag, kept)
	}
	if logs.FilterMessage("retained messages kept from the last clean shutdown").Len() != 1 {
		t.Error("no log line says the retained messages were kept")
	}
	got := retainedSeen(t, b.URL(), "gw/+/state")
	if len(got) != 49 {
		t.Fatalf("after the restart a subscriber got %d retained states, want 49: %v", len(got), got)
	}
	for _, m := range got {
		if m == "gw/d7/state=7" {
			t.Fatal("a retained message deleted before the restart came back")
		}
	}
	// The next start, after this one, is not clean unless this one closes cleanly too.
	if _, kept := b.RetainedKept(); !kept {
		t.Fatal("RetainedKept changed while running")
	}
}

// A broker killed with SIGKILL while it writes retained messages leaves a file without its
// clean-shutdown mark: the next start discards it (the gateway then publishes every device's
// retained topics again) and says why; nothing half-written is served.
func TestFileRetainedMessagesDiscardedAfterKill(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	child, lines, _ := startChild(t, "retained", childDBEnv+"="+file)
	seen := 0
	for lines.Scan() && seen < 2000 { // well past several flushes
		if strings.HasPrefix(lines.Text(), "ok ") {
			seen++
		}
	}
	if seen < 2000 {
		t.Fatalf("child stopped after %d publishes", seen)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if st, err := os.Stat(file); err != nil || st.Size() == 0 {
		t.Fatalf("the child wrote no file: %v", err)
	}

	b, logs := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	if _, kept := b.RetainedKept(); kept {
		t.Fatal("a file left by a killed broker reported as kept")
	}
	if l := logs.FilterMessage("retained-message file discarded: every device's retained topics are published again").All(); len(l) != 1 ||
		!strings.Contains(l[0].ContextMap()["reason"].(string), "without a clean shutdown") {
		t.Fatalf("discard log lines: %v", l)
	}
	wantSeen(t, "retained after the discard", retainedSeen(t, b.URL(), "#"))
	if err := b.PublishInlineForTest("gw/new/state", []byte("n"), true, 1); err != nil {
		t.Fatal(err)
	}
	wantSeen(t, "a new message after the discard", retainedSeen(t, b.URL(), "#"), "gw/new/state=n")
}

// childRetained runs a broker on a retained-message file and publishes retained messages to
// 100 topics in a loop, printing "ok <n>" after each, until killed.
func childRetained() {
	b, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0", RetainedFile: os.Getenv(childDBEnv)}, zap.NewNop())
	must(err)
	for i := 0; ; i++ {
		must(b.PublishInlineForTest(fmt.Sprintf("gw/d%d/state", i%100), []byte(strings.Repeat("x", 1000)+strconv.Itoa(i)), true, 1))
		fmt.Printf("ok %d\n", i)
	}
}

// A file that is not a bbolt file (a disk error, a wrong path) is discarded with a log line
// naming it, and the broker starts empty.
func TestCorruptRetainedFileIsDiscarded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	if err := os.WriteFile(file, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	wantDiscardedAsUnreadable(t, file)
}

// wantDiscardedAsUnreadable starts a broker on file and checks that it discards the file with
// a warning naming it, reports nothing kept (the gateway then publishes every device's retained
// topics again) and serves new retained messages.
func wantDiscardedAsUnreadable(t *testing.T, file string) {
	t.Helper()
	b, logs := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	l := logs.FilterMessage("retained-message file unreadable; discarded: every device's retained topics are published again").All()
	if len(l) != 1 || l[0].ContextMap()["file"] != file || l[0].Level != zapcore.WarnLevel {
		t.Fatalf("log lines about the corrupt file: %v", l)
	}
	if _, kept := b.RetainedKept(); kept {
		t.Fatal("a corrupt file reported as kept")
	}
	if err := b.PublishInlineForTest("gw/d/state", []byte("s"), true, 1); err != nil {
		t.Fatal(err)
	}
	wantSeen(t, "the broker serves retained messages after the discard", retainedSeen(t, b.URL(), "gw/#"), "gw/d/state=s")
}

// A second broker on a file in use fails with an error naming the file; it does not discard
// the first one's messages.
func TestRetainedFileInUseIsNotDiscarded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	b, _ := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	if err := b.PublishInlineForTest("gw/d/state", []byte("s"), true, 1); err != nil {
		t.Fatal(err)
	}
	b.FlushRetained()
	_, err := mqtt.StartBroker(mqtt.BrokerOptions{Listen: "127.0.0.1:0", RetainedFile: file}, logger(t))
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("second broker on the same file: %v; want an error naming the file", err)
	}
	wantSeen(t, "the first broker's messages", retainedSeen(t, b.URL(), "gw/#"), "gw/d/state=s")
}

// A file torn by a power loss (it is written without fsync, and its clean mark was cleared at
// open) is discarded from its mark alone: opening it for writing would rebuild its freelist
// from every page, and bbolt panics on a garbage page, which would stop the gateway at every
// start.
func TestTornRetainedFileIsDiscardedWithoutReadingItsPages(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	b, _ := startFileBroker(t, live)
	t.Cleanup(func() { _ = b.Close() })
	for i := range 2000 {
		if err := b.PublishInlineForTest(fmt.Sprintf("gw/d%d/state", i), []byte(strings.Repeat("s", 1500)), true, 1); err != nil {
			t.Fatal(err)
		}
	}
	b.FlushRetained()
	data, err := os.ReadFile(live) // what a power loss leaves: no clean mark
	if err != nil {
		t.Fatal(err)
	}
	root := int(binary.LittleEndian.Uint64(newestMeta(data)[32:])) // the buckets' page, where the mark is
	for i := len(data) / 4; i < len(data)*3/4; i++ {               // pages of the messages, not the meta pages
		if i/4096 != root {
			data[i] = 0xA5
		}
	}
	torn := filepath.Join(dir, "torn.db")
	if err := os.WriteFile(torn, data, 0o600); err != nil {
		t.Fatal(err)
	}
	b2, logs := startFileBroker(t, torn)
	t.Cleanup(func() { _ = b2.Close() })
	if l := logs.FilterMessage("retained-message file discarded: every device's retained topics are published again").All(); len(l) != 1 {
		t.Fatalf("discard log lines: %v", l)
	}
	wantSeen(t, "retained after the discard", retainedSeen(t, b2.URL(), "gw/#"))
}

// fillRetainedFile publishes n retained states of size bytes to a new broker on file and closes
// it cleanly.
func fillRetainedFile(t *testing.T, file string, n, size int, before func(*mqtt.Broker)) {
	t.Helper()
	b, _ := startFileBroker(t, file)
	for i := range n {
		if err := b.PublishInlineForTest(fmt.Sprintf("gw/d%d/state", i), fillPayload(i, size), true, 1); err != nil {
			t.Fatal(err)
		}
	}
	if before != nil {
		before(b)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// fillPayload is device i's state in fillRetainedFile: size random bytes, which do not compress,
// so that the file has the size the tests mean.
func fillPayload(i, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), uint64(size)))
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	return b
}

// A clean restart reads none of the retained messages that cannot expire (the gateway's never
// do): the broker's start used to read every one to index their expiry, which made a 422 MB
// file resident at 100,000 devices. One that carries an MQTT 5 expiry is read, indexed and
// expires after the restart.
func TestCleanRestartReadsOnlyTheRetainedMessagesThatCanExpire(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	fillRetainedFile(t, file, 3000, 100, func(b *mqtt.Broker) {
		b.RetainV5ForTest("gw/expiring", []byte("e"), time.Now().Unix()+2)
	})
	b, _ := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	if _, kept := b.RetainedKept(); !kept {
		t.Fatal("a cleanly closed file not kept")
	}
	if n := b.RetainedDecodes(); n != 1 {
		t.Fatalf("the start read %d retained messages from the file, want 1 (the one that can expire)", n)
	}
	wantSeen(t, "a device's state after the restart", retainedSeen(t, b.URL(), "gw/d2999/state"), "gw/d2999/state="+string(fillPayload(2999, 100)))
	waitExpired(t, b.URL(), "gw/expiring")
}

// mappedKB is how much of file this process has mapped and resident.
func mappedKB(t *testing.T, file string) int {
	t.Helper()
	n, err := boltmap.Resident(file)
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	return int(n >> 10)
}

// A clean restart maps few pages of the retained-message file: bbolt rebuilt the freelist of a
// file written without one (NoFreelistSync) by visiting every page, which made the whole file
// resident at start; the clean close now writes the freelist for the next open.
func TestCleanRestartLeavesTheRetainedFileMostlyUnread(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	fillRetainedFile(t, file, 4000, 1500, nil)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	if _, kept := b.RetainedKept(); !kept {
		t.Fatal("a cleanly closed file not kept")
	}
	if kb, fileKB := mappedKB(t, file), int(st.Size()/1024); kb*4 > fileKB {
		t.Fatalf("after the start %d KB of the %d KB file are resident, want under a quarter", kb, fileKB)
	}
}

// A cleanly closed file whose pages a disk corrupted afterwards makes bbolt panic where the start
// reads it: the file is discarded as unreadable, the broker starts without it (the gateway then
// publishes every device's retained topics again) and serves new retained messages.
func TestCleanlyClosedRetainedFileWithCorruptPagesIsDiscarded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	fillRetainedFile(t, file, 2000, 1500, nil)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	freelist := int(binary.LittleEndian.Uint64(newestMeta(data)[48:]))
	if freelist < 2 || (freelist+1)*page > len(data) {
		t.Fatalf("the clean close wrote no freelist (page %d)", freelist)
	}
	for i := freelist * page; i < (freelist+1)*page; i++ { // the page the start reads after the mark
		data[i] = 0xA5
	}
	for i := len(data) / 4; i < len(data)*3/4; i++ { // and pages of the messages
		data[i] = 0xA5
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	wantDiscardedAsUnreadable(t, file)
}

// A cleanly closed file that an earlier version of the gateway wrote (it did not list the
// expiring messages nor index the topics by last level, or left those lists stale) is kept: its
// first start builds both again, reading every message this once; the messages still expire,
// and a filter with a literal last level finds every match, the earlier version's too.
func TestRetainedFileOfAnEarlierVersionIsKeptAndItsListsRebuilt(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	fillRetainedFile(t, file, 100, 100, func(b *mqtt.Broker) {
		b.RetainV5ForTest("gw/expiring", []byte("e"), time.Now().Unix()+2)
	})
	db, err := bbolt.Open(file, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { // what an earlier version leaves
		if err := tx.DeleteBucket([]byte("expiring")); err != nil { // a file of its own: no lists
			return err
		}
		meta := tx.Bucket([]byte("meta")) // its clean mark, under the key it wrote
		if err := meta.Put([]byte("clean"), bytes.Clone(meta.Get([]byte("clean.2")))); err != nil {
			return err
		}
		if err := meta.Delete([]byte("clean.2")); err != nil {
			return err
		}
		data := tx.Bucket([]byte("retained")) // a topic it added to a file of ours: bylast stale
		return data.Put([]byte("gw/old/state"), bytes.Clone(data.Get([]byte("gw/d1/state"))))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	if _, kept := b.RetainedKept(); !kept {
		t.Fatal("a cleanly closed file without the list not kept")
	}
	wantSeen(t, "a device's state after the restart", retainedSeen(t, b.URL(), "gw/d99/state"), "gw/d99/state="+string(fillPayload(99, 100)))
	if got := retainedSeen(t, b.URL(), "gw/+/state"); len(got) != 101 || !slices.Contains(got, "gw/old/state="+string(fillPayload(1, 100))) {
		t.Fatalf("gw/+/state after the restart: %d messages, want 101 with gw/old/state", len(got))
	}
	waitExpired(t, b.URL(), "gw/expiring")
}

// waitExpired waits until the broker no longer holds a retained message on topic.
func waitExpired(t *testing.T, url, topic string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(retainedSeen(t, url, topic)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s, kept across the restart, was not deleted at its expiry", topic)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// After a clean restart, the gateway's own subscriptions (B/+/rpc, B/+/set, B/+/get) read few
// pages of the file: the file store walked every key under B/ (every device's state, info and
// availability) for each, making the whole file resident at every (re)connect. A retained
// message on such a topic is still delivered, and one deleted before the restart is not.
func TestSubscriptionWithALiteralLastLevelLeavesTheRetainedFileMostlyUnread(t *testing.T) {
	file := filepath.Join(t.TempDir(), "retained.db")
	fillRetainedFile(t, file, 4000, 1500, func(b *mqtt.Broker) {
		for _, m := range [][2]string{{"gw/d5/rpc", "r5"}, {"gw/d6/rpc", "r6"}, {"gw/x/y/rpc", "deep"}} {
			if err := b.PublishInlineForTest(m[0], []byte(m[1]), true, 1); err != nil {
				t.Fatal(err)
			}
		}
		b.FlushRetained()
		if err := b.PublishInlineForTest("gw/d6/rpc", nil, true, 1); err != nil {
			t.Fatal(err)
		}
	})
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	wantSeen(t, "gw/+/rpc after the restart", retainedSeen(t, b.URL(), "gw/+/rpc"), "gw/d5/rpc=r5")
	wantSeen(t, "gw/+/set", retainedSeen(t, b.URL(), "gw/+/set"))
	wantSeen(t, "gw/+/+/rpc", retainedSeen(t, b.URL(), "gw/+/+/rpc"), "gw/x/y/rpc=deep")
	if kb, fileKB := mappedKB(t, file), int(st.Size()/1024); kb*4 > fileKB {
		t.Fatalf("after the subscriptions %d KB of the %d KB file are resident, want under a quarter", kb, fileKB)
	}
	if err := b.PublishInlineForTest("gw/d7/rpc", []byte("r7"), true, 1); err != nil {
		t.Fatal(err)
	}
	b.FlushRetained()
	wantSeen(t, "gw/+/rpc after a new one", retainedSeen(t, b.URL(), "gw/+/rpc"), "gw/d5/rpc=r5", "gw/d7/rpc=r7")
}

// newestMeta is the meta page of a bbolt file (4 KB pages) that bbolt uses: of the two, the one
// with the higher transaction id. Its root page id is at 32, its freelist's at 48.
func newestMeta(data []byte) []byte {
	const page = 4096
	meta := data[0:page]
	if m1 := data[page : 2*page]; binary.LittleEndian.Uint64(m1[64:]) > binary.LittleEndian.Uint64(meta[64:]) {
		meta = m1
	}
	return meta
}

// The devices' states, JSON of a few kilobytes, are kept compressed in the file (under half their
// size: the file and the page cache its writes fill shrink with them), short
// payloads as they are; subscribers get every payload back byte for byte after a clean restart,
// through a wildcard and a single topic. The mark of the clean close is not the one earlier
// versions read: they could not read a compressed payload, so they discard the file instead.
func TestRetainedStatesAreCompressedInTheirFile(t *testing.T) {
	golden, err := os.ReadFile("../../plugins/sdk/standard/testdata/golden/huawei-bm632w-tr098.json")
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, golden); err != nil {
		t.Fatal(err)
	}
	state := func(i int) string { // each device's state differs, as real ones do
		return strings.Replace(compact.String(), `"device.serial":"0"`, fmt.Sprintf(`"device.serial":"SN%06d"`, i), 1)
	}
	file := filepath.Join(t.TempDir(), "retained.db")
	b, _ := startFileBroker(t, file)
	const n = 300
	var want []string
	for i := range n {
		for _, m := range [][2]string{{fmt.Sprintf("gw/d%d/state", i), state(i)}, {fmt.Sprintf("gw/d%d/availability", i), `{"state":"online"}`}} {
			if err := b.PublishInlineForTest(m[0], []byte(m[1]), true, 1); err != nil {
				t.Fatal(err)
			}
			want = append(want, m[0]+"="+m[1])
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := bbolt.Open(file, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var stored, payloads int
	if err := db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if meta.Get([]byte("clean")) != nil {
			t.Error("the file carries the clean mark earlier versions read: they would keep payloads they cannot read")
		}
		return tx.Bucket([]byte("retained")).ForEach(func(k, v []byte) error {
			switch topic := string(k); {
			case strings.HasSuffix(topic, "/state"):
				stored += len(v)
				payloads += len(compact.String())
			case v[0] != 1 || !bytes.HasSuffix(v, []byte(`{"state":"online"}`)):
				t.Errorf("%s: a short payload is not kept as it is: % x", topic, v)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if payloads == 0 || stored*2 > payloads {
		t.Errorf("%d states of %d B stored in %d B: want under half", n, len(compact.String()), stored)
	}

	b, _ = startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	if _, kept := b.RetainedKept(); !kept {
		t.Fatal("a cleanly closed file not kept")
	}
	wantSeen(t, "every retained message after the restart", retainedSeen(t, b.URL(), "gw/#"), want...)
	wantSeen(t, "one device's state", retainedSeen(t, b.URL(), "gw/d7/state"), "gw/d7/state="+state(7))
}

// A platform that subscribes to every device's state at QoS 1 gets all of them. mochi sent a
// subscription's retained messages at once and dropped what exceeded the client's in-flight
// window (8,192) or pending writes: at 100,000 devices a subscriber to B/+/state received 8,192
// states, and the log had a "client store quota reached" warning for each of the others.
func TestWildcardSubscriberReceivesEveryRetainedStatePastTheInflightWindow(t *testing.T) {
	const written, pending = 20000, 50
	file := filepath.Join(t.TempDir(), "retained.db")
	b, logs := startFileBroker(t, file)
	t.Cleanup(func() { _ = b.Close() })
	for i := range written + pending {
		if i == written {
			b.FlushRetained() // the last ones still wait for their flush when the platform subscribes
		}
		if err := b.PublishInlineForTest(fmt.Sprintf("gw/d%d/state", i), fillPayload(i, 300), true, 1); err != nil {
			t.Fatal(err)
		}
	}
	s := mqtttest.Subscribe(t, b.URL(), "gw/+/state")
	got := map[string]bool{}
	for deadline := time.After(60 * time.Second); len(got) < written+pending; {
		select {
		case m := <-s.C:
			got[m.Topic] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("the subscriber received %d of %d retained states, then nothing for 5 s", len(got), written+pending)
		case <-deadline:
			t.Fatalf("the subscriber received %d of %d retained states in 60 s", len(got), written+pending)
		}
	}
	if n := logs.FilterMessage("client store quota reached").Len(); n != 0 {
		t.Fatalf("%d messages refused for the client's in-flight window", n)
	}
}
