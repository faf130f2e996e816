// Package standardtest loads raw parameter sets for translator tests (the standard translator's
// and any vendor translator built on it) and checks states against golden JSON files.
package standardtest

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// ParamsFromCSV reads a data-model dump in the "Parameter,Object,Writable,Value,Value type" form
// (the GenieACS export the Huawei fixture comes in). Object rows and the DeviceID pseudo
// parameters are left out; "xsd:" is cut from the type, as the gateway hands types to translators.
func ParamsFromCSV(path string) (map[string]sdk.Value, error) {
	rows, err := readCSV(path)
	params := map[string]sdk.Value{}
	for _, r := range rows {
		params[r[0]] = sdk.Value{Value: r[3], Type: strings.TrimPrefix(r[4], "xsd:")}
	}
	return params, err
}

// WritableFromCSV reads the same dump's Writable column: parameter name → writable.
func WritableFromCSV(path string) (map[string]bool, error) {
	rows, err := readCSV(path)
	w := map[string]bool{}
	for _, r := range rows {
		w[r[0]] = r[2] == "true"
	}
	return w, err
}

// readCSV returns the parameter rows (objects and DeviceID pseudo parameters left out).
func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 || len(rows[0]) < 5 || rows[0][0] != "Parameter" {
		return nil, fmt.Errorf("%s: not a Parameter,Object,Writable,Value,Value type CSV", path)
	}
	var out [][]string
	for _, r := range rows[1:] {
		if r[1] != "true" && !strings.HasPrefix(r[0], "DeviceID.") {
			out = append(out, r)
		}
	}
	return out, nil
}

// Golden compares got, as indented JSON, with testdata/golden/<name>.json; -update rewrites it.
func Golden(t testing.TB, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(b) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after review):\n--- got\n%s", path, b)
	}
}
