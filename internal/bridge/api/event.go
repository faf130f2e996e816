package api

import (
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// EventType names a device event on B/D/event.
type EventType string

// Device events: the Inform event codes of TR-069 §3.7.1.5 Table 7 (checklist 30) by name.
const (
	EventBootstrap                       EventType = "bootstrap"                           // 0 BOOTSTRAP
	EventBoot                            EventType = "boot"                                // 1 BOOT
	EventPeriodic                        EventType = "periodic"                            // 2 PERIODIC
	EventScheduled                       EventType = "scheduled"                           // 3 SCHEDULED
	EventValueChange                     EventType = "value_change"                        // 4 VALUE CHANGE
	EventKicked                          EventType = "kicked"                              // 5 KICKED
	EventConnectionRequest               EventType = "connection_request"                  // 6 CONNECTION REQUEST
	EventTransferComplete                EventType = "transfer_complete"                   // 7 TRANSFER COMPLETE
	EventDiagnosticsComplete             EventType = "diagnostics_complete"                // 8 DIAGNOSTICS COMPLETE
	EventRequestDownload                 EventType = "request_download"                    // 9 REQUEST DOWNLOAD
	EventAutonomousTransferComplete      EventType = "autonomous_transfer_complete"        // 10
	EventDUStateChangeComplete           EventType = "du_state_change_complete"            // 11
	EventAutonomousDUStateChangeComplete EventType = "autonomous_du_state_change_complete" // 12
	EventWakeup                          EventType = "wakeup"                              // 13 WAKEUP
	EventHeartbeat                       EventType = "heartbeat"                           // 14 HEARTBEAT
	EventMethod                          EventType = "method"                              // "M Reboot", "M X_…": a method the ACS asked for completed
	EventVendor                          EventType = "vendor"                              // "X <OUI> …"
	EventUnknown                         EventType = "unknown"                             // any other code, kept verbatim
	// EventTransferTimeout is the gateway's own: a transfer the CPE accepted with Status 1 got no
	// TransferComplete within tasks.transfer_timeout (checklist 41).
	EventTransferTimeout EventType = "transfer_timeout"
	// The gateway's interview of the device (docs/mqtt-api.md "Interview"): discovery of its
	// data model with GetParameterNames, then a read of every exposed key it has. Data is
	// InterviewData.
	EventInterviewStarted EventType = "interview_started"
	EventInterviewDone    EventType = "interview_done"
	EventInterviewFailed  EventType = "interview_failed"
)

// numberedEvents names the standard codes, indexed by soap.EventKind.
var numberedEvents = [soap.NumberedEvents]EventType{
	EventBootstrap, EventBoot, EventPeriodic, EventScheduled, EventValueChange, EventKicked,
	EventConnectionRequest, EventTransferComplete, EventDiagnosticsComplete, EventRequestDownload,
	EventAutonomousTransferComplete, EventDUStateChangeComplete, EventAutonomousDUStateChangeComplete,
	EventWakeup, EventHeartbeat,
}

// EventName names an Inform event code by its soap.EventKind: standard codes by their number,
// so "7 TRANSFER_COMPLETE" from a sloppy CPE is still transfer_complete; "M …" is EventMethod,
// "X …" EventVendor, anything else EventUnknown (checklist 29–30).
func EventName(code string) EventType {
	switch k := (soap.Event{Code: code}).Kind(); k {
	case soap.EventMethod:
		return EventMethod
	case soap.EventVendor:
		return EventVendor
	case soap.EventUnknown:
		return EventUnknown
	default:
		return numberedEvents[k]
	}
}

// DeviceEvent is the payload of B/D/event.
type DeviceEvent struct {
	Event  EventType `json:"event"`
	Device string    `json:"device"`
	// Code is the Inform EventCode verbatim ("M Reboot", "X 00147F Foo"); absent for events that
	// come from a CPE request.
	Code       string `json:"code,omitempty"`
	CommandKey string `json:"command_key,omitempty"`
	// Data holds the details of request-borne events (TransferData, AutonomousTransferData,
	// RequestDownloadData, DUStateChangeData, KickedData) and {"method"} of EventMethod.
	Data any       `json:"data,omitempty"`
	Time time.Time `json:"time"`
}

// TransferTimeoutData is the data of a transfer_timeout event.
type TransferTimeoutData struct {
	Method        string  `json:"method"`
	RequestID     string  `json:"request_id,omitempty"`
	WaitedSeconds float64 `json:"waited_seconds"`
}

// requestBorne are the Inform events whose details follow in a CPE request of the same session
// (TR-069 §3.7.1.5): DeviceEventFromRequest publishes them, with data, exactly once.
var requestBorne = map[EventType]bool{
	EventKicked: true, EventTransferComplete: true, EventRequestDownload: true,
	EventAutonomousTransferComplete: true, EventDUStateChangeComplete: true,
	EventAutonomousDUStateChangeComplete: true,
}

// DeviceEventsFromInform lists the B/D/event payloads of an Inform, one per event code, in the
// CPE's order. Codes whose details arrive as a CPE request in the same session (7, 9, 10, 11, 12
// and 5) are left to DeviceEventFromRequest so each is published once, with its data.
func DeviceEventsFromInform(deviceID string, inf *soap.Inform, received time.Time) []DeviceEvent {
	var out []DeviceEvent
	for _, e := range inf.Events {
		name := EventName(e.Code)
		if requestBorne[name] {
			continue
		}
		ev := DeviceEvent{Event: name, Device: deviceID, Code: e.Code, CommandKey: e.CommandKey, Time: received.UTC()}
		if name == EventMethod {
			ev.Data = MethodData{Method: strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(e.Code), "M "))}
		}
		out = append(out, ev)
	}
	return out
}

