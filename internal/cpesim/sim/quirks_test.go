package sim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/auth"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

func withQuirks(qs ...Quirk) func(*Config) {
	return func(c *Config) { c.Quirks = qs }
}

// connectionRequest sends a Digest-authenticated CR with the TR-181 model's credentials.
func connectionRequest(t *testing.T, url string) *http.Response {
	t.Helper()
	client := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "cpe", auth.ClientOptions{}), Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("connection request: %v", err)
	}
	resp.Body.Close()
	return resp
}

func TestParseQuirks(t *testing.T) {
	qs, err := ParseQuirks(" short-gpv,periodic-only,,short-gpv")
	if err != nil || !slices.Equal(qs, Quirks{QuirkShortGPV, QuirkPeriodicOnly}) {
		t.Errorf("ParseQuirks = %v, %v", qs, err)
	}
	if _, err := ParseQuirks("short-gpv,crash-always"); err == nil || !strings.Contains(err.Error(), `"crash-always"`) {
		t.Errorf("unknown quirk: %v", err)
	}
	if _, err := NewCPE(Config{ACSURL: "http://x/", Model: &datamodel.Model{}, Quirks: Quirks{"nope"}}); err == nil {
		t.Error("NewCPE accepted an unknown quirk")
	}
}

func TestQuirkPeriodicOnlyNeverBoots(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, withQuirks(QuirkPeriodicOnly))
	if got := eventCodes(acs.lastInform().Events); !slices.Equal(got, []string{EventPeriodic}) {
		t.Errorf("first Inform events = %v, want only 2 PERIODIC", got)
	}
	mark := tc.rec.Mark()
	tc.run(t, acs, &soap.Reboot{CommandKey: "rb"})
	s := tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent("M Reboot", "rb") })
	if s.HasEvent(EventBoot) || s.HasEvent(EventBootstrap) || !s.HasEvent(EventPeriodic) {
		t.Errorf("after Reboot: events %v", eventCodes(s.Events))
	}
}

func TestQuirkCrashOnUnknownName(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, func(c *Config) {
		c.Quirks, c.CrashSilence = Quirks{QuirkCrashOnUnknownName}, time.Second
	})
	url, err := tc.ListenCR(tc.ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Known names are answered as usual.
	if _, ok := tc.run(t, acs, &soap.GetParameterValues{ParameterNames: []string{"Device.DeviceInfo.", "Device.WiFi.SSID.1.SSID"}})[0].(*soap.GetParameterValuesResponse); !ok {
		t.Fatal("GPV of known names not answered")
	}
	const missing = "Device.DeviceInfo.X_VENDOR_Missing"
	mark := tc.rec.Mark()
	acs.enqueue(&soap.GetParameterValues{ParameterNames: []string{"Device.DeviceInfo.UpTime", missing}})
	tc.Inform(EventConnectionRequest, "")
	s, err := tc.rec.WaitSession(tc.ctx, mark, nil)
	var se *SessionError
	if err != nil || !errors.As(s.Err, &se) || se.Kind != KindCrash {
		t.Fatalf("session with the unknown name = %+v, %v", s, err)
	}
	if n := len(acs.allResponses()); n != 1 {
		t.Errorf("the ACS got %d answers, want only the first GPV's (the crash answers nothing)", n)
	}
	// Down: a connection request is dropped unanswered.
	client := &http.Client{Transport: auth.NewClientTransport(nil, "cpe", "cpe", auth.ClientOptions{}), Timeout: 10 * time.Second}
	if resp, err := client.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("crashed CPE answered a connection request: %d", resp.StatusCode)
	}
	// It comes back with 1 BOOT, RetryCount 0.
	back, err := tc.rec.WaitSession(tc.ctx, mark, func(s SessionResult) bool { return s.Err == nil })
	if err != nil {
		t.Fatalf("no session after the crash: %v", err)
	}
	if !back.HasEvent(EventBoot) || back.Retry != 0 {
		t.Errorf("after the crash: events %v RetryCount %d", eventCodes(back.Events), back.Retry)
	}
	if n := tc.rec.Crashes(mark, ""); n != 1 {
		t.Errorf("Crashes = %d", n)
	}
	if n := tc.rec.Received(mark, "TEST0001", "GetParameterValues", missing); n != 1 {
		t.Errorf("Received(GPV, %s) = %d", missing, n)
	}
	if n := tc.rec.CountCRs(mark, func(e CREvent) bool { return e.Status == 0 && e.Quirk == QuirkCrashOnUnknownName }); n != 1 {
		t.Errorf("dropped connection requests recorded: %d (%+v)", n, tc.rec.CRs())
	}
	// Every RPC counts as a crash candidate: an SPV of an object name as a parameter crashes too.
	mark = tc.rec.Mark()
	acs.enqueue(&soap.SetParameterValues{ParameterList: []soap.ParameterValue{{Name: "Device.WiFi.SSID.1.", Value: soap.Value{Type: "string", Raw: "x"}}}})
	tc.Inform(EventConnectionRequest, "")
	if _, err := tc.rec.WaitRPC(tc.ctx, mark, func(e RPCEvent) bool { return e.Crashed && e.Method == "SetParameterValues" }); err != nil {
		t.Errorf("SPV of an object did not crash: %v", err)
	}
}

