// Package testtranslator is a small but real translator (a TR-181 subset: device info,
// management server, Wi-Fi SSIDs) used by the plugin host's and the SDK harness's tests, with
// switches to misbehave. cmd/testplugin serves it as a plugin process.
//
// Process-level behaviour comes from the plugin option "mode" (see the Mode constants).
// Per-call behaviour comes from raw parameters of a Normalize request:
//
//	Test.Size     a decimal n: the state gets debug.blob, a string of n bytes
//	Test.Environ  present: the state gets debug.environ, the process environment, one per line
//	Test.Panic    present: Normalize panics
//	Test.Error    present: Normalize returns an error with this value as text
//	Test.Log      present: a warning "plugin says" with this value goes to sdk.Logger
//
// The option "bad_describe" makes Describe declare a key twice.
package testtranslator

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Mode is the process-level behaviour.
type Mode string

const (
	Normal      Mode = "normal"
	CrashAfter  Mode = "crash_after"   // the process dies on the Normalize after option n calls
	Hang        Mode = "hang"          // Normalize never returns
	Garbage     Mode = "garbage"       // Normalize answers undeclared keys and wrong types
	ExitAtStart Mode = "exit_at_start" // the process exits 1 before serving (handled by main)
	BadOption   Mode = "bad_option"    // the process refuses its options: stderr, exit 2 (main)
	BadLog      Mode = "bad_log"       // Normalize writes log lines that would crash go-plugin
)

// mapping ties a normalized key to a parameter path under the data model root ("*" is the
// instance number in both).
type mapping struct {
	expose sdk.Expose
	param  string
	xsd    string
}

var mappings = []mapping{
	{sdk.Expose{Key: "device.uptime", Type: sdk.TypeInteger, Unit: "s", Access: sdk.Read, Description: "time since boot"}, "DeviceInfo.UpTime", "unsignedInt"},
	{sdk.Expose{Key: "device.software_version", Type: sdk.TypeString, Access: sdk.Read, Description: "firmware version"}, "DeviceInfo.SoftwareVersion", "string"},
	{sdk.Expose{Key: "device.cpu_usage", Type: sdk.TypeNumber, Unit: "%", Access: sdk.Read, Description: "CPU usage"}, "DeviceInfo.ProcessStatus.CPUUsage", "unsignedInt"},
	{sdk.Expose{Key: "time.current", Type: sdk.TypeDateTime, Access: sdk.Read, Description: "device clock"}, "Time.CurrentLocalTime", "dateTime"},
	{sdk.Expose{Key: "management.periodic_inform_interval", Type: sdk.TypeInteger, Unit: "s", Access: sdk.ReadWrite, Description: "periodic Inform interval"}, "ManagementServer.PeriodicInformInterval", "unsignedInt"},
	{sdk.Expose{Key: "management.periodic_inform_enable", Type: sdk.TypeBoolean, Access: sdk.ReadWrite, Description: "periodic Inform on/off"}, "ManagementServer.PeriodicInformEnable", "boolean"},
	{sdk.Expose{Key: "wifi.ssids.*.ssid", Type: sdk.TypeString, Access: sdk.ReadWrite, Description: "network name"}, "WiFi.SSID.*.SSID", "string"},
	{sdk.Expose{Key: "wifi.ssids.*.enabled", Type: sdk.TypeBoolean, Access: sdk.ReadWrite, Description: "SSID on/off"}, "WiFi.SSID.*.Enable", "boolean"},
	{sdk.Expose{Key: "wifi.ssids.*.bytes_sent", Type: sdk.TypeInteger, Unit: "bytes", Access: sdk.Read, Description: "bytes sent"}, "WiFi.SSID.*.Stats.BytesSent", "unsignedLong"},
	{sdk.Expose{Key: "wifi.access_points.*.passphrase", Type: sdk.TypeString, Access: sdk.Write, Description: "WPA passphrase"}, "WiFi.AccessPoint.*.Security.KeyPassphrase", "string"},
}

var debugExposes = []sdk.Expose{
	{Key: "debug.environ", Type: sdk.TypeString, Access: sdk.Read, Description: "process environment (tests)"},
	{Key: "debug.blob", Type: sdk.TypeString, Access: sdk.Read, Description: "payload of Test.Size bytes (tests)"},
}

