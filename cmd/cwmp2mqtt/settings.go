package main

import (
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/admin"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/boltmap"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/connreq"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/mqtt"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/host"
)

// setting is one configuration key: its default and the one-line help shown by --help.
// configs/cwmp2mqtt.yaml documents every key; TestEveryKeyDocumented keeps the two in step.
// A key of a package's section takes its default from that package (acs.DefaultConfig,
// connreq.DefaultOptions, …): one value, written once. TestSettingsDefaultsMatchPackageDefaults
// fails when a default here is written out again and drifts, or a new key is not classified.
type setting struct {
	key  string
	def  any
	help string
}

// defaultAllowNetworks are the private ranges a site's CPEs use: loopback, RFC 1918, RFC 6598
// (carrier-grade NAT), IPv6 ULA and link-local.
const defaultAllowNetworks = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7,fe80::/10"

// The packages' defaults, each section read once.
var (
	acsDefaults       = acs.DefaultConfig()
	connreqDefaults   = connreq.DefaultOptions()
	mqttDefaults      = mqtt.DefaultConfig()
	outboxDefaults    = mqtt.DefaultOutboxOptions()
	bridgeDefaults    = bridge.DefaultOptions()
	interviewDefaults = bridge.DefaultInterviewOptions()
	hostDefaults      = host.DefaultConfig()
	adminDefaults     = admin.DefaultConfig()
)

