package mqtt_test

import (
	"context"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt/mqtttest"
)

// A gateway restarted against a broker that kept its persistent session (and so its retained
// messages) is told so; after the broker itself lost everything (a restart without
// persistence), it is not.
func TestFirstSessionPresentOnlyWhenTheBrokerKeptIt(t *testing.T) {
	url, _, restart := mqtttest.StartMosquitto(t)
	cfg := testConfig(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()

	first := startClient(t, cfg, nil)
	if first.FirstSessionPresent(ctx) {
		t.Fatal("a client id the broker never saw reported a kept session")
	}
	_ = first.Close()

	second := startClient(t, cfg, nil)
	if !second.FirstSessionPresent(ctx) {
		t.Fatal("the session the broker kept across the client's restart is not reported")
	}
	_ = second.Close()

	restart() // persistence false: sessions and retained messages are gone
	third := startClient(t, cfg, nil)
	if third.FirstSessionPresent(ctx) {
		t.Fatal("a kept session reported after the broker lost it")
	}
}
