package soap

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Crafted inputs for the checklist sections "Inform" (28–33), "Values" (34–36), Download (41)
// and faults (44, 45).

func TestChecklist28DeviceID(t *testing.T) {
	_, inf := decodeInform(t, doc(idHeader, inform(
		`<Manufacturer xsi:type="xsd:string">
		  ACME
Networks  </Manufacturer><OUI xsi:type="xsd:string">00a0c6</OUI><SerialNumber> SN 1 </SerialNumber>`, "")), "")
	want := DeviceID{Manufacturer: "ACME\nNetworks", OUI: "00a0c6", SerialNumber: "SN 1"}
	if inf.DeviceID != want {
		t.Errorf("DeviceID = %+v, want %+v (ProductClass optional, OUI case kept, newline kept)", inf.DeviceID, want)
	}
	for _, c := range []struct{ device, missing string }{
		{`<Manufacturer>A</Manufacturer><ProductClass>P</ProductClass><SerialNumber>S</SerialNumber>`, "OUI"},
		{`<Manufacturer>A</Manufacturer><OUI>  </OUI><SerialNumber>S</SerialNumber>`, "OUI"},
		{`<Manufacturer>A</Manufacturer><OUI>00A0C6</OUI><ProductClass>P</ProductClass>`, "SerialNumber"},
	} {
		env, _ := decodeFails(t, doc(idHeader, inform(c.device, "")), c.missing)
		if env == nil || env.ID != "42" {
			t.Errorf("missing %s: envelope for the fault lost the ID: %+v", c.missing, env)
		}
	}
	decodeFails(t, doc(idHeader, `<cwmp:Inform><Event/><RetryCount>0</RetryCount></cwmp:Inform>`), "DeviceId is missing")
}

func eventsInform(events string, count int) string {
	return `<cwmp:Inform><DeviceId>` + stdDevice + `</DeviceId><Event soap-enc:arrayType="cwmp:EventStruct[` + fmt.Sprint(count) + `]">` + events +
		`</Event><MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-02T03:04:05Z</CurrentTime><RetryCount>0</RetryCount><ParameterList/></cwmp:Inform>`
}

func event(code, key string) string {
	return `<EventStruct><EventCode>` + code + `</EventCode><CommandKey>` + key + `</CommandKey></EventStruct>`
}

func TestChecklist29EventLists(t *testing.T) {
	env, inf := decodeInform(t, doc(idHeader, eventsInform("", 0)), "")
	if len(inf.Events) != 0 || len(env.Warnings) != 0 {
		t.Errorf("EventStruct[0]: events %v, warnings %q", inf.Events, env.Warnings)
	}
	_, inf = decodeInform(t, doc(idHeader, eventsInform(event("0 BOOTSTRAP", "")+event("1 BOOT", "")+
		event("7 TRANSFER COMPLETE", "")+event("M Download", "fw 42 ")+`<EventStruct><EventCode>99 SOMETHING NEW</EventCode><CommandKey/></EventStruct>`, 5)), "")
	want := []Event{{Code: "0 BOOTSTRAP"}, {Code: "1 BOOT"}, {Code: "7 TRANSFER COMPLETE"}, {Code: "M Download", CommandKey: "fw 42 "}, {Code: "99 SOMETHING NEW"}}
	if fmt.Sprint(inf.Events) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", inf.Events, want)
	}
	var many strings.Builder
	for i := range 64 {
		many.WriteString(event("4 VALUE CHANGE", fmt.Sprint(i)))
	}
	_, inf = decodeInform(t, doc(idHeader, eventsInform(many.String(), 64)), "")
	if len(inf.Events) != 64 || inf.Events[63].CommandKey != "63" {
		t.Errorf("64 events: got %d", len(inf.Events))
	}
}

