package api

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// ParseRPCRequest validates a B/D/rpc payload and builds the ACS→CPE message it asks for.
// Validation comes first and is complete: malformed JSON, unknown fields, a missing or bad id,
// an unknown method, missing, mistyped or out-of-range arguments each give a *RequestError naming
// the field ("args.names[2]: must be a string, got a number").
//
// On error, req is still non-nil when the payload was a JSON object: it carries whatever of id,
// method and reply_to was readable, so the bridge can address the "rejected" result and echo the
// id (an invalid reply_to is left empty, the result then goes to B/D/rpc/result).
func ParseRPCRequest(payload []byte) (*RPCRequest, soap.Message, error) {
	m, err := decodeObject(payload)
	if err != nil {
		return nil, nil, err
	}
	req := &RPCRequest{}
	if s, ok := m["method"].(string); ok && len(s) <= 64 {
		req.Method = s
	}
	o, err := parseEnvelope(&req.Request, m, "method", "args")
	if err != nil {
		return req, nil, err
	}
	name, err := o.requiredStr("method", 64)
	if err != nil {
		return req, nil, err
	}
	meth, ok := lookupMethod(name)
	if !ok {
		return req, nil, fieldErr("method", "unknown method %q (known: %s)", name, strings.Join(MethodNames(), ", "))
	}
	req.Method = meth.name
	if raw, ok := m["args"]; ok {
		req.Args, _ = json.Marshal(raw) // re-encoded from a decoded value: cannot fail
	}
	msg, err := meth.parse(m["args"])
	if err != nil {
		return req, nil, err
	}
	return req, msg, nil
}

// BuildRPC builds the ACS→CPE message for a method name and its JSON args, with the same
// validation as ParseRPCRequest. Translators' RPCs (plugins/sdk.RPC) go through it.
func BuildRPC(method string, args json.RawMessage) (soap.Message, error) {
	meth, ok := lookupMethod(method)
	if !ok {
		return nil, fieldErr("method", "unknown method %q (known: %s)", method, strings.Join(MethodNames(), ", "))
	}
	var v any
	if len(strings.TrimSpace(string(args))) > 0 {
		var err error
		if v, err = decodeJSON(args); err != nil {
			return nil, &RequestError{Field: "args", Reason: err.(*RequestError).Reason}
		}
	}
	return meth.parse(v)
}

// ParseSetRequest validates a B/D/set payload: {"id", "values": {normalized key: value}, …}.
// Whether the keys exist and are writable is the translator's call. Numbers arrive as int64
// when integral, float64 otherwise. On error req is as ParseRPCRequest's.
func ParseSetRequest(payload []byte) (*SetRequest, error) {
	m, err := decodeObject(payload)
	if err != nil {
		return nil, err
	}
	req := &SetRequest{}
	if _, err := parseEnvelope(&req.Request, m, "values"); err != nil {
		return req, err
	}
	vals, ok := m["values"].(map[string]any)
	if !ok {
		if m["values"] == nil {
			return req, fieldErr("values", "required")
		}
		return req, fieldErr("values", "must be an object of key: value, got %s", jsonKind(m["values"]))
	}
	if len(vals) == 0 {
		return req, fieldErr("values", "must not be empty")
	}
	if len(vals) > MaxListLength {
		return req, fieldErr("values", "too many keys: %d, at most %d", len(vals), MaxListLength)
	}
	req.Values = make(map[string]any, len(vals))
	for k, val := range vals {
		p := "values." + k
		if err := checkKey(p, k); err != nil {
			return req, err
		}
		if val == nil {
			return req, fieldErr(p, "must not be null")
		}
		req.Values[k] = plainJSON(val)
	}
	return req, nil
}

// ParseGetRequest validates a B/D/get payload: {"id", "keys": [normalized keys], …}; absent or
// empty keys ask for every readable key of the translator.
func ParseGetRequest(payload []byte) (*GetRequest, error) {
	m, err := decodeObject(payload)
	if err != nil {
		return nil, err
	}
	req := &GetRequest{}
	o, err := parseEnvelope(&req.Request, m, "keys")
	if err != nil {
		return req, err
	}
	if a, ok := m["keys"].([]any); ok && len(a) == 0 {
		return req, nil
	}
	if o.has("keys") {
		if req.Keys, err = o.stringList("keys", checkKey); err != nil {
			return req, err
		}
	}
	return req, nil
}

// decodeObject parses a request payload, which must be one JSON object.
func decodeObject(payload []byte) (map[string]any, error) {
	v, err := decodeJSON(payload)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fieldErr("", "payload must be a JSON object, got %s", jsonKind(v))
	}
	return m, nil
}

// parseEnvelope reads id, reply_to, timeout and expires into r and refuses unknown fields. id and
// reply_to are stored as soon as they are valid, before anything else is checked.
func parseEnvelope(r *Request, m map[string]any, extra ...string) (*object, error) {
	loose := &object{m: m}
	id, idErr := loose.requiredStr("id", MaxIDLength)
	if idErr == nil && strings.TrimSpace(id) == "" {
		idErr = fieldErr("id", "must not be empty")
	}
	if idErr == nil {
		r.ID = id
	}
	replyTo, rtErr := loose.str("reply_to", MaxTopicLength)
	if rtErr == nil {
		rtErr = checkTopic("reply_to", replyTo)
	}
	if rtErr == nil {
		r.ReplyTo = replyTo
	}
	if idErr != nil {
		return nil, idErr
	}
	if rtErr != nil {
		return nil, rtErr
	}
	o, err := newObject("", m, append([]string{"id", "reply_to", "timeout", "expires"}, extra...)...)
	if err != nil {
		return nil, err
	}
	if r.Timeout, err = o.seconds("timeout", MaxTimeout); err != nil {
		return nil, err
	}
	if r.Expires, err = o.seconds("expires", MaxExpires); err != nil {
		return nil, err
	}
	return o, nil
}

// checkTopic accepts a publishable MQTT topic (MQTT 3.1.1 §4.7): no wildcards, no NUL, and not
// a broker-reserved "$…" topic.
func checkTopic(path, t string) error {
	switch {
	case t == "":
		return nil
	case strings.ContainsAny(t, "+#\x00"):
		return fieldErr(path, "%q: a reply topic has no wildcard (+, #) or NUL", t)
	case strings.HasPrefix(t, "$"):
		return fieldErr(path, "%q: topics starting with $ are reserved by the broker", t)
	}
	return nil
}

// checkKey accepts a normalized key of a translator's exposes ("wifi.ssids.1.ssid").
func checkKey(path, k string) error {
	if k == "" || len(k) > maxNameLength || strings.ContainsAny(k, " \t\r\n\x00") {
		return fieldErr(path, "%q: a key is 1 to %d characters without spaces", k, maxNameLength)
	}
	return nil
}

// plainJSON turns json.Number into int64 or float64, recursively, the types translators get
// (plugins/sdk.State).
func plainJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = plainJSON(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = plainJSON(v[k])
		}
	}
	return v
}
