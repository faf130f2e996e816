package soap

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Benchmarks on realistic traffic: the Inform of fixture 07 (Sagemcom, TR-181) grown to 20
// parameters, and a GetParameterValuesResponse with 100 parameters of mixed types, both as a
// CPE would send them (indented, SOAP-ENV prefixes, typed values).

func benchInform(b testing.TB) []byte {
	b.Helper()
	raw, err := os.ReadFile("testdata/real/07-sagemcom-router-hgw4-inform-periodic-tr181.xml")
	if err != nil {
		b.Fatal(err)
	}
	var extra strings.Builder
	for _, p := range [][3]string{
		{"Device.DeviceInfo.Manufacturer", "string", "Sagemcom"},
		{"Device.DeviceInfo.ManufacturerOUI", "string", "40F201"},
		{"Device.DeviceInfo.ProductClass", "string", "Router"},
		{"Device.DeviceInfo.SerialNumber", "string", "LK14183DP340340"},
		{"Device.DeviceInfo.UpTime", "unsignedInt", "864213"},
		{"Device.ManagementServer.PeriodicInformEnable", "boolean", "1"},
		{"Device.ManagementServer.PeriodicInformInterval", "unsignedInt", "86400"},
		{"Device.Time.CurrentLocalTime", "dateTime", "2016-01-31T13:28:09+01:00"},
		{"Device.WiFi.SSID.1.SSID", "string", "Livebox-3A2F"},
		{"Device.WiFi.Radio.1.Channel", "unsignedInt", "11"},
		{"Device.Ethernet.Interface.1.Stats.BytesSent", "unsignedLong", "1293845712"},
		{"Device.RootDataModelVersion", "string", "2.11"},
	} {
		fmt.Fprintf(&extra, "\n          <ParameterValueStruct>\n            <Name>%s</Name>\n            <Value xsi:type=\"xsd:%s\">%s</Value>\n          </ParameterValueStruct>", p[0], p[1], p[2])
	}
	s := strings.Replace(string(raw), "ParameterValueStruct[8]", "ParameterValueStruct[20]", 1)
	s = strings.Replace(s, "\n        </ParameterList>", extra.String()+"\n        </ParameterList>", 1)
	env, err := Decode([]byte(s), "")
	if err != nil || len(env.Body.(*Inform).ParameterList) != 20 {
		b.Fatalf("bench Inform: %v", err)
	}
	return []byte(s)
}

func benchGPVResponse(b testing.TB) []byte {
	b.Helper()
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">
  <SOAP-ENV:Header>
    <cwmp:ID SOAP-ENV:mustUnderstand="1">1234</cwmp:ID>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <cwmp:GetParameterValuesResponse>
      <ParameterList SOAP-ENC:arrayType="cwmp:ParameterValueStruct[100]">`)
	kinds := [][2]string{
		{"Enable", "boolean"}, {"Status", "string"}, {"Alias", "string"}, {"LastChange", "unsignedInt"},
		{"Stats.BytesSent", "unsignedLong"}, {"Stats.BytesReceived", "unsignedLong"}, {"MaxBitRate", "int"},
		{"Name", "string"}, {"LowerLayers", "string"}, {"X_ACME_LastUp", "dateTime"},
	}
	for i := range 100 {
		k := kinds[i%len(kinds)]
		val := map[string]string{"boolean": "1", "string": fmt.Sprintf("eth%d up", i), "unsignedInt": "3600",
			"unsignedLong": "98234723", "int": "-1", "dateTime": "2024-05-01T10:20:30Z"}[k[1]]
		fmt.Fprintf(&s, "\n        <ParameterValueStruct>\n          <Name>Device.Ethernet.Interface.%d.%s</Name>\n          <Value xsi:type=\"xsd:%s\">%s</Value>\n        </ParameterValueStruct>",
			i/len(kinds)+1, k[0], k[1], val)
	}
	s.WriteString("\n      </ParameterList>\n    </cwmp:GetParameterValuesResponse>\n  </SOAP-ENV:Body>\n</SOAP-ENV:Envelope>")
	return []byte(s.String())
}

func benchDecode(b *testing.B, body []byte) {
	defer func(check func([]byte, string, *Envelope, error)) { streamCheck = check }(streamCheck)
	streamCheck = nil // the tests' cross-check would time the tree decoder too
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Decode(body, "text/xml; charset=utf-8"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, body []byte) {
	env, err := Decode(body, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeInform(b *testing.B)      { benchDecode(b, benchInform(b)) }
func BenchmarkEncodeInform(b *testing.B)      { benchEncode(b, benchInform(b)) }
func BenchmarkDecodeGPVResponse(b *testing.B) { benchDecode(b, benchGPVResponse(b)) }
func BenchmarkEncodeGPVResponse(b *testing.B) { benchEncode(b, benchGPVResponse(b)) }

// BenchmarkAppendEncodeInformResponse is what the ACS writes per Inform, into a reused buffer.
func BenchmarkAppendEncodeInformResponse(b *testing.B) {
	env := &Envelope{NS: NSCWMP10, ID: "1234", HasID: true, Body: &InformResponse{MaxEnvelopes: 1}}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendEncode(buf[:0], env); err != nil {
			b.Fatal(err)
		}
	}
}

// An Inform's decode allocates what the Envelope keeps — each parameter's name and value, the
// DeviceId's fields, the event — and little else: the namespaces and xsi:types every envelope
// repeats are not copied, and the parameter list is made once at the size its arrayType claims.
// (It was 89 allocations for this 20-parameter Inform: a copy of "xsd:string" per Value, the
// list grown five times.)
func TestDecodeInformAllocations(t *testing.T) {
	body := benchInform(t)
	if !streams(t, body, "") {
		t.Fatal("the Inform was not streamed")
	}
	defer func(check func([]byte, string, *Envelope, error)) { streamCheck = check }(streamCheck)
	streamCheck = nil // the tests' cross-check decodes with the tree decoder too
	var env *Envelope
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if env, err = Decode(body, ""); err != nil {
			t.Fatal(err)
		}
	})
	params := len(env.Body.(*Inform).ParameterList)
	if limit := float64(2*params + 24); allocs > limit {
		t.Errorf("decoding an Inform of %d parameters: %.0f allocations, want at most %.0f", params, allocs, limit)
	}
	for _, p := range env.Body.(*Inform).ParameterList {
		if p.Value.Type == "" {
			t.Errorf("%s: no type", p.Name)
		}
	}
}
