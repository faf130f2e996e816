package translator

import (
	"errors"
	"strconv"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/standard"
)

func expose(key, typ, unit string, access sdk.Access, desc string) sdk.Expose {
	return sdk.Expose{Key: key, Type: typ, Unit: unit, Access: access, Description: desc}
}

// Extension is the Huawei layer: keys under "huawei." and TR-098 bindings (parameter names from
// the BM632w data model). Huawei's TR-181 devices get the standard mapping.
var Extension = standard.Extension{
	Exposes: []sdk.Expose{
		expose("huawei.telnet_enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "the Telnet service is on (a security risk: switch it off)"),
		expose("huawei.telnet_port", sdk.TypeInteger, "", sdk.ReadWrite, "Telnet service port"),
		expose("huawei.firewall_level", sdk.TypeString, "", sdk.ReadWrite, "firewall level: disabled, low, medium, high"),
		expose("huawei.syslog_enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "the device keeps a system log"),
		expose("huawei.wifi.enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "master switch of the WLAN"),
		expose("huawei.wifi.radio.{i}.channel_in_use", sdk.TypeInteger, "", sdk.Read, "channel actually in use (differs from wifi.radio.{i}.channel under auto channel)"),
		expose("huawei.wifi.radio.{i}.transmit_power", sdk.TypeInteger, "", sdk.ReadWrite, "vendor transmit power value (the BM632w reports 12)"),
		expose("huawei.wifi.radio.{i}.bandwidth", sdk.TypeString, "MHz", sdk.ReadWrite, "802.11n channel width: 20, 40 or 20/40"),
		expose("huawei.wifi.ssid.{i}.max_clients", sdk.TypeInteger, "", sdk.ReadWrite, "most Wi-Fi clients the SSID accepts (X_HUAWEI_AssociateDeviceNum: a limit, the current count is wifi.ssid.{i}.clients)"),
		expose("huawei.wifi.ssid.{i}.isolation", sdk.TypeBoolean, "", sdk.ReadWrite, "Wi-Fi clients cannot reach each other"),
		expose("huawei.hosts.{i}.device_type", sdk.TypeString, "", sdk.Read, "device type the gateway guessed (Computer, STB, Phone, Camera)"),
		expose("huawei.wan.dmz_enabled", sdk.TypeBoolean, "", sdk.ReadWrite, "DMZ forwarding is on"),
		expose("huawei.wan.dmz_host", sdk.TypeString, "", sdk.ReadWrite, "LAN address that receives DMZ traffic"),
		expose("huawei.wan.services", sdk.TypeString, "", sdk.Read, "services carried by the WAN connection, e.g. INTERNET_TR069_VOICE"),
		expose("huawei.wimax.state", sdk.TypeString, "", sdk.Read, "WiMAX link state"),
		expose("huawei.wimax.bsid", sdk.TypeString, "", sdk.Read, "base station id"),
		expose("huawei.wimax.rssi", sdk.TypeNumber, "dBm", sdk.Read, "received signal strength"),
		expose("huawei.wimax.cinr", sdk.TypeNumber, "dB", sdk.Read, "carrier to interference-plus-noise ratio (reuse 1)"),
		expose("huawei.wimax.tx_power", sdk.TypeNumber, "dBm", sdk.Read, "transmit power"),
		expose("huawei.wimax.signal_strength", sdk.TypeInteger, "%", sdk.Read, "signal strength"),
		expose("huawei.wimax.link_quality", sdk.TypeInteger, "%", sdk.Read, "link quality (reuse 1)"),
		expose("huawei.wimax.frequency", sdk.TypeNumber, "kHz", sdk.Read, "centre frequency"),
		expose("huawei.wimax.bandwidth", sdk.TypeNumber, "kHz", sdk.Read, "channel bandwidth"),
		expose("huawei.wimax.downlink_modulation", sdk.TypeString, "", sdk.Read, "downlink modulation and coding, e.g. 64-QAM(CTC)5/6"),
		expose("huawei.wimax.uplink_modulation", sdk.TypeString, "", sdk.Read, "uplink modulation and coding"),
	},
	TR098: []standard.Binding{
		{Key: "huawei.telnet_enabled", Param: "DeviceInfo.X_HUAWEI_ServiceManage.TelnetEnable", XSD: "boolean"},
		{Key: "huawei.telnet_port", Param: "DeviceInfo.X_HUAWEI_ServiceManage.TelnetPort", XSD: "int"},
		{Key: "huawei.firewall_level", Param: "X_HUAWEI_FireWall.CurrentLevel", XSD: "string", Enum: firewallLevels},
		{Key: "huawei.syslog_enabled", Param: "X_HUAWEI_SyslogConfig.Enable", XSD: "boolean"},
		{Key: "huawei.wifi.enabled", Param: "LANDevice.1.X_HUAWEI_WLANEnable", XSD: "boolean"},
		{Key: "huawei.wifi.radio.{i}.channel_in_use", Param: "LANDevice.1.WLANConfiguration.{i}.X_HUAWEI_ChannelUsed", XSD: "int"},
		{Key: "huawei.wifi.radio.{i}.transmit_power", Param: "LANDevice.1.WLANConfiguration.{i}.X_HUAWEI_PowerValue", XSD: "unsignedInt"},
		{Key: "huawei.wifi.radio.{i}.bandwidth", Param: "LANDevice.1.WLANConfiguration.{i}.X_HUAWEI_Wlan11NBWControl", XSD: "string", Write: bandwidth},
		{Key: "huawei.wifi.ssid.{i}.max_clients", Param: "LANDevice.1.WLANConfiguration.{i}.X_HUAWEI_AssociateDeviceNum", XSD: "unsignedInt"},
		{Key: "huawei.wifi.ssid.{i}.isolation", Param: "LANDevice.1.WLANConfiguration.{i}.X_HUAWEI_WlanIsolateControl", XSD: "boolean"},
		{Key: "huawei.hosts.{i}.device_type", Param: "LANDevice.1.Hosts.Host.{i}.X_HUAWEI_DeviceType", XSD: "string"},
		{Key: "huawei.wan.dmz_enabled", Param: "{wanip}X_HUAWEI_DMZ.DMZEnable", XSD: "boolean"},
		{Key: "huawei.wan.dmz_host", Param: "{wanip}X_HUAWEI_DMZ.DMZHostIPAddress", XSD: "string"},
		{Key: "huawei.wan.services", Param: "{wanip}X_HUAWEI_ServiceList", XSD: "string"},
		{Key: "huawei.wimax.state", Param: "WiMAX.Status.ConnState", XSD: "string"},
		{Key: "huawei.wimax.bsid", Param: "WiMAX.Status.BSID", XSD: "string"},
		{Key: "huawei.wimax.rssi", Param: "WiMAX.Status.RSSI", XSD: "string", Read: measured("dBm")},
		{Key: "huawei.wimax.cinr", Param: "WiMAX.Status.CINR1", XSD: "string", Read: measured("dB")},
		{Key: "huawei.wimax.tx_power", Param: "WiMAX.Status.Power", XSD: "string", Read: measured("dBm")},
		{Key: "huawei.wimax.signal_strength", Param: "WiMAX.Status.SignalStrength", XSD: "string", Read: percent},
		{Key: "huawei.wimax.link_quality", Param: "WiMAX.Status.LinkQualityReuse1", XSD: "string", Read: percent},
		{Key: "huawei.wimax.frequency", Param: "WiMAX.Status.ConnectFreq", XSD: "string", Read: measured("KHz")},
		{Key: "huawei.wimax.bandwidth", Param: "WiMAX.Status.ConnectBand", XSD: "string", Read: measured("KHz")},
		{Key: "huawei.wimax.downlink_modulation", Param: "WiMAX.Status.DLFEC", XSD: "string"},
		{Key: "huawei.wimax.uplink_modulation", Param: "WiMAX.Status.ULFEC", XSD: "string"},

		// Standard keys fed from Huawei parameters, with exactly the standard meaning.
		// The BM632w has no KeyPassphrase: it takes the passphrase in PreSharedKey.1.PreSharedKey.
		{Key: "wifi.ssid.{i}.passphrase", Param: "LANDevice.1.WLANConfiguration.{i}.PreSharedKey.1.PreSharedKey", XSD: "string", Write: standard.WritePassphrase},
		// Huawei spells WPA+WPA2 "WPAWPA2", outside the TR-098 BeaconType enumeration.
		{Key: "wifi.ssid.{i}.security_mode", Param: "LANDevice.1.WLANConfiguration.{i}.BeaconType", XSD: "string", Enum: beaconTypes},
		// Huawei hosts carry Layer2Interface instead of InterfaceType.
		{Key: "hosts.{i}.interface", Param: "LANDevice.1.Hosts.Host.{i}.Layer2Interface", XSD: "string", Read: hostInterface},
	},
}

// firewallLevels maps X_HUAWEI_FireWall.CurrentLevel (the levels of its FilterMode table).
var firewallLevels = map[string]string{"Disable": "disabled", "Low": "low", "Medium": "medium", "High": "high"}

var beaconTypes = map[string]string{
	"None": "None", "Basic": "WEP", "WPA": "WPA-Personal", "11i": "WPA2-Personal", "WPAWPA2": "WPA-WPA2-Personal",
}

// measured reads WiMAX status text such as "-43.70dBm" or "3532500KHz".
func measured(unit string) func(string) (any, error) {
	return func(raw string) (any, error) {
		s, ok := strings.CutSuffix(strings.TrimSpace(raw), unit)
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if !ok || err != nil {
			return nil, errors.New("not a number in " + unit)
		}
		return f, nil
	}
}

// percent reads "100%".
func percent(raw string) (any, error) {
	s, ok := strings.CutSuffix(strings.TrimSpace(raw), "%")
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil {
		return nil, errors.New("not a percentage")
	}
	return n, nil
}

// hostInterface reads the Layer2Interface reference of a host.
func hostInterface(raw string) (any, error) {
	switch {
	case strings.Contains(raw, ".WLANConfiguration."):
		return "wifi", nil
	case strings.Contains(raw, ".LANEthernetInterfaceConfig."):
		return "ethernet", nil
	case raw == "":
		return nil, errors.New("empty value")
	}
	return raw, nil
}

// bandwidth accepts the X_HUAWEI_Wlan11NBWControl values.
func bandwidth(v any) (string, error) {
	switch s, _ := v.(string); s {
	case "20", "40", "20/40":
		return s, nil
	}
	return "", errors.New("expects one of 20, 40, 20/40")
}
