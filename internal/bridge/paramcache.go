package bridge

import (
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// The devices' raw parameters and last states are kept by the registry (package registry),
// under its own lock, taken after b.mu when both are held. A device in session keeps its
// parameters in memory: Trim asks the bridge (trimParamsLocked) before it drops any.

// setParamsLocked records raw values in the registry.
func (b *Bridge) setParamsLocked(d *device, params []soap.ParameterValue) {
	changed, replaced := b.reg.SetParams(d.rec.ID, params)
	if changed {
		d.rec.ParamsGen++
	}
	// A value that replaced another one may be one the last Inform reported: the next Inform's
	// are compared again. Values only added (a registration's full read after its BOOT Inform)
	// leave the last Inform's as they were, so its next periodic Inform takes the fast path.
	if replaced {
		d.rec.InformSum = 0
	}
}

// trimParamsLocked lets the registry drop the raw parameters of the idle devices beyond
// ParamsCache (b.mu held).
func (b *Bridge) trimParamsLocked() {
	b.reg.Trim(func(id string) bool {
		d := b.devices[id]
		return d != nil && d.inSession != ""
	})
}

// putRecords writes records taken with snapshotLocked, with the parameters and state the
// registry has not written yet, then lets the idle devices' parameters go.
func (b *Bridge) putRecords(recs []*registry.Record) (failed []string, err error) {
	failed, err = b.reg.Write(recs)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trimParamsLocked()
	return failed, err
}
