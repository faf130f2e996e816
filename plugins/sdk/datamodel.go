package sdk

import (
	"slices"
	"strings"
)

// DataModel is the set of parameter and object names one device has, as the gateway's
// interview discovered them with GetParameterNames (TR-069 A.3.2.3; object names end in "."). It
// is immutable and safe for concurrent use. A nil *DataModel means "not known yet": its methods
// then answer as if every name existed, so a translator written for it plans exactly as one
// that ignores it.
type DataModel struct {
	names []string // sorted, without duplicates
}

// NewDataModel builds a data model from names in any order; nil when names is empty.
func NewDataModel(names []string) *DataModel {
	if len(names) == 0 {
		return nil
	}
	s := names
	if !slices.IsSorted(s) {
		s = slices.Clone(names)
		slices.Sort(s)
	}
	return &DataModel{names: slices.Compact(s)}
}

// Known reports whether the data model was discovered.
func (m *DataModel) Known() bool { return m != nil }

// Len is the number of names.
func (m *DataModel) Len() int {
	if m == nil {
		return 0
	}
	return len(m.names)
}

// Names returns the sorted names; the caller must not change them.
func (m *DataModel) Names() []string {
	if m == nil {
		return nil
	}
	return m.names
}

// Has reports whether the device has name: a parameter exactly, or, for a partial path ending
// in ".", the object or anything below it. Unknown models have everything.
func (m *DataModel) Has(name string) bool {
	if m == nil {
		return true
	}
	i, found := slices.BinarySearch(m.names, name)
	if found {
		return true
	}
	return strings.HasSuffix(name, ".") && i < len(m.names) && strings.HasPrefix(m.names[i], name)
}

// Below lists the names that start with prefix (the object itself included), in order; for an
// unknown model, nil.
func (m *DataModel) Below(prefix string) []string {
	if m == nil {
		return nil
	}
	i, _ := slices.BinarySearch(m.names, prefix)
	j := i
	for j < len(m.names) && strings.HasPrefix(m.names[j], prefix) {
		j++
	}
	return m.names[i:j]
}
