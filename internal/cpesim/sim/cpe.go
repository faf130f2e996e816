package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// AuthMode is how a CPE authenticates toward the ACS.
type AuthMode string

const (
	AuthNone   AuthMode = "none"
	AuthBasic  AuthMode = "basic"  // preemptive Basic, as genieacs-sim (checklist 18)
	AuthDigest AuthMode = "digest" // answers the ACS's Digest challenge (checklist 16)
)

// Event codes a CPE sends (TR-069 §3.7.1.5, checklist 30).
const (
	EventBootstrap         = "0 BOOTSTRAP"
	EventBoot              = "1 BOOT"
	EventPeriodic          = "2 PERIODIC"
	EventScheduled         = "3 SCHEDULED"
	EventValueChange       = "4 VALUE CHANGE"
	EventConnectionRequest = "6 CONNECTION REQUEST"
	EventTransferComplete  = "7 TRANSFER COMPLETE"
	EventDUStateChange     = "11 DU STATE CHANGE COMPLETE"
)

// Config describes one simulated CPE.
type Config struct {
	// ACSURL is where Informs go, e.g. "http://127.0.0.1:7547/".
	ACSURL string
	// Model is the CPE's data model; the CPE owns it (give each CPE its own Clone).
	Model *datamodel.Model
	// Serial, OUI, ProductClass and Manufacturer override the model's DeviceId when set; Serial
	// also goes to DeviceInfo.SerialNumber.
	Serial, OUI, ProductClass, Manufacturer string
	// NS is the CWMP namespace of its messages: soap.NSCWMP10 (default) or soap.NSCWMP12.
	NS string
	// Auth, Username and Password authenticate toward the ACS.
	Auth               AuthMode
	Username, Password string
	// Transport is the base HTTP transport (shared across a fleet); nil means a new one.
	Transport http.RoundTripper
	// Timeout bounds each HTTP exchange (default 30 s).
	Timeout time.Duration
	// PeriodicInterval overrides ManagementServer.PeriodicInformInterval when > 0; Jitter spreads
	// each wait by up to ±Jitter. Periodic informs follow PeriodicInformEnable.
	PeriodicInterval, Jitter time.Duration
	// FetchDownloads makes Download and ScheduleDownload really GET their URL; otherwise the
	// transfer succeeds without network traffic.
	FetchDownloads bool
	// Bootstrapped starts the CPE as already known to the ACS (first session "1 BOOT" only).
	Bootstrapped bool
	// Quirks are the deviations from TR-069 this CPE shows (see Quirk).
	Quirks Quirks
	// CrashSilence is how long a CPE with QuirkCrashOnUnknownName stays down after a crash
	// (default 2 s); BusyAfterReset how long one with QuirkBusyAfterReset answers connection
	// requests 503 after a Reboot or FactoryReset (default 3 s).
	CrashSilence, BusyAfterReset time.Duration
	// Running starts the CPE as up and known for a while: its first session is a periodic one
	// (2 PERIODIC), not a BOOT (load runs against an ACS that registered the fleet earlier).
	Running bool
	Hooks   Hooks
	Logger  *zap.Logger
}

// CPE is one simulated device. Its methods are safe for concurrent use.
type CPE struct {
	cfg    Config
	log    *zap.Logger
	client *http.Client
	faults FaultPlan
	muted  atomic.Bool
	wake   chan struct{} // a session is wanted
	crAuth *auth.Verifier
	nextID atomic.Uint64

	mu            sync.Mutex
	model         *datamodel.Model
	factory       *datamodel.Model // what FactoryReset restores
	events        []soap.Event     // waiting for the next Inform (TR-069 §3.7.1.5: kept until delivered)
	changed       []string         // parameters changed with notification on
	retry         int              // RetryCount of the next Inform
	bootstrapped  bool
	transfers     []*transfer                   // queued, running and finished-but-unreported transfers
	duComplete    []*soap.DUStateChangeComplete // waiting to be sent
	afterSession  []func()                      // effects of RPCs that take place when the session ends
	resetPeriodic bool                          // the periodic schedule changed (SPV, reboot)
	timers        []*time.Timer
	silentUntil   time.Time // down after a crash (QuirkCrashOnUnknownName)
	busyUntil     time.Time // rebooting (QuirkBusyAfterReset)

	quirks          atomic.Pointer[Quirks]
	ownTransport    *http.Transport // closed on a crash; nil when shared
	restartPeriodic chan struct{}   // QuirkCRNoSession: a connection request restarts the periodic timer
}

// transfer is a Download, Upload or ScheduleDownload in the CPE's queue (TR-069 §A.4.1.2).
type transfer struct {
	method   string // "Download", "Upload", "ScheduleDownload"
	key      string
	fileType string
	url      string
	user     string
	pass     string
	size     uint64
	target   string
	state    int // 1 not yet started, 2 in progress, 3 completed
	result   *soap.TransferComplete
}

