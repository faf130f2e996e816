package soap

import "time"

// Message is one CWMP method element of a SOAP Body: a request, a response, or a *Fault.
// MethodName is the element's local name ("Inform", "GetParameterValuesResponse", "Fault").
type Message interface {
	MethodName() string
}

// Envelope is one decoded or to-be-encoded SOAP envelope with its CWMP header fields.
type Envelope struct {
	// NS is the CWMP namespace URI of the message ("urn:dslforum-org:cwmp-1-0" …). When encoding,
	// an empty NS means cwmp-1-0. The ACS answers in the namespace the CPE used (checklist 22).
	NS string
	// ID is the cwmp:ID header; HasID tells an empty ID from an absent one (checklist 24, 25).
	ID    string
	HasID bool
	// HoldRequests is the cwmp:HoldRequests header (ACS → CPE only).
	HoldRequests bool
	// SessionTimeout is the cwmp:SessionTimeout header of CWMP 1.2+ in seconds; 0 when absent.
	SessionTimeout int
	// SupportedCWMPVersions (CPE → ACS) and UseCWMPVersion (ACS → CPE) of CWMP 1.4 (checklist 23).
	SupportedCWMPVersions string
	UseCWMPVersion        string
	// Body is the single method element of the Body; nil for an empty POST.
	Body Message
	// AsResponse is the Body read as a CPE response despite its shape, nil when the Body is what
	// it says: a known …Response element the method element wraps as its only child (a real
	// client answers Reboot with <cwmp:Reboot><RebootResponse/></cwmp:Reboot>), or a known
	// …Response element in a foreign namespace. The ACS takes it as the answer to its pending
	// request when the method matches (decoding only; never encoded).
	AsResponse Message
	// Warnings lists what Decode tolerated (missing RetryCount or Event, untyped values,
	// undeclared prefixes, a charset fallback …) for the server to log; never encoded.
	Warnings []string
}

// Namespace URIs (checklist 20–22).
const (
	NSCWMP10 = "urn:dslforum-org:cwmp-1-0"
	NSCWMP11 = "urn:dslforum-org:cwmp-1-1"
	NSCWMP12 = "urn:dslforum-org:cwmp-1-2"
	// Non-standard but seen in the field; accepted on input, echoed on output.
	NSCWMP13 = "urn:dslforum-org:cwmp-1-3"
	NSCWMP14 = "urn:dslforum-org:cwmp-1-4"

	NSSOAPEnv = "http://schemas.xmlsoap.org/soap/envelope/"
	NSSOAPEnc = "http://schemas.xmlsoap.org/soap/encoding/"
	NSXSD     = "http://www.w3.org/2001/XMLSchema"
	NSXSI     = "http://www.w3.org/2001/XMLSchema-instance"
)

// Value is a parameter value as it travels on the wire. Type is the local name of its xsi:type
// ("string", "int", "unsignedInt", "long", "unsignedLong", "boolean", "dateTime", "base64",
// "hexBinary"); Raw is the text exactly as received (after entity decoding). Raw is never
// discarded: a value whose text does not parse as its Type keeps it (checklist 34).
type Value struct {
	Type string
	Raw  string
}

// ParameterValue is a ParameterValueStruct.
type ParameterValue struct {
	Name  string
	Value Value
}

// DateTime is an xs:dateTime that keeps its raw text. Time is zero and Valid false when Raw does
// not parse (checklist 32); Unknown reports the TR-069 "unknown time" 0001-01-01T00:00:00Z.
type DateTime struct {
	Time  time.Time
	Raw   string
	Valid bool
}

// DeviceID is the DeviceIdStruct of an Inform (checklist 28).
type DeviceID struct {
	Manufacturer string
	OUI          string
	ProductClass string
	SerialNumber string
}

// Event is one EventStruct (checklist 29–30).
type Event struct {
	Code       string
	CommandKey string
}

// ---------------------------------------------------------------- CPE → ACS requests and their responses

type Inform struct {
	DeviceID      DeviceID
	Events        []Event
	MaxEnvelopes  int
	CurrentTime   DateTime
	RetryCount    int
	ParameterList []ParameterValue
}

type InformResponse struct {
	MaxEnvelopes int // always 1 (checklist 31)
}

type GetRPCMethods struct{}

type GetRPCMethodsResponse struct {
	MethodList []string
}

// FaultStruct is the TransferCompleteFaultStruct / DeploymentUnitFaultStruct: FaultCode 0 means success.
type FaultStruct struct {
	FaultCode   int
	FaultString string
}

type TransferComplete struct {
	CommandKey   string
	Fault        FaultStruct
	StartTime    DateTime
	CompleteTime DateTime
}

type TransferCompleteResponse struct{}

type AutonomousTransferComplete struct {
	AnnounceURL    string
	TransferURL    string
	IsDownload     bool
	FileType       string
	FileSize       uint64
	TargetFileName string
	Fault          FaultStruct
	StartTime      DateTime
	CompleteTime   DateTime
}

