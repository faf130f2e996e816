package soap

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode: Decode never panics, fails only with *DecodeError, and whatever it accepts encodes
// and decodes again to the same Envelope (after normalize). Regression seeds from findings live in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		env, err := Decode(body, contentType)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Fault != FaultInvalidArguments || de.Msg == "" {
				t.Fatalf("Decode error %v (%T) is not a *DecodeError 8003", err, err)
			}
			return
		}
		if env.Body == nil {
			if strings.TrimSpace(string(body)) != "" {
				t.Fatalf("no Body and no error for a non-blank body")
			}
			return
		}
		out, err := Encode(env)
		if err != nil {
			t.Fatalf("decoded envelope does not encode: %v\n%s", err, renderGolden(env, nil))
		}
		again, err := Decode(out, "")
		if err != nil {
			t.Fatalf("own output does not decode: %v\n%s", err, out)
		}
		normalize(env)
		normalize(again)
		if !reflect.DeepEqual(env, again) {
			t.Fatalf("re-decoded envelope differs\nfirst: %s\nagain: %s\nxml: %s", renderGolden(env, nil), renderGolden(again, nil), out)
		}
	})
}

// addDecodeSeeds adds the real captures, hand-written quirks and every sample message as
// (body, Content-Type) seeds.
func addDecodeSeeds(f *testing.F) {
	for _, path := range realFixtures(f) {
		body, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, "text/xml")
	}
	latin1Doc := `<?xml version="1.0" encoding="ISO-8859-1"?>` + doc(idHeader, inform("<Manufacturer>Caf\xe9</Manufacturer><OUI>a</OUI><SerialNumber>b</SerialNumber>", ""))
	for _, seed := range []struct{ body, contentType string }{
		{"", ""},
		{" \r\n", "text/xml"},
		{doc(idHeader, ""), ""},
		{latin1Doc, ""},
		{doc("", inform(stdDevice, param("x", "xs:boolean", "1")+param("y", "", "<![CDATA[a<b]]>")+param("z", "xsd:", "&#233;"))), "text/xml; charset=gbk"},
		{doc(idHeader, eventsInform("", 0)), "application/soap+xml"},
		{doc(idHeader, `<soap-env:Fault><faultcode>soap-env:Client</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault><FaultCode>9003</FaultCode><SetParameterValuesFault><ParameterName>a</ParameterName><FaultCode>9007</FaultCode></SetParameterValuesFault></cwmp:Fault></detail></soap-env:Fault>`), ""},
		{doc(idHeader, `<cwmp:ChangeDUState><Operations xsi:type="cwmp:InstallOpStruct"><URL>u</URL></Operations><Operations><UninstallOpStruct><UUID>x</UUID></UninstallOpStruct></Operations></cwmp:ChangeDUState>`), ""},
		{doc(idHeader, `<cwmp:X_ACME_Unknown><a/></cwmp:X_ACME_Unknown>`), ""},
		{doc(`<soap-env:Header><cwmp:SessionTimeout>30</cwmp:SessionTimeout><cwmp:HoldRequests>true</cwmp:HoldRequests><cwmp:UseCWMPVersion>1.4</cwmp:UseCWMPVersion></soap-env:Header>`, `<cwmp:ScheduleDownload><TimeWindowList><TimeWindowStruct><WindowStart>1</WindowStart><MaxRetries>-1</MaxRetries></TimeWindowStruct></TimeWindowList></cwmp:ScheduleDownload>`), ""},
	} {
		f.Add([]byte(seed.body), seed.contentType)
	}
	for _, m := range sampleMessages() {
		b, err := Encode(&Envelope{NS: NSCWMP12, ID: "1", HasID: true, Body: m})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
}

// normalize removes the differences encoding is allowed to make: warnings and AsResponse are not encoded, an
// empty namespace encodes as cwmp-1-0, InformResponse always says MaxEnvelopes 1, an empty SOAP
// faultcode gets its default, and an absent dateTime encodes as the unknown time.
func normalize(env *Envelope) {
	env.Warnings, env.AsResponse = nil, nil // neither is encoded
	if env.NS == "" {
		env.NS = NSCWMP10
	}
	switch m := env.Body.(type) {
	case *InformResponse:
		m.MaxEnvelopes = 1
	case *Fault:
		if m.SOAPCode == "" {
			m.SOAPCode = DefaultSOAPCode(m.Code)
		}
	}
	normalizeDateTimes(reflect.ValueOf(env.Body))
}

var dateTimeType = reflect.TypeFor[DateTime]()

func normalizeDateTimes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			normalizeDateTimes(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			normalizeDateTimes(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == dateTimeType {
			if d := v.Interface().(DateTime); d.Raw == "" && v.CanSet() {
				v.Set(reflect.ValueOf(ParseDateTime(d.String())))
			}
			return
		}
		for i := range v.NumField() {
			normalizeDateTimes(v.Field(i))
		}
	}
}
