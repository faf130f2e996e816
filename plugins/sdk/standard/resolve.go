package standard

import (
	"errors"
	"slices"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// ErrNoRoot is returned by ResolveGet when the request does not say the device's data model.
var ErrNoRoot = errors.New("standard: device root unknown (DeviceInfo.Root is empty)")

// ResolveGet maps keys to the parameter names to read. A key may be exact ("wifi.ssid.1.ssid"),
// carry instance wildcards ("wifi.ssid.*.ssid" or "{i}") or be a prefix ("wifi", "wifi.ssid.1"):
// instances left open become the partial path of their table, and objects chosen per device
// (the WAN connection, the LAN interface) the partial path they are chosen from, since a get
// carries no raw state. Partial paths end in "."; names they cover are dropped.
//
// A key known in the other data model only (wan.ipv6_address on a TR-098 device) is Absent,
// not Unknown: the device lacks it, the request is fine. "model" is known and reads nothing:
// Normalize always returns it.
func (t *Translator) ResolveGet(req sdk.GetRequest) (sdk.GetPlan, error) {
	var m *model
	switch req.Device.Root {
	case RootTR098:
		m = t.tr098
	case RootTR181:
		m = t.tr181
	default:
		return sdk.GetPlan{}, ErrNoRoot
	}
	root := req.Device.Root
	set := map[string]bool{}
	var plan sdk.GetPlan
	keys := req.Keys
	if len(keys) == 0 {
		// No keys: every readable key (docs/mqtt-api.md, get). Write-only keys (a passphrase)
		// are never read back.
		for _, c := range m.all {
			if c.expose.Access != sdk.Write {
				keys = append(keys, c.expose.Key)
			}
		}
	}
	for _, raw := range keys {
		k := strings.TrimSuffix(strings.TrimSpace(raw), ".")
		if k == "" {
			plan.Unknown = append(plan.Unknown, raw)
			continue
		}
		segs := strings.Split(k, ".")
		matched, kept, lacking := false, false, ""
		for _, c := range m.all {
			insts, ok := matchKey(c.Key, segs, false)
			if !ok {
				continue
			}
			matched = true
			for _, p := range c.readPaths(m, insts) {
				// Only what the device has (req.Model; every name while it is unknown): a
				// cheap CPE may drop the session on a name it lacks instead of answering 9005.
				if !req.Model.Has(root + p) {
					if lacking == "" {
						lacking = root + p
					}
					continue
				}
				set[root+p], kept = true, true
			}
		}
		if matched && !kept && len(req.Keys) > 0 {
			if plan.Missing == nil {
				plan.Missing = map[string]string{}
			}
			plan.Missing[raw] = lacking
			continue
		}
		switch _, known := t.known(segs, false); {
		case matched, k == KeyModel:
		case known:
			plan.Absent = append(plan.Absent, raw)
		default:
			plan.Unknown = append(plan.Unknown, raw)
		}
	}
	for name := range set {
		covered := false
		for p := range set {
			if p != name && strings.HasSuffix(p, ".") && strings.HasPrefix(name, p) {
				covered = true
				break
			}
		}
		if !covered {
			plan.Names = append(plan.Names, name)
		}
	}
	slices.Sort(plan.Names)
	return plan, nil
}

// matchKey matches requested key segments against a key pattern. With exact, every segment must
// be there and every instance a number; otherwise the request may stop early (a prefix) and
// leave instances open with "*" or "{i}" (0 in the result).
func matchKey(pattern string, segs []string, exact bool) ([]int64, bool) {
	pat := strings.Split(pattern, ".")
	if len(segs) > len(pat) || exact && len(segs) != len(pat) {
		return nil, false
	}
	var insts []int64
	for i, p := range pat {
		if p != placeholder {
			if i < len(segs) && segs[i] != p {
				return nil, false
			}
			continue
		}
		if i >= len(segs) || !exact && (segs[i] == "*" || segs[i] == placeholder) {
			insts = append(insts, 0)
			continue
		}
		n, ok := digits(segs[i])
		if !ok || n == 0 {
			return nil, false
		}
		insts = append(insts, n)
	}
	return insts, true
}

// readPaths lists what to read for a binding: its parameter and sources, each as an exact name
// when every instance is known, else cut to the partial path of the first open table.
func (c *compiled) readPaths(m *model, insts []int64) []string {
	var out []string
	for _, p := range append([]string{c.Param}, c.Sources...) {
		if strings.HasPrefix(p, "{") {
			end := strings.IndexByte(p, '}')
			for _, cd := range m.contexts {
				if cd.name == p[1:end] {
					out = append(out, cd.get)
					out = append(out, cd.also...)
				}
			}
			continue
		}
		out = append(out, fillPath(p, insts, c.RemapAP))
	}
	return out
}

// fillPath substitutes known instances into a parameter pattern and cuts it at the first unknown
// one. AccessPoint instances are not the SSID's: a remapped binding reads the whole table.
func fillPath(p string, insts []int64, remap bool) string {
	segs := strings.Split(p, ".")
	next := 0
	for i, s := range segs {
		if s != placeholder {
			continue
		}
		if next >= len(insts) || insts[next] == 0 || remap {
			return strings.Join(segs[:i], ".") + "."
		}
		segs[i] = itoa(insts[next])
		next++
	}
	return strings.Join(segs, ".")
}
