package soap

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// The streaming decoder must give the tree decoder's result or decline. Three nets hold it:
// TestMain compares every streamed result of every test of the package (checklists, goldens,
// round trips, fuzz seeds) with the tree decoder's; TestStreamMatchesTree does it for each file
// of testdata and checks the hot-path messages really stream; FuzzStreamMatchesTree for anything.

var streamLog struct {
	sync.Mutex
	streamed   int
	mismatches []string
}

func TestMain(m *testing.M) {
	streamCheck = func(body []byte, contentType string, env *Envelope, err error) {
		msg := streamTreeDiff(body, contentType, env, err)
		streamLog.Lock()
		defer streamLog.Unlock()
		streamLog.streamed++
		if msg != "" {
			streamLog.mismatches = append(streamLog.mismatches, msg)
		}
	}
	code := m.Run()
	if n := len(streamLog.mismatches); n > 0 {
		fmt.Fprintf(os.Stderr, "streaming decoder differs from the tree decoder on %d of %d streamed bodies:\n%s\n",
			n, streamLog.streamed, strings.Join(streamLog.mismatches, "\n"))
		code = 1
	}
	os.Exit(code)
}

// streamTreeDiff decodes body with the tree decoder alone and describes how the streamed result
// (env, err) differs from it, "" when it does not.
func streamTreeDiff(body []byte, contentType string, env *Envelope, err error) string {
	tenv, streamed, terr := decodeWith(body, contentType, false)
	if streamed {
		return "tree-only decode streamed"
	}
	if fmt.Sprint(err) != fmt.Sprint(terr) || !reflect.DeepEqual(env, tenv) {
		return fmt.Sprintf("body %q (Content-Type %q)\nstream: %s %v\ntree:   %s %v",
			body, contentType, renderGolden(env, nil), err, renderGolden(tenv, nil), terr)
	}
	return ""
}

// streams decodes body both ways and fails t when the results differ; it reports whether the
// streaming decoder answered.
func streams(t testing.TB, body []byte, contentType string) bool {
	t.Helper()
	env, streamed, err := decodeWith(body, contentType, true)
	if !streamed {
		return false
	}
	if msg := streamTreeDiff(body, contentType, env, err); msg != "" {
		t.Fatal(msg)
	}
	return true
}

func TestStreamMatchesTree(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.xml"))
	if err != nil || len(files) < 30 {
		t.Fatalf("testdata captures: %v (%d files)", err, len(files))
	}
	for _, path := range files {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		got := streams(t, body, "text/xml; charset=utf-8")
		// The hot path: every captured Inform, GetParameterValuesResponse and
		// SetParameterValuesResponse streams; everything else is the tree decoder's.
		want := strings.Contains(name, "-inform-") || strings.Contains(name, "-getparametervaluesresponse") ||
			strings.Contains(name, "-setparametervaluesresponse")
		if got != want {
			t.Errorf("%s: streamed %v, want %v", name, got, want)
		}
		// The same with space around every text: what is trimmed and what is kept verbatim.
		padded := bytes.ReplaceAll(bytes.ReplaceAll(body, []byte(">"), []byte("> \n")), []byte("</"), []byte("\t</"))
		if got := streams(t, padded, ""); got != want {
			t.Errorf("%s padded: streamed %v, want %v", name, got, want)
		}
	}
	for name, body := range map[string][]byte{"bench Inform": benchInform(t), "bench GPV response": benchGPVResponse(t)} {
		if !streams(t, body, "text/xml; charset=utf-8") {
			t.Errorf("%s does not stream", name)
		}
	}
}

