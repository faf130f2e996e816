package host

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

var (
	// exposeKeyRE: dotted segments, "*" for an instance number (sdk.Expose).
	exposeKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.([A-Za-z0-9_-]+|\*))*$`)
	// paramNameRE: a CWMP parameter name or partial path ending in "." (TR-069 A.3.2.1).
	paramNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\.?$`)
	ouiRE       = regexp.MustCompile(`^[0-9A-Fa-f]{6}$`)
)

// acsMethods are the ACS→CPE methods of CWMP 1.4 a translator may ask for (docs/design.md §3).
var acsMethods = map[string]bool{
	"GetRPCMethods": true, "GetParameterNames": true, "GetParameterValues": true,
	"SetParameterValues": true, "GetParameterAttributes": true, "SetParameterAttributes": true,
	"AddObject": true, "DeleteObject": true, "Reboot": true, "FactoryReset": true,
	"Download": true, "Upload": true, "ScheduleInform": true, "ScheduleDownload": true,
	"CancelTransfer": true, "GetQueuedTransfers": true, "GetAllQueuedTransfers": true,
	"ChangeDUState": true,
}

var exposeTypes = map[string]bool{
	sdk.TypeString: true, sdk.TypeInteger: true, sdk.TypeNumber: true,
	sdk.TypeBoolean: true, sdk.TypeDateTime: true, sdk.TypeObject: true,
}

// maxProblems caps the problems listed in one error: enough to fix a translator, short enough
// for a log line.
const maxProblems = 5

// problems collects readable problems of one answer.
type problems struct {
	list  []string
	extra int
}

