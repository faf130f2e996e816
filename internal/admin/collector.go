package admin

import (
	"sort"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/prometheus/client_golang/prometheus"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
}

// The figures read at scrape time from the counters the parts keep anyway.
var (
	descBuild = desc("build_info", "The gateway's version (value 1).", "version")
	descStart = desc("start_time_seconds", "When the gateway started, Unix time.")

	descSessionsOpen    = desc("cwmp_sessions_open", "CWMP sessions open now.")
	descSessionsStarted = desc("cwmp_sessions_started_total", "CWMP sessions that reached Inform.")
	descSessions        = desc("cwmp_sessions_total", "CWMP sessions ended, by outcome (done, superseded, timeout, limit, error, shutdown).", "outcome")
	descACSFaults       = desc("cwmp_faults_sent_total", "SOAP faults the ACS sent to CPEs (80xx).")
	descCPEFaults       = desc("cwmp_cpe_faults_total", "SOAP faults CPEs returned for requests.")
	descMismatches      = desc("cwmp_mismatched_responses_total", "CPE answers that did not match the outstanding request.")
	descOverload        = desc("cwmp_overload_refusals_total", "New sessions refused with 503 at cwmp.session.max_concurrent.")
	descAuthFailures    = desc("cwmp_auth_failures_total", "CPE requests answered 401 (missing or wrong credentials).")
	descInformsRefused  = desc("cwmp_informs_refused_total", "Informs answered with a fault because the gateway could not store them (the CPE retries).")

	descDevicesKnown     = desc("devices_known", "Devices in the registry.")
	descDevicesOnline    = desc("devices_online", "Devices considered online (availability).")
	descDevicesInSession = desc("devices_in_session", "Devices with a CWMP session open.")
	descQueueDepth       = desc("request_queue_depth", "Requests queued or in flight, over all devices.")

	descBrokerConnected = desc("mqtt_connected", "1 while the MQTT connection is up and subscribed, else 0.")
	descConnects        = desc("mqtt_connects_total", "Successful MQTT connections, reconnections included.")
	descConnectFailures = desc("mqtt_connect_failures_total", "Failed MQTT connection attempts.")
	descReceived        = desc("mqtt_received_total", "Inbound MQTT messages handed to the bridge.")
	descInboundDropped  = desc("mqtt_inbound_dropped_total", "Inbound MQTT messages refused by a full queue (left unacked: redelivered).")

	descOutboxMessages  = desc("outbox_messages", "Messages in the outbox (waiting, in flight, or acked and not yet deleted).")
	descOutboxBytes     = desc("outbox_bytes", "Bytes of the messages in the outbox.")
	descOutboxInFlight  = desc("outbox_in_flight", "Outbox messages published and not yet acknowledged.")
	descOutboxEnqueued  = desc("outbox_enqueued_total", "Messages written to the outbox.")
	descOutboxDelivered = desc("outbox_delivered_total", "Outbox messages acknowledged by the broker.")
	descOutboxCoalesced = desc("outbox_coalesced_total", "Retained outbox messages superseded by a newer one on the same topic.")
	descOutboxDropped   = desc("outbox_dropped_total", "Outbox messages dropped, by reason (full: outbox.max_bytes, max_age: outbox.max_age).", "reason")
	descOutboxDropBytes = desc("outbox_dropped_bytes_total", "Bytes of the dropped outbox messages, by reason.", "reason")

	descTranslatorState    = desc("translator_state", "1 for each translator's current state (running, restarting, failed …).", "translator", "state")
	descTranslatorRestarts = desc("translator_restarts_total", "Restarts of a translator plugin process.", "translator")
)

// sourceCollector reads Sources at each scrape.
type sourceCollector struct{ src Sources }

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBuild, descStart, descSessionsOpen, descSessionsStarted, descSessions,
		descACSFaults, descCPEFaults, descMismatches, descOverload, descAuthFailures, descInformsRefused, descDevicesKnown,
		descDevicesOnline, descDevicesInSession, descQueueDepth, descBrokerConnected, descConnects,
		descConnectFailures, descReceived, descInboundDropped, descOutboxMessages, descOutboxBytes,
		descOutboxInFlight, descOutboxEnqueued, descOutboxDelivered, descOutboxCoalesced, descOutboxDropped,
		descOutboxDropBytes, descTranslatorState, descTranslatorRestarts} {
		ch <- d
	}
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if c.src.Info != nil {
		if info := c.src.Info(); info != nil {
			gauge(descBuild, 1, info.Version)
			gauge(descStart, float64(info.Started.UnixNano())/1e9)
		}
	}
	if c.src.ACS != nil {
		st := c.src.ACS.Stats()
		gauge(descSessionsOpen, float64(st.Open))
		counter(descSessionsStarted, st.Started)
		reasons := make([]string, 0, len(st.Ended))
		for r := range st.Ended {
			reasons = append(reasons, string(r))
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			counter(descSessions, st.Ended[acs.EndReason(r)], r)
		}
		counter(descACSFaults, st.Faults)
		counter(descCPEFaults, st.CPEFaults)
		counter(descMismatches, st.Mismatches)
		counter(descOverload, st.Overload)
		counter(descAuthFailures, st.AuthFailures)
		counter(descInformsRefused, st.InformsRefused)
	}
	if c.src.Devices != nil {
		var online, inSession, queue int
		devs := c.src.Devices.DeviceStatuses()
		for _, d := range devs {
			if d.Online {
				online++
			}
			if d.InSession {
				inSession++
			}
			queue += d.Queue
		}
		gauge(descDevicesKnown, float64(len(devs)))
		gauge(descDevicesOnline, float64(online))
		gauge(descDevicesInSession, float64(inSession))
		gauge(descQueueDepth, float64(queue))
	}
	if c.src.MQTT != nil {
		st := c.src.MQTT.Stats()
		connected := 0.0
		if st.Connected {
			connected = 1
		}
		gauge(descBrokerConnected, connected)
		counter(descConnects, st.Connects)
		counter(descConnectFailures, st.ConnectFailures)
		counter(descReceived, st.Received)
		counter(descInboundDropped, st.Dropped)
	}
	if c.src.Outbox != nil {
		st := c.src.Outbox.Stats()
		gauge(descOutboxMessages, float64(st.Queued))
		gauge(descOutboxBytes, float64(st.QueuedBytes))
		gauge(descOutboxInFlight, float64(st.InFlight))
		counter(descOutboxEnqueued, st.Enqueued)
		counter(descOutboxDelivered, st.Delivered)
		counter(descOutboxCoalesced, st.Coalesced)
		// Both reasons always, zero included: a rate() needs the series before the first drop.
		for _, r := range []mqtt.DropReason{mqtt.DropFull, mqtt.DropExpired} {
			counter(descOutboxDropped, st.Dropped[r].Messages, string(r))
			counter(descOutboxDropBytes, st.Dropped[r].Bytes, string(r))
		}
	}
	if c.src.Translators != nil {
		for _, t := range c.src.Translators.Translators() {
			gauge(descTranslatorState, 1, t.Name, string(t.State))
			counter(descTranslatorRestarts, uint64(t.Restarts), t.Name)
		}
	}
}