// Translator is the test translator.
type Translator struct {
	mode        Mode
	n           int64
	badDescribe bool
	calls       atomic.Int64
	// Stderr receives BadLog's lines: the process's real stderr (go-plugin redirects os.Stderr).
	Stderr *os.File
}

// New builds the translator from plugin options ("mode", "n").
func New(opts map[string]string) *Translator {
	n, _ := strconv.ParseInt(opts["n"], 10, 64)
	mode := Mode(opts["mode"])
	if mode == "" {
		mode = Normal
	}
	return &Translator{mode: mode, n: n, badDescribe: opts["bad_describe"] != "", Stderr: os.Stderr}
}

// Mode is the configured mode.
func (t *Translator) Mode() Mode { return t.mode }

func (t *Translator) Describe() (sdk.Description, error) {
	d := sdk.Description{
		Name:         "testtranslator",
		Version:      "1.0.0",
		ModelVersion: "1",
		Match:        []sdk.Match{{Manufacturer: "Acme"}, {Manufacturer: "Acme", ProductClass: "TestBox"}},
	}
	for _, m := range mappings {
		d.Exposes = append(d.Exposes, m.expose)
	}
	d.Exposes = append(d.Exposes, debugExposes...)
	if t.badDescribe {
		d.Exposes = append(d.Exposes, d.Exposes[0])
	}
	return d, nil
}

func root(dev sdk.DeviceInfo) string {
	if dev.Root != "" {
		return dev.Root
	}
	return "Device."
}

// matchPath matches name against a parameter pattern, returning the instance number ("" when
// the pattern has none).
func matchPath(pattern, name string) (string, bool) {
	before, after, wild := strings.Cut(pattern, "*")
	if !wild {
		return "", pattern == name
	}
	if !strings.HasPrefix(name, before) || !strings.HasSuffix(name, after) || len(name) <= len(before)+len(after) {
		return "", false
	}
	inst := name[len(before) : len(name)-len(after)]
	if _, err := strconv.ParseUint(inst, 10, 32); err != nil {
		return "", false
	}
	return inst, true
}

func (t *Translator) Normalize(req sdk.NormalizeRequest) (sdk.State, error) {
	switch t.mode {
	case CrashAfter:
		if t.calls.Add(1) > t.n {
			fmt.Fprintln(t.Stderr, "testtranslator: crashing on purpose")
			os.Exit(3)
		}
	case Hang:
		select {}
	case Garbage:
		return sdk.State{"no.such.key": "x", "device.uptime": "not a number"}, nil
	case BadLog:
		fmt.Fprintln(t.Stderr, `{"@message":1,"@level":"info"}`)
		fmt.Fprintln(t.Stderr, `{"@level":["error"],"@message":"m"}`)
		fmt.Fprintln(t.Stderr, `{"@timestamp":7}`)
	}
	if msg, ok := req.Params["Test.Log"]; ok {
		sdk.Logger().Warn("plugin says", "device", req.Device.ID, "text", msg.Value)
	}
	if msg, ok := req.Params["Test.Error"]; ok {
		return nil, errors.New(msg.Value)
	}
	if _, ok := req.Params["Test.Panic"]; ok {
		panic("asked to panic")
	}
	r := root(req.Device)
	st := sdk.State{}
	for name, v := range req.Params {
		rel, ok := strings.CutPrefix(name, r)
		if !ok {
			continue
		}
		for _, m := range mappings {
			inst, ok := matchPath(m.param, rel)
			if !ok || m.expose.Access == sdk.Write {
				continue
			}
			val, err := parse(m.expose.Type, v.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			st[strings.Replace(m.expose.Key, "*", inst, 1)] = val
		}
	}
	if v, ok := req.Params["Test.Size"]; ok {
		n, err := strconv.Atoi(v.Value)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("Test.Size: %q is not a size", v.Value)
		}
		st["debug.blob"] = strings.Repeat("x", n)
	}
	if _, ok := req.Params["Test.Environ"]; ok {
		st["debug.environ"] = strings.Join(os.Environ(), "\n")
	}
	return st, nil
}

