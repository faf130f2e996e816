package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// ErrorKind classifies failed sessions for load reports.
type ErrorKind string

const (
	KindBusy      ErrorKind = "busy-503"    // 503, with or without Retry-After (checklist 9)
	KindHTTP      ErrorKind = "http-status" // any other unexpected HTTP status
	KindAuth      ErrorKind = "auth-401"    // credentials refused
	KindTransport ErrorKind = "transport"   // connect, reset, timeout
	KindProtocol  ErrorKind = "protocol"    // undecodable or unexpected SOAP
	KindACSFault  ErrorKind = "acs-fault"   // the ACS answered a CPE request with a Fault
	KindLimit     ErrorKind = "rpc-limit"   // the ACS sent more requests than a session allows
	KindCrash     ErrorKind = "cpe-crash"   // the CPE crashed on a request (QuirkCrashOnUnknownName)
)

// SessionError is a failed session.
type SessionError struct {
	Kind       ErrorKind
	Status     int           // HTTP status, when one came
	RetryAfter time.Duration // from a 503's Retry-After
	Err        error
}

func (e *SessionError) Error() string { return fmt.Sprintf("session %s: %v", e.Kind, e.Err) }
func (e *SessionError) Unwrap() error { return e.Err }

// maxRPCs bounds ACS requests per session so a looping ACS cannot hold a simulated CPE forever.
const maxRPCs = 1000

// session runs one CWMP session (TR-069 §3.7). Events are consumed only when the ACS accepted
// the Inform; a failed attempt keeps them and counts a retry.
func (c *CPE) session(ctx context.Context) (err error) {
	// Take the waiting events: what arrives during the session waits for the next one.
	c.mu.Lock()
	events, changed, retry := c.events, c.changed, c.retry
	c.events, c.changed = nil, nil
	c.mu.Unlock()
	res := SessionResult{Serial: c.Serial(), Events: events, Retry: retry, Start: time.Now()}
	informed := false
	defer func() {
		c.mu.Lock()
		if !informed { // not delivered: they go again, first, with the next attempt
			c.events = mergeEvents(events, c.events)
			c.changed = append(changed, c.changed...)
		}
		var se *SessionError
		if err != nil && !(errors.As(err, &se) && se.Kind == KindCrash) { // a crashed device starts afresh
			c.retry++
		} else {
			c.retry = 0
		}
		c.mu.Unlock()
		res.Duration, res.Err = time.Since(res.Start), err
		if err != nil {
			c.log.Debug("session failed", zap.Error(err), zap.Int("retry", retry))
		}
		// A session cut by shutdown is neither a success nor a failure of the ACS: not reported.
		if h := c.cfg.Hooks.OnSession; h != nil && (err == nil || ctx.Err() == nil) {
			h(res)
		}
	}()

	env, err := c.post(ctx, &soap.Envelope{Body: c.inform(events, changed, retry)})
	if err != nil {
		return err
	}
	if _, ok := env.Body.(*soap.InformResponse); !ok {
		return unexpected(env, "InformResponse")
	}
	informed = true
	c.delivered(events)
	hold := env.HoldRequests

	// CPE requests while we hold the turn (TR-069 §3.7.2.2): transfers and DU changes done.
	for !hold {
		req, done := c.nextCPERequest()
		if req == nil {
			break
		}
		env, err = c.post(ctx, &soap.Envelope{Body: req})
		if err != nil {
			return err
		}
		if env.Body == nil || env.Body.MethodName() != req.MethodName()+"Response" {
			return unexpected(env, req.MethodName()+"Response")
		}
		done()
		hold = env.HoldRequests
	}

	// Yield the turn; the ACS sends requests until it answers with an empty body.
	env, err = c.post(ctx, nil)
	for n := 0; err == nil && env.Body != nil; n++ {
		if n == maxRPCs {
			return &SessionError{Kind: KindLimit, Err: fmt.Errorf("more than %d ACS requests", maxRPCs)}
		}
		if f, ok := env.Body.(*soap.Fault); ok {
			return &SessionError{Kind: KindACSFault, Err: f}
		}
		res.RPCs = append(res.RPCs, env.Body.MethodName())
		resp, crashed := c.execute(env.Body)
		if crashed {
			return &SessionError{Kind: KindCrash, Err: fmt.Errorf("crashed on %s naming a parameter it lacks", env.Body.MethodName())}
		}
		env, err = c.post(ctx, &soap.Envelope{ID: env.ID, HasID: env.HasID, Body: resp})
	}
	return err
}

// unexpected is the protocol error of a reply that is not the wanted method.
func unexpected(env *soap.Envelope, want string) error {
	if f, ok := env.Body.(*soap.Fault); ok {
		return &SessionError{Kind: KindACSFault, Err: f}
	}
	got := "an empty body"
	if env.Body != nil {
		got = env.Body.MethodName()
	}
	return &SessionError{Kind: KindProtocol, Err: fmt.Errorf("want %s, got %s", want, got)}
}

