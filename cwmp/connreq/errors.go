package connreq

import "errors"

// Errors returned by Client.Wake, wrapped with detail; test with errors.Is.
var (
	// ErrBusy: the CPE answered 503 (TR-069 §3.2.2: busy, e.g. already in a session). The task
	// stays queued; the CPE will pick it up in its next session.
	ErrBusy = errors.New("connreq: CPE busy")
	// ErrUnreachable: connection refused, reset, timed out, or no route.
	ErrUnreachable = errors.New("connreq: CPE unreachable")
	// ErrAuth: the CPE refused the credentials (401/403 after answering its challenge), or offered
	// only Basic while Basic is not allowed.
	ErrAuth = errors.New("connreq: CPE refused the credentials")
	// ErrBadTarget: no URL and no UDP address, or one that cannot be used.
	ErrBadTarget = errors.New("connreq: bad target")
	// ErrUnexpectedStatus: any other HTTP status (redirects are not followed).
	ErrUnexpectedStatus = errors.New("connreq: unexpected HTTP status")
)

// errResetAfterAuth marks a connection reset right after a request carrying the Authorization
// header: seen on real CPEs, which drop the socket while starting their session (checklist 47).
var errResetAfterAuth = errors.New("connection reset after the auth header")
