// Package auth is HTTP authentication for CWMP, both directions, standard library only.
//
// Where it sits: CPE ─HTTP─▶ internal/cwmp/acs (calls Verifier.Check before any SOAP is read) ─▶ bridge.
// The other way, internal/cwmp/connreq ─HTTP GET─▶ CPE and the CPE simulator ─HTTP POST─▶ ACS wrap their
// transport in NewClientTransport, which answers Basic and Digest challenges.
//
// Server side (checklist 16–18): Basic and Digest (RFC 2617 / RFC 7616 with MD5 and MD5-sess,
// qop=auth and RFC 2069 clients without qop). The Digest nonce is stateless, an HMAC of its issue
// time, so a CPE that reconnects after the 401 (AVM Fritzbox) still authenticates.
package auth
