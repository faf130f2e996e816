package api

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
)

// BridgeState is the retained payload of B/bridge/state. The MQTT will publishes
// {"state":"offline"} alone, so Version and Started are omitted when empty.
type BridgeState struct {
	State   string     `json:"state"`
	Version string     `json:"version,omitempty"`
	Started *time.Time `json:"started,omitempty"`
}

// BridgeInfo is the retained payload of B/bridge/info. It never carries a secret: no
// passwords, no keys, no credentials in URLs.
type BridgeInfo struct {
	Version     string           `json:"version"`
	Started     time.Time        `json:"started"`
	BaseTopic   string           `json:"base_topic"`
	Listeners   []Listener       `json:"listeners"`
	Broker      Broker           `json:"broker"`
	Translators []TranslatorInfo `json:"translators"`
	// Config is a summary of the effective configuration (timeouts, limits, auth mode), keyed
	// as in cwmp2mqtt.yaml.
	Config map[string]any `json:"config,omitempty"`
}

// Listener is one network endpoint the gateway serves.
type Listener struct {
	Name    string `json:"name"`    // "acs", "connection_request_udp", "mqtt_embedded"
	Address string `json:"address"` // ":7547"
	TLS     bool   `json:"tls"`
	Path    string `json:"path,omitempty"` // HTTP path of the ACS
}

// Broker says where the gateway publishes.
type Broker struct {
	URL       string `json:"url"` // without credentials
	Embedded  bool   `json:"embedded"`
	ClientID  string `json:"client_id"`
	Connected bool   `json:"connected"`
}

// TranslatorInfo describes one loaded translator (docs/design.md §4).
type TranslatorInfo struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	ModelVersion string `json:"model_version"`
	// State is "running", "restarting" or "failed".
	State   string `json:"state"`
	Builtin bool   `json:"builtin"`
	Devices int    `json:"devices"`
	// Exposes are the normalized keys the translator offers; list_translators fills them,
	// bridge/info leaves them out.
	Exposes []Expose `json:"exposes,omitempty"`
}

// Expose is one normalized key of a translator (plugins/sdk.Expose as JSON).
type Expose struct {
	Key         string `json:"key"`
	Type        string `json:"type"` // string, integer, number, boolean, datetime, object
	Unit        string `json:"unit,omitempty"`
	Access      string `json:"access"` // read, write, read_write
	Description string `json:"description,omitempty"`
}

// DeviceSummary is one device: the retained B/D/info, and an entry of list_devices.
type DeviceSummary struct {
	ID           string `json:"id"`
	Manufacturer string `json:"manufacturer"`
	OUI          string `json:"oui"`
	ProductClass string `json:"product_class"`
	SerialNumber string `json:"serial"`
	// Model, Firmware and Hardware come from DeviceInfo.ModelName, SoftwareVersion and
	// HardwareVersion when the CPE reported them.
	Model      string    `json:"model"`
	Firmware   string    `json:"firmware"`
	Hardware   string    `json:"hardware"`
	Translator string    `json:"translator"`
	Online     bool      `json:"online"`
	LastInform time.Time `json:"last_inform"`
	// IP is the address the CPE's last session came from.
	IP string `json:"ip,omitempty"`
	// Interview is the state of the device's last interview; absent before the first.
	Interview *Interview `json:"interview,omitempty"`
	// Quirks are the behaviours the gateway learned from the device ("one_name_per_gpv").
	Quirks []string `json:"quirks,omitempty"`
}

// Interview states.
const (
	InterviewRunning = "running"
	InterviewDone    = "done"
	InterviewFailed  = "failed"
)

// Why an interview started.
const (
	InterviewFirstContact    = "first_contact"    // the gateway had not interviewed the device
	InterviewBootstrap       = "bootstrap"        // 0 BOOTSTRAP: the CPE was reset
	InterviewFirmwareChanged = "firmware_changed" // SoftwareVersion differs from the interviewed one
	InterviewRequested       = "requested"        // the reinterview bridge operation
	InterviewRetry           = "retry"            // a BOOT after a failed or interrupted interview
)

