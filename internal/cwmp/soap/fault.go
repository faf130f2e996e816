package soap

import (
	"fmt"

	"github.com/beevik/etree"
)

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
	// 9014–9032 from cwmp-1-2.xsd CPEFaultCodeType.
	FaultCPEMulticastJoin          = 9014
	FaultCPEContactFileServer      = 9015
	FaultCPEAccessFile             = 9016
	FaultCPECompleteDownload       = 9017
	FaultCPEFileCorrupted          = 9018
	FaultCPEFileAuthentication     = 9019
	FaultCPEDownloadWindow         = 9020
	FaultCPECancelNotPermitted     = 9021
	FaultCPEInvalidUUID            = 9022
	FaultCPEUnknownExecEnv         = 9023
	FaultCPEDisabledExecEnv        = 9024
	FaultCPEDUExecEnvMismatch      = 9025
	FaultCPEDuplicateDU            = 9026
	FaultCPESystemResources        = 9027
	FaultCPEUnknownDU              = 9028
	FaultCPEInvalidDUState         = 9029
	FaultCPEDUDowngradeNotAllowed  = 9030
	FaultCPEDUVersionNotSpecified  = 9031
	FaultCPEDUVersionAlreadyExists = 9032
)

// NewACSFault builds an ACS fault toward a CPE: 8000–8002/8004–8006 are "Server"
// faults unless the CPE was at fault (8003 invalid arguments, 8000 for unknown methods → "Client").
func NewACSFault(code int, msg string) *Fault {
	return &Fault{SOAPCode: DefaultSOAPCode(code), Code: code, String: msg}
}

// DefaultSOAPCode is the SOAP faultcode for a CWMP fault code: "Client" when the request was at
// fault (the ACS codes above, and the CPE codes TR-069 Table 59 marks Client), else "Server".
// Encode uses it when Fault.SOAPCode is empty.
func DefaultSOAPCode(code int) string {
	switch code {
	case FaultMethodNotSupported, FaultRequestDenied, FaultInvalidArguments,
		FaultCPEInvalidArguments, FaultCPEInvalidParameterName, FaultCPEInvalidParameterType,
		FaultCPEInvalidParameterValue, FaultCPENonWritableParameter, FaultCPECancelNotPermitted:
		return "Client"
	}
	return "Server"
}

// soapFault decodes a SOAP Fault (checklist 45): faultcode prefixed or bare, the cwmp:Fault in
// detail with FaultCode, FaultString and every SetParameterValuesFault. Elements are matched by
// local name whatever their prefix, declared or not, since the CPE's own code and string must
// survive its sloppiness; the SOAP 1.2 shape (Code/Value, Reason/Text, Detail) is read too. A
// SOAP fault without a cwmp:Fault keeps its faultstring in String and Code 0.
func (d *decoder) soapFault(e *etree.Element) *Fault {
	f := &Fault{}
	var soapString string
	var detail *etree.Element
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "faultcode":
			_, f.SOAPCode, _ = splitQName(text(c))
		case "Code": // SOAP 1.2: <Code><Value>env:Sender</Value></Code>
			if v := c.SelectElement("Value"); v != nil {
				_, f.SOAPCode, _ = splitQName(text(v))
			}
		case "faultstring":
			soapString = text(c)
		case "Reason": // SOAP 1.2: <Reason><Text>…</Text></Reason>
			if t := c.SelectElement("Text"); t != nil {
				soapString = text(t)
			}
		case "detail", "Detail":
			for dc := range c.ChildElementsSeq() {
				if dc.Tag == "Fault" {
					detail = dc
				}
			}
			if detail == nil && c.SelectElement("FaultCode") != nil {
				d.warn("SOAP Fault detail holds FaultCode without a cwmp:Fault element")
				detail = c
			}
		}
	}
	switch f.SOAPCode {
	case "Sender":
		f.SOAPCode = "Client"
	case "Receiver":
		f.SOAPCode = "Server"
	}
	if detail == nil {
		d.warn("SOAP Fault %q without a cwmp:Fault detail", soapString)
		f.String = soapString
		return f
	}
	if ns := elementNS(detail); IsCWMPNamespace(ns) {
		d.env.NS = ns
	}
	f.decode(d, detail)
	return f
}

// isSOAPFaultShape reports whether a Fault element outside the SOAP namespace is a SOAP Fault
// (faultcode, faultstring or detail inside) rather than a bare cwmp:Fault put directly in Body.
func isSOAPFaultShape(e *etree.Element) bool {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "faultcode", "faultstring", "detail", "Code", "Reason", "Detail":
			return true
		}
	}
	return false
}

// decode reads a cwmp:Fault element (inside detail, or, tolerated, directly in Body).
func (f *Fault) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "FaultCode":
			f.Code = d.int(c)
		case "FaultString":
			f.String = c.Text()
		case "SetParameterValuesFault":
			var p ParameterFault
			for pc := range c.ChildElementsSeq() {
				switch pc.Tag {
				case "ParameterName":
					p.ParameterName = text(pc)
				case "FaultCode":
					p.FaultCode = d.int(pc)
				case "FaultString":
					p.FaultString = pc.Text()
				}
			}
			f.SetParameterValuesFaults = append(f.SetParameterValuesFaults, p)
		}
	}
}

// encodeSOAP writes the whole SOAP Fault in the shape of checklist 44 (TR-069 §A.5):
// bare faultcode, faultstring "CWMP fault", detail/cwmp:Fault.
func (f *Fault) encodeSOAP(w *encoder) {
	w.raw("<soap-env:Fault>")
	code := f.SOAPCode
	if code == "" {
		code = DefaultSOAPCode(f.Code)
	}
	w.str("faultcode", code)
	w.raw("<faultstring>CWMP fault</faultstring><detail><cwmp:Fault>")
	f.encode(w)
	w.raw("</cwmp:Fault></detail></soap-env:Fault>")
}

func (f *Fault) encode(w *encoder) {
	w.int("FaultCode", int64(f.Code))
	w.str("FaultString", f.String)
	for _, p := range f.SetParameterValuesFaults {
		w.raw("<SetParameterValuesFault>")
		w.str("ParameterName", p.ParameterName)
		w.int("FaultCode", int64(p.FaultCode))
		w.str("FaultString", p.FaultString)
		w.raw("</SetParameterValuesFault>")
	}
}
