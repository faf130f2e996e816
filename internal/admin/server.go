package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Config configures the admin listener (the admin.* keys). Whether it may listen off loopback
// without credentials is the gateway configuration's rule (the embedded broker's).
type Config struct {
	Listen string // admin.listen
	Pprof  bool   // admin.pprof
	// Username and Password guard everything but the probes with HTTP Basic.
	Username, Password string
	// Refresh is the status page's self-refresh period (default 10 s).
	Refresh time.Duration
}

// Defaults of the `admin.*` section: loopback, so the status page and metrics are not on the
// network until credentials are set.
const (
	DefaultListen  = "127.0.0.1:7548"
	DefaultRefresh = 10 * time.Second
)

// DefaultConfig is the `admin.*` section with nothing set (the gateway's settings table and
// configs/cwmp2mqtt.yaml hold the same values; a test there keeps them equal).
func DefaultConfig() Config { return Config{Listen: DefaultListen, Refresh: DefaultRefresh} }

// Check is one readiness condition that does not hold.
type Check struct {
	Name   string // store, broker, acs: what /readyz?exclude= names
	Reason string
}

// Sources are the running gateway as the admin listener reads it; a nil field is left out.
type Sources struct {
	// Ready returns the readiness conditions that do not hold (store closed, broker not
	// connected, ACS not listening); none when the gateway can serve.
	Ready       func() []Check
	ACS         interface{ Stats() acs.Stats }
	MQTT        interface{ Stats() mqtt.ClientStats }
	Outbox      interface{ Stats() mqtt.OutboxStats }
	Devices     interface{ DeviceStatuses() []bridge.DeviceStatus }
	Translators interface{ Translators() []host.Info }
	// Info is the B/bridge/info payload: version, start time, broker, listeners.
	Info func() *api.BridgeInfo
}

// Server is the admin HTTP listener. Lifecycle: New → Start → Shutdown.
type Server struct {
	cfg  Config
	src  Sources
	m    *Metrics
	log  *zap.Logger
	http *http.Server
	ln   net.Listener
	page *page
}

// New checks cfg and registers the scrape-time collector of src with m.
func New(cfg Config, src Sources, m *Metrics, log *zap.Logger) (*Server, error) {
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("admin: username and password go together")
	}
	if m == nil {
		return nil, errors.New("admin: nil Metrics")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if err := m.reg.Register(&sourceCollector{src: src}); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{cfg: cfg, src: src, m: m, log: log.Named("admin"), page: newPage(src, m, cfg.Refresh)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(s.log), ErrorHandling: promhttp.ContinueOnError}))
	mux.Handle("GET /{$}", s.page)
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	var h http.Handler = mux
	if cfg.Username != "" {
		h = basicAuth(cfg.Username, cfg.Password, "cwmp2mqtt admin", mux)
	}
	s.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// /debug/pprof/profile streams for ?seconds= (30 by default).
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     zap.NewStdLog(s.log.Named("http")),
	}
	return s, nil
}

// Start listens on cfg.Listen and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("admin.listen: %w", err)
	}
	s.ln = ln
	go func() {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve stopped", zap.Error(err))
		}
	}()
	s.log.Info("listening", zap.String("addr", ln.Addr().String()), zap.Bool("pprof", s.cfg.Pprof),
		zap.Bool("auth", s.cfg.Username != ""))
	return nil
}

// Addr is the listening address, nil before Start.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops the listener and waits for requests in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.http.Shutdown(ctx)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz answers 503 with the reasons while the gateway cannot do its job, so an orchestrator
// keeps CPE traffic away and the operator reads why. ?exclude=broker (repeatable, as the
// Kubernetes API server's /readyz) leaves a check out: a gateway without its broker still
// serves CPEs into the outbox, which a single-replica Service should not stop.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	excluded := r.URL.Query()["exclude"]
	var why []string
	for _, c := range s.notReady() {
		if !slices.Contains(excluded, c.Name) {
			why = append(why, c.Reason)
		}
	}
	if len(why) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:", strings.Join(why, "; "))
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) notReady() []Check {
	if s.src.Ready == nil {
		return nil
	}
	return s.src.Ready()
}
