package datamodel

import (
	"fmt"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Error is a data-model failure with the CWMP fault code a CPE answers it with (TR-069 Table 59).
type Error struct {
	Code   int    // soap.FaultCPE…
	Name   string // the offending parameter or object name
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, e.Name, e.Reason)
}

func errName(name string) *Error {
	return &Error{Code: soap.FaultCPEInvalidParameterName, Name: name, Reason: "no such parameter"}
}

// SetError is a SetParameterValues refused as a whole (TR-069 §A.3.2.1: no parameter is applied
// when one fails); Faults holds one entry per bad parameter, for SetParameterValuesFault.
type SetError struct {
	Faults []*Error
}

func (e *SetError) Error() string {
	parts := make([]string, len(e.Faults))
	for i, f := range e.Faults {
		parts[i] = f.Error()
	}
	return "set refused: " + strings.Join(parts, "; ")
}
