package standard

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Reasons DenormalizeSet refuses a key (SetPlan.Rejected), each with its sdk.RejectCode
// (SetPlan.Codes) when it has one.
const (
	reasonUnknown     = "unknown key"                                                                    // RejectUnknown
	reasonReadOnly    = "read-only key"                                                                  // RejectReadOnly
	reasonNoContext   = "the device's WAN/LAN interface is not known yet (no raw state to pick it from)" // no code: nothing known of the device
	reasonNoInstance  = "no such instance on this device"                                                // RejectAbsent
	reasonModelAccess = "read-only in this data model"                                                   // RejectReadOnlyHere
	reasonNotInModel  = "not in this device's data model"                                                // RejectAbsent
)

// rejection is why one key is refused.
type rejection struct {
	reason string
	code   sdk.RejectCode // "" when neither the request nor the device is known to be the cause
}

// reasonLacks names the parameter the device's data model lacks.
func reasonLacks(param string) string { return "not on this device: its data model has no " + param }

// reasonNoInterface says which object the device lacks, e.g. "no PPP WAN connection in use".
func reasonNoInterface(what string) string { return "not on this device: no " + what + " in use" }

// DenormalizeSet plans one SetParameterValues for every key it accepts; the others are listed
// in Rejected with a reason. Objects chosen per device (WAN connection, LAN interface, the
// AccessPoint of an SSID) are found in req.Params, the last known raw state.
func (t *Translator) DenormalizeSet(req sdk.SetRequest) (sdk.SetPlan, error) {
	plan := sdk.SetPlan{Rejected: map[string]string{}, Codes: map[string]sdk.RejectCode{}}
	m, root, err := t.modelFor(req.Device, req.Params)
	if err != nil {
		return plan, err
	}
	v := &view{root: root, params: req.Params}
	m.scan(v)
	var params []any
	for _, key := range sortedKeys(req.Values) {
		name, xsd, value, rej := t.planSet(m, v, req.Model, key, req.Values[key])
		if rej.reason != "" {
			plan.Rejected[key] = rej.reason
			if rej.code != "" {
				plan.Codes[key] = rej.code
			}
			continue
		}
		params = append(params, []any{root + name, value, "xsd:" + xsd})
	}
	if len(params) > 0 {
		plan.RPCs = append(plan.RPCs, sdk.RPC{Method: "SetParameterValues", Args: map[string]any{
			"parameters": params, "parameter_key": t.opts.ParameterKey}})
	}
	return plan, nil
}

// planSet resolves one key to the parameter, its type and the encoded value, or a rejection.
// The checks go from the request's faults to the device's (TR-069 A.3.2.1: a CPE answers 9008
// for a read-only parameter, 9005 for one it lacks; refusing here names the key instead).
func (t *Translator) planSet(m *model, v *view, dm *sdk.DataModel, key string, value any) (name, xsd, raw string, rej rejection) {
	segs := strings.Split(strings.TrimSpace(key), ".")
	e, known := t.known(segs, true)
	switch {
	case !known:
		return "", "", "", rejection{reasonUnknown, sdk.RejectUnknown}
	case e.Access == sdk.Read:
		return "", "", "", rejection{reasonReadOnly, sdk.RejectReadOnly}
	}
	var cands []*compiled
	var insts []int64
	for _, c := range m.all {
		if in, ok := matchKey(c.Key, segs, true); ok {
			cands, insts = append(cands, c), in
		}
	}
	if len(cands) == 0 {
		return "", "", "", rejection{reasonNotInModel, sdk.RejectAbsent}
	}
	cands = slices.DeleteFunc(cands, func(c *compiled) bool { return !c.writable })
	if len(cands) == 0 {
		return "", "", "", rejection{reasonModelAccess, sdk.RejectReadOnlyHere}
	}
	var c *compiled
	lacking := ""
	for _, x := range cands {
		if x.ctx >= 0 && v.ctx[x.ctx] == "" {
			continue
		}
		// Among alternatives (TR-098 KeyPassphrase, PreSharedKey.1.KeyPassphrase, PreSharedKey.1.PreSharedKey)
		// the first the device has; every one while its data model is unknown.
		xi := insts
		if x.RemapAP {
			xi = v.apFor(insts)
		}
		if n, ok := x.param(v, xi); ok && !dm.Has(v.root+n) {
			if lacking == "" {
				lacking = v.root + n
			}
			continue
		}
		c = x
		break
	}
	if c == nil && lacking != "" {
		return "", "", "", rejection{reasonLacks(lacking), sdk.RejectAbsent}
	}
	if c == nil {
		if len(v.params) == 0 {
			return "", "", "", rejection{reason: reasonNoContext}
		}
		var what []string
		for _, x := range cands {
			what = append(what, m.contexts[x.ctx].what)
		}
		return "", "", "", rejection{reasonNoInterface(strings.Join(slices.Compact(what), " or ")), sdk.RejectAbsent}
	}
	raw, err := c.write(value, t.opts.BoolAsNumber)
	if err != nil {
		return "", "", "", rejection{err.Error(), sdk.RejectInvalid}
	}
	if c.RemapAP {
		insts = v.apFor(insts)
	}
	name, _ = c.param(v, insts)
	if len(insts) > 0 && !v.hasObject(name) {
		return "", "", "", rejection{reasonNoInstance, sdk.RejectAbsent}
	}
	return name, c.XSD, raw, rejection{}
}

// apFor maps an SSID instance to the AccessPoint that references it (identity without data).
func (v *view) apFor(insts []int64) []int64 {
	if len(insts) == 0 {
		return insts
	}
	for ap, ssid := range v.apToSSID {
		if ssid == insts[0] {
			return append([]int64{ap}, insts[1:]...)
		}
	}
	return insts
}

// hasObject reports whether the raw state shows the object holding name; with no raw state the
// gateway cannot tell, and the CPE will answer 9005 if the instance is missing.
func (v *view) hasObject(name string) bool {
	if len(v.params) == 0 {
		return true
	}
	obj := v.root + name[:strings.LastIndexByte(name, '.')+1]
	for p := range v.params {
		if strings.HasPrefix(p, obj) {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