func TestChecklist30EventCodesVerbatim(t *testing.T) {
	codes := []string{"0 BOOTSTRAP", "1 BOOT", "2 PERIODIC", "3 SCHEDULED", "4 VALUE CHANGE", "5 KICKED",
		"6 CONNECTION REQUEST", "7 TRANSFER COMPLETE", "8 DIAGNOSTICS COMPLETE", "9 REQUEST DOWNLOAD",
		"10 AUTONOMOUS TRANSFER COMPLETE", "11 DU STATE CHANGE COMPLETE", "12 AUTONOMOUS DU STATE CHANGE COMPLETE",
		"13 WAKEUP", "14 HEARTBEAT", "M Reboot", "M ScheduleInform", "M X_ACME_Frobnicate", "X 00A0C6 Special Thing", "X CT-COM BIND"}
	var evs strings.Builder
	for _, c := range codes {
		evs.WriteString(event(c, ""))
	}
	_, inf := decodeInform(t, doc(idHeader, eventsInform(evs.String(), len(codes))), "")
	if len(inf.Events) != len(codes) {
		t.Fatalf("%d events, want %d", len(inf.Events), len(codes))
	}
	for i, c := range codes {
		if inf.Events[i].Code != c {
			t.Errorf("event %d = %q, want %q", i, inf.Events[i].Code, c)
		}
	}
}

func TestChecklist31InformResponseMaxEnvelopesIsOne(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		out, err := Encode(&Envelope{Body: &InformResponse{MaxEnvelopes: n}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte("<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>")) {
			t.Errorf("MaxEnvelopes %d encoded as:\n%s", n, out)
		}
	}
}

func TestChecklist32DateTimeForms(t *testing.T) {
	cases := []struct {
		raw     string
		valid   bool
		unknown bool
		utc     string
	}{
		{"2016-04-07T08:43:49Z", true, false, "2016-04-07T08:43:49Z"},
		{"2016-01-31T13:28:09+01:00", true, false, "2016-01-31T12:28:09Z"},
		{"2018-04-01T19:45:02-04:00", true, false, "2018-04-01T23:45:02Z"},
		{"2015-01-19T23:08:24", true, false, "2015-01-19T23:08:24Z"},
		{"2013-06-02T21:27:26.080821Z", true, false, "2013-06-02T21:27:26.080821Z"},
		{"2019-07-08T18:15:42.030Z", true, false, "2019-07-08T18:15:42.03Z"},
		{"2020-02-02T02:02:02+0530", true, false, "2020-02-01T20:32:02Z"},
		{"0001-01-01T00:00:00Z", true, true, "0001-01-01T00:00:00Z"},
		{" 2016-04-07T08:43:49Z\n", true, false, "2016-04-07T08:43:49Z"},
		{"2019-03-05T11:54::14", false, false, ""},
		{"0000-00-00T00:00:00", false, false, ""},
		{"yesterday", false, false, ""},
	}
	for _, c := range cases {
		d := ParseDateTime(c.raw)
		if d.Valid != c.valid || d.Unknown() != c.unknown || d.Raw != strings.TrimSpace(c.raw) {
			t.Errorf("ParseDateTime(%q) = %+v (Unknown %v)", c.raw, d, d.Unknown())
			continue
		}
		if c.valid && d.Time.UTC().Format(time.RFC3339Nano) != c.utc {
			t.Errorf("ParseDateTime(%q).Time = %s, want %s", c.raw, d.Time.UTC().Format(time.RFC3339Nano), c.utc)
		}
		if d.String() != strings.TrimSpace(c.raw) {
			t.Errorf("String() = %q, want the raw text", d.String())
		}
		_, err := Value{Type: TypeDateTime, Raw: c.raw}.Time()
		if (err == nil) != c.valid {
			t.Errorf("Value.Time(%q) error = %v", c.raw, err)
		}
	}
	if nd := NewDateTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("", 7200))); nd.String() != "2024-05-01T10:00:00Z" || nd.Unknown() {
		t.Errorf("NewDateTime String = %q", nd.String())
	}
	if !(DateTime{}).Unknown() || (DateTime{}).String() != "0001-01-01T00:00:00Z" {
		t.Error("an unset DateTime must be (and encode as) the unknown time")
	}
	// The bad CurrentTime of fixture 06 does not cost the Inform.
	body := strings.Replace(doc(idHeader, inform(stdDevice, "")), "2024-01-02T03:04:05Z", "2019-03-05T11:54::14", 1)
	env, inf := decodeInform(t, body, "")
	if inf.CurrentTime.Valid || inf.CurrentTime.Raw != "2019-03-05T11:54::14" || len(env.Warnings) != 1 {
		t.Errorf("CurrentTime %+v, warnings %q", inf.CurrentTime, env.Warnings)
	}
}

