package api_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api/apitest"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Every ACS→CPE method of CWMP 1.4, from args a person writes by hand, to the exact message.
func TestParseRPCRequestBuildsEveryMethod(t *testing.T) {
	tests := []struct {
		method, args string
		want         soap.Message
	}{
		{"GetRPCMethods", ``, &soap.GetRPCMethods{}},
		{"GetParameterNames", `{"path":"Device.WiFi.","next_level":true}`,
			&soap.GetParameterNames{ParameterPath: "Device.WiFi.", NextLevel: true}},
		{"GetParameterNames", `{}`, &soap.GetParameterNames{}}, // checklist 37: empty path = root
		{"GetParameterValues", `{"names":["Device.DeviceInfo.","Device.WiFi.SSID.1.SSID"]}`,
			&soap.GetParameterValues{ParameterNames: []string{"Device.DeviceInfo.", "Device.WiFi.SSID.1.SSID"}}},
		{"SetParameterValues", `{"parameters":[["Device.WiFi.SSID.1.SSID","home","xsd:string"],["Device.WiFi.Radio.1.Channel",6,"unsignedInt"]],"parameter_key":"k1"}`,
			&soap.SetParameterValues{ParameterKey: "k1", ParameterList: []soap.ParameterValue{
				{Name: "Device.WiFi.SSID.1.SSID", Value: soap.Value{Type: "string", Raw: "home"}},
				{Name: "Device.WiFi.Radio.1.Channel", Value: soap.Value{Type: "unsignedInt", Raw: "6"}},
			}}},
		{"SetParameterValues", `{"parameters":{"Device.WiFi.SSID.1.SSID":"home","Device.WiFi.SSID.1.Enable":true,"Device.ManagementServer.PeriodicInformInterval":{"value":"300","type":"xsd:unsignedInt"},"Device.X_Foo.Offset":-7}}`,
			&soap.SetParameterValues{ParameterList: []soap.ParameterValue{ // object form: sorted by name
				{Name: "Device.ManagementServer.PeriodicInformInterval", Value: soap.Value{Type: "unsignedInt", Raw: "300"}},
				{Name: "Device.WiFi.SSID.1.Enable", Value: soap.Value{Type: "boolean", Raw: "true"}},
				{Name: "Device.WiFi.SSID.1.SSID", Value: soap.Value{Type: "string", Raw: "home"}},
				{Name: "Device.X_Foo.Offset", Value: soap.Value{Type: "int", Raw: "-7"}},
			}}},
		{"SetParameterValues", `{"parameters":[{"name":"Device.X.Enable","value":"1","type":"boolean"},["Device.X.Big",5000000000],["Device.X.T","2024-01-02T03:04:05Z","dateTime"]]}`,
			&soap.SetParameterValues{ParameterList: []soap.ParameterValue{
				{Name: "Device.X.Enable", Value: soap.Value{Type: "boolean", Raw: "true"}}, // checklist 35: canonical true/false
				{Name: "Device.X.Big", Value: soap.Value{Type: "long", Raw: "5000000000"}},
				{Name: "Device.X.T", Value: soap.Value{Type: "dateTime", Raw: "2024-01-02T03:04:05Z"}},
			}}},
		{"GetParameterAttributes", `{"names":["Device.WiFi."]}`,
			&soap.GetParameterAttributes{ParameterNames: []string{"Device.WiFi."}}},
		{"SetParameterAttributes", `{"parameters":[{"name":"Device.WiFi.SSID.1.SSID","notification":2,"access_list":["Subscriber"]},{"name":"Device.X.","notification":"passive"},{"name":"Device.Y","access_list":[]}]}`,
			&soap.SetParameterAttributes{ParameterList: []soap.SetParameterAttribute{
				{Name: "Device.WiFi.SSID.1.SSID", NotificationChange: true, Notification: 2, AccessListChange: true, AccessList: []string{"Subscriber"}},
				{Name: "Device.X.", NotificationChange: true, Notification: 1},
				{Name: "Device.Y", AccessListChange: true, AccessList: []string{}},
			}}},
		{"AddObject", `{"object":"Device.NAT.PortMapping.","parameter_key":""}`, &soap.AddObject{ObjectName: "Device.NAT.PortMapping."}},
		{"DeleteObject", `{"object":"Device.NAT.PortMapping.3.","parameter_key":"p"}`, &soap.DeleteObject{ObjectName: "Device.NAT.PortMapping.3.", ParameterKey: "p"}},
		{"DeleteObject", `{"object":"Device.NAT.PortMapping.[cpe-web]."}`, &soap.DeleteObject{ObjectName: "Device.NAT.PortMapping.[cpe-web]."}},
		{"Reboot", `{"command_key":"reboot-42"}`, &soap.Reboot{CommandKey: "reboot-42"}},
		{"FactoryReset", `{}`, &soap.FactoryReset{}},
		{"Download", `{"file_type":"firmware","url":"http://fw.example/img.bin","username":"u","password":"p","file_size":1048576,"target_file_name":"img.bin","delay_seconds":5,"success_url":"https://ok.example/","failure_url":"","command_key":"fw-1"}`,
			&soap.Download{CommandKey: "fw-1", FileType: "1 Firmware Upgrade Image", URL: "http://fw.example/img.bin", Username: "u",
				Password: "p", FileSize: 1048576, TargetFileName: "img.bin", DelaySeconds: 5, SuccessURL: "https://ok.example/"}},
		{"Download", `{"file_type":"X 00D09E Config Bundle","url":"https://cfg.example/x"}`,
			&soap.Download{FileType: "X 00D09E Config Bundle", URL: "https://cfg.example/x"}},
		{"Upload", `{"file_type":"vendor_log","url":"ftp://logs.example/in/","delay_seconds":0,"command_key":"log"}`,
			&soap.Upload{CommandKey: "log", FileType: "2 Vendor Log File", URL: "ftp://logs.example/in/"}},
		{"Upload", `{"file_type":"3 Vendor Configuration File 2","url":"http://logs.example/"}`,
			&soap.Upload{FileType: "3 Vendor Configuration File 2", URL: "http://logs.example/"}},
		{"ScheduleInform", `{"delay_seconds":60,"command_key":""}`, &soap.ScheduleInform{DelaySeconds: 60}},
		{"ScheduleDownload", `{"file_type":"1 Firmware Upgrade Image","url":"http://fw.example/i","file_size":10,"time_windows":[{"start":0,"end":3600,"mode":"1 At Any Time","user_message":"","max_retries":-1},{"start":7200,"end":9000,"mode":"when_idle","max_retries":3}],"command_key":"sd"}`,
			&soap.ScheduleDownload{CommandKey: "sd", FileType: "1 Firmware Upgrade Image", URL: "http://fw.example/i", FileSize: 10,
				TimeWindowList: []soap.TimeWindow{
					{WindowStart: 0, WindowEnd: 3600, WindowMode: "1 At Any Time", MaxRetries: -1},
					{WindowStart: 7200, WindowEnd: 9000, WindowMode: "3 When Idle", MaxRetries: 3},
				}}},
		{"CancelTransfer", `{"command_key":"fw-1"}`, &soap.CancelTransfer{CommandKey: "fw-1"}},
		{"GetQueuedTransfers", `{}`, &soap.GetQueuedTransfers{}},
		{"GetAllQueuedTransfers", `null`, &soap.GetAllQueuedTransfers{}},
		{"ChangeDUState", `{"operations":[{"op":"install","url":"http://apps.example/a.ipk","uuid":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","username":"u","password":"p","execution_env_ref":"Device.SoftwareModules.ExecEnv.1"},{"op":"update","uuid":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","version":"2.0"},{"op":"uninstall","uuid":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","version":"1.0","execution_env_ref":"Device.SoftwareModules.ExecEnv.1"}],"command_key":"du"}`,
			&soap.ChangeDUState{CommandKey: "du", Operations: []soap.DUOperation{
				{Op: "Install", URL: "http://apps.example/a.ipk", UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Username: "u", Password: "p", ExecutionEnvRef: "Device.SoftwareModules.ExecEnv.1"},
				{Op: "Update", UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Version: "2.0"},
				{Op: "Uninstall", UUID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Version: "1.0", ExecutionEnvRef: "Device.SoftwareModules.ExecEnv.1"},
			}}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			payload := `{"id":"r1","method":"` + tt.method + `","timeout":30,"expires":3600.5,"reply_to":"platform/replies/7"`
			if tt.args != "" {
				payload += `,"args":` + tt.args
			}
			payload += "}"
			req, msg, err := api.ParseRPCRequest([]byte(payload))
			if err != nil {
				t.Fatalf("ParseRPCRequest(%s): %v", payload, err)
			}
			if err := apitest.ValidatePayload("rpc-request", []byte(payload)); err != nil {
				t.Errorf("the parser accepts what the schema refuses: %v", err)
			}
			if !reflect.DeepEqual(msg, tt.want) {
				t.Errorf("message:\n got %#v\nwant %#v", msg, tt.want)
			}
			if msg.MethodName() != tt.method || req.Method != tt.method {
				t.Errorf("method: message %q, request %q, want %q", msg.MethodName(), req.Method, tt.method)
			}
			if req.ID != "r1" || req.Timeout != 30 || req.Expires != 3600.5 || req.ReplyTo != "platform/replies/7" {
				t.Errorf("envelope = %+v", req.Request)
			}
			if req.ExpiresDuration().Milliseconds() != 3600500 {
				t.Errorf("ExpiresDuration = %v", req.ExpiresDuration())
			}
			// The args are kept for the durable queue, and build the same message again.
			again, err := api.BuildRPC(req.Method, req.Args)
			if err != nil || !reflect.DeepEqual(again, tt.want) {
				t.Errorf("BuildRPC(%s) = %#v, %v", req.Args, again, err)
			}
		})
		covered[tt.method] = true
	}
	for _, m := range api.MethodNames() {
		if !covered[m] {
			t.Errorf("method %s has no acceptance case", m)
		}
	}
	if len(api.MethodNames()) != 18 {
		t.Errorf("CWMP 1.4 has 18 ACS→CPE methods, MethodNames lists %d", len(api.MethodNames()))
	}
}