// TestStreamDeclinesWhatTreeTolerates pins the cases where the streaming decoder must hand over
// to the tree decoder (the result then carries the tree decoder's warnings or errors), and the
// tolerated quirks it reads itself with the same warnings.
func TestStreamDeclinesWhatTreeTolerates(t *testing.T) {
	spvr := `<cwmp:SetParameterValuesResponse><Status>0</Status></cwmp:SetParameterValuesResponse>`
	for _, c := range []struct {
		name, body string
		streamed   bool
		warning    string
	}{
		{"plain", doc(idHeader, spvr), true, ""},
		{"untyped and undeclared-xsi values", doc(idHeader, inform(stdDevice, param("a", "", "1")+
			`<ParameterValueStruct><Name>b</Name><Value xmlns:xsi="urn:other" xsi:type="xsd:int">2</Value></ParameterValueStruct>`)),
			true, `parameter "a": Value has no xsi:type`},
		{"undeclared xsi prefix", strings.Replace(doc(idHeader, inform(stdDevice, param("a", "xsd:int", "1"))), `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" `, "", 1),
			true, `parameter "a": xsi prefix used without declaration`},
		{"xsi:type prefix from an inner scope", doc(idHeader, inform(stdDevice,
			`<ParameterValueStruct xmlns:t="http://www.w3.org/2001/XMLSchema"><Name>a</Name><Value xsi:type="t:int">1</Value></ParameterValueStruct>`+
				`<ParameterValueStruct><Name>b</Name><Value xsi:type="t:int">2</Value></ParameterValueStruct>`)),
			true, `parameter "b": xsi:type prefix of "t:int" is not declared`},
		{"last Value wins", doc(idHeader, inform(stdDevice,
			`<ParameterValueStruct><Value>x</Value><Name>n</Name><Value xsi:type="xsd:int">7</Value></ParameterValueStruct>`)),
			true, ""},
		{"latin-1 body", `<?xml version="1.0" encoding="ISO-8859-1"?>` + doc(idHeader, inform("<Manufacturer>Caf\xe9</Manufacturer><OUI>a</OUI><SerialNumber>b</SerialNumber>", "")), true, ""},
		{"missing serial number", doc(idHeader, inform("<OUI>a</OUI>", "")), true, ""},
		{"undeclared envelope prefix", strings.Replace(doc(idHeader, spvr), `xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" `, "", 1), false, "is not declared, taken as the SOAP envelope"},
		{"two method elements", doc(idHeader, spvr+spvr), false, ""},
		{"wrapped response", doc(idHeader, `<cwmp:Inform><RebootResponse/></cwmp:Inform>`), false, ""},
		{"header after body", `<soap-env:Envelope ` + stdDecls + `><soap-env:Body>` + spvr + `</soap-env:Body>` + idHeader + `</soap-env:Envelope>`, false, ""},
		{"markup in a text element", doc(idHeader, `<cwmp:SetParameterValuesResponse><Status>0<b/></Status></cwmp:SetParameterValuesResponse>`), false, ""},
		{"duplicate attribute", doc(idHeader, inform(stdDevice, `<ParameterValueStruct><Name>a</Name><Value xsi:type="xsd:int" xsi:type="xsd:string">1</Value></ParameterValueStruct>`)), false, ""},
		{"other method", doc(idHeader, `<cwmp:RebootResponse/>`), false, ""},
		{"method without namespace", doc(idHeader, `<SetParameterValuesResponse><Status>0</Status></SetParameterValuesResponse>`), false, "has no namespace"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := streams(t, []byte(c.body), ""); got != c.streamed {
				t.Fatalf("streamed %v, want %v", got, c.streamed)
			}
			env, err := Decode([]byte(c.body), "")
			if c.warning != "" && (env == nil || !strings.Contains(strings.Join(env.Warnings, "\n"), c.warning)) {
				t.Fatalf("warnings lack %q: env %v, err %v", c.warning, env, err)
			}
		})
	}
}

// FuzzStreamMatchesTree: whatever the streaming decoder answers is what the tree decoder answers.
// Run it (and FuzzDecode) with -fuzzminimizetime 20x: nearly every mutation of a capture is new
// coverage, and minimizing each for the default 60 s leaves the fuzzer stuck at ~100 execs.
func FuzzStreamMatchesTree(f *testing.F) {
	addDecodeSeeds(f)
	f.Add(benchInform(f), "text/xml")
	f.Add(benchGPVResponse(f), "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		streams(t, body, contentType)
	})
}
