package acs

import (
	"context"
	"crypto/x509"
	"net/netip"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Handler is what the ACS server drives. It is the one contract between the CWMP side and the
// rest of the gateway (the bridge implements it; tests implement it with plain structs).
//
// The server guarantees, per CWMP session:
//   - Inform is called exactly once, first, after authentication and before InformResponse is
//     sent. A non-nil error aborts the session with a SOAP fault 8002 (a *soap.Fault is sent as is).
//   - CPERequest is called for each CPE-initiated request after the Inform (TransferComplete,
//     AutonomousTransferComplete, GetRPCMethods, RequestDownload, DUStateChangeComplete,
//     AutonomousDUStateChangeComplete, Kicked). It returns the response Message, or a *soap.Fault.
//     Methods the handler does not know get fault 8000 from the server, not from the handler;
//     a (nil, nil) return also means "not supported" and gets 8000.
//   - NextTask is called when the CPE yields the turn (empty POST) and after each TaskDone; a nil
//     Task ends the session with 204. Only one task is outstanding at a time.
//   - TaskDone is called exactly once per task returned by NextTask, unless the session ends first;
//     resp is the CPE's response Message, or nil with err set (a *soap.Fault from the CPE, or
//     ErrMismatch when the response does not match the request: checklist 46; ErrInvalidTask when
//     the task could not be sent at all).
//   - SessionEnded is called exactly once per session that reached Inform, with the task that was
//     outstanding (nil if none) so the handler can put it back in its queue (checklist 14).
//
// Calls for one session never overlap; calls for different sessions run concurrently.
// The ctx is cancelled when the session is superseded or times out. SessionEnded gets a ctx that
// is not cancelled, so the handler can still store the returned task.
type Handler interface {
	Inform(ctx context.Context, s *Session, inf *soap.Inform) error
	CPERequest(ctx context.Context, s *Session, req soap.Message) (soap.Message, error)
	NextTask(ctx context.Context, s *Session) (*Task, error)
	TaskDone(ctx context.Context, s *Session, t *Task, resp soap.Message, err error)
	SessionEnded(ctx context.Context, s *Session, outstanding *Task, reason EndReason)
}

// Session describes one CWMP session to the Handler. Fields are read-only for the handler.
type Session struct {
	// ID is a gateway-unique session id (also the cookie value).
	ID string
	// DeviceID is the GenieACS-compatible id OUI-ProductClass-Serial with %XX escaping.
	DeviceID string
	Device   soap.DeviceID
	// NS is the CWMP namespace the CPE used; the ACS answers in it.
	NS string
	// CWMPVersion is the negotiated protocol version ("1.0" … "1.4").
	CWMPVersion string
	// Username is the authenticated user name ("" when auth is off).
	Username   string
	RemoteAddr netip.AddrPort
	// ClientCert is the leaf TLS client certificate the CPE presented, nil without one; it was
	// verified when Config.TLS.ClientAuth asks for verification (checklist 19).
	ClientCert *x509.Certificate
	// Encoding is how ACS requests are encoded toward this CPE (checklist 35: booleans as 1/0,
	// dateTimes with milliseconds). It is the one field the Handler may set, in Inform.
	Encoding soap.EncodeOptions
	Started  time.Time
	// Events are the Inform's event codes, for handlers that decide by them (BOOTSTRAP …).
	Events []soap.Event
}

// Task is one ACS → CPE RPC. Ref is the handler's own handle (e.g. its queue key), untouched by
// the server.
type Task struct {
	Request soap.Message
	Ref     any
}

// EndReason says why a session ended.
type EndReason string

const (
	EndDone       EndReason = "done"       // 204 after the task source ran dry
	EndSuperseded EndReason = "superseded" // a new Inform from the same device (checklist 14)
	EndTimeout    EndReason = "timeout"    // idle or total session time exceeded (checklist 15)
	EndLimit      EndReason = "limit"      // RPCs per session exceeded
	EndError      EndReason = "error"      // protocol error (fault sent, or 204 to a broken answer) or I/O error
	EndShutdown   EndReason = "shutdown"   // server stopping
	EndRefused    EndReason = "refused"    // the handler refused the Inform for now (BusyError: 503)
)
