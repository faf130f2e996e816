package api

import (
	"fmt"
	"strconv"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Results of the CPE responses, the "result" of a done RPCResult (docs/mqtt-api.md "Methods").

// MethodsResult is the result of GetRPCMethods.
type MethodsResult struct {
	Methods []string `json:"methods"`
}

// NamesResult is the result of GetParameterNames.
type NamesResult struct {
	Parameters []ParameterName `json:"parameters"`
}

// ParameterName is one ParameterInfoStruct.
type ParameterName struct {
	Name     string `json:"name"`
	Writable bool   `json:"writable"`
}

// ValuesResult is the result of GetParameterValues: the same shape as an Inform's parameters.
type ValuesResult struct {
	Parameters map[string]ParamValue `json:"parameters"`
	// InvalidNames are requested names the CPE refused with 9005 (the gateway splits a batch
	// that faults 9005 until it finds them, and returns the rest: checklist 40), then those it
	// left out of its answer even when asked alone.
	InvalidNames []string `json:"invalid_names,omitempty"`
}

// AttributesResult is the result of GetParameterAttributes.
type AttributesResult struct {
	Parameters []ParameterAttribute `json:"parameters"`
}

// ParameterAttribute is one ParameterAttributeStruct; Notification 0 off, 1 passive, 2 active.
type ParameterAttribute struct {
	Name         string   `json:"name"`
	Notification int      `json:"notification"`
	AccessList   []string `json:"access_list"`
}

// StatusResult is the result of SetParameterValues and DeleteObject; AddObject adds the
// instance number. Status 1 means the change is committed but applied later, typically after a
// reboot (checklist 38); AppliedLater says so in words.
type StatusResult struct {
	InstanceNumber uint32 `json:"instance_number,omitempty"`
	Status         int    `json:"status"`
	AppliedLater   bool   `json:"applied_later"`
}

// TransferResult is the result of Download and Upload. Status 1 means the transfer is not done
// yet: a transfer_complete event with the same command key follows, maybe sessions later
// (checklist 41). The times are absent while unknown.
type TransferResult struct {
	Status       int        `json:"status"`
	Pending      bool       `json:"pending"`
	StartTime    *time.Time `json:"start_time,omitempty"`
	CompleteTime *time.Time `json:"complete_time,omitempty"`
}

// TransfersResult is the result of GetQueuedTransfers and GetAllQueuedTransfers (the latter
// fills the file fields).
type TransfersResult struct {
	Transfers []QueuedTransfer `json:"transfers"`
}

// QueuedTransfer is one QueuedTransferStruct / AllQueuedTransferStruct; State is
// "not_started", "in_progress" or "completed" (TransferStateType).
type QueuedTransfer struct {
	CommandKey     string `json:"command_key"`
	State          string `json:"state"`
	IsDownload     *bool  `json:"is_download,omitempty"`
	FileType       string `json:"file_type,omitempty"`
	FileSize       uint64 `json:"file_size,omitempty"`
	TargetFileName string `json:"target_file_name,omitempty"`
}

// GetResult is the result of a B/D/get request: normalized key → value. A set request's
// result is the StatusResult of its SetParameterValues.
type GetResult struct {
	// Values hold only what the CPE returned for this request (never older state).
	Values map[string]any `json:"values"`
	// InvalidNames are the parameter names read for the keys that the CPE refused (9005) or
	// left out of its answer even when asked alone.
	InvalidNames []string `json:"invalid_names,omitempty"`
}

// EmptyResult is the result of methods whose response carries nothing (Reboot, FactoryReset,
// SetParameterAttributes, ScheduleInform, ScheduleDownload, CancelTransfer, ChangeDUState):
// it renders as {} so "result" is always an object.
type EmptyResult struct{}

func transferState(s int) string {
	switch s {
	case 1:
		return "not_started"
	case 2:
		return "in_progress"
	case 3:
		return "completed"
	}
	return strconv.Itoa(s) // an out-of-spec state stays visible
}

// ResultFromMessage renders a CPE response as the result of a done RPCResult. A *soap.Fault
// comes back as the error (use FaultResult); a message that is no ACS→CPE response is an error.
func ResultFromMessage(m soap.Message) (any, error) {
	switch r := m.(type) {
	case *soap.Fault:
		return nil, r
	case *soap.GetRPCMethodsResponse:
		return MethodsResult{Methods: nonNil(r.MethodList)}, nil
	case *soap.GetParameterNamesResponse:
		out := NamesResult{Parameters: make([]ParameterName, 0, len(r.ParameterList))}
		for _, p := range r.ParameterList {
			out.Parameters = append(out.Parameters, ParameterName{Name: p.Name, Writable: p.Writable})
		}
		return out, nil
	case *soap.GetParameterValuesResponse:
		return ValuesResult{Parameters: jsonParams(r.ParameterList)}, nil
	case *soap.GetParameterAttributesResponse:
		out := AttributesResult{Parameters: make([]ParameterAttribute, 0, len(r.ParameterList))}
		for _, p := range r.ParameterList {
			out.Parameters = append(out.Parameters, ParameterAttribute{Name: p.Name, Notification: p.Notification, AccessList: nonNil(p.AccessList)})
		}
		return out, nil
	case *soap.SetParameterValuesResponse:
		return StatusResult{Status: r.Status, AppliedLater: r.Status == 1}, nil
	case *soap.AddObjectResponse:
		return StatusResult{InstanceNumber: r.InstanceNumber, Status: r.Status, AppliedLater: r.Status == 1}, nil
	case *soap.DeleteObjectResponse:
		return StatusResult{Status: r.Status, AppliedLater: r.Status == 1}, nil
	case *soap.DownloadResponse:
		return transferResult(r.Status, r.StartTime, r.CompleteTime), nil
	case *soap.UploadResponse:
		return transferResult(r.Status, r.StartTime, r.CompleteTime), nil
	case *soap.GetQueuedTransfersResponse:
		out := TransfersResult{Transfers: make([]QueuedTransfer, 0, len(r.TransferList))}
		for _, t := range r.TransferList {
			out.Transfers = append(out.Transfers, QueuedTransfer{CommandKey: t.CommandKey, State: transferState(t.State)})
		}
		return out, nil
	case *soap.GetAllQueuedTransfersResponse:
		out := TransfersResult{Transfers: make([]QueuedTransfer, 0, len(r.TransferList))}
		for _, t := range r.TransferList {
			out.Transfers = append(out.Transfers, QueuedTransfer{
				CommandKey: t.CommandKey, State: transferState(t.State), IsDownload: &t.IsDownload,
				FileType: t.FileType, FileSize: t.FileSize, TargetFileName: t.TargetFileName,
			})
		}
		return out, nil
	case *soap.SetParameterAttributesResponse, *soap.RebootResponse, *soap.FactoryResetResponse,
		*soap.ScheduleInformResponse, *soap.ScheduleDownloadResponse, *soap.CancelTransferResponse,
		*soap.ChangeDUStateResponse:
		return EmptyResult{}, nil
	case nil:
		return nil, fmt.Errorf("no response message")
	}
	return nil, fmt.Errorf("%s is not a response to an ACS request", m.MethodName())
}

func transferResult(status int, start, complete soap.DateTime) TransferResult {
	return TransferResult{Status: status, Pending: status == 1, StartTime: knownTime(start), CompleteTime: knownTime(complete)}
}

// nonNil keeps empty lists as [] in JSON, never null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