func parse(typ, s string) (any, error) {
	switch typ {
	case sdk.TypeInteger:
		return strconv.ParseInt(s, 10, 64)
	case sdk.TypeNumber:
		return strconv.ParseFloat(s, 64)
	case sdk.TypeBoolean:
		return strconv.ParseBool(s)
	}
	return s, nil
}

// lookup finds the mapping of a concrete normalized key and its instance number.
func lookup(key string) (mapping, string, bool) {
	for _, m := range mappings {
		if inst, ok := matchPath(m.expose.Key, key); ok {
			return m, inst, true
		}
	}
	return mapping{}, "", false
}

func (t *Translator) ResolveGet(req sdk.GetRequest) (sdk.GetPlan, error) {
	var plan sdk.GetPlan
	for _, k := range req.Keys {
		if k == debugExposes[0].Key || k == debugExposes[1].Key {
			// Test keys come from Test.* parameters, read under a vendor extension.
			plan.Names = append(plan.Names, root(req.Device)+"X_ACME-COM_Test.")
			continue
		}
		m, inst, ok := lookup(k)
		if !ok || m.expose.Access == sdk.Write {
			plan.Unknown = append(plan.Unknown, k)
			continue
		}
		name := root(req.Device) + strings.Replace(m.param, "*", inst, 1)
		if !req.Model.Has(name) { // the device's data model, when the gateway sent it
			if plan.Missing == nil {
				plan.Missing = map[string]string{}
			}
			plan.Missing[k] = name
			continue
		}
		plan.Names = append(plan.Names, name)
	}
	return plan, nil
}

func (t *Translator) DenormalizeSet(req sdk.SetRequest) (sdk.SetPlan, error) {
	plan := sdk.SetPlan{Rejected: map[string]string{}}
	type param struct{ Name, Value, Type string }
	var list []param
	for k, v := range req.Values {
		m, inst, ok := lookup(k)
		switch {
		case !ok:
			plan.Rejected[k] = "unknown key"
			continue
		case m.expose.Access == sdk.Read:
			plan.Rejected[k] = "read-only"
			continue
		}
		s, err := format(m.expose.Type, v)
		if err != nil {
			plan.Rejected[k] = err.Error()
			continue
		}
		list = append(list, param{root(req.Device) + strings.Replace(m.param, "*", inst, 1), s, "xsd:" + m.xsd})
	}
	if len(list) > 0 {
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		plan.RPCs = []sdk.RPC{{Method: "SetParameterValues", Args: map[string]any{"ParameterList": list, "ParameterKey": "cwmp2mqtt"}}}
	}
	return plan, nil
}

func format(typ string, v any) (string, error) {
	switch typ {
	case sdk.TypeInteger:
		if n, ok := v.(int64); ok {
			return strconv.FormatInt(n, 10), nil
		}
	case sdk.TypeBoolean:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
	case sdk.TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("%T is not a %s", v, typ)
}

// Provision sets the periodic inform interval on BOOTSTRAP.
func (t *Translator) Provision(req sdk.ProvisionRequest) ([]sdk.RPC, error) {
	for _, ev := range req.Events {
		if ev == "0 BOOTSTRAP" {
			return []sdk.RPC{{Method: "SetParameterValues", Args: map[string]any{
				"ParameterList": []map[string]string{{
					"Name": root(req.Device) + "ManagementServer.PeriodicInformInterval", "Value": "300", "Type": "xsd:unsignedInt",
				}},
			}}}, nil
		}
	}
	return nil, nil
}

// Params100 is a realistic Inform-sized parameter set: 25 SSIDs × 4 parameters.
func Params100() map[string]sdk.Value {
	p := make(map[string]sdk.Value, 100)
	for i := 1; i <= 25; i++ {
		base := "Device.WiFi.SSID." + strconv.Itoa(i) + "."
		p[base+"SSID"] = sdk.Value{Value: "acme-" + strconv.Itoa(i), Type: "string"}
		p[base+"Enable"] = sdk.Value{Value: "true", Type: "boolean"}
		p[base+"Stats.BytesSent"] = sdk.Value{Value: strconv.Itoa(i * 1000003), Type: "unsignedLong"}
		p[base+"Status"] = sdk.Value{Value: "Up", Type: "string"}
	}
	return p
}
