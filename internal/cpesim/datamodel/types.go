package datamodel

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Type is the xsi:type local name of a parameter (TR-069 §A.2.1, checklist 34).
type Type string

const (
	TypeString       Type = "string"
	TypeInt          Type = "int"
	TypeUnsignedInt  Type = "unsignedInt"
	TypeLong         Type = "long"
	TypeUnsignedLong Type = "unsignedLong"
	TypeBoolean      Type = "boolean"
	TypeDateTime     Type = "dateTime"
	TypeBase64       Type = "base64"
	TypeHexBinary    Type = "hexBinary"
)

// ParseType reads a type as CSV dumps and the wire write it ("xsd:unsignedInt", "boolean").
// An empty type is string, as CPEs that omit xsi:type mean (checklist 34).
func ParseType(s string) (Type, error) {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	switch t := Type(s); t {
	case "":
		return TypeString, nil
	case TypeString, TypeInt, TypeUnsignedInt, TypeLong, TypeUnsignedLong, TypeBoolean,
		TypeDateTime, TypeBase64, TypeHexBinary:
		return t, nil
	}
	return "", fmt.Errorf("unknown parameter type %q", s)
}

// Zero is the value a fresh instance's parameter of this type gets.
func (t Type) Zero() string {
	switch t {
	case TypeInt, TypeUnsignedInt, TypeLong, TypeUnsignedLong:
		return "0"
	case TypeBoolean:
		return "false"
	case TypeDateTime:
		return "0001-01-01T00:00:00Z" // the TR-069 "unknown time"
	}
	return ""
}

// dateTimeLayouts are the xs:dateTime forms CPEs and ACSes send (checklist 32).
var dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"}

// Canonical checks v against the type and returns the value as this CPE stores it: booleans
// become true/false whatever form (1/0) the ACS sent (checklist 35). A value that does not fit
// is an error (fault 9007).
func (t Type) Canonical(v string) (string, error) {
	var err error
	switch t {
	case TypeInt:
		_, err = strconv.ParseInt(v, 10, 32)
	case TypeUnsignedInt:
		_, err = strconv.ParseUint(v, 10, 32)
	case TypeLong:
		_, err = strconv.ParseInt(v, 10, 64)
	case TypeUnsignedLong:
		_, err = strconv.ParseUint(v, 10, 64)
	case TypeBoolean:
		switch strings.ToLower(v) {
		case "true", "1":
			return "true", nil
		case "false", "0":
			return "false", nil
		}
		err = fmt.Errorf("not a boolean")
	case TypeDateTime:
		err = fmt.Errorf("not a dateTime")
		for _, l := range dateTimeLayouts {
			if _, perr := time.Parse(l, v); perr == nil {
				err = nil
				break
			}
		}
	case TypeBase64:
		_, err = base64.StdEncoding.DecodeString(v)
	case TypeHexBinary:
		_, err = hex.DecodeString(v)
	}
	if err != nil {
		return "", fmt.Errorf("%q is not a valid %s", v, t)
	}
	return v, nil
}
