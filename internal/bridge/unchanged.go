package bridge

import (
	"encoding/binary"
	"hash/maphash"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// A periodic Inform usually reports the same forced-inform parameters as the last one and
// changes nothing: its raw parameters need no load from the store (bucket params, a JSON
// document of every parameter) and its state no normalization, whose result would equal the
// state already published. Both took about half the gateway's CPU per periodic session
// (docs/performance.md). A translator's Normalize is a function of the device's identity and
// raw parameters (docs/plugins.md), so the state is recomputed only when one of them changed.

// sumSeed keys the sums below; they live in memory only, so a per-process seed is fine.
var sumSeed = maphash.MakeSeed()

// informParamsLocked records an Inform's parameters, unless they are the very list the last
// Inform applied and no other write of the raw parameters came in between (setParamsLocked
// clears informSum): then every value is already recorded and nothing is read from the store.
func (b *Bridge) informParamsLocked(d *device, params []soap.ParameterValue) {
	sum := paramListSum(params)
	if sum != 0 && sum == d.informSum {
		return
	}
	b.setParamsLocked(d, params)
	d.informSum = sum
}

// paramListSum identifies a parameter list: its names, values and types, in order.
func paramListSum(params []soap.ParameterValue) uint64 {
	var h maphash.Hash
	h.SetSeed(sumSeed)
	for _, p := range params {
		h.WriteString(p.Name)
		h.WriteByte(0)
		h.WriteString(p.Value.Raw)
		h.WriteByte(0)
		h.WriteString(p.Value.Type)
		h.WriteByte(0)
	}
	return h.Sum64() | 1 // never 0, which means "none"
}

// stateKeyLocked identifies what a normalization of the device would start from: its identity
// as translators see it and the generation of its raw parameters.
func stateKeyLocked(d *device) uint64 {
	var h maphash.Hash
	h.SetSeed(sumSeed)
	dev := d.rec.DeviceInfo()
	for _, s := range [...]string{dev.ID, dev.Manufacturer, dev.OUI, dev.ProductClass, dev.SerialNumber,
		dev.SoftwareVersion, dev.HardwareVersion, dev.Root} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	h.Write(binary.LittleEndian.AppendUint64(nil, d.paramsGen))
	return h.Sum64() | 1
}

// stateCurrent returns the device's state key and whether the state last published was
// normalized from it (and not stale): then a new normalization would publish nothing.
func (b *Bridge) stateCurrent(id string) (key uint64, current bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.devices[id]
	if d == nil {
		return 0, false
	}
	key = stateKeyLocked(d)
	return key, d.stateOf == key
}

// stateMade records that the device's state was normalized from key (taken before the
// parameters were: a change in between only makes the next Inform normalize again), or, when
// it is stale, that the next Inform must try again.
func (b *Bridge) stateMade(id string, key uint64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.devices[id]; d != nil {
		if !ok {
			key = 0
		}
		d.stateOf = key
	}
}
