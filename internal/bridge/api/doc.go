// Package api is the MQTT contract v1 of cwmp2mqtt as Go code: one type per JSON payload the
// gateway publishes or receives (docs/mqtt-api.md, one JSON Schema each under docs/schema/), the
// validation of platform requests, and the rendering of CWMP messages as readable JSON.
//
// It sits between the protocol and the broker:
//
//	CPE → cwmp (soap.Message) → bridge ⇄ api (JSON payloads) → mqtt → platform
//
// The bridge core turns an Inform into Inform/State/DeviceEvent payloads, a platform's rpc
// payload into a soap.Message with ParseRPCRequest, and the CPE's answer into an RPCResult with
// ResultFromMessage / FaultResult. The package does no I/O and imports only internal/cwmp/soap and the
// standard library, so the mqtt side, the plugins and tests can share it.
package api
