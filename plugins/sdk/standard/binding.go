package standard

import "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"

// Binding maps one friendly key to one CWMP parameter of one data model.
//
// Param is the parameter path below the root. A "{i}" segment is an instance number that feeds
// the key's "{i}" segments in order; a literal number must match exactly. Param may start with a
// context such as "{wan}" or "{lan}": the object instance the model scan picked for this device
// (the default WAN connection, the LAN IP interface), see contexts in tr098.go and tr181.go.
type Binding struct {
	Key   string
	Param string
	// XSD is the parameter's type in the spec (boolean, int, unsignedInt, string, dateTime …);
	// writes are encoded as "xsd:"+XSD.
	XSD string
	// Enum maps raw values to friendly values; writes use the inverse. Raw values missing from
	// the map are passed through unchanged on read and refused on write.
	Enum map[string]string
	// Read converts the raw text when the key's type alone is not enough (units in the text,
	// references); a non-nil error skips the key and reports the reason.
	Read func(raw string) (any, error)
	// Write validates and encodes a written value; nil uses the default for the key's type.
	Write func(v any) (string, error)
	// ReadOnly marks a parameter that is read-only in this model while the key is writable in
	// another one (e.g. the Wi-Fi standard is writable in TR-181 only).
	ReadOnly bool
	// Instance makes the value the key's instance number itself (TR-098 SSIDs are their own radio).
	Instance bool
	// RemapAP marks TR-181 AccessPoint parameters: the captured instance is an AccessPoint,
	// published under the SSID its SSIDReference points to.
	RemapAP bool
	// Derived keys are computed by the model scan from Param and Sources (several parameters or
	// a choice among instances). Param and Sources are still read on a get and checked against the spec.
	Derived bool
	Sources []string
}

// Extension is what a vendor translator adds on top of the standard mapping: the keys it
// introduces (namespaced, e.g. "huawei.firewall_level") and bindings per model. A binding whose
// key the standard mapping already binds in that model replaces the standard binding.
type Extension struct {
	Exposes []sdk.Expose
	TR098   []Binding
	TR181   []Binding
}
