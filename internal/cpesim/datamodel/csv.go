package datamodel

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// csvColumns are the header names of a genieacs-sim data-model dump.
var csvColumns = [...]string{"Parameter", "Object", "Writable", "Value", "Value type"}

// LoadCSV reads a model in the genieacs-sim dump format: a header row naming the columns
// Parameter, Object, Writable, Value and "Value type" (any order), then one row per object or
// parameter. Object names may omit the trailing "."; missing parent objects are created.
// Rows "DeviceID.Manufacturer|OUI|ProductClass|SerialNumber" set the Inform's DeviceId.
func LoadCSV(r io.Reader) (*Model, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("model csv header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	var idx [len(csvColumns)]int
	for i, name := range csvColumns {
		c, ok := col[name]
		if !ok {
			return nil, fmt.Errorf("model csv: no %q column in header %q", name, header)
		}
		idx[i] = c
	}
	m := newModel()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("model csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		field := func(i int) string {
			if idx[i] < len(rec) {
				return rec[idx[i]]
			}
			return ""
		}
		name, object, writable, value := field(0), field(1) == "true", field(2) == "true", field(3)
		if name == "" {
			return nil, fmt.Errorf("model csv line %d: empty parameter name", line)
		}
		if id, ok := strings.CutPrefix(name, "DeviceID."); ok {
			if err := setDeviceID(&m.id, id, value); err != nil {
				return nil, fmt.Errorf("model csv line %d: %w", line, err)
			}
			continue
		}
		n := &node{name: name, object: object, writable: writable}
		if object {
			if !strings.HasSuffix(n.name, ".") {
				n.name += "."
			}
		} else {
			if n.typ, err = ParseType(field(4)); err != nil {
				return nil, fmt.Errorf("model csv line %d (%s): %w", line, name, err)
			}
			// Dumps hold what the device said, even "" for an int: keep it, but nothing else odd.
			if _, err := n.typ.Canonical(value); err != nil && value != "" {
				return nil, fmt.Errorf("model csv line %d (%s): %w", line, name, err)
			}
			n.value = value
		}
		if err := m.t.add(n); err != nil {
			return nil, fmt.Errorf("model csv line %d: %w", line, err)
		}
	}
	if len(m.t.root.children) != 1 {
		return nil, fmt.Errorf("model csv: want one root object, have %d", len(m.t.root.children))
	}
	return m, nil
}

func setDeviceID(id *soap.DeviceID, field, value string) error {
	switch field {
	case "Manufacturer":
		id.Manufacturer = value
	case "OUI":
		id.OUI = value
	case "ProductClass":
		id.ProductClass = value
	case "SerialNumber":
		id.SerialNumber = value
	default:
		return fmt.Errorf("unknown DeviceID field %q", field)
	}
	return nil
}
