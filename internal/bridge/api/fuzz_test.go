package api_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
)

// FuzzParseRPCRequest: any payload gives either a message or a *RequestError, never a panic; an
// accepted request's stored args rebuild the same message (the durable queue keeps args, not
// messages).
func FuzzParseRPCRequest(f *testing.F) {
	for _, ex := range docExamples(f) {
		if ex.Schema == "rpc-request" {
			f.Add([]byte(ex.Body))
		}
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"id":"a"}`, `{"id":"a","method":"Reboot","args":null}`,
		`{"id":"a","method":"SetParameterValues","args":{"parameters":[["A.B",1e400,"int"]]}}`,
		`{"id":"a","method":"SetParameterValues","args":{"parameters":{"A.B":{"value":"x","type":7}}}}`,
		`{"id":"a","method":"ChangeDUState","args":{"operations":[{"op":"UNINSTALL","uuid":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}]}}`,
		`{"id":"a","method":"ScheduleDownload","args":{"file_type":"firmware","url":"http://x/","time_windows":[{"start":1,"end":1e3}]}}`,
		`{"id":"a","method":"Reboot","timeout":1e-400,"expires":-0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, msg, err := api.ParseRPCRequest(payload)
		if err != nil {
			var re *api.RequestError
			if !errors.As(err, &re) || err.Error() == "" {
				t.Fatalf("error %T %q is not a readable *RequestError", err, err)
			}
			if msg != nil {
				t.Fatalf("rejected, yet built %#v", msg)
			}
			return
		}
		if req == nil || msg == nil || req.ID == "" || msg.MethodName() != req.Method {
			t.Fatalf("accepted %q as %+v / %#v", payload, req, msg)
		}
		again, err := api.BuildRPC(req.Method, req.Args)
		if err != nil || !reflect.DeepEqual(again, msg) {
			t.Fatalf("args %s rebuild %#v, %v; want %#v", req.Args, again, err, msg)
		}
	})
}