// Interview is the state of a device's interview (the `interview` of B/bridge/devices) and the
// data of the interview_started / interview_done / interview_failed device events.
type Interview struct {
	State  string `json:"state"`  // running, done, failed
	Reason string `json:"reason"` // first_contact, bootstrap, firmware_changed, requested, retry
	// Firmware is the SoftwareVersion interviewed: the data model is shared by devices of the
	// same OUI, ProductClass and SoftwareVersion.
	Firmware string `json:"firmware"`
	// Shared: the names came from an earlier interview of a device of the same model (no
	// GetParameterNames was sent). Walked: the CPE refused, faulted or broke the session on the
	// whole-tree GetParameterNames, and its tree was walked one level at a time.
	Shared bool `json:"shared"`
	Walked bool `json:"walked,omitempty"`
	// Names is the number of parameter and object names of the data model; Keys the number of
	// state keys after the read; RPCs the RPCs the interview sent (GetParameterNames and
	// GetParameterValues batches); DurationMs the time from start to end.
	Names      int        `json:"names"`
	Keys       int        `json:"keys"`
	RPCs       int        `json:"rpcs"`
	DurationMs int64      `json:"duration_ms"`
	Started    time.Time  `json:"started"`
	Finished   *time.Time `json:"finished,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// DeviceList is the data of list_devices (one page): a JSON array, [] when empty.
type DeviceList []DeviceSummary

func (l DeviceList) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]DeviceSummary(l))
}

// DeviceCounts is the retained payload of B/bridge/devices: counts only, so it stays small at
// any fleet size (each device's detail is its retained B/D/info; list_devices pages through them).
type DeviceCounts struct {
	Devices int       `json:"devices"`
	Online  int       `json:"online"`
	Offline int       `json:"offline"`
	Updated time.Time `json:"updated"`
}

// DeviceFilter selects the devices of list_devices; an empty field matches every device.
type DeviceFilter struct {
	Online       *bool  `json:"online,omitempty"`
	Translator   string `json:"translator,omitempty"`
	ProductClass string `json:"product_class,omitempty"`
	Firmware     string `json:"firmware,omitempty"`
	IDPrefix     string `json:"id_prefix,omitempty"`
}

// Match reports whether the device passes every field of the filter (nil passes all).
func (f *DeviceFilter) Match(d *DeviceSummary) bool {
	if f == nil {
		return true
	}
	return (f.Online == nil || *f.Online == d.Online) &&
		(f.Translator == "" || f.Translator == d.Translator) &&
		(f.ProductClass == "" || f.ProductClass == d.ProductClass) &&
		(f.Firmware == "" || f.Firmware == d.Firmware) &&
		strings.HasPrefix(d.ID, f.IDPrefix)
}

// Pages of list_devices: DefaultListLimit devices when the request gives no limit, at most
// MaxListLimit.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 10000
)

// BridgeEventType names a gateway event on B/bridge/event.
type BridgeEventType string

const (
	BridgeDeviceRegistered BridgeEventType = "device_registered" // first Inform of a new device
	BridgeDeviceOnline     BridgeEventType = "device_online"
	BridgeDeviceOffline    BridgeEventType = "device_offline"
	BridgeDeviceRemoved    BridgeEventType = "device_removed"
	BridgePluginFailed     BridgeEventType = "plugin_failed"    // a translator crashed or hung (docs/design.md §4)
	BridgePluginRestarted  BridgeEventType = "plugin_restarted" // … and is back
	BridgeOutboxDropped    BridgeEventType = "outbox_dropped"   // the outbox was full: oldest messages dropped
	BridgeAuthFailed       BridgeEventType = "auth_failed"      // a CPE failed authentication
	// BridgeRegistrationRefused: an unknown device was refused (503) because of cwmp.max_devices
	// or cwmp.registration_rate; known devices are never refused.
	BridgeRegistrationRefused BridgeEventType = "registration_refused"
	BridgeSessionFault        BridgeEventType = "session_fault" // a session ended on a protocol error
)

// BridgeEvent is the payload of B/bridge/event.
type BridgeEvent struct {
	Event  BridgeEventType `json:"event"`
	Device string          `json:"device,omitempty"`
	Plugin string          `json:"plugin,omitempty"`
	// User and Remote are the user name a refused CPE request claimed and its address
	// (auth_failed).
	User   string `json:"user,omitempty"`
	Remote string `json:"remote,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Count is how many messages outbox_dropped dropped, or how many failures an auth_failed
	// stands for when the ones before it were rate-limited.
	Count int       `json:"count,omitempty"`
	Time  time.Time `json:"time"`
}

