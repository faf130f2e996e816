package host

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Absent keys are asked keys, and a key is either unknown or absent, never both.
func TestGetPlanAbsentKeysAreChecked(t *testing.T) {
	req := sdk.GetRequest{Keys: []string{"wan.ipv6_address", "no.such"}}
	plan, err := checkGetPlan(req, sdk.GetPlan{Unknown: []string{"no.such"}, Absent: []string{"wan.ipv6_address"}, Names: []string{}})
	if err != nil || plan.Names != nil || !reflect.DeepEqual(plan.Absent, []string{"wan.ipv6_address"}) {
		t.Errorf("valid plan: %+v, %v", plan, err)
	}
	if plan, _ := checkGetPlan(req, sdk.GetPlan{Absent: []string{}}); plan.Absent != nil {
		t.Errorf("empty Absent kept as %#v, the wire makes it nil", plan.Absent)
	}
	_, err = checkGetPlan(req, sdk.GetPlan{Unknown: []string{"no.such"}, Absent: []string{"no.such", "wan.uptime"}})
	for _, want := range []string{`key "no.such" is both unknown and absent`, `absent key "wan.uptime" was not asked for`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// Reject codes belong to rejected keys; codes the protocol lacks are dropped, as the wire drops
// them, so an in-process translator answers as it would over gRPC.
func TestSetPlanRejectCodesAreChecked(t *testing.T) {
	req := sdk.SetRequest{Values: map[string]any{"a": 1, "b": 2, "c": 3}}
	plan, err := checkSetPlan(req, sdk.SetPlan{
		Rejected: map[string]string{"a": "not here", "b": "typo", "c": "no code"},
		Codes:    map[string]sdk.RejectCode{"a": sdk.RejectAbsent, "b": "Absent"},
	})
	if err != nil || !reflect.DeepEqual(plan.Codes, map[string]sdk.RejectCode{"a": sdk.RejectAbsent}) {
		t.Errorf("codes %v, %v; want only a: absent", plan.Codes, err)
	}
	if plan, _ := checkSetPlan(req, sdk.SetPlan{Codes: map[string]sdk.RejectCode{}}); plan.Codes != nil {
		t.Errorf("empty Codes kept as %#v", plan.Codes)
	}
	_, err = checkSetPlan(req, sdk.SetPlan{Rejected: map[string]string{"a": "x"}, Codes: map[string]sdk.RejectCode{"b": sdk.RejectInvalid}})
	if err == nil || !strings.Contains(err.Error(), `key "b" has a reject code but is not rejected`) {
		t.Errorf("code of a key not rejected: %v", err)
	}
}
