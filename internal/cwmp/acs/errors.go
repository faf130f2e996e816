package acs

import (
	"errors"
	"fmt"
)

// ErrMismatch is the error TaskDone receives when the CPE's answer does not match the request the
// ACS sent: another method, another cwmp:ID, a CPE request or an empty POST instead of the
// response, or a response that cannot be decoded (checklist 25, 46). The session goes on.
var ErrMismatch = errors.New("acs: CPE answer does not match the outstanding request")

func mismatch(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMismatch, fmt.Sprintf(format, args...))
}

// ErrInvalidTask is the error TaskDone receives for a task the ACS cannot send: no Request, a
// method that is not an ACS→CPE request, or one that does not encode. The session goes on.
var ErrInvalidTask = errors.New("acs: task cannot be sent to the CPE")
