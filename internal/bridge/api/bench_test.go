package api_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// A SetParameterValues of one default batch (checklist 40: 32 names per RPC).
func BenchmarkParseRPCRequestSPV32(b *testing.B) {
	params := make([][]any, 32)
	for i := range params {
		params[i] = []any{fmt.Sprintf("Device.WiFi.SSID.%d.SSID", i+1), fmt.Sprintf("net-%d", i), "xsd:string"}
	}
	payload, _ := json.Marshal(map[string]any{"id": "bench", "method": "SetParameterValues", "args": map[string]any{"parameters": params}})
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, _, err := api.ParseRPCRequest(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// chattyInform is the Inform of a chatty CPE: 64 parameters.
func chattyInform() *soap.Inform {
	inf := thomsonInform()
	for i := range 54 {
		inf.ParameterList = append(inf.ParameterList, soap.ParameterValue{
			Name: fmt.Sprintf("Device.Ethernet.Interface.%d.Stats.BytesSent", i), Value: soap.Value{Type: "unsignedLong", Raw: "123456789"}})
	}
	return inf
}

// A chatty CPE's Inform to its published JSON (api.AppendInformJSON, as the presenter writes it).
func BenchmarkInformMessageJSON(b *testing.B) {
	inf := chattyInform()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := api.AppendInformJSON(nil, thomsonID, inf, received); err != nil {
			b.Fatal(err)
		}
	}
}

// The same with json.Marshal (reflection), the encoding before AppendInformJSON.
func BenchmarkInformMessageJSONMarshal(b *testing.B) {
	inf := chattyInform()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(api.InformMessage(thomsonID, inf, received)); err != nil {
			b.Fatal(err)
		}
	}
}
