package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const modulePath = "github.com/cwmp2mqtt/cwmp2mqtt"

// repoPackages lists every package of the repository (both modules) with the packages of the
// repository its non-test files import, by path relative to the repository root.
func repoPackages(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`,
		"./...", modulePath+"/plugins/sdk/...")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		var deps []string
		for _, imp := range f[1:] {
			if rel, ok := strings.CutPrefix(imp, modulePath+"/"); ok {
				deps = append(deps, rel)
			}
		}
		pkgs[strings.TrimPrefix(f[0], modulePath+"/")] = deps
	}
	return pkgs
}

// The README's layout table is how a newcomer finds their way: every package is in it, and
// nothing in it is gone.
func TestReadmeLayoutListsEveryPackage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(raw), "## Layout")
	if !ok {
		t.Fatal("README.md has no Layout section")
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(layout, -1) {
		listed[m[1]] = true
	}
	pkgs := repoPackages(t)
	for p := range pkgs {
		if !listed[p] {
			t.Errorf("package %s is missing from the README's layout table", p)
		}
	}
	for p := range listed {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("the README's layout table lists %s, which is not a package", p)
		}
	}
}

// layer names the part of the flow a package belongs to, by path prefix (longest first).
var layers = []struct{ prefix, layer string }{
	{"cmd/", "cmd"},
	{"internal/admin", "admin"},
	{"internal/bridge/taskq", "taskq"},
	{"internal/bridge/interview", "interview"},
	{"internal/bridge", "bridge"},
	{"internal/cwmp/", "cwmp"},
	{"internal/mqtt", "mqtt"},
	{"internal/boltmap", "boltmap"},
	{"internal/cpesim/", "cpesim"},
	{"plugins/sdk/host", "host"},
	{"plugins/sdk/sdktest", "sdktest"},
	{"plugins/sdk/standard", "translator"},
	{"plugins/huawei", "translator"},
	{"plugins/sdk/internal/testtranslator", "translator"},
	{"plugins/sdk", "sdk"},
}

// mayImport is the one-way flow of docs/design.md §2: cmd → bridge → {cwmp, mqtt, host} → sdk.
// A layer may import itself and what is listed; cwmp and mqtt never meet.
var mayImport = map[string][]string{
	"cmd":        {"admin", "bridge", "cwmp", "mqtt", "cpesim", "host", "translator", "sdk", "boltmap"},
	"admin":      {"bridge", "cwmp", "mqtt", "host", "sdk"},
	"bridge":     {"taskq", "interview", "cwmp", "mqtt", "sdk"},
	"taskq":      {},      // below bridge: the queues know no session, broker or store
	"interview":  {"sdk"}, // below bridge: the walk knows no session, queue or broker
	"cwmp":       {},
	"mqtt":       {"boltmap"},
	"boltmap":    {}, // beside the store files: gives their maps' pages back
	"cpesim":     {"cwmp"},
	"host":       {"sdk"},
	"sdktest":    {"host", "sdk"},
	"translator": {"sdk"},
	"sdk":        {},
}

func layerOf(pkg string) string {
	for _, l := range layers {
		if strings.HasPrefix(pkg, l.prefix) {
			return l.layer
		}
	}
	return ""
}

func TestPackagesPointOneWay(t *testing.T) {
	for pkg, deps := range repoPackages(t) {
		from := layerOf(pkg)
		if from == "" {
			t.Errorf("package %s belongs to no layer of the flow: add it to this test's layers", pkg)
			continue
		}
		for _, dep := range deps {
			to := layerOf(dep)
			if to != from && !slices.Contains(mayImport[from], to) {
				t.Errorf("%s (%s) imports %s (%s): imports point cmd → bridge → {cwmp, mqtt, host} → sdk", pkg, from, dep, to)
			}
		}
	}
}
