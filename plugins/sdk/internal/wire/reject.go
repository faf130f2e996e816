package wire

import (
	"strings"

	pb "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/translatorv1"
)

// rejectPrefix starts every translator.v1 RejectCode name; the rest in lower case is the
// sdk.RejectCode text, so the enum is the one list of codes and needs no table kept in step.
const rejectPrefix = "REJECT_CODE_"

// KnownRejectCode reports whether the protocol carries text as a code.
func KnownRejectCode[C ~string](text C) bool {
	return rejectCode(string(text)) != pb.RejectCode_REJECT_CODE_UNSPECIFIED
}

func rejectCode(text string) pb.RejectCode {
	if text == "" || text != strings.ToLower(text) {
		return pb.RejectCode_REJECT_CODE_UNSPECIFIED
	}
	return pb.RejectCode(pb.RejectCode_value[rejectPrefix+strings.ToUpper(text)])
}

// RejectCodesToPB encodes codes (sdk.RejectCode) by key. A code the protocol does not know
// travels as REJECT_CODE_UNSPECIFIED, which RejectCodesFromPB drops; the host drops it from
// in-process answers too, so both paths give the same plan.
func RejectCodesToPB[C ~string](codes map[string]C) map[string]pb.RejectCode {
	if len(codes) == 0 {
		return nil
	}
	out := make(map[string]pb.RejectCode, len(codes))
	for k, c := range codes {
		out[ValidUTF8(k)] = rejectCode(string(c))
	}
	return out
}

// RejectCodesFromPB decodes codes by key, leaving out unspecified and unknown ones.
func RejectCodesFromPB[C ~string](codes map[string]pb.RejectCode) map[string]C {
	var out map[string]C
	for k, c := range codes {
		name, ok := pb.RejectCode_name[int32(c)]
		if !ok || c == pb.RejectCode_REJECT_CODE_UNSPECIFIED {
			continue
		}
		if out == nil {
			out = make(map[string]C, len(codes))
		}
		out[k] = C(strings.ToLower(strings.TrimPrefix(name, rejectPrefix)))
	}
	return out
}
