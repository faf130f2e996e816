package acs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Shared header values: net/http never mutates them, so one slice serves every response.
var (
	hdrXML       = []string{`text/xml; charset="utf-8"`}
	hdrAllowPOST = []string{http.MethodPost}
)

// ServeHTTP handles one POST of a CPE: it finds the session (cookie, else connection),
// authenticates what starts a session, decodes the envelope and runs one step of the session.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.cfg.Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost { // checklist 1
		w.Header()["Allow"] = hdrAllowPOST
		http.Error(w, "the ACS accepts only POST", http.StatusMethodNotAllowed)
		return
	}
	if !s.admitNetwork(w, r) {
		return
	}
	coding, err := parseContentCoding(r.Header)
	if err != nil { // checklist 5
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}

	ss, foreign := s.lookup(r)
	if ss != nil {
		defer s.touch(ss) // lookup counted the request in flight: no idle reaping while a slow body arrives
	}
	var grant auth.Grant
	authed := false
	if ss == nil || foreign {
		// A POST outside a session starts one (or is stray): refuse it cheaply under overload,
		// before reading the body (checklist 9), and authenticate it (checklist 16–18). So is a
		// session cookie from another connection: it is no credential by itself.
		if ss == nil {
			if s.refuseOverload(w, r) {
				return
			}
			defer s.opened()
		}
		if grant, authed = s.authenticate(w, r); !authed {
			return
		}
	}

	bb := getBody()
	defer putBody(bb)
	if err := readBody(w, r, coding, s.cfg.MaxBodyBytes, bb); err != nil {
		if errors.Is(err, errBodyTooLarge) { // checklist 10
			s.log.Warn("request body too large", zap.String("remote", r.RemoteAddr), zap.Int64("limit", s.cfg.MaxBodyBytes))
			http.Error(w, "request body exceeds the limit", http.StatusRequestEntityTooLarge)
			return
		}
		s.log.Info("reading request failed", zap.String("remote", r.RemoteAddr), zap.Error(err))
		http.Error(w, "cannot read request body: "+err.Error(), http.StatusBadRequest)
		return
	}

	env, err := soap.Decode(bb.b, r.Header.Get("Content-Type"))
	if err == nil && env.Body == nil && len(bytes.TrimSpace(bb.b)) > 0 {
		err = errors.New("the SOAP Envelope has an empty Body") // checklist 6: not an empty POST
	}
	// A session cookie from another connection is claimed before the session is touched, a
	// garbled body included (it would end the session); an Inform starts a new session instead
	// (issue 9, sessions bound to their connection).
	if _, inform := envBody(env).(*soap.Inform); foreign && (err != nil || !inform) && !s.claim(w, r, ss, grant) {
		return
	}
	if err != nil {
		s.decodeFailed(w, r, ss, env, err)
		return
	}
	if len(env.Warnings) > 0 {
		l := s.log
		switch m := env.Body.(type) {
		case *soap.Inform: // the session does not exist yet; name the device anyway
			l = l.With(zap.String("device", DeviceIDFor(m.DeviceID)))
		default:
			if ss != nil {
				l = ss.log
			}
		}
		for _, warn := range env.Warnings {
			l.Warn("envelope warning", zap.String("remote", r.RemoteAddr), zap.String("warning", warn))
		}
	}

	if inf, ok := env.Body.(*soap.Inform); ok {
		// An Inform always starts a new session, cookie or not (checklist 13), and always
		// authenticates.
		if !authed {
			if grant, authed = s.authenticate(w, r); !authed {
				return
			}
		}
		s.startSession(w, r, env, inf, grant)
		return
	}
	if ss == nil || !ss.acquire(r.Context()) {
		s.noSession(w, r, env)
		return
	}
	defer ss.release()
	s.mu.Lock()
	ended := ss.ended
	if !ended && env.SessionTimeout > 0 {
		ss.idle = idleFor(env.SessionTimeout, &s.cfg)
	}
	s.mu.Unlock()
	if ended { // superseded or reaped while this request waited for the turn
		s.noSession(w, r, env)
		return
	}
	s.step(w, ss, env)
}

