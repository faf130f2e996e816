// Package acs is the ACS side of CWMP (TR-069): the HTTP server CPEs POST to, and the CWMP
// session state machine that runs on it. It sits between the wire and the bridge:
//
//	CPE ─HTTP(S) POST─▶ acs (auth, session, internal/cwmp/soap codec) ─Handler─▶ bridge ─▶ mqtt ─▶ platform
//
// The server authenticates the request that opens a session (internal/cwmp/auth), decodes each envelope
// (internal/cwmp/soap), keys the session by cookie (falling back to the TCP connection), and drives the
// Handler: Inform → CPE requests → empty POST → tasks one at a time → 204 (TR-069 §3.7.1).
// Everything is bounded (docs/checklist.md item 10): body and header size, read and idle timeouts,
// session lifetime, RPCs per session and concurrent sessions.
package acs
