package standard

import (
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// TR-181 (Device:2, spec/tr-181-2-17-0-cwmp-full.xml). Contexts: the WAN and LAN IP interfaces,
// chosen by scan181.
const (
	ctxWAN = iota
	ctxLAN
)

var tr181Contexts = []contextDef{
	// scan181 weighs NAT, the default route and the connection-request host to pick the WAN,
	// and takes the LAN from the first DHCPv4 server pool's Interface: a get reads them too.
	ctxWAN: {name: "wan", spec: "IP.Interface.{i}.", get: "IP.Interface.", what: "WAN IP interface",
		also: []string{"NAT.InterfaceSetting.", "Routing.Router.", "ManagementServer.ConnectionRequestURL"}},
	ctxLAN: {name: "lan", spec: "IP.Interface.{i}.", get: "IP.Interface.", what: "LAN IP interface",
		also: []string{"DHCPv4.Server.Pool."}},
}

// ifStatus181 maps the interface Status enumeration of TR-181 (IP.Interface, PPP.Interface).
var ifStatus181 = map[string]string{
	"Up": "connected", "Down": "disconnected", "Unknown": "unknown", "Dormant": "disconnected",
	"NotPresent": "disconnected", "LowerLayerDown": "disconnected", "Error": "disconnected",
}

var tr181Bindings = slices.Concat(commonBindings, []Binding{
	{Key: "wan.connection_type", Param: "{wan}IPv4Address.1.AddressingType", XSD: "string", Derived: true,
		Sources: []string{"{wan}LowerLayers"}},
	{Key: "wan.status", Param: "{wan}Status", XSD: "string", Enum: ifStatus181},
	{Key: "wan.enabled", Param: "{wan}Enable", XSD: "boolean"},
	{Key: "wan.ipv4_address", Param: "{wan}IPv4Address.1.IPAddress", XSD: "string"},
	{Key: "wan.ipv4_netmask", Param: "{wan}IPv4Address.1.SubnetMask", XSD: "string"},
	{Key: "wan.ipv6_address", Param: "{wan}IPv6Address.{i}.IPAddress", XSD: "string", Derived: true},
	{Key: "wan.gateway", Param: "Routing.Router.{i}.IPv4Forwarding.{i}.GatewayIPAddress", XSD: "string", Derived: true,
		Sources: []string{"Routing.Router.{i}.IPv4Forwarding.{i}.DestIPAddress", "Routing.Router.{i}.IPv4Forwarding.{i}.Interface"}},
	{Key: "wan.dns_servers", Param: "DNS.Client.Server.{i}.DNSServer", XSD: "string", Derived: true,
		Sources: []string{"DNS.Client.Server.{i}.Enable"}},
	{Key: "wan.bytes_sent", Param: "{wan}Stats.BytesSent", XSD: "unsignedLong"},
	{Key: "wan.bytes_received", Param: "{wan}Stats.BytesReceived", XSD: "unsignedLong"},
	{Key: "wan.packets_sent", Param: "{wan}Stats.PacketsSent", XSD: "unsignedLong"},
	{Key: "wan.packets_received", Param: "{wan}Stats.PacketsReceived", XSD: "unsignedLong"},

	{Key: "lan.ipv4_address", Param: "{lan}IPv4Address.1.IPAddress", XSD: "string"},
	{Key: "lan.ipv4_netmask", Param: "{lan}IPv4Address.1.SubnetMask", XSD: "string"},
	{Key: "lan.dhcp_server_enabled", Param: "DHCPv4.Server.Enable", XSD: "boolean"},
	{Key: "lan.dhcp_pool_start", Param: "DHCPv4.Server.Pool.1.MinAddress", XSD: "string"},
	{Key: "lan.dhcp_pool_end", Param: "DHCPv4.Server.Pool.1.MaxAddress", XSD: "string"},
	{Key: "lan.dhcp_lease_time", Param: "DHCPv4.Server.Pool.1.LeaseTime", XSD: "int"},
	{Key: "lan.dns_servers", Param: "DHCPv4.Server.Pool.1.DNSServers", XSD: "string"},

	{Key: "wifi.radio.{i}.enabled", Param: "WiFi.Radio.{i}.Enable", XSD: "boolean"},
	{Key: "wifi.radio.{i}.channel", Param: "WiFi.Radio.{i}.Channel", XSD: "unsignedInt"},
	{Key: "wifi.radio.{i}.auto_channel", Param: "WiFi.Radio.{i}.AutoChannelEnable", XSD: "boolean"},
	{Key: "wifi.radio.{i}.band", Param: "WiFi.Radio.{i}.OperatingFrequencyBand", XSD: "string"},
	{Key: "wifi.radio.{i}.standard", Param: "WiFi.Radio.{i}.OperatingStandards", XSD: "string"},
	{Key: "wifi.radio.{i}.transmit_power", Param: "WiFi.Radio.{i}.TransmitPower", XSD: "int"},
	{Key: "wifi.ssid.{i}.enabled", Param: "WiFi.SSID.{i}.Enable", XSD: "boolean"},
	{Key: "wifi.ssid.{i}.ssid", Param: "WiFi.SSID.{i}.SSID", XSD: "string", Write: validSSID},
	{Key: "wifi.ssid.{i}.radio", Param: "WiFi.SSID.{i}.LowerLayers", XSD: "string", Read: refIndex},
	{Key: "wifi.ssid.{i}.bssid", Param: "WiFi.SSID.{i}.BSSID", XSD: "string"},
	// Security and clients live on the AccessPoint that references the SSID.
	{Key: "wifi.ssid.{i}.broadcast", Param: "WiFi.AccessPoint.{i}.SSIDAdvertisementEnabled", XSD: "boolean", RemapAP: true},
	{Key: "wifi.ssid.{i}.security_mode", Param: "WiFi.AccessPoint.{i}.Security.ModeEnabled", XSD: "string", RemapAP: true},
	{Key: "wifi.ssid.{i}.passphrase", Param: "WiFi.AccessPoint.{i}.Security.KeyPassphrase", XSD: "string", Write: validPassphrase, RemapAP: true},
	{Key: "wifi.ssid.{i}.clients", Param: "WiFi.AccessPoint.{i}.AssociatedDeviceNumberOfEntries", XSD: "unsignedInt", RemapAP: true},

	{Key: "hosts.count", Param: "Hosts.HostNumberOfEntries", XSD: "unsignedInt"},
	{Key: "hosts.{i}.mac", Param: "Hosts.Host.{i}.PhysAddress", XSD: "string"},
	{Key: "hosts.{i}.ip", Param: "Hosts.Host.{i}.IPAddress", XSD: "string"},
	{Key: "hosts.{i}.name", Param: "Hosts.Host.{i}.HostName", XSD: "string"},
	{Key: "hosts.{i}.interface", Param: "Hosts.Host.{i}.InterfaceType", XSD: "string", Enum: hostInterface},
	{Key: "hosts.{i}.active", Param: "Hosts.Host.{i}.Active", XSD: "boolean"},
})

// ipInterface181 is what scan181 learns of one Device.IP.Interface.{i}.
type ipInterface181 struct {
	prefix     string // "IP.Interface.2."
	inst       int64
	v4, v4Type string // first non-empty IPv4Address (lowest instance)
	v4Inst     int64
	v6         string // first global IPv6 address (lowest instance)
	v6Inst     int64
	lower      string
	loopback   bool
	score      int
}

// route181 is one Routing.Router.{r}.IPv4Forwarding.{f}.
type route181 struct {
	router, fwd         int64
	dest, mask, gw, ifc string
	disabled            bool
}

// dns181 is one DNS.Client.Server.{i}.
type dns181 struct {
	inst     int64
	server   string
	disabled bool
}

// scan181 picks the WAN IP interface (NAT enabled on it, the default route through it, the
// connection-request host on it, a public address — in that order of weight) and the LAN one (the
// interface of the first DHCPv4 server pool), then derives gateway, DNS, IPv6 and connection type.
// A private address alone does not make a WAN: better no WAN keys than the LAN published as WAN.
func scan181(v *view) {
	var ifBuf [8]ipInterface181
	ifs := ifBuf[:0]
	var routes []route181
	var dns []dns181
	var natIfs []string
	lanRef, crHost := "", ""
	var poolInst int64 = -1
	at := func(prefix string, inst int64) *ipInterface181 {
		for i := range ifs {
			if ifs[i].prefix == prefix {
				return &ifs[i]
			}
		}
		ifs = append(ifs, ipInterface181{prefix: prefix, inst: inst})
		return &ifs[len(ifs)-1]
	}
	for name, val := range v.params {
		rel, ok := strings.CutPrefix(name, v.root)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(rel, "IP.Interface."):
			inst, rest, ok := instanceAfter(rel, "IP.Interface.")
			if !ok {
				continue
			}
			ifc := at(rel[:len(rel)-len(rest)], inst)
			switch {
			case rest == "LowerLayers":
				ifc.lower = val.Value
			case rest == "Loopback":
				ifc.loopback = ifc.loopback || val.Value == "true" || val.Value == "1"
			case rest == "Type":
				ifc.loopback = ifc.loopback || val.Value == "Loopback"
			case strings.HasPrefix(rest, "IPv4Address."):
				k, field, ok := instanceAfter(rest, "IPv4Address.")
				if !ok {
					continue
				}
				switch field {
				case "IPAddress":
					if val.Value != "" && (ifc.v4 == "" || k < ifc.v4Inst) {
						ifc.v4, ifc.v4Inst = val.Value, k
					}
				case "AddressingType":
					if k == 1 {
						ifc.v4Type = val.Value
					}
				}
			case strings.HasPrefix(rest, "IPv6Address."):
				k, field, ok := instanceAfter(rest, "IPv6Address.")
				if ok && field == "IPAddress" && globalIPv6(val.Value) && (ifc.v6 == "" || k < ifc.v6Inst) {
					ifc.v6, ifc.v6Inst = val.Value, k
				}
			}
		case strings.HasPrefix(rel, "NAT.InterfaceSetting."):
			if strings.HasSuffix(rel, ".Interface") && val.Value != "" {
				natIfs = append(natIfs, val.Value)
			}
		case strings.HasPrefix(rel, "Routing.Router."):
			r, rest, ok := instanceAfter(rel, "Routing.Router.")
			if !ok {
				continue
			}
			f, field, ok := instanceAfter(rest, "IPv4Forwarding.")
			if !ok {
				continue
			}
			i := slices.IndexFunc(routes, func(x route181) bool { return x.router == r && x.fwd == f })
			if i < 0 {
				routes = append(routes, route181{router: r, fwd: f})
				i = len(routes) - 1
			}
			switch field {
			case "DestIPAddress":
				routes[i].dest = val.Value
			case "DestSubnetMask":
				routes[i].mask = val.Value
			case "GatewayIPAddress":
				routes[i].gw = val.Value
			case "Interface":
				routes[i].ifc = val.Value
			case "Enable":
				routes[i].disabled = val.Value == "false" || val.Value == "0"
			}
		case strings.HasPrefix(rel, "DNS.Client.Server."):
			k, field, ok := instanceAfter(rel, "DNS.Client.Server.")
			if !ok {
				continue
			}
			i := slices.IndexFunc(dns, func(x dns181) bool { return x.inst == k })
			if i < 0 {
				dns = append(dns, dns181{inst: k})
				i = len(dns) - 1
			}
			switch field {
			case "DNSServer":
				dns[i].server = val.Value
			case "Enable":
				dns[i].disabled = val.Value == "false" || val.Value == "0"
			}
		case strings.HasPrefix(rel, "DHCPv4.Server.Pool."):
			k, field, ok := instanceAfter(rel, "DHCPv4.Server.Pool.")
			if ok && field == "Interface" && val.Value != "" && (poolInst < 0 || k < poolInst) {
				lanRef, poolInst = val.Value, k
			}
		case rel == "ManagementServer.ConnectionRequestURL":
			if u, err := url.Parse(val.Value); err == nil {
				crHost = u.Hostname()
			}
		case strings.HasPrefix(rel, "WiFi.AccessPoint."):
			ap, field, ok := instanceAfter(rel, "WiFi.AccessPoint.")
			if ok && field == "SSIDReference" {
				if ssid, err := refIndex(val.Value); err == nil {
					if v.apToSSID == nil {
						v.apToSSID = map[int64]int64{}
					}
					v.apToSSID[ap] = ssid.(int64)
				}
			}
		}
	}

	var defRoute *route181
	for i := range routes {
		r := &routes[i]
		if r.disabled || r.gw == "" || (r.dest != "" && r.dest != "0.0.0.0") || (r.mask != "" && r.mask != "0.0.0.0") {
			continue
		}
		if defRoute == nil || r.router < defRoute.router || r.router == defRoute.router && r.fwd < defRoute.fwd {
			defRoute = r
		}
	}
	wan, lan := -1, -1
	for i := range ifs {
		ifc := &ifs[i]
		if lanRef != "" && sameRef(lanRef, v.root, ifc.prefix) {
			lan = i
			continue
		}
		if ifc.loopback || strings.HasPrefix(ifc.v4, "127.") {
			continue
		}
		for _, n := range natIfs {
			if sameRef(n, v.root, ifc.prefix) {
				ifc.score += 100
			}
		}
		if defRoute != nil && sameRef(defRoute.ifc, v.root, ifc.prefix) {
			ifc.score += 50
		}
		if crHost != "" && crHost == ifc.v4 {
			ifc.score += 40
		}
		if a, err := netip.ParseAddr(ifc.v4); err == nil && a.IsGlobalUnicast() && !a.IsPrivate() {
			ifc.score += 10
		}
		if ifc.score >= 10 && (wan < 0 || ifc.score > ifs[wan].score || ifc.score == ifs[wan].score && ifc.inst < ifs[wan].inst) {
			wan = i
		}
	}
	if lan >= 0 {
		v.ctx[ctxLAN] = ifs[lan].prefix
	}
	if wan < 0 {
		return
	}
	w := &ifs[wan]
	v.ctx[ctxWAN] = w.prefix
	if !v.wantDerived {
		return
	}
	if w.v6 != "" {
		v.state["wan.ipv6_address"] = w.v6
	}
	if defRoute != nil && (defRoute.ifc == "" || sameRef(defRoute.ifc, v.root, w.prefix)) {
		v.state["wan.gateway"] = defRoute.gw
	}
	slices.SortFunc(dns, func(a, b dns181) int { return int(a.inst - b.inst) })
	var servers []string
	for _, d := range dns {
		if !d.disabled && d.server != "" {
			servers = append(servers, d.server)
		}
	}
	if len(servers) > 0 {
		v.state["wan.dns_servers"] = strings.Join(servers, ",")
	}
	switch {
	case strings.Contains(w.lower, "PPP.Interface."):
		v.state["wan.connection_type"] = "ppp"
	case w.v4Type == "IPCP":
		v.state["wan.connection_type"] = "ppp"
	case w.v4Type != "":
		v.state["wan.connection_type"] = strings.ToLower(w.v4Type)
	}
}

// instanceAfter parses "<prefix><n>.<rest>" and returns n and rest.
func instanceAfter(s, prefix string) (int64, string, bool) {
	if !strings.HasPrefix(s, prefix) {
		return 0, "", false
	}
	s = s[len(prefix):]
	dot := strings.IndexByte(s, '.')
	if dot <= 0 {
		return 0, "", false
	}
	n, err := strconv.ParseInt(s[:dot], 10, 64)
	if err != nil {
		return 0, "", false
	}
	return n, s[dot+1:], true
}

// sameRef reports whether a reference value ("Device.IP.Interface.2" or "Device.IP.Interface.2.")
// names the object prefix "IP.Interface.2." below root.
func sameRef(ref, root, prefix string) bool {
	ref = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(ref), root), ".")
	return ref == strings.TrimSuffix(prefix, ".")
}

// globalIPv6 keeps global addresses, not link-local or unspecified ones.
func globalIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && a.IsGlobalUnicast()
}
