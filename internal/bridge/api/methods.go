package api

import (
	"regexp"
	"slices"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// rpcMethod is one ACS→CPE method of CWMP 1.4 (TR-069 Annex A.3/A.4): its args' field names and
// the builder of its soap.Message from the validated args object.
type rpcMethod struct {
	name   string
	fields []string
	build  func(o *object) (soap.Message, error)
}

func (m rpcMethod) parse(args any) (soap.Message, error) {
	o, err := newObject("args", args, m.fields...)
	if err != nil {
		return nil, err
	}
	return m.build(o)
}

// Field length limits of cwmp-1-2.xsd.
const (
	maxCommandKey = 32  // CommandKeyType
	maxParamKey   = 32  // ParameterKeyType
	maxURL        = 256 // Download/Upload URL, SuccessURL, FailureURL
	maxCredential = 256 // Username, Password
	maxDUURL      = 1024
	maxDUVersion  = 32
	maxUserMsg    = 256
	maxAccessItem = 64 // AccessListValueType
	maxFileType   = 64 // DownloadFileType, UploadFileType, TimeWindowModeValueType
)

var methods = []rpcMethod{
	{"GetRPCMethods", nil, func(*object) (soap.Message, error) { return &soap.GetRPCMethods{}, nil }},
	{"GetParameterNames", []string{"path", "next_level"}, buildGetParameterNames},
	{"GetParameterValues", []string{"names"}, func(o *object) (soap.Message, error) {
		names, err := o.stringList("names", checkName)
		return &soap.GetParameterValues{ParameterNames: names}, err
	}},
	{"SetParameterValues", []string{"parameters", "parameter_key"}, buildSetParameterValues},
	{"GetParameterAttributes", []string{"names"}, func(o *object) (soap.Message, error) {
		names, err := o.stringList("names", checkName)
		return &soap.GetParameterAttributes{ParameterNames: names}, err
	}},
	{"SetParameterAttributes", []string{"parameters"}, buildSetParameterAttributes},
	{"AddObject", []string{"object", "parameter_key"}, func(o *object) (soap.Message, error) {
		obj, key, err := objectArgs(o, checkObjectName)
		return &soap.AddObject{ObjectName: obj, ParameterKey: key}, err
	}},
	{"DeleteObject", []string{"object", "parameter_key"}, func(o *object) (soap.Message, error) {
		obj, key, err := objectArgs(o, checkInstanceName)
		return &soap.DeleteObject{ObjectName: obj, ParameterKey: key}, err
	}},
	{"Reboot", []string{"command_key"}, func(o *object) (soap.Message, error) {
		ck, err := o.str("command_key", maxCommandKey)
		return &soap.Reboot{CommandKey: ck}, err
	}},
	{"FactoryReset", nil, func(*object) (soap.Message, error) { return &soap.FactoryReset{}, nil }},
	{"Download", []string{"file_type", "url", "username", "password", "file_size", "target_file_name",
		"delay_seconds", "success_url", "failure_url", "command_key"}, buildDownload},
	{"Upload", []string{"file_type", "url", "username", "password", "delay_seconds", "command_key"}, buildUpload},
	{"ScheduleInform", []string{"delay_seconds", "command_key"}, buildScheduleInform},
	{"ScheduleDownload", []string{"file_type", "url", "username", "password", "file_size",
		"target_file_name", "time_windows", "command_key"}, buildScheduleDownload},
	{"CancelTransfer", []string{"command_key"}, func(o *object) (soap.Message, error) {
		ck, err := o.requiredStr("command_key", maxCommandKey)
		return &soap.CancelTransfer{CommandKey: ck}, err
	}},
	{"GetQueuedTransfers", nil, func(*object) (soap.Message, error) { return &soap.GetQueuedTransfers{}, nil }},
	{"GetAllQueuedTransfers", nil, func(*object) (soap.Message, error) { return &soap.GetAllQueuedTransfers{}, nil }},
	{"ChangeDUState", []string{"operations", "command_key"}, buildChangeDUState},
}

// MethodNames lists the ACS→CPE methods an rpc request may name, in TR-069 order.
func MethodNames() []string {
	names := make([]string, len(methods))
	for i, m := range methods {
		names[i] = m.name
	}
	return names
}

// lookupMethod finds a method by name, ignoring case: "getparametervalues" is a plain typo.
func lookupMethod(name string) (rpcMethod, bool) {
	i := slices.IndexFunc(methods, func(m rpcMethod) bool { return strings.EqualFold(m.name, name) })
	if i < 0 {
		return rpcMethod{}, false
	}
	return methods[i], true
}

func buildGetParameterNames(o *object) (soap.Message, error) {
	// An empty path is the root (checklist 37); the bridge may rewrite it for CPEs that refuse it.
	path, err := o.str("path", maxNameLength)
	if err == nil {
		err = checkPath(o.field("path"), path)
	}
	if err != nil {
		return nil, err
	}
	next, err := o.boolean("next_level")
	return &soap.GetParameterNames{ParameterPath: path, NextLevel: next}, err
}

func objectArgs(o *object, check func(path, s string) error) (name, key string, err error) {
	if name, err = o.requiredStr("object", maxNameLength); err != nil {
		return "", "", err
	}
	if err = check(o.field("object"), name); err != nil {
		return "", "", err
	}
	key, err = o.str("parameter_key", maxParamKey)
	return name, key, err
}

// instanceSegment is the last segment of a DeleteObject name: an instance number or, in CWMP 1.4,
// an instance alias "[alias]".
var instanceSegment = regexp.MustCompile(`\.(\d+|\[[^\[\]]+\])\.$`)

func checkInstanceName(path, s string) error {
	if err := checkObjectName(path, s); err != nil {
		return err
	}
	if !instanceSegment.MatchString(s) {
		return fieldErr(path, "%q: DeleteObject names one instance, ending in its number and \".\" (e.g. Device.NAT.PortMapping.3.)", s)
	}
	return nil
}

// ---------------------------------------------------------------- attributes

// notificationNames are the ParameterAttributeNotificationValueType values (TR-069 A.3.2.4);
// 3–6 are reserved and refused.
var notificationNames = map[string]int{"off": 0, "passive": 1, "active": 2}

func buildSetParameterAttributes(o *object) (soap.Message, error) {
	list, err := o.array("parameters")
	if err != nil {
		return nil, err
	}
	msg := &soap.SetParameterAttributes{}
	for i, e := range list {
		p, err := newObject(index(o.field("parameters"), i), e, "name", "notification", "access_list")
		if err != nil {
			return nil, err
		}
		a := soap.SetParameterAttribute{}
		if a.Name, err = p.requiredStr("name", maxNameLength); err != nil {
			return nil, err
		}
		if err := checkName(p.field("name"), a.Name); err != nil {
			return nil, err
		}
		if p.has("notification") {
			a.NotificationChange = true
			if a.Notification, err = notification(p.field("notification"), p.m["notification"]); err != nil {
				return nil, err
			}
		}
		if p.has("access_list") {
			a.AccessListChange = true
			if a.AccessList, err = accessList(p.field("access_list"), p.m["access_list"]); err != nil {
				return nil, err
			}
		}
		if !a.NotificationChange && !a.AccessListChange {
			return nil, fieldErr(p.path, "nothing to change: give notification and/or access_list")
		}
		msg.ParameterList = append(msg.ParameterList, a)
	}
	return msg, nil
}

func notification(path string, v any) (int, error) {
	if s, ok := v.(string); ok {
		if n, ok := notificationNames[s]; ok {
			return n, nil
		}
		return 0, fieldErr(path, "unknown notification value %q (want 0 or \"off\", 1 or \"passive\", 2 or \"active\")", s)
	}
	n, err := asInteger(path, v, -1<<31, 1<<31-1)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > 2 {
		return 0, fieldErr(path, "unknown notification value %d (want 0 off, 1 passive, 2 active)", n)
	}
	return int(n), nil
}

// accessList: an empty list means "no one but the ACS"; only "Subscriber" is standard.
func accessList(path string, v any) ([]string, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fieldErr(path, "must be an array of strings, got %s", jsonKind(v))
	}
	out := []string{}
	for i, e := range a {
		s, err := asString(index(path, i), e, maxAccessItem)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, fieldErr(index(path, i), "must not be empty")
		}
		out = append(out, s)
	}
	return out, nil
}

