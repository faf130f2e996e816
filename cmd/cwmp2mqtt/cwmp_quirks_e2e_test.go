package main

// End-to-end tests of the CWMP layer against quirky CPE firmware (issue 7, points 4, 8 and 9):
// a real gateway, a cpesim CPE with a quirk profile, and a paho platform.

import (
	"errors"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/sim"
)

// acsFaults counts the sessions of cpe since mark that the ACS broke with a SOAP fault.
func acsFaults(cpe *simCPE, mark sim.Mark) int {
	return cpe.rec.CountSessions(mark, func(s sim.SessionResult) bool {
		var se *sim.SessionError
		return errors.As(s.Err, &se) && se.Kind == sim.KindACSFault
	})
}

// Point 4: a CPE answers Reboot with <cwmp:Reboot><RebootResponse/></cwmp:Reboot>. The Reboot
// ends done, the CPE gets no fault (the real client died on one), it reboots, and later requests
// still run.
func TestE2EMalformedRebootResponse(t *testing.T) {
	gw := startGateway(t, nil)
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	cpe := startReadyCPE(t, gw.ACSURL, pf, "QREBOOT1", nil)
	cpe.SetQuirks(sim.Quirks{sim.QuirkMalformedRebootResponse})
	B, res := "cwmp2mqtt/"+cpe.ID, "cwmp2mqtt/"+cpe.ID+"/rpc/result"
	mark := cpe.rec.Mark()

	pf.publish(B+"/rpc", `{"id":"rb-1","method":"Reboot","args":{"command_key":"rb-q"},"expires":30}`)
	pf.await(res, map[string]any{"id": "rb-1", "status": "done"}, wait)
	cpe.waitSession(t, mark, func(s sim.SessionResult) bool { return s.HasEvent("M Reboot", "rb-q") && s.Err == nil })

	pf.publish(B+"/rpc", `{"id":"after-rb","method":"GetParameterValues","args":{"names":["`+pSoftware+`"]},"expires":30}`)
	pf.await(res, map[string]any{"id": "after-rb", "status": "done"}, wait)

	requireOneTerminal(t, pf, res, "rb-1", "done")
	requireOneTerminal(t, pf, res, "after-rb", "done")
	if n := cpe.rec.Received(mark, "", "Reboot", ""); n != 1 {
		t.Errorf("Reboot sent %d times, want once", n)
	}
	if n := cpe.rec.CountRPCs(mark, func(e sim.RPCEvent) bool { return e.Quirk == sim.QuirkMalformedRebootResponse }); n != 1 {
		t.Errorf("malformed Reboot answers: %d", n)
	}
	if n := acsFaults(cpe, mark); n != 0 {
		t.Errorf("the ACS answered the CPE with a SOAP fault in %d sessions", n)
	}
}

// Point 8: a CPE sends its faults as <soap:Fault> with the prefix never declared. The platform
// gets the CPE's own FaultCode and FaultString, not {"code":0,"string":""}.
func TestE2EUndeclaredPrefixFaultPublished(t *testing.T) {
	gw := startGateway(t, nil)
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	cpe := startReadyCPE(t, gw.ACSURL, pf, "QFAULT1", nil)
	B, res := "cwmp2mqtt/"+cpe.ID, "cwmp2mqtt/"+cpe.ID+"/rpc/result"
	// The quirk matters from here on only: the bootstrap provisioning above ran on a plain CPE.
	cpe.SetQuirks(sim.Quirks{sim.QuirkUndeclaredFaultPrefix})
	const cpeString = "Attempt to set a non-writable parameter (firmware 1.2.3)"
	cpe.Faults().FailMethod("SetParameterValues", sim.FaultRule{Code: 9008, String: cpeString, Times: 1})

	pf.publish(B+"/rpc", `{"id":"spv-ro","method":"SetParameterValues","args":{"parameters":[["`+pProvCode+`","x","xsd:string"]]},"expires":30}`)
	r := pf.await(res, map[string]any{"id": "spv-ro", "status": "fault"}, wait)
	f, _ := r["fault"].(map[string]any)
	if f["code"] != float64(9008) || f["string"] != cpeString {
		t.Errorf("published fault %v, want the CPE's 9008 %q", r["fault"], cpeString)
	}
	if n := cpe.rec.CountRPCs(sim.Mark{}, func(e sim.RPCEvent) bool { return e.Quirk == sim.QuirkUndeclaredFaultPrefix }); n != 1 {
		t.Errorf("faults sent with the undeclared prefix: %d", n)
	}
	requireOneTerminal(t, pf, res, "spv-ro", "fault")
}

// Point 9: a session that ends on a protocol error is published as the session_fault bridge
// event with the device, the CPE's address and the reason. Here the CPE crashes on a read of a
// name it lacks and the session times out owing the answer.
func TestE2ESessionFaultPublished(t *testing.T) {
	gw := startGateway(t, map[string]string{"CWMP2MQTT_CWMP_SESSION_IDLE_TIMEOUT": "1s"})
	pf := newPlatform(t, gw.Broker, "cwmp2mqtt/#")
	cpe := startReadyCPE(t, gw.ACSURL, pf, "QCRASH1", nil)
	cpe.SetQuirks(sim.Quirks{sim.QuirkCrashOnUnknownName})
	B := "cwmp2mqtt/" + cpe.ID
	const missing = "InternetGatewayDevice.DeviceInfo.X_VENDOR_MemoryStatus.Total"
	mark := cpe.rec.Mark()

	pf.publish(B+"/rpc", `{"id":"crash-1","method":"GetParameterValues","args":{"names":["`+missing+`"]},"expires":60}`)
	ev := pf.await("cwmp2mqtt/bridge/event", map[string]any{"event": "session_fault", "device": cpe.ID}, wait)
	if reason, _ := ev["reason"].(string); !strings.Contains(reason, "no answer to GetParameterValues") {
		t.Errorf("session_fault reason %q", reason)
	}
	if remote, _ := ev["remote"].(string); !strings.HasPrefix(remote, "127.0.0.1:") {
		t.Errorf("session_fault remote %q", remote)
	}
	if n := cpe.rec.Crashes(mark, ""); n < 1 {
		t.Errorf("the CPE never crashed (%d)", n)
	}
}