type AutonomousTransferCompleteResponse struct{}

type ArgStruct struct {
	Name  string
	Value string
}

type RequestDownload struct {
	FileType    string
	FileTypeArg []ArgStruct
}

type RequestDownloadResponse struct{}

// OpResult is an OpResultStruct (DUStateChangeComplete) or, with OperationPerformed set, an
// AutonOpResultStruct (AutonomousDUStateChangeComplete).
type OpResult struct {
	UUID                 string
	DeploymentUnitRef    string
	Version              string
	CurrentState         string
	Resolved             bool
	ExecutionUnitRefList string
	StartTime            DateTime
	CompleteTime         DateTime
	Fault                FaultStruct
	OperationPerformed   string
}

type DUStateChangeComplete struct {
	Results    []OpResult
	CommandKey string
}

type DUStateChangeCompleteResponse struct{}

type AutonomousDUStateChangeComplete struct {
	Results []OpResult
}

type AutonomousDUStateChangeCompleteResponse struct{}

type Kicked struct {
	Command string
	Referer string
	Arg     string
	Next    string
}

type KickedResponse struct {
	NextURL string
}

// ---------------------------------------------------------------- ACS → CPE requests and their responses

type GetParameterNames struct {
	ParameterPath string
	NextLevel     bool
}

// ParameterInfo is a ParameterInfoStruct.
type ParameterInfo struct {
	Name     string
	Writable bool
}

type GetParameterNamesResponse struct {
	ParameterList []ParameterInfo
}

type GetParameterValues struct {
	ParameterNames []string
}

type GetParameterValuesResponse struct {
	ParameterList []ParameterValue
}

type SetParameterValues struct {
	ParameterList []ParameterValue
	ParameterKey  string
}

type SetParameterValuesResponse struct {
	Status int // 0 applied, 1 applied later (checklist 38)
}

type GetParameterAttributes struct {
	ParameterNames []string
}

// ParameterAttribute is a ParameterAttributeStruct.
type ParameterAttribute struct {
	Name         string
	Notification int
	AccessList   []string
}

type GetParameterAttributesResponse struct {
	ParameterList []ParameterAttribute
}

// SetParameterAttribute is a SetParameterAttributesStruct.
type SetParameterAttribute struct {
	Name               string
	NotificationChange bool
	Notification       int
	AccessListChange   bool
	AccessList         []string
}

type SetParameterAttributes struct {
	ParameterList []SetParameterAttribute
}

type SetParameterAttributesResponse struct{}

type AddObject struct {
	ObjectName   string
	ParameterKey string
}

type AddObjectResponse struct {
	InstanceNumber uint32
	Status         int
}

type DeleteObject struct {
	ObjectName   string
	ParameterKey string
}

type DeleteObjectResponse struct {
	Status int
}

type Reboot struct {
	CommandKey string
}

type RebootResponse struct{}

type FactoryReset struct{}

type FactoryResetResponse struct{}

// Download: every child is always encoded, empty or 0 when unset (checklist 41).
type Download struct {
	CommandKey     string
	FileType       string
	URL            string
	Username       string
	Password       string
	FileSize       uint64
	TargetFileName string
	DelaySeconds   uint32
	SuccessURL     string
	FailureURL     string
}

type DownloadResponse struct {
	Status       int // 0 done, 1 a TransferComplete follows later
	StartTime    DateTime
	CompleteTime DateTime
}

type Upload struct {
	CommandKey   string
	FileType     string
	URL          string
	Username     string
	Password     string
	DelaySeconds uint32
}

type UploadResponse struct {
	Status       int
	StartTime    DateTime
	CompleteTime DateTime
}

type ScheduleInform struct {
	DelaySeconds uint32
	CommandKey   string
}

type ScheduleInformResponse struct{}

// TimeWindow is a TimeWindowStruct of ScheduleDownload.
type TimeWindow struct {
	WindowStart uint32
	WindowEnd   uint32
	WindowMode  string
	UserMessage string
	MaxRetries  int
}

type ScheduleDownload struct {
	CommandKey     string
	FileType       string
	URL            string
	Username       string
	Password       string
	FileSize       uint64
	TargetFileName string
	TimeWindowList []TimeWindow
}

type ScheduleDownloadResponse struct{}

type CancelTransfer struct {
	CommandKey string
}

type CancelTransferResponse struct{}

type GetQueuedTransfers struct{}

// QueuedTransfer is a QueuedTransferStruct.
type QueuedTransfer struct {
	CommandKey string
	State      int
}

type GetQueuedTransfersResponse struct {
	TransferList []QueuedTransfer
}

type GetAllQueuedTransfers struct{}

// AllQueuedTransfer is an AllQueuedTransferStruct.
type AllQueuedTransfer struct {
	CommandKey     string
	State          int
	IsDownload     bool
	FileType       string
	FileSize       uint64
	TargetFileName string
}

