package admin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const namespace = "cwmp2mqtt"

// Metrics counts what happens once (Informs, request results, connection requests, translator
// calls) and keeps the recent events of the status page. It is the bridge's Observer; the
// gateway also reports connection requests and translator calls to it. The counters kept
// elsewhere (ACS, MQTT client, outbox, registry) are read at scrape time by the Server.
type Metrics struct {
	reg        *prometheus.Registry
	informs    *prometheus.CounterVec
	requests   *prometheus.CounterVec
	requestDur *prometheus.HistogramVec
	connreqs   *prometheus.CounterVec
	trDur      *prometheus.HistogramVec
	trErrors   *prometheus.CounterVec
	methods    map[string]bool
	events     *ring
}

var _ bridge.Observer = (*Metrics)(nil)

// NewMetrics builds the registry with the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		informs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "cwmp", Name: "informs_total",
			Help: "Informs accepted, by event code (one Inform with several events counts once per event)."}, []string{"event"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "rpc", Name: "requests_total",
			Help: "Platform requests (rpc, set, get) by method and terminal status."}, []string{"method", "status"}),
		requestDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "rpc", Name: "request_duration_seconds",
			Help:    "Time from a request's acceptance to its terminal result, by method (requests rejected before queueing are not observed).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900}}, []string{"method"}),
		connreqs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "cwmp", Name: "connection_requests_total",
			Help: "Connection requests sent to CPEs, by outcome."}, []string{"outcome"}),
		trDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "translator", Name: "call_duration_seconds",
			Help:    "Translator calls by translator and call, with their latency (_count is the number of calls).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 5}}, []string{"translator", "call"}),
		trErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "translator", Name: "errors_total",
			Help: "Translator calls that failed, by translator and call."}, []string{"translator", "call"}),
		methods: map[string]bool{"set": true, "get": true},
		events:  newRing(200),
	}
	for _, name := range api.MethodNames() {
		m.methods[name] = true
	}
	m.reg.MustRegister(m.informs, m.requests, m.requestDur, m.connreqs, m.trDur, m.trErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Inform implements bridge.Observer.
func (m *Metrics) Inform(device string, events []string) {
	boot := false
	for _, code := range events {
		m.informs.WithLabelValues(eventLabel(code)).Inc()
		k := soap.Event{Code: code}.Kind()
		boot = boot || k == soap.EventBootstrap || k == soap.EventBoot
	}
	if boot { // boots are worth a line on the page; periodic Informs are not
		m.events.add(Event{Time: time.Now(), Kind: "inform", Device: device, Detail: strings.Join(events, ", ")})
	}
}

// RequestDone implements bridge.Observer.
func (m *Metrics) RequestDone(device, method, status string, took time.Duration) {
	if !m.methods[method] { // a rejected request may name anything: keep the label set bounded
		method = "other"
	}
	m.requests.WithLabelValues(method, status).Inc()
	if took > 0 {
		m.requestDur.WithLabelValues(method).Observe(took.Seconds())
	}
	if status != "done" {
		m.events.add(Event{Time: time.Now(), Kind: "request " + status, Device: device, Detail: method})
	}
}

// Event implements bridge.Observer.
func (m *Metrics) Event(e api.BridgeEvent) {
	detail := e.Reason
	if e.Plugin != "" {
		detail = strings.TrimSpace(e.Plugin + " " + detail)
	}
	switch {
	case e.User != "": // auth_failed: who tried
		detail = fmt.Sprintf("user %q from %s: %s", e.User, e.Remote, detail)
	case e.Remote != "":
		detail = "from " + e.Remote + ": " + detail
	}
	m.events.add(Event{Time: e.Time, Kind: string(e.Event), Device: e.Device, Detail: detail})
}

// ConnReq counts one connection request by the outcome its error names.
func (m *Metrics) ConnReq(device string, err error) {
	outcome := connReqOutcome(err)
	m.connreqs.WithLabelValues(outcome).Inc()
	if err != nil {
		m.events.add(Event{Time: time.Now(), Kind: "connection request " + outcome, Device: device, Detail: err.Error()})
	}
}

// TranslatorCall counts one translator call (Normalize, ResolveGet, DenormalizeSet, Provision).
func (m *Metrics) TranslatorCall(translator, call string, took time.Duration, err error) {
	if translator == "" {
		translator = "none"
	}
	m.trDur.WithLabelValues(translator, call).Observe(took.Seconds())
	if err != nil {
		m.trErrors.WithLabelValues(translator, call).Inc()
	}
}

// Events returns the recent events, newest first.
func (m *Metrics) Events() []Event { return m.events.list() }

func connReqOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, connreq.ErrAuth):
		return "auth_failed"
	case errors.Is(err, connreq.ErrBusy):
		return "busy"
	case errors.Is(err, connreq.ErrUnreachable):
		return "unreachable"
	case errors.Is(err, connreq.ErrBadTarget):
		return "bad_target"
	case errors.Is(err, connreq.ErrUnexpectedStatus):
		return "unexpected_status"
	default: // cancelled at shutdown, and anything new
		return "error"
	}
}

// standardEvents are the EventCodes of TR-069 Amendment 6 §3.7.1.5 (Table 7); every other code
// is counted as "X vendor" (vendor extensions, "X <OUI> …" and "M X_…") or "other" (invalid),
// so a CPE cannot grow the label set.
var standardEvents = map[string]bool{
	"0 BOOTSTRAP": true, "1 BOOT": true, "2 PERIODIC": true, "3 SCHEDULED": true, "4 VALUE CHANGE": true,
	"5 KICKED": true, "6 CONNECTION REQUEST": true, "7 TRANSFER COMPLETE": true, "8 DIAGNOSTICS COMPLETE": true,
	"9 REQUEST DOWNLOAD": true, "10 AUTONOMOUS TRANSFER COMPLETE": true, "11 DU STATE CHANGE COMPLETE": true,
	"12 AUTONOMOUS DU STATE CHANGE COMPLETE": true, "13 WAKEUP": true, "14 HEARTBEAT": true,
	"M Reboot": true, "M ScheduleInform": true, "M Download": true, "M ScheduleDownload": true,
	"M Upload": true, "M ChangeDUState": true,
}

func eventLabel(code string) string {
	switch {
	case standardEvents[code]:
		return code
	case strings.HasPrefix(code, "X ") || strings.HasPrefix(code, "M X_"):
		return "X vendor"
	default:
		return "other"
	}
}