// lookup finds the session of a request: by cookie (every value is tried, a CPE may hold a stale
// one too), else the session last seen on the same TCP connection (checklist 12). foreign is true
// when the cookie names a session opened on another connection: the caller must claim it (see
// claim) before using it. It counts the request in flight; the caller calls touch when done.
func (s *Server) lookup(r *http.Request) (ss *session, foreign bool) {
	cs, _ := r.Context().Value(connKey{}).(*connState)
	cookies := r.Header["Cookie"]
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range cookieValues(cookies, CookieName) {
		if ss := s.byID[v]; ss != nil {
			ss.inflight++
			return ss, cs == nil || ss.conn != cs
		}
	}
	if cs != nil && cs.sess != nil && !cs.sess.ended {
		cs.sess.inflight++
		return cs.sess, false
	}
	return nil, false
}

// touch marks the end of a request of ss for the idle timer.
func (s *Server) touch(ss *session) {
	s.mu.Lock()
	ss.inflight--
	ss.lastSeen = time.Now()
	s.mu.Unlock()
}

// refuseOverload answers 503 + Retry-After before the body is read, cheaply, when the server
// is closing or far over its session limit (checklist 9). At the limit itself the body is read:
// an Inform from a device that rebooted mid-session must replace its own session rather than
// be locked out (checklist 14), and only startSession knows the device.
//
// Requests that may open a session count from here until they are answered (opening): a flood
// of new CPEs is refused before its bodies are read, not only once sessions pile up, which
// bounds the memory it costs (issue 9). The caller calls opened when done.
func (s *Server) refuseOverload(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	hardCap := s.cfg.MaxConcurrentSessions + s.cfg.MaxConcurrentSessions/4 + 1
	full := s.closing || len(s.byID)+s.opening >= hardCap
	if !full {
		s.opening++
	}
	s.mu.Unlock()
	if full {
		s.overloaded(w, r, "") // the body is not read yet: device unknown
	}
	return full
}

// opened ends a request counted by refuseOverload.
func (s *Server) opened() {
	s.mu.Lock()
	s.opening--
	s.mu.Unlock()
}

func (s *Server) overloaded(w http.ResponseWriter, r *http.Request, device string) {
	s.stats.overload.Add(1)
	dev := zap.Skip()
	if device != "" {
		dev = zap.String("device", device)
	}
	s.log.Warn("refusing new session: overloaded", zap.String("remote", r.RemoteAddr), dev,
		zap.Int("max_sessions", s.cfg.MaxConcurrentSessions))
	w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter/time.Second)))
	w.Header().Set("Connection", "close") // an idle keep-alive per refused CPE costs memory for nothing
	http.Error(w, "too many CWMP sessions, retry later", http.StatusServiceUnavailable)
}

// authenticate runs the Verifier on a request that starts a session; on failure it answers 401
// with a challenge (stale=true for an expired Digest nonce, so the CPE retries silently).
// A replayed Digest response gets stale=true too (an honest client retries with the new nonce)
// but counts as a failure.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (auth.Grant, bool) {
	if s.cfg.Auth == nil {
		return auth.Grant{}, true
	}
	g, err := s.cfg.Auth.Authenticate(r)
	if err == nil {
		return g, true
	}
	// A request without credentials is the normal first leg of Digest (and of most Basic
	// clients): challenge quietly. Wrong, malformed or replayed credentials are worth a warning.
	if errors.Is(err, auth.ErrNoCredentials) || errors.Is(err, auth.ErrStaleNonce) {
		s.log.Debug("authentication challenge", zap.String("remote", r.RemoteAddr), zap.Error(err))
	} else {
		s.authFailed(r, "", auth.ClaimedUser(r), http.StatusUnauthorized, err)
	}
	s.cfg.Auth.Challenge(w, errors.Is(err, auth.ErrStaleNonce) || errors.Is(err, auth.ErrReplayed))
	http.Error(w, "authentication required", http.StatusUnauthorized)
	return auth.Grant{}, false
}

// envBody is the decoded message of env, nil when nothing was decoded.
func envBody(env *soap.Envelope) soap.Message {
	if env == nil {
		return nil
	}
	return env.Body
}

