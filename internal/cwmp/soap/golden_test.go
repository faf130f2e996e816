package soap

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current decoder")

// goldenView is the stable JSON rendering of a decode result: every Envelope field, the method
// name, the message with all its fields, and the error if any.
type goldenView struct {
	NS                    string
	ID                    string
	HasID                 bool
	HoldRequests          bool
	SessionTimeout        int
	SupportedCWMPVersions string
	UseCWMPVersion        string
	Method                string
	Body                  Message
	Warnings              []string
	Error                 string `json:",omitempty"`
}

func renderGolden(env *Envelope, err error) []byte {
	var v goldenView
	if env != nil {
		v = goldenView{
			NS: env.NS, ID: env.ID, HasID: env.HasID, HoldRequests: env.HoldRequests,
			SessionTimeout: env.SessionTimeout, SupportedCWMPVersions: env.SupportedCWMPVersions,
			UseCWMPVersion: env.UseCWMPVersion, Body: env.Body, Warnings: env.Warnings,
		}
		if env.Body != nil {
			v.Method = env.Body.MethodName()
		}
	}
	if err != nil {
		v.Error = err.Error()
	}
	b, jerr := json.MarshalIndent(v, "", "  ")
	if jerr != nil {
		panic(jerr)
	}
	return append(b, '\n')
}

func realFixtures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "real", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/real: %v", err)
	}
	return files
}

// TestGoldenRealCaptures decodes every real capture and compares the result with the reviewed
// golden rendering. Run with -update to regenerate, then review the diff by eye.
func TestGoldenRealCaptures(t *testing.T) {
	for _, path := range realFixtures(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".xml")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			env, err := Decode(body, "text/xml")
			if err != nil {
				t.Errorf("decode: %v", err)
			}
			got := renderGolden(env, err)
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run with -update and review it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded %s differs from %s:\n%s", path, golden, lineDiff(string(want), string(got)))
			}
		})
	}
}

// lineDiff shows the first differing lines, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + "\n  want: " + wl + "\n  got:  " + gl + "\n")
			if shown++; shown == 10 {
				break
			}
		}
	}
	return b.String()
}
