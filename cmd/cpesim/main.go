// Command cpesim simulates 1 to 10,000+ TR-069 CPEs against an ACS over real HTTP and reports
// what the ACS sustained. It is the CPE end of the flow (simulated CPE → cwmp → bridge → mqtt →
// platform); the engine lives in ./sim, the data models in ./datamodel.
//
//	cpesim -acs http://127.0.0.1:7547/ -n 1000 -duration 60s -interval 10s -pid $(pidof cwmp2mqtt)
//	cpesim floor -listen :7550     # the baseline ACS (see README.md)
//	cpesim floor -acs -listen :7550  # the real ACS stack alone, no bridge or MQTT
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/floor"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		err = runFloor(ctx, os.Args[2:], os.Stderr)
	} else {
		err = runLoad(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "cpesim:", err)
		os.Exit(1)
	}
}

func runFloor(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cpesim floor", flag.ContinueOnError)
	listen := fs.String("listen", ":7550", "address of the floor ACS (7548 is the gateway's admin listener)")
	acsOnly := fs.Bool("acs", false, "serve the real cwmp/acs stack with a no-op handler (no bridge, no MQTT) instead of fixed bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *acsOnly {
		log, err := zap.NewProduction(zap.IncreaseLevel(zap.WarnLevel))
		if err != nil {
			return err
		}
		defer log.Sync()
		return floor.ServeACSOnly(ctx, *listen, log, out)
	}
	srv := &http.Server{Addr: *listen, Handler: &floor.Handler{}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(out, "floor ACS on %s (pid %d)\n", *listen, os.Getpid())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadFlags are the load-mode options.
type loadFlags struct {
	acs, model, auth, user, pass, cwmp, prefix, crListen, logLevel string
	n, pid                                                         int
	duration, interval, jitter, spread                             time.Duration
	jsonOut, fetch, bootstrapped, running                          bool
	quirks                                                         sim.Quirks
	crashSilence, busyAfterReset                                   time.Duration
}

func parseLoadFlags(args []string) (*loadFlags, error) {
	f := &loadFlags{}
	fs := flag.NewFlagSet("cpesim", flag.ContinueOnError)
	fs.StringVar(&f.acs, "acs", "http://127.0.0.1:7547/", "ACS URL")
	fs.IntVar(&f.n, "n", 100, "number of CPEs")
	fs.DurationVar(&f.duration, "duration", 60*time.Second, "how long to run")
	fs.DurationVar(&f.interval, "interval", 10*time.Second, "periodic inform interval of each CPE")
	fs.DurationVar(&f.jitter, "jitter", -1, "± random spread of each periodic wait; negative: interval/10")
	fs.DurationVar(&f.spread, "spread", -1, "spread the first informs over this; negative: one interval")
	fs.StringVar(&f.model, "model", "tr098", "data model: tr098 (Huawei BM632w), tr181, mixed, or a CSV file")
	fs.StringVar(&f.auth, "auth", "none", "authentication toward the ACS: none, basic, digest")
	fs.StringVar(&f.user, "user", "", "ACS username (default with -auth: each CPE's serial)")
	fs.StringVar(&f.pass, "pass", "", "ACS password")
	fs.StringVar(&f.cwmp, "cwmp", "1-0", "CWMP namespace: 1-0 or 1-2")
	fs.StringVar(&f.prefix, "prefix", "SIM", "serial number prefix (serial = prefix + 6-digit index)")
	fs.StringVar(&f.crListen, "cr-listen", "", "serve connection requests for all CPEs on this address (e.g. 127.0.0.1:7549)")
	fs.IntVar(&f.pid, "pid", 0, "PID of the ACS process, to report its CPU and RSS")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&f.fetch, "fetch", false, "really GET the URLs of Downloads")
	fs.BoolVar(&f.bootstrapped, "bootstrapped", false, "CPEs start known to the ACS (BOOT, no BOOTSTRAP)")
	fs.BoolVar(&f.running, "running", false, "CPEs are up and known to the ACS: the first session is 2 PERIODIC (load after a registration run)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	quirks := fs.String("quirks", "", "comma-separated quirks of every CPE (see README.md): "+sim.Quirks(sim.AllQuirks).String())
	fs.DurationVar(&f.crashSilence, "crash-silence", 2*time.Second, "crash-on-unknown-name: how long a crashed CPE stays down")
	fs.DurationVar(&f.busyAfterReset, "busy-after-reset", 3*time.Second, "busy-after-reset: how long CRs get 503 after a Reboot/FactoryReset")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if f.quirks, err = sim.ParseQuirks(*quirks); err != nil {
		return nil, fmt.Errorf("-quirks: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case f.n <= 0:
		return nil, fmt.Errorf("-n %d: need at least one CPE", f.n)
	case f.duration <= 0 || f.interval <= 0:
		return nil, errors.New("-duration and -interval must be positive")
	}
	if f.jitter < 0 {
		f.jitter = f.interval / 10
	}
	if f.spread < 0 {
		f.spread = f.interval
	}
	return f, nil
}

// modelSource returns the per-CPE model factory of -model.
func modelSource(name string) (func(int) (*datamodel.Model, error), error) {
	var loaders []func() (*datamodel.Model, error)
	switch name {
	case "tr098":
		loaders = append(loaders, datamodel.LoadTR098Huawei)
	case "tr181":
		loaders = append(loaders, datamodel.LoadTR181)
	case "mixed":
		loaders = append(loaders, datamodel.LoadTR098Huawei, datamodel.LoadTR181)
	default:
		fh, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("-model: %w", err)
		}
		defer fh.Close()
		m, err := datamodel.LoadCSV(fh)
		if err != nil {
			return nil, fmt.Errorf("-model %s: %w", name, err)
		}
		loaders = append(loaders, func() (*datamodel.Model, error) { return m, nil })
	}
	bases := make([]*datamodel.Model, len(loaders))
	for i, l := range loaders {
		m, err := l()
		if err != nil {
			return nil, err
		}
		bases[i] = m
	}
	return func(i int) (*datamodel.Model, error) { return bases[i%len(bases)].Clone(), nil }, nil
}

func runLoad(ctx context.Context, args []string, out io.Writer) error {
	f, err := parseLoadFlags(args)
	if err != nil {
		return err
	}
	ns := map[string]string{"1-0": soap.NSCWMP10, "1-2": soap.NSCWMP12}[f.cwmp]
	if ns == "" {
		return fmt.Errorf("-cwmp %q: want 1-0 or 1-2", f.cwmp)
	}
	models, err := modelSource(f.model)
	if err != nil {
		return err
	}
	level, err := zap.ParseAtomicLevel(f.logLevel)
	if err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logCfg := zap.NewProductionConfig()
	logCfg.Level = level
	log, err := logCfg.Build()
	if err != nil {
		return err
	}
	defer log.Sync()

	fleet, err := sim.NewFleet(sim.FleetConfig{
		N: f.n, SerialPrefix: f.prefix, Model: models, CRListen: f.crListen, StartSpread: f.spread,
		CPE: sim.Config{
			ACSURL: f.acs, NS: ns, Auth: sim.AuthMode(f.auth), Username: f.user, Password: f.pass,
			PeriodicInterval: f.interval, Jitter: f.jitter, FetchDownloads: f.fetch, Bootstrapped: f.bootstrapped, Running: f.running,
			Quirks: f.quirks, CrashSilence: f.crashSilence, BusyAfterReset: f.busyAfterReset,
			Logger: log.Named("cpesim"),
		},
	})
	if err != nil {
		return err
	}
	before, err := sampleProcesses(f.pid)
	if err != nil {
		return err
	}
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, f.duration)
	defer cancel()
	if err := fleet.Start(runCtx); err != nil {
		return err
	}
	<-runCtx.Done()
	elapsed := time.Since(start)
	after, err := sampleProcesses(f.pid) // before Stop: the ACS's RSS under load
	if err != nil {
		return err
	}
	fleet.Stop()
	rep := newReport(f, fleet.Stats(), elapsed, before, after)
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.writeTable(out)
	return nil
}