// ---------------------------------------------------------------- transfers

// File types (cwmp-1-2.xsd DownloadFileType, UploadFileType; checklist 41) and their aliases.
var (
	downloadFileTypes = map[string]string{
		"firmware":      "1 Firmware Upgrade Image",
		"web_content":   "2 Web Content",
		"vendor_config": "3 Vendor Configuration File",
		"tone":          "4 Tone File",
		"ringer":        "5 Ringer File",
	}
	// Upload numbers its types differently from Download.
	uploadFileTypes = map[string]string{
		"vendor_config": "1 Vendor Configuration File",
		"vendor_log":    "2 Vendor Log File",
	}
	windowModes = map[string]string{
		"at_any_time":         "1 At Any Time",
		"immediately":         "2 Immediately",
		"when_idle":           "3 When Idle",
		"confirmation_needed": "4 Confirmation Needed",
	}
	// The extendable-string patterns shared by file types and window modes.
	extendablePattern = regexp.MustCompile(`^([1-9]\d*( \S+)+|X [0-9A-F]{6} .+|X \S+ .+)$`)
)

// extendable reads a required "N Words" / "X OUI Words" string, resolving aliases.
func extendable(o *object, key string, aliases map[string]string, def string) (string, error) {
	s, err := o.str(key, maxFileType)
	if err != nil {
		return "", err
	}
	if s == "" {
		if def == "" {
			return "", fieldErr(o.field(key), "required")
		}
		return def, nil
	}
	if full, ok := aliases[s]; ok {
		return full, nil
	}
	if !extendablePattern.MatchString(s) {
		names := make([]string, 0, len(aliases))
		for k := range aliases {
			names = append(names, k)
		}
		slices.Sort(names)
		return "", fieldErr(o.field(key), "%q: want one of %s, or a TR-069 string like %q or \"X <OUI> <name>\"",
			s, strings.Join(names, ", "), aliases[names[0]])
	}
	return s, nil
}