// NewCPE builds a CPE from cfg; Run starts it.
func NewCPE(cfg Config) (*CPE, error) {
	if cfg.Model == nil {
		return nil, errors.New("sim: Config.Model is nil")
	}
	if cfg.ACSURL == "" {
		return nil, errors.New("sim: Config.ACSURL is empty")
	}
	switch cfg.NS {
	case "":
		cfg.NS = soap.NSCWMP10
	case soap.NSCWMP10, soap.NSCWMP11, soap.NSCWMP12:
	default:
		return nil, fmt.Errorf("sim: unsupported CWMP namespace %q", cfg.NS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if err := cfg.Quirks.validate(); err != nil {
		return nil, err
	}
	if cfg.CrashSilence <= 0 {
		cfg.CrashSilence = defaultCrashSilence
	}
	if cfg.BusyAfterReset <= 0 {
		cfg.BusyAfterReset = defaultBusyAfterReset
	}
	var own *http.Transport
	if t, ok := cfg.Transport.(*http.Transport); ok && cfg.Quirks.Has(QuirkCrashOnUnknownName) {
		own = t.Clone() // its own connections, so a crash closes only them
		cfg.Transport = own
	}
	if cfg.Transport == nil {
		own = http.DefaultTransport.(*http.Transport).Clone()
		cfg.Transport = own
	}
	rt := cfg.Transport
	switch cfg.Auth {
	case "", AuthNone:
	case AuthBasic:
		rt = auth.NewClientTransport(rt, cfg.Username, cfg.Password, auth.ClientOptions{AllowBasic: true, Preemptive: true})
	case AuthDigest:
		rt = auth.NewClientTransport(rt, cfg.Username, cfg.Password, auth.ClientOptions{})
	default:
		return nil, fmt.Errorf("sim: unknown auth mode %q", cfg.Auth)
	}
	jar, _ := cookiejar.New(nil) // never fails without options
	m := cfg.Model
	id := m.DeviceID()
	for field, v := range map[*string]string{&id.SerialNumber: cfg.Serial, &id.OUI: cfg.OUI,
		&id.ProductClass: cfg.ProductClass, &id.Manufacturer: cfg.Manufacturer} {
		if v != "" {
			*field = v
		}
	}
	m.SetDeviceID(id)
	_ = m.Set(m.Root()+"DeviceInfo.SerialNumber", id.SerialNumber) // absent in odd models: fine
	c := &CPE{
		cfg:          cfg,
		log:          cfg.Logger.Named("cpe").With(zap.String("device", id.SerialNumber)),
		client:       &http.Client{Transport: rt, Jar: jar, Timeout: cfg.Timeout},
		wake:         make(chan struct{}, 1),
		model:        m,
		bootstrapped: cfg.Bootstrapped || cfg.Running,
		ownTransport: own,

		restartPeriodic: make(chan struct{}, 1),
	}
	v, err := auth.NewVerifier(auth.ModeDigest, "cpesim", crCredentials{c}, crSecret)
	if err != nil {
		return nil, err
	}
	c.crAuth = v
	c.factory = m.Clone()
	c.quirks.Store(&cfg.Quirks)
	return c, nil
}

// SetQuirks replaces the CPE's quirks, e.g. once its bootstrap is over. A CPE that gains
// QuirkCrashOnUnknownName here closes its connections on a crash only if it was built without a
// shared Config.Transport.
func (c *CPE) SetQuirks(qs Quirks) error {
	if err := qs.validate(); err != nil {
		return err
	}
	qs = slices.Clone(qs)
	c.quirks.Store(&qs)
	return nil
}

// Quirks returns the CPE's quirks.
func (c *CPE) Quirks() Quirks { return slices.Clone(*c.quirks.Load()) }

func (c *CPE) has(q Quirk) bool { return c.quirks.Load().Has(q) }

// Serial is the CPE's serial number.
func (c *CPE) Serial() string { return c.Model().DeviceID().SerialNumber }

// Model is the CPE's current data model (replaced by FactoryReset).
func (c *CPE) Model() *datamodel.Model {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.model
}

// Faults is the CPE's fault plan.
func (c *CPE) Faults() *FaultPlan { return &c.faults }

// SetMuted makes the connection-request listener drop requests without an answer (an offline
// device) or answer again.
func (c *CPE) SetMuted(m bool) { c.muted.Store(m) }

// Inform queues event (e.g. EventPeriodic, or "M X_VENDOR_Thing") and asks for a session.
func (c *CPE) Inform(code, commandKey string) {
	c.addEvent(soap.Event{Code: code, CommandKey: commandKey})
	c.kick()
}

func (c *CPE) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// addEvent queues an event once (TR-069 §3.7.1.5: single events are not repeated).
func (c *CPE) addEvent(e soap.Event) {
	if (e.Code == EventBootstrap || e.Code == EventBoot) && c.has(QuirkPeriodicOnly) {
		e.Code = EventPeriodic
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, have := range c.events {
		if have.Code == e.Code && (have.CommandKey == e.CommandKey || !isMethodEvent(e.Code)) {
			return
		}
	}
	c.events = append(c.events, e)
}

func isMethodEvent(code string) bool { return len(code) > 2 && code[:2] == "M " }

// SetValue changes a parameter as the device itself (a user, the firmware) would. With
// notification on (set by the ACS through SetParameterAttributes) the change is reported in
// the next Inform with "4 VALUE CHANGE"; active notification (2) opens a session now.
func (c *CPE) SetValue(name, value string) error {
	m := c.Model()
	if err := m.Set(name, value); err != nil {
		return err
	}
	p, _ := m.Lookup(name)
	if p.Notification == 0 {
		return nil
	}
	c.mu.Lock()
	found := false
	for _, n := range c.changed {
		found = found || n == name
	}
	if !found {
		c.changed = append(c.changed, name)
	}
	c.mu.Unlock()
	c.addEvent(soap.Event{Code: EventValueChange})
	if p.Notification == 2 {
		c.kick()
	}
	return nil
}

// Run is the CPE's life: a first session (BOOTSTRAP on first contact, BOOT), then a session for
// every periodic inform, connection request, scheduled inform and completed transfer, until ctx
// ends. Failed sessions are retried with the TR-069 §3.2.1.1 back-off (or the ACS's Retry-After).
func (c *CPE) Run(ctx context.Context) {
	c.boot()
	defer c.stopTimers()
	periodic := time.NewTimer(c.periodicWait())
	defer periodic.Stop()
	retry := time.NewTimer(0)
	retry.Stop()
	c.kick()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-retry.C:
		case <-periodic.C:
			c.addEvent(soap.Event{Code: EventPeriodic})
			periodic.Reset(c.periodicWait())
		case <-c.restartPeriodic:
			periodic.Reset(c.periodicWait())
			continue
		}
		c.mu.Lock()
		nothing := len(c.events) == 0 && c.retry == 0
		c.mu.Unlock()
		if nothing {
			continue
		}
		if d := c.hold(); d > 0 { // down or rebooting: the events wait
			retry.Reset(d)
			continue
		}
		err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			retry.Reset(c.retryWait(err))
			continue
		}
		if c.finishSession() {
			periodic.Reset(c.periodicWait())
		}
	}
}

