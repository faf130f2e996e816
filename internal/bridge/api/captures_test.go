package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Real CPE captures (testdata/, copied from fixtures/real) decoded by the codec become payloads
// that fit their schemas: informs, events, results and faults of real devices, not of our tests.
func TestRealCapturesMakeValidPayloads(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.xml")
	if len(files) < 19 {
		t.Fatalf("testdata holds %d captures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			env, err := soap.Decode(body, `text/xml; charset="utf-8"`)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			switch m := env.Body.(type) {
			case *soap.Inform:
				mustValid(t, "inform", api.InformMessage("D-1", m, received))
				for _, ev := range api.DeviceEventsFromInform("D-1", m, received) {
					mustValid(t, "device-event", ev)
				}
			case *soap.Fault:
				fi := api.FaultResult(m)
				mustValid(t, "rpc-result", api.RPCResult{ID: "r", Device: "D-1", Method: "SetParameterValues", Status: api.StatusFault, Fault: &fi, Time: received})
			default:
				if ev, ok := api.DeviceEventFromRequest("D-1", m, received); ok {
					mustValid(t, "device-event", ev)
					return
				}
				res, err := api.ResultFromMessage(m)
				if err != nil {
					t.Fatalf("%s: %v", m.MethodName(), err)
				}
				mustValid(t, "rpc-result", api.RPCResult{ID: "r", Device: "D-1", Method: strings.TrimSuffix(m.MethodName(), "Response"), Status: api.StatusDone, Result: res, Time: received})
			}
		})
	}
}

func decodeCapture(t *testing.T, name string) soap.Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", name+"-*.xml"))
	if len(files) != 1 {
		t.Fatalf("capture %s: %v", name, files)
	}
	body, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	env, err := soap.Decode(body, "text/xml")
	if err != nil {
		t.Fatal(err)
	}
	return env.Body
}

// Checklist 45: the Thomson 9003 with two SetParameterValuesFault entries (capture 31) reaches
// the platform whole.
func TestChecklist45RealSetParameterValuesFault(t *testing.T) {
	fi := api.FaultResult(decodeCapture(t, "31").(*soap.Fault))
	b, _ := json.Marshal(fi)
	want := `{"code":9003,"string":"Invalid arguments","parameters":[` +
		`{"name":"InternetGatewayDevice.WANDevice.1.WANConnectionDevice.3.WANPPPConnection.1.Password","code":9003,"string":"Invalid arguments"},` +
		`{"name":"InternetGatewayDevice.WANDevice.1.WANConnectionDevice.3.WANPPPConnection.1.Username","code":9003,"string":"Invalid arguments"}]}`
	if string(b) != want {
		t.Errorf("fault:\n got %s\nwant %s", b, want)
	}
}

// Checklist 32: the Cytco inform's "2019-03-05T11:54::14" (capture 06) stays raw, unparsed.
func TestChecklist32RealBadCurrentTime(t *testing.T) {
	m := api.InformMessage("D-1", decodeCapture(t, "06").(*soap.Inform), received)
	if m.CurrentTime.Raw != "2019-03-05T11:54::14" || m.CurrentTime.Time != nil {
		t.Errorf("current_time = %+v", m.CurrentTime)
	}
	if m.Device.OUI != "00a859" || m.RetryCount != 942 {
		t.Errorf("device %+v, retry %d", m.Device, m.RetryCount)
	}
}

// Capture 09: Google Fiber's bootstrap with the non-standard "M TRANSFERCOMPLETE" (checklist 29).
func TestChecklist29RealCombinedEvents(t *testing.T) {
	evs := api.DeviceEventsFromInform("D-1", decodeCapture(t, "09").(*soap.Inform), received)
	var got []string
	for _, e := range evs {
		got = append(got, string(e.Event)+"|"+e.Code)
	}
	if strings.Join(got, ",") != "bootstrap|0 BOOTSTRAP,method|M TRANSFERCOMPLETE" {
		t.Errorf("events = %v", got)
	}
}

// Capture 18: the SpeedTouch GPV with the "unknown" dateTime keeps it as text.
func TestRealGetParameterValuesResult(t *testing.T) {
	res, err := api.ResultFromMessage(decodeCapture(t, "18"))
	if err != nil {
		t.Fatal(err)
	}
	p := res.(api.ValuesResult).Parameters
	if v := p["InternetGatewayDevice.DeviceInfo.VendorConfigFile.1.Date"]; v.Value != "0001-01-01T00:00:00Z" || v.Type != "dateTime" {
		t.Errorf("unknown date = %+v", v)
	}
	if v := p["InternetGatewayDevice.DeviceInfo.SerialNumber"]; v.Value != "CP0644JTHJ4" {
		t.Errorf("serial = %+v", v)
	}
}
