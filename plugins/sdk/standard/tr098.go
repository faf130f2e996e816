package standard

import (
	"slices"
	"strings"
)

// TR-098 (InternetGatewayDevice:1, spec/tr-098-1-8-0-full.xml). Contexts: the default WAN
// connection (IP or PPP) and its WANDevice, chosen by scan098.
const (
	ctxWANIP = iota
	ctxWANPPP
	ctxWANDev
)

var tr098Contexts = []contextDef{
	ctxWANIP:  {name: "wanip", spec: "WANDevice.{i}.WANConnectionDevice.{i}.WANIPConnection.{i}.", get: "WANDevice.", what: "IP WAN connection"},
	ctxWANPPP: {name: "wanppp", spec: "WANDevice.{i}.WANConnectionDevice.{i}.WANPPPConnection.{i}.", get: "WANDevice.", what: "PPP WAN connection"},
	ctxWANDev: {name: "wandev", spec: "WANDevice.{i}.", get: "WANDevice.", what: "WAN device"},
}

// wanStatus098 maps ConnectionStatus (TR-098 WANIPConnection / WANPPPConnection).
var wanStatus098 = map[string]string{
	"Connected": "connected", "Connecting": "connecting", "Authenticating": "connecting",
	"Unconfigured": "disconnected", "Disconnected": "disconnected", "Disconnecting": "disconnected",
	"PendingDisconnect": "disconnected",
}

// beaconType098 maps BeaconType to the TR-181 security mode names the model uses.
var beaconType098 = map[string]string{
	"None": "None", "Basic": "WEP", "WPA": "WPA-Personal", "11i": "WPA2-Personal",
	"WPAand11i": "WPA-WPA2-Personal",
}

// hostInterface maps Hosts.Host.{i}.InterfaceType (TR-098 and TR-181 share the enumeration).
var hostInterface = map[string]string{
	"Ethernet": "ethernet", "802.11": "wifi", "HomePNA": "homepna", "HomePlug": "homeplug",
	"MoCA": "moca", "G.hn": "ghn", "UPA": "upa", "Other": "other",
}

