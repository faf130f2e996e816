// Package standard is the built-in translator between the raw CWMP data models and the friendly
// device model v1 (docs/device-model.md). It sits beside the bridge in the flow
// CPE → cwmp → bridge → mqtt → platform: the bridge hands it the raw parameters of an Inform or a
// GetParameterValues result and publishes what Normalize returns on B/D/state; B/D/get and B/D/set
// requests pass through ResolveGet and DenormalizeSet on their way to the CPE.
//
// It understands TR-181 (root "Device.") and TR-098 (root "InternetGatewayDevice.", or the TR-098
// objects under a TR-106 "Device." root as some Thomson CPEs send). Every mapping is a Binding: a
// friendly key pattern, a parameter pattern below the root and, where the value needs it, an enum
// or a conversion. The tables are compiled once in New; Normalize is one pass over the parameters
// plus a short scan that picks the WAN and LAN interfaces.
//
// Vendor translators layer on top with Options.Extensions (see plugins/huawei): an extension
// adds keys under its own namespace and may replace the standard binding of a key.
package standard