// transferURL reads a required URL: TR-069 §3.4 transfers use HTTP, HTTPS or FTP.
func transferURL(o *object, key string, max int) (string, error) {
	u, err := o.str(key, max)
	if err != nil {
		return "", err
	}
	if u == "" {
		return "", fieldErr(o.field(key), "required")
	}
	return u, checkURL(o.field(key), u)
}

func optionalURL(o *object, key string) (string, error) {
	u, err := o.str(key, maxURL)
	if err != nil || u == "" {
		return u, err
	}
	return u, checkURL(o.field(key), u)
}

var urlPattern = regexp.MustCompile(`^(?i)(https?|ftp|tftp)://[^\s/?#]+([/?#]\S*)?$`)

func checkURL(path, u string) error {
	if !urlPattern.MatchString(u) {
		return fieldErr(path, "%q: want an absolute http://, https://, ftp:// or tftp:// URL without spaces", u)
	}
	return nil
}

// transfer is what Download, Upload and ScheduleDownload share.
type transfer struct {
	commandKey, fileType, url, username, password, targetFileName string
	fileSize                                                      uint32
}

func transferArgs(o *object, aliases map[string]string, withFile bool) (t transfer, err error) {
	if t.fileType, err = extendable(o, "file_type", aliases, ""); err != nil {
		return t, err
	}
	if t.url, err = transferURL(o, "url", maxURL); err != nil {
		return t, err
	}
	if t.username, err = o.str("username", maxCredential); err != nil {
		return t, err
	}
	if t.password, err = o.str("password", maxCredential); err != nil {
		return t, err
	}
	if withFile {
		if t.fileSize, err = o.uint32("file_size"); err != nil {
			return t, err
		}
		if t.targetFileName, err = o.str("target_file_name", maxNameLength); err != nil {
			return t, err
		}
	}
	t.commandKey, err = o.str("command_key", maxCommandKey)
	return t, err
}