func TestChecklist33DefaultsAndArrayCounts(t *testing.T) {
	const bare = `<cwmp:Inform><DeviceId>` + stdDevice + `</DeviceId><ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[16]">`
	params := param("A", "xsd:string", "1") + param("B", "xsd:string", "2") + param("C", "xsd:string", "3")
	env, inf := decodeInform(t, doc(idHeader, bare+params+`</ParameterList></cwmp:Inform>`), "")
	if inf.RetryCount != 0 || inf.Events != nil || inf.MaxEnvelopes != 1 || len(inf.ParameterList) != 3 {
		t.Errorf("defaults: %+v", inf)
	}
	joined := strings.Join(env.Warnings, "\n")
	for _, w := range []string{"RetryCount", "Event", "MaxEnvelopes", "CurrentTime"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning about missing %s in %q", w, env.Warnings)
		}
	}
	for _, arrayType := range []string{"cwmp:ParameterValueStruct[0008]", "cwmp:ParameterValueStruct[1]", "garbage", "{urn:dslforum-org:cwmp-1-2}ParameterValueStruct[99]"} {
		body := strings.Replace(doc(idHeader, inform(stdDevice, params)), "cwmp:ParameterValueStruct[1]", arrayType, 1)
		_, inf := decodeInform(t, body, "")
		if len(inf.ParameterList) != 3 {
			t.Errorf("arrayType %q: %d params, want the 3 present", arrayType, len(inf.ParameterList))
		}
	}
	// Garbage counts are tolerated in an Inform; RetryCount "00" is 0 (fixture 01).
	body := strings.Replace(strings.Replace(doc(idHeader, inform(stdDevice, "")), "<RetryCount>0<", "<RetryCount>00<", 1), "<MaxEnvelopes>1<", "<MaxEnvelopes>many<", 1)
	env, inf = decodeInform(t, body, "")
	if inf.RetryCount != 0 || inf.MaxEnvelopes != 1 || len(env.Warnings) != 1 {
		t.Errorf("RetryCount %d MaxEnvelopes %d warnings %q", inf.RetryCount, inf.MaxEnvelopes, env.Warnings)
	}
}

