// Package admin is the gateway's admin listener (admin.listen): /healthz and /readyz for
// orchestrators, /metrics in the Prometheus format, /debug/pprof/ when admin.pprof is on, and a
// server-rendered status page at / for a site technician.
//
// It reads the gateway through the small interfaces of Sources and counts what only happens
// once (Informs, request results, connection requests, translator calls) through Metrics, which
// the gateway hands to the bridge as its Observer. Everything else is read at scrape time from
// the counters the parts already keep, so the sessions' hot path pays for a few atomic adds.
package admin