func TestQuirkShortGPVAnswersLastValueOnly(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, withQuirks(QuirkShortGPV))
	names := []string{"Device.DeviceInfo.SerialNumber", "Device.DeviceInfo.UpTime", "Device.WiFi.SSID.1.SSID"}
	mark := tc.rec.Mark()
	resp := tc.run(t, acs, &soap.GetParameterValues{ParameterNames: names}, &soap.GetParameterValues{ParameterNames: names[:1]})
	short := resp[0].(*soap.GetParameterValuesResponse).ParameterList
	if len(short) != 1 || short[0].Name != "Device.WiFi.SSID.1.SSID" || short[0].Value.Raw != "SimNet-1" {
		t.Errorf("GPV of 3 names answered %+v, want only the last", short)
	}
	if one := resp[1].(*soap.GetParameterValuesResponse).ParameterList; len(one) != 1 || one[0].Value.Raw != "TEST0001" {
		t.Errorf("GPV of 1 name answered %+v", one)
	}
	if n := tc.rec.CountRPCs(mark, func(e RPCEvent) bool { return e.Quirk == QuirkShortGPV }); n != 1 {
		t.Errorf("short answers recorded: %d", n)
	}
	// Quirks can be changed at run time (e.g. once the bootstrap is over).
	if err := tc.SetQuirks(Quirks{"short-gvp"}); err == nil {
		t.Error("SetQuirks accepted a misspelt quirk")
	}
	if err := tc.SetQuirks(nil); err != nil || len(tc.Quirks()) != 0 {
		t.Fatalf("SetQuirks(nil): %v, quirks %v", err, tc.Quirks())
	}
	if all := tc.run(t, acs, &soap.GetParameterValues{ParameterNames: names})[0].(*soap.GetParameterValuesResponse).ParameterList; len(all) != 3 {
		t.Errorf("without the quirk: %d values", len(all))
	}
}

func TestQuirkMalformedRebootResponse(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR098Huawei, withQuirks(QuirkMalformedRebootResponse))
	mark := tc.rec.Mark()
	resp := tc.run(t, acs, &soap.Reboot{CommandKey: "rb-1"})
	raw := acs.rawResponses()
	if last := raw[len(raw)-1]; !strings.Contains(last, "<soap-env:Body><cwmp:Reboot><RebootResponse/></cwmp:Reboot></soap-env:Body>") {
		t.Errorf("Reboot answered with\n%s", last)
	}
	if _, ok := resp[0].(*soap.Reboot); !ok {
		t.Errorf("the malformed answer decodes as %T, want the Reboot element it really is", resp[0])
	}
	// It reboots all the same.
	tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent("M Reboot", "rb-1") && s.HasEvent(EventBoot) })
	if n := tc.rec.CountRPCs(mark, func(e RPCEvent) bool { return e.Quirk == QuirkMalformedRebootResponse }); n != 1 {
		t.Errorf("malformed answers recorded: %d", n)
	}
}

func TestQuirkUndeclaredFaultPrefix(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, withQuirks(QuirkUndeclaredFaultPrefix))
	mark := tc.rec.Mark()
	resp := tc.run(t, acs, &soap.SetParameterValues{ParameterList: []soap.ParameterValue{
		{Name: "Device.DeviceInfo.UpTime", Value: soap.Value{Type: "unsignedInt", Raw: "1"}}}})
	if f, ok := resp[0].(*soap.Fault); !ok || f.Code != soap.FaultCPEInvalidArguments || len(f.SetParameterValuesFaults) != 1 ||
		f.SetParameterValuesFaults[0].FaultCode != soap.FaultCPENonWritableParameter {
		t.Errorf("internal/cwmp/soap decodes the fault as %#v", resp[0])
	}
	raw := acs.rawResponses()
	last := raw[len(raw)-1]
	for _, want := range []string{"<soap:Fault>", "<FaultCode>9003</FaultCode>", "<ParameterName>Device.DeviceInfo.UpTime</ParameterName><FaultCode>9008</FaultCode>"} {
		if !strings.Contains(last, want) {
			t.Errorf("fault lacks %s:\n%s", want, last)
		}
	}
	if strings.Contains(last, "xmlns:soap=") {
		t.Errorf("the soap prefix is declared:\n%s", last)
	}
	e, err := tc.rec.WaitRPC(tc.ctx, mark, nil)
	if err != nil || e.Quirk != QuirkUndeclaredFaultPrefix || e.Fault == nil || e.Fault.Code != soap.FaultCPEInvalidArguments {
		t.Errorf("recorded %+v, %v", e, err)
	}
}