var tr098Bindings = slices.Concat(commonBindings, []Binding{
	{Key: "wan.access_type", Param: "{wandev}WANCommonInterfaceConfig.WANAccessType", XSD: "string"},
	{Key: "wan.connection_type", Param: "{wanip}AddressingType", XSD: "string", Derived: true,
		Sources: []string{"{wanip}ConnectionType", "{wanppp}TransportType", "{wanppp}ConnectionType"}},
	{Key: "wan.status", Param: "{wanip}ConnectionStatus", XSD: "string", Enum: wanStatus098},
	{Key: "wan.status", Param: "{wanppp}ConnectionStatus", XSD: "string", Enum: wanStatus098},
	{Key: "wan.enabled", Param: "{wanip}Enable", XSD: "boolean"},
	{Key: "wan.enabled", Param: "{wanppp}Enable", XSD: "boolean"},
	{Key: "wan.ipv4_address", Param: "{wanip}ExternalIPAddress", XSD: "string"},
	{Key: "wan.ipv4_address", Param: "{wanppp}ExternalIPAddress", XSD: "string"},
	{Key: "wan.ipv4_netmask", Param: "{wanip}SubnetMask", XSD: "string"},
	{Key: "wan.gateway", Param: "{wanip}DefaultGateway", XSD: "string"},
	{Key: "wan.gateway", Param: "{wanppp}RemoteIPAddress", XSD: "string"},
	{Key: "wan.dns_servers", Param: "{wanip}DNSServers", XSD: "string"},
	{Key: "wan.dns_servers", Param: "{wanppp}DNSServers", XSD: "string"},
	{Key: "wan.uptime", Param: "{wanip}Uptime", XSD: "unsignedInt"},
	{Key: "wan.uptime", Param: "{wanppp}Uptime", XSD: "unsignedInt"},
	{Key: "wan.mac", Param: "{wanip}MACAddress", XSD: "string"},
	{Key: "wan.mac", Param: "{wanppp}MACAddress", XSD: "string"},
	{Key: "wan.ppp_username", Param: "{wanppp}Username", XSD: "string"},
	{Key: "wan.bytes_sent", Param: "{wandev}WANCommonInterfaceConfig.TotalBytesSent", XSD: "unsignedInt"},
	{Key: "wan.bytes_received", Param: "{wandev}WANCommonInterfaceConfig.TotalBytesReceived", XSD: "unsignedInt"},
	{Key: "wan.packets_sent", Param: "{wandev}WANCommonInterfaceConfig.TotalPacketsSent", XSD: "unsignedInt"},
	{Key: "wan.packets_received", Param: "{wandev}WANCommonInterfaceConfig.TotalPacketsReceived", XSD: "unsignedInt"},

	{Key: "lan.ipv4_address", Param: "LANDevice.1.LANHostConfigManagement.IPInterface.1.IPInterfaceIPAddress", XSD: "string"},
	{Key: "lan.ipv4_netmask", Param: "LANDevice.1.LANHostConfigManagement.IPInterface.1.IPInterfaceSubnetMask", XSD: "string"},
	{Key: "lan.dhcp_server_enabled", Param: "LANDevice.1.LANHostConfigManagement.DHCPServerEnable", XSD: "boolean"},
	{Key: "lan.dhcp_pool_start", Param: "LANDevice.1.LANHostConfigManagement.MinAddress", XSD: "string"},
	{Key: "lan.dhcp_pool_end", Param: "LANDevice.1.LANHostConfigManagement.MaxAddress", XSD: "string"},
	{Key: "lan.dhcp_lease_time", Param: "LANDevice.1.LANHostConfigManagement.DHCPLeaseTime", XSD: "int"},
	{Key: "lan.dns_servers", Param: "LANDevice.1.LANHostConfigManagement.DNSServers", XSD: "string"},

	// TR-098 has no radio object: each WLANConfiguration carries its radio settings, so
	// wifi.radio.{i} and wifi.ssid.{i} share the WLANConfiguration instance number.
	{Key: "wifi.radio.{i}.enabled", Param: "LANDevice.1.WLANConfiguration.{i}.RadioEnabled", XSD: "boolean"},
	{Key: "wifi.radio.{i}.channel", Param: "LANDevice.1.WLANConfiguration.{i}.Channel", XSD: "unsignedInt"},
	{Key: "wifi.radio.{i}.band", Param: "LANDevice.1.WLANConfiguration.{i}.Channel", XSD: "unsignedInt", Read: bandOfChannel, ReadOnly: true},
	{Key: "wifi.radio.{i}.auto_channel", Param: "LANDevice.1.WLANConfiguration.{i}.AutoChannelEnable", XSD: "boolean"},
	{Key: "wifi.radio.{i}.standard", Param: "LANDevice.1.WLANConfiguration.{i}.Standard", XSD: "string", ReadOnly: true},
	{Key: "wifi.radio.{i}.transmit_power", Param: "LANDevice.1.WLANConfiguration.{i}.TransmitPower", XSD: "unsignedInt"},
	{Key: "wifi.ssid.{i}.enabled", Param: "LANDevice.1.WLANConfiguration.{i}.Enable", XSD: "boolean"},
	{Key: "wifi.ssid.{i}.ssid", Param: "LANDevice.1.WLANConfiguration.{i}.SSID", XSD: "string", Write: validSSID},
	{Key: "wifi.ssid.{i}.radio", Param: "LANDevice.1.WLANConfiguration.{i}.SSID", XSD: "string", Instance: true},
	{Key: "wifi.ssid.{i}.bssid", Param: "LANDevice.1.WLANConfiguration.{i}.BSSID", XSD: "string"},
	{Key: "wifi.ssid.{i}.broadcast", Param: "LANDevice.1.WLANConfiguration.{i}.SSIDAdvertisementEnabled", XSD: "boolean"},
	{Key: "wifi.ssid.{i}.security_mode", Param: "LANDevice.1.WLANConfiguration.{i}.BeaconType", XSD: "string", Enum: beaconType098},
	// The passphrase is in one of three places, by firmware: DenormalizeSet takes the first
	// the device's data model has (KeyPassphrase while the model is unknown).
	{Key: "wifi.ssid.{i}.passphrase", Param: "LANDevice.1.WLANConfiguration.{i}.KeyPassphrase", XSD: "string", Write: validPassphrase},
	{Key: "wifi.ssid.{i}.passphrase", Param: "LANDevice.1.WLANConfiguration.{i}.PreSharedKey.1.KeyPassphrase", XSD: "string", Write: validPassphrase},
	{Key: "wifi.ssid.{i}.passphrase", Param: "LANDevice.1.WLANConfiguration.{i}.PreSharedKey.1.PreSharedKey", XSD: "string", Write: validPassphrase},
	{Key: "wifi.ssid.{i}.clients", Param: "LANDevice.1.WLANConfiguration.{i}.TotalAssociations", XSD: "unsignedInt"},

	{Key: "hosts.count", Param: "LANDevice.1.Hosts.HostNumberOfEntries", XSD: "unsignedInt"},
	{Key: "hosts.{i}.mac", Param: "LANDevice.1.Hosts.Host.{i}.MACAddress", XSD: "string"},
	{Key: "hosts.{i}.ip", Param: "LANDevice.1.Hosts.Host.{i}.IPAddress", XSD: "string"},
	{Key: "hosts.{i}.name", Param: "LANDevice.1.Hosts.Host.{i}.HostName", XSD: "string"},
	{Key: "hosts.{i}.interface", Param: "LANDevice.1.Hosts.Host.{i}.InterfaceType", XSD: "string", Enum: hostInterface},
	{Key: "hosts.{i}.active", Param: "LANDevice.1.Hosts.Host.{i}.Active", XSD: "boolean"},
})