// decodeFailed answers an undecodable envelope with fault 8003 (checklist 6), echoing cwmp:ID
// and namespace when the codec could read the header. Inside a session the session ends on a
// protocol error (session_fault): the ACS cannot know what the CPE meant. When a request was
// outstanding the envelope was the CPE's answer to it, however broken: the task fails with
// ErrMismatch and the CPE gets 204, not a fault it may not survive (issue 7).
func (s *Server) decodeFailed(w http.ResponseWriter, r *http.Request, ss *session, env *soap.Envelope, err error) {
	f := soap.NewACSFault(soap.FaultInvalidArguments, err.Error())
	var de *soap.DecodeError
	if errors.As(err, &de) {
		f = de.ACSFault()
	}
	ns, id, hasID := soap.NSCWMP10, "", false
	if ss != nil {
		ns = ss.pub.NS
	}
	if env != nil {
		if env.NS != "" {
			ns = env.NS
		}
		id, hasID = env.ID, env.HasID
	}
	if ss == nil {
		l := s.log.With(zap.String("remote", r.RemoteAddr))
		l.Warn("undecodable envelope", zap.Error(err))
		s.writeFault(w, l, ns, id, hasID, f)
		return
	}
	ss.log.Warn("undecodable envelope", zap.String("remote", r.RemoteAddr), zap.Error(err))
	if !ss.acquire(r.Context()) {
		s.writeFault(w, ss.log, ns, id, hasID, f)
		return
	}
	defer ss.release()
	if s.isEnded(ss) {
		s.writeFault(w, ss.log, ns, id, hasID, f)
		return
	}
	if t := ss.outstanding; t != nil {
		method := ss.outMethod
		s.taskDone(ss, t, nil, mismatch("undecodable answer to %s: %v", method, err))
		w.WriteHeader(http.StatusNoContent)
		ss.fault = fmt.Sprintf("undecodable answer to %s: %v", method, err)
	} else {
		s.writeFault(w, ss.log, ns, id, hasID, f)
		ss.fault = "undecodable message: " + err.Error()
	}
	s.end(ss, EndError)
}

// noSession answers a POST that belongs to no session: an empty POST gets 204 and leaves no
// state (checklist 8); anything else is told that sessions start with an Inform.
func (s *Server) noSession(w http.ResponseWriter, r *http.Request, env *soap.Envelope) {
	if env.Body == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	l := s.log.With(zap.String("remote", r.RemoteAddr))
	l.Info("message outside a session", zap.String("method", env.Body.MethodName()))
	s.writeFault(w, l, nsOr(env.NS), env.ID, env.HasID, soap.NewACSFault(soap.FaultInvalidArguments,
		"no CWMP session: a session starts with an Inform (TR-069 3.7.1)"))
}

