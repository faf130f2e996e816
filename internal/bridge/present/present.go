// Package present is the bridge's presenter: what the gateway publishes, on which topic under
// the base topic, with which payload, and in which batch (docs/mqtt-api.md, docs/schema/*.json).
// It sits at the end of the inbound flow, just before the durable outbox:
//
//	CPE ─▶ acs ─▶ bridge (registry, task queue) ─▶ present ─▶ outbox (package mqtt) ─▶ platform
//
// It is given values and returns mqtt.Publish messages; it holds no lock and publishes nothing
// itself: the bridge decides when a message goes out and hands it to the outbox. The one piece
// of state it keeps is Published, a device's last retained state and info, which the bridge
// holds with the device (under the device's lock) so an unchanged state is not published again.
package present

import (
	"cmp"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
)

// Presenter names topics under the base topic and encodes the gateway's messages at one QoS.
type Presenter struct {
	base string
	qos  byte
}

// New returns the presenter of base topic base (mqtt.base_topic) publishing at qos (mqtt.qos).
func New(base string, qos byte) Presenter { return Presenter{base: base, qos: qos} }

// Topic joins the base topic and parts: Topic("bridge","state") = "B/bridge/state".
func (p Presenter) Topic(parts ...string) string {
	n := len(p.base)
	for _, s := range parts {
		n += 1 + len(s)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, p.base...)
	for _, s := range parts {
		buf = append(buf, '/')
		buf = append(buf, s...)
	}
	return string(buf)
}

// Message encodes v as the JSON payload of topic. On error the message still names its topic,
// for the log line.
func (p Presenter) Message(topic string, v any, retained bool) (mqtt.Publish, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return mqtt.Publish{Topic: topic}, err
	}
	return mqtt.Publish{Topic: topic, Payload: payload, Retained: retained, QoS: p.qos}, nil
}

// Clear is the empty retained message that removes what topic retains (a removed device).
func (p Presenter) Clear(topic string) mqtt.Publish {
	return mqtt.Publish{Topic: topic, Retained: true, QoS: p.qos}
}

// BridgeState is the retained B/bridge/state.
func (p Presenter) BridgeState(state, version string, started time.Time) (mqtt.Publish, error) {
	started = started.UTC()
	return p.Message(p.Topic("bridge", "state"), api.BridgeState{State: state, Version: version, Started: &started}, true)
}

// BridgeInfo is the retained B/bridge/info.
func (p Presenter) BridgeInfo(info *api.BridgeInfo) (mqtt.Publish, error) {
	return p.Message(p.Topic("bridge", "info"), info, true)
}

// BridgeEvent is one B/bridge/event.
func (p Presenter) BridgeEvent(ev api.BridgeEvent) (mqtt.Publish, error) {
	return p.Message(p.Topic("bridge", "event"), ev, false)
}

// BridgeResponse answers a B/bridge/request/<op> on B/bridge/response/<op>.
func (p Presenter) BridgeResponse(op string, resp api.BridgeResponse) (mqtt.Publish, error) {
	return p.Message(p.Topic("bridge", "response", op), resp, false)
}

// DeviceCounts is the retained B/bridge/devices.
func (p Presenter) DeviceCounts(c api.DeviceCounts) (mqtt.Publish, error) {
	return p.Message(p.Topic("bridge", "devices"), c, true)
}

// Availability is the retained B/D/availability; reason says why a device is offline.
func (p Presenter) Availability(id string, online bool, since time.Time, reason string) (mqtt.Publish, error) {
	a := api.NewAvailability(online, since)
	a.Reason = reason
	return p.Message(p.Topic(id, "availability"), a, true)
}

// Inform is what an Inform publishes as it came: B/D/inform, then one B/D/event per event code.
// A message that cannot be encoded is left out; err is the first such failure.
func (p Presenter) Inform(id string, inf *soap.Inform, received time.Time) (out []mqtt.Publish, err error) {
	add := func(m mqtt.Publish, e error) {
		if e != nil {
			err = cmp.Or(err, fmt.Errorf("%s: %w", m.Topic, e))
			return
		}
		out = append(out, m)
	}
	// Written without reflection: json.Marshal of every Inform was the largest JSON cost of a
	// periodic session (api.AppendInformJSON writes the same bytes).
	payload, e := api.AppendInformJSON(nil, id, inf, received)
	add(mqtt.Publish{Topic: p.Topic(id, "inform"), Payload: payload, QoS: p.qos}, e)
	for _, ev := range api.DeviceEventsFromInform(id, inf, received) {
		add(p.DeviceEvent(ev))
	}
	return out, err
}

// DeviceEvent is one B/D/event of the event's device (encoded without reflection: every Inform
// has one at least).
func (p Presenter) DeviceEvent(ev api.DeviceEvent) (mqtt.Publish, error) {
	topic := p.Topic(ev.Device, "event")
	payload, err := ev.AppendJSON(nil)
	if err != nil {
		return mqtt.Publish{Topic: topic}, err
	}
	return mqtt.Publish{Topic: topic, Payload: payload, QoS: p.qos}, nil
}

// State is the retained B/D/state of the state's device.
func (p Presenter) State(st *api.State) (mqtt.Publish, error) {
	return p.Message(p.Topic(st.Device, "state"), st, true)
}

// Info is the retained B/D/info of the summary's device.
func (p Presenter) Info(s *api.DeviceSummary) (mqtt.Publish, error) {
	return p.Message(p.Topic(s.ID, "info"), s, true)
}

// Result is a request's result, on replyTo when the request named one, else on B/D/rpc/result.
func (p Presenter) Result(res *api.RPCResult, replyTo string) (mqtt.Publish, error) {
	topic := replyTo
	if topic == "" {
		topic = p.Topic(res.Device, "rpc", "result")
	}
	return p.Message(topic, res, false)
}

// Batch collects the messages of one Inform (or one sweep) so they cost one outbox commit,
// not one each; they are delivered in the order added.
type Batch struct{ Msgs []mqtt.Publish }

// Add appends messages to the batch.
func (b *Batch) Add(m ...mqtt.Publish) { b.Msgs = append(b.Msgs, m...) }
