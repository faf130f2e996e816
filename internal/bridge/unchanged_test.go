package bridge

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// countingTranslators is fakeTranslators counting its Normalize calls.
type countingTranslators struct {
	fakeTranslators
	normalized atomic.Int32
}

func (c *countingTranslators) Normalize(ctx context.Context, dev sdk.DeviceInfo, params map[string]sdk.Value) (string, sdk.State, error) {
	c.normalized.Add(1)
	return c.fakeTranslators.Normalize(ctx, dev, params)
}

// A periodic Inform that reports the same values as the last one changes nothing: it is not
// normalized again (the translator and the load of every raw parameter from the store took
// about half the gateway's CPU per periodic session) and publishes no state; one that reports
// a new value is normalized and its state published.
func TestPeriodicInformThatChangesNothingIsNotNormalized(t *testing.T) {
	f := newFixture(t, Options{Interview: InterviewOptions{Disabled: true}, ParamsCache: -1})
	tr := &countingTranslators{}
	f.b.tr = tr
	stateTopic := "cwmp2mqtt/" + devID + "/state"
	f.inform("2 PERIODIC")
	f.pub.waitFor(t, stateTopic, map[string]any{"values": map[string]any{"model": "1", "device.firmware": "V1R2"}})
	first := tr.normalized.Load()
	if first == 0 {
		t.Fatal("the first Inform was not normalized")
	}
	states := len(f.pub.published(stateTopic))
	for range 3 {
		f.inform("2 PERIODIC")
	}
	if n := tr.normalized.Load(); n != first {
		t.Fatalf("3 Informs that change nothing normalized %d times", n-first)
	}
	if n := len(f.pub.published(stateTopic)); n != states {
		t.Fatalf("%d states published by Informs that change nothing", n-states)
	}

	f.informReporting([]soap.ParameterValue{{Name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
		Value: soap.Value{Type: "string", Raw: "V2R0"}}}, "2 PERIODIC")
	f.pub.waitFor(t, stateTopic, map[string]any{"values": map[string]any{"model": "1", "device.firmware": "V2R0"}})
}

// An Inform that repeats the last Inform's values after a GetParameterValues changed one of
// them records its values again: the state follows the device's latest report.
func TestInformRepeatingItsValuesAfterAReadChangedThemIsRecorded(t *testing.T) {
	f := newFixture(t, Options{Interview: InterviewOptions{Disabled: true}, ParamsCache: -1})
	f.b.tr = &countingTranslators{}
	stateTopic := "cwmp2mqtt/" + devID + "/state"
	const fw = "InternetGatewayDevice.DeviceInfo.SoftwareVersion"
	s := f.inform("2 PERIODIC")
	f.pub.waitFor(t, stateTopic, map[string]any{"values": map[string]any{"model": "1", "device.firmware": "V1R2"}})
	f.rpc(`{"id":"g","method":"GetParameterValues","args":{"names":["` + fw + `"]},"expires":60}`)
	task := f.next(s)
	f.b.TaskDone(context.Background(), s, task, &soap.GetParameterValuesResponse{ParameterList: []soap.ParameterValue{
		{Name: fw, Value: soap.Value{Type: "string", Raw: "V9R9"}}}}, nil)
	f.pub.waitFor(t, stateTopic, map[string]any{"values": map[string]any{"model": "1", "device.firmware": "V9R9"}})
	f.b.SessionEnded(context.Background(), s, nil, acs.EndDone)
	f.inform("2 PERIODIC") // V1R2 again, the very list of the first Inform
	f.pub.waitFor(t, stateTopic, map[string]any{"values": map[string]any{"model": "1", "device.firmware": "V1R2"}})
}
