package auth

import "errors"

// Errors returned by Verifier.Check. They are wrapped with a detail the server can log
// (fmt.Errorf("%w: …")); test with errors.Is. None of them ever carries a password.
var (
	// ErrNoCredentials: no Authorization header, or one with a scheme the mode does not accept.
	// The caller answers 401 with a challenge; this is the normal first step of every CPE.
	ErrNoCredentials = errors.New("auth: no acceptable credentials")
	// ErrBadCredentials: unknown user, wrong password, wrong realm, foreign nonce or uri mismatch.
	ErrBadCredentials = errors.New("auth: bad credentials")
	// ErrStaleNonce: the Digest response is right but its nonce has expired; the caller
	// challenges with stale=true so the client retries without treating it as a wrong password.
	ErrStaleNonce = errors.New("auth: stale nonce")
	// ErrMalformed: an Authorization header that cannot be parsed or misses required fields.
	ErrMalformed = errors.New("auth: malformed authorization")
	// ErrBodyNotReplayable is returned by the client transport when a challenge must be answered
	// but the request body cannot be sent again (the request has no GetBody).
	ErrBodyNotReplayable = errors.New("auth: request body cannot be replayed to answer a challenge (set Request.GetBody)")
)
