package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// A burst of QoS 1 requests through the gateway's embedded broker: every request the broker
// acknowledged gets its result. Before, 10,000 requests published at once were all PUBACKed and
// about 2,000 never answered: the gateway's subscription queues overflowed, its forced reconnects
// made the broker's in-flight store for it overflow too ("client store quota reached"), and the
// broker dropped what it had acknowledged. The requests name a device the gateway does not know,
// so each ends `rejected` at once and the test measures the delivery path alone.
func TestBurstOfAcknowledgedRequestsAllAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 requests")
	}
	gw := startGateway(t, nil)
	const n = 10000
	base := "cwmp2mqtt/00259E-BURST-0001"

	var mu sync.Mutex
	got := make(map[string]int, n)
	all := make(chan struct{})
	sub := pahoClient(t, gw.Broker, "burst-platform")
	tok := sub.Subscribe(base+"/rpc/result", 1, func(_ paho.Client, m paho.Message) {
		var r struct{ ID, Status string }
		if json.Unmarshal(m.Payload(), &r) != nil || r.Status == "accepted" {
			return
		}
		mu.Lock()
		got[r.ID]++
		if len(got) == n {
			close(all)
		}
		mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	pub := pahoClient(t, gw.Broker, "burst-publisher")
	toks := make([]paho.Token, 0, n)
	for i := range n {
		toks = append(toks, pub.Publish(base+"/rpc", 1, false, fmt.Sprintf(`{"id":"b-%d","method":"Reboot"}`, i)))
	}
	for i, tk := range toks {
		if !tk.WaitTimeout(5*time.Minute) || tk.Error() != nil {
			t.Fatalf("request %d not acknowledged by the broker: %v", i, tk.Error())
		}
	}
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
	}
	mu.Lock()
	defer mu.Unlock()
	var missing []string
	for i := range n {
		if id := fmt.Sprintf("b-%d", i); got[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged requests never got a result, e.g. %s", len(missing), n, strings.Join(missing[:min(5, len(missing))], ", "))
	}
}

// pahoClient connects a plain client (clean session) for a test.
func pahoClient(t *testing.T, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id + "-" + strings.ReplaceAll(t.Name(), "/", "-")).
		SetCleanSession(true).SetOrderMatters(false).SetWriteTimeout(time.Minute))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}
