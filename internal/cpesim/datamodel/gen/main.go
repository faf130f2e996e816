// Command gen writes internal/cpesim/datamodel/models/tr181.csv: an instantiated subset of the TR-181
// Device:2 data model, with each parameter's type and writability taken from the Broadband Forum
// XML (tr-181-2-17-0-cwmp-full.xml) and a plausible value (a device-like value for well-known
// names, else the XML default, else the first enumeration value, else the type's zero).
// Tables get a "{i}" template row set that AddObject copies. Run it with go generate in
// internal/cpesim/datamodel.
package main

import (
	"encoding/csv"
	"encoding/xml"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
)

// subset is what the simulated TR-181 device has: XML object name → instances per table level
// (for a name without "{i}" the count is ignored). Zero instances still emit the table and its
// template, so the ACS can AddObject.
var subset = []struct {
	object    string
	instances int
}{
	{"Device.", 0},
	{"Device.DeviceInfo.", 0},
	{"Device.DeviceInfo.MemoryStatus.", 0},
	{"Device.DeviceInfo.ProcessStatus.", 0},
	{"Device.ManagementServer.", 0},
	{"Device.Time.", 0},
	{"Device.Ethernet.", 0},
	{"Device.Ethernet.Interface.{i}.", 2},
	{"Device.Ethernet.Interface.{i}.Stats.", 0},
	{"Device.IP.", 0},
	{"Device.IP.Interface.{i}.", 2},
	{"Device.IP.Interface.{i}.IPv4Address.{i}.", 1},
	{"Device.IP.Interface.{i}.Stats.", 0},
	{"Device.IP.Diagnostics.", 0},
	{"Device.IP.Diagnostics.IPPing.", 0},
	{"Device.WiFi.", 0},
	{"Device.WiFi.Radio.{i}.", 2},
	{"Device.WiFi.Radio.{i}.Stats.", 0},
	{"Device.WiFi.SSID.{i}.", 2},
	{"Device.WiFi.SSID.{i}.Stats.", 0},
	{"Device.WiFi.AccessPoint.{i}.", 2},
	{"Device.WiFi.AccessPoint.{i}.Security.", 0},
	{"Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}.", 0},
	{"Device.Hosts.", 0},
	{"Device.Hosts.Host.{i}.", 2},
	{"Device.Hosts.Host.{i}.IPv4Address.{i}.", 1},
	{"Device.DHCPv4.", 0},
	{"Device.DHCPv4.Server.", 0},
	{"Device.DHCPv4.Server.Pool.{i}.", 1},
	{"Device.DHCPv4.Server.Pool.{i}.StaticAddress.{i}.", 0},
	{"Device.DNS.", 0},
	{"Device.DNS.Client.", 0},
	{"Device.DNS.Client.Server.{i}.", 2},
	{"Device.NAT.", 0},
	{"Device.NAT.PortMapping.{i}.", 0},
	{"Device.Users.", 0},
	{"Device.Users.User.{i}.", 1},
}

// deviceID are the DeviceId rows of the generated model.
var deviceID = [][2]string{
	{"Manufacturer", "cwmp2mqtt"},
	{"OUI", "00D09E"},
	{"ProductClass", "SimGW-181"},
	{"SerialNumber", "SIM181000001"},
}

type document struct {
	DataTypes []dataType `xml:"dataType"`
	Models    []struct {
		Name    string   `xml:"name,attr"`
		Objects []object `xml:"object"`
	} `xml:"model"`
}

type dataType struct {
	Name  string `xml:"name,attr"`
	Base  string `xml:"base,attr"`
	Elems []elem `xml:",any"`
}

type elem struct {
	XMLName xml.Name
	Ref     string `xml:"ref,attr"`
	Base    string `xml:"base,attr"`
	Enums   []struct {
		Value string `xml:"value,attr"`
	} `xml:"enumeration"`
}