// post sends one envelope (nil: an empty POST) and decodes the reply; an empty reply (204, or
// 200 with no body, checklist 7) decodes to an Envelope with a nil Body.
func (c *CPE) post(ctx context.Context, env *soap.Envelope) (*soap.Envelope, error) {
	var body []byte
	if env != nil {
		env.NS = c.cfg.NS
		if !env.HasID {
			env.ID, env.HasID = strconv.FormatUint(c.nextID.Add(1), 10), true
		}
		if raw, ok := env.Body.(*rawBody); ok {
			body = encodeRaw(env.NS, env.ID, raw)
		} else {
			var err error
			if body, err = soap.Encode(env); err != nil {
				return nil, &SessionError{Kind: KindProtocol, Err: err}
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.ACSURL, bytes.NewReader(body))
	if err != nil {
		return nil, &SessionError{Kind: KindTransport, Err: err}
	}
	if env != nil {
		req.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
		req.Header.Set("SOAPAction", "")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, &SessionError{Kind: KindTransport, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, &SessionError{Kind: KindTransport, Status: resp.StatusCode, Err: err}
	}
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return &soap.Envelope{}, nil
	case resp.StatusCode == http.StatusServiceUnavailable:
		return nil, &SessionError{Kind: KindBusy, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
			Err: errors.New("ACS busy")}
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, &SessionError{Kind: KindAuth, Status: resp.StatusCode, Err: errors.New("ACS refused the credentials")}
	case resp.StatusCode != http.StatusOK:
		// A SOAP fault may come with 500 (SOAP 1.1 §6.2): decode it for the report.
		if out, derr := soap.Decode(data, resp.Header.Get("Content-Type")); derr == nil && out.Body != nil {
			if f, ok := out.Body.(*soap.Fault); ok {
				return nil, &SessionError{Kind: KindACSFault, Status: resp.StatusCode, Err: f}
			}
		}
		return nil, &SessionError{Kind: KindHTTP, Status: resp.StatusCode, Err: fmt.Errorf("HTTP %s", resp.Status)}
	}
	out, err := soap.Decode(data, resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, &SessionError{Kind: KindProtocol, Status: resp.StatusCode, Err: err}
	}
	return out, nil
}

// retryAfter reads a Retry-After of delta-seconds or an HTTP date; 0 when absent or bad.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// informParameters are the parameters every Inform carries (TR-098 / TR-181 "forced inform"),
// relative to the root; absent ones are skipped.
var informParameters = []string{
	"DeviceSummary",
	"RootDataModelVersion",
	"DeviceInfo.SpecVersion",
	"DeviceInfo.HardwareVersion",
	"DeviceInfo.SoftwareVersion",
	"DeviceInfo.ProvisioningCode",
	"ManagementServer.ParameterKey",
	"ManagementServer.ConnectionRequestURL",
	"WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress",
	"IP.Interface.1.IPv4Address.1.IPAddress",
}

// inform builds the Inform of a session.
func (c *CPE) inform(events []soap.Event, changed []string, retry int) *soap.Inform {
	m := c.Model()
	inf := &soap.Inform{
		DeviceID:     m.DeviceID(),
		Events:       events,
		MaxEnvelopes: 1,
		CurrentTime:  soap.NewDateTime(time.Now()),
		RetryCount:   retry,
	}
	seen := map[string]bool{}
	add := func(name string) {
		if pv, err := m.Get(name); err == nil && !seen[name] {
			seen[name] = true
			inf.ParameterList = append(inf.ParameterList, pv)
		}
	}
	for _, rel := range informParameters {
		add(m.Root() + rel)
	}
	for _, name := range changed {
		add(name)
	}
	return inf
}

// mergeEvents puts undelivered events back before those queued since, without repeating one.
func mergeEvents(first, then []soap.Event) []soap.Event {
	out := append([]soap.Event(nil), first...)
	for _, e := range then {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// delivered records that the ACS received the events (TR-069 §3.7.1.5).
func (c *CPE) delivered(events []soap.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range events {
		if e.Code == EventBootstrap {
			c.bootstrapped = true
		}
	}
}

// nextCPERequest returns the next TransferComplete or DUStateChangeComplete to send and a func
// that forgets it once the ACS acknowledged it (TR-069 §A.3.3.2: sent until acknowledged).
func (c *CPE) nextCPERequest() (soap.Message, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.transfers {
		if t.state == 3 && t.result != nil {
			return t.result, func() {
				c.mu.Lock()
				defer c.mu.Unlock()
				c.transfers = removeItem(c.transfers, t)
			}
		}
	}
	if len(c.duComplete) > 0 {
		d := c.duComplete[0]
		return d, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.duComplete = removeItem(c.duComplete, d)
		}
	}
	return nil, nil
}

func removeItem[T comparable](s []T, v T) []T {
	for i, x := range s {
		if x == v {
			return append(s[:i:i], s[i+1:]...)
		}
	}
	return s
}
