package interview

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)

func newRun(opts Options) *Run { return NewRun(Key("00D09E", "IGD", "1.0"), "Device.", t0, opts) }

// answer gives the run the reply to q one minute after it started, counting the RPC as the
// bridge does.
func answer(t *testing.T, r *Run, q Question, reply Reply) Step {
	t.Helper()
	r.RPCs++
	return r.Answer(q, reply, t0.Add(time.Minute))
}

func listed(names ...string) Reply { return Reply{Names: names, Listed: true} }

func wantNames(t *testing.T, step Step, want ...string) {
	t.Helper()
	if step.Failed != "" || step.Ask != nil || !step.Done {
		t.Fatalf("step %+v: want the complete names", step)
	}
	var got []string
	if step.Model != nil {
		got = slices.Clone(step.Model.Names())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
}

func wantAsk(t *testing.T, step Step, path string, nextLevel bool) Question {
	t.Helper()
	if step.Failed != "" || step.Done || step.Ask == nil {
		t.Fatalf("step %+v: want a question for %s", step, path)
	}
	if *step.Ask != (Question{Path: path, NextLevel: nextLevel}) {
		t.Fatalf("asked %+v, want %s next_level=%v", *step.Ask, path, nextLevel)
	}
	return *step.Ask
}

// A CPE that answers the whole tree is interviewed with one GetParameterNames; names outside the
// data model's root are not kept.
func TestWalkWholeTreeAnswered(t *testing.T) {
	r := newRun(Options{})
	q := r.Discover()
	if q != (Question{Path: "Device."}) {
		t.Fatalf("first question %+v, want the whole tree of Device.", q)
	}
	step := answer(t, r, q, listed("Device.", "Device.DeviceInfo.", "Device.DeviceInfo.UpTime",
		"Device.WiFi.SSID.1.SSID", "InternetGatewayDevice.DeviceInfo.UpTime"))
	wantNames(t, step, "Device.", "Device.DeviceInfo.", "Device.DeviceInfo.UpTime", "Device.WiFi.SSID.1.SSID")
	if r.Model != step.Model || r.Discovering(r.Key) {
		t.Error("the run still discovers after its names are complete")
	}
}

// The walk of a CPE that faults on the whole tree: one NextLevel=true question per object, each
// object found asked in turn, until no object is left.
func TestWalkRefusedWholeTreeWalksEachObject(t *testing.T) {
	r := newRun(Options{})
	step := answer(t, r, r.Discover(), Reply{Err: errors.New("9004 Resources exceeded")})
	if !step.Walk || step.WalkWhy != "9004 Resources exceeded" {
		t.Fatalf("step %+v: want the walk, saying the fault", step)
	}
	q := wantAsk(t, step, "Device.", true)
	q = wantAsk(t, answer(t, r, q, listed("Device.DeviceInfo.", "Device.WiFi.", "Device.RootDataModelVersion")), "Device.DeviceInfo.", true)
	q = wantAsk(t, answer(t, r, q, listed("Device.DeviceInfo.UpTime", "Device.DeviceInfo.SerialNumber")), "Device.WiFi.", true)
	q = wantAsk(t, answer(t, r, q, listed("Device.WiFi.SSID.")), "Device.WiFi.SSID.", true)
	q = wantAsk(t, answer(t, r, q, listed("Device.WiFi.SSID.1.")), "Device.WiFi.SSID.1.", true)
	wantNames(t, answer(t, r, q, listed("Device.WiFi.SSID.1.SSID", "Device.WiFi.SSID.1.Enable")),
		"Device.DeviceInfo.", "Device.WiFi.", "Device.RootDataModelVersion", "Device.DeviceInfo.UpTime",
		"Device.DeviceInfo.SerialNumber", "Device.WiFi.SSID.", "Device.WiFi.SSID.1.",
		"Device.WiFi.SSID.1.SSID", "Device.WiFi.SSID.1.Enable")
}

// A CPE that ignores NextLevel=false and answers the root's first level is walked; a walk answer
// that goes deeper than one level (NextLevel=true ignored) covers its subtree, and nothing below
// it is asked.
func TestWalkOneLevelAnswerIsWalked(t *testing.T) {
	r := newRun(Options{})
	step := answer(t, r, r.Discover(), listed("Device.DeviceInfo.", "Device.Hosts.", "Device.RootDataModelVersion"))
	if !step.Walk || step.WalkWhy != "it answered one level only" {
		t.Fatalf("step %+v: want the walk, for one level only", step)
	}
	q := wantAsk(t, step, "Device.", true)
	q = wantAsk(t, answer(t, r, q, listed("Device.DeviceInfo.", "Device.Hosts.")), "Device.DeviceInfo.", true)
	q = wantAsk(t, answer(t, r, q, listed("Device.DeviceInfo.UpTime")), "Device.Hosts.", true)
	wantNames(t, answer(t, r, q, listed("Device.Hosts.Host.", "Device.Hosts.Host.1.", "Device.Hosts.Host.1.IPAddress")),
		"Device.DeviceInfo.", "Device.Hosts.", "Device.DeviceInfo.UpTime", "Device.Hosts.Host.",
		"Device.Hosts.Host.1.", "Device.Hosts.Host.1.IPAddress")

	// A whole-tree answer that is no answer (not a GetParameterNamesResponse) is walked too.
	r = newRun(Options{})
	if step := answer(t, r, r.Discover(), Reply{}); !step.Walk {
		t.Errorf("step %+v: want the walk after a whole tree not listed", step)
	}
	// An empty list is an empty tree, not one level.
	r = newRun(Options{})
	wantNames(t, answer(t, r, r.Discover(), listed()))
}

// A session dropped on the whole tree (the bridge calls Walk) starts the walk afresh; one dropped
// mid-walk leaves the run where it was: the same question, answered in the next session, goes
// on with the next object. A subtree the CPE will not list is skipped; the root refused fails.
func TestWalkSessionDroppedMidWalk(t *testing.T) {
	r := newRun(Options{})
	r.Discover()
	q := r.Walk() // the whole tree's session ended without an answer
	if q != (Question{Path: "Device.", NextLevel: true}) {
		t.Fatalf("walk starts with %+v, want the root's first level", q)
	}
	q = wantAsk(t, answer(t, r, q, listed("Device.DeviceInfo.", "Device.WiFi.", "Device.NAT.")), "Device.DeviceInfo.", true)
	// The session drops on Device.DeviceInfo.: nothing is answered; the task is sent again later.
	r.RPCs++
	step := r.Answer(q, listed("Device.DeviceInfo.UpTime"), t0.Add(5*time.Minute))
	q = wantAsk(t, step, "Device.WiFi.", true)
	step = answer(t, r, q, Reply{Err: errors.New("9005 Invalid parameter name")})
	if step.Skipped == nil {
		t.Errorf("step %+v: a refused subtree is not reported skipped", step)
	}
	q = wantAsk(t, step, "Device.NAT.", true)
	wantNames(t, answer(t, r, q, listed("Device.NAT.Enable")),
		"Device.DeviceInfo.", "Device.WiFi.", "Device.NAT.", "Device.DeviceInfo.UpTime", "Device.NAT.Enable")

	r = newRun(Options{})
	r.Discover()
	step = answer(t, r, r.Walk(), Reply{Err: errors.New("9002 Internal error")})
	if !strings.HasPrefix(step.Failed, "GetParameterNames of the root failed: 9002") {
		t.Errorf("root refused in the walk: step %+v, want failed", step)
	}
}

// Each bound of interview.* ends the interview with a reason naming its key.
func TestWalkBoundsExceededFail(t *testing.T) {
	r := newRun(Options{MaxNames: 3})
	step := answer(t, r, r.Discover(), listed("Device.", "Device.A", "Device.B", "Device.C"))
	if !strings.Contains(step.Failed, "interview.max_names (3)") || step.Done {
		t.Errorf("max_names: step %+v", step)
	}

	r = newRun(Options{MaxRPCs: 2})
	r.Discover()
	q := wantAsk(t, answer(t, r, r.Walk(), listed("Device.A.", "Device.B.", "Device.C.")), "Device.A.", true)
	step = answer(t, r, q, listed("Device.A.X"))
	if !strings.Contains(step.Failed, "interview.max_rpcs (2)") || step.Ask != nil {
		t.Errorf("max_rpcs: step %+v after %d RPCs", step, r.RPCs)
	}

	r = newRun(Options{MaxTime: time.Minute})
	q = r.Discover()
	if r.Expired(t0.Add(time.Minute)) || !r.Expired(t0.Add(time.Minute+time.Second)) {
		t.Error("max_time: Expired does not turn at interview.max_time")
	}
	if step := r.Answer(q, listed("Device.A"), t0.Add(2*time.Minute)); step.Failed != ErrTime.Error() {
		t.Errorf("max_time: step %+v", step)
	}
}

func TestWalkOptionsDefaults(t *testing.T) {
	var o Options
	o.SetDefaults()
	if o != DefaultOptions() || o.MaxNames != 20000 || o.MaxRPCs != 1000 || o.MaxTime != 10*time.Minute {
		t.Errorf("defaults %+v", o)
	}
}