type object struct {
	Name       string      `xml:"name,attr"`
	Access     string      `xml:"access,attr"`
	NumEntries string      `xml:"numEntriesParameter,attr"`
	Params     []parameter `xml:"parameter"`
}

type parameter struct {
	Name   string `xml:"name,attr"`
	Access string `xml:"access,attr"`
	Syntax struct {
		Elems   []elem `xml:",any"`
		Default *struct {
			Value string `xml:"value,attr"`
		} `xml:"default"`
	} `xml:"syntax"`
}

func main() {
	spec := flag.String("spec", "tr-181-2-17-0-cwmp-full.xml", "TR-181 CWMP full XML")
	out := flag.String("out", "models/tr181.csv", "output CSV")
	flag.Parse()
	if err := run(*spec, *out); err != nil {
		log.Fatal(err)
	}
}

func run(spec, out string) error {
	data, err := os.ReadFile(spec)
	if err != nil {
		return err
	}
	var doc document
	if err := xml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", spec, err)
	}
	if len(doc.Models) == 0 {
		return fmt.Errorf("%s: no model", spec)
	}
	types := map[string]dataType{}
	for _, dt := range doc.DataTypes {
		types[dt.Name] = dt
	}
	objects := map[string]object{}
	for _, o := range doc.Models[0].Objects {
		objects[o.Name] = o
	}
	counts := map[string]int{}
	for _, s := range subset {
		counts[s.object] = s.instances
	}
	var rows [][]string
	for _, s := range subset {
		o, ok := objects[s.object]
		if !ok {
			return fmt.Errorf("object %s is not in %s", s.object, doc.Models[0].Name)
		}
		for _, name := range instances(s.object, counts) {
			rows = append(rows, objectRows(o, name, types, objects, counts)...)
		}
	}
	slices.SortFunc(rows, func(a, b []string) int { return compareNames(a[0], b[0]) })
	rows = slices.CompactFunc(rows, func(a, b []string) bool { return a[0] == b[0] })

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"Parameter", "Object", "Writable", "Value", "Value type"})
	for _, id := range deviceID {
		w.Write([]string{"DeviceID." + id[0], "false", "false", id[1], "xsd:string"})
	}
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// instances expands an XML object name into the concrete names to emit: each "{i}" level becomes
// 1…n plus the literal "{i}" template; below a template only the template remains.
func instances(xmlName string, counts map[string]int) []string {
	names := []string{""}
	rest := xmlName
	for {
		i := strings.Index(rest, "{i}.")
		if i < 0 {
			break
		}
		prefix := rest[:i]
		rest = rest[i+len("{i}."):]
		table := xmlName[:len(xmlName)-len(rest)]
		var next []string
		for _, n := range names {
			next = append(next, n+prefix+"{i}.")
			if strings.Contains(n, "{i}") {
				continue
			}
			for k := 1; k <= counts[table]; k++ {
				next = append(next, n+prefix+strconv.Itoa(k)+".")
			}
		}
		names = next
	}
	for i := range names {
		names[i] += rest
	}
	return names
}

func boolStr(b bool) string { return strconv.FormatBool(b) }

// objectRows emits the object row (and, for a table instance, the table row) and its parameters.
func objectRows(o object, name string, types map[string]dataType, objects map[string]object, counts map[string]int) [][]string {
	var rows [][]string
	isTable := strings.HasSuffix(o.Name, "{i}.")
	if isTable {
		table := name[:strings.LastIndex(strings.TrimSuffix(name, "."), ".")+1]
		rows = append(rows, []string{strings.TrimSuffix(table, "."), "true", boolStr(o.Access == "readWrite"), "", ""})
	}
	rows = append(rows, []string{strings.TrimSuffix(name, "."), "true", boolStr(isTable && o.Access == "readWrite"), "", ""})
	for _, p := range o.Params {
		typ, enums := resolve(p.Syntax.Elems, types)
		full := name + p.Name
		value := plausible(full, typ)
		switch {
		case value != "":
		case strings.HasSuffix(p.Name, "NumberOfEntries"):
			value = strconv.Itoa(entries(o.Name, p.Name, objects, counts))
		case p.Syntax.Default != nil:
			value = p.Syntax.Default.Value
		case len(enums) > 0:
			value = enums[0]
		default:
			value = zero(typ)
		}
		rows = append(rows, []string{full, "false", boolStr(p.Access == "readWrite"), value, "xsd:" + typ})
	}
	return rows
}