func (p *problems) addf(format string, args ...any) {
	if len(p.list) == maxProblems {
		p.extra++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	s := strings.Join(p.list, "; ")
	if p.extra > 0 {
		s += fmt.Sprintf(" (and %d more)", p.extra)
	}
	return errors.New(s)
}

// ValidateDescription checks what a translator says of itself: a name and version, unique
// well-formed expose keys with valid types and access, and well-formed match rules. The host
// refuses a translator whose description fails; sdktest runs the same check.
func ValidateDescription(d sdk.Description) error {
	var p problems
	if !pluginNameRE.MatchString(d.Name) {
		p.addf("name %q: want letters, digits, . _ - (at most 64)", d.Name)
	}
	if strings.TrimSpace(d.Version) == "" {
		p.addf("version is empty")
	}
	seen := make(map[string]bool, len(d.Exposes))
	for _, e := range d.Exposes {
		switch {
		case !exposeKeyRE.MatchString(e.Key):
			p.addf("expose %q: invalid key (dotted segments of letters, digits, _ -, or *)", e.Key)
		case seen[e.Key]:
			p.addf("expose %q: declared twice", e.Key)
		}
		seen[e.Key] = true
		if !exposeTypes[e.Type] {
			p.addf("expose %q: invalid type %q", e.Key, e.Type)
		}
		if e.Access != sdk.Read && e.Access != sdk.Write && e.Access != sdk.ReadWrite {
			p.addf("expose %q: invalid access %q", e.Key, e.Access)
		}
	}
	rules := make(map[sdk.Match]bool, len(d.Match))
	for i, m := range d.Match {
		if err := validateMatch(m); err != nil {
			p.addf("match[%d]: %v", i, err)
		}
		if rules[m] {
			p.addf("match[%d]: duplicate rule", i)
		}
		rules[m] = true
	}
	return p.err()
}

func validateMatch(m sdk.Match) error {
	if m.OUI != "" && !ouiRE.MatchString(m.OUI) {
		return fmt.Errorf("oui %q: want 6 hex digits", m.OUI)
	}
	return nil
}

// exposeIndex answers "which Expose declares this state key" in O(key length).
type exposeIndex struct {
	exact map[string]sdk.Expose // keys as declared, "*" included
}

func newExposeIndex(list []sdk.Expose) *exposeIndex {
	ix := &exposeIndex{exact: make(map[string]sdk.Expose, len(list))}
	for _, e := range list {
		ix.exact[e.Key] = e
	}
	return ix
}

// lookup finds the Expose of a concrete key: declared as is, or with its instance numbers
// replaced by "*". It runs for every state key of every Inform, so it does not allocate.
func (ix *exposeIndex) lookup(key string) (sdk.Expose, bool) {
	if e, ok := ix.exact[key]; ok {
		return e, true
	}
	var buf [128]byte
	starred := buf[:0]
	found, first := false, true
	for seg := range strings.SplitSeq(key, ".") {
		if !first {
			starred = append(starred, '.')
		}
		first = false
		if isInstance(seg) {
			starred, found = append(starred, '*'), true
		} else {
			starred = append(starred, seg...)
		}
	}
	if !found {
		return sdk.Expose{}, false
	}
	e, ok := ix.exact[string(starred)]
	return e, ok
}

func isInstance(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func readable(a sdk.Access) bool { return a == sdk.Read || a == sdk.ReadWrite }
func writable(a sdk.Access) bool { return a == sdk.Write || a == sdk.ReadWrite }

// checkState validates a Normalize answer against the exposes and returns it in canonical form.
func (ix *exposeIndex) checkState(st sdk.State) (sdk.State, error) {
	var p problems
	out := make(sdk.State, len(st))
	for k, v := range st {
		e, ok := ix.lookup(k)
		switch {
		case !ok:
			p.addf("key %q is not exposed", k)
			continue
		case !readable(e.Access):
			p.addf("key %q is write-only", k)
			continue
		}
		cv, err := conform(e.Type, v)
		if err != nil {
			p.addf("key %q: %v", k, err)
			continue
		}
		out[k] = cv
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// conform returns v canonical and of the expose type, converting where no information is lost
// (any integer for integer and number, an integral float for integer, time.Time for datetime).
func conform(typ string, v any) (any, error) {
	c, err := wire.Canonical(v)
	if err != nil {
		return nil, err
	}
	switch typ {
	case sdk.TypeString:
		if s, ok := c.(string); ok {
			return s, nil
		}
	case sdk.TypeBoolean:
		if b, ok := c.(bool); ok {
			return b, nil
		}
	case sdk.TypeInteger:
		switch n := c.(type) {
		case int64:
			return n, nil
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
				return int64(n), nil
			}
		}
	case sdk.TypeNumber:
		switch n := c.(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		}
	case sdk.TypeDateTime:
		if s, ok := c.(string); ok {
			if validDateTime(s) {
				return s, nil
			}
			return nil, fmt.Errorf("datetime %q is not RFC 3339", s)
		}
	case sdk.TypeObject:
		switch c.(type) {
		case map[string]any, []any:
			return c, nil
		}
	}
	return nil, fmt.Errorf("%T value for type %s", v, typ)
}

// validDateTime accepts RFC 3339 and the zone-less xsd:dateTime many CPEs send (checklist: the
// dateTime of a device may come with or without zone and milliseconds).
func validDateTime(s string) bool {
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return true
	}
	_, err := time.Parse("2006-01-02T15:04:05.999999999", s)
	return err == nil
}

// checkGetPlan validates a ResolveGet answer. Empty lists become nil, as after the wire.
// Unknown and Absent hold asked keys only, each in one of them: an absent key is known.
func checkGetPlan(req sdk.GetRequest, plan sdk.GetPlan) (sdk.GetPlan, error) {
	plan.Names, plan.Unknown, plan.Absent = nilIfEmpty(plan.Names), nilIfEmpty(plan.Unknown), nilIfEmpty(plan.Absent)
	var p problems
	for _, n := range plan.Names {
		if !paramNameRE.MatchString(n) {
			p.addf("invalid parameter name %q", n)
		}
	}
	asked := make(map[string]bool, len(req.Keys))
	for _, k := range req.Keys {
		asked[k] = true
	}
	unknown := make(map[string]bool, len(plan.Unknown))
	for _, k := range plan.Unknown {
		unknown[k] = true
		if !asked[k] {
			p.addf("unknown key %q was not asked for", k)
		}
	}
	for _, k := range plan.Absent {
		switch {
		case !asked[k]:
			p.addf("absent key %q was not asked for", k)
		case unknown[k]:
			p.addf("key %q is both unknown and absent", k)
		}
	}
	if len(plan.Missing) == 0 {
		plan.Missing = nil
	}
	for k := range plan.Missing {
		switch {
		case !asked[k]:
			p.addf("missing key %q was not asked for", k)
		case unknown[k]:
			p.addf("key %q is both unknown and missing", k)
		}
	}
	return plan, p.err()
}

// checkSetPlan validates a DenormalizeSet answer. Empty collections become nil. Codes are for
// rejected keys only; a code the protocol lacks is dropped, as the wire drops it.
func checkSetPlan(req sdk.SetRequest, plan sdk.SetPlan) (sdk.SetPlan, error) {
	var p problems
	plan.RPCs = nilIfEmpty(plan.RPCs)
	if len(plan.Rejected) == 0 {
		plan.Rejected = nil
	}
	checkRPCs(&p, plan.RPCs)
	for k := range plan.Rejected {
		if _, ok := req.Values[k]; !ok {
			p.addf("rejected key %q was not asked for", k)
		}
	}
	var codes map[string]sdk.RejectCode
	for k, c := range plan.Codes {
		if _, ok := plan.Rejected[k]; !ok {
			p.addf("key %q has a reject code but is not rejected", k)
		}
		if wire.KnownRejectCode(c) {
			if codes == nil {
				codes = make(map[string]sdk.RejectCode, len(plan.Codes))
			}
			codes[k] = c
		}
	}
	plan.Codes = codes
	return plan, p.err()
}

func checkRPCs(p *problems, rpcs []sdk.RPC) {
	for i, r := range rpcs {
		if !acsMethods[r.Method] {
			p.addf("rpc %d: unknown method %q", i, r.Method)
		}
	}
}

// checkProvision validates a Provision answer. An empty list becomes nil.
func checkProvision(rpcs []sdk.RPC) ([]sdk.RPC, error) {
	var p problems
	checkRPCs(&p, rpcs)
	return nilIfEmpty(rpcs), p.err()
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
