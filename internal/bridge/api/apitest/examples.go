package apitest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Example is one ```json block of a page of docs/ that follows a <!-- schema: name --> marker.
type Example struct {
	File   string // the page, e.g. "mqtt-api.md"
	Schema string
	Line   int
	Body   string
}

var exampleBlock = regexp.MustCompile("(?s)<!-- schema: ([a-z-]+) -->\\s*```json\n(.*?)```")

// Examples returns the marked examples of every page of the repository's docs/, in page order:
// the tests validate them against the schemas, the parsers, the device model and a running
// gateway, so that what a user pastes works.
func Examples() ([]Example, error) {
	dir, err := RepoSchemaDir()
	if err != nil {
		return nil, err
	}
	pages, err := filepath.Glob(filepath.Join(dir, "..", "*.md"))
	if err != nil {
		return nil, err
	}
	var out []Example
	for _, page := range pages {
		doc, err := os.ReadFile(page)
		if err != nil {
			return nil, err
		}
		for _, m := range exampleBlock.FindAllSubmatchIndex(doc, -1) {
			out = append(out, Example{
				File:   filepath.Base(page),
				Schema: string(doc[m[2]:m[3]]),
				Line:   1 + strings.Count(string(doc[:m[0]]), "\n"),
				Body:   string(doc[m[4]:m[5]]),
			})
		}
	}
	return out, nil
}
