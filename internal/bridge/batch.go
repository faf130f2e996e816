package bridge

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"go.uber.org/zap"
)

// gpvBatchSize bounds the names of one GetParameterValues sent to a CPE (checklist 40): many
// CPEs fail or time out on large reads.
const gpvBatchSize = 32

// gpvRun is the progress of one GetParameterValues request executed as several RPCs in the
// same session: batches of gpvBatchSize, and a batch that faults 9005 is halved until the
// refused names are isolated, so one bad name does not fail the whole read (checklist 40). A
// batch answered without some of its names and without a fault (a "short answer", seen on a
// real client that returned only the last of 3 values) has the missing names asked again one
// at a time.
type gpvRun struct {
	requested []string
	pending   [][]string
	current   []string
	params    []soap.ParameterValue
	invalid   []string // refused with 9005
	// missing are names left out of the answer even when asked alone; reasked counts the names
	// asked again alone after a short answer, recovered those that came back then.
	missing   []string
	reasked   map[string]bool
	recovered int
	// fault is the CPE's first 9005, published as it came when every name is refused.
	fault *soap.Fault
}

func newGPVRun(names []string, batch int) *gpvRun {
	r := &gpvRun{requested: names}
	for len(names) > batch {
		r.pending = append(r.pending, names[:batch:batch])
		names = names[batch:]
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
		if r.fault == nil {
			r.fault = f
		}
		if len(r.current) > 1 {
			half := len(r.current) / 2
			r.pending = append([][]string{r.current[:half:half], r.current[half:]}, r.pending...)
		} else {
			r.invalid = append(r.invalid, r.current...)
		}
	case err != nil:
		return false, err
	default:
		m, _ := resp.(*soap.GetParameterValuesResponse)
		if m != nil {
			r.params = append(r.params, m.ParameterList...)
		}
		left := leftOut(r.current, m)
		switch {
		case len(left) > 0 && len(r.current) > 1:
			single := make([][]string, len(left))
			for i, n := range left {
				single[i] = []string{n}
			}
			if r.reasked == nil {
				r.reasked = map[string]bool{}
			}
			for _, n := range left {
				r.reasked[n] = true
			}
			r.pending = append(single, r.pending...)
		case len(left) > 0:
			if !strings.HasSuffix(left[0], ".") { // an empty partial path is an empty subtree
				r.missing = append(r.missing, left[0])
			}
		case len(r.current) == 1 && r.reasked[r.current[0]]:
			r.recovered++
		}
	}
	r.current = nil
	return len(r.pending) > 0, nil
}

// result is the merged answer: a GetParameterValuesResponse, or the CPE's own fault 9005 when it
// refused every name (explain then says which).
func (r *gpvRun) result() (resp soap.Message, explain string, err error) {
	if len(r.params) == 0 && len(r.invalid) > 0 && len(r.invalid) == len(r.requested) && r.fault != nil {
		explain = "the CPE refused every requested name with fault 9005: " + strings.Join(r.invalid, ", ")
		if len(r.requested) > 1 {
			explain += " (each isolated by asking fewer names at once); this is its first fault"
		}
		return nil, explain, r.fault
	}
	return &soap.GetParameterValuesResponse{ParameterList: r.params}, "", nil
}

// unanswered are the requested names the result has no value for: refused (9005), then left out.
func (r *gpvRun) unanswered() []string {
	return append(append([]string(nil), r.invalid...), r.missing...)
}

// leftOut are the names of batch the answer has no value for: a name not returned, a partial
// path with nothing under it.
func leftOut(batch []string, m *soap.GetParameterValuesResponse) []string {
	got := map[string]bool{}
	if m != nil {
		for _, p := range m.ParameterList {
			got[p.Name] = true
		}
	}
	var left []string
	for _, n := range batch {
		if got[n] {
			continue
		}
		if strings.HasSuffix(n, ".") && m != nil && slices.ContainsFunc(m.ParameterList, func(p soap.ParameterValue) bool { return strings.HasPrefix(p.Name, n) }) {
			continue
		}
		left = append(left, n)
	}
	return left
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

// quirkOneNamePerGPV: the CPE answers a GetParameterValues of several names with only some of
// them and no fault, but answers each name asked alone. Learned from its answers, stored with
// the device; its later reads are sent one name per GetParameterValues.
const quirkOneNamePerGPV = "one_name_per_gpv"

func (d *device) hasQuirk(q string) bool { return slices.Contains(d.rec.Quirks, q) }

// learnShortAnswers records the one_name_per_gpv quirk once a name the CPE left out of a
// multi-name answer came back when asked alone, and notes on the result what was done.
func (b *Bridge) learnShortAnswers(t *taskRecord) {
	r := t.run
	if len(r.reasked) == 0 {
		return
	}
	note := fmt.Sprintf("the CPE left %d of the names out of a multi-name answer without a fault; asked alone, %d came back", len(r.reasked), r.recovered)
	b.mu.Lock()
	d := b.devices[t.Device]
	var rec *registry.Record
	if r.recovered > 0 && d != nil && !d.hasQuirk(quirkOneNamePerGPV) {
		d.rec.Quirks = append(slices.Clip(d.rec.Quirks), quirkOneNamePerGPV)
		rec = d.snapshotLocked()
		note += "; learned quirk " + quirkOneNamePerGPV + ": later reads of this device ask one name at a time"
	}
	b.mu.Unlock()
	b.annotate(t, note, "")
	if rec == nil {
		return
	}
	b.log.Warn("CPE answers only part of a multi-name GetParameterValues; asking one name at a time from now on",
		zap.String("device", t.Device), zap.String("quirk", quirkOneNamePerGPV), zap.Int("left_out", len(r.reasked)), zap.Int("recovered", r.recovered))
	if _, err := b.putRecords([]*registry.Record{rec}); err != nil { // learned at the CPE's expense: kept now
		b.log.Error("registry write failed", zap.String("device", t.Device), zap.Error(err))
	}
	b.emitInfo(nil, t.Device) // B/D/info shows it
}
