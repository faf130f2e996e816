package bridge

import (
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"go.uber.org/zap"
)

// Raw parameter values are most of what a device weighs (70 % of 70 KB for a 792-parameter
// model), and an idle device needs none of them. They live in the store (bucket "params"):
// memory holds them for the devices that use them now (a session, a translator call, a request
// being planned) and for the ParamsCache idle devices used last, so a device that comes back
// soon is not read again. A device's values are dropped only once they are written: never while
// they are dirty, in a write not yet committed, or in a session.

// DefaultParamsCache is how many idle devices keep their raw parameters in memory when
// Options.ParamsCache is 0 (about 50 KB each for a 792-parameter model).
const DefaultParamsCache = 256

// paramsLocked returns the device's raw parameters, reading them from the store when they are
// not in memory, and marks them the most recently used. Callers may change the map (setParams)
// while they hold b.mu: nothing drops it before the next trimParamsLocked.
func (b *Bridge) paramsLocked(d *device) map[string]paramValue {
	if !d.paramsLoaded {
		p, err := b.st.params(d.rec.ID)
		if err != nil {
			// Unreadable values are replaced by the next ones the CPE reports.
			b.log.Error("stored parameters unreadable", zap.String("device", d.rec.ID), zap.Error(err))
		}
		d.rec.Params, d.paramsLoaded = p, true
	}
	if d.paramsElem == nil {
		d.paramsElem = b.paramsLRU.PushFront(d)
	} else {
		b.paramsLRU.MoveToFront(d.paramsElem)
	}
	return d.rec.Params
}

// setParamsLocked records raw values, marking the parameters for the next flush only when one
// of them changed.
func (b *Bridge) setParamsLocked(d *device, params []soap.ParameterValue) {
	b.paramsLocked(d)
	d.setParams(params)
}

// trimParamsLocked drops the raw parameters of the least recently used devices beyond
// ParamsCache that can do without them: out of session, written and not being written.
func (b *Bridge) trimParamsLocked() {
	e := b.paramsLRU.Back()
	for n := b.paramsLRU.Len(); n > 0 && e != nil && b.paramsLRU.Len() > b.opts.ParamsCache; n-- {
		prev := e.Prev()
		d := e.Value.(*device)
		if d.inSession == "" && !d.paramsDirty && d.paramsWriting == 0 {
			b.forgetParamsLocked(d)
		}
		e = prev
	}
}

// forgetParamsLocked drops the device's raw parameters from memory (they are in the store).
func (b *Bridge) forgetParamsLocked(d *device) {
	if d.paramsElem != nil {
		b.paramsLRU.Remove(d.paramsElem)
		d.paramsElem = nil
	}
	d.rec.Params, d.paramsLoaded = nil, false
}

// putRecords writes records taken with snapshotLocked and then lets their parameters go
// (trimParamsLocked). A record whose write failed keeps its parameters in memory, dirty, so
// the next write of the device (or Stop) carries them: they are never dropped unwritten.
func (b *Bridge) putRecords(recs []*deviceRecord) (failed []string, err error) {
	failed, err = b.st.putDevices(recs)
	b.mu.Lock()
	defer b.mu.Unlock()
	notWritten := make(map[string]bool, len(failed))
	for _, id := range failed {
		notWritten[id] = true
		if d := b.devices[id]; d != nil && d.paramsLoaded {
			d.paramsDirty = true
		}
	}
	for _, r := range recs {
		d := b.devices[r.ID]
		if d == nil {
			continue
		}
		if r.Params != nil && d.paramsWriting > 0 {
			d.paramsWriting--
		}
		// The last state leaves memory once stored, unless a newer one replaced it meanwhile.
		if r.State != nil && len(d.state) > 0 && &d.state[0] == &r.State[0] {
			if notWritten[r.ID] {
				d.stateDirty = true
			} else {
				d.state = nil
			}
		}
	}
	b.trimParamsLocked()
	return failed, err
}
