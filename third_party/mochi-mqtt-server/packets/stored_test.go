package packets

import (
	"reflect"
	"testing"
)

// cwmp2mqtt patch: Packets keeps packets compact (storedPacket); what it gives back must be the
// packet it was given, field for field.

func TestPacketsGiveBackWhatTheyKeep(t *testing.T) {
	plain := Packet{
		FixedHeader: FixedHeader{Type: Publish, Qos: 1, Retain: true, Remaining: 42},
		TopicName:   "cwmp2mqtt/dev/state", Payload: []byte(`{"a":1}`), Origin: "inline",
		Created: 1_000, Expiry: 2_000, PacketID: 7, ProtocolVersion: 5, Mods: Mods{MaxSize: 1024},
	}
	full := plain
	full.Properties = Properties{MessageExpiryInterval: 60, ContentType: "application/json",
		CorrelationData: []byte("c"), User: []UserProperty{{Key: "k", Val: "v"}}, PayloadFormatFlag: true}
	full.Connect = ConnectParams{ClientIdentifier: "cl", WillTopic: "w", WillPayload: []byte("bye"), WillFlag: true}
	full.ReasonCodes = []byte{1}
	full.Filters = Subscriptions{{Filter: "a/#", Qos: 1}}

	p := NewPackets()
	p.Add("plain", plain)
	p.Add("full", full)
	for id, want := range map[string]Packet{"plain": plain, "full": full} {
		got, ok := p.Get(id)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v (found %v), want %+v", id, got, ok, want)
		}
		if all := p.GetAll(); !reflect.DeepEqual(all[id], want) {
			t.Errorf("%s from GetAll: got %+v, want %+v", id, all[id], want)
		}
	}
	if p.internal["plain"].rest != nil {
		t.Error("a plain PUBLISH kept its zero CONNECT and properties behind a pointer")
	}
	if p.internal["full"].rest == nil {
		t.Error("a PUBLISH with properties lost them")
	}
	p.Delete("plain")
	if _, ok := p.Get("plain"); ok || p.Len() != 1 {
		t.Errorf("after Delete: found %v, Len %d", ok, p.Len())
	}
}