// boot queues the power-on events: BOOTSTRAP when the ACS never saw this device (TR-069 §3.7.1.5).
func (c *CPE) boot() {
	if c.cfg.Running {
		c.addEvent(soap.Event{Code: EventPeriodic})
		return
	}
	c.mu.Lock()
	bootstrap := !c.bootstrapped
	c.mu.Unlock()
	if bootstrap {
		c.addEvent(soap.Event{Code: EventBootstrap})
	}
	c.addEvent(soap.Event{Code: EventBoot})
}

// periodicWait is the time to the next periodic inform, jittered; an hour-long idle when
// periodic informs are disabled (the timer is re-armed after each session).
func (c *CPE) periodicWait() time.Duration {
	m := c.Model()
	d := c.cfg.PeriodicInterval
	if d <= 0 {
		pv, err := m.Get(m.Root() + "ManagementServer.PeriodicInformInterval")
		if err == nil {
			if s, err := strconv.Atoi(pv.Value.Raw); err == nil && s > 0 {
				d = time.Duration(s) * time.Second
			}
		}
	}
	if pv, err := m.Get(m.Root() + "ManagementServer.PeriodicInformEnable"); err == nil && pv.Value.Raw == "false" || d <= 0 {
		return time.Hour
	}
	if j := c.cfg.Jitter; j > 0 {
		d += time.Duration(rand.Int64N(int64(2*j))) - j
	}
	return max(d, time.Millisecond)
}

// retryWait is the wait before retrying a failed session: the ACS's Retry-After when it said
// 503, else TR-069 §3.2.1.1 (5 s doubling per retry up to 2560 s, randomised down to half).
func (c *CPE) retryWait(err error) time.Duration {
	var se *SessionError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return se.RetryAfter
	}
	if d := c.hold(); d > 0 {
		return d
	}
	c.mu.Lock()
	n := c.retry
	c.mu.Unlock()
	d := 5 * time.Second << min(max(n-1, 0), 9)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (c *CPE) stopTimers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
}

// after runs f after d unless the CPE stops first.
func (c *CPE) after(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = append(c.timers, time.AfterFunc(d, f))
}

// finishSession applies what the session's RPCs left for its end (reboot, factory reset,
// transfers) and reports whether the periodic timer must restart (a reboot, a new interval).
func (c *CPE) finishSession() (resetPeriodic bool) {
	c.mu.Lock()
	fns := c.afterSession
	c.afterSession = nil
	resetPeriodic, c.resetPeriodic = c.resetPeriodic, false
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
	return resetPeriodic
}
