package soap

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// Crafted inputs for the checklist sections "HTTP" (3, 4, 6) and "Envelope and namespaces"
// (20–27).

const stdDecls = `xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" ` +
	`xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" ` +
	`xmlns:xsd="http://www.w3.org/2001/XMLSchema" ` +
	`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
	`xmlns:cwmp="urn:dslforum-org:cwmp-1-0"`

// doc wraps a header block and a Body content in an Envelope using the standard prefixes.
func doc(header, body string) string {
	return `<soap-env:Envelope ` + stdDecls + `>` + header + `<soap-env:Body>` + body + `</soap-env:Body></soap-env:Envelope>`
}

const idHeader = `<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">42</cwmp:ID></soap-env:Header>`

// inform builds an Inform body; deviceID and params are inserted verbatim.
func inform(deviceID, params string) string {
	return `<cwmp:Inform><DeviceId>` + deviceID + `</DeviceId>` +
		`<Event soap-enc:arrayType="cwmp:EventStruct[1]"><EventStruct><EventCode>2 PERIODIC</EventCode><CommandKey></CommandKey></EventStruct></Event>` +
		`<MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-02T03:04:05Z</CurrentTime><RetryCount>0</RetryCount>` +
		`<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[1]">` + params + `</ParameterList></cwmp:Inform>`
}

const stdDevice = `<Manufacturer>ACME</Manufacturer><OUI>00A0C6</OUI><ProductClass>HGW</ProductClass><SerialNumber>S1</SerialNumber>`

func param(name, typ, raw string) string {
	t := ""
	if typ != "" {
		t = ` xsi:type="` + typ + `"`
	}
	return `<ParameterValueStruct><Name>` + name + `</Name><Value` + t + `>` + raw + `</Value></ParameterValueStruct>`
}

func decodeOK(t *testing.T, body, contentType string) *Envelope {
	t.Helper()
	env, err := Decode([]byte(body), contentType)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, body)
	}
	return env
}

func decodeInform(t *testing.T, body, contentType string) (*Envelope, *Inform) {
	t.Helper()
	env := decodeOK(t, body, contentType)
	inf, ok := env.Body.(*Inform)
	if !ok {
		t.Fatalf("Body is %T, want *Inform", env.Body)
	}
	return env, inf
}

func decodeFails(t *testing.T, body string, wantInMsg string) (*Envelope, *DecodeError) {
	t.Helper()
	env, err := Decode([]byte(body), "text/xml")
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("Decode error = %v (%T), want *DecodeError\n%s", err, err, body)
	}
	if de.Fault != FaultInvalidArguments {
		t.Errorf("fault code %d, want 8003", de.Fault)
	}
	if !strings.Contains(de.Msg, wantInMsg) {
		t.Errorf("error %q does not mention %q", de.Msg, wantInMsg)
	}
	return env, de
}

func TestChecklist03ContentTypesAccepted(t *testing.T) {
	body := `<?xml version="1.0"?>` + doc(idHeader, inform(`<Manufacturer>Société</Manufacturer><OUI>00A0C6</OUI><SerialNumber>S1</SerialNumber>`, ""))
	for _, ct := range []string{
		`text/xml; charset="utf-8"`, `text/xml; charset=utf-8`, `text/xml;charset='UTF-8'`, `text/html`,
		`application/xml`, `application/soap+xml`, ``, `text/xml; charset=`, `;;;=;`, `text/xml; charset="utf-8"; action="x"`,
	} {
		_, inf := decodeInform(t, body, ct)
		if inf.DeviceID.Manufacturer != "Société" {
			t.Errorf("Content-Type %q: Manufacturer %q", ct, inf.DeviceID.Manufacturer)
		}
	}
}

