package host

import (
	"errors"
	"fmt"
)

// Kinds of translator call failures; test with errors.Is. A *CallError carries the details.
var (
	// ErrTimeout: no answer within Config.CallTimeout (or the caller's deadline). Repeated
	// time-outs get the plugin process killed and restarted.
	ErrTimeout = errors.New("translator call timed out")
	// ErrUnavailable: the plugin process is down, restarting, or has been given up on.
	ErrUnavailable = errors.New("translator unavailable")
	// ErrBadResponse: the answer breaks the protocol or the translator's own Describe:
	// undeclared or unreadable keys, wrong value types, invalid parameter names, unknown methods.
	ErrBadResponse = errors.New("translator returned a bad response")
	// ErrPlugin: the translator refused the request (it returned an error, or panicked).
	ErrPlugin = errors.New("translator error")
	// ErrTooLarge: a request or answer exceeded Config.MaxMsgSize.
	ErrTooLarge = errors.New("translator message too large")
)

// CallError is the error of one translator call.
type CallError struct {
	Translator string
	Method     string // Describe, Normalize, ResolveGet, DenormalizeSet, Provision
	Kind       error  // one of the Err* values above, or context.Canceled
	Detail     string
}

func (e *CallError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("translator %s: %s: %v", e.Translator, e.Method, e.Kind)
	}
	return fmt.Sprintf("translator %s: %s: %v: %s", e.Translator, e.Method, e.Kind, e.Detail)
}

// Unwrap makes errors.Is(err, ErrTimeout) and friends work.
func (e *CallError) Unwrap() error { return e.Kind }

// failure is the error a backend returns before the handle names translator and method.
type failure struct {
	kind   error
	detail string
}

func (f *failure) Error() string { return fmt.Sprintf("%v: %s", f.kind, f.detail) }

func fail(kind error, format string, args ...any) *failure {
	return &failure{kind: kind, detail: fmt.Sprintf(format, args...)}
}
