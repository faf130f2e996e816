package standard

import (
	"slices"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Inform event codes that trigger provisioning (TR-069 §3.7.1.5).
const (
	EventBootstrap = "0 BOOTSTRAP"
	EventBoot      = "1 BOOT"
)

// Notification values of SetParameterAttributes (TR-069 A.3.2.4).
const (
	NotifyPassive = 1
	NotifyActive  = 2
)

// Provision runs on BOOTSTRAP and BOOT Informs. It plans, each as its own RPC so one fault does
// not undo the others:
//   - SetParameterValues PeriodicInformEnable=true, PeriodicInformInterval=Options value;
//   - SetParameterAttributes active notification (2) on the WAN IPv4 address, so an address
//     change is seen at once (when the Inform shows which WAN connection is in use);
//   - SetParameterAttributes passive notification (1) on the SSID names the Inform shows
//     (instance 1 when it shows none), so renames reach the state at the next Inform.
func (t *Translator) Provision(req sdk.ProvisionRequest) ([]sdk.RPC, error) {
	if !slices.ContainsFunc(req.Events, func(e string) bool {
		e = strings.ToUpper(strings.TrimSpace(e))
		return e == EventBootstrap || e == EventBoot
	}) {
		return nil, nil
	}
	m, root, err := t.modelFor(req.Device, req.Params)
	if err != nil {
		return nil, err
	}
	v := &view{root: root, params: req.Params}
	m.scan(v)
	var rpcs []sdk.RPC
	if t.interval > 0 {
		enable, _ := writeBool(true, t.opts.BoolAsNumber)
		rpcs = append(rpcs, sdk.RPC{Method: "SetParameterValues", Args: map[string]any{
			"parameters": []any{
				[]any{root + "ManagementServer.PeriodicInformEnable", enable, "xsd:boolean"},
				[]any{root + "ManagementServer.PeriodicInformInterval", itoa(t.interval), "xsd:unsignedInt"},
			},
			"parameter_key": t.opts.ParameterKey,
		}})
	}
	for _, c := range m.byKey["wan.ipv4_address"] {
		if name, ok := c.param(v, nil); ok {
			rpcs = append(rpcs, setAttributes(NotifyActive, root+name))
			break
		}
	}
	var ssids []string
	var nums [maxInstances]int64
	for _, c := range m.byKey["wifi.ssid.{i}.ssid"] {
		for name := range req.Params {
			rel, ok := strings.CutPrefix(name, root)
			if !ok {
				continue
			}
			if tmpl, _, ok := templateOf(nil, rel, &nums); ok && string(tmpl) == c.template {
				ssids = append(ssids, name)
			}
		}
		if len(ssids) == 0 {
			if name, ok := c.param(v, []int64{1}); ok {
				ssids = append(ssids, root+name)
			}
		}
	}
	if len(ssids) > 0 {
		slices.Sort(ssids)
		rpcs = append(rpcs, setAttributes(NotifyPassive, ssids...))
	}
	return rpcs, nil
}

func setAttributes(notification int, names ...string) sdk.RPC {
	params := make([]any, len(names))
	for i, n := range names {
		params[i] = map[string]any{"name": n, "notification": notification}
	}
	return sdk.RPC{Method: "SetParameterAttributes", Args: map[string]any{"parameters": params}}
}
