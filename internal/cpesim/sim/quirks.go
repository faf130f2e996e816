package sim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Quirk is a way real CPE firmware departs from TR-069, reproduced on demand so the gateway can
// be tested against it. Each one is modelled on a device met in the field (issue 7).
type Quirk string

const (
	// QuirkPeriodicOnly never sends 0 BOOTSTRAP or 1 BOOT (power-on, reboot, factory reset):
	// those become 2 PERIODIC, so the first Inform the ACS sees is a periodic one, as from a CPE
	// of an existing site re-pointed at a new ACS.
	QuirkPeriodicOnly Quirk = "periodic-only"
	// QuirkCrashOnUnknownName: a GPV/SPV/GPA/SPA/GPN naming a parameter the device lacks makes it
	// crash. It drops the connection without answering, stays silent (no session, connection
	// requests dropped) for Config.CrashSilence, then comes back with 1 BOOT.
	QuirkCrashOnUnknownName Quirk = "crash-on-unknown-name"
	// QuirkShortGPV answers a GetParameterValues of several names with only the last value and
	// no fault.
	QuirkShortGPV Quirk = "short-gpv"
	// QuirkMalformedRebootResponse answers Reboot with <cwmp:Reboot><RebootResponse/></cwmp:Reboot>
	// (the request element wrapping an unqualified response), then reboots as asked.
	QuirkMalformedRebootResponse Quirk = "malformed-reboot-response"
	// QuirkCRNoSession answers an authenticated connection request 200 but opens no session: it
	// only restarts its periodic timer.
	QuirkCRNoSession Quirk = "cr-no-session"
	// QuirkBusyAfterReset answers connection requests 503 (Retry-After: the seconds left) for
	// Config.BusyAfterReset after a Reboot or FactoryReset, and informs when that time is over.
	QuirkBusyAfterReset Quirk = "busy-after-reset"
	// QuirkUndeclaredFaultPrefix sends its faults as <soap:Fault> with the prefix "soap" never
	// declared (the envelope uses soap-env), carrying its own FaultCode and FaultString.
	QuirkUndeclaredFaultPrefix Quirk = "undeclared-fault-prefix"
	// QuirkIgnoreNextLevel answers GetParameterNames as if NextLevel were false: always the
	// whole subtree.
	QuirkIgnoreNextLevel Quirk = "ignore-nextlevel"
)

// AllQuirks lists every quirk, in the order of the documentation.
var AllQuirks = []Quirk{QuirkPeriodicOnly, QuirkCrashOnUnknownName, QuirkShortGPV, QuirkMalformedRebootResponse,
	QuirkCRNoSession, QuirkBusyAfterReset, QuirkUndeclaredFaultPrefix, QuirkIgnoreNextLevel}

// Quirks is a set of quirks of one CPE.
type Quirks []Quirk

// Has reports whether q is in the set.
func (qs Quirks) Has(q Quirk) bool { return slices.Contains(qs, q) }

func (qs Quirks) String() string {
	s := make([]string, len(qs))
	for i, q := range qs {
		s[i] = string(q)
	}
	return strings.Join(s, ",")
}

// ParseQuirks reads a comma-separated list of quirk names ("" is none).
func ParseQuirks(s string) (Quirks, error) {
	var out Quirks
	for _, f := range strings.Split(s, ",") {
		q := Quirk(strings.TrimSpace(f))
		switch {
		case q == "":
		case !slices.Contains(AllQuirks, q):
			return nil, fmt.Errorf("unknown quirk %q (known: %s)", q, Quirks(AllQuirks))
		case !out.Has(q):
			out = append(out, q)
		}
	}
	return out, nil
}

func (qs Quirks) validate() error {
	for _, q := range qs {
		if !slices.Contains(AllQuirks, q) {
			return fmt.Errorf("sim: unknown quirk %q", q)
		}
	}
	return nil
}

// Default durations of the quirks' silences: short, so tests do not wait long.
const (
	defaultCrashSilence   = 2 * time.Second
	defaultBusyAfterReset = 3 * time.Second
)

// unknownName returns the first of names the model lacks, for QuirkCrashOnUnknownName: a name
// absent, a parameter named as an object or the reverse, or an object in a SetParameterValues
// (the one method without partial paths).
func (c *CPE) unknownName(req soap.Message, names []string) (string, bool) {
	_, spv := req.(*soap.SetParameterValues)
	switch req.(type) {
	case *soap.GetParameterValues, *soap.SetParameterValues, *soap.GetParameterAttributes,
		*soap.SetParameterAttributes, *soap.GetParameterNames:
	default:
		return "", false
	}
	m := c.Model()
	for _, n := range names {
		p, ok := m.Lookup(n)
		if !ok || p.Object != (n == "" || strings.HasSuffix(n, ".")) || spv && p.Object {
			return n, true
		}
	}
	return "", false
}

