package connreq_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
)

// The simulator's listener and the gateway's client, end to end over real HTTP.
func TestListenerHandlerWithClient(t *testing.T) {
	woken := make(chan struct{}, 4)
	srv := httptest.NewServer(connreq.NewListenerHandler("acs", "pw", func() { woken <- struct{}{} }))
	defer srv.Close()
	client := fast(connreq.Options{})

	if err := client.Wake(context.Background(), connreq.Target{DeviceID: "sim-1", URL: srv.URL + "/cr", Username: "acs", Password: "pw"}); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	if len(woken) != 1 {
		t.Fatalf("onWake called %d times, want 1", len(woken))
	}
	err := client.Wake(context.Background(), connreq.Target{DeviceID: "sim-1", URL: srv.URL + "/cr", Username: "acs", Password: "bad"})
	if !errors.Is(err, connreq.ErrAuth) || len(woken) != 1 {
		t.Fatalf("wrong password: err = %v, onWake calls %d; want ErrAuth and no wake", err, len(woken))
	}

	resp, err := http.Post(srv.URL+"/cr", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || len(woken) != 1 {
		t.Fatalf("POST: %d, onWake calls %d; want 405 and no wake", resp.StatusCode, len(woken))
	}
	resp, err = http.Get(srv.URL + "/cr")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Digest ") {
		t.Fatalf("GET without credentials: %d %q; want a Digest challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