// startSession runs the Inform exchange: version negotiation, overload check, superseding an
// open session of the same device, Handler.Inform, InformResponse with the session cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, env *soap.Envelope, inf *soap.Inform, grant auth.Grant) {
	ns := nsOr(env.NS)
	version, useVersion := versionForNS(ns), ""
	if env.SupportedCWMPVersions != "" { // checklist 23
		v, ok := negotiateVersion(env.SupportedCWMPVersions)
		if !ok {
			s.log.Warn("no common CWMP version", zap.String("remote", r.RemoteAddr),
				zap.String("supported", env.SupportedCWMPVersions))
			s.writeFault(w, s.log.With(zap.String("device", DeviceIDFor(inf.DeviceID)), zap.String("remote", r.RemoteAddr)),
				ns, env.ID, env.HasID, soap.NewACSFault(soap.FaultACSVersionIncompatible,
					"ACS supports CWMP 1.0 to 1.4, CPE offered "+env.SupportedCWMPVersions))
			return
		}
		version, useVersion = v, v
	}

	if reason := checkIdentity(inf.DeviceID); reason != "" { // never a store key or a topic
		s.log.Warn("inform with an unusable DeviceId", zap.String("remote", r.RemoteAddr), zap.String("reason", reason),
			zap.String("serial_prefix", truncate(inf.DeviceID.SerialNumber, 64)))
		s.writeFault(w, s.log.With(zap.String("remote", r.RemoteAddr)), ns, env.ID, env.HasID, soap.NewACSFault(soap.FaultInvalidArguments, reason))
		return
	}
	deviceID := DeviceIDFor(inf.DeviceID)
	// Before anything of the device is touched: credentials of another device must not supersede
	// its session nor reach its queue.
	if !s.admit(w, r, grant, inf.DeviceID, deviceID) {
		return
	}
	user := grant.User
	now := time.Now()
	ss := &session{
		pub: Session{
			ID:          rand.Text(),
			DeviceID:    deviceID,
			Device:      inf.DeviceID,
			NS:          ns,
			CWMPVersion: version,
			Username:    user,
			Started:     now,
			Events:      inf.Events,
		},
		turn:     make(chan struct{}, 1),
		lastSeen: now,
		idle:     idleFor(env.SessionTimeout, &s.cfg),
		deadline: now.Add(s.cfg.MaxSessionDuration),
		inflight: 1,
	}
	ss.pub.RemoteAddr = s.clientAddr(r)
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		ss.pub.ClientCert = r.TLS.PeerCertificates[0]
	}
	ss.ctx, ss.cancel = context.WithCancel(s.baseCtx)
	ss.log = s.log.WithLazy(zap.String("device", ss.pub.DeviceID), zap.String("session", ss.pub.ID))
	ss.turn <- struct{}{}
	defer ss.release()

	cs, _ := r.Context().Value(connKey{}).(*connState)
	s.mu.Lock()
	old := s.byDevice[ss.pub.DeviceID]
	if s.closing || (old == nil && len(s.byID) >= s.cfg.MaxConcurrentSessions) {
		s.mu.Unlock()
		ss.cancel()
		s.overloaded(w, r, ss.pub.DeviceID)
		return
	}
	if old != nil {
		s.detachLocked(old)
	}
	s.byID[ss.pub.ID] = ss
	s.byDevice[ss.pub.DeviceID] = ss
	ss.conn = cs
	if cs != nil {
		cs.sess = ss
	}
	s.mu.Unlock()
	defer s.touch(ss)
	s.stats.started.Add(1)

	if old != nil {
		// Synchronous: the old session's task must be back in the handler's queue before this
		// session asks for its next task (checklist 14).
		ss.log.Info("superseding open session", zap.String("old_session", old.pub.ID))
		s.finish(old, EndSuperseded, false)
	}
	if ce := ss.log.Check(zap.InfoLevel, "session started"); ce != nil {
		ce.Write(zap.String("remote", r.RemoteAddr), zap.String("cwmp_version", version),
			zap.Int("events", len(inf.Events)), zap.String("user", user))
	}

	if err := s.h.Inform(ss.ctx, &ss.pub, inf); err != nil {
		if be := (*BusyError)(nil); errors.As(err, &be) {
			ss.log.Debug("inform refused for now", zap.String("reason", be.Reason), zap.Duration("retry_after", be.RetryAfter)) // the handler logs why
			s.busy(w, be)
			s.end(ss, EndRefused)
			return
		}
		var f *soap.Fault
		if !errors.As(err, &f) {
			f = soap.NewACSFault(soap.FaultInternalError, "ACS internal error")
		}
		s.stats.informsRefused.Add(1)
		ss.log.Warn("inform rejected by handler", zap.Error(err))
		s.writeFault(w, ss.log, ns, env.ID, env.HasID, f) // a handler's *soap.Fault goes out as is
		s.end(ss, EndError)
		return
	}
	if s.isEnded(ss) { // superseded by a newer Inform meanwhile
		s.writeFault(w, ss.log, ns, env.ID, env.HasID, soap.NewACSFault(soap.FaultRetryRequest, "session superseded by a newer Inform"))
		return
	}
	w.Header().Set("Set-Cookie", setCookieValue(ss.pub.ID, r.TLS != nil))
	s.writeEnvelope(w, &soap.Envelope{
		NS: ns, ID: env.ID, HasID: env.HasID, UseCWMPVersion: useVersion,
		Body: informResponse, // MaxEnvelopes=1 always (checklist 31)
	})
}

var informResponse = &soap.InformResponse{MaxEnvelopes: 1}

// step runs one message of an open session; the caller holds the session's turn. While a task is
// outstanding, what is not a CPE request is its answer (tolerance.go): never a fault then.
func (s *Server) step(w http.ResponseWriter, ss *session, env *soap.Envelope) {
	if s.tolerantAnswer(w, ss, env) {
		return
	}
	switch m := env.Body.(type) {
	case nil: // empty POST: the CPE yields the turn
		if t := ss.outstanding; t != nil {
			s.taskDone(ss, t, nil, mismatch("empty POST instead of %sResponse", ss.outMethod))
		}
		s.nextTask(w, ss)
	case *soap.Fault:
		s.taskAnswer(w, ss, env, nil, m)
	case *soap.Unknown: // checklist 43: a well-formed 8000, the session goes on
		ss.log.Info("unknown CPE method", zap.String("method", m.Name), zap.String("ns", m.NS))
		if ss.outstanding != nil {
			s.notTheAnswer(w, ss, "unknown "+m.Name)
			return
		}
		s.writeFault(w, ss.log, ss.pub.NS, env.ID, env.HasID, soap.NewACSFault(soap.FaultMethodNotSupported, "method not supported: "+m.Name))
	default:
		switch {
		case soap.IsCPERequest(m):
			s.cpeRequest(w, ss, env, m)
		case strings.HasSuffix(m.MethodName(), "Response"):
			s.taskAnswer(w, ss, env, m, nil)
		case ss.outstanding != nil: // an ACS→CPE method where the answer was due
			s.notTheAnswer(w, ss, m.MethodName())
		default: // an ACS→CPE method sent by the CPE
			s.writeFault(w, ss.log, ss.pub.NS, env.ID, env.HasID, soap.NewACSFault(soap.FaultMethodNotSupported,
				"method not supported by the ACS: "+m.MethodName()))
		}
	}
}