func TestChecklist04CharsetTranscoded(t *testing.T) {
	latin1 := func(s string) string {
		b, err := charmap.ISO8859_1.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gbk := func(s string) string {
		b, err := simplifiedchinese.GBK.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	device := func(manufacturer string) string {
		return `<Manufacturer>` + manufacturer + `</Manufacturer><OUI>00A0C6</OUI><SerialNumber>S1</SerialNumber>`
	}
	cases := []struct {
		name, contentType, decl, manufacturer, want string
	}{
		{"ISO-8859-1 from XML declaration", "text/xml", "ISO-8859-1", latin1("Télécom Électronique"), "Télécom Électronique"},
		{"ISO-8859-1 from Content-Type, quoted", `text/xml; charset="ISO-8859-1"`, "", latin1("Müller &amp; Söhne"), "Müller & Söhne"},
		{"GB2312 label with GBK bytes", "text/xml; charset=GB2312", "", gbk("华为技术"), "华为技术"},
		{"GBK from XML declaration", "", "GBK", gbk("中兴通讯"), "中兴通讯"},
		{"Content-Type wins over declaration", "text/xml; charset=gbk", "ISO-8859-1", gbk("中文"), "中文"},
		{"UTF-8 by default", "text/xml", "", "Zoë ✓", "Zoë ✓"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			decl := ""
			if c.decl != "" {
				decl = `<?xml version="1.0" encoding="` + c.decl + `"?>`
			}
			body := decl + doc("", inform(device(c.manufacturer), param("Device.X", "xsd:string", c.manufacturer)))
			env, inf := decodeInform(t, body, c.contentType)
			if inf.DeviceID.Manufacturer != c.want || inf.ParameterList[0].Value.Raw != c.want {
				t.Errorf("got %q / %q, want %q", inf.DeviceID.Manufacturer, inf.ParameterList[0].Value.Raw, c.want)
			}
			if len(env.Warnings) != 0 {
				t.Errorf("warnings: %q", env.Warnings)
			}
		})
	}
	t.Run("undeclared Latin-1 bytes fall back with a warning", func(t *testing.T) {
		env, inf := decodeInform(t, doc("", inform(device(latin1("Café")), "")), "text/xml")
		if inf.DeviceID.Manufacturer != "Café" || len(env.Warnings) == 0 {
			t.Errorf("Manufacturer %q, warnings %q", inf.DeviceID.Manufacturer, env.Warnings)
		}
	})
	t.Run("unknown charset label falls back to UTF-8 with a warning", func(t *testing.T) {
		env, inf := decodeInform(t, doc("", inform(device("Zoë"), "")), "text/xml; charset=x-klingon")
		if inf.DeviceID.Manufacturer != "Zoë" || len(env.Warnings) == 0 {
			t.Errorf("Manufacturer %q, warnings %q", inf.DeviceID.Manufacturer, env.Warnings)
		}
	})
	t.Run("UTF-16 with byte-order mark", func(t *testing.T) {
		u16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(
			`<?xml version="1.0" encoding="UTF-16"?>` + doc("", inform(device("Zoë"), "")))
		if err != nil {
			t.Fatal(err)
		}
		_, inf := decodeInform(t, u16, "text/xml")
		if inf.DeviceID.Manufacturer != "Zoë" {
			t.Errorf("Manufacturer %q", inf.DeviceID.Manufacturer)
		}
	})
	t.Run("UTF-8 BOM is skipped", func(t *testing.T) {
		_, inf := decodeInform(t, "\xEF\xBB\xBF"+doc("", inform(device("Zoë"), "")), "")
		if inf.DeviceID.Manufacturer != "Zoë" {
			t.Errorf("Manufacturer %q", inf.DeviceID.Manufacturer)
		}
	})
}

func TestChecklist06EmptyPostAndEmptyBody(t *testing.T) {
	for _, body := range []string{"", " ", "\r\n", " \t\r\n  \n"} {
		env, err := Decode([]byte(body), "")
		if err != nil || env == nil || env.Body != nil || env.HasID {
			t.Errorf("Decode(%q) = %+v, %v; want empty Envelope", body, env, err)
		}
	}
	env, de := decodeFails(t, doc(idHeader, ""), "Body is empty")
	if env == nil || env.ID != "42" || env.NS != NSCWMP10 {
		t.Errorf("the fault must be able to echo the ID and namespace: env %+v", env)
	}
	if f := de.ACSFault(); f.Code != FaultInvalidArguments || f.SOAPCode != "Client" {
		t.Errorf("ACSFault = %+v", f)
	}
	decodeFails(t, doc(idHeader, " <!-- nothing --> "), "Body is empty")
	decodeFails(t, `<soap-env:Envelope `+stdDecls+`>`+idHeader+`</soap-env:Envelope>`, "no SOAP Body")
	decodeFails(t, `<soap-env:Envelope `+stdDecls+`/>`, "no SOAP Body")
	decodeFails(t, `<html><body>502 Bad Gateway</body></html>`, "not a SOAP 1.1 Envelope")
	decodeFails(t, `<soap-env:Envelope `+stdDecls+`><soap-env:Body><cwmp:Inform>`, "malformed XML")
	decodeFails(t, `just text`, "")
}

func TestChecklist20NamespacesByURINotPrefix(t *testing.T) {
	const body = `<cwmp:GetParameterValuesResponse><ParameterList ENC:arrayType="cwmp:ParameterValueStruct[1]">` +
		`<ParameterValueStruct><Name>Device.DeviceInfo.UpTime</Name><Value xsi:type="xsd:unsignedInt">7</Value></ParameterValueStruct>` +
		`</ParameterList></cwmp:GetParameterValuesResponse>`
	wrap := func(envPrefix, encPrefix, quote string) string {
		q := func(s string) string { return quote + s + quote }
		return `<` + envPrefix + `:Envelope xmlns:` + envPrefix + `=` + q(NSSOAPEnv) + ` xmlns:` + encPrefix + `=` + q(NSSOAPEnc) +
			` xmlns:xsd=` + q(NSXSD) + ` xmlns:xsi=` + q(NSXSI) + ` xmlns:cwmp=` + q(NSCWMP10) + `><` + envPrefix + `:Body>` +
			strings.ReplaceAll(strings.ReplaceAll(body, "ENC:", encPrefix+":"), `"`, quote) +
			`</` + envPrefix + `:Body></` + envPrefix + `:Envelope>`
	}
	for _, c := range []struct{ env, enc, quote string }{
		{"soap-env", "soap-enc", `"`}, {"SOAP-ENV", "SOAP-ENC", `"`}, {"soapenv", "soapenc", `"`},
		{"soap_env", "soap_enc", `"`}, {"soapenv", "soap", `"`}, {"s", "e", `'`},
	} {
		env := decodeOK(t, wrap(c.env, c.enc, c.quote), "")
		r, ok := env.Body.(*GetParameterValuesResponse)
		if !ok || len(r.ParameterList) != 1 || r.ParameterList[0].Value != (Value{Type: TypeUnsignedInt, Raw: "7"}) {
			t.Errorf("prefixes %+v: decoded %#v", c, env.Body)
		}
	}
	// The well-known prefix bound to the wrong URI is not a SOAP envelope.
	decodeFails(t, `<soapenv:Envelope xmlns:soapenv="urn:not-soap"><soapenv:Body/></soapenv:Envelope>`, "not a SOAP 1.1 Envelope")
	// "cwmp" bound to a foreign namespace is not CWMP: the method is unknown, whatever its name.
	env := decodeOK(t, `<s:Envelope xmlns:s="`+NSSOAPEnv+`" xmlns:cwmp="urn:example:other"><s:Body><cwmp:Inform/></s:Body></s:Envelope>`, "")
	if u, ok := env.Body.(*Unknown); !ok || u.Name != "Inform" || u.NS != "urn:example:other" {
		t.Errorf("foreign-namespace Inform decoded as %#v", env.Body)
	}
	// The default namespace counts too.
	env = decodeOK(t, `<Envelope xmlns="`+NSSOAPEnv+`"><Body><Reboot xmlns="`+NSCWMP12+`"><CommandKey>k</CommandKey></Reboot></Body></Envelope>`, "")
	if r, ok := env.Body.(*Reboot); !ok || r.CommandKey != "k" || env.NS != NSCWMP12 {
		t.Errorf("default-namespace Reboot decoded as %#v in %q", env.Body, env.NS)
	}
}

func TestChecklist21SchemaVariantsAndScopedDeclarations(t *testing.T) {
	const old = `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding" ` +
		`xmlns:xsd="http://www.w3.org/1999/XMLSchema" xmlns:xsi="http://www.w3.org/1999/XMLSchema-instance">` +
		`<SOAP-ENV:Body xmlns:cwmp="urn:dslforum-org:cwmp-1-1"><cwmp:GetParameterValuesResponse><ParameterList>` +
		`<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:boolean">true</Value></ParameterValueStruct>` +
		`<ParameterValueStruct><Name>B</Name><Value xsi:type="SOAP-ENC:int">-3</Value></ParameterValueStruct>` +
		`</ParameterList></cwmp:GetParameterValuesResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>`
	env := decodeOK(t, old, "")
	r := env.Body.(*GetParameterValuesResponse)
	if r.ParameterList[0].Value.Type != TypeBoolean || r.ParameterList[1].Value.Type != TypeInt {
		t.Errorf("types %q, %q", r.ParameterList[0].Value.Type, r.ParameterList[1].Value.Type)
	}
	if env.NS != NSCWMP11 || len(env.Warnings) != 0 {
		t.Errorf("NS %q (declared on Body), warnings %q", env.NS, env.Warnings)
	}

	// Every namespace declared on the method element only.
	const onMethod = `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>` +
		`<c:SetParameterValues xmlns:c="urn:dslforum-org:cwmp-1-2" xmlns:x="http://www.w3.org/2001/XMLSchema-instance" xmlns:t="http://www.w3.org/2001/XMLSchema">` +
		`<ParameterList><ParameterValueStruct><Name>N</Name><Value x:type="t:unsignedLong">18446744073709551615</Value></ParameterValueStruct></ParameterList>` +
		`<ParameterKey/></c:SetParameterValues></e:Body></e:Envelope>`
	env = decodeOK(t, onMethod, "")
	spv := env.Body.(*SetParameterValues)
	if env.NS != NSCWMP12 || spv.ParameterList[0].Value.Type != TypeUnsignedLong || len(env.Warnings) != 0 {
		t.Errorf("NS %q, value %+v, warnings %q", env.NS, spv.ParameterList[0].Value, env.Warnings)
	}
	if u, err := spv.ParameterList[0].Value.Uint(); err != nil || u != 18446744073709551615 {
		t.Errorf("Uint = %d, %v", u, err)
	}
}

func TestChecklist22CWMPNamespacesAnsweredInKind(t *testing.T) {
	for _, ns := range []string{NSCWMP10, NSCWMP11, NSCWMP12, NSCWMP13, NSCWMP14} {
		body := strings.Replace(doc(idHeader, inform(stdDevice, "")), NSCWMP10, ns, 1)
		env, _ := decodeInform(t, body, "")
		if env.NS != ns {
			t.Errorf("NS = %q, want %q", env.NS, ns)
		}
		out, err := Encode(&Envelope{NS: env.NS, ID: env.ID, HasID: true, Body: &InformResponse{MaxEnvelopes: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(`xmlns:cwmp="`+ns+`"`)) {
			t.Errorf("answer not in %s:\n%s", ns, out)
		}
	}
	out, err := Encode(&Envelope{Body: &GetRPCMethods{}})
	if err != nil || !bytes.Contains(out, []byte(`xmlns:cwmp="`+NSCWMP10+`"`)) {
		t.Errorf("empty NS must encode as cwmp-1-0: %s %v", out, err)
	}
	env := decodeOK(t, strings.Replace(doc(idHeader, inform(stdDevice, "")), NSCWMP10, "urn:dslforum-org:cwmp-9-9", 1), "")
	if _, ok := env.Body.(*Unknown); !ok {
		t.Errorf("Inform in cwmp-9-9 decoded as %T, want *Unknown", env.Body)
	}
}

func TestChecklist23VersionNegotiation(t *testing.T) {
	h := `<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">1</cwmp:ID>` +
		`<cwmp:SupportedCWMPVersions soap-env:mustUnderstand="0"> 1.0,1.1,1.2,1.3,1.4 </cwmp:SupportedCWMPVersions>` +
		`<cwmp:SessionTimeout soap-env:mustUnderstand="0">60</cwmp:SessionTimeout></soap-env:Header>`
	env, _ := decodeInform(t, strings.Replace(doc(h, inform(stdDevice, "")), NSCWMP10, NSCWMP12, 1), "")
	if env.SupportedCWMPVersions != "1.0,1.1,1.2,1.3,1.4" || env.SessionTimeout != 60 {
		t.Errorf("SupportedCWMPVersions %q, SessionTimeout %d", env.SupportedCWMPVersions, env.SessionTimeout)
	}
	out, err := Encode(&Envelope{NS: NSCWMP12, ID: "1", HasID: true, UseCWMPVersion: "1.4", Body: &InformResponse{}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`<cwmp:UseCWMPVersion soap-env:mustUnderstand="1">1.4</cwmp:UseCWMPVersion>`)) {
		t.Errorf("UseCWMPVersion not sent with mustUnderstand=1:\n%s", out)
	}
	back := decodeOK(t, string(out), "")
	if back.UseCWMPVersion != "1.4" {
		t.Errorf("UseCWMPVersion decoded %q", back.UseCWMPVersion)
	}
}

func TestChecklist24HeaderMissingOrEmpty(t *testing.T) {
	for _, h := range []string{"", "<soap-env:Header/>", "<soap-env:Header>\n  </soap-env:Header>"} {
		env, inf := decodeInform(t, doc(h, inform(stdDevice, "")), "")
		if env.HasID || env.ID != "" || inf.DeviceID.SerialNumber != "S1" || len(env.Warnings) != 0 {
			t.Errorf("header %q: HasID %v, warnings %q", h, env.HasID, env.Warnings)
		}
	}
}

func TestChecklist25IDDecoded(t *testing.T) {
	cases := []struct {
		header string
		hasID  bool
		id     string
	}{
		{`<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">a&amp;b&lt;c</cwmp:ID></soap-env:Header>`, true, "a&b<c"},
		{`<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1"></cwmp:ID></soap-env:Header>`, true, ""},
		{`<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1"/></soap-env:Header>`, true, ""},
		{`<soap-env:Header><other:ID xmlns:other="urn:x">9</other:ID></soap-env:Header>`, false, ""},
	}
	for _, c := range cases {
		env, _ := decodeInform(t, doc(c.header, inform(stdDevice, "")), "")
		if env.HasID != c.hasID || env.ID != c.id {
			t.Errorf("%s: HasID %v ID %q, want %v %q", c.header, env.HasID, env.ID, c.hasID, c.id)
		}
	}
	// The echo is escaped.
	out, err := Encode(&Envelope{ID: "a&b<c", HasID: true, Body: &InformResponse{}})
	if err != nil || !bytes.Contains(out, []byte(`<cwmp:ID soap-env:mustUnderstand="1">a&amp;b&lt;c</cwmp:ID>`)) {
		t.Errorf("ID echo not escaped: %s %v", out, err)
	}
}

func TestChecklist26NoMoreRequestsIgnoredNoStrayHeaders(t *testing.T) {
	h := `<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">1</cwmp:ID><cwmp:NoMoreRequests soap-env:mustUnderstand="0">1</cwmp:NoMoreRequests></soap-env:Header>`
	env, _ := decodeInform(t, doc(h, inform(stdDevice, "")), "")
	if env.HoldRequests || len(env.Warnings) != 0 {
		t.Errorf("NoMoreRequests had an effect: %+v", env)
	}
	out, err := Encode(&Envelope{Body: &InformResponse{MaxEnvelopes: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("Header")) {
		t.Errorf("empty header emitted:\n%s", out)
	}
	out, err = Encode(&Envelope{ID: "1", HasID: true, Body: &InformResponse{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, stray := range []string{"HoldRequests", "SessionTimeout", "NoMoreRequests", "UseCWMPVersion", "SupportedCWMPVersions"} {
		if bytes.Contains(out, []byte(stray)) {
			t.Errorf("unset header %s emitted:\n%s", stray, out)
		}
	}
}

func TestChecklist27OneMethodElementTextForms(t *testing.T) {
	body := "\n  <!-- before -->\n  " + `<cwmp:GetParameterValuesResponse><ParameterList>` +
		param("CDATA", "xsd:string", `<![CDATA[a<b & "c"]]>`) +
		param("Entities", "xsd:string", `&#233;t&#xE9; &amp; &lt;x&gt; &#x1F600;`) +
		param("Comment", "xsd:string", `ab<!-- hidden -->cd`) +
		param("Mixed", "xsd:string", `x<![CDATA[<y>]]>z`) +
		`</ParameterList></cwmp:GetParameterValuesResponse>` + "\n  <!-- after -->\n"
	env := decodeOK(t, strings.Replace(doc(idHeader, body), "<soap-env:Body>", `<soap-env:Body soap-env:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">`, 1), "")
	want := []string{`a<b & "c"`, `été & <x> 😀`, "abcd", "x<y>z"}
	got := env.Body.(*GetParameterValuesResponse).ParameterList
	for i, w := range want {
		if got[i].Value.Raw != w {
			t.Errorf("%s: %q, want %q", got[i].Name, got[i].Value.Raw, w)
		}
	}
	decodeFails(t, doc(idHeader, `<cwmp:RebootResponse/><cwmp:RebootResponse/>`), "exactly one")
}