// MethodData is the data of EventMethod: the ACS method that completed ("Reboot", "Download").
type MethodData struct {
	Method string `json:"method"`
}

// TransferData is the data of transfer_complete (TR-069 A.3.3.2).
type TransferData struct {
	Success      bool       `json:"success"`
	Fault        *FaultInfo `json:"fault,omitempty"`
	StartTime    *time.Time `json:"start_time,omitempty"`
	CompleteTime *time.Time `json:"complete_time,omitempty"`
}

// AutonomousTransferData is the data of autonomous_transfer_complete (TR-069 A.4.2.2).
type AutonomousTransferData struct {
	TransferData
	AnnounceURL    string `json:"announce_url"`
	TransferURL    string `json:"transfer_url"`
	IsDownload     bool   `json:"is_download"`
	FileType       string `json:"file_type"`
	FileSize       uint64 `json:"file_size"`
	TargetFileName string `json:"target_file_name"`
}

// RequestDownloadData is the data of request_download (TR-069 A.4.2.1).
type RequestDownloadData struct {
	FileType string            `json:"file_type"`
	Args     map[string]string `json:"args,omitempty"`
}

// DUStateChangeData is the data of du_state_change_complete and its autonomous twin
// (TR-069 A.4.2.3, A.4.2.4).
type DUStateChangeData struct {
	Results []DUResult `json:"results"`
}

// DUResult is one OpResultStruct / AutonOpResultStruct.
type DUResult struct {
	UUID                 string     `json:"uuid"`
	DeploymentUnitRef    string     `json:"deployment_unit_ref"`
	Version              string     `json:"version"`
	CurrentState         string     `json:"current_state"`
	Resolved             bool       `json:"resolved"`
	ExecutionUnitRefList string     `json:"execution_unit_ref_list"`
	Operation            string     `json:"operation,omitempty"` // autonomous only
	Success              bool       `json:"success"`
	Fault                *FaultInfo `json:"fault,omitempty"`
	StartTime            *time.Time `json:"start_time,omitempty"`
	CompleteTime         *time.Time `json:"complete_time,omitempty"`
}

// KickedData is the data of kicked (TR-069 A.4.2.5).
type KickedData struct {
	Command string `json:"command"`
	Referer string `json:"referer"`
	Arg     string `json:"arg"`
	Next    string `json:"next"`
}

// transferFault renders a TransferCompleteFaultStruct: FaultCode 0 is success (checklist 42).
func transferFault(f soap.FaultStruct) (bool, *FaultInfo) {
	if f.FaultCode == 0 {
		return true, nil
	}
	return false, &FaultInfo{Code: f.FaultCode, String: f.FaultString}
}

func transferData(f soap.FaultStruct, start, complete soap.DateTime) TransferData {
	ok, fault := transferFault(f)
	return TransferData{Success: ok, Fault: fault, StartTime: knownTime(start), CompleteTime: knownTime(complete)}
}

// DeviceEventFromRequest turns a CPE-initiated request (checklist 43) into its B/D/event
// payload; ok is false for requests that are no event (GetRPCMethods).
func DeviceEventFromRequest(deviceID string, m soap.Message, received time.Time) (ev DeviceEvent, ok bool) {
	ev = DeviceEvent{Device: deviceID, Time: received.UTC()}
	switch r := m.(type) {
	case *soap.TransferComplete:
		ev.Event, ev.CommandKey = EventTransferComplete, r.CommandKey
		ev.Data = transferData(r.Fault, r.StartTime, r.CompleteTime)
	case *soap.AutonomousTransferComplete:
		ev.Event = EventAutonomousTransferComplete
		ev.Data = AutonomousTransferData{
			TransferData: transferData(r.Fault, r.StartTime, r.CompleteTime),
			AnnounceURL:  r.AnnounceURL, TransferURL: r.TransferURL, IsDownload: r.IsDownload,
			FileType: r.FileType, FileSize: r.FileSize, TargetFileName: r.TargetFileName,
		}
	case *soap.RequestDownload:
		d := RequestDownloadData{FileType: r.FileType}
		if len(r.FileTypeArg) > 0 {
			d.Args = make(map[string]string, len(r.FileTypeArg))
			for _, a := range r.FileTypeArg {
				d.Args[a.Name] = a.Value
			}
		}
		ev.Event, ev.Data = EventRequestDownload, d
	case *soap.DUStateChangeComplete:
		ev.Event, ev.CommandKey = EventDUStateChangeComplete, r.CommandKey
		ev.Data = duData(r.Results)
	case *soap.AutonomousDUStateChangeComplete:
		ev.Event, ev.Data = EventAutonomousDUStateChangeComplete, duData(r.Results)
	case *soap.Kicked:
		ev.Event = EventKicked
		ev.Data = KickedData{Command: r.Command, Referer: r.Referer, Arg: r.Arg, Next: r.Next}
	default:
		return DeviceEvent{}, false
	}
	return ev, true
}

func duData(results []soap.OpResult) DUStateChangeData {
	d := DUStateChangeData{Results: make([]DUResult, 0, len(results))}
	for _, r := range results {
		ok, fault := transferFault(r.Fault)
		d.Results = append(d.Results, DUResult{
			UUID: r.UUID, DeploymentUnitRef: r.DeploymentUnitRef, Version: r.Version,
			CurrentState: r.CurrentState, Resolved: r.Resolved, ExecutionUnitRefList: r.ExecutionUnitRefList,
			Operation: r.OperationPerformed, Success: ok, Fault: fault,
			StartTime: knownTime(r.StartTime), CompleteTime: knownTime(r.CompleteTime),
		})
	}
	return d
}
