package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/bridge/api/apitest"
)

// example is one ```json block of docs/mqtt-api.md that follows a <!-- schema: name --> marker.
type example struct {
	schema string
	line   int
	body   string
}

var exampleBlock = regexp.MustCompile("(?s)<!-- schema: ([a-z-]+) -->\\s*```json\n(.*?)```")

func docExamples(t testing.TB) []example {
	t.Helper()
	dir, err := apitest.RepoSchemaDir()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(dir, "..", "mqtt-api.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []example
	for _, m := range exampleBlock.FindAllSubmatchIndex(doc, -1) {
		out = append(out, example{
			schema: string(doc[m[2]:m[3]]),
			line:   1 + strings.Count(string(doc[:m[0]]), "\n"),
			body:   string(doc[m[4]:m[5]]),
		})
	}
	if len(out) == 0 {
		t.Fatal("no <!-- schema: … --> examples found in docs/mqtt-api.md")
	}
	return out
}

// Every example of the API documentation is what its schema says, and every schema has one.
func TestDocExamplesValidate(t *testing.T) {
	dir, _ := apitest.RepoSchemaDir()
	schemas, err := apitest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ex := range docExamples(t) {
		seen[ex.schema]++
		if err := schemas.Validate(ex.schema, []byte(ex.body)); err != nil {
			t.Errorf("docs/mqtt-api.md:%d (%s): %v", ex.line, ex.schema, err)
		}
	}
	for _, name := range schemas.Names() {
		if name != "common" && seen[name] == 0 {
			t.Errorf("schema %s has no example in docs/mqtt-api.md", name)
		}
	}
	if len(schemas.Names()) != 16 {
		t.Errorf("schemas: %v", schemas.Names())
	}
}

// The documented requests are accepted by the real parser, and every method has a documented
// request and a documented done result.
func TestDocRequestsParse(t *testing.T) {
	requests, results := map[string]bool{}, map[string]bool{}
	for _, ex := range docExamples(t) {
		var err error
		switch ex.schema {
		case "rpc-request":
			var req *api.RPCRequest
			req, _, err = api.ParseRPCRequest([]byte(ex.body))
			if err == nil {
				requests[req.Method] = true
			}
		case "set-request":
			_, err = api.ParseSetRequest([]byte(ex.body))
		case "get-request":
			_, err = api.ParseGetRequest([]byte(ex.body))
		case "rpc-result":
			var r api.RPCResult
			if err = json.Unmarshal([]byte(ex.body), &r); err == nil && r.Status == api.StatusDone {
				results[r.Method] = true
			}
		}
		if err != nil {
			t.Errorf("docs/mqtt-api.md:%d (%s): %v", ex.line, ex.schema, err)
		}
	}
	for _, m := range api.MethodNames() {
		if !requests[m] {
			t.Errorf("method %s: no request example", m)
		}
		if !results[m] {
			t.Errorf("method %s: no done result example", m)
		}
	}
}

// The schemas are not a rubber stamp: payloads the contract forbids fail.
func TestSchemasRefuse(t *testing.T) {
	for _, tt := range []struct{ schema, payload string }{
		{"rpc-request", `{"id":"a","method":"Reboot","timout":5}`},
		{"rpc-request", `{"id":"a","method":"Rebot"}`},
		{"rpc-request", `{"id":"","method":"Reboot"}`},
		{"rpc-request", `{"id":"a","method":"GetParameterValues"}`},
		{"rpc-request", `{"id":"a","method":"GetParameterValues","args":{"names":["A.",3]}}`},
		{"rpc-request", `{"id":"a","method":"SetParameterAttributes","args":{"parameters":[{"name":"A","notification":3}]}}`},
		{"rpc-request", `{"id":"a","method":"AddObject","args":{"object":"Device.NAT.PortMapping"}}`},
		{"rpc-request", `{"id":"a","method":"DeleteObject","args":{"object":"Device.NAT.PortMapping."}}`},
		{"rpc-request", `{"id":"a","method":"Download","args":{"file_type":"fw","url":"http://x/"}}`},
		{"rpc-request", `{"id":"a","method":"ScheduleInform","args":{"delay_seconds":-5}}`},
		{"rpc-request", `{"id":"a","method":"FactoryReset","args":{"force":true}}`},
		{"rpc-request", `{"id":"a","method":"Reboot","reply_to":"a/#"}`},
		{"rpc-result", `{"id":"a","device":"d","method":"Reboot","status":"done","time":"2024-05-01T10:00:00Z"}`},
		{"rpc-result", `{"id":"a","device":"d","method":"Reboot","status":"rejected","time":"2024-05-01T10:00:00Z"}`},
		{"rpc-result", `{"id":"a","device":"d","method":"GetParameterValues","status":"done","result":{},"time":"2024-05-01T10:00:00Z"}`},
		{"rpc-result", `{"id":"a","device":"d","status":"accepted","time":"yesterday"}`},
		{"availability", `"online"`},
		{"bridge-event", `{"event":"plugin_failed","time":"2024-05-01T10:00:00Z"}`},
		{"device-event", `{"event":"transfer_complete","device":"A-B","time":"2024-05-01T10:00:00Z"}`},
		{"bridge-devices", `null`},
		{"bridge-devices", `[]`},
		{"device-info", `{"id":"A-B"}`},
		{"inform", `{"device":{"id":"A-B"}}`},
	} {
		if err := apitest.ValidatePayload(tt.schema, []byte(tt.payload)); err == nil {
			t.Errorf("%s accepted %s", tt.schema, tt.payload)
		}
	}
	if err := apitest.ValidatePayload("no-such", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), `no schema "no-such"`) {
		t.Errorf("unknown schema: %v", err)
	}
}

// A clone of the repository must be complete: no file may point at the reference material
// outside it (the design notes and the CWMP checklist were brought into docs/).
func TestNoFilePointsOutsideTheRepository(t *testing.T) {
	dir, err := apitest.RepoSchemaDir()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "..", "..")
	// Spelled in pieces so that this file does not match itself.
	banned := []string{"DESIGN" + ".md", "CWMP-CHECKLIST" + ".md", "../" + "shared"}
	files := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range banned {
			if i := strings.Index(string(b), s); i >= 0 {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d mentions %s: copy what is needed into docs/ instead", rel, 1+strings.Count(string(b[:i]), "\n"), s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d files read under %s: not the repository root?", files, root)
	}
}
