package acs

import (
	"context"
	"strings"
	"testing"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// quirkHandler sets the session's encoding in Inform, as the bridge does for CPEs listed in
// cwmp.quirks.*.
type quirkHandler struct {
	*recHandler
	enc soap.EncodeOptions
}

func (h quirkHandler) Inform(ctx context.Context, s *Session, inf *soap.Inform) error {
	s.Encoding = h.enc
	return h.recHandler.Inform(ctx, s, inf)
}

// TestChecklist35EncodingChosenPerSession: booleans go out as 1/0 to a CPE whose session asks
// for it, as true/false otherwise.
func TestChecklist35EncodingChosenPerSession(t *testing.T) {
	spv := &soap.SetParameterValues{ParameterList: []soap.ParameterValue{
		{Name: "Device.WiFi.SSID.1.Enable", Value: soap.BoolValue(true)}}}
	for _, c := range []struct {
		enc  soap.EncodeOptions
		want string
	}{{soap.EncodeOptions{BoolAsNumber: true}, ">1</Value>"}, {soap.EncodeOptions{}, ">true</Value>"}} {
		h := quirkHandler{newRecHandler(), c.enc}
		a := startACS(t, Config{}, h)
		h.enqueue("00147F-SN0001", spv)
		cpe := newCPE(t, a.url)
		cpe.openSession(informOpts{})
		r := cpe.post("").expect(t, "SetParameterValues")
		if !strings.Contains(string(r.Body), c.want) {
			t.Errorf("encoding %+v: body lacks %s:\n%s", c.enc, c.want, r.Body)
		}
	}
}
