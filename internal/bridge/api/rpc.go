package api

import (
	"encoding/json"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Limits of the request envelope (docs/mqtt-api.md "Requests").
const (
	MaxIDLength = 128
	// MaxTimeout bounds "timeout": an RPC runs inside one CWMP session, which the ACS caps anyway.
	MaxTimeout = 3600
	// MaxExpires bounds "expires": how long a request may wait for a sleeping device.
	MaxExpires = 30 * 24 * 3600
	// MaxListLength bounds every array argument (names, parameters, operations).
	MaxListLength = 4096
	// MaxTopicLength bounds reply_to.
	MaxTopicLength = 1024
)

// Request is the envelope shared by the rpc, set and get payloads: the id that every result
// echoes, the deadlines, and an optional reply topic.
type Request struct {
	ID string `json:"id"`
	// Timeout is how long, in seconds, the gateway waits for the CPE's answer once the RPC was
	// sent in a session; 0 = as long as the session lives. Past it the result is "timeout".
	Timeout float64 `json:"timeout,omitempty"`
	// Expires is how long, in seconds from acceptance, the request may wait in the device's queue
	// before it is sent; past it the result is "expired" and the request is never sent. 0 = now or
	// never: the device is woken at once, "offline" if that fails, with a short grace to come.
	Expires float64 `json:"expires,omitempty"`
	// ReplyTo is the topic for the results instead of B/D/rpc/result.
	ReplyTo string `json:"reply_to,omitempty"`
}

// TimeoutDuration is Timeout as a Duration (0 when unset).
func (r Request) TimeoutDuration() time.Duration { return seconds(r.Timeout) }

// ExpiresDuration is Expires as a Duration (0 when unset).
func (r Request) ExpiresDuration() time.Duration { return seconds(r.Expires) }

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// RPCRequest is the payload of B/D/rpc: one ACS→CPE method of CWMP 1.4 with its arguments.
type RPCRequest struct {
	Request
	// Method is the canonical CWMP method name ("GetParameterValues").
	Method string `json:"method"`
	// Args are the method's arguments as received (docs/mqtt-api.md "Methods").
	Args json.RawMessage `json:"args,omitempty"`
}

// SetRequest is the payload of B/D/set: normalized keys (a translator's exposes) and new values.
type SetRequest struct {
	Request
	Values map[string]any `json:"values"`
}

// GetRequest is the payload of B/D/get: normalized keys to read; none means every readable key.
type GetRequest struct {
	Request
	Keys []string `json:"keys,omitempty"`
}

// Status is the status of an RPCResult. A request gets at most one StatusAccepted and then
// exactly one terminal status.
type Status string

const (
	StatusAccepted Status = "accepted" // validated and queued durably
	StatusDone     Status = "done"     // the CPE answered; Result holds the answer
	StatusFault    Status = "fault"    // the CPE answered with a CWMP fault (TR-069 §A.5)
	StatusTimeout  Status = "timeout"  // sent, but no answer within Timeout
	StatusExpired  Status = "expired"  // not sent within Expires
	StatusOffline  Status = "offline"  // no Expires given and the connection request failed
	StatusRejected Status = "rejected" // bad request or refused; Error says why
	// StatusCancelled: accepted, then dropped before it was sent because remove_device forgot
	// the device; Error says why.
	StatusCancelled Status = "cancelled"
)

// Terminal reports whether s ends a request.
func (s Status) Terminal() bool { return s != StatusAccepted && s != "" }

// RPCResult is the payload of B/D/rpc/result (or reply_to), for rpc, set and get requests.
type RPCResult struct {
	ID     string `json:"id"`
	Device string `json:"device"`
	// Method is the CWMP method, or "set" / "get" for those topics; empty when the request was
	// too broken to tell.
	Method string `json:"method,omitempty"`
	Status Status `json:"status"`
	// Result is set with StatusDone (ResultFromMessage).
	Result any `json:"result,omitempty"`
	// Fault is set with StatusFault (FaultResult).
	Fault *FaultInfo `json:"fault,omitempty"`
	// Error is a readable reason with rejected, timeout, expired and offline.
	Error string `json:"error,omitempty"`
	// Note is the gateway's remark on how the request is handled: why an accepted request waits
	// (the device is not woken), how a done answer was completed.
	Note string `json:"note,omitempty"`
	// Attempts and DroppedSessions are set on a terminal result once the CPE dropped a session
	// while running the request: how often it was sent, how often the CPE dropped the session.
	Attempts        int       `json:"attempts,omitempty"`
	DroppedSessions int       `json:"dropped_sessions,omitempty"`
	Time            time.Time `json:"time"`
}

// FaultInfo is a CWMP fault as JSON (TR-069 §A.5, checklist 45).
type FaultInfo struct {
	Code   int    `json:"code"`
	String string `json:"string"`
	// Parameters are the SetParameterValuesFault entries, when the CPE sent any.
	Parameters []ParameterFaultInfo `json:"parameters,omitempty"`
	// Explanation is the gateway's own word on the fault; Code and String stay as the CPE sent
	// them.
	Explanation string `json:"explanation,omitempty"`
}

// ParameterFaultInfo is one SetParameterValuesFault.
type ParameterFaultInfo struct {
	Name   string `json:"name"`
	Code   int    `json:"code"`
	String string `json:"string"`
}

// FaultResult renders a CPE fault for an RPCResult.
func FaultResult(f *soap.Fault) FaultInfo {
	if f == nil {
		return FaultInfo{}
	}
	fi := FaultInfo{Code: f.Code, String: f.String}
	for _, p := range f.SetParameterValuesFaults {
		fi.Parameters = append(fi.Parameters, ParameterFaultInfo{Name: p.ParameterName, Code: p.FaultCode, String: p.FaultString})
	}
	return fi
}