// Bridge operations: B/bridge/request/<op> → B/bridge/response/<op>.
const (
	OpListDevices     = "list_devices"
	OpRemoveDevice    = "remove_device"
	OpHealth          = "health"
	OpListTranslators = "list_translators"
	// OpReinterview discovers the device's data model again (not from a sibling) and re-reads
	// its state: now when the device is in session, else at its next one (a connection request
	// asks for it).
	OpReinterview = "reinterview"
)

var bridgeOps = []string{OpListDevices, OpRemoveDevice, OpHealth, OpListTranslators, OpReinterview}

// BridgeRequest is the payload of B/bridge/request/<op>; an empty payload is a request without
// transaction.
type BridgeRequest struct {
	// Transaction is echoed in the response, for the platform to match it.
	Transaction string `json:"transaction,omitempty"`
	// Op is optional in the payload (the topic names it); when present it must match.
	Op string `json:"op,omitempty"`
	// Device is the device id, for remove_device and reinterview.
	Device string `json:"device,omitempty"`
	// Filter, Offset and Limit page list_devices (devices in id order).
	Filter *DeviceFilter `json:"filter,omitempty"`
	Offset int           `json:"offset,omitempty"`
	Limit  int           `json:"limit,omitempty"`
}

// Response statuses of bridge operations.
const (
	BridgeOK    = "ok"
	BridgeError = "error"
)

