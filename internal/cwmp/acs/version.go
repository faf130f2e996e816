package acs

import (
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// acsVersions are the CWMP versions this ACS speaks, oldest first.
var acsVersions = [...]string{"1.0", "1.1", "1.2", "1.3", "1.4"}

// negotiateVersion picks the highest version in both the CPE's SupportedCWMPVersions header
// (comma-separated; cwmp-1-4.xsd header elements, checklist 23) and acsVersions. ok is false when there is
// none in common: the ACS must then answer fault 8006.
func negotiateVersion(supported string) (v string, ok bool) {
	best := -1
	for item := range strings.SplitSeq(supported, ",") {
		item = strings.TrimSpace(item)
		for i, av := range acsVersions {
			if item == av && i > best {
				best = i
			}
		}
	}
	if best < 0 {
		return "", false
	}
	return acsVersions[best], true
}

// versionForNS is the protocol version implied by the envelope's namespace when the CPE did not
// negotiate: cwmp-1-2 covers 1.2 and later, so without negotiation it means 1.2 (checklist 22).
func versionForNS(ns string) string {
	switch ns {
	case soap.NSCWMP11:
		return "1.1"
	case soap.NSCWMP12:
		return "1.2"
	case soap.NSCWMP13:
		return "1.3"
	case soap.NSCWMP14:
		return "1.4"
	default:
		return "1.0"
	}
}
