// Package soap is the CWMP (TR-069) message codec: it turns SOAP envelopes of CWMP 1.0–1.4 into
// typed Go messages and back. It sits at the bottom of the ACS side of the flow
// (CPE ─HTTP─▶ internal/cwmp/acs ─▶ soap ─▶ bridge ─▶ mqtt ─▶ platform; plugins beside bridge) and knows
// nothing of HTTP, sessions or MQTT. The CPE simulator uses it the other way round: it encodes
// CPE messages and decodes ACS ones.
//
// Decoding (Decode) is tolerant, following docs/checklist.md "Envelope and namespaces",
// "Inform" and "Values": namespaces are resolved by URI, never by prefix; declared charsets are
// transcoded; arrayType counts are never trusted; values keep their raw text when they cannot be
// parsed; an unknown method becomes *Unknown. What it tolerated is listed in Envelope.Warnings,
// and what it cannot use is a *DecodeError carrying the ACS fault code to answer with.
//
// Encoding (Encode, EncodeWith, AppendEncode) is strict: it always emits xsi:type, ParameterKey
// and soap-enc:arrayType with the true count, writes no empty header element, escapes all text,
// and refuses (ErrUnencodable) what XML cannot carry. EncodeOptions adapt booleans and dateTimes to
// quirky CPEs.
package soap