// BridgeResponse is the payload of B/bridge/response/<op>. Data is []DeviceSummary for
// list_devices (one page: Total devices matched the filter, NextOffset is the offset of the next
// page, absent on the last), RemovedDevice for remove_device, Health for health,
// []TranslatorInfo for list_translators; with status "error" Error says why and Data is absent.
type BridgeResponse struct {
	Transaction string    `json:"transaction,omitempty"`
	Op          string    `json:"op"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	Data        any       `json:"data,omitempty"`
	Total       *int      `json:"total,omitempty"`
	NextOffset  int       `json:"next_offset,omitempty"`
	Time        time.Time `json:"time"`
}

// ReinterviewQueued is the data of reinterview: the interview runs now when the device is in
// session, else at its next session; Woken says a connection request was sent for one.
type ReinterviewQueued struct {
	Device string `json:"device"`
	Woken  bool   `json:"woken"`
}

// RemovedDevice is the data of remove_device: DroppedRequests counts its requests that ended
// "cancelled" (not sent) or "timeout" (in flight).
type RemovedDevice struct {
	Device          string `json:"device"`
	DroppedRequests int    `json:"dropped_requests"`
}

// Health is the data of the health operation. Status is "degraded" when Problems is not empty
// (broker down, a translator failed, outbox growing).
type Health struct {
	Status          string            `json:"status"`
	Uptime          float64           `json:"uptime"` // seconds
	BrokerConnected bool              `json:"broker_connected"`
	Devices         int               `json:"devices"`
	Online          int               `json:"online"`
	Sessions        int               `json:"sessions"`
	QueuedRequests  int               `json:"queued_requests"`
	Outbox          int               `json:"outbox"`
	Translators     map[string]string `json:"translators"` // name → running | restarting | failed
	Problems        []string          `json:"problems,omitempty"`
}

// maxOpLength bounds the op echoed in a response (bridge-response.json): an unknown op is
// echoed as the topic named it, cut to this many characters.
const maxOpLength = 64

// EchoOp is the op a response carries for the topic level op.
func EchoOp(op string) string {
	if r := []rune(op); len(r) > maxOpLength {
		return string(r[:maxOpLength])
	}
	return op
}

// ParseBridgeRequest validates a B/bridge/request/<op> payload for the op of its topic. On
// error the request is still returned, with the transaction when it was readable.
func ParseBridgeRequest(op string, payload []byte) (*BridgeRequest, error) {
	req := &BridgeRequest{Op: op}
	var v any
	if len(bytes.TrimSpace(payload)) > 0 {
		var err error
		if v, err = decodeJSON(payload); err != nil {
			return req, err
		}
		// The transaction is read first so that every error, an unknown op's too, echoes it.
		if m, ok := v.(map[string]any); ok {
			if t, ok := m["transaction"].(string); ok && len(t) <= MaxIDLength {
				req.Transaction = t
			}
		}
	}
	if !slices.Contains(bridgeOps, op) {
		return req, fieldErr("", "unknown operation %q (known: %s)", op, strings.Join(bridgeOps, ", "))
	}
	if v == nil {
		if op == OpListDevices {
			req.Limit = DefaultListLimit
		}
		return req, checkBridgeArgs(req)
	}
	o, err := newObject("", v, "transaction", "op", "device", "filter", "offset", "limit")
	if err != nil {
		return req, err
	}
	if err := parseListArgs(req, o); err != nil {
		return req, err
	}
	if req.Transaction, err = o.str("transaction", MaxIDLength); err != nil {
		return req, err
	}
	got, err := o.str("op", 32)
	if err != nil {
		return req, err
	}
	if got != "" && got != op {
		return req, fieldErr("op", "%q does not match the topic's operation %q", got, op)
	}
	if req.Device, err = o.str("device", 3*maxNameLength); err != nil {
		return req, err
	}
	return req, checkBridgeArgs(req)
}

// parseListArgs reads the paging fields, which only list_devices takes.
func parseListArgs(req *BridgeRequest, o *object) error {
	if req.Op != OpListDevices {
		for _, k := range []string{"filter", "offset", "limit"} {
			if o.has(k) {
				return fieldErr(k, "only list_devices takes it")
			}
		}
		return nil
	}
	off, err := o.integer("offset", 0, math.MaxInt32, 0)
	if err != nil {
		return err
	}
	lim, err := o.integer("limit", 1, MaxListLimit, DefaultListLimit)
	if err != nil {
		return err
	}
	req.Offset, req.Limit = int(off), int(lim)
	if !o.has("filter") {
		return nil
	}
	fo, err := newObject("filter", o.m["filter"], "online", "translator", "product_class", "firmware", "id_prefix")
	if err != nil {
		return err
	}
	f := &DeviceFilter{}
	if fo.has("online") {
		on, err := fo.boolean("online")
		if err != nil {
			return err
		}
		f.Online = &on
	}
	for key, dst := range map[string]*string{"translator": &f.Translator, "product_class": &f.ProductClass,
		"firmware": &f.Firmware, "id_prefix": &f.IDPrefix} {
		if *dst, err = fo.str(key, 3*maxNameLength); err != nil {
			return err
		}
	}
	req.Filter = f
	return nil
}

func checkBridgeArgs(req *BridgeRequest) error {
	if (req.Op == OpRemoveDevice || req.Op == OpReinterview) && req.Device == "" {
		return fieldErr("device", "required for %s", req.Op)
	}
	return nil
}
