package admin

import (
	_ "embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
)

//go:embed status.html
var statusHTML string

// maxRows bounds the device table: past it the filter narrows the list.
const maxRows = 500

// page is the status page at /: server-rendered, refreshed by the browser itself.
type page struct {
	src     Sources
	m       *Metrics
	refresh time.Duration
	tmpl    *template.Template
}

func newPage(src Sources, m *Metrics, refresh time.Duration) *page {
	funcs := template.FuncMap{
		"ago": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return time.Since(t).Truncate(time.Second).String() + " ago"
		},
		"clock": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
		"utc": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
	}
	return &page{src: src, m: m, refresh: refresh, tmpl: template.Must(template.New("status").Funcs(funcs).Parse(statusHTML))}
}

type pageData struct {
	Refresh     int
	Now         time.Time
	Info        *api.BridgeInfo
	Uptime      string
	Ready       string // "" when ready, else the reason
	Connected   bool
	Translators []host.Info
	Devices     []bridge.DeviceStatus
	Total       int
	Online      int
	Matching    int
	Query       string
	State       string
	Truncated   bool
	Events      []Event
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	state := r.URL.Query().Get("state")
	if state != "online" && state != "offline" {
		state = ""
	}
	d := pageData{Refresh: int(p.refresh.Seconds()), Now: time.Now().UTC(), Query: q, State: state}
	if p.src.Info != nil {
		d.Info = p.src.Info()
	}
	if d.Info != nil && !d.Info.Started.IsZero() {
		d.Uptime = time.Since(d.Info.Started).Truncate(time.Second).String()
	}
	if p.src.Ready != nil {
		var why []string
		for _, c := range p.src.Ready() {
			why = append(why, c.Reason)
		}
		d.Ready = strings.Join(why, "; ")
	}
	if p.src.MQTT != nil {
		d.Connected = p.src.MQTT.Stats().Connected
	}
	if p.src.Translators != nil {
		d.Translators = p.src.Translators.Translators()
	}
	if p.src.Devices != nil {
		all := p.src.Devices.DeviceStatuses()
		d.Total = len(all)
		needle := strings.ToLower(q)
		for _, dev := range all {
			if dev.Online {
				d.Online++
			}
			if !matches(dev, needle, state) {
				continue
			}
			d.Matching++
			if len(d.Devices) < maxRows {
				d.Devices = append(d.Devices, dev)
			}
		}
		d.Truncated = d.Matching > len(d.Devices)
	}
	d.Events = p.m.Events()
	if len(d.Events) > 50 {
		d.Events = d.Events[:50]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	if err := p.tmpl.Execute(w, d); err != nil {
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
	}
}

// matches is the page's filter: state, then a case-insensitive substring of id, manufacturer,
// model, firmware, serial or address.
func matches(d bridge.DeviceStatus, needle, state string) bool {
	if state == "online" && !d.Online || state == "offline" && d.Online {
		return false
	}
	if needle == "" {
		return true
	}
	for _, f := range []string{d.ID, d.Manufacturer, d.Model, d.Firmware, d.SerialNumber, d.IP, d.ProductClass} {
		if strings.Contains(strings.ToLower(f), needle) {
			return true
		}
	}
	return false
}