// cpeRequest answers a CPE-initiated request through Handler.CPERequest.
func (s *Server) cpeRequest(w http.ResponseWriter, ss *session, env *soap.Envelope, m soap.Message) {
	if t := ss.outstanding; t != nil {
		// Checklist 42: CPE requests are valid only while the CPE holds the turn. The task got
		// no answer; the request gets a fault and is not acknowledged, so the CPE repeats it
		// (a TransferComplete is retried until a TransferCompleteResponse arrives).
		s.taskDone(ss, t, nil, mismatch("CPE sent %s instead of %sResponse", m.MethodName(), ss.outMethod))
		s.writeFault(w, ss.log, ss.pub.NS, env.ID, env.HasID, soap.NewACSFault(soap.FaultInvalidArguments,
			m.MethodName()+" is valid only while the CPE holds the turn"))
		return
	}
	if ss.rpcs >= s.cfg.MaxRPCsPerSession {
		s.writeFault(w, ss.log, ss.pub.NS, env.ID, env.HasID, soap.NewACSFault(soap.FaultResourcesExceeded, "too many messages in one session"))
		s.end(ss, EndLimit)
		return
	}
	ss.rpcs++
	resp, err := s.h.CPERequest(ss.ctx, &ss.pub, m)
	if s.isEnded(ss) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var f *soap.Fault
	switch {
	case errors.As(err, &f):
	case err != nil:
		ss.log.Warn("CPE request failed in handler", zap.String("method", m.MethodName()), zap.Error(err))
		f = soap.NewACSFault(soap.FaultInternalError, "ACS internal error")
	case resp == nil: // the handler does not know the method (Handler contract)
		f = soap.NewACSFault(soap.FaultMethodNotSupported, "method not supported: "+m.MethodName())
	}
	if f != nil {
		s.writeFault(w, ss.log, ss.pub.NS, env.ID, env.HasID, f)
		return
	}
	s.writeEnvelope(w, &soap.Envelope{NS: ss.pub.NS, ID: env.ID, HasID: env.HasID, Body: resp}) // ID echoed (25)
}

// taskAnswer matches a CPE response or fault with the outstanding task by cwmp:ID and method
// (checklist 25, 46), reports it, and sends the next task.
func (s *Server) taskAnswer(w http.ResponseWriter, ss *session, env *soap.Envelope, resp soap.Message, fault *soap.Fault) {
	t := ss.outstanding
	if t == nil {
		name := "Fault"
		if resp != nil {
			name = resp.MethodName()
		}
		s.stats.mismatches.Add(1)
		ss.log.Warn("answer without an outstanding request", zap.String("method", name), zap.String("cwmp_id", env.ID))
		s.nextTask(w, ss)
		return
	}
	var err error
	switch {
	case env.HasID && env.ID != ss.outID: // a CPE without any cwmp:ID header is tolerated (24)
		err = mismatch("answer carries cwmp:ID %q, %s was sent with %q", env.ID, ss.outMethod, ss.outID)
	case fault != nil:
		err = fault
	case resp.MethodName() != ss.outMethod+"Response":
		err = mismatch("got %s, expected %sResponse", resp.MethodName(), ss.outMethod)
	}
	if err != nil {
		resp = nil
	}
	s.taskDone(ss, t, resp, err)
	if s.isEnded(ss) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.nextTask(w, ss)
}

// taskDone reports the end of the outstanding task t.
func (s *Server) taskDone(ss *session, t *Task, resp soap.Message, err error) {
	ss.outstanding = nil
	var f *soap.Fault
	switch {
	case errors.Is(err, ErrMismatch):
		s.stats.mismatches.Add(1)
		ss.log.Warn("answer does not match the request", zap.String("method", ss.outMethod), zap.Error(err))
	case errors.As(err, &f):
		s.stats.cpeFaults.Add(1)
		ss.log.Info("CPE fault", zap.String("method", ss.outMethod), zap.Int("fault_code", f.Code), zap.String("fault_string", f.String))
	}
	s.h.TaskDone(ss.ctx, &ss.pub, t, resp, err)
}

