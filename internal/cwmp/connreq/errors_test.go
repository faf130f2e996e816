package connreq

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"120":                               2 * time.Minute,
		" 3 ":                               3 * time.Second,
		"0":                                 0,
		"Wed, 02 Dec 2026 01:00:30 GMT":     30 * time.Second, // IMF-fixdate
		"Wednesday, 02-Dec-26 01:01:00 GMT": time.Minute,      // RFC 850
		"Wed Dec  2 01:00:05 2026":          5 * time.Second,  // asctime
		"Wed, 02 Dec 2026 00:59:00 GMT":     0,                // past
		"":                                  0,
		"-5":                                0,
		"soon":                              0,
		"99999999999":                       0, // beyond 32 bits of seconds: not a sane wait
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", v, got, want)
		}
	}
}
