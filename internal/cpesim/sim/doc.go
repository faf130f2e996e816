// Package sim simulates TR-069 CPEs over real HTTP. It is the far end of the flow
// (simulated CPE → cwmp → bridge → mqtt → platform): a CPE posts Informs to an ACS, answers every
// ACS→CPE RPC from its datamodel.Model, and listens for connection requests.
//
// A CPE (NewCPE) runs the CWMP session loop of TR-069 §3.7: POST Inform → InformResponse →
// pending TransferComplete / DUStateChangeComplete → empty POST → execute each ACS request and
// POST its response → until the ACS answers 204 or an empty 200 (checklist 7). It keeps cookies
// (a jar per CPE), honours 503 + Retry-After, retries failed sessions with the back-off of
// §3.2.1.1, and authenticates toward the ACS with none, Basic or Digest (internal/cwmp/auth).
//
// Events: 0 BOOTSTRAP on first contact (and after FactoryReset), 1 BOOT, 2 PERIODIC,
// 3 SCHEDULED, 4 VALUE CHANGE (SetValue on a parameter with notification on),
// 6 CONNECTION REQUEST, 7 TRANSFER COMPLETE, 11 DU STATE CHANGE COMPLETE, and the matching
// "M <Method>" events with their CommandKey.
//
// Connection requests: CRHandler is a Digest-protected GET handler whose credentials are read
// from the model (ManagementServer.ConnectionRequestUsername/Password) at each request, so an
// SPV of new credentials takes effect at once. ListenCR gives a CPE its own port; a Fleet serves
// all its CPEs on one listener under /cr/<serial>.
//
// Quirks (quirks.go) reproduce real firmware deviations: periodic-only, crash-on-unknown-name,
// short-gpv, malformed-reboot-response, cr-no-session, busy-after-reset, undeclared-fault-prefix,
// ignore-nextlevel.
//
// Tests steer a CPE with Faults (a FaultPlan: fail a method or a parameter name with any code)
// and SetMuted (the CR listener drops requests unanswered), and wait on a Recorder (sessions and
// RPCs as they happen) instead of sleeping.
package sim