func TestChecklist34ValueTypes(t *testing.T) {
	params := param("s", "xsd:string", "x") + param("i", "xsd:int", "-5") + param("u", "xsd:unsignedInt", "5") +
		param("l", "xsd:long", "-9000000000") + param("ul", "xsd:unsignedLong", "9000000000") +
		param("b", "xsd:boolean", "true") + param("dt", "xsd:dateTime", "2024-01-02T03:04:05Z") +
		param("b64", "xsd:base64", "AAEC") + param("hex", "xsd:hexBinary", "00ff") +
		`<ParameterValueStruct><Name>xs</Name><Value xmlns:xs="http://www.w3.org/2001/XMLSchema" xsi:type="xs:boolean">1</Value></ParameterValueStruct>` +
		param("untyped", "", "7") + param("emptyprefix", "xsd:", "raw") + param("json", "xsd:json", `{"a":1}`) +
		param("emptybool", "xsd:boolean", "") + param("emptyint", "xsd:int", "") + param("badint", "xsd:int", "12abc") +
		param("undeclared", "q:string", "z")
	env := decodeOK(t, doc(idHeader, `<cwmp:GetParameterValuesResponse><ParameterList>`+params+`</ParameterList></cwmp:GetParameterValuesResponse>`), "")
	got := map[string]Value{}
	for _, p := range env.Body.(*GetParameterValuesResponse).ParameterList {
		got[p.Name] = p.Value
	}
	wantTypes := map[string]string{
		"s": "string", "i": "int", "u": "unsignedInt", "l": "long", "ul": "unsignedLong", "b": "boolean",
		"dt": "dateTime", "b64": "base64", "hex": "hexBinary", "xs": "boolean", "untyped": "string",
		"emptyprefix": "string", "json": "json", "emptybool": "boolean", "emptyint": "int", "badint": "int", "undeclared": "string",
	}
	for name, typ := range wantTypes {
		if got[name].Type != typ {
			t.Errorf("%s: type %q, want %q", name, got[name].Type, typ)
		}
	}
	if len(env.Warnings) != 3 {
		t.Errorf("want warnings for untyped, empty prefix and undeclared prefix, got %q", env.Warnings)
	}
	if i, err := got["i"].Int(); err != nil || i != -5 {
		t.Errorf("Int = %d, %v", i, err)
	}
	if l, err := got["l"].Int(); err != nil || l != -9000000000 {
		t.Errorf("long = %d, %v", l, err)
	}
	if u, err := got["ul"].Uint(); err != nil || u != 9000000000 {
		t.Errorf("Uint = %d, %v", u, err)
	}
	if b, err := got["b64"].Bytes(); err != nil || !bytes.Equal(b, []byte{0, 1, 2}) {
		t.Errorf("base64 Bytes = %v, %v", b, err)
	}
	if b, err := got["hex"].Bytes(); err != nil || !bytes.Equal(b, []byte{0, 0xff}) {
		t.Errorf("hex Bytes = %v, %v", b, err)
	}
	for _, name := range []string{"emptybool", "emptyint", "badint"} {
		if got[name].Raw != map[string]string{"emptybool": "", "emptyint": "", "badint": "12abc"}[name] {
			t.Errorf("%s: raw text not kept: %q", name, got[name].Raw)
		}
	}
	if _, err := got["emptybool"].Bool(); !errors.Is(err, ErrBadValue) {
		t.Errorf("empty boolean: err %v, want ErrBadValue", err)
	}
	if _, err := got["badint"].Int(); !errors.Is(err, ErrBadValue) {
		t.Errorf("bad int: err %v, want ErrBadValue", err)
	}
	if _, err := got["json"].Uint(); !errors.Is(err, ErrBadValue) {
		t.Errorf("json as uint: err %v", err)
	}
}

