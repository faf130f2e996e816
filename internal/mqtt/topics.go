package mqtt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Topics builds the topic names of the MQTT contract v1 (docs/design.md §3) under
// one base topic. Device ids are already escaped by the bridge (never a /, +
// or #), so they are used as one level verbatim.
type Topics struct{ Base string }

func (t Topics) BridgeState() string             { return t.Base + "/bridge/state" }
func (t Topics) BridgeInfo() string              { return t.Base + "/bridge/info" }
func (t Topics) BridgeDevices() string           { return t.Base + "/bridge/devices" }
func (t Topics) BridgeEvent() string             { return t.Base + "/bridge/event" }
func (t Topics) BridgeRequest(op string) string  { return t.Base + "/bridge/request/" + op }
func (t Topics) BridgeResponse(op string) string { return t.Base + "/bridge/response/" + op }
func (t Topics) Device(id, leaf string) string   { return t.Base + "/" + id + "/" + leaf }

// StatePayloadOffline is the will on B/bridge/state (docs/design.md §3).
const StatePayloadOffline = `{"state":"offline"}`

// ErrTopic is wrapped by every topic name/filter validation error.
var ErrTopic = errors.New("invalid MQTT topic")

// validateTopicName checks a topic a message is published to
// (MQTT 3.1.1 §4.7.3: non-empty, UTF-8, no wildcards, at most 65535 bytes).
func validateTopicName(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("%w: empty topic", ErrTopic)
	case len(t) > 65535:
		return fmt.Errorf("%w: topic longer than 65535 bytes", ErrTopic)
	case !utf8.ValidString(t):
		return fmt.Errorf("%w: %q is not UTF-8", ErrTopic, t)
	case strings.ContainsAny(t, "+#\x00"):
		return fmt.Errorf("%w: %q contains a wildcard or NUL", ErrTopic, t)
	}
	return nil
}

// validateFilter checks a subscription filter (MQTT 3.1.1 §4.7.1): '#' only as
// the whole last level, '+' only as a whole level.
func validateFilter(f string) error {
	if f == "" || len(f) > 65535 || !utf8.ValidString(f) || strings.ContainsRune(f, 0) {
		return fmt.Errorf("%w: filter %q must be non-empty UTF-8 without NUL", ErrTopic, f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return fmt.Errorf("%w: filter %q: # must be the whole last level", ErrTopic, f)
		}
		if strings.Contains(l, "+") && l != "+" {
			return fmt.Errorf("%w: filter %q: + must be a whole level", ErrTopic, f)
		}
	}
	return nil
}

// matchTopic reports whether topic matches filter (MQTT 3.1.1 §4.7). A shared
// subscription prefix ($share/<group>/) is ignored; a leading wildcard does
// not match topics starting with $ (§4.7.2).
func matchTopic(filter, topic string) bool {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			filter = f
		}
	}
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			// "a/#" matches "a" (§4.7.1.2): the parent level itself.
			return frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}
