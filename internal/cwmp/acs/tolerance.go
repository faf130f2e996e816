package acs

import (
	"net/http"
	"net/netip"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Real CPE clients answer in shapes TR-069 does not allow, and some of them die on a SOAP fault
// they cannot parse (issue 7: a client answered Reboot with <cwmp:Reboot><RebootResponse/>
// </cwmp:Reboot>, got fault 8000 and crashed, and every later request expired). While a request
// is outstanding the CPE owes its answer, so whatever it sends then — except a CPE request,
// which is plainly one — is read as that answer: taken when it can be, failed as a mismatch when
// it cannot, and never answered with a fault.

// Quirks the ACS tolerates, named in the once-per-device warning.
const (
	quirkWrappedResponse = "response-wrapped-in-request-element" // <cwmp:Reboot><RebootResponse/></cwmp:Reboot>
	quirkForeignResponse = "response-in-foreign-namespace"       // <x:RebootResponse xmlns:x="urn:acme"/>
)

// tolerantAnswer takes env as the answer to the outstanding task when its Body, or the Body's
// only child, is the pending method's response in a shape TR-069 does not allow. The caller
// holds the turn.
func (s *Server) tolerantAnswer(w http.ResponseWriter, ss *session, env *soap.Envelope) bool {
	if ss.outstanding == nil || env.AsResponse == nil || env.AsResponse.MethodName() != ss.outMethod+"Response" {
		return false
	}
	quirk := quirkWrappedResponse
	if _, ok := env.Body.(*soap.Unknown); ok {
		quirk = quirkForeignResponse
	}
	s.warnQuirk(ss, quirk, zap.String("method", ss.outMethod), zap.String("element", env.Body.MethodName()))
	s.taskAnswer(w, ss, env, env.AsResponse, nil)
	return true
}

// warnQuirk logs a CPE quirk at WARN the first time this server sees it from the device, at
// DEBUG after (the quirk is the firmware's: every session would repeat it).
func (s *Server) warnQuirk(ss *session, quirk string, fields ...zap.Field) {
	lvl := zap.DebugLevel
	if _, seen := s.quirksSeen.LoadOrStore(ss.pub.DeviceID+"\x00"+quirk, struct{}{}); !seen {
		lvl = zap.WarnLevel
	}
	if ce := ss.log.Check(lvl, "CPE quirk tolerated"); ce != nil {
		ce.Write(append(fields, zap.String("quirk", quirk))...)
	}
}

// notTheAnswer fails the outstanding task with what the CPE sent instead of its response and goes
// on with the next task, without a fault (see above). The caller holds the turn.
func (s *Server) notTheAnswer(w http.ResponseWriter, ss *session, got string) {
	s.taskDone(ss, ss.outstanding, nil, mismatch("CPE sent %s instead of %sResponse", got, ss.outMethod))
	if s.isEnded(ss) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.nextTask(w, ss)
}

// SessionFault describes a session that ended on a protocol error, for Config.OnSessionFault
// (the gateway publishes it as the session_fault bridge event).
type SessionFault struct {
	Device string
	Remote netip.AddrPort
	// Reason says what went wrong, in words an operator can act on.
	Reason string
}

// reportFault is called by finish for a session that ended on a protocol error.
func (s *Server) reportFault(ss *session, reason string) {
	ss.log.Warn("session ended on a protocol error", zap.String("remote", ss.pub.RemoteAddr.String()), zap.String("reason", reason))
	if s.cfg.OnSessionFault != nil {
		s.cfg.OnSessionFault(SessionFault{Device: ss.pub.DeviceID, Remote: ss.pub.RemoteAddr, Reason: reason})
	}
}
