package registry

import (
	"net"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Record is what the registry stores of a device (bucket "devices", JSON).
type Record struct {
	ID              string    `json:"id"`
	Manufacturer    string    `json:"manufacturer"`
	OUI             string    `json:"oui"`
	ProductClass    string    `json:"product_class"`
	SerialNumber    string    `json:"serial"`
	ModelName       string    `json:"model,omitempty"`
	SoftwareVersion string    `json:"firmware,omitempty"`
	HardwareVersion string    `json:"hardware,omitempty"`
	Root            string    `json:"root,omitempty"` // "InternetGatewayDevice." or "Device."
	RemoteAddr      string    `json:"remote_addr,omitempty"`
	Registered      time.Time `json:"registered"`
	LastInform      time.Time `json:"last_inform"`
	// Connection request target (TR-069 §3.2.2, Annex G).
	ConnReqURL  string `json:"connreq_url,omitempty"`
	ConnReqUDP  string `json:"connreq_udp,omitempty"`
	ConnReqUser string `json:"connreq_user,omitempty"`
	ConnReqPass string `json:"connreq_pass,omitempty"`
	// Pending credentials: set on the CPE by a provisioning task, active once it succeeds.
	PendingUser string `json:"pending_user,omitempty"`
	PendingPass string `json:"pending_pass,omitempty"`
	// PeriodicInterval is the CPE's PeriodicInformInterval in seconds, 0 while unknown.
	PeriodicInterval int64 `json:"periodic_interval,omitempty"`
	Online           bool  `json:"online"`
	// Params carries the last known raw values (from Informs and GetParameterValues results) to
	// the store, where they live apart (bucket "params"), written only when a value changed: a
	// periodic Inform then rewrites a small record, not hundreds of parameters. In memory they are
	// in the registry's cache (Registry.SetParams, WithParams), never here.
	Params map[string]ParamValue `json:"-"`
	// State carries the JSON of the last normalized state to the store (bucket "state") when not
	// nil (Registry.SetState); StateSum identifies it (FNV-64a), so an unchanged state is not written again.
	State    []byte `json:"-"`
	StateSum uint64 `json:"state_sum,omitempty"`
	// ParamsGen counts the changes of the raw parameters; InformSum identifies the parameter
	// list of the last Inform while every value of it is the one recorded (0: none), StateOf what
	// the last state published was normalized from (0: none, or stale). They let a periodic
	// Inform that changes nothing skip the load of the raw parameters and the normalization,
	// also after a restart (package bridge, unchanged.go). Write keeps them consistent with the
	// parameters it stores beside them.
	ParamsGen uint64 `json:"params_gen,omitempty"`
	InformSum uint64 `json:"inform_sum,omitempty"`
	StateOf   uint64 `json:"state_of,omitempty"`
	// InfoSum identifies the B/D/info last published (present.Published; 0: none), so that after
	// a restart on which the broker kept its retained messages an unchanged entry is not
	// published again (bridge.rememberKeptInfo).
	InfoSum uint64 `json:"info_sum,omitempty"`
	// Translator is the name of the translator chosen for the device.
	Translator string `json:"translator,omitempty"`
	// Transfers are transfers the CPE accepted with Status 1, awaiting their TransferComplete.
	Transfers []PendingTransfer `json:"transfers,omitempty"`
	// Quirks are behaviours learned from the CPE itself ("one_name_per_gpv"), kept so later
	// sessions and restarts do not learn them again at the device's expense.
	Quirks []string `json:"quirks,omitempty"`
	// CRNoSession is when the CPE answered a connection request 2xx and then opened no session
	// within cwmp.connreq.session_wait: until its next Inform it gets no further connection
	// request, since a CPE that only restarts its periodic timer on one would be postponed for ever.
	CRNoSession time.Time `json:"connreq_no_session,omitzero"`
	// Interview is the last interview; its names are stored per model (bucket "models").
	Interview *api.Interview `json:"interview,omitempty"`
	// Poisoned fingerprints the gateway's own requests the CPE dropped the session on until
	// tasks.max_attempts (package bridge, poison.go): not queued again, so a BOOT does not restart a crash loop.
	Poisoned []string `json:"poisoned,omitempty"`
}

// PendingTransfer is a Download/Upload answered with Status 1 (checklist 41).
type PendingTransfer struct {
	CommandKey string    `json:"command_key"`
	Method     string    `json:"method"`
	RequestID  string    `json:"request_id,omitempty"`
	Since      time.Time `json:"since"`
}

// ParamValue is one raw CWMP value.
type ParamValue struct {
	Value string `json:"v"`
	Type  string `json:"t,omitempty"`
}

// Summary is the device as B/D/info, list_devices and the status page show it.
func (r *Record) Summary() api.DeviceSummary {
	model := r.ModelName
	if model == "" {
		model = r.ProductClass
	}
	return api.DeviceSummary{
		ID: r.ID, Manufacturer: r.Manufacturer, OUI: r.OUI, ProductClass: r.ProductClass,
		SerialNumber: r.SerialNumber, Model: model, Firmware: r.SoftwareVersion,
		Hardware: r.HardwareVersion, Translator: r.Translator, Online: r.Online,
		LastInform: r.LastInform.UTC(), IP: hostOf(r.RemoteAddr), Interview: r.Interview, Quirks: r.Quirks,
	}
}

// DeviceInfo is the device as a translator sees it.
func (r *Record) DeviceInfo() sdk.DeviceInfo {
	return sdk.DeviceInfo{ID: r.ID, Manufacturer: r.Manufacturer, OUI: r.OUI, ProductClass: r.ProductClass,
		SerialNumber: r.SerialNumber, SoftwareVersion: r.SoftwareVersion, HardwareVersion: r.HardwareVersion, Root: r.Root}
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
