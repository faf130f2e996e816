package soap

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// codec is implemented by every message type of this package: decode reads the children of the
// method element, encode writes them (the envelope code writes the method element itself).
// Child elements are matched by local name: they are unqualified in the XSDs and only JAXB
// qualifies them (fixtures 37, 38).
type codec interface {
	Message
	decode(d *decoder, e *etree.Element)
	encode(w *encoder)
}

// Unknown is a method element the codec does not know, or a known name in a foreign namespace.
// The ACS answers it with fault 8000 (checklist 43).
type Unknown struct {
	Name string
	NS   string
}

func (u *Unknown) MethodName() string { return u.Name }

// encodeElement writes an empty method element in u's namespace: the envelope's cwmp prefix when
// it matches, unqualified when u.NS is empty, else a local declaration.
func (u *Unknown) encodeElement(w *encoder, envNS string) {
	if !isNCName(u.Name) {
		w.fail("Unknown method name %q is not an XML name", u.Name)
		return
	}
	switch u.NS {
	case envNS:
		w.raw("<cwmp:" + u.Name + "></cwmp:" + u.Name + ">")
	case "":
		w.open(u.Name)
		w.close(u.Name)
	default:
		w.raw("<m:" + u.Name + ` xmlns:m="`)
		w.attr(u.NS)
		w.raw(`"></m:` + u.Name + ">")
	}
}

// isNCName checks that s can be written as an unprefixed element name: it rejects what would
// break the markup (space, controls, markup characters, a colon) and a leading digit, dot or
// hyphen. Names that came from a parsed document always pass.
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r <= ' ', r == 0x7F, strings.ContainsRune(`<>&"'/=:?!;,()[]{}*+@#$%^|\`+"`~", r):
			return false
		case i == 0 && (r == '-' || r == '.' || r >= '0' && r <= '9'):
			return false
		}
	}
	return utf8.ValidString(s)
}

// constructors maps every method name of CWMP 1.0–1.4 known to this package to a new zero message.
var constructors = map[string]func() Message{
	"Inform":                                  func() Message { return new(Inform) },
	"InformResponse":                          func() Message { return new(InformResponse) },
	"GetRPCMethods":                           func() Message { return new(GetRPCMethods) },
	"GetRPCMethodsResponse":                   func() Message { return new(GetRPCMethodsResponse) },
	"TransferComplete":                        func() Message { return new(TransferComplete) },
	"TransferCompleteResponse":                func() Message { return new(TransferCompleteResponse) },
	"AutonomousTransferComplete":              func() Message { return new(AutonomousTransferComplete) },
	"AutonomousTransferCompleteResponse":      func() Message { return new(AutonomousTransferCompleteResponse) },
	"RequestDownload":                         func() Message { return new(RequestDownload) },
	"RequestDownloadResponse":                 func() Message { return new(RequestDownloadResponse) },
	"DUStateChangeComplete":                   func() Message { return new(DUStateChangeComplete) },
	"DUStateChangeCompleteResponse":           func() Message { return new(DUStateChangeCompleteResponse) },
	"AutonomousDUStateChangeComplete":         func() Message { return new(AutonomousDUStateChangeComplete) },
	"AutonomousDUStateChangeCompleteResponse": func() Message { return new(AutonomousDUStateChangeCompleteResponse) },
	"Kicked":                         func() Message { return new(Kicked) },
	"KickedResponse":                 func() Message { return new(KickedResponse) },
	"GetParameterNames":              func() Message { return new(GetParameterNames) },
	"GetParameterNamesResponse":      func() Message { return new(GetParameterNamesResponse) },
	"GetParameterValues":             func() Message { return new(GetParameterValues) },
	"GetParameterValuesResponse":     func() Message { return new(GetParameterValuesResponse) },
	"SetParameterValues":             func() Message { return new(SetParameterValues) },
	"SetParameterValuesResponse":     func() Message { return new(SetParameterValuesResponse) },
	"GetParameterAttributes":         func() Message { return new(GetParameterAttributes) },
	"GetParameterAttributesResponse": func() Message { return new(GetParameterAttributesResponse) },
	"SetParameterAttributes":         func() Message { return new(SetParameterAttributes) },
	"SetParameterAttributesResponse": func() Message { return new(SetParameterAttributesResponse) },
	"AddObject":                      func() Message { return new(AddObject) },
	"AddObjectResponse":              func() Message { return new(AddObjectResponse) },
	"DeleteObject":                   func() Message { return new(DeleteObject) },
	"DeleteObjectResponse":           func() Message { return new(DeleteObjectResponse) },
	"Reboot":                         func() Message { return new(Reboot) },
	"RebootResponse":                 func() Message { return new(RebootResponse) },
	"FactoryReset":                   func() Message { return new(FactoryReset) },
	"FactoryResetResponse":           func() Message { return new(FactoryResetResponse) },
	"Download":                       func() Message { return new(Download) },
	"DownloadResponse":               func() Message { return new(DownloadResponse) },
	"Upload":                         func() Message { return new(Upload) },
	"UploadResponse":                 func() Message { return new(UploadResponse) },
	"ScheduleInform":                 func() Message { return new(ScheduleInform) },
	"ScheduleInformResponse":         func() Message { return new(ScheduleInformResponse) },
	"ScheduleDownload":               func() Message { return new(ScheduleDownload) },
	"ScheduleDownloadResponse":       func() Message { return new(ScheduleDownloadResponse) },
	"CancelTransfer":                 func() Message { return new(CancelTransfer) },
	"CancelTransferResponse":         func() Message { return new(CancelTransferResponse) },
	"GetQueuedTransfers":             func() Message { return new(GetQueuedTransfers) },
	"GetQueuedTransfersResponse":     func() Message { return new(GetQueuedTransfersResponse) },
	"GetAllQueuedTransfers":          func() Message { return new(GetAllQueuedTransfers) },
	"GetAllQueuedTransfersResponse":  func() Message { return new(GetAllQueuedTransfersResponse) },
	"ChangeDUState":                  func() Message { return new(ChangeDUState) },
	"ChangeDUStateResponse":          func() Message { return new(ChangeDUStateResponse) },
	"Fault":                          func() Message { return new(Fault) },
}

// NewMessage returns a new zero message for a method name ("Inform", "RebootResponse", "Fault"),
// or false when the package has no such type.
func NewMessage(method string) (Message, bool) {
	f, ok := constructors[method]
	if !ok {
		return nil, false
	}
	return f(), true
}

// MethodNames lists, sorted, every method name NewMessage knows, for simulators and tests.
func MethodNames() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// IsCPERequest reports the CPE-initiated requests (TR-069 Table 5, checklist 43): Inform,
// GetRPCMethods, TransferComplete, AutonomousTransferComplete, RequestDownload,
// DUStateChangeComplete, AutonomousDUStateChangeComplete and Kicked. GetRPCMethods goes both
// ways; a CPE sending it is making a request.
func IsCPERequest(m Message) bool {
	switch m.(type) {
	case *Inform, *GetRPCMethods, *TransferComplete, *AutonomousTransferComplete, *RequestDownload,
		*DUStateChangeComplete, *AutonomousDUStateChangeComplete, *Kicked:
		return true
	}
	return false
}
