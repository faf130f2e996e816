package soap

import (
	"strings"

	"github.com/beevik/etree"
)

// Namespaces are matched by URI, never by prefix (checklist 20–22): etree keeps prefixes as
// written, so every prefix is resolved here through the xmlns declarations in scope, which may sit
// on the Envelope, the Body, the method element or any element in between.

// Tolerated alternatives of the namespaces in messages.go (checklist 21).
const (
	nsSOAPEncNoSlash = "http://schemas.xmlsoap.org/soap/encoding"
	nsSOAPEnvNoSlash = "http://schemas.xmlsoap.org/soap/envelope"
	nsXSD1999        = "http://www.w3.org/1999/XMLSchema"
	nsXSI1999        = "http://www.w3.org/1999/XMLSchema-instance"
	nsXSD2000        = "http://www.w3.org/2000/10/XMLSchema"
	nsXSI2000        = "http://www.w3.org/2000/10/XMLSchema-instance"
)

// lookupPrefix resolves prefix ("" for the default namespace) from e upwards.
func lookupPrefix(e *etree.Element, prefix string) (string, bool) {
	for ; e != nil; e = e.Parent() {
		for i := range e.Attr {
			a := &e.Attr[i]
			if prefix == "" {
				if a.Space == "" && a.Key == "xmlns" {
					return a.Value, true
				}
			} else if a.Space == "xmlns" && a.Key == prefix {
				return a.Value, true
			}
		}
	}
	return "", false
}

// elementNS is the namespace URI of e ("" when unqualified or its prefix is undeclared).
func elementNS(e *etree.Element) string {
	ns, _ := lookupPrefix(e, e.Space)
	return ns
}

func isSOAPEnv(ns string) bool { return ns == NSSOAPEnv || ns == nsSOAPEnvNoSlash }
func isSOAPEnc(ns string) bool { return ns == NSSOAPEnc || ns == nsSOAPEncNoSlash }
func isXSI(ns string) bool     { return ns == NSXSI || ns == nsXSI1999 || ns == nsXSI2000 }
func isXSD(ns string) bool     { return ns == NSXSD || ns == nsXSD1999 || ns == nsXSD2000 }

// IsCWMPNamespace reports the CWMP namespaces accepted on input: 1-0, 1-1, 1-2 and the
// non-standard 1-3 and 1-4 (checklist 22).
func IsCWMPNamespace(ns string) bool {
	switch ns {
	case NSCWMP10, NSCWMP11, NSCWMP12, NSCWMP13, NSCWMP14:
		return true
	}
	return false
}

// splitQName splits "p:local" or Clark "{uri}local". For Clark notation the URI is returned
// with clark set.
func splitQName(q string) (prefix, local string, clark bool) {
	if strings.HasPrefix(q, "{") {
		if end := strings.IndexByte(q, '}'); end > 0 {
			return q[1:end], q[end+1:], true
		}
	}
	if i := strings.LastIndexByte(q, ':'); i >= 0 {
		return q[:i], q[i+1:], false
	}
	return "", q, false
}

// xsiType returns the xsi:type attribute value of e, resolving the attribute's prefix by URI.
// An undeclared "xsi" prefix is still accepted (with a warning by the caller) because some CPEs
// forget the declaration.
func xsiType(e *etree.Element) (val string, found, undeclared bool) {
	for i := range e.Attr {
		a := &e.Attr[i]
		if a.Key != "type" || a.Space == "" || a.Space == "xmlns" {
			continue
		}
		ns, ok := lookupPrefix(e, a.Space)
		if isXSI(ns) {
			return a.Value, true, false
		}
		if !ok && a.Space == "xsi" {
			return a.Value, true, true
		}
	}
	return "", false, false
}