// wanCandidate098 is one WANIPConnection / WANPPPConnection seen in the parameters.
type wanCandidate098 struct {
	prefix, dev string // relative to the root, ending in "."
	ctx         int
	status, ip  string
}

// scan098 picks the default WAN connection: the one Layer3Forwarding.DefaultConnectionService
// names, else a connected one with an address, else the first by path.
func scan098(v *view) {
	var buf [4]wanCandidate098
	cands := buf[:0]
	def := ""
	for name, val := range v.params {
		rel, ok := strings.CutPrefix(name, v.root)
		if !ok {
			continue
		}
		if rel == "Layer3Forwarding.DefaultConnectionService" {
			def = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(val.Value), v.root), ".")
			continue
		}
		prefix, dev, ctx, ok := wanConnection098(rel)
		if !ok {
			continue
		}
		i := 0
		for i < len(cands) && cands[i].prefix != prefix {
			i++
		}
		if i == len(cands) {
			cands = append(cands, wanCandidate098{prefix: prefix, dev: dev, ctx: ctx})
		}
		switch rel[len(prefix):] {
		case "ConnectionStatus":
			cands[i].status = val.Value
		case "ExternalIPAddress":
			cands[i].ip = val.Value
		}
	}
	best, bestScore := -1, -1
	for i, c := range cands {
		score := 0
		if def != "" && def+"." == c.prefix {
			score += 100
		}
		if c.status == "Connected" {
			score += 10
		}
		if c.ip != "" && c.ip != "0.0.0.0" {
			score += 5
		}
		if score > bestScore || score == bestScore && c.prefix < cands[best].prefix {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return
	}
	c := cands[best]
	v.ctx[c.ctx], v.ctx[ctxWANDev] = c.prefix, c.dev
	if !v.wantDerived {
		return
	}
	raw := func(p string) string { return v.params[v.root+c.prefix+p].Value }
	var ct string
	if c.ctx == ctxWANIP {
		ct = strings.ToLower(raw("AddressingType"))
		if raw("ConnectionType") == "IP_Bridged" {
			ct = "bridged"
		}
	} else {
		ct = strings.ToLower(raw("TransportType"))
		if ct == "" {
			ct = "ppp"
		}
		if raw("ConnectionType") == "PPPoE_Bridged" {
			ct = "bridged"
		}
	}
	if ct != "" {
		v.state["wan.connection_type"] = ct
	}
}

// wanConnection098 splits "WANDevice.1.WANConnectionDevice.2.WANPPPConnection.1.X" into the
// connection prefix, the WANDevice prefix and the context.
func wanConnection098(rel string) (prefix, dev string, ctx int, ok bool) {
	rest, ok := cutInstance(rel, "WANDevice")
	if !ok {
		return "", "", 0, false
	}
	dev = rel[:len(rel)-len(rest)]
	if rest, ok = cutInstance(rest, "WANConnectionDevice"); !ok {
		return "", "", 0, false
	}
	var r2 string
	if r2, ok = cutInstance(rest, "WANIPConnection"); ok {
		ctx = ctxWANIP
	} else if r2, ok = cutInstance(rest, "WANPPPConnection"); ok {
		ctx = ctxWANPPP
	} else {
		return "", "", 0, false
	}
	return rel[:len(rel)-len(r2)], dev, ctx, true
}

// cutInstance cuts "Obj.<n>." off the front of s.
func cutInstance(s, obj string) (string, bool) {
	if len(s) <= len(obj)+1 || s[:len(obj)] != obj || s[len(obj)] != '.' {
		return "", false
	}
	s = s[len(obj)+1:]
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 || i == len(s) || s[i] != '.' {
		return "", false
	}
	return s[i+1:], true
}
