package standard

import (
	"compress/gzip"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// specParam is one parameter of a Broadband Forum data-model XML (full form).
type specParam struct {
	typ      string // base type after resolving named dataTypes
	writable bool
}

// loadSpec reads spec/tr-*.xml (gzipped copies in testdata/spec): every parameter as
// "Object.{i}.Name" with its base type and access.
func loadSpec(t *testing.T, file string) map[string]specParam {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "spec", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(zr)
	dataTypes := map[string]string{} // name → base element, or "=Other" for base="Other"
	params := map[string]specParam{}
	var obj, name, typ, access, dataType string
	inModel, inSyntax, inList, inParam := false, false, false, false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := func(n string) string {
				for _, a := range e.Attr {
					if a.Name.Local == n {
						return a.Value
					}
				}
				return ""
			}
			switch l := e.Name.Local; {
			case l == "model":
				inModel = true
			case l == "dataType" && !inModel && !inSyntax:
				dataType = attr("name")
				if b := attr("base"); b != "" {
					dataTypes[dataType] = "=" + b
				}
			case l == "object" && inModel:
				obj = attr("name")
			case l == "parameter" && inModel && attr("name") != "":
				name, access, typ, inParam = attr("name"), attr("access"), "", true
			case l == "syntax":
				inSyntax = true
			case l == "list" && inSyntax:
				inList = true
			case inSyntax && inParam && typ == "" && !inList:
				switch l {
				case "default", "units":
				case "dataType":
					typ = "=" + attr("ref")
				default:
					typ = l
				}
			case dataType != "" && dataTypes[dataType] == "":
				switch l {
				case "description", "list", "size", "pattern", "range", "units", "enumeration":
				default:
					dataTypes[dataType] = l
				}
			}
		case xml.EndElement:
			switch e.Name.Local {
			case "syntax":
				inSyntax = false
			case "list":
				inList = false
			case "dataType":
				if !inSyntax {
					dataType = ""
				}
			case "parameter":
				if inParam {
					for strings.HasPrefix(typ, "=") {
						typ = dataTypes[typ[1:]]
					}
					params[obj+name] = specParam{typ: typ, writable: access == "readWrite"}
					inParam = false
				}
			}
		}
	}
	if len(params) < 1000 {
		t.Fatalf("%s: only %d parameters read", file, len(params))
	}
	return params
}

// friendlyTypes lists the spec base types each friendly type may come from without a converter.
var friendlyTypes = map[string][]string{
	"string":   {"string"},
	"boolean":  {"boolean"},
	"integer":  {"int", "unsignedInt", "long", "unsignedLong"},
	"number":   {"int", "unsignedInt", "long", "unsignedLong", "decimal"},
	"datetime": {"dateTime"},
}

// TestSpecConformance checks every mapped parameter name against the Broadband Forum XML of its
// model: it exists, Binding.XSD is its type (so writes carry the right xsi:type), the friendly
// type fits the spec type (unless a converter or enum sits between), and a writable key maps
// to a writable parameter.
func TestSpecConformance(t *testing.T) {
	tr := New(Options{})
	for _, c := range []struct {
		m    *model
		root string
		file string
	}{
		{tr.tr098, RootTR098, "tr-098-1-8-0-full.xml.gz"},
		{tr.tr181, RootTR181, "tr-181-2-17-0-cwmp-full.xml.gz"},
	} {
		spec := loadSpec(t, c.file)
		// The loader itself: a plain type, a named dataType resolved to its base, access.
		for name, want := range map[string]specParam{
			"InternetGatewayDevice.LANDevice.{i}.WLANConfiguration.{i}.Channel":                              {"unsignedInt", true},
			"InternetGatewayDevice.WANDevice.{i}.WANConnectionDevice.{i}.WANPPPConnection.{i}.TransportType": {"string", false},
			"Device.IP.Interface.{i}.Stats.BytesSent":                                                        {"unsignedLong", false},
			"Device.WiFi.AccessPoint.{i}.Security.KeyPassphrase":                                             {"string", true},
		} {
			if strings.HasPrefix(name, c.root) && spec[name] != want {
				t.Errorf("spec loader: %s = %+v, want %+v", name, spec[name], want)
			}
		}
		checked := 0
		for _, b := range c.m.all {
			for i, p := range append([]string{b.Param}, b.Sources...) {
				name := c.root + specName(c.m, p)
				sp, ok := spec[name]
				if !ok {
					t.Errorf("%s %s: %s is not in %s", c.m.name, b.Key, name, c.file)
					continue
				}
				checked++
				if i > 0 {
					continue // sources are read only
				}
				if sp.typ != b.XSD {
					t.Errorf("%s %s: %s is %s in the spec, binding says %s", c.m.name, b.Key, name, sp.typ, b.XSD)
				}
				if b.Read == nil && b.Enum == nil && !b.Instance && !b.Derived {
					want := friendlyTypes[b.expose.Type]
					if !strings.Contains(strings.Join(want, " "), sp.typ) {
						t.Errorf("%s %s: friendly %s from spec %s", c.m.name, b.Key, b.expose.Type, sp.typ)
					}
				}
				if b.writable && !sp.writable {
					t.Errorf("%s %s: key writable but %s is read-only in the spec", c.m.name, b.Key, name)
				}
			}
		}
		if checked < 50 {
			t.Errorf("%s: only %d names checked", c.m.name, checked)
		}
	}
}

// specName turns a binding parameter into spec notation: contexts expanded, instances as {i}.
func specName(m *model, p string) string {
	if strings.HasPrefix(p, "{") {
		end := strings.IndexByte(p, '}')
		for _, cd := range m.contexts {
			if cd.name == p[1:end] {
				p = cd.spec + p[end+1:]
			}
		}
	}
	var nums [maxInstances]int64
	tmpl, _, _ := templateOf(nil, p, &nums)
	return string(tmpl)
}
