package sdk

// Value is one raw CWMP parameter value as the gateway received it: Type is the xsd local name
// ("string", "unsignedInt", "boolean", "dateTime", …) and Value the text as sent by the CPE.
type Value struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

// DeviceInfo identifies the device a call is about.
type DeviceInfo struct {
	ID              string // gateway device id (OUI-ProductClass-Serial)
	Manufacturer    string
	OUI             string
	ProductClass    string
	SerialNumber    string
	SoftwareVersion string
	HardwareVersion string
	// Root is the data model root: "InternetGatewayDevice." (TR-098) or "Device." (TR-181).
	Root string
}

// Match is one match rule; empty fields match anything. A rule matches when every non-empty
// field matches; the most specific rule (most non-empty fields) across translators wins.
// String fields are exact, case-insensitive, except SoftwareVersion and HardwareVersion, which are
// prefixes.
//
// The tags let the gateway read match overrides from its configuration
// (plugins.translators.<name>.match) and report rules as JSON.
type Match struct {
	Manufacturer    string `json:"manufacturer,omitempty" mapstructure:"manufacturer"`
	OUI             string `json:"oui,omitempty" mapstructure:"oui"`
	ProductClass    string `json:"product_class,omitempty" mapstructure:"product_class"`
	SoftwareVersion string `json:"software_version,omitempty" mapstructure:"software_version"`
	HardwareVersion string `json:"hardware_version,omitempty" mapstructure:"hardware_version"`
}

// Access of an exposed key.
type Access string

const (
	Read      Access = "read"
	Write     Access = "write" // write-only (e.g. a Wi-Fi passphrase)
	ReadWrite Access = "read_write"
)

// Expose types: the Go value a State holds for each (after the wire, which the host applies to
// in-process translators too).
const (
	TypeString   = "string"   // string
	TypeInteger  = "integer"  // int64 (any Go integer is accepted and converted)
	TypeNumber   = "number"   // float64 (integers are accepted and converted)
	TypeBoolean  = "boolean"  // bool
	TypeDateTime = "datetime" // RFC 3339 string (a time.Time is accepted and formatted)
	TypeObject   = "object"   // JSON-decoded map[string]any or []any
)

// Expose describes one normalized key of the friendly device model (docs/device-model.md).
// Key is a dotted path ("wifi.ssids.1.ssid"); a "*" segment stands for any instance number, so
// "wifi.ssids.*.ssid" declares wifi.ssids.1.ssid, wifi.ssids.2.ssid, ... Type is one of the Type
// constants; Unit is optional ("s", "bytes", "%", "dBm", "MHz"). The gateway refuses state keys
// that no readable Expose declares and values of another type.
type Expose struct {
	Key         string
	Type        string
	Unit        string
	Access      Access
	Description string
}

// Description is what a translator says of itself.
type Description struct {
	Name    string
	Version string
	Match   []Match
	Exposes []Expose
	// ModelVersion is the device-model version the translator produces (e.g. "1").
	ModelVersion string
}

// NormalizeRequest carries raw parameters (from an Inform or a GetParameterValues result).
type NormalizeRequest struct {
	Device DeviceInfo
	Params map[string]Value
}

// State is normalized state: dotted keys → JSON-compatible values (string, int64, float64, bool).
type State map[string]any

// GetRequest asks which parameters to read for normalized keys (a `get`).
type GetRequest struct {
	Device DeviceInfo
	Keys   []string
	// Model is the device's data model as the gateway discovered it; nil while unknown. With
	// it, a translator names only parameters the device has (DataModel.Has) and lists in
	// GetPlan.Missing the asked keys whose parameter the device lacks.
	Model *DataModel
}

// GetPlan is the answer to a GetRequest: the CWMP parameter names (or partial paths ending in
// ".") to read. Keys the translator does not know are listed in Unknown, never silently dropped;
// the gateway rejects a get naming any. Keys it knows but this device's data model lacks (a
// TR-181-only key on a TR-098 device) are listed in Absent: nothing is read for them and the get
// goes on without them, as for a key the device reports no value for. A known key that needs no
// parameter (one Normalize returns from no parameters, like the standard "model") is in neither
// list and adds no name.
//
// Missing (only with GetRequest.Model) maps an asked key to the parameter it needs that the
// device's data model lacks; the gateway rejects a get naming any, with the key and the
// parameter, and sends nothing to the CPE.
type GetPlan struct {
	Names   []string
	Unknown []string
	Absent  []string
	Missing map[string]string
}

// SetRequest asks how to write normalized keys (a `set`).
type SetRequest struct {
	Device DeviceInfo
	Values map[string]any
	// Params is the last known raw state of the device, for translators that need instance numbers.
	Params map[string]Value
	// Model is the device's data model (see GetRequest.Model): with it, a key whose parameter
	// the device lacks is rejected with RejectAbsent, and among alternative parameters for one
	// key (TR-098 KeyPassphrase vs PreSharedKey.1.KeyPassphrase) the one the device has is used.
	Model *DataModel
}

// RPC is one CWMP RPC a translator asks the gateway to run, in a JSON form the gateway
// already accepts on MQTT (docs/mqtt-api.md): Method is the CWMP method, Args its arguments.
type RPC struct {
	Method string
	Args   map[string]any
}

// SetPlan is the answer to a SetRequest: RPCs to run in order (AddObject before the
// SetParameterValues that fills the new instance). Rejected lists keys it refuses, with reasons a
// person can act on; any rejected key rejects the whole set. Codes optionally classifies rejected
// keys, so tools can tell a request or translator at fault from a device that cannot take the key.
type SetPlan struct {
	RPCs     []RPC
	Rejected map[string]string
	Codes    map[string]RejectCode
}

// RejectCode says why DenormalizeSet refused a key (SetPlan.Codes). The first three blame the
// request; RejectAbsent and RejectReadOnlyHere the device, which lacks what the key needs.
type RejectCode string

const (
	RejectInvalid  RejectCode = "invalid"   // the value does not fit the key
	RejectUnknown  RejectCode = "unknown"   // the translator exposes no such key
	RejectReadOnly RejectCode = "read_only" // the key is read-only (its Expose says Read)
	// RejectAbsent: this device lacks the key (its data model has no parameter for it, as in
	// GetPlan.Absent) or the object holding it (that instance, a PPP WAN connection …).
	RejectAbsent RejectCode = "absent"
	// RejectReadOnlyHere: the key is writable, but read-only in this device's data model
	// (the Wi-Fi standard is writable in TR-181, read-only in TR-098).
	RejectReadOnlyHere RejectCode = "read_only_here"
)

// ProvisionRequest is sent on BOOTSTRAP / BOOT informs.
type ProvisionRequest struct {
	Device DeviceInfo
	Events []string
	Params map[string]Value
}

// Translator is what a vendor implements and hands to Serve. Every call is coarse: one per
// Inform, per result or per request, never per parameter. Errors are reported to the gateway
// and logged with the device id; they never crash it.
type Translator interface {
	Describe() (Description, error)
	Normalize(NormalizeRequest) (State, error)
	ResolveGet(GetRequest) (GetPlan, error)
	DenormalizeSet(SetRequest) (SetPlan, error)
	Provision(ProvisionRequest) ([]RPC, error)
}
