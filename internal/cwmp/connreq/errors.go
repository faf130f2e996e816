package connreq

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors returned by Client.Wake, wrapped with detail; test with errors.Is. What a caller can do:
//
//   - ErrBusy (a *BusyError): the CPE is there but cannot take a session now. Retry later,
//     honouring BusyError.RetryAfter when the CPE gave one (a CPE answers 503 for seconds after a
//     FactoryReset or Reboot, then informs by itself).
//   - ErrTimeout (also ErrUnreachable): the CPE did not answer within Options.Timeout; it may be
//     busy booting or on a slow link. Worth a retry with back-off.
//   - ErrUnreachable alone: refused, reset or no route; the device is most likely off.
//   - ErrAuth, ErrBadTarget, ErrUnexpectedStatus: retrying the same request will not help.
var (
	// ErrBusy: the CPE answered 503 (TR-069 §3.2.2: busy, e.g. already in a session or
	// rebooting). The error is a *BusyError carrying its Retry-After.
	ErrBusy = errors.New("connreq: CPE busy")
	// ErrUnreachable: connection refused, reset, timed out, or no route.
	ErrUnreachable = errors.New("connreq: CPE unreachable")
	// ErrTimeout: no answer within Options.Timeout (connect, TLS, headers or the Digest round).
	// Always wrapped together with ErrUnreachable, so callers that only know that one still see
	// a timeout as unreachable.
	ErrTimeout = errors.New("connreq: CPE did not answer in time")
	// ErrAuth: the CPE refused the credentials (401/403 after answering its challenge), or offered
	// only Basic while Basic is not allowed.
	ErrAuth = errors.New("connreq: CPE refused the credentials")
	// ErrBadTarget: no URL and no UDP address, or one that cannot be used.
	ErrBadTarget = errors.New("connreq: bad target")
	// ErrUnexpectedStatus: any other HTTP status (redirects are not followed).
	ErrUnexpectedStatus = errors.New("connreq: unexpected HTTP status")
)

// BusyError is a CPE's 503 answer to a connection request. errors.Is(err, ErrBusy) holds for it;
// errors.As(err, &be) gives the Retry-After.
type BusyError struct {
	// RetryAfter is the CPE's Retry-After header (delta-seconds or an HTTP-date, RFC 9110
	// §10.2.3) as a wait from when the answer came; 0 when absent, unreadable or in the past.
	RetryAfter time.Duration
	// Header is the raw Retry-After value, "" when absent.
	Header string
}

func (e *BusyError) Error() string {
	if e.Header == "" {
		return ErrBusy.Error() + ": HTTP 503"
	}
	return fmt.Sprintf("%s: HTTP 503, Retry-After %q", ErrBusy.Error(), e.Header)
}

// Is makes errors.Is(err, ErrBusy) true for a *BusyError.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// RetryAfter is the Retry-After a busy CPE asked for, found anywhere in err's chain: ok is false
// when err is no busy error, d is 0 when the CPE gave no usable value.
func RetryAfter(err error) (d time.Duration, ok bool) {
	var be *BusyError
	if !errors.As(err, &be) {
		return 0, false
	}
	return be.RetryAfter, true
}

// parseRetryAfter reads a Retry-After value relative to now: delta-seconds, or an HTTP-date
// (any of the three formats http.ParseTime accepts). 0 for anything else or a time past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// errResetAfterAuth marks a connection reset right after a request carrying the Authorization
// header: seen on real CPEs, which drop the socket while starting their session (checklist 47).
var errResetAfterAuth = errors.New("connection reset after the auth header")
