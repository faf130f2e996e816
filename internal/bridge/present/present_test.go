package present_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/present"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
)

const dev = "00259E-HG8245H-48575443A1B2C3D4"

var at = time.Date(2026, 12, 2, 4, 0, 0, 0, time.FixedZone("CET", 3600))

// encoded fails the test when the presenter could not encode a message.
func encoded(t *testing.T) func(mqtt.Publish, error) mqtt.Publish {
	return func(m mqtt.Publish, err error) mqtt.Publish {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		return m
	}
}

func bootInform() *soap.Inform {
	return &soap.Inform{
		DeviceID:    soap.DeviceID{Manufacturer: "Huawei", OUI: "00259E", ProductClass: "HG8245H", SerialNumber: "48575443A1B2C3D4"},
		Events:      []soap.Event{{Code: "1 BOOT"}, {Code: "M Reboot", CommandKey: "r1"}},
		CurrentTime: soap.DateTime{Time: at, Raw: at.Format(time.RFC3339), Valid: true},
		ParameterList: []soap.ParameterValue{
			{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", Value: soap.Value{Type: "xsd:string", Raw: "V3R017"}},
			{Name: "InternetGatewayDevice.ManagementServer.ConnectionRequestURL", Value: soap.Value{Type: "xsd:string", Raw: "http://192.0.2.7:7547/cr"}},
		},
	}
}

// Every message kind the gateway publishes, on the topic docs/mqtt-api.md names for it, with a
// payload its JSON Schema accepts, retained exactly when the contract says so, at the set QoS.
func TestEveryMessageKindHasItsTopicSchemaAndRetainFlag(t *testing.T) {
	p, must := present.New("gw", 2), encoded(t)
	summary := api.DeviceSummary{ID: dev, Manufacturer: "Huawei", OUI: "00259E", ProductClass: "HG8245H",
		SerialNumber: "48575443A1B2C3D4", Model: "HG8245H", Firmware: "V3R017", Online: true, LastInform: at.UTC(), IP: "192.0.2.7"}
	total := 1
	cases := []struct {
		name, topic, schema string
		retained            bool
		msg                 mqtt.Publish
	}{
		{"bridge state", "gw/bridge/state", "bridge-state", true, must(p.BridgeState("online", "1.2.3", at))},
		{"bridge info", "gw/bridge/info", "bridge-info", true, must(p.BridgeInfo(&api.BridgeInfo{Version: "1.2.3", Started: at.UTC(), BaseTopic: "gw",
			Listeners: []api.Listener{{Name: "acs", Address: ":7547", Path: "/acs"}}, Broker: api.Broker{URL: "mqtt://127.0.0.1:1883", ClientID: "cwmp2mqtt-1"},
			Translators: []api.TranslatorInfo{{Name: "standard", Version: "1", ModelVersion: "1", State: "running", Builtin: true}}}))},
		{"bridge event", "gw/bridge/event", "bridge-event", false, must(p.BridgeEvent(api.BridgeEvent{Event: api.BridgeDeviceOnline, Device: dev, Time: at.UTC()}))},
		{"bridge response", "gw/bridge/response/list_devices", "bridge-response", false, must(p.BridgeResponse(api.OpListDevices,
			api.BridgeResponse{Transaction: "t1", Op: api.OpListDevices, Status: api.BridgeOK, Data: api.DeviceList([]api.DeviceSummary{summary}), Total: &total, Time: at.UTC()}))},
		{"bridge devices", "gw/bridge/devices", "bridge-devices", true, must(p.DeviceCounts(api.DeviceCounts{Devices: 3, Online: 2, Offline: 1, Updated: at.UTC()}))},
		{"availability online", "gw/" + dev + "/availability", "availability", true, must(p.Availability(dev, true, at, ""))},
		{"availability offline", "gw/" + dev + "/availability", "availability", true, must(p.Availability(dev, false, at, "no session"))},
		{"device event", "gw/" + dev + "/event", "device-event", false, must(p.DeviceEvent(api.DeviceEvent{Event: api.EventTransferTimeout, Device: dev, CommandKey: "fw1",
			Data: api.TransferTimeoutData{Method: "Download", WaitedSeconds: 3600}, Time: at.UTC()}))},
		{"state", "gw/" + dev + "/state", "state", true, must(p.State(&api.State{Device: dev, Model: "1", Translator: "standard", Updated: at.UTC(),
			Values: map[string]any{"wifi.ssid.1.ssid": "home", "wifi.ssid.1.enabled": true}}))},
		{"info", "gw/" + dev + "/info", "device-info", true, must(p.Info(&summary))},
		{"result", "gw/" + dev + "/rpc/result", "rpc-result", false, must(p.Result(&api.RPCResult{ID: "r1", Device: dev, Method: "Reboot", Status: api.Status("done"),
			Result: map[string]any{}, Time: at.UTC()}, ""))},
		{"result to reply_to", "platform/replies/7", "rpc-result", false, must(p.Result(&api.RPCResult{ID: "r2", Device: dev, Method: "Reboot", Status: api.Status("accepted"),
			Time: at.UTC()}, "platform/replies/7"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.msg.Topic != c.topic {
				t.Errorf("topic %q, want %q", c.msg.Topic, c.topic)
			}
			if c.msg.Retained != c.retained || c.msg.QoS != 2 {
				t.Errorf("retained %v qos %d, want retained %v qos 2", c.msg.Retained, c.msg.QoS, c.retained)
			}
			if err := apitest.ValidatePayload(c.schema, c.msg.Payload); err != nil {
				t.Errorf("payload fails schema %s: %v\n%s", c.schema, err, c.msg.Payload)
			}
		})
	}
}

// An Inform publishes B/D/inform first, then one B/D/event per event code, in the Inform's order.
func TestInformIsInformThenOneEventPerCode(t *testing.T) {
	msgs, err := present.New("gw", 1).Inform(dev, bootInform(), at)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want inform + 2 events: %v", len(msgs), msgs)
	}
	if msgs[0].Topic != "gw/"+dev+"/inform" || msgs[0].Retained {
		t.Errorf("first message %s retained=%v, want the unretained inform", msgs[0].Topic, msgs[0].Retained)
	}
	if err := apitest.ValidatePayload("inform", msgs[0].Payload); err != nil {
		t.Errorf("inform fails its schema: %v\n%s", err, msgs[0].Payload)
	}
	var names []string
	for _, m := range msgs[1:] {
		if m.Topic != "gw/"+dev+"/event" || m.Retained {
			t.Errorf("event on %s retained=%v", m.Topic, m.Retained)
		}
		if err := apitest.ValidatePayload("device-event", m.Payload); err != nil {
			t.Errorf("event fails its schema: %v\n%s", err, m.Payload)
		}
		var ev struct{ Event string }
		_ = json.Unmarshal(m.Payload, &ev)
		names = append(names, ev.Event)
	}
	if strings.Join(names, ",") != "boot,method" {
		t.Errorf("events %v, want boot then method (M Reboot)", names)
	}
}

// A periodic Inform that changes nothing does not republish the retained state; a changed value,
// or the state going stale on a translator failure, does.
func TestUnchangedStateIsNotPublishedAgain(t *testing.T) {
	var pub present.Published
	see := func(st api.State) present.StateSeen {
		s, err := present.SeeState(&st)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	st := api.State{Device: dev, Values: map[string]any{"wifi.ssid.1.ssid": "home"}, Updated: at}
	if !pub.StateChanged(see(st)) {
		t.Fatal("first state not published")
	}
	st.Updated = at.Add(time.Hour) // a later Inform, same values
	if pub.StateChanged(see(st)) {
		t.Error("unchanged values published again")
	}
	st.Stale = true
	if !pub.StateChanged(see(st)) {
		t.Error("state gone stale not published")
	}
	st.Stale = false
	st.Values = map[string]any{"wifi.ssid.1.ssid": "office"}
	if !pub.StateChanged(see(st)) {
		t.Error("changed value not published")
	}
	before := pub
	if pub.StateChanged(see(st)) || !pub.SameState(before) {
		t.Error("the same state twice counted as a change")
	}
}

// A new last_inform alone is no change of B/D/info (B/D/inform and availability carry it); a new
// firmware is.
func TestNewLastInformAloneDoesNotRepublishInfo(t *testing.T) {
	var pub present.Published
	s := api.DeviceSummary{ID: dev, OUI: "00259E", Firmware: "V3R017", Online: true, LastInform: at}
	if !pub.InfoChanged(s) {
		t.Fatal("first info not published")
	}
	before := pub
	s.LastInform = at.Add(time.Hour)
	if pub.InfoChanged(s) || !pub.SameInfo(before) {
		t.Error("info republished for a new last_inform alone")
	}
	s.Firmware = "V3R018"
	if !pub.InfoChanged(s) || pub.SameInfo(before) {
		t.Error("new firmware not published on info")
	}
}

// A value JSON cannot carry (a translator's NaN) fails with the topic named, for the log line.
func TestUnencodableStateNamesItsTopic(t *testing.T) {
	st := &api.State{Device: dev, Values: map[string]any{"wan.rx_rate": math.NaN()}}
	m, err := present.New("gw", 1).State(st)
	if err == nil {
		t.Fatal("NaN encoded")
	}
	if m.Topic != "gw/"+dev+"/state" || m.Payload != nil {
		t.Errorf("failed message %+v, want only its topic", m)
	}
	var pub present.Published
	if _, err := present.SeeState(st); err == nil {
		t.Error("SeeState encoded NaN")
	}
	if pub.SameState(present.Published{}) != true {
		t.Error("zero Published differs from zero")
	}
}

// A batch keeps its messages in the order added (the outbox delivers them in that order).
func TestBatchKeepsOrder(t *testing.T) {
	p, must := present.New("gw", 1), encoded(t)
	var b present.Batch
	b.Add(must(p.BridgeEvent(api.BridgeEvent{Event: api.BridgeDeviceRegistered, Device: dev, Time: at})))
	msgs, err := p.Inform(dev, bootInform(), at)
	if err != nil {
		t.Fatal(err)
	}
	b.Add(msgs...)
	b.Add(must(p.Availability(dev, true, at, "")))
	var topics []string
	for _, m := range b.Msgs {
		topics = append(topics, strings.TrimPrefix(m.Topic, "gw/"))
	}
	want := "bridge/event " + dev + "/inform " + dev + "/event " + dev + "/event " + dev + "/availability"
	if strings.Join(topics, " ") != want {
		t.Errorf("batch %v, want %s", topics, want)
	}
}

// Topics join the base topic and the parts with '/', and a cleared topic is an empty retained
// message (what removing a device publishes).
func TestTopicAndClear(t *testing.T) {
	p := present.New("site/a", 1)
	if got := p.Topic("+", "rpc"); got != "site/a/+/rpc" {
		t.Errorf("Topic = %q", got)
	}
	if got := p.Topic(); got != "site/a" {
		t.Errorf("Topic() = %q", got)
	}
	c := p.Clear(p.Topic(dev, "state"))
	if c.Topic != "site/a/"+dev+"/state" || !c.Retained || len(c.Payload) != 0 || c.QoS != 1 {
		t.Errorf("Clear = %+v", c)
	}
}

// Every field of a B/D/info entry but last_inform is a change (InfoChanged hashes the fields
// one by one, not the JSON: a field added to api.DeviceSummary or api.Interview and forgotten
// there fails here).
func TestEveryInfoFieldButLastInformIsAChange(t *testing.T) {
	finished := at.Add(time.Minute)
	base := api.DeviceSummary{ID: dev, Manufacturer: "Huawei", OUI: "00259E", ProductClass: "HG8245H",
		SerialNumber: "48575443A1B2C3D4", Model: "HG8245H", Firmware: "V3R017", Hardware: "A", Translator: "standard",
		Online: true, LastInform: at, IP: "192.0.2.7", Quirks: []string{"one_name_per_gpv"},
		Interview: &api.Interview{State: "done", Reason: "first_contact", Firmware: "V3R017", Names: 10, Keys: 5,
			RPCs: 2, DurationMs: 300, Started: at, Finished: &finished}}
	changed := func(what string, edit func(s *api.DeviceSummary)) {
		t.Helper()
		var pub present.Published
		pub.InfoChanged(base)
		s := base
		iv := *base.Interview
		s.Interview = &iv
		s.Quirks = append([]string(nil), base.Quirks...)
		edit(&s)
		if got, want := pub.InfoChanged(s), what != "LastInform"; got != want {
			t.Errorf("a new %s: changed %v, want %v", what, got, want)
		}
	}
	st := reflect.TypeOf(api.DeviceSummary{})
	for i := range st.NumField() {
		f := st.Field(i)
		if f.Name == "Interview" {
			changed("Interview (none)", func(s *api.DeviceSummary) { s.Interview = nil })
			it := reflect.TypeOf(api.Interview{})
			for j := range it.NumField() {
				changed("Interview."+it.Field(j).Name, func(s *api.DeviceSummary) { mutate(t, reflect.ValueOf(s.Interview).Elem().Field(j)) })
			}
			changed("Interview.Finished (none)", func(s *api.DeviceSummary) { s.Interview.Finished = nil })
			continue
		}
		changed(f.Name, func(s *api.DeviceSummary) { mutate(t, reflect.ValueOf(s).Elem().Field(i)) })
	}
	changed("Quirks (one more)", func(s *api.DeviceSummary) { s.Quirks = append(s.Quirks, "x") })
	changed("Quirks (none)", func(s *api.DeviceSummary) { s.Quirks = nil })
}

// mutate changes v to another value of its type.
func mutate(t *testing.T, v reflect.Value) {
	t.Helper()
	switch x := v.Addr().Interface().(type) {
	case *time.Time:
		*x = x.Add(time.Second)
	case **time.Time:
		later := (*x).Add(time.Second)
		*x = &later
	case *string:
		*x += "x"
	case *bool:
		*x = !*x
	case *int:
		*x++
	case *int64:
		*x++
	case *[]string:
		(*x)[0] += "x"
	default:
		t.Fatalf("no change known for a field of type %s", v.Type())
	}
}
