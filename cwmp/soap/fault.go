package soap

import "fmt"

// Fault is a SOAP Fault carrying a CWMP fault (TR-069 §A.5): ACS faults 8000–8006 toward the CPE
// (checklist 44), CPE faults 9000–9032 and vendor 9800–9899 from it (checklist 45).
// It is both a Message (it occupies the Body) and an error.
type Fault struct {
	// SOAPCode is the SOAP faultcode: "Client" or "Server" (the prefix is dropped on decode).
	SOAPCode string
	// Code and String are the cwmp:Fault FaultCode and FaultString.
	Code   int
	String string
	// SetParameterValuesFaults are the per-parameter faults of a SetParameterValues fault.
	SetParameterValuesFaults []ParameterFault
}

// ParameterFault is one SetParameterValuesFault.
type ParameterFault struct {
	ParameterName string
	FaultCode     int
	FaultString   string
}

func (*Fault) MethodName() string { return "Fault" }

func (f *Fault) Error() string {
	if f.String == "" {
		return fmt.Sprintf("cwmp fault %d", f.Code)
	}
	return fmt.Sprintf("cwmp fault %d: %s", f.Code, f.String)
}

// ACS fault codes (TR-069 Table 61 and cwmp-1-4.xsd ACSFaultCodeType).
const (
	FaultMethodNotSupported     = 8000
	FaultRequestDenied          = 8001
	FaultInternalError          = 8002
	FaultInvalidArguments       = 8003
	FaultResourcesExceeded      = 8004
	FaultRetryRequest           = 8005
	FaultACSVersionIncompatible = 8006
)

// CPE fault codes (TR-069 Table 59).
const (
	FaultCPEMethodNotSupported    = 9000
	FaultCPERequestDenied         = 9001
	FaultCPEInternalError         = 9002
	FaultCPEInvalidArguments      = 9003
	FaultCPEResourcesExceeded     = 9004
	FaultCPEInvalidParameterName  = 9005
	FaultCPEInvalidParameterType  = 9006
	FaultCPEInvalidParameterValue = 9007
	FaultCPENonWritableParameter  = 9008
	FaultCPENotificationRejected  = 9009
	FaultCPEDownloadFailure       = 9010
	FaultCPEUploadFailure         = 9011
	FaultCPEFileTransferAuth      = 9012
	FaultCPEUnsupportedProtocol   = 9013
)

// NewACSFault builds an ACS fault toward a CPE: 8000–8002/8004–8006 are "Server"
// faults unless the CPE was at fault (8003 invalid arguments, 8000 for unknown methods → "Client").
func NewACSFault(code int, msg string) *Fault {
	soapCode := "Server"
	switch code {
	case FaultMethodNotSupported, FaultRequestDenied, FaultInvalidArguments:
		soapCode = "Client"
	}
	return &Fault{SOAPCode: soapCode, Code: code, String: msg}
}