// nextTask sends the handler's next task, or ends the session with 204 when there is none
// (checklist 7).
func (s *Server) nextTask(w http.ResponseWriter, ss *session) {
	for {
		if ss.rpcs >= s.cfg.MaxRPCsPerSession {
			ss.log.Warn("RPC limit reached", zap.Int("limit", s.cfg.MaxRPCsPerSession))
			w.WriteHeader(http.StatusNoContent)
			s.end(ss, EndLimit)
			return
		}
		t, err := s.h.NextTask(ss.ctx, &ss.pub)
		if s.isEnded(ss) {
			ss.outstanding = t // finish hands it back through SessionEnded
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err != nil {
			ss.log.Warn("next task failed", zap.Error(err))
			w.WriteHeader(http.StatusNoContent)
			s.end(ss, EndError)
			return
		}
		if t == nil {
			w.WriteHeader(http.StatusNoContent)
			s.end(ss, EndDone)
			return
		}
		ss.rpcs++ // counted even when invalid, so a handler returning bad tasks cannot loop forever
		if !isACSRequest(t.Request) {
			s.invalidTask(ss, t, errors.New("not an ACS→CPE request"))
			continue
		}
		id := "acs-" + strconv.FormatUint(s.taskSeq.Add(1), 10) // fresh cwmp:ID per RPC (25)
		bp := encPool.Get().(*[]byte)
		b, err := soap.AppendEncodeWith((*bp)[:0], &soap.Envelope{NS: ss.pub.NS, ID: id, HasID: true, Body: t.Request}, ss.pub.Encoding)
		if err != nil {
			putEnc(bp, b)
			s.invalidTask(ss, t, err)
			continue
		}
		ss.outstanding, ss.outID, ss.outMethod = t, id, t.Request.MethodName()
		ss.log.Debug("task sent", zap.String("method", ss.outMethod), zap.String("cwmp_id", id))
		writeXML(w, b)
		putEnc(bp, b)
		return
	}
}

// isACSRequest reports whether m may be sent to a CPE as a task. GetRPCMethods goes both ways.
func isACSRequest(m soap.Message) bool {
	switch m.(type) {
	case nil, *soap.Fault, *soap.Unknown:
		return false
	case *soap.GetRPCMethods:
		return true
	}
	return !soap.IsCPERequest(m) && !strings.HasSuffix(m.MethodName(), "Response")
}

// invalidTask fails a task the ACS cannot send, and the session goes on with the next one.
func (s *Server) invalidTask(ss *session, t *Task, cause error) {
	err := fmt.Errorf("%w: %w", ErrInvalidTask, cause)
	ss.log.Error("handler returned a task that cannot be sent", zap.Error(err))
	s.h.TaskDone(ss.ctx, &ss.pub, t, nil, err)
}

// ---------------------------------------------------------------- response writing

const maxPooledEnc = 256 << 10

var encPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func putEnc(bp *[]byte, b []byte) {
	if cap(b) <= maxPooledEnc {
		*bp = b[:0]
		encPool.Put(bp)
	}
}

// writeEnvelope encodes env into a pooled buffer and writes it as the 200 response.
func (s *Server) writeEnvelope(w http.ResponseWriter, env *soap.Envelope) {
	bp := encPool.Get().(*[]byte)
	b, err := soap.AppendEncode((*bp)[:0], env)
	if err != nil {
		putEnc(bp, b)
		s.log.Error("cannot encode response", zap.String("method", env.Body.MethodName()), zap.Error(err))
		http.Error(w, "ACS internal error", http.StatusInternalServerError)
		return
	}
	writeXML(w, b)
	putEnc(bp, b)
}

func writeXML(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h["Content-Type"] = hdrXML
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// writeFault sends an ACS fault (checklist 44) with HTTP 200, like GenieACS: CPE stacks treat a
// 500 as a transport failure and drop the session, where the fault is meant to be read. Every
// fault is logged on l (the session's logger, or one naming the device or the remote address)
// with its code and text, which says why.
func (s *Server) writeFault(w http.ResponseWriter, l *zap.Logger, ns, id string, hasID bool, f *soap.Fault) {
	s.stats.faults.Add(1)
	l.Warn("fault sent to the CPE", zap.Int("fault_code", f.Code), zap.String("why", f.String))
	s.writeEnvelope(w, &soap.Envelope{NS: ns, ID: id, HasID: hasID, Body: f})
}

func nsOr(ns string) string {
	if ns == "" {
		return soap.NSCWMP10
	}
	return ns
}
