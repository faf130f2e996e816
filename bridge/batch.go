package bridge

import (
	"errors"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/cwmp/soap"
	"go.uber.org/zap"
)

// gpvBatchSize bounds the names of one GetParameterValues sent to a CPE (checklist 40): many
// CPEs fail or time out on large reads.
const gpvBatchSize = 32

// gpvRun is the progress of one GetParameterValues request executed as several RPCs in the
// same session: batches of gpvBatchSize, and a batch that faults 9005 is halved until the
// refused names are isolated, so one bad name does not fail the whole read (checklist 40).
type gpvRun struct {
	requested []string
	pending   [][]string
	current   []string
	params    []soap.ParameterValue
	invalid   []string
}

func newGPVRun(names []string) *gpvRun {
	r := &gpvRun{requested: names}
	for len(names) > gpvBatchSize {
		r.pending = append(r.pending, names[:gpvBatchSize:gpvBatchSize])
		names = names[gpvBatchSize:]
	}
	r.pending = append(r.pending, names)
	return r
}

// next takes the next batch to send, nil when none is left.
func (r *gpvRun) next() *soap.GetParameterValues {
	if len(r.pending) == 0 {
		return nil
	}
	r.current, r.pending = r.pending[0], r.pending[1:]
	return &soap.GetParameterValues{ParameterNames: r.current}
}

// absorb takes the CPE's answer to the current batch. It reports whether the run goes on; when
// it does not, err is the fault that ends it (nil: done).
func (r *gpvRun) absorb(resp soap.Message, err error) (more bool, fatal error) {
	var f *soap.Fault
	switch {
	case errors.As(err, &f) && f.Code == soap.FaultCPEInvalidParameterName:
		if len(r.current) > 1 {
			half := len(r.current) / 2
			r.pending = append([][]string{r.current[:half:half], r.current[half:]}, r.pending...)
		} else {
			r.invalid = append(r.invalid, r.current...)
		}
	case err != nil:
		return false, err
	default:
		if m, ok := resp.(*soap.GetParameterValuesResponse); ok {
			r.params = append(r.params, m.ParameterList...)
		}
	}
	r.current = nil
	return len(r.pending) > 0, nil
}

// result is the merged answer: a GetParameterValuesResponse, or fault 9005 when the CPE
// refused every name.
func (r *gpvRun) result() (soap.Message, error) {
	if len(r.params) == 0 && len(r.invalid) > 0 && len(r.invalid) == len(r.requested) {
		return nil, &soap.Fault{SOAPCode: "Client", Code: soap.FaultCPEInvalidParameterName,
			String: "invalid parameter names: " + strings.Join(r.invalid, ", ")}
	}
	return &soap.GetParameterValuesResponse{ParameterList: r.params}, nil
}

// checkCoverage logs what a GPV answer missed or added (checklist 39): the values that came are
// kept either way.
func (b *Bridge) checkCoverage(t *taskRecord, r *gpvRun) {
	got := make(map[string]bool, len(r.params))
	for _, p := range r.params {
		got[p.Name] = true
	}
	invalid := make(map[string]bool, len(r.invalid))
	for _, n := range r.invalid {
		invalid[n] = true
	}
	var partial []string
	for _, n := range r.requested {
		if strings.HasSuffix(n, ".") {
			partial = append(partial, n)
		} else if !got[n] && !invalid[n] {
			b.log.Warn("CPE left out a requested parameter", zap.String("device", t.Device), zap.String("id", t.ID), zap.String("name", n))
		}
	}
	requested := make(map[string]bool, len(r.requested))
	for _, n := range r.requested {
		requested[n] = true
	}
	for _, p := range r.params {
		if requested[p.Name] || underAny(p.Name, partial) {
			continue
		}
		b.log.Warn("CPE returned a parameter it was not asked for", zap.String("device", t.Device), zap.String("id", t.ID), zap.String("name", p.Name))
	}
}

func underAny(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
