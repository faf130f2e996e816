package standard

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// docKeys returns the keys in the first column of the tables of docs/device-model.md.
func docKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9_.{}]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		keys[m[1]] = true
	}
	return keys
}

// The device model document and the code list the same keys (vendor sections are checked by
// the vendor's own tests).
func TestDocListsEveryKey(t *testing.T) {
	doc := docKeys(t, "../../../docs/device-model.md")
	code := map[string]sdk.Expose{}
	for _, e := range standardKeys {
		code[e.Key] = e
		if !doc[e.Key] {
			t.Errorf("%s is not documented in docs/device-model.md", e.Key)
		}
	}
	for k := range doc {
		if _, ok := code[k]; !ok && !strings.HasPrefix(k, "huawei.") {
			t.Errorf("docs/device-model.md documents %s, which the code does not expose", k)
		}
	}
}
