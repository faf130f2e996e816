package standard

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Reasons DenormalizeSet refuses a key (SetPlan.Rejected).
const (
	reasonUnknown     = "unknown key"
	reasonReadOnly    = "read-only key"
	reasonNoContext   = "the device's WAN/LAN interface is not known yet (no raw state to pick it from)"
	reasonNoInstance  = "no such instance on this device"
	reasonModelAccess = "read-only in this data model"
)

// DenormalizeSet plans one SetParameterValues for every key it accepts; the others are listed
// in Rejected with a reason. Objects chosen per device (WAN connection, LAN interface, the
// AccessPoint of an SSID) are found in req.Params, the last known raw state.
func (t *Translator) DenormalizeSet(req sdk.SetRequest) (sdk.SetPlan, error) {
	plan := sdk.SetPlan{Rejected: map[string]string{}}
	m, root, err := t.modelFor(req.Device, req.Params)
	if err != nil {
		return plan, err
	}
	v := &view{root: root, params: req.Params}
	m.scan(v)
	var params []any
	for _, key := range sortedKeys(req.Values) {
		name, xsd, value, reason := t.planSet(m, v, key, req.Values[key])
		if reason != "" {
			plan.Rejected[key] = reason
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

// planSet resolves one key to the parameter, its type and the encoded value, or a reason.
func (t *Translator) planSet(m *model, v *view, key string, value any) (name, xsd, raw, reason string) {
	segs := strings.Split(strings.TrimSpace(key), ".")
	var cands []*compiled
	var insts []int64
	for _, c := range m.all {
		if in, ok := matchKey(c.Key, segs, true); ok {
			cands, insts = append(cands, c), in
		}
	}
	if len(cands) == 0 {
		return "", "", "", reasonUnknown
	}
	if cands[0].expose.Access == sdk.Read {
		return "", "", "", reasonReadOnly
	}
	cands = slices.DeleteFunc(cands, func(c *compiled) bool { return !c.writable })
	if len(cands) == 0 {
		return "", "", "", reasonModelAccess
	}
	var c *compiled
	for _, x := range cands {
		if x.ctx < 0 || v.ctx[x.ctx] != "" {
			c = x
			break
		}
	}
	if c == nil {
		return "", "", "", reasonNoContext
	}
	raw, err := c.write(value, t.opts.BoolAsNumber)
	if err != nil {
		return "", "", "", err.Error()
	}
	if c.RemapAP {
		insts = v.apFor(insts)
	}
	name, _ = c.param(v, insts)
	if len(insts) > 0 && !v.hasObject(name) {
		return "", "", "", reasonNoInstance
	}
	return name, c.XSD, raw, ""
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
