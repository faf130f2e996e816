package api_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// checkAppendJSON fails unless m.AppendJSON writes what json.Marshal writes (or fails as it does).
func checkAppendJSON[M interface {
	AppendJSON([]byte) ([]byte, error)
}](t *testing.T, m M) {
	t.Helper()
	want, wantErr := json.Marshal(m)
	got, err := m.AppendJSON([]byte("prefix"))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("AppendJSON error %v, json.Marshal error %v", err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("AppendJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
}

// checkInformJSON fails unless AppendInformJSON writes json.Marshal(InformMessage(…)).
func checkInformJSON(t *testing.T, id string, inf *soap.Inform, received time.Time) {
	t.Helper()
	want, wantErr := json.Marshal(api.InformMessage(id, inf, received))
	got, err := api.AppendInformJSON([]byte("prefix"), id, inf, received)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("AppendInformJSON error %v, json.Marshal error %v", err, wantErr)
	}
	if err == nil && (!bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want)) {
		t.Fatalf("AppendInformJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
}

// B/D/inform's payload is the same bytes with the hand-written encoder as with json.Marshal,
// whatever the CPE put in its strings and values.
func TestInformAppendJSONIsMarshal(t *testing.T) {
	checkAppendJSON(t, api.InformMessage(thomsonID, thomsonInform(), received))
	checkAppendJSON(t, api.InformMessage(thomsonID, &soap.Inform{}, received)) // no events, no parameters
	checkAppendJSON(t, api.Inform{})                                           // nil slices and map

	odd := thomsonInform()
	odd.DeviceID.Manufacturer = "A<b>&\"c\"\\\n\r\t\b\f\x01\x1f\x7f é \u2028\u2029 \xff\xfe 😀"
	odd.Events = append(odd.Events, soap.Event{Code: "M <X_Vendor>", CommandKey: "key&\"'"}, soap.Event{Code: "1 BOOT"})
	odd.CurrentTime = soap.ParseDateTime("2024-05-01T10:20:30.123456789+05:45")
	odd.RetryCount, odd.MaxEnvelopes = -3, 1<<40
	odd.ParameterList = append(odd.ParameterList,
		soap.ParameterValue{Name: "X.<odd>&\"name\"", Value: soap.Value{Type: "string", Raw: "\x00 \u2028"}},
		soap.ParameterValue{Name: "X.Big", Value: soap.Value{Type: "unsignedLong", Raw: "18446744073709551615"}},
		soap.ParameterValue{Name: "X.Neg", Value: soap.Value{Type: "long", Raw: "-9223372036854775808"}},
		soap.ParameterValue{Name: "X.Zero", Value: soap.Value{Type: "int", Raw: "0"}},
		soap.ParameterValue{Name: "X.False", Value: soap.Value{Type: "boolean", Raw: "false"}},
		soap.ParameterValue{Name: "X.BadBool", Value: soap.Value{Type: "boolean", Raw: "maybe"}},
		soap.ParameterValue{Name: "X.B64", Value: soap.Value{Type: "base64", Raw: "AAE="}},
		soap.ParameterValue{Name: "X.Big", Value: soap.Value{Type: "unsignedLong", Raw: "1"}}, // repeated: the last wins
	)
	m := api.InformMessage(thomsonID+"<&>", odd, received.In(time.FixedZone("CEST", 7200)))
	checkAppendJSON(t, m)
	checkInformJSON(t, thomsonID+"<&>", odd, received.In(time.FixedZone("CEST", 7200)))
	checkInformJSON(t, thomsonID, thomsonInform(), received)
	checkInformJSON(t, thomsonID, &soap.Inform{}, received)
	odd.CurrentTime = soap.DateTime{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Valid: true}
	checkInformJSON(t, thomsonID, odd, received)

	// What only json.Marshal knows: other value types, a time RFC 3339 cannot hold.
	m.Parameters["X.Float"] = api.ParamValue{Value: 1.5, Type: "float"}
	m.Parameters["X.Nil"] = api.ParamValue{Type: "string"}
	m.Parameters["X.Empty"] = api.ParamValue{Value: json.Number(""), Type: "int"}
	checkAppendJSON(t, m)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	m.CurrentTime.Time = &far
	checkAppendJSON(t, m)
	m.CurrentTime.Time = nil
	m.Received = time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 25*3600))
	checkAppendJSON(t, m)
}

func FuzzInformAppendJSON(f *testing.F) {
	f.Add("THOMSON", "2 PERIODIC", "key", "1970-01-01T00:02:16Z", "X.Y", "unsignedInt", "300")
	f.Add("a<b>", "M X", "\x00", "2024-05-01T10:20:30+05:45", "\u2028", "boolean", "true")
	f.Fuzz(func(t *testing.T, manufacturer, code, key, current, name, typ, value string) {
		inf := &soap.Inform{DeviceID: soap.DeviceID{Manufacturer: manufacturer, SerialNumber: key},
			Events: []soap.Event{{Code: code, CommandKey: key}}, CurrentTime: soap.ParseDateTime(current),
			ParameterList: []soap.ParameterValue{{Name: name, Value: soap.Value{Type: typ, Raw: value}}}}
		checkAppendJSON(t, api.InformMessage(code, inf, received))
		inf.ParameterList = append(inf.ParameterList, soap.ParameterValue{Name: value, Value: soap.Value{Type: name, Raw: typ}},
			soap.ParameterValue{Name: name, Value: soap.Value{Type: "int", Raw: value}})
		checkInformJSON(t, code, inf, received)
	})
}

// B/D/event's payload is the same bytes with the hand-written encoder as with json.Marshal: an
// Inform's events, odd strings, events with data, a time RFC 3339 cannot hold.
func TestDeviceEventAppendJSONIsMarshal(t *testing.T) {
	odd := thomsonInform()
	odd.Events = append(odd.Events, soap.Event{Code: "M <Reboot>", CommandKey: "key&\"'\x01\u2028\xff"}, soap.Event{Code: "1 BOOT"},
		soap.Event{Code: "7 TRANSFER COMPLETE"}, soap.Event{Code: ""})
	evs := api.DeviceEventsFromInform(thomsonID+"<&>", odd, received.In(time.FixedZone("CEST", 7200)))
	if len(evs) < 3 {
		t.Fatalf("only %d events", len(evs))
	}
	for _, e := range evs {
		checkAppendJSON(t, e)
	}
	checkAppendJSON(t, api.DeviceEvent{})
	checkAppendJSON(t, api.DeviceEvent{Event: api.EventTransferComplete, Device: "d", Data: api.TransferData{Success: true}, Time: received})
	checkAppendJSON(t, api.DeviceEvent{Event: "x", Device: "d", Data: math.NaN(), Time: received}) // json.Marshal's error
	checkAppendJSON(t, api.DeviceEvent{Event: "x", Device: "d", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	checkAppendJSON(t, api.DeviceEvent{Event: "x", Device: "d", Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 25*3600))})
}

func FuzzDeviceEventAppendJSON(f *testing.F) {
	f.Add("2 PERIODIC", "key", "dev")
	f.Add("M <X>", "\x00\u2028", "a&b")
	f.Fuzz(func(t *testing.T, code, key, device string) {
		inf := &soap.Inform{Events: []soap.Event{{Code: code, CommandKey: key}}}
		for _, e := range api.DeviceEventsFromInform(device, inf, received) {
			checkAppendJSON(t, e)
		}
	})
}
