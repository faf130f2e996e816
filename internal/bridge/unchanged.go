package bridge

import (
	"encoding/binary"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// A periodic Inform usually reports the same forced-inform parameters as the last one and
// changes nothing: its raw parameters need no load from the store (bucket params, a JSON
// document of every parameter) and its state no normalization, whose result would equal the
// state already published. Both took about half the gateway's CPU per periodic session
// (docs/performance.md). A translator's Normalize is a function of the device's identity and
// raw parameters (docs/plugins.md), so the state is recomputed only when one of them changed.
// The sums are kept in the device's record (InformSum, StateOf, with ParamsGen), so the first
// Inform after a restart takes the same path; they are FNV-64a, the same in every process.

// informParamsLocked records an Inform's parameters, unless they are the very list the last
// Inform applied and no value of it was replaced since (setParamsLocked clears InformSum):
// then every value is already recorded and nothing is read from the store.
func (b *Bridge) informParamsLocked(d *device, params []soap.ParameterValue) {
	sum := paramListSum(params)
	if sum == d.rec.InformSum {
		return
	}
	b.setParamsLocked(d, params)
	d.rec.InformSum = sum
}

// FNV-64a (hash/fnv), written out so that hashing strings allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvString adds s and a 0 separator to the FNV-64a sum h.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h * fnvPrime // ^= 0
}

// paramListSum identifies a parameter list: its names, values and types, in order.
func paramListSum(params []soap.ParameterValue) uint64 {
	h := uint64(fnvOffset)
	for _, p := range params {
		h = fnvString(h, p.Name)
		h = fnvString(h, p.Value.Raw)
		h = fnvString(h, p.Value.Type)
	}
	return h | 1 // never 0, which means "none"
}

// translatorsSum identifies the translators tr offers (their names and versions), which a
// state key includes: a state normalized by another translator, or another version of it,
// before a restart is not current after it.
func translatorsSum(tr Translators) uint64 {
	h := uint64(fnvOffset)
	if tr == nil {
		return h
	}
	for _, t := range tr.List() {
		h = fnvString(fnvString(fnvString(h, t.Name), t.Version), t.ModelVersion)
	}
	return h
}

// stateKeyLocked identifies what a normalization of the device would start from: the
// translators, the device's identity as they see it and the generation of its raw parameters.
func (b *Bridge) stateKeyLocked(d *device) uint64 {
	h := b.translatorsSum
	dev := d.rec.DeviceInfo()
	for _, s := range [...]string{dev.ID, dev.Manufacturer, dev.OUI, dev.ProductClass, dev.SerialNumber,
		dev.SoftwareVersion, dev.HardwareVersion, dev.Root} {
		h = fnvString(h, s)
	}
	for _, c := range binary.LittleEndian.AppendUint64(make([]byte, 0, 8), d.rec.ParamsGen) {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h | 1
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
	key = b.stateKeyLocked(d)
	return key, d.rec.StateOf == key
}

// stateMade records that the device's state was normalized from key (taken before the
// parameters were: a change in between only makes the next Inform normalize again), or, when
// it is stale, that the next Inform must try again. A change goes to the store with the record.
func (b *Bridge) stateMade(id string, key uint64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.devices[id]; d != nil {
		if !ok {
			key = 0
		}
		if d.rec.StateOf != key {
			d.rec.StateOf = key
			b.markDirtyLocked(d)
		}
	}
}
