package soap

import (
	"os"
	"path/filepath"
	"testing"
)

// A CPE's fault must keep the CPE's FaultCode and FaultString whatever prefixes it wrote (issue 7,
// point 8: an undeclared <soap:Fault> carrying 9008 was published as code 0 with an empty string).
func TestUndeclaredPrefixFaultKeepsCPECodeAndString(t *testing.T) {
	for _, c := range []struct {
		file, soapCode, str, id string
		code                    int
		spvFaults               []ParameterFault
	}{
		{"undeclared-soap-prefix-fault-9008.xml", "Client", "Attempt to set a non-writable parameter", "cwmp2mqtt-17", 9008,
			[]ParameterFault{{"InternetGatewayDevice.DeviceInfo.UpTime", 9008, "Parameter is read-only"}}},
		{"undeclared-everything-fault-9005.xml", "Client", "Invalid parameter name: Device.DeviceInfo.MemoryStatus.Total", "", 9005, nil},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "quirks", c.file))
			if err != nil {
				t.Fatal(err)
			}
			env, err := Decode(data, "text/xml")
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			f, ok := env.Body.(*Fault)
			if !ok {
				t.Fatalf("body %T, want *Fault", env.Body)
			}
			if f.Code != c.code || f.String != c.str || f.SOAPCode != c.soapCode {
				t.Errorf("fault = %d %q (%s), want %d %q (%s)", f.Code, f.String, f.SOAPCode, c.code, c.str, c.soapCode)
			}
			if len(f.SetParameterValuesFaults) != len(c.spvFaults) || (len(c.spvFaults) > 0 && f.SetParameterValuesFaults[0] != c.spvFaults[0]) {
				t.Errorf("SetParameterValuesFaults = %+v", f.SetParameterValuesFaults)
			}
			if env.ID != c.id {
				t.Errorf("ID = %q, want %q", env.ID, c.id)
			}
			if len(env.Warnings) == 0 {
				t.Error("no warning names the undeclared prefix")
			}
		})
	}
}

// Faults in other shapes CPEs use: another prefix bound to the SOAP namespace on the Fault only,
// the SOAP 1.2 structure, a detail holding FaultCode without the cwmp:Fault wrapper.
func TestCPEFaultAnyPrefixOrShape(t *testing.T) {
	for name, body := range map[string]string{
		"own prefix declared on the fault": `<S:Fault xmlns:S="` + NSSOAPEnv + `"><faultcode>S:Client</faultcode><faultstring>CWMP fault</faultstring>` +
			`<detail><cwmp:Fault><FaultCode>9005</FaultCode><FaultString>no such name</FaultString></cwmp:Fault></detail></S:Fault>`,
		"SOAP 1.2 structure": `<e:Fault xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Code><e:Value>e:Sender</e:Value></e:Code>` +
			`<e:Reason><e:Text xml:lang="en">CWMP fault</e:Text></e:Reason><e:Detail><cwmp:Fault><FaultCode>9005</FaultCode>` +
			`<FaultString>no such name</FaultString></cwmp:Fault></e:Detail></e:Fault>`,
		"detail without cwmp:Fault": `<soap:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring>` +
			`<detail><FaultCode>9005</FaultCode><FaultString>no such name</FaultString></detail></soap:Fault>`,
	} {
		t.Run(name, func(t *testing.T) {
			env := decodeOK(t, doc(idHeader, body), "")
			f, ok := env.Body.(*Fault)
			if !ok || f.Code != 9005 || f.String != "no such name" || f.SOAPCode != "Client" {
				t.Errorf("decoded %#v", env.Body)
			}
		})
	}
	// A cwmp:Fault put directly in Body (no SOAP Fault around it) is still read as before.
	env := decodeOK(t, doc(idHeader, `<cwmp:Fault><FaultCode>9002</FaultCode><FaultString>internal</FaultString></cwmp:Fault>`), "")
	if f, ok := env.Body.(*Fault); !ok || f.Code != 9002 || f.String != "internal" {
		t.Errorf("bare cwmp:Fault decoded %#v", env.Body)
	}
}

// A response wrapped in its request element, or in a foreign namespace, is offered as
// AsResponse for the ACS's tolerant matching (issue 7, point 4); regular messages offer none.
func TestAsResponseOfSloppyAnswers(t *testing.T) {
	env := decodeOK(t, doc(idHeader, `<cwmp:Reboot><RebootResponse/></cwmp:Reboot>`), "")
	if _, ok := env.Body.(*Reboot); !ok {
		t.Errorf("Body %T, want the Reboot element as written", env.Body)
	}
	if _, ok := env.AsResponse.(*RebootResponse); !ok {
		t.Errorf("AsResponse = %#v, want *RebootResponse", env.AsResponse)
	}
	env = decodeOK(t, doc(idHeader, `<cwmp:GetParameterValues><cwmp:GetParameterValuesResponse><ParameterList>`+
		`<ParameterValueStruct><Name>A.B</Name><Value xsi:type="xsd:string">v</Value></ParameterValueStruct>`+
		`</ParameterList></cwmp:GetParameterValuesResponse></cwmp:GetParameterValues>`), "")
	if r, ok := env.AsResponse.(*GetParameterValuesResponse); !ok || len(r.ParameterList) != 1 || r.ParameterList[0].Value.Raw != "v" {
		t.Errorf("wrapped GPV response = %#v", env.AsResponse)
	}
	env = decodeOK(t, doc(idHeader, `<x:RebootResponse xmlns:x="urn:acme-cwmp"/>`), "")
	if _, ok := env.AsResponse.(*RebootResponse); !ok {
		t.Errorf("foreign-namespace response: Body %#v AsResponse %#v", env.Body, env.AsResponse)
	}
	for _, body := range []string{
		`<cwmp:RebootResponse/>`,
		`<cwmp:GetParameterValuesResponse><ParameterList/></cwmp:GetParameterValuesResponse>`,
		`<cwmp:Reboot><RebootResponse/><Extra/></cwmp:Reboot>`,
		`<cwmp:Reboot><AddObjectResponse><InstanceNumber>x</InstanceNumber></AddObjectResponse></cwmp:Reboot>`,
	} {
		if env := decodeOK(t, doc(idHeader, body), ""); env.AsResponse != nil {
			t.Errorf("%s: AsResponse = %#v, want nil", body, env.AsResponse)
		}
	}
}
