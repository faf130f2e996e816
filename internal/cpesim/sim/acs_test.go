package sim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// scriptedACS is a minimal ACS for tests: it answers Informs and CPE requests, sends the queued
// RPCs one by one when the CPE yields the turn, records everything, and ends with 204.
type scriptedACS struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	script     []soap.Message // RPCs to send, in order, across sessions
	informs    []*soap.Inform
	cpeReqs    []soap.Message
	responses  []soap.Message // CPE answers to script entries, in order
	rawAnswers []string       // the bytes of those answers
	namespaces []string
	sent       string // cwmp:ID of the outstanding request
	badIDs     int    // responses whose ID did not match (checklist 25)
	noCookie   int    // posts after the Inform without the session cookie (checklist 11)
	sessions   int
	busy       int  // answer the next N Informs with 503 + Retry-After: 1
	emptyOK    bool // end sessions with an empty 200 instead of 204 (checklist 7)
	verifier   *auth.Verifier
}

func newScriptedACS(t *testing.T) *scriptedACS {
	a := &scriptedACS{t: t}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *scriptedACS) URL() string { return a.srv.URL + "/acs" }

func (a *scriptedACS) enqueue(msgs ...soap.Message) {
	a.mu.Lock()
	a.script = append(a.script, msgs...)
	a.mu.Unlock()
}

func (a *scriptedACS) reply(w http.ResponseWriter, env *soap.Envelope) {
	body, err := soap.Encode(env)
	if err != nil {
		a.t.Errorf("acs encode %s: %v", env.Body.MethodName(), err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(body)
}

func (a *scriptedACS) serve(w http.ResponseWriter, r *http.Request) {
	if a.verifier != nil {
		if _, err := a.verifier.Check(r); err != nil {
			a.verifier.Challenge(w, false)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	data, _ := io.ReadAll(r.Body)
	env, err := soap.Decode(data, r.Header.Get("Content-Type"))
	if err != nil {
		a.t.Errorf("acs decode: %v\n%s", err, data)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if inf, ok := env.Body.(*soap.Inform); ok {
		if a.busy > 0 {
			a.busy--
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		a.sessions++
		a.informs = append(a.informs, inf)
		a.namespaces = append(a.namespaces, env.NS)
		http.SetCookie(w, &http.Cookie{Name: "session", Value: strconv.Itoa(a.sessions), Path: "/"})
		a.reply(w, &soap.Envelope{NS: env.NS, ID: env.ID, HasID: env.HasID, Body: &soap.InformResponse{MaxEnvelopes: 1}})
		return
	}
	if c, err := r.Cookie("session"); err != nil || c.Value != strconv.Itoa(a.sessions) {
		a.noCookie++
	}
	switch m := env.Body.(type) {
	case *soap.TransferComplete:
		a.cpeReqs = append(a.cpeReqs, m)
		a.reply(w, &soap.Envelope{NS: env.NS, ID: env.ID, HasID: env.HasID, Body: &soap.TransferCompleteResponse{}})
		return
	case *soap.DUStateChangeComplete:
		a.cpeReqs = append(a.cpeReqs, m)
		a.reply(w, &soap.Envelope{NS: env.NS, ID: env.ID, HasID: env.HasID, Body: &soap.DUStateChangeCompleteResponse{}})
		return
	case nil:
	default:
		a.responses = append(a.responses, m)
		a.rawAnswers = append(a.rawAnswers, string(data))
		if env.ID != a.sent {
			a.badIDs++
		}
	}
	if len(a.script) == 0 {
		if a.emptyOK {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	next := a.script[0]
	a.script = a.script[1:]
	a.sent = "acs-" + strconv.Itoa(len(a.responses))
	a.reply(w, &soap.Envelope{NS: a.namespaces[len(a.namespaces)-1], ID: a.sent, HasID: true, Body: next})
}

func (a *scriptedACS) lastInform() *soap.Inform {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.informs[len(a.informs)-1]
}

func (a *scriptedACS) allResponses() []soap.Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]soap.Message(nil), a.responses...)
}

func (a *scriptedACS) rawResponses() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.rawAnswers...)
}

func (a *scriptedACS) cpeRequests() []soap.Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]soap.Message(nil), a.cpeReqs...)
}

// testCPE is a running CPE against acs with a recorder.
type testCPE struct {
	*CPE
	rec *Recorder
	ctx context.Context
}

// startCPE runs a CPE and waits for its successful power-on session.
func startCPE(t *testing.T, acs *scriptedACS, load func() (*datamodel.Model, error), mod func(*Config)) *testCPE {
	t.Helper()
	tc := launchCPE(t, acs, load, mod)
	tc.waitSession(t, Mark{}, nil)
	return tc
}

// launchCPE runs a CPE without waiting.
func launchCPE(t *testing.T, acs *scriptedACS, load func() (*datamodel.Model, error), mod func(*Config)) *testCPE {
	t.Helper()
	m, err := load()
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder()
	cfg := Config{ACSURL: acs.URL(), Model: m, Serial: "TEST0001", Hooks: rec.Hooks(), PeriodicInterval: time.Hour}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewCPE(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { defer close(done); c.Run(ctx) }()
	return &testCPE{CPE: c, rec: rec, ctx: ctx}
}

// waitSession waits for the next session after mark that matches, failing the test on timeout
// or on a failed session.
func (tc *testCPE) waitSession(t *testing.T, mark Mark, match func(SessionResult) bool) SessionResult {
	t.Helper()
	s, err := tc.rec.WaitSession(tc.ctx, mark, func(s SessionResult) bool {
		return s.Err != nil || match == nil || match(s)
	})
	if err != nil {
		t.Fatalf("no matching session: %v (sessions: %+v)", err, tc.rec.Sessions())
	}
	if s.Err != nil {
		t.Fatalf("session failed: %v", s.Err)
	}
	return s
}

// run queues msgs, wakes the CPE and returns the responses it sent to them.
func (tc *testCPE) run(t *testing.T, acs *scriptedACS, msgs ...soap.Message) []soap.Message {
	t.Helper()
	before := len(acs.allResponses())
	mark := tc.rec.Mark()
	acs.enqueue(msgs...)
	tc.Inform(EventConnectionRequest, "")
	tc.waitSession(t, mark, func(s SessionResult) bool { return len(s.RPCs) == len(msgs) })
	got := acs.allResponses()[before:]
	if len(got) != len(msgs) {
		t.Fatalf("%d responses to %d requests", len(got), len(msgs))
	}
	return got
}
