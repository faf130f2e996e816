package wire

import (
	"reflect"
	"testing"

	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/translatorv1"
)

func TestRejectCodesRoundTrip(t *testing.T) {
	in := map[string]string{"a": "absent", "b": "read_only_here", "c": "invalid", "d": "unknown", "e": "read_only"}
	if got := RejectCodesFromPB[string](RejectCodesToPB(in)); !reflect.DeepEqual(got, in) {
		t.Errorf("round trip = %v, want %v", got, in)
	}
	for _, c := range []string{"absent", "read_only_here"} {
		if !KnownRejectCode(c) {
			t.Errorf("KnownRejectCode(%q) = false", c)
		}
	}
}

// Codes the protocol does not know (a typo, a newer translator's code, the enum's zero) are
// dropped, never turned into another code.
func TestRejectCodesDropWhatTheProtocolLacks(t *testing.T) {
	in := map[string]string{"a": "ABSENT", "b": "gone", "c": "", "d": "unspecified", "e": "absent"}
	for k, c := range in {
		if k != "e" && KnownRejectCode(c) {
			t.Errorf("KnownRejectCode(%q) = true", c)
		}
	}
	if got := RejectCodesFromPB[string](RejectCodesToPB(in)); !reflect.DeepEqual(got, map[string]string{"e": "absent"}) {
		t.Errorf("got %v, want only e: absent", got)
	}
	if got := RejectCodesFromPB[string](map[string]pb.RejectCode{"x": 99}); got != nil {
		t.Errorf("enum value 99 decoded as %v", got)
	}
	if RejectCodesToPB(map[string]string{}) != nil {
		t.Error("an empty map is sent as a map")
	}
}
