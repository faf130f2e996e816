package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
)

// FleetConfig describes N CPEs that differ by serial (SerialPrefix + zero-padded index).
type FleetConfig struct {
	N            int
	SerialPrefix string // default "SIM"
	// Model returns the model of CPE i; each call must return its own (Clone) model.
	Model func(i int) (*datamodel.Model, error)
	// CPE is the template of every CPE's Config (ACSURL, NS, Auth, periodic interval …);
	// Model, Serial and Transport are set per fleet. Its Hooks are chained after the fleet's.
	// With Basic or Digest and no Username, each CPE authenticates as its serial.
	CPE Config
	// CRListen, when set, serves every CPE's connection requests on one listener
	// ("127.0.0.1:0"), at http://<addr>/cr/<serial>.
	CRListen string
	// StartSpread spreads the CPEs' first sessions evenly over this duration (a power-on storm
	// with 0).
	StartSpread time.Duration
	// Quirks, when set, gives CPE i its own quirks instead of CPE.Quirks.
	Quirks func(i int) Quirks
}

// Fleet runs many CPEs against one ACS.
type Fleet struct {
	cfg    FleetConfig
	cpes   []*CPE
	bySN   map[string]*CPE
	crURL  string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	srv    *http.Server

	mu    sync.Mutex
	stats Stats
}

// Stats are a fleet's session counts so far.
type Stats struct {
	Sessions  int64               // finished sessions, successful or not
	Failed    int64               // failed ones
	Errors    map[ErrorKind]int64 // failed ones by kind
	Latencies []time.Duration     // durations of successful sessions (a uniform sample of at most maxSamples)
	RPCs      int64               // ACS requests executed
}

// maxSamples bounds the latency sample (reservoir sampling beyond it).
const maxSamples = 1 << 20

// NewFleet builds the CPEs; Start runs them.
func NewFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.N <= 0 {
		return nil, fmt.Errorf("sim: fleet of %d CPEs", cfg.N)
	}
	if cfg.Model == nil {
		return nil, errors.New("sim: FleetConfig.Model is nil")
	}
	if cfg.SerialPrefix == "" {
		cfg.SerialPrefix = "SIM"
	}
	tr := cfg.CPE.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 0 // unbounded: one idle connection per CPE in session is normal
		t.MaxIdleConnsPerHost = min(cfg.N, 4096)
		tr = t
	}
	f := &Fleet{cfg: cfg, bySN: make(map[string]*CPE, cfg.N), stats: Stats{Errors: map[ErrorKind]int64{}}}
	user := cfg.CPE.Hooks
	for i := range cfg.N {
		m, err := cfg.Model(i)
		if err != nil {
			return nil, fmt.Errorf("sim: model of CPE %d: %w", i, err)
		}
		c := cfg.CPE
		c.Model = m
		c.Serial = fmt.Sprintf("%s%06d", cfg.SerialPrefix, i)
		c.Transport = tr
		if c.Username == "" && c.Auth != "" && c.Auth != AuthNone {
			c.Username = c.Serial
		}
		c.Hooks = Hooks{
			OnSession: func(s SessionResult) {
				f.record(s)
				if user.OnSession != nil {
					user.OnSession(s)
				}
			},
			OnRPC: user.OnRPC,
			OnCR:  user.OnCR,
		}
		if cfg.Quirks != nil {
			c.Quirks = cfg.Quirks(i)
		}
		cpe, err := NewCPE(c)
		if err != nil {
			return nil, err
		}
		f.cpes = append(f.cpes, cpe)
		f.bySN[c.Serial] = cpe
	}
	return f, nil
}

func (f *Fleet) record(s SessionResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &f.stats
	st.Sessions++
	st.RPCs += int64(len(s.RPCs))
	if s.Err != nil {
		st.Failed++
		kind := KindTransport
		var se *SessionError
		if errors.As(s.Err, &se) {
			kind = se.Kind
		}
		st.Errors[kind]++
		return
	}
	ok := st.Sessions - st.Failed
	if len(st.Latencies) < maxSamples {
		st.Latencies = append(st.Latencies, s.Duration)
	} else if j := rand.Int64N(ok); j < maxSamples {
		st.Latencies[j] = s.Duration
	}
}

// Start opens the shared connection-request listener (if configured) and starts every CPE.
func (f *Fleet) Start(ctx context.Context) error {
	ctx, f.cancel = context.WithCancel(ctx)
	if f.cfg.CRListen != "" {
		ln, err := net.Listen("tcp", f.cfg.CRListen)
		if err != nil {
			f.cancel()
			return err
		}
		f.crURL = "http://" + ln.Addr().String() + "/cr/"
		f.srv = &http.Server{Handler: http.HandlerFunc(f.serveCR), ReadHeaderTimeout: 10 * time.Second}
		go f.srv.Serve(ln)
		for sn, c := range f.bySN {
			if err := c.SetConnectionRequestURL(f.crURL + sn); err != nil {
				f.Stop()
				return err
			}
		}
	}
	for i, c := range f.cpes {
		delay := time.Duration(0)
		if f.cfg.StartSpread > 0 {
			delay = f.cfg.StartSpread * time.Duration(i) / time.Duration(len(f.cpes))
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			c.Run(ctx)
		}()
	}
	return nil
}

// serveCR routes /cr/<serial> to that CPE's connection-request handler.
func (f *Fleet) serveCR(w http.ResponseWriter, r *http.Request) {
	sn, ok := strings.CutPrefix(r.URL.Path, "/cr/")
	c := f.bySN[sn]
	if !ok || c == nil {
		http.NotFound(w, r)
		return
	}
	c.CRHandler().ServeHTTP(w, r)
}

// Stop stops every CPE and the listener and waits for them.
func (f *Fleet) Stop() {
	if f.cancel != nil {
		f.cancel()
	}
	if f.srv != nil {
		f.srv.Close()
	}
	f.wg.Wait()
}

// Len is the number of CPEs.
func (f *Fleet) Len() int { return len(f.cpes) }

// CPE returns CPE i.
func (f *Fleet) CPE(i int) *CPE { return f.cpes[i] }

// Inform makes CPE i open a session with event code (e.g. EventPeriodic).
func (f *Fleet) Inform(i int, code string) { f.cpes[i].Inform(code, "") }

// Stats returns a copy of the counts so far.
func (f *Fleet) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.Errors = make(map[ErrorKind]int64, len(f.stats.Errors))
	for k, v := range f.stats.Errors {
		s.Errors[k] = v
	}
	s.Latencies = append([]time.Duration(nil), f.stats.Latencies...)
	return s
}