func buildDownload(o *object) (soap.Message, error) {
	t, err := transferArgs(o, downloadFileTypes, true)
	if err != nil {
		return nil, err
	}
	d := &soap.Download{CommandKey: t.commandKey, FileType: t.fileType, URL: t.url, Username: t.username,
		Password: t.password, FileSize: uint64(t.fileSize), TargetFileName: t.targetFileName}
	if d.DelaySeconds, err = o.uint32("delay_seconds"); err != nil {
		return nil, err
	}
	if d.SuccessURL, err = optionalURL(o, "success_url"); err != nil {
		return nil, err
	}
	if d.FailureURL, err = optionalURL(o, "failure_url"); err != nil {
		return nil, err
	}
	return d, nil
}

func buildUpload(o *object) (soap.Message, error) {
	t, err := transferArgs(o, uploadFileTypes, false)
	if err != nil {
		return nil, err
	}
	u := &soap.Upload{CommandKey: t.commandKey, FileType: t.fileType, URL: t.url, Username: t.username, Password: t.password}
	u.DelaySeconds, err = o.uint32("delay_seconds")
	return u, err
}

func buildScheduleInform(o *object) (soap.Message, error) {
	if !o.has("delay_seconds") {
		return nil, fieldErr(o.field("delay_seconds"), "required")
	}
	// TR-069 A.4.1.2: DelaySeconds MUST be greater than zero.
	d, err := o.integer("delay_seconds", 1, 1<<32-1, 0)
	if err != nil {
		return nil, err
	}
	ck, err := o.str("command_key", maxCommandKey)
	return &soap.ScheduleInform{DelaySeconds: uint32(d), CommandKey: ck}, err
}

func buildScheduleDownload(o *object) (soap.Message, error) {
	t, err := transferArgs(o, downloadFileTypes, true)
	if err != nil {
		return nil, err
	}
	sd := &soap.ScheduleDownload{CommandKey: t.commandKey, FileType: t.fileType, URL: t.url, Username: t.username,
		Password: t.password, FileSize: uint64(t.fileSize), TargetFileName: t.targetFileName}
	list, err := o.array("time_windows")
	if err != nil {
		return nil, err
	}
	if len(list) > 2 { // TimeWindowList maxOccurs="2"
		return nil, fieldErr(o.field("time_windows"), "at most 2 time windows, got %d", len(list))
	}
	for i, e := range list {
		w, err := timeWindow(index(o.field("time_windows"), i), e)
		if err != nil {
			return nil, err
		}
		// TR-069 A.4.1.8: windows do not overlap and come in time order.
		if i > 0 && w.WindowStart < sd.TimeWindowList[i-1].WindowEnd {
			return nil, fieldErr(index(o.field("time_windows"), i)+".start", "must not be before the end of the previous window (%d)", sd.TimeWindowList[i-1].WindowEnd)
		}
		sd.TimeWindowList = append(sd.TimeWindowList, w)
	}
	return sd, nil
}