// entries counts the instances of the table whose numEntriesParameter is param of object owner.
func entries(owner, param string, objects map[string]object, counts map[string]int) int {
	for name, o := range objects {
		if o.NumEntries == param && strings.HasPrefix(name, owner) &&
			strings.Count(strings.TrimPrefix(name, owner), ".") == 2 {
			return counts[name]
		}
	}
	return 0
}

// resolve finds the CWMP type of a syntax, following named dataTypes; lists are strings.
func resolve(elems []elem, types map[string]dataType) (string, []string) {
	for _, e := range elems {
		switch e.XMLName.Local {
		case "list":
			return "string", nil
		case "string", "int", "unsignedInt", "long", "unsignedLong", "boolean", "dateTime", "base64", "hexBinary":
			var enums []string
			for _, en := range e.Enums {
				enums = append(enums, en.Value)
			}
			return e.XMLName.Local, enums
		case "decimal":
			return "string", nil
		case "dataType":
			ref := e.Ref
			if ref == "" {
				ref = e.Base
			}
			if dt, ok := types[ref]; ok {
				if typ, enums := resolve(dt.Elems, types); typ != "" {
					return typ, enums
				}
				if dt.Base != "" {
					return resolve([]elem{{XMLName: xml.Name{Local: "dataType"}, Ref: dt.Base}}, types)
				}
			}
		}
	}
	return "", nil
}

func zero(typ string) string {
	switch typ {
	case "int", "unsignedInt", "long", "unsignedLong":
		return "0"
	case "boolean":
		return "false"
	case "dateTime":
		return "0001-01-01T00:00:00Z"
	}
	return ""
}

// instanceNumber is the last instance number in name, 0 in a template.
func instanceNumber(name string) int {
	segs := strings.Split(name, ".")
	for i := len(segs) - 1; i >= 0; i-- {
		if n, err := strconv.Atoi(segs[i]); err == nil {
			return n
		}
		if segs[i] == "{i}" {
			return 0
		}
	}
	return 0
}

