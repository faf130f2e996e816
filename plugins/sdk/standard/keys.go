package standard

import "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"

// ModelVersion is the friendly device-model version this package produces; every state carries
// it under KeyModel. Keys are only ever added within a version (docs/device-model.md, "Versioning").
const (
	ModelVersion = "1"
	KeyModel     = "model"
)

func expose(key, typ, unit string, access sdk.Access, desc string) sdk.Expose {
	return sdk.Expose{Key: key, Type: typ, Unit: unit, Access: access, Description: desc}
}

// standardKeys is the friendly device model v1 as code; docs/device-model.md documents the same
// list with the parameters that feed each key, and TestDocListsEveryKey keeps the two in step.
var standardKeys = []sdk.Expose{
	expose(KeyModel, sdk.TypeString, "", sdk.Read, "device-model version of this state (\"1\")"),

	expose("device.manufacturer", sdk.TypeString, "", sdk.Read, "manufacturer name"),
	expose("device.oui", sdk.TypeString, "", sdk.Read, "manufacturer OUI (6 hex digits)"),
	expose("device.model", sdk.TypeString, "", sdk.Read, "model name"),
	expose("device.product_class", sdk.TypeString, "", sdk.Read, "product class"),
	expose("device.serial", sdk.TypeString, "", sdk.Read, "serial number"),
	expose("device.firmware", sdk.TypeString, "", sdk.Read, "firmware (software) version"),
	expose("device.hardware_version", sdk.TypeString, "", sdk.Read, "hardware version"),
	expose("device.description", sdk.TypeString, "", sdk.Read, "free-text device description"),
	expose("device.provisioning_code", sdk.TypeString, "", sdk.ReadWrite, "operator provisioning code"),
	expose("device.uptime", sdk.TypeInteger, "s", sdk.Read, "time since the last boot"),
	expose("device.cpu_usage", sdk.TypeInteger, "%", sdk.Read, "CPU usage"),
	expose("device.memory_total", sdk.TypeInteger, "KiB", sdk.Read, "physical memory"),
	expose("device.memory_free", sdk.TypeInteger, "KiB", sdk.Read, "free physical memory"),
	expose("device.current_time", sdk.TypeDateTime, "", sdk.Read, "the device's clock"),

	expose("wan.access_type", sdk.TypeString, "", sdk.Read, "physical access: DSL, Ethernet, POTS, WiMAX … (TR-098 only)"),
	expose("wan.connection_type", sdk.TypeString, "", sdk.Read, "how the WAN gets its address: dhcp, static, autoip, pppoe, pppoa, ppp, l2tp, pptp, bridged"),
	expose("wan.status", sdk.TypeString, "", sdk.Read, "connected, connecting, disconnected or unknown"),
	expose("wan.enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "the WAN connection is enabled"),
	expose("wan.ipv4_address", sdk.TypeString, "", sdk.Read, "public (external) IPv4 address"),
	expose("wan.ipv4_netmask", sdk.TypeString, "", sdk.Read, "IPv4 subnet mask of the WAN"),
	expose("wan.ipv6_address", sdk.TypeString, "", sdk.Read, "first global IPv6 address (TR-181 only)"),
	expose("wan.gateway", sdk.TypeString, "", sdk.Read, "IPv4 default gateway"),
	expose("wan.dns_servers", sdk.TypeString, "", sdk.Read, "DNS servers in use, comma-separated"),
	expose("wan.uptime", sdk.TypeInteger, "s", sdk.Read, "time since the WAN connection came up (TR-098 only)"),
	expose("wan.mac", sdk.TypeString, "", sdk.Read, "MAC address of the WAN connection (TR-098 only)"),
	expose("wan.ppp_username", sdk.TypeString, "", sdk.ReadWrite, "PPP user name (PPP connections only)"),
	expose("wan.bytes_sent", sdk.TypeInteger, "bytes", sdk.Read, "bytes sent (counter, wraps)"),
	expose("wan.bytes_received", sdk.TypeInteger, "bytes", sdk.Read, "bytes received (counter, wraps)"),
	expose("wan.packets_sent", sdk.TypeInteger, "", sdk.Read, "packets sent (counter, wraps)"),
	expose("wan.packets_received", sdk.TypeInteger, "", sdk.Read, "packets received (counter, wraps)"),

	expose("lan.ipv4_address", sdk.TypeString, "", sdk.ReadWrite, "the gateway's LAN IPv4 address"),
	expose("lan.ipv4_netmask", sdk.TypeString, "", sdk.ReadWrite, "LAN IPv4 subnet mask"),
	expose("lan.dhcp_server_enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "the DHCP server is on"),
	expose("lan.dhcp_pool_start", sdk.TypeString, "", sdk.ReadWrite, "first address of the DHCP pool"),
	expose("lan.dhcp_pool_end", sdk.TypeString, "", sdk.ReadWrite, "last address of the DHCP pool"),
	expose("lan.dhcp_lease_time", sdk.TypeInteger, "s", sdk.ReadWrite, "DHCP lease time (-1 = infinite)"),
	expose("lan.dns_servers", sdk.TypeString, "", sdk.ReadWrite, "DNS servers handed out by DHCP, comma-separated (empty = the gateway)"),

	expose("wifi.radio.{i}.enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "the radio is on"),
	expose("wifi.radio.{i}.channel", sdk.TypeInteger, "", sdk.ReadWrite, "configured channel (writing it makes sense with auto_channel off)"),
	expose("wifi.radio.{i}.auto_channel", sdk.TypeBoolean, "", sdk.ReadWrite, "automatic channel selection"),
	expose("wifi.radio.{i}.band", sdk.TypeString, "", sdk.ReadWrite, "2.4GHz, 5GHz or 6GHz (TR-098: derived from the channel, read-only)"),
	expose("wifi.radio.{i}.standard", sdk.TypeString, "", sdk.ReadWrite, "802.11 standards in use, e.g. b,g,n or ax (read-only in TR-098)"),
	expose("wifi.radio.{i}.transmit_power", sdk.TypeInteger, "%", sdk.ReadWrite, "transmit power in percent of the maximum (-1 = auto)"),

	expose("wifi.ssid.{i}.enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "the SSID is on"),
	expose("wifi.ssid.{i}.ssid", sdk.TypeString, "", sdk.ReadWrite, "network name (1 to 32 bytes)"),
	expose("wifi.ssid.{i}.radio", sdk.TypeInteger, "", sdk.Read, "index of the wifi.radio this SSID runs on"),
	expose("wifi.ssid.{i}.bssid", sdk.TypeString, "", sdk.Read, "BSSID (MAC address)"),
	expose("wifi.ssid.{i}.broadcast", sdk.TypeBoolean, "", sdk.ReadWrite, "the SSID is advertised in beacons (false = hidden)"),
	expose("wifi.ssid.{i}.security_mode", sdk.TypeString, "", sdk.ReadWrite, "None, WEP-64, WEP-128, WPA-Personal, WPA2-Personal, WPA-WPA2-Personal, WPA3-Personal … (TR-181 names)"),
	expose("wifi.ssid.{i}.passphrase", sdk.TypeString, "", sdk.Write, "WPA passphrase, 8 to 63 printable ASCII characters or 64 hex digits; write-only, never published"),
	expose("wifi.ssid.{i}.clients", sdk.TypeInteger, "", sdk.Read, "associated Wi-Fi clients"),

	expose("hosts.count", sdk.TypeInteger, "", sdk.Read, "number of entries in the host table"),
	expose("hosts.{i}.mac", sdk.TypeString, "", sdk.Read, "MAC address"),
	expose("hosts.{i}.ip", sdk.TypeString, "", sdk.Read, "current IP address"),
	expose("hosts.{i}.name", sdk.TypeString, "", sdk.Read, "host name (DHCP or discovered)"),
	expose("hosts.{i}.interface", sdk.TypeString, "", sdk.Read, "wifi, ethernet, or the raw interface type"),
	expose("hosts.{i}.active", sdk.TypeBoolean, "", sdk.Read, "the host is currently connected"),

	expose("management.periodic_inform_enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "periodic Informs are on"),
	expose("management.periodic_inform_interval", sdk.TypeInteger, "s", sdk.ReadWrite, "interval between periodic Informs (at least 1)"),
	expose("management.connection_request_url", sdk.TypeString, "", sdk.Read, "URL the gateway calls to wake the device"),
	expose("management.acs_url", sdk.TypeString, "", sdk.Read, "ACS URL the device reports to (read-only here: a wrong value cuts the device off)"),
	expose("management.parameter_key", sdk.TypeString, "", sdk.Read, "ParameterKey of the last applied configuration change"),
}

// commonBindings are the same in both models: DeviceInfo, Time and ManagementServer have the
// same names below InternetGatewayDevice. (TR-098) and Device. (TR-181).
var commonBindings = []Binding{
	{Key: "device.manufacturer", Param: "DeviceInfo.Manufacturer", XSD: "string"},
	{Key: "device.oui", Param: "DeviceInfo.ManufacturerOUI", XSD: "string"},
	{Key: "device.model", Param: "DeviceInfo.ModelName", XSD: "string"},
	{Key: "device.product_class", Param: "DeviceInfo.ProductClass", XSD: "string"},
	{Key: "device.serial", Param: "DeviceInfo.SerialNumber", XSD: "string"},
	{Key: "device.firmware", Param: "DeviceInfo.SoftwareVersion", XSD: "string"},
	{Key: "device.hardware_version", Param: "DeviceInfo.HardwareVersion", XSD: "string"},
	{Key: "device.description", Param: "DeviceInfo.Description", XSD: "string"},
	{Key: "device.provisioning_code", Param: "DeviceInfo.ProvisioningCode", XSD: "string"},
	{Key: "device.uptime", Param: "DeviceInfo.UpTime", XSD: "unsignedInt"},
	{Key: "device.cpu_usage", Param: "DeviceInfo.ProcessStatus.CPUUsage", XSD: "unsignedInt"},
	{Key: "device.memory_total", Param: "DeviceInfo.MemoryStatus.Total", XSD: "unsignedInt"},
	{Key: "device.memory_free", Param: "DeviceInfo.MemoryStatus.Free", XSD: "unsignedInt"},
	{Key: "device.current_time", Param: "Time.CurrentLocalTime", XSD: "dateTime"},
	{Key: "management.periodic_inform_enabled", Param: "ManagementServer.PeriodicInformEnable", XSD: "boolean"},
	{Key: "management.periodic_inform_interval", Param: "ManagementServer.PeriodicInformInterval", XSD: "unsignedInt", Write: positiveInterval},
	{Key: "management.connection_request_url", Param: "ManagementServer.ConnectionRequestURL", XSD: "string"},
	{Key: "management.acs_url", Param: "ManagementServer.URL", XSD: "string"},
	{Key: "management.parameter_key", Param: "ManagementServer.ParameterKey", XSD: "string"},
}
