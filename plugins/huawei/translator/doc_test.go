package translator

import (
	"os"
	"strings"
	"testing"
)

// Every Huawei key is documented in the vendor section of docs/device-model.md.
func TestDocListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../../docs/device-model.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Extension.Exposes {
		if !strings.Contains(string(b), "| `"+e.Key+"` |") {
			t.Errorf("%s is not documented in docs/device-model.md", e.Key)
		}
	}
}