// crash is the QuirkCrashOnUnknownName crash: what the session was to leave behind is lost, the
// device is silent for CrashSilence, then boots.
func (c *CPE) crash() {
	c.mu.Lock()
	c.afterSession = nil
	c.silentUntil = time.Now().Add(c.cfg.CrashSilence)
	c.mu.Unlock()
	c.addEvent(soap.Event{Code: EventBoot})
	// The device's TCP connections die with it.
	if c.ownTransport != nil {
		c.ownTransport.CloseIdleConnections()
	}
}

// hold is how long the CPE must stay away from the ACS now: silent after a crash, or busy
// rebooting (QuirkBusyAfterReset).
func (c *CPE) hold() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(time.Until(c.silentUntil), time.Until(c.busyUntil), 0)
}

// silent reports whether the CPE is down after a crash.
func (c *CPE) silent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Before(c.silentUntil)
}

// BusyFor is what is left of the busy time after a reset (0: not busy): while it lasts the CPE
// answers connection requests 503 (QuirkBusyAfterReset).
func (c *CPE) BusyFor() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(time.Until(c.busyUntil), 0)
}

// startBusy begins the QuirkBusyAfterReset window (at the end of the session that reset).
func (c *CPE) startBusy() {
	if !c.has(QuirkBusyAfterReset) {
		return
	}
	c.mu.Lock()
	c.busyUntil = time.Now().Add(c.cfg.BusyAfterReset)
	c.mu.Unlock()
}

// quirkAnswer reshapes resp for the CPE's quirks; quirk names the one applied ("" none).
func (c *CPE) quirkAnswer(req, resp soap.Message) (out soap.Message, quirk Quirk) {
	qs := *c.quirks.Load()
	switch r := resp.(type) {
	case *soap.GetParameterValuesResponse:
		if g, ok := req.(*soap.GetParameterValues); ok && qs.Has(QuirkShortGPV) && len(g.ParameterNames) > 1 && len(r.ParameterList) > 1 {
			return &soap.GetParameterValuesResponse{ParameterList: r.ParameterList[len(r.ParameterList)-1:]}, QuirkShortGPV
		}
	case *soap.RebootResponse:
		if qs.Has(QuirkMalformedRebootResponse) {
			return &rawBody{method: "RebootResponse", xml: "<cwmp:Reboot><RebootResponse/></cwmp:Reboot>"}, QuirkMalformedRebootResponse
		}
	case *soap.Fault:
		if qs.Has(QuirkUndeclaredFaultPrefix) {
			return &rawBody{method: "Fault", xml: undeclaredFault(r), fault: r}, QuirkUndeclaredFaultPrefix
		}
	}
	return resp, ""
}

// undeclaredFault writes f as a cheap CPE client does: <soap:Fault> with "soap" never declared.
func undeclaredFault(f *soap.Fault) string {
	var b strings.Builder
	b.WriteString("<soap:Fault><faultcode>")
	b.WriteString(soap.DefaultSOAPCode(f.Code))
	b.WriteString("</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault><FaultCode>")
	b.WriteString(strconv.Itoa(f.Code))
	b.WriteString("</FaultCode><FaultString>")
	b.WriteString(escapeText(f.String))
	b.WriteString("</FaultString>")
	for _, p := range f.SetParameterValuesFaults {
		fmt.Fprintf(&b, "<SetParameterValuesFault><ParameterName>%s</ParameterName><FaultCode>%d</FaultCode><FaultString>%s</FaultString></SetParameterValuesFault>",
			escapeText(p.ParameterName), p.FaultCode, escapeText(p.FaultString))
	}
	b.WriteString("</cwmp:Fault></detail></soap:Fault>")
	return b.String()
}

func escapeText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a bytes.Buffer never fail
	return b.String()
}

// rawBody is a Body the soap encoder cannot write because it is not valid CWMP: the exact XML a
// quirk answers with, put in an envelope by post.
type rawBody struct {
	method string
	xml    string
	fault  *soap.Fault // the fault it carries, for the RPC hook
}

func (r *rawBody) MethodName() string { return r.method }

// encodeRaw writes the envelope of a rawBody with the CPE's namespace and cwmp:ID.
func encodeRaw(ns, id string, r *rawBody) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soap-env:Envelope xmlns:soap-env="` + soap.NSSOAPEnv + `" xmlns:cwmp="` + ns + `">` +
		`<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">` + escapeText(id) + `</cwmp:ID></soap-env:Header>` +
		`<soap-env:Body>` + r.xml + `</soap-env:Body></soap-env:Envelope>`)
}