type GetAllQueuedTransfersResponse struct {
	TransferList []AllQueuedTransfer
}

// DUOperation is one of InstallOpStruct, UpdateOpStruct, UninstallOpStruct, told apart by Op
// ("Install", "Update", "Uninstall"); encoded with the matching xsi:type.
type DUOperation struct {
	Op              string
	URL             string
	UUID            string
	Username        string
	Password        string
	ExecutionEnvRef string
	Version         string
}

type ChangeDUState struct {
	Operations []DUOperation
	CommandKey string
}

type ChangeDUStateResponse struct{}

// MethodName implementations.
func (*Inform) MethodName() string                     { return "Inform" }
func (*InformResponse) MethodName() string             { return "InformResponse" }
func (*GetRPCMethods) MethodName() string              { return "GetRPCMethods" }
func (*GetRPCMethodsResponse) MethodName() string      { return "GetRPCMethodsResponse" }
func (*TransferComplete) MethodName() string           { return "TransferComplete" }
func (*TransferCompleteResponse) MethodName() string   { return "TransferCompleteResponse" }
func (*AutonomousTransferComplete) MethodName() string { return "AutonomousTransferComplete" }
func (*AutonomousTransferCompleteResponse) MethodName() string {
	return "AutonomousTransferCompleteResponse"
}
func (*RequestDownload) MethodName() string                 { return "RequestDownload" }
func (*RequestDownloadResponse) MethodName() string         { return "RequestDownloadResponse" }
func (*DUStateChangeComplete) MethodName() string           { return "DUStateChangeComplete" }
func (*DUStateChangeCompleteResponse) MethodName() string   { return "DUStateChangeCompleteResponse" }
func (*AutonomousDUStateChangeComplete) MethodName() string { return "AutonomousDUStateChangeComplete" }
func (*AutonomousDUStateChangeCompleteResponse) MethodName() string {
	return "AutonomousDUStateChangeCompleteResponse"
}
func (*Kicked) MethodName() string                         { return "Kicked" }
func (*KickedResponse) MethodName() string                 { return "KickedResponse" }
func (*GetParameterNames) MethodName() string              { return "GetParameterNames" }
func (*GetParameterNamesResponse) MethodName() string      { return "GetParameterNamesResponse" }
func (*GetParameterValues) MethodName() string             { return "GetParameterValues" }
func (*GetParameterValuesResponse) MethodName() string     { return "GetParameterValuesResponse" }
func (*SetParameterValues) MethodName() string             { return "SetParameterValues" }
func (*SetParameterValuesResponse) MethodName() string     { return "SetParameterValuesResponse" }
func (*GetParameterAttributes) MethodName() string         { return "GetParameterAttributes" }
func (*GetParameterAttributesResponse) MethodName() string { return "GetParameterAttributesResponse" }
func (*SetParameterAttributes) MethodName() string         { return "SetParameterAttributes" }
func (*SetParameterAttributesResponse) MethodName() string { return "SetParameterAttributesResponse" }
func (*AddObject) MethodName() string                      { return "AddObject" }
func (*AddObjectResponse) MethodName() string              { return "AddObjectResponse" }
func (*DeleteObject) MethodName() string                   { return "DeleteObject" }
func (*DeleteObjectResponse) MethodName() string           { return "DeleteObjectResponse" }
func (*Reboot) MethodName() string                         { return "Reboot" }
func (*RebootResponse) MethodName() string                 { return "RebootResponse" }
func (*FactoryReset) MethodName() string                   { return "FactoryReset" }
func (*FactoryResetResponse) MethodName() string           { return "FactoryResetResponse" }
func (*Download) MethodName() string                       { return "Download" }
func (*DownloadResponse) MethodName() string               { return "DownloadResponse" }
func (*Upload) MethodName() string                         { return "Upload" }
func (*UploadResponse) MethodName() string                 { return "UploadResponse" }
func (*ScheduleInform) MethodName() string                 { return "ScheduleInform" }
func (*ScheduleInformResponse) MethodName() string         { return "ScheduleInformResponse" }
func (*ScheduleDownload) MethodName() string               { return "ScheduleDownload" }
func (*ScheduleDownloadResponse) MethodName() string       { return "ScheduleDownloadResponse" }
func (*CancelTransfer) MethodName() string                 { return "CancelTransfer" }
func (*CancelTransferResponse) MethodName() string         { return "CancelTransferResponse" }
func (*GetQueuedTransfers) MethodName() string             { return "GetQueuedTransfers" }
func (*GetQueuedTransfersResponse) MethodName() string     { return "GetQueuedTransfersResponse" }
func (*GetAllQueuedTransfers) MethodName() string          { return "GetAllQueuedTransfers" }
func (*GetAllQueuedTransfersResponse) MethodName() string  { return "GetAllQueuedTransfersResponse" }
func (*ChangeDUState) MethodName() string                  { return "ChangeDUState" }
func (*ChangeDUStateResponse) MethodName() string          { return "ChangeDUStateResponse" }