// settings is the single list of configuration keys. Each is also an environment variable
// CWMP2MQTT_<KEY> (dots → underscores, upper case) and a flag --<key>.
var settings = []setting{
	{"cwmp.listen", acsDefaults.Listen, "address the ACS listens on for CPEs"},
	{"cwmp.path", acsDefaults.Path, "URL path of the ACS endpoint"},
	{"cwmp.url", "", "URL the CPEs use to reach the ACS (informational; shown in bridge/info)"},
	{"cwmp.auth.mode", "none", "CPE authentication: none, basic, digest or any"},
	{"cwmp.auth.realm", "cwmp2mqtt", "HTTP authentication realm"},
	{"cwmp.auth.username", "", "shared CPE user name"},
	{"cwmp.auth.password", "", "shared CPE password"},
	{"cwmp.auth.password_file", "", "file holding the shared CPE password"},
	{"cwmp.auth.devices_file", "", "YAML file of per-device credentials bound to their device: {serial: password} or {user: {password, device}}"},
	{"cwmp.auth.nonce_secret", "", "secret for stateless Digest nonces (random per start when empty)"},
	{"cwmp.auth.nonce_secret_file", "", "file holding the nonce secret"},
	{"cwmp.allow_networks", defaultAllowNetworks, "with cwmp.auth.mode none: networks (CIDR, comma-separated) CPEs may come from; others get 403"},
	{"cwmp.trusted_proxies", "", "proxies (CIDR, comma-separated) whose X-Forwarded-For names the CPE"},
	{"cwmp.max_devices", bridgeDefaults.MaxDevices, "registered devices before unknown ones get 503 (known devices keep working)"},
	{"cwmp.registration_rate", bridgeDefaults.RegistrationRate, "new devices registered per second before unknown ones get 503 (0: no bound)"},
	{"cwmp.registration_burst", bridgeDefaults.RegistrationBurst, "new devices registered at once before registration_rate applies"},
	{"cwmp.tls.cert_file", "", "TLS certificate; with key_file, the ACS serves HTTPS"},
	{"cwmp.tls.key_file", "", "TLS private key"},
	{"cwmp.tls.client_ca_file", "", "CA bundle to verify CPE client certificates"},
	{"cwmp.tls.client_auth", "none", "client certificates: none, request or require"},
	{"cwmp.session.idle_timeout", acsDefaults.IdleTimeout, "idle time after which a session is dropped"},
	{"cwmp.session.max_duration", acsDefaults.MaxSessionDuration, "cap on the total time of one session"},
	{"cwmp.session.max_rpcs", acsDefaults.MaxRPCsPerSession, "cap on RPCs in one session"},
	{"cwmp.session.max_concurrent", acsDefaults.MaxConcurrentSessions, "concurrent sessions before new ones get 503"},
	{"cwmp.session.max_body_bytes", int(acsDefaults.MaxBodyBytes), "largest request body accepted, after decompression"},
	{"cwmp.session.retry_after", acsDefaults.RetryAfter, "Retry-After sent with 503 under overload"},
	{"cwmp.quirks.bool_as_number", "", "CPEs (OUI or OUI-ProductClass, comma-separated) that get booleans as 1/0"},
	{"cwmp.quirks.datetime_millis", "", "CPEs (OUI or OUI-ProductClass, comma-separated) that get dateTimes with milliseconds"},
	{"cwmp.connreq.timeout", connreqDefaults.Timeout, "timeout of one connection request"},
	{"cwmp.connreq.retries", connreqDefaults.Retries, "connection request retries"},
	{"cwmp.connreq.allow_basic", connreqDefaults.AllowBasic, "answer a Basic challenge from a CPE (sends the password in clear)"},
	{"cwmp.connreq.username", "", "fallback connection-request user name"},
	{"cwmp.connreq.password", "", "fallback connection-request password"},
	{"cwmp.connreq.password_file", "", "file holding the fallback connection-request password"},
	{"cwmp.connreq.provision", bridgeDefaults.ProvisionConnReq, "set per-device connection-request credentials on BOOTSTRAP"},
	{"cwmp.connreq.udp_repeats", connreqDefaults.UDPRepeats, "datagrams sent per UDP connection request (TR-069 Annex G)"},
	{"cwmp.connreq.session_wait", bridgeDefaults.SessionWait, "a CPE that accepts a connection request but opens no session within this gets none before its next Inform"},
	{"mqtt.url", "", "broker URL (tcp://, ssl://, ws://); empty starts the embedded broker"},
	{"mqtt.embedded.listen", mqtt.DefaultBrokerListen, "address of the embedded broker; off loopback it needs users or allow_anonymous"},
	{"mqtt.embedded.users_file", "", "YAML file of embedded broker users: {name: {role: platform|viewer, password_hash: bcrypt}}"},
	{"mqtt.embedded.username", "", "one embedded broker user (besides users_file)"},
	{"mqtt.embedded.password_hash", "", "bcrypt hash of that user's password (htpasswd -nbB user PASSWORD)"},
	{"mqtt.embedded.password_hash_file", "", "file holding that bcrypt hash"},
	{"mqtt.embedded.role", "platform", "that user's role: platform or viewer"},
	{"mqtt.embedded.password", "", "no longer accepted (plain text): use mqtt.embedded.password_hash"},
	{"mqtt.embedded.allow_anonymous", false, "let clients without a user name in (platform role) even off loopback"},
	{"mqtt.embedded.tls.cert_file", "", "TLS certificate; with key_file the embedded broker speaks MQTT over TLS"},
	{"mqtt.embedded.tls.key_file", "", "TLS private key of the embedded broker"},
	{"mqtt.base_topic", mqttDefaults.BaseTopic, "base topic of this gateway"},
	{"mqtt.client_id", "", "MQTT client id (default: cwmp2mqtt-<hostname>-<random>, generated once and kept in the store)"},
	{"mqtt.username", "", "MQTT user name"},
	{"mqtt.password", "", "MQTT password"},
	{"mqtt.password_file", "", "file holding the MQTT password"},
	{"mqtt.tls.ca_file", "", "CA bundle for the broker's certificate"},
	{"mqtt.tls.cert_file", "", "client certificate for the broker"},
	{"mqtt.tls.key_file", "", "client key for the broker"},
	{"mqtt.tls.insecure", mqttDefaults.TLS.InsecureSkipVerify, "skip verification of the broker's certificate"},
	{"mqtt.qos", mqttDefaults.QoS, "QoS of publishes and subscriptions (0, 1 or 2)"},
	{"mqtt.keepalive", mqttDefaults.KeepAlive, "MQTT keepalive"},
	{"store.path", "./data/cwmp2mqtt.db", "the store file: devices, task queues, outbox"},
	{"store.release_pages", boltmap.DefaultInterval, "how often the store files' pages are dropped from the gateway's memory map (its RSS), left to the kernel's page cache; 0 keeps them mapped"},
	{"store.params_cache", bridgeDefaults.ParamsCache, "idle devices whose raw parameter values stay in memory (the others are read from the store when used)"},
	{"outbox.max_bytes", int(outboxDefaults.MaxBytes), "bound of the outbox while the broker is unreachable"},
	{"outbox.max_age", outboxDefaults.MaxAge, "messages older than this are dropped from the outbox"},
	{"availability.factor", bridgeDefaults.AvailabilityFactor, "offline after factor × PeriodicInformInterval without a session"},
	{"availability.floor", bridgeDefaults.AvailabilityFloor, "never declare a device offline sooner than this"},
	{"tasks.wake_grace", bridgeDefaults.WakeGrace, "how long a request without expires waits for the session a connection request opens"},
	{"tasks.transfer_timeout", bridgeDefaults.TransferTimeout, "how long a Download/Upload accepted with status 1 may go without its TransferComplete"},
	{"tasks.max_queue", bridgeDefaults.MaxQueue, "queued requests per device before new ones are rejected"},
	{"tasks.max_attempts", bridgeDefaults.MaxAttempts, "sends of one request to a CPE that drops the session while running it"},
	{"interview.enabled", !interviewDefaults.Disabled, "interview devices: discover their data model on first contact, BOOTSTRAP and firmware change, then read their state"},
	{"interview.max_names", interviewDefaults.MaxNames, "a data model with more parameter and object names is not kept (the interview fails)"},
	{"interview.max_rpcs", interviewDefaults.MaxRPCs, "RPCs of one interview (a walk of the tree sends one GetParameterNames per object)"},
	{"interview.max_time", interviewDefaults.MaxTime, "time one interview may take, across sessions"},
	{"plugins.dir", hostDefaults.Dir, "directory of translator plugin binaries"},
	{"plugins.call_timeout", hostDefaults.CallTimeout, "timeout of one translator call"},
	{"plugins.standard", "inprocess", "how the built-in standard translator runs: inprocess or process"},
	{"admin.listen", adminDefaults.Listen, "admin listener: /healthz, /readyz, /metrics, status page (empty: off)"},
	{"admin.pprof", adminDefaults.Pprof, "serve /debug/pprof/ on the admin listener"},
	{"admin.username", "", "Basic auth user of the admin listener (required unless it is on loopback)"},
	{"admin.password", "", "Basic auth password of the admin listener"},
	{"admin.password_file", "", "file holding the admin password"},
	{"admin.allow_anonymous", false, "serve the admin listener off loopback without credentials"},
	{"runtime.memory_limit", "auto", "soft memory limit of the Go runtime: a size (512MiB, 2GiB), off, or auto (90 % of the container's cgroup memory limit, GOMEMLIMIT when set, else none)"},
	{"runtime.procs", "auto", "threads running Go code at once (GOMAXPROCS): a number, or auto (one while the gateway uses little CPU, all the runtime's otherwise; GOMAXPROCS when set)"},
	{"log.level", "info", "debug, info, warn or error"},
	{"log.format", "console", "console or json"},
}