// plausible gives a device-like value for well-known names; "" means no opinion.
func plausible(name, typ string) string {
	if strings.Contains(name, "{i}") {
		return ""
	}
	n := instanceNumber(name)
	fixed := map[string]string{
		"Device.RootDataModelVersion":                       "2.17",
		"Device.DeviceInfo.Manufacturer":                    "cwmp2mqtt",
		"Device.DeviceInfo.ManufacturerOUI":                 "00D09E",
		"Device.DeviceInfo.ModelName":                       "SimGW-181",
		"Device.DeviceInfo.Description":                     "cwmp2mqtt simulated TR-181 gateway",
		"Device.DeviceInfo.ProductClass":                    "SimGW-181",
		"Device.DeviceInfo.SerialNumber":                    "SIM181000001",
		"Device.DeviceInfo.HardwareVersion":                 "HW1.0",
		"Device.DeviceInfo.SoftwareVersion":                 "1.0.0",
		"Device.DeviceInfo.UpTime":                          "3600",
		"Device.DeviceInfo.MemoryStatus.Total":              "262144",
		"Device.DeviceInfo.MemoryStatus.Free":               "131072",
		"Device.DeviceInfo.ProcessStatus.CPUUsage":          "7",
		"Device.ManagementServer.URL":                       "http://127.0.0.1:7547/",
		"Device.ManagementServer.PeriodicInformEnable":      "true",
		"Device.ManagementServer.PeriodicInformInterval":    "300",
		"Device.ManagementServer.ConnectionRequestURL":      "http://127.0.0.1:7548/",
		"Device.ManagementServer.ConnectionRequestUsername": "cpe",
		"Device.ManagementServer.ConnectionRequestPassword": "cpe",
		"Device.Time.Enable":                                "true",
		"Device.Time.Status":                                "Synchronized",
		"Device.Time.NTPServer1":                            "pool.ntp.org",
		"Device.Time.CurrentLocalTime":                      "2025-01-01T00:00:00Z",
		"Device.Time.LocalTimeZone":                         "CET-1CEST,M3.5.0,M10.5.0/3",
		"Device.DHCPv4.Server.Enable":                       "true",
		"Device.DHCPv4.Server.Pool.1.MinAddress":            "192.168.1.100",
		"Device.DHCPv4.Server.Pool.1.MaxAddress":            "192.168.1.199",
		"Device.DHCPv4.Server.Pool.1.SubnetMask":            "255.255.255.0",
		"Device.DHCPv4.Server.Pool.1.IPRouters":             "192.168.1.1",
		"Device.DHCPv4.Server.Pool.1.LeaseTime":             "86400",
		"Device.DHCPv4.Server.Pool.1.Interface":             "Device.IP.Interface.1", // the LAN: a CPE names it (lan.* of the standard translator)
		"Device.Users.User.1.Username":                      "admin",
	}
	if v, ok := fixed[name]; ok {
		return v
	}
	last := name[strings.LastIndexByte(name, '.')+1:]
	switch {
	case strings.HasPrefix(name, "Device.WiFi.SSID.") && last == "SSID":
		return fmt.Sprintf("SimNet-%d", n)
	case strings.HasPrefix(name, "Device.WiFi.Radio.") && last == "OperatingFrequencyBand":
		return [...]string{"2.4GHz", "5GHz"}[(n+1)%2]
	case strings.HasPrefix(name, "Device.WiFi.Radio.") && last == "Channel":
		return [...]string{"6", "36"}[(n+1)%2]
	case strings.HasPrefix(name, "Device.IP.Interface.") && last == "IPAddress":
		iface, _ := strconv.Atoi(strings.Split(name, ".")[3])
		return [...]string{"192.168.1.1", "10.0.0.2"}[(iface+1)%2]
	case strings.HasPrefix(name, "Device.IP.Interface.") && last == "SubnetMask":
		return "255.255.255.0"
	case strings.HasPrefix(name, "Device.Hosts.Host.") && last == "IPAddress":
		return fmt.Sprintf("192.168.1.%d", 100+n)
	case strings.HasPrefix(name, "Device.Hosts.Host.") && last == "HostName":
		return fmt.Sprintf("host-%d", n)
	case strings.HasPrefix(name, "Device.DNS.Client.Server.") && last == "DNSServer":
		return fmt.Sprintf("9.9.9.%d", 8+n)
	case last == "MACAddress" || last == "PhysAddress" || last == "BSSID":
		return fmt.Sprintf("02:00:5E:%02X:00:%02X", len(name)%256, n)
	case last == "Enable" && typ == "boolean":
		return "true"
	case last == "Status" && strings.Contains(name, ".Interface.") || last == "Status" && strings.Contains(name, ".SSID.") ||
		last == "Status" && strings.Contains(name, ".Radio."):
		return "Up"
	case last == "Name" && n > 0:
		return strings.ToLower(strings.Split(strings.TrimPrefix(name, "Device."), ".")[0]) + strconv.Itoa(n-1)
	}
	return ""
}

// compareNames orders names as a tree: segment by segment, numbers numerically, "{i}" last.
func compareNames(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		an, aerr := strconv.Atoi(as[i])
		bn, berr := strconv.Atoi(bs[i])
		switch {
		case aerr == nil && berr == nil:
			return an - bn
		case as[i] == "{i}":
			return 1
		case bs[i] == "{i}":
			return -1
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}
