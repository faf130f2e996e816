package apitest

import (
	"encoding/json"
	"testing"
	"time"
)

// Matches reports whether every field of want equals the same field of got, compared as JSON
// (so 2 matches the 2.0 a decoded payload holds). The bridge's fake publisher and the end-to-end
// platform both wait for messages with it.
func Matches(got, want map[string]any) bool {
	for k, v := range want {
		wj, _ := json.Marshal(v)
		gj, _ := json.Marshal(got[k])
		if string(wj) != string(gj) {
			return false
		}
	}
	return true
}

// MustJSON encodes v, for test payloads and messages.
func MustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Eventually polls cond every 10 ms until it holds, failing the test after patience.
func Eventually(t testing.TB, what string, patience time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", patience, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