func TestParseRPCRequestMethodNameIgnoresCase(t *testing.T) {
	req, msg, err := api.ParseRPCRequest([]byte(`{"id":"a","method":"getParameterValues","args":{"names":["Device."]}}`))
	if err != nil || req.Method != "GetParameterValues" || msg.MethodName() != "GetParameterValues" {
		t.Fatalf("got %+v %v %v", req, msg, err)
	}
}

// Each class of bad request is rejected with a reason that names the field.
func TestParseRPCRequestRejects(t *testing.T) {
	tests := []struct{ name, payload, want string }{
		{"empty payload", ``, "empty payload: expected a JSON object"},
		{"malformed JSON", `{"id":"a",`, "malformed JSON: unexpected EOF"},
		{"trailing data", `{"id":"a","method":"Reboot"} {}`, "malformed JSON: data after the top-level value"},
		{"not an object", `["GetRPCMethods"]`, "payload must be a JSON object, got an array"},
		{"invalid UTF-8", "{\"id\":\"\xff\"}", "payload is not valid UTF-8"},
		{"missing id", `{"method":"Reboot"}`, "id: required"},
		{"empty id", `{"id":" ","method":"Reboot"}`, "id: must not be empty"},
		{"numeric id", `{"id":7,"method":"Reboot"}`, "id: must be a string, got a number"},
		{"long id", `{"id":"` + strings.Repeat("x", 129) + `","method":"Reboot"}`, "id: too long: 129 bytes, at most 128"},
		{"unknown field", `{"id":"a","method":"Reboot","timout":5}`, "timout: unknown field (known: id, reply_to, timeout, expires, method, args)"},
		{"missing method", `{"id":"a"}`, "method: required"},
		{"unknown method", `{"id":"a","method":"Rebot"}`, `method: unknown method "Rebot" (known: ` + strings.Join(api.MethodNames(), ", ") + ")"},
		{"negative timeout", `{"id":"a","method":"Reboot","timeout":-1}`, "timeout: must not be negative, got -1"},
		{"timeout too long", `{"id":"a","method":"Reboot","timeout":3601}`, "timeout: at most 3600 seconds, got 3601"},
		{"expires as string", `{"id":"a","method":"Reboot","expires":"1h"}`, "expires: must be a number of seconds, got a string"},
		{"expires too long", `{"id":"a","method":"Reboot","expires":2592001}`, "expires: at most 2592000 seconds, got 2592001"},
		{"reply_to wildcard", `{"id":"a","method":"Reboot","reply_to":"x/+/y"}`, `reply_to: "x/+/y": a reply topic has no wildcard (+, #) or NUL`},
		{"reply_to $SYS", `{"id":"a","method":"Reboot","reply_to":"$SYS/x"}`, `reply_to: "$SYS/x": topics starting with $ are reserved by the broker`},
		{"args not an object", `{"id":"a","method":"Reboot","args":"now"}`, "args: must be an object, got a string"},
		{"args for argless method", `{"id":"a","method":"FactoryReset","args":{"force":true}}`, "args.force: unknown field: this method takes no arguments"},
		{"unknown arg", `{"id":"a","method":"GetParameterValues","args":{"name":["Device."]}}`, "args.name: unknown field (known: names)"},
		{"missing names", `{"id":"a","method":"GetParameterValues","args":{}}`, "args.names: required"},
		{"names not an array", `{"id":"a","method":"GetParameterValues","args":{"names":"Device."}}`, "args.names: must be an array, got a string"},
		{"empty names", `{"id":"a","method":"GetParameterValues","args":{"names":[]}}`, "args.names: must not be empty"},
		{"mistyped name", `{"id":"a","method":"GetParameterValues","args":{"names":["A.","B.",3]}}`, "args.names[2]: must be a string, got a number"},
		{"name with space", `{"id":"a","method":"GetParameterAttributes","args":{"names":["Device.Wi Fi."]}}`, `args.names[0]: "Device.Wi Fi.": a parameter name has no spaces or control characters`},
		{"name with leading dot", `{"id":"a","method":"GetParameterValues","args":{"names":[".ExternalIPAddress"]}}`, `args.names[0]: ".ExternalIPAddress": a parameter name does not start with "."`},
		{"long name", `{"id":"a","method":"GetParameterValues","args":{"names":["` + strings.Repeat("a", 257) + `"]}}`, "args.names[0]: too long: 257 bytes, at most 256"},
		{"next_level as string", `{"id":"a","method":"GetParameterNames","args":{"path":"Device.","next_level":"yes"}}`, "args.next_level: must be true or false, got a string"},
		{"spv tuple too short", `{"id":"a","method":"SetParameterValues","args":{"parameters":[["Device.X"]]}}`, "args.parameters[0]: expected [name, value, type] or [name, value], got 1 entries"},
		{"spv entry not a tuple", `{"id":"a","method":"SetParameterValues","args":{"parameters":["Device.X"]}}`, "args.parameters[0]: expected [name, value, type], got a string"},
		{"spv name not a string", `{"id":"a","method":"SetParameterValues","args":{"parameters":[[1,"x"]]}}`, "args.parameters[0]: expected [name, value, type]: the name must be a string, got a number"},
		{"spv value null", `{"id":"a","method":"SetParameterValues","args":{"parameters":{"Device.X":null}}}`, "args.parameters.Device.X: the value must be a string, number or boolean, got null"},
		{"spv bad type", `{"id":"a","method":"SetParameterValues","args":{"parameters":[["Device.X","1","xsd:integer"]]}}`, `args.parameters[0]: unknown type "xsd:integer" (want one of string, int, unsignedInt, long, unsignedLong, boolean, dateTime, base64, hexBinary, with or without "xsd:")`},
		{"spv value not of type", `{"id":"a","method":"SetParameterValues","args":{"parameters":[["Device.X",-1,"unsignedInt"]]}}`, `args.parameters[0]: value "-1" is not a valid unsignedInt`},
		{"spv bad boolean", `{"id":"a","method":"SetParameterValues","args":{"parameters":[["Device.X","yes","boolean"]]}}`, `args.parameters[0]: value "yes" is not a valid boolean`},
		{"spv bad dateTime", `{"id":"a","method":"SetParameterValues","args":{"parameters":[["Device.X","2019-03-05T11:54::14","dateTime"]]}}`, `args.parameters[0]: value "2019-03-05T11:54::14" is not a valid dateTime`},
		{"spv fraction", `{"id":"a","method":"SetParameterValues","args":{"parameters":{"Device.X":1.5}}}`, "args.parameters.Device.X: 1.5: CWMP has no fractional numbers; send a string with a type"},
		{"spv partial path", `{"id":"a","method":"SetParameterValues","args":{"parameters":{"Device.X.":1}}}`, `args.parameters.Device.X.: "Device.X.": SetParameterValues takes parameter names, not partial paths`},
		{"spv duplicate", `{"id":"a","method":"SetParameterValues","args":{"parameters":[["Device.X","a"],["Device.X","b"]]}}`, `args.parameters[1]: duplicate parameter name "Device.X"`},
		{"spv empty", `{"id":"a","method":"SetParameterValues","args":{"parameters":{}}}`, "args.parameters: must not be empty"},
		{"spv parameters a string", `{"id":"a","method":"SetParameterValues","args":{"parameters":"Device.X=1"}}`, "args.parameters: must be an array of [name, value, type] or an object of name: value, got a string"},
		{"spv long key", `{"id":"a","method":"SetParameterValues","args":{"parameters":[],"parameter_key":"` + strings.Repeat("k", 33) + `"}}`, "args.parameters: must not be empty"},
		{"spv key too long", `{"id":"a","method":"SetParameterValues","args":{"parameters":{"Device.X":1},"parameter_key":"` + strings.Repeat("k", 33) + `"}}`, "args.parameter_key: too long: 33 bytes, at most 32"},
		{"spa unknown notification", `{"id":"a","method":"SetParameterAttributes","args":{"parameters":[{"name":"Device.X","notification":3}]}}`, "args.parameters[0].notification: unknown notification value 3 (want 0 off, 1 passive, 2 active)"},
		{"spa unknown notification name", `{"id":"a","method":"SetParameterAttributes","args":{"parameters":[{"name":"Device.X","notification":"loud"}]}}`, `args.parameters[0].notification: unknown notification value "loud" (want 0 or "off", 1 or "passive", 2 or "active")`},
		{"spa nothing to change", `{"id":"a","method":"SetParameterAttributes","args":{"parameters":[{"name":"Device.X"}]}}`, "args.parameters[0]: nothing to change: give notification and/or access_list"},
		{"spa access list entry", `{"id":"a","method":"SetParameterAttributes","args":{"parameters":[{"name":"Device.X","access_list":[true]}]}}`, "args.parameters[0].access_list[0]: must be a string, got a boolean"},
		{"add object without dot", `{"id":"a","method":"AddObject","args":{"object":"Device.NAT.PortMapping"}}`, `args.object: "Device.NAT.PortMapping": an object name ends with "."`},
		{"delete object without instance", `{"id":"a","method":"DeleteObject","args":{"object":"Device.NAT.PortMapping."}}`, `args.object: "Device.NAT.PortMapping.": DeleteObject names one instance, ending in its number and "." (e.g. Device.NAT.PortMapping.3.)`},
		{"delete object missing", `{"id":"a","method":"DeleteObject","args":{"parameter_key":"x"}}`, "args.object: required"},
		{"reboot long command key", `{"id":"a","method":"Reboot","args":{"command_key":"` + strings.Repeat("c", 33) + `"}}`, "args.command_key: too long: 33 bytes, at most 32"},
		{"download unknown file type", `{"id":"a","method":"Download","args":{"file_type":"fw","url":"http://x/"}}`, `args.file_type: "fw": want one of firmware, ringer, tone, vendor_config, web_content, or a TR-069 string like "1 Firmware Upgrade Image" or "X <OUI> <name>"`},
		{"download missing url", `{"id":"a","method":"Download","args":{"file_type":"firmware"}}`, "args.url: required"},
		{"download bad url", `{"id":"a","method":"Download","args":{"file_type":"firmware","url":"fw.example/img.bin"}}`, `args.url: "fw.example/img.bin": want an absolute http://, https://, ftp:// or tftp:// URL without spaces`},
		{"download negative delay", `{"id":"a","method":"Download","args":{"file_type":"firmware","url":"http://x/","delay_seconds":-5}}`, "args.delay_seconds: must not be negative, got -5"},
		{"download fractional size", `{"id":"a","method":"Download","args":{"file_type":"firmware","url":"http://x/","file_size":1.5}}`, "args.file_size: must be an integer, got 1.5"},
		{"download size overflow", `{"id":"a","method":"Download","args":{"file_type":"firmware","url":"http://x/","file_size":4294967296}}`, "args.file_size: must be between 0 and 4294967295, got 4294967296"},
		{"download bad success url", `{"id":"a","method":"Download","args":{"file_type":"firmware","url":"http://x/","success_url":"mailto:x"}}`, `args.success_url: "mailto:x": want an absolute http://, https://, ftp:// or tftp:// URL without spaces`},
		{"upload download-only type", `{"id":"a","method":"Upload","args":{"file_type":"firmware","url":"http://x/"}}`, `args.file_type: "firmware": want one of vendor_config, vendor_log, or a TR-069 string like "1 Vendor Configuration File" or "X <OUI> <name>"`},
		{"schedule inform zero", `{"id":"a","method":"ScheduleInform","args":{"delay_seconds":0}}`, "args.delay_seconds: must be between 1 and 4294967295, got 0"},
		{"schedule inform missing delay", `{"id":"a","method":"ScheduleInform","args":{"command_key":"x"}}`, "args.delay_seconds: required"},
		{"schedule download no windows", `{"id":"a","method":"ScheduleDownload","args":{"file_type":"firmware","url":"http://x/"}}`, "args.time_windows: required"},
		{"schedule download three windows", `{"id":"a","method":"ScheduleDownload","args":{"file_type":"firmware","url":"http://x/","time_windows":[{"start":0,"end":1},{"start":2,"end":3},{"start":4,"end":5}]}}`, "args.time_windows: at most 2 time windows, got 3"},
		{"window end before start", `{"id":"a","method":"ScheduleDownload","args":{"file_type":"firmware","url":"http://x/","time_windows":[{"start":60,"end":0}]}}`, "args.time_windows[0].end: must not be before start (60), got 0"},
		{"windows overlap", `{"id":"a","method":"ScheduleDownload","args":{"file_type":"firmware","url":"http://x/","time_windows":[{"start":0,"end":100},{"start":50,"end":200}]}}`, "args.time_windows[1].start: must not be before the end of the previous window (100)"},
		{"window missing end", `{"id":"a","method":"ScheduleDownload","args":{"file_type":"firmware","url":"http://x/","time_windows":[{"start":0}]}}`, "args.time_windows[0].end: required (seconds from now)"},
		{"window bad mode", `{"id":"a","method":"ScheduleDownload","args":{"file_type":"firmware","url":"http://x/","time_windows":[{"start":0,"end":1,"mode":"asap"}]}}`, `args.time_windows[0].mode: "asap": want one of at_any_time, confirmation_needed, immediately, when_idle, or a TR-069 string like "1 At Any Time" or "X <OUI> <name>"`},
		{"window max retries", `{"id":"a","method":"ScheduleDownload","args":{"file_type":"firmware","url":"http://x/","time_windows":[{"start":0,"end":1,"max_retries":-2}]}}`, "args.time_windows[0].max_retries: must be between -1 and 2147483647, got -2"},
		{"cancel transfer without key", `{"id":"a","method":"CancelTransfer","args":{}}`, "args.command_key: required"},
		{"du unknown op", `{"id":"a","method":"ChangeDUState","args":{"operations":[{"op":"reinstall"}]}}`, `args.operations[0].op: unknown operation "reinstall" (want install, update or uninstall)`},
		{"du install without url", `{"id":"a","method":"ChangeDUState","args":{"operations":[{"op":"install"}]}}`, "args.operations[0].url: required"},
		{"du uninstall without uuid", `{"id":"a","method":"ChangeDUState","args":{"operations":[{"op":"uninstall","version":"1"}]}}`, "args.operations[0].uuid: required for uninstall"},
		{"du bad uuid", `{"id":"a","method":"ChangeDUState","args":{"operations":[{"op":"update","uuid":"abc"}]}}`, `args.operations[0].uuid: "abc": want a UUID like 6ba7b810-9dad-11d1-80b4-00c04fd430c8`},
		{"du field of other op", `{"id":"a","method":"ChangeDUState","args":{"operations":[{"op":"install","url":"http://x/","version":"2"}]}}`, "args.operations[0].version: unknown field (known: op, url, uuid, username, password, execution_env_ref)"},
		{"du operations empty", `{"id":"a","method":"ChangeDUState","args":{"operations":[]}}`, "args.operations: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, msg, err := api.ParseRPCRequest([]byte(tt.payload))
			if err == nil {
				t.Fatalf("accepted %s as %#v", tt.payload, msg)
			}
			if msg != nil {
				t.Errorf("a rejected request still built %#v", msg)
			}
			var re *api.RequestError
			if !errors.As(err, &re) {
				t.Errorf("error %T is not a *RequestError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("reason:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// A rejection must be addressable: the id and reply_to survive a bad request.
func TestParseRPCRequestKeepsIDOfRejected(t *testing.T) {
	req, _, err := api.ParseRPCRequest([]byte(`{"id":"job-9","method":"Download","reply_to":"plat/r","args":{"url":"http://x/"}}`))
	if err == nil || req == nil {
		t.Fatalf("got %v, %v", req, err)
	}
	if req.ID != "job-9" || req.ReplyTo != "plat/r" || req.Method != "Download" {
		t.Errorf("req = %+v", req)
	}
	// A bad reply_to is not used, the id still is.
	req, _, err = api.ParseRPCRequest([]byte(`{"id":"job-10","method":"Reboot","reply_to":"a/#"}`))
	if err == nil || req.ID != "job-10" || req.ReplyTo != "" {
		t.Errorf("req = %+v, err = %v", req, err)
	}
	// Unknown method: echoed as given.
	req, _, _ = api.ParseRPCRequest([]byte(`{"id":"job-11","method":"SetVouchers"}`))
	if req.Method != "SetVouchers" {
		t.Errorf("method = %q", req.Method)
	}
}

func TestBuildRPCFromTranslatorArgs(t *testing.T) {
	// plugins/sdk.RPC carries Args as map[string]any: marshalled, they go through the same checks.
	args, _ := json.Marshal(map[string]any{"parameters": [][]any{{"Device.ManagementServer.PeriodicInformInterval", 300, "unsignedInt"}}})
	msg, err := api.BuildRPC("SetParameterValues", args)
	want := &soap.SetParameterValues{ParameterList: []soap.ParameterValue{{Name: "Device.ManagementServer.PeriodicInformInterval", Value: soap.Value{Type: "unsignedInt", Raw: "300"}}}}
	if err != nil || !reflect.DeepEqual(msg, want) {
		t.Fatalf("got %#v, %v", msg, err)
	}
	if _, err := api.BuildRPC("AddObject", []byte(`{"object":"Device.X"`)); err == nil || err.Error() != "args: malformed JSON: unexpected EOF" {
		t.Errorf("malformed args: %v", err)
	}
	if _, err := api.BuildRPC("Inform", nil); err == nil || !strings.HasPrefix(err.Error(), `method: unknown method "Inform"`) {
		t.Errorf("CPE method: %v", err)
	}
}

func TestParseSetAndGetRequests(t *testing.T) {
	set, err := api.ParseSetRequest([]byte(`{"id":"s1","values":{"wifi.ssids.1.ssid":"home","wifi.ssids.1.enable":true,"management.periodic_inform_interval":300,"x.ratio":0.5},"timeout":20}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"wifi.ssids.1.ssid": "home", "wifi.ssids.1.enable": true, "management.periodic_inform_interval": int64(300), "x.ratio": 0.5}
	if set.ID != "s1" || set.Timeout != 20 || !reflect.DeepEqual(set.Values, want) {
		t.Errorf("set = %+v", set)
	}
	get, err := api.ParseGetRequest([]byte(`{"id":"g1","keys":["wifi.ssids.1.ssid"]}`))
	if err != nil || get.ID != "g1" || !reflect.DeepEqual(get.Keys, []string{"wifi.ssids.1.ssid"}) {
		t.Errorf("get = %+v, %v", get, err)
	}
	all, err := api.ParseGetRequest([]byte(`{"id":"g2","keys":[]}`))
	if err != nil || len(all.Keys) != 0 {
		t.Errorf("get all = %+v, %v", all, err)
	}
	for payload, want := range map[string]string{
		`{"id":"s","values":{}}`:                   "values: must not be empty",
		`{"id":"s"}`:                               "values: required",
		`{"id":"s","values":[["a",1]]}`:            "values: must be an object of key: value, got an array",
		`{"id":"s","values":{"wifi ssid":"x"}}`:    `values.wifi ssid: "wifi ssid": a key is 1 to 256 characters without spaces`,
		`{"id":"s","values":{"a":null}}`:           "values.a: must not be null",
		`{"values":{"a":1}}`:                       "id: required",
		`{"id":"s","values":{"a":1},"method":"x"}`: "method: unknown field (known: id, reply_to, timeout, expires, values)",
	} {
		if _, err := api.ParseSetRequest([]byte(payload)); err == nil || err.Error() != want {
			t.Errorf("set %s: got %v, want %s", payload, err, want)
		}
	}
	for payload, want := range map[string]string{
		`{"id":"g","keys":"wifi"}`: "keys: must be an array, got a string",
		`{"id":"g","keys":[1]}`:    "keys[0]: must be a string, got a number",
		`{"id":"g","key":["a"]}`:   "key: unknown field (known: id, reply_to, timeout, expires, keys)",
	} {
		if _, err := api.ParseGetRequest([]byte(payload)); err == nil || err.Error() != want {
			t.Errorf("get %s: got %v, want %s", payload, err, want)
		}
	}
}

func TestParseBridgeRequest(t *testing.T) {
	req, err := api.ParseBridgeRequest(api.OpRemoveDevice, []byte(`{"transaction":"t1","device":"00147F-SpeedTouch%20780-CP0644JTHJ4"}`))
	if err != nil || req.Transaction != "t1" || req.Device != "00147F-SpeedTouch%20780-CP0644JTHJ4" || req.Op != api.OpRemoveDevice {
		t.Errorf("remove_device: %+v, %v", req, err)
	}
	if req, err := api.ParseBridgeRequest(api.OpHealth, nil); err != nil || req.Op != api.OpHealth {
		t.Errorf("empty health request: %+v, %v", req, err)
	}
	// list_devices pages: the default page without paging fields, the filter as given.
	if req, err := api.ParseBridgeRequest(api.OpListDevices, nil); err != nil || req.Limit != api.DefaultListLimit || req.Offset != 0 || req.Filter != nil {
		t.Errorf("empty list_devices request: %+v, %v", req, err)
	}
	req, err = api.ParseBridgeRequest(api.OpListDevices, []byte(`{"offset":200,"limit":50,"filter":{"online":false,"translator":"standard","id_prefix":"00147F-"}}`))
	if err != nil || req.Offset != 200 || req.Limit != 50 || req.Filter == nil || req.Filter.Online == nil || *req.Filter.Online ||
		req.Filter.Translator != "standard" || req.Filter.IDPrefix != "00147F-" || req.Filter.Firmware != "" {
		t.Errorf("paged list_devices request: %+v (filter %+v), %v", req, req.Filter, err)
	}
	for _, tt := range []struct{ op, payload, want string }{
		{api.OpRemoveDevice, `{"transaction":"t2"}`, "device: required for remove_device"},
		{"reboot_all", `{}`, "unknown operation \"reboot_all\" (known: list_devices, remove_device, health, list_translators, reinterview)"},
		{api.OpHealth, `{"transaction":"t3","op":"list_devices"}`, `op: "list_devices" does not match the topic's operation "health"`},
		{api.OpListDevices, `{"transaction":"t4","filter":"x"}`, "filter: must be an object, got a string"},
		{api.OpListDevices, `{"transaction":"t4","filter":{"model":"x"}}`, "filter.model: unknown field (known: online, translator, product_class, firmware, id_prefix)"},
		{api.OpListDevices, `{"transaction":"t4","limit":0}`, "limit: must be between 1 and 10000, got 0"},
		{api.OpListDevices, `{"transaction":"t4","limit":10001}`, "limit: must be between 1 and 10000, got 10001"},
		{api.OpListDevices, `{"transaction":"t4","offset":-1}`, "offset: must not be negative, got -1"},
		{api.OpListDevices, `{"transaction":"t4","filter":{"online":"yes"}}`, "filter.online: must be true or false, got a string"},
		{api.OpHealth, `{"transaction":"t4","limit":5}`, "limit: only list_devices takes it"},
		{api.OpListDevices, `{"transaction":"t4","sort":"id"}`, "sort: unknown field (known: transaction, op, device, filter, offset, limit)"},
		{api.OpListDevices, `{"transaction":`, "malformed JSON: unexpected EOF"},
	} {
		req, err := api.ParseBridgeRequest(tt.op, []byte(tt.payload))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s %s: got %v, want %s", tt.op, tt.payload, err, tt.want)
		}
		if req == nil {
			t.Errorf("%s %s: no request to answer", tt.op, tt.payload)
		} else if strings.Contains(tt.payload, `"t4"`) && req.Transaction != "t4" {
			t.Errorf("transaction lost on error: %+v", req)
		}
	}
}
