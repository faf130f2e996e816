// Package apitest checks MQTT payloads against the JSON Schemas of docs/schema (draft 2020-12),
// for the tests of internal/bridge/api and of the bridge: what a test publishes or receives must be what
// docs/mqtt-api.md promises a platform.
package apitest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schemas is the compiled set of one schema directory, by name ("rpc-request" for
// rpc-request.json).
type Schemas struct {
	byName map[string]*jsonschema.Schema
}

// Load compiles every *.json of dir. Schemas may $ref each other by relative file name.
func Load(dir string) (*Schemas, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(abs, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json schema in %s", abs)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // "date-time", "uri" are checked, not just annotations
	s := &Schemas{byName: make(map[string]*jsonschema.Schema, len(files))}
	for _, f := range files {
		sch, err := c.Compile("file://" + filepath.ToSlash(f))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", filepath.Base(f), err)
		}
		s.byName[strings.TrimSuffix(filepath.Base(f), ".json")] = sch
	}
	return s, nil
}

// Names lists the schema names, sorted.
func (s *Schemas) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate checks one JSON payload against the named schema.
func (s *Schemas) Validate(name string, payload []byte) error {
	sch, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("no schema %q (have %s)", name, strings.Join(s.Names(), ", "))
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("payload is not JSON: %w", err)
	}
	return sch.Validate(doc)
}

// RepoSchemaDir finds docs/schema of the repository holding the working directory, by walking
// up to go.mod: tests run in their package directory.
func RepoSchemaDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "docs", "schema"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

var repo struct {
	once    sync.Once
	schemas *Schemas
	err     error
}

// ValidatePayload checks a payload against docs/schema/<schemaName>.json of this repository.
func ValidatePayload(schemaName string, payload []byte) error {
	repo.once.Do(func() {
		dir, err := RepoSchemaDir()
		if err != nil {
			repo.err = err
			return
		}
		repo.schemas, repo.err = Load(dir)
	})
	if repo.err != nil {
		return repo.err
	}
	return repo.schemas.Validate(schemaName, payload)
}
