// Package connreq wakes CPEs: the connection-request client of TR-069 §3.2.2 (HTTP GET to the
// ConnectionRequestURL) and Annex G (signed UDP datagram for CPEs behind NAT, TR-111).
//
// Where it sits: platform ─MQTT─▶ mqtt ─▶ bridge (queues the task) ─▶ connreq.Wake ─HTTP/UDP─▶ CPE,
// which then opens a CWMP session to internal/cwmp/acs where the task runs. Wake only says whether the CPE
// accepted the request; the session itself is watched by the bridge (checklist 50: the CPE may
// defer the request and its next Inform may not carry "6 CONNECTION REQUEST").
//
// It also offers the receiving side (NewListenerHandler, VerifyUDPRequest) for the CPE simulator.
// Digest is internal/cwmp/auth's, written once for both directions.
package connreq
