package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/admin"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
	bolt "go.etcd.io/bbolt"
)

// startAdmin starts the admin listener (admin.listen) on the running gateway.
func (g *gateway) startAdmin(ctx context.Context) error {
	src := admin.Sources{
		Ready: g.ready, ACS: g.acs, MQTT: g.client, Outbox: g.outbox, Devices: g.bridge,
		Info: func() *api.BridgeInfo { return g.infoSnap },
	}
	if g.plugins != nil && g.plugins.Host != nil {
		src.Translators = g.plugins.Host
	}
	var err error
	if g.admin, err = admin.New(g.cfg.adminConfig(), src, g.metrics, g.log); err != nil {
		return err
	}
	return g.admin.Start(ctx)
}

// ready is /readyz: the store answers, the broker connection is up, the ACS accepts CPEs.
func (g *gateway) ready() []admin.Check {
	var failed []admin.Check
	if err := g.db.View(func(*bolt.Tx) error { return nil }); err != nil {
		failed = append(failed, admin.Check{Name: "store", Reason: "store: " + err.Error()})
	}
	if !g.client.Connected() {
		failed = append(failed, admin.Check{Name: "broker", Reason: "broker not connected"})
	}
	if !g.acs.Listening() {
		failed = append(failed, admin.Check{Name: "acs", Reason: "ACS not listening"})
	}
	return failed
}

// observedWaker counts connection requests by outcome.
type observedWaker struct {
	w bridge.Waker
	m *admin.Metrics
}

func (o observedWaker) Wake(ctx context.Context, t connreq.Target) error {
	err := o.w.Wake(ctx, t)
	o.m.ConnReq(t.DeviceID, err)
	return err
}

// observedTranslators times every translator call by translator and call.
type observedTranslators struct {
	bridge.Translators
	m *admin.Metrics
}

func (o observedTranslators) Normalize(ctx context.Context, dev sdk.DeviceInfo, params map[string]sdk.Value) (string, sdk.State, error) {
	start := time.Now()
	name, st, err := o.Translators.Normalize(ctx, dev, params)
	o.m.TranslatorCall(name, "normalize", time.Since(start), err)
	return name, st, err
}

func (o observedTranslators) ResolveGet(ctx context.Context, dev sdk.DeviceInfo, keys []string, model *sdk.DataModel) (string, sdk.GetPlan, error) {
	start := time.Now()
	name, plan, err := o.Translators.ResolveGet(ctx, dev, keys, model)
	o.m.TranslatorCall(name, "resolve_get", time.Since(start), err)
	return name, plan, err
}

func (o observedTranslators) DenormalizeSet(ctx context.Context, dev sdk.DeviceInfo, values map[string]any, params map[string]sdk.Value, model *sdk.DataModel) (string, sdk.SetPlan, error) {
	start := time.Now()
	name, plan, err := o.Translators.DenormalizeSet(ctx, dev, values, params, model)
	o.m.TranslatorCall(name, "denormalize_set", time.Since(start), err)
	return name, plan, err
}

func (o observedTranslators) Provision(ctx context.Context, dev sdk.DeviceInfo, events []string, params map[string]sdk.Value) (string, []sdk.RPC, error) {
	start := time.Now()
	name, rpcs, err := o.Translators.Provision(ctx, dev, events, params)
	o.m.TranslatorCall(name, "provision", time.Since(start), err)
	return name, rpcs, err
}

var _ interface{ Translators() []host.Info } = (*host.Host)(nil)

// runHealthcheck is the image's HEALTHCHECK (distroless has no shell or curl): it reads the
// same configuration as the gateway and asks its admin listener's /readyz.
func runHealthcheck(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := newFlagSet("cwmp2mqtt healthcheck")
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "cwmp2mqtt healthcheck:", err)
		return 2
	}
	if cfg.Admin.Listen == "" {
		fmt.Fprintln(stderr, "cwmp2mqtt healthcheck: admin.listen is empty: the admin listener is off")
		return 2
	}
	host, port, _ := net.SplitHostPort(cfg.Admin.Listen)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // listening on every interface: loopback is one of them
	}
	u := "http://" + net.JoinHostPort(host, port) + "/readyz"
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get(u)
	if err != nil {
		fmt.Fprintln(stderr, "cwmp2mqtt healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(stderr, "%s: %d %s", u, resp.StatusCode, body)
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
