package bridge

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

func infos(names ...string) []soap.ParameterInfo {
	out := make([]soap.ParameterInfo, len(names))
	for i, n := range names {
		out[i] = soap.ParameterInfo{Name: n}
	}
	return out
}

// A whole-tree GetParameterNames answered with one level only (a CPE that ignores NextLevel=false)
// is no data model: the interview walks the tree instead.
func TestInterviewOneLevelAnswerIsWalked(t *testing.T) {
	if !oneLevel("Device.", infos("Device.DeviceInfo.", "Device.WiFi.", "Device.RootDataModelVersion")) {
		t.Error("one level of objects taken for the whole tree")
	}
	if oneLevel("Device.", infos("Device.DeviceInfo.", "Device.DeviceInfo.UpTime", "Device.WiFi.")) {
		t.Error("a whole tree taken for one level")
	}
	if oneLevel("Device.", infos("Device.RootDataModelVersion")) {
		t.Error("a tree of one parameter taken for one level")
	}
}

// The walk asks each object of a one-level answer; an answer that goes deeper (a CPE that ignores
// NextLevel=true) covers its subtree, and nothing below is asked again.
func TestInterviewWalkAsksOnlyWhatIsNotCovered(t *testing.T) {
	got := toWalk("Device.", infos("Device.", "Device.DeviceInfo.", "Device.WiFi.", "Device.RootDataModelVersion"))
	if !slices.Equal(got, []string{"Device.DeviceInfo.", "Device.WiFi."}) {
		t.Errorf("one-level answer: walk %v", got)
	}
	if got := toWalk("Device.", infos("Device.DeviceInfo.", "Device.DeviceInfo.UpTime", "Device.Hosts.Host.")); got != nil {
		t.Errorf("whole-subtree answer: walk %v, want nothing", got)
	}
}

// The bridge's own guard: a set plan writing a parameter or object outside the device's data
// model is refused, naming it; an unknown model lets everything through.
func TestInterviewSetPlanOutsideTheModelIsRefused(t *testing.T) {
	model := sdk.NewDataModel([]string{"Device.WiFi.SSID.1.SSID", "Device.WiFi.SSID.1."})
	plan := []sdk.RPC{
		{Method: "SetParameterValues", Args: map[string]any{"parameters": []any{
			[]any{"Device.WiFi.SSID.1.SSID", "home", "xsd:string"},
			[]any{"Device.WiFi.SSID.2.SSID", "guest", "xsd:string"},
		}}},
		{Method: "AddObject", Args: map[string]any{"object": "Device.NAT.PortMapping."}},
	}
	if why := lackingInPlan(model, plan); why != "not in the device's data model: Device.WiFi.SSID.2.SSID, Device.NAT.PortMapping." {
		t.Errorf("reason %q", why)
	}
	if why := lackingInPlan(nil, plan); why != "" {
		t.Errorf("unknown model refused the plan: %q", why)
	}
	kept, lacking := keepKnown(model, []string{"Device.WiFi.SSID.", "Device.Hosts."})
	if !slices.Equal(kept, []string{"Device.WiFi.SSID."}) || !slices.Equal(lacking, []string{"Device.Hosts."}) {
		t.Errorf("keepKnown: %v %v", kept, lacking)
	}
}

// An interview whose GetParameterNames the CPE dropped the session on tasks.max_attempts times
// fails at the next Inform, and interview_failed says that, not that it took too long.
func TestInterviewGivenUpAfterDroppedSessionsSaysWhy(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.tr = fakeTranslators{}
	gpn := func(s *acs.Session) *acs.Task {
		t.Helper()
		for {
			task, err := f.b.NextTask(context.Background(), s)
			if err != nil || task == nil {
				t.Fatalf("no GetParameterNames sent (%v)", err)
			}
			if _, ok := task.Request.(*soap.GetParameterNames); ok {
				return task
			}
			var resp soap.Message = &soap.SetParameterValuesResponse{}
			if task.Request.MethodName() == "GetParameterValues" {
				resp = &soap.GetParameterValuesResponse{}
			}
			f.b.TaskDone(context.Background(), s, task, resp, nil)
		}
	}
	s := f.inform("0 BOOTSTRAP", "1 BOOT")
	f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/event", map[string]any{"event": "interview_started"})
	for range f.b.opts.MaxAttempts {
		task := gpn(s)
		next := f.inform("1 BOOT") // the CPE died on it and came back
		f.b.SessionEnded(context.Background(), s, task, acs.EndSuperseded)
		s = next
	}
	f.inform("2 PERIODIC") // the next Inform finds the interview without a request
	ev := f.pub.waitFor(t, "cwmp2mqtt/"+devID+"/event", map[string]any{"event": "interview_failed"})
	why, _ := ev["data"].(map[string]any)["error"].(string)
	if !strings.Contains(why, "given up") || !strings.Contains(why, "dropped the session") || strings.Contains(why, "max_time") {
		t.Errorf("interview_failed says %q: want that its request was given up after dropped sessions", why)
	}
}