func TestChecklist35BooleanFormsAndQuirkyEncoding(t *testing.T) {
	for raw, want := range map[string]bool{"true": true, "false": false, "1": true, "0": false, "True": true, " FALSE ": false} {
		if b, err := (Value{Type: TypeBoolean, Raw: raw}).Bool(); err != nil || b != want {
			t.Errorf("Bool(%q) = %v, %v", raw, b, err)
		}
	}
	env := &Envelope{Body: &SetParameterValues{ParameterList: []ParameterValue{
		{Name: "A", Value: BoolValue(true)}, {Name: "B", Value: BoolValue(false)},
		{Name: "T", Value: DateTimeValue(time.Date(2024, 1, 2, 3, 4, 5, 600e6, time.UTC))},
	}}}
	std, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	quirky, err := EncodeWith(env, EncodeOptions{BoolAsNumber: true, DateTimeMillis: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<Value xsi:type="xsd:boolean">true</Value>`, `<Value xsi:type="xsd:boolean">false</Value>`, `<Value xsi:type="xsd:dateTime">2024-01-02T03:04:05Z</Value>`} {
		if !bytes.Contains(std, []byte(want)) {
			t.Errorf("standard encoding lacks %s:\n%s", want, std)
		}
	}
	for _, want := range []string{`<Value xsi:type="xsd:boolean">1</Value>`, `<Value xsi:type="xsd:boolean">0</Value>`, `<Value xsi:type="xsd:dateTime">2024-01-02T03:04:05.000Z</Value>`} {
		if !bytes.Contains(quirky, []byte(want)) {
			t.Errorf("quirky encoding lacks %s:\n%s", want, quirky)
		}
	}
	gpn, err := EncodeWith(&Envelope{Body: &GetParameterNames{ParameterPath: "Device.", NextLevel: true}}, EncodeOptions{BoolAsNumber: true})
	if err != nil || !bytes.Contains(gpn, []byte("<NextLevel>1</NextLevel>")) {
		t.Errorf("NextLevel not 1 under BoolAsNumber: %s %v", gpn, err)
	}
	dl, err := EncodeWith(&Envelope{Body: &DownloadResponse{StartTime: NewDateTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))}}, EncodeOptions{DateTimeMillis: true})
	if err != nil || !bytes.Contains(dl, []byte("<StartTime>2024-01-02T03:04:05.000Z</StartTime>")) {
		t.Errorf("DateTime field not in milliseconds: %s %v", dl, err)
	}
}

func TestChecklist36AlwaysTypedKeyedCounted(t *testing.T) {
	out, err := Encode(&Envelope{Body: &SetParameterValues{ParameterList: []ParameterValue{
		{Name: "A", Value: Value{Raw: "untyped"}}, {Name: "B", Value: UintValue(1)}, {Name: "C", Value: StringValue("")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[3]">`,
		`<Value xsi:type="xsd:string">untyped</Value>`, `<Value xsi:type="xsd:unsignedInt">1</Value>`,
		`<Value xsi:type="xsd:string"></Value>`, `<ParameterKey></ParameterKey>`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	arrays := map[Message]string{
		&GetParameterValues{ParameterNames: []string{"a", "b"}}: `<ParameterNames soap-enc:arrayType="xsd:string[2]">`,
		&GetParameterValues{}: `<ParameterNames soap-enc:arrayType="xsd:string[0]"></ParameterNames>`,
		&SetParameterAttributes{ParameterList: make([]SetParameterAttribute, 4)}:           `<ParameterList soap-enc:arrayType="cwmp:SetParameterAttributesStruct[4]">`,
		&GetParameterAttributes{ParameterNames: []string{"x"}}:                             `<ParameterNames soap-enc:arrayType="xsd:string[1]">`,
		&ScheduleDownload{TimeWindowList: make([]TimeWindow, 2)}:                           `<TimeWindowList soap-enc:arrayType="cwmp:TimeWindowStruct[2]">`,
		&AddObject{ObjectName: "Device.X."}:                                                `<ParameterKey></ParameterKey>`,
		&DeleteObject{ObjectName: "Device.X.1."}:                                           `<ParameterKey></ParameterKey>`,
		&Inform{Events: make([]Event, 2)}:                                                  `<Event soap-enc:arrayType="cwmp:EventStruct[2]">`,
		&GetRPCMethodsResponse{MethodList: []string{"Inform"}}:                             `<MethodList soap-enc:arrayType="xsd:string[1]">`,
		&SetParameterAttributes{ParameterList: []SetParameterAttribute{{AccessList: nil}}}: `<AccessList soap-enc:arrayType="xsd:string[0]"></AccessList>`,
	}
	for m, want := range arrays {
		out, err := Encode(&Envelope{Body: m})
		if err != nil || !bytes.Contains(out, []byte(want)) {
			t.Errorf("%s: missing %s in\n%s (%v)", m.MethodName(), want, out, err)
		}
	}
}

func TestChecklist41DownloadEveryChild(t *testing.T) {
	out, err := Encode(&Envelope{Body: &Download{FileType: "1 Firmware Upgrade Image", URL: "http://fw.example/x.bin"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `<cwmp:Download><CommandKey></CommandKey><FileType>1 Firmware Upgrade Image</FileType><URL>http://fw.example/x.bin</URL>` +
		`<Username></Username><Password></Password><FileSize>0</FileSize><TargetFileName></TargetFileName>` +
		`<DelaySeconds>0</DelaySeconds><SuccessURL></SuccessURL><FailureURL></FailureURL></cwmp:Download>`
	if !bytes.Contains(out, []byte(want)) {
		t.Errorf("Download lacks children:\n%s", out)
	}
	env := decodeOK(t, doc(idHeader, `<cwmp:DownloadResponse><Status>1</Status><StartTime>0001-01-01T00:00:00Z</StartTime><CompleteTime>0001-01-01T00:00:00Z</CompleteTime></cwmp:DownloadResponse>`), "")
	if r := env.Body.(*DownloadResponse); r.Status != 1 || !r.StartTime.Unknown() {
		t.Errorf("DownloadResponse = %+v", r)
	}
}

func TestChecklist44ACSFaultShape(t *testing.T) {
	for _, c := range []struct {
		code     int
		soapCode string
	}{{FaultMethodNotSupported, "Client"}, {FaultInvalidArguments, "Client"}, {FaultInternalError, "Server"}, {FaultRetryRequest, "Server"}} {
		out, err := Encode(&Envelope{NS: NSCWMP12, ID: "7", HasID: true, Body: NewACSFault(c.code, "bad <thing>")})
		if err != nil {
			t.Fatal(err)
		}
		want := `<soap-env:Body><soap-env:Fault><faultcode>` + c.soapCode + `</faultcode><faultstring>CWMP fault</faultstring>` +
			`<detail><cwmp:Fault><FaultCode>` + fmt.Sprint(c.code) + `</FaultCode><FaultString>bad &lt;thing&gt;</FaultString>` +
			`</cwmp:Fault></detail></soap-env:Fault></soap-env:Body>`
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("fault %d:\n%s\nwant %s", c.code, out, want)
		}
	}
	// A fault built without SOAPCode gets the right one.
	out, _ := Encode(&Envelope{Body: &Fault{Code: FaultCPEInvalidParameterName}})
	if !bytes.Contains(out, []byte("<faultcode>Client</faultcode>")) {
		t.Errorf("9005 without SOAPCode:\n%s", out)
	}
}

func TestChecklist45CPEFaults(t *testing.T) {
	const detail = `<detail><cwmp:Fault><FaultCode>9003</FaultCode><FaultString>Invalid arguments</FaultString>` +
		`<SetParameterValuesFault><ParameterName>A.B</ParameterName><FaultCode>9007</FaultCode><FaultString>bad value</FaultString></SetParameterValuesFault>` +
		`<SetParameterValuesFault><ParameterName>A.C</ParameterName><FaultCode>9008</FaultCode></SetParameterValuesFault>` +
		`</cwmp:Fault></detail>`
	for _, code := range []string{"Client", "soap-env:Client", " SOAP-ENV:Client "} {
		env := decodeOK(t, doc(idHeader, `<soap-env:Fault><faultcode>`+code+`</faultcode><faultstring>CWMP fault</faultstring>`+detail+`</soap-env:Fault>`), "")
		f, ok := env.Body.(*Fault)
		if !ok {
			t.Fatalf("Body %T", env.Body)
		}
		want := []ParameterFault{{"A.B", 9007, "bad value"}, {"A.C", 9008, ""}}
		if f.SOAPCode != "Client" || f.Code != 9003 || f.String != "Invalid arguments" || fmt.Sprint(f.SetParameterValuesFaults) != fmt.Sprint(want) {
			t.Errorf("faultcode %q: %+v", code, f)
		}
		if f.Error() != "cwmp fault 9003: Invalid arguments" {
			t.Errorf("Error() = %q", f.Error())
		}
	}
	// Vendor code, cwmp declared on the detail in another version, no SetParameterValuesFault.
	env := decodeOK(t, `<s:Envelope xmlns:s="`+NSSOAPEnv+`"><s:Body><s:Fault><faultcode>Server</faultcode><faultstring>CWMP fault</faultstring>`+
		`<detail><c:Fault xmlns:c="`+NSCWMP12+`"><FaultCode>9801</FaultCode><FaultString>vendor</FaultString></c:Fault></detail></s:Fault></s:Body></s:Envelope>`, "")
	if f := env.Body.(*Fault); f.Code != 9801 || f.SOAPCode != "Server" || f.SetParameterValuesFaults != nil || env.NS != NSCWMP12 {
		t.Errorf("vendor fault %+v in %q", f, env.NS)
	}
	// A bare SOAP fault without cwmp detail keeps its faultstring.
	env = decodeOK(t, doc(idHeader, `<soap-env:Fault><faultcode>soap-env:Server</faultcode><faultstring>Out of memory</faultstring></soap-env:Fault>`), "")
	if f := env.Body.(*Fault); f.Code != 0 || f.String != "Out of memory" || len(env.Warnings) != 1 {
		t.Errorf("plain SOAP fault %+v, warnings %q", f, env.Warnings)
	}
	decodeFails(t, doc(idHeader, `<soap-env:Fault><faultcode>Client</faultcode><detail><cwmp:Fault><FaultCode>nine</FaultCode></cwmp:Fault></detail></soap-env:Fault>`), "FaultCode")
}
