// Package soap is the CWMP (TR-069) message codec: it turns SOAP envelopes of CWMP 1.0–1.4 into
// typed Go messages and back. It sits at the bottom of the ACS side of the flow
// (CPE ─HTTP─▶ cwmp/acs ─▶ soap ─▶ bridge) and knows nothing of HTTP, sessions or MQTT.
//
// Decoding is tolerant (see ../../docs and CWMP-CHECKLIST.md "Envelope and namespaces",
// "Inform", "Values"): namespaces are resolved by URI, never by prefix; charsets are transcoded;
// arrayType counts are never trusted; values keep their raw text when they cannot be parsed.
// Encoding is strict: it always emits xsi:type, ParameterKey and soap-enc:arrayType.
package soap