func TestQuirkIgnoreNextLevel(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, withQuirks(QuirkIgnoreNextLevel))
	resp := tc.run(t, acs, &soap.GetParameterNames{ParameterPath: "Device.WiFi.SSID.", NextLevel: true})
	var names []string
	for _, p := range resp[0].(*soap.GetParameterNamesResponse).ParameterList {
		names = append(names, p.Name)
	}
	if !slices.Contains(names, "Device.WiFi.SSID.1.SSID") || !slices.Contains(names, "Device.WiFi.SSID.") {
		t.Errorf("GPN NextLevel=true answered %v, want the whole subtree", names)
	}
	if n := tc.rec.CountRPCs(Mark{}, func(e RPCEvent) bool { return e.Quirk == QuirkIgnoreNextLevel }); n != 1 {
		t.Errorf("ignored NextLevel recorded: %d", n)
	}
}

func TestQuirkCRNoSession(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, withQuirks(QuirkCRNoSession))
	url, err := tc.ListenCR(tc.ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mark := tc.rec.Mark()
	if resp := connectionRequest(t, url); resp.StatusCode != http.StatusOK {
		t.Fatalf("connection request: %d", resp.StatusCode)
	}
	if _, err := tc.rec.WaitCR(tc.ctx, mark, func(e CREvent) bool { return e.Status == 200 && e.Quirk == QuirkCRNoSession }); err != nil {
		t.Fatal(err)
	}
	// The next session (its own periodic one) carries no 6 CONNECTION REQUEST: none was queued.
	tc.Inform(EventPeriodic, "")
	s := tc.waitSession(t, mark, nil)
	if s.HasEvent(EventConnectionRequest) {
		t.Errorf("session after the CR: events %v", eventCodes(s.Events))
	}
	if n := tc.rec.CountSessions(mark, nil); n != 1 {
		t.Errorf("%d sessions, want only the periodic one", n)
	}
}

func TestQuirkBusyAfterReset(t *testing.T) {
	acs := newScriptedACS(t)
	tc := startCPE(t, acs, datamodel.LoadTR181, func(c *Config) {
		c.Quirks, c.BusyAfterReset = Quirks{QuirkBusyAfterReset}, 2*time.Second
	})
	url, err := tc.ListenCR(tc.ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mark := tc.rec.Mark()
	tc.run(t, acs, &soap.Reboot{CommandKey: "rb"})
	// Right after the session the CPE is rebooting: busy, unless the machine was so slow the
	// window already closed (then the reboot session must have come).
	resp := connectionRequest(t, url)
	switch resp.StatusCode {
	case http.StatusServiceUnavailable:
		if ra := resp.Header.Get("Retry-After"); ra != "1" && ra != "2" {
			t.Errorf("Retry-After %q", ra)
		}
		if n := tc.rec.CountCRs(mark, func(e CREvent) bool { return e.Status == 503 && e.Quirk == QuirkBusyAfterReset }); n != 1 {
			t.Errorf("busy CRs recorded: %d", n)
		}
	case http.StatusOK:
		t.Logf("busy window over before the CR (slow machine)")
	default:
		t.Errorf("connection request while rebooting: %d", resp.StatusCode)
	}
	// It informs once the reboot is over, and then takes connection requests again.
	tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent("M Reboot", "rb") })
	if resp := connectionRequest(t, url); resp.StatusCode != http.StatusOK {
		t.Errorf("connection request after the reboot: %d", resp.StatusCode)
	}
	// FactoryReset is a reset too.
	mark = tc.rec.Mark()
	tc.run(t, acs, &soap.FactoryReset{})
	if tc.BusyFor() <= 0 {
		tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent(EventBootstrap) })
		return
	}
	if resp := connectionRequest(t, url); resp.StatusCode != http.StatusServiceUnavailable && tc.BusyFor() > 0 {
		t.Errorf("connection request after FactoryReset: %d", resp.StatusCode)
	}
	tc.waitSession(t, mark, func(s SessionResult) bool { return s.HasEvent(EventBootstrap) })
}

func TestFleetQuirksPerCPE(t *testing.T) {
	acs := newScriptedACS(t)
	rec := NewRecorder()
	f, err := NewFleet(FleetConfig{N: 2, Model: func(int) (*datamodel.Model, error) { return datamodel.LoadTR181() },
		Quirks: func(i int) Quirks {
			if i == 1 {
				return Quirks{QuirkPeriodicOnly}
			}
			return nil
		},
		CPE: Config{ACSURL: acs.URL(), PeriodicInterval: time.Hour, Hooks: rec.Hooks()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	for i, want := range []string{EventBoot, EventPeriodic} {
		sn := f.CPE(i).Serial()
		s, err := rec.WaitSession(ctx, Mark{}, func(s SessionResult) bool { return s.Serial == sn })
		if err != nil || !s.HasEvent(want) || (i == 1 && s.HasEvent(EventBoot)) {
			t.Errorf("CPE %d first session %v, %v: want %s", i, eventCodes(s.Events), err, want)
		}
	}
}
