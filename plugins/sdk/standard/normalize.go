package standard

import (
	"strings"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Skip is a raw value Normalize left out of the state, with the reason.
type Skip struct {
	Key, Param, Value, Reason string
}

// Normalize converts raw parameters into the friendly state. Odd values never fail the call:
// each is skipped, logged and reported by NormalizeReport (checklist 34). The state always
// carries "model": ModelVersion. An empty parameter set gives just the model version.
func (t *Translator) Normalize(req sdk.NormalizeRequest) (sdk.State, error) {
	st, skips, err := t.NormalizeReport(req)
	for _, s := range skips {
		t.log.Warn("value skipped", zap.String("device", req.Device.ID), zap.String("key", s.Key),
			zap.String("param", s.Param), zap.String("value", s.Value), zap.String("reason", s.Reason))
	}
	return st, err
}

// NormalizeReport is Normalize returning the skipped values instead of logging them.
func (t *Translator) NormalizeReport(req sdk.NormalizeRequest) (sdk.State, []Skip, error) {
	if len(req.Params) == 0 {
		return sdk.State{KeyModel: ModelVersion}, nil, nil
	}
	m, root, err := t.modelFor(req.Device, req.Params)
	if err != nil {
		return nil, nil, err
	}
	v := &view{root: root, params: req.Params, wantDerived: true,
		state: make(sdk.State, len(req.Params)/4+8)}
	v.state[KeyModel] = ModelVersion
	m.scan(v)

	var skips []Skip
	var nums [maxInstances]int64
	tmpl := make([]byte, 0, 128)
	keyBuf := make([]byte, 0, 64)
	emit := func(c *compiled, key, name, raw string, inst int64) {
		if c.expose.Access == sdk.Write {
			return // write-only keys (passphrases) are never published
		}
		val, err := c.read(raw, inst)
		if err != nil {
			skips = append(skips, Skip{Key: key, Param: name, Value: raw, Reason: err.Error()})
			return
		}
		v.state[key] = val
	}
	for name, val := range req.Params {
		rel, ok := strings.CutPrefix(name, root)
		if !ok {
			continue
		}
		if cs := m.contextBindings(v, rel); cs != nil {
			for _, c := range cs {
				emit(c, c.Key, name, val.Value, 0)
			}
			continue
		}
		var n int
		if tmpl, n, ok = templateOf(tmpl[:0], rel, &nums); !ok {
			continue
		}
		for _, c := range m.byTemplate[string(tmpl)] {
			insts := nums[:n]
			if c.RemapAP {
				insts = v.remapAP(c, nums, n)
			}
			key, ok := c.key(keyBuf, insts)
			if !ok {
				continue
			}
			emit(c, key, name, val.Value, firstOut(c, insts))
		}
	}
	return v.state, skips, nil
}

// contextBindings finds the bindings of rel under a chosen context (the first context that has
// any: the WAN connection before its WANDevice).
func (m *model) contextBindings(v *view, rel string) []*compiled {
	for i := range m.contexts {
		p := v.ctx[i]
		if p == "" || !strings.HasPrefix(rel, p) {
			continue
		}
		if cs := m.byContext[i][rel[len(p):]]; cs != nil {
			return cs
		}
	}
	return nil
}

// remapAP replaces the AccessPoint instance captured for a TR-181 binding with the instance of
// the SSID the AccessPoint references; without a reference the numbers are taken to be equal.
func (v *view) remapAP(c *compiled, nums [maxInstances]int64, n int) []int64 {
	out := nums
	for i, s := range c.slots[:n] {
		if s.literal == 0 {
			if ssid, ok := v.apToSSID[nums[i]]; ok {
				out[i] = ssid
			}
			break
		}
	}
	return out[:n]
}

// firstOut is the first instance that feeds the key (for Instance bindings).
func firstOut(c *compiled, insts []int64) int64 {
	for i, s := range c.slots {
		if s.literal == 0 && i < len(insts) {
			return insts[i]
		}
	}
	return 0
}
