package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	huawei "github.com/cwmp2mqtt/cwmp2mqtt/plugins/huawei/translator"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard"
)

type example = apitest.Example

func docExamples(t testing.TB) []example {
	t.Helper()
	out, err := apitest.Examples()
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no <!-- schema: … --> examples found in docs/")
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
		seen[ex.Schema]++
		if err := schemas.Validate(ex.Schema, []byte(ex.Body)); err != nil {
			t.Errorf("docs/%s:%d (%s): %v", ex.File, ex.Line, ex.Schema, err)
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
		switch ex.Schema {
		case "rpc-request":
			var req *api.RPCRequest
			req, _, err = api.ParseRPCRequest([]byte(ex.Body))
			if err == nil {
				requests[req.Method] = true
			}
		case "set-request":
			_, err = api.ParseSetRequest([]byte(ex.Body))
		case "get-request":
			_, err = api.ParseGetRequest([]byte(ex.Body))
		case "rpc-result":
			var r api.RPCResult
			if err = json.Unmarshal([]byte(ex.Body), &r); err == nil && r.Status == api.StatusDone {
				results[r.Method] = true
			}
		}
		if err != nil {
			t.Errorf("docs/%s:%d (%s): %v", ex.File, ex.Line, ex.Schema, err)
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

// deviceModel is every key the shipped translators expose (standard, and the huawei example's
// vendor keys), as Describe reports them: "*" stands for an instance number.
func deviceModel(t *testing.T) map[string]sdk.Expose {
	t.Helper()
	model := map[string]sdk.Expose{}
	for _, tr := range []interface {
		Describe() (sdk.Description, error)
	}{standard.New(standard.Options{}), huawei.New(standard.Options{})} {
		d, err := tr.Describe()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range d.Exposes {
			model[e.Key] = e
		}
	}
	return model
}

// exposeOf finds the expose of a concrete key ("wifi.ssid.2.ssid" → "wifi.ssid.*.ssid").
func exposeOf(model map[string]sdk.Expose, key string) (sdk.Expose, bool) {
	if e, ok := model[key]; ok {
		return e, true
	}
	parts := strings.Split(key, ".")
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil {
			parts[i] = "*"
		}
	}
	e, ok := model[strings.Join(parts, ".")]
	return e, ok
}

// Pasted examples must work: every device-model key in an example of docs/ (set, get, state, a
// get's result, list_translators, and device-model.md's state) is a key the translators expose,
// writable where it is set. The documented wifi.ssids.1.ssid and .enable did not exist.
func TestDocExampleKeysAreInTheDeviceModel(t *testing.T) {
	model := deviceModel(t)
	check := func(ex example, key string, write, prefixOK bool) {
		e, ok := exposeOf(model, key)
		if !ok && prefixOK {
			for k := range model {
				if strings.HasPrefix(k, key+".") {
					ok = true
				}
			}
		}
		switch {
		case !ok:
			t.Errorf("docs/%s:%d (%s): key %q is not in the device model", ex.File, ex.Line, ex.Schema, key)
		case write && e.Access == sdk.Read:
			t.Errorf("docs/%s:%d (%s): key %q is read-only", ex.File, ex.Line, ex.Schema, key)
		}
	}
	checked := 0
	for _, ex := range docExamples(t) {
		var v struct {
			Values map[string]any `json:"values"`
			Keys   []string       `json:"keys"`
			Method string         `json:"method"`
			Op     string         `json:"op"`
			Result struct {
				Values map[string]any `json:"values"`
			} `json:"result"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(ex.Body), &v); err != nil {
			continue // not an object: nothing keyed by the model
		}
		var keys []string
		write, prefixOK := false, false
		switch {
		case ex.Schema == "set-request":
			write = true
			for k := range v.Values {
				keys = append(keys, k)
			}
		case ex.Schema == "get-request":
			keys, prefixOK = v.Keys, true
		case ex.Schema == "state":
			for k := range v.Values {
				keys = append(keys, k)
			}
		case ex.Schema == "rpc-result" && v.Method == "get":
			for k := range v.Result.Values {
				keys = append(keys, k)
			}
		case ex.Schema == "bridge-response" && v.Op == api.OpListTranslators:
			var list []api.TranslatorInfo
			_ = json.Unmarshal(v.Data, &list)
			for _, ti := range list {
				for _, e := range ti.Exposes {
					if _, ok := model[e.Key]; !ok {
						t.Errorf("docs/%s:%d: exposed key %q is not what Describe reports", ex.File, ex.Line, e.Key)
					}
					checked++
				}
			}
		}
		for _, k := range keys {
			if ex.Schema == "state" && v.Values != nil && strings.HasPrefix(k, "acme.") {
				continue // the example's own vendor translator
			}
			check(ex, k, write, prefixOK)
			checked++
		}
	}
	// device-model.md's state example is a bare values object.
	dir, _ := apitest.RepoSchemaDir()
	doc, err := os.ReadFile(filepath.Join(dir, "..", "device-model.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatchIndex(doc, -1)
	if len(blocks) == 0 {
		t.Fatal("device-model.md: no json example")
	}
	for _, m := range blocks {
		ex := example{File: "device-model.md", Schema: "values", Line: 1 + strings.Count(string(doc[:m[0]]), "\n")}
		var values map[string]any
		if err := json.Unmarshal(doc[m[2]:m[3]], &values); err != nil {
			t.Errorf("docs/device-model.md:%d: %v", ex.Line, err)
		}
		for k := range values {
			check(ex, k, false, false)
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("only %d keys checked: the examples were not found", checked)
	}
}
