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
}

// GetPlan is the answer to a GetRequest: the CWMP parameter names (or partial paths ending in
// ".") to read. Unknown keys are listed in Unknown, never silently dropped.
type GetPlan struct {
	Names   []string
	Unknown []string
}

// SetRequest asks how to write normalized keys (a `set`).
type SetRequest struct {
	Device DeviceInfo
	Values map[string]any
	// Params is the last known raw state of the device, for translators that need instance numbers.
	Params map[string]Value
}

// RPC is one CWMP RPC a translator asks the gateway to run, in a JSON form the gateway
// already accepts on MQTT (docs/mqtt-api.md): Method is the CWMP method, Args its arguments.
type RPC struct {
	Method string
	Args   map[string]any
}

// SetPlan is the answer to a SetRequest: RPCs to run in order (AddObject before the
// SetParameterValues that fills the new instance). Rejected lists keys it refuses, with reasons.
type SetPlan struct {
	RPCs     []RPC
	Rejected map[string]string
}

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