func timeWindow(path string, v any) (soap.TimeWindow, error) {
	var w soap.TimeWindow
	o, err := newObject(path, v, "start", "end", "mode", "user_message", "max_retries")
	if err != nil {
		return w, err
	}
	for _, k := range []string{"start", "end"} {
		if !o.has(k) {
			return w, fieldErr(o.field(k), "required (seconds from now)")
		}
	}
	if w.WindowStart, err = o.uint32("start"); err != nil {
		return w, err
	}
	if w.WindowEnd, err = o.uint32("end"); err != nil {
		return w, err
	}
	if w.WindowEnd < w.WindowStart {
		return w, fieldErr(o.field("end"), "must not be before start (%d), got %d", w.WindowStart, w.WindowEnd)
	}
	if w.WindowMode, err = extendable(o, "mode", windowModes, "1 At Any Time"); err != nil {
		return w, err
	}
	if w.UserMessage, err = o.str("user_message", maxUserMsg); err != nil {
		return w, err
	}
	// -1: the CPE decides how often to retry; 0: no retries.
	r, err := o.integer("max_retries", -1, 1<<31-1, -1)
	w.MaxRetries = int(r)
	return w, err
}

// ---------------------------------------------------------------- software modules (TR-069 A.4.1.10)

var duUUID = regexp.MustCompile(`^[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)

// duFields are the fields of each operation (InstallOpStruct, UpdateOpStruct, UninstallOpStruct).
var duFields = map[string][]string{
	"install":   {"op", "url", "uuid", "username", "password", "execution_env_ref"},
	"update":    {"op", "uuid", "version", "url", "username", "password"},
	"uninstall": {"op", "uuid", "version", "execution_env_ref"},
}

func buildChangeDUState(o *object) (soap.Message, error) {
	list, err := o.array("operations")
	if err != nil {
		return nil, err
	}
	msg := &soap.ChangeDUState{}
	for i, e := range list {
		op, err := duOperation(index(o.field("operations"), i), e)
		if err != nil {
			return nil, err
		}
		msg.Operations = append(msg.Operations, op)
	}
	msg.CommandKey, err = o.str("command_key", maxCommandKey)
	return msg, err
}

func duOperation(path string, v any) (soap.DUOperation, error) {
	var op soap.DUOperation
	m, ok := v.(map[string]any)
	if !ok {
		return op, fieldErr(path, "must be an object, got %s", jsonKind(v))
	}
	kind, err := (&object{path: path, m: m}).requiredStr("op", 16)
	if err != nil {
		return op, err
	}
	kind = strings.ToLower(kind)
	fields, ok := duFields[kind]
	if !ok {
		return op, fieldErr(path+".op", "unknown operation %q (want install, update or uninstall)", kind)
	}
	o, err := newObject(path, v, fields...)
	if err != nil {
		return op, err
	}
	op.Op = strings.ToUpper(kind[:1]) + kind[1:]
	if kind == "install" {
		op.URL, err = transferURL(o, "url", maxDUURL)
	} else if kind == "update" {
		op.URL, err = o.str("url", maxDUURL)
		if err == nil && op.URL != "" {
			err = checkURL(o.field("url"), op.URL)
		}
	}
	if err != nil {
		return op, err
	}
	if op.UUID, err = o.str("uuid", 36); err != nil {
		return op, err
	}
	if op.UUID == "" && kind == "uninstall" {
		return op, fieldErr(o.field("uuid"), "required for uninstall")
	}
	if op.UUID != "" && !duUUID.MatchString(op.UUID) {
		return op, fieldErr(o.field("uuid"), "%q: want a UUID like 6ba7b810-9dad-11d1-80b4-00c04fd430c8", op.UUID)
	}
	if op.Username, err = o.str("username", maxCredential); err != nil {
		return op, err
	}
	if op.Password, err = o.str("password", maxCredential); err != nil {
		return op, err
	}
	if op.Version, err = o.str("version", maxDUVersion); err != nil {
		return op, err
	}
	op.ExecutionEnvRef, err = o.str("execution_env_ref", maxNameLength)
	return op, err
}
