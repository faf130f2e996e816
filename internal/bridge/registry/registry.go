// Package registry is the bridge's device registry: what the gateway knows of each device
// (Record), where it is kept (the devices, params and state buckets of the shared bbolt file),
// and what of it is in memory. It sits under the bridge, beside the task queue:
//
//	CPE ─▶ acs ─▶ bridge ─▶ registry (records, raw parameters, last state) ─▶ bbolt
//	                     └▶ present ─▶ outbox
//
// The bridge owns each device's Record in memory (under its device lock) and tells the
// registry what changed; the registry, under a lock of its own, keeps the raw parameters (a
// cache: an idle device's live only in the store), the last normalized state until it is
// stored, the write-behind set of devices to write and the device counts (known, online), and
// writes records without losing a value: a device's parameters are dropped from memory only
// once they are written. The
// bridge's lock, when held, is taken before the registry's, never after.
package registry

import (
	"container/list"
	"maps"
	"sync"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"go.uber.org/zap"
)

// Raw parameter values are most of what a device weighs (70 % of 70 KB for a 792-parameter
// model), and an idle device needs none of them. They live in the store (bucket "params"):
// memory holds them for the devices that use them now (a session, a translator call, a request
// being planned) and for the cacheSize idle devices used last, so a device that comes back soon
// is not read again. A device's values are dropped only once they are written: never while they
// are dirty, in a write not yet committed, or in use (a session).

// DefaultParamsCache is how many idle devices keep their raw parameters in memory by default
// (about 50 KB each for a 792-parameter model).
const DefaultParamsCache = 256

// Registry keeps the devices' raw parameters, last states and write-behind set.
type Registry struct {
	st        *Store
	log       *zap.Logger
	cacheSize int

	mu   sync.Mutex
	devs map[string]*entry
	// lru holds the devices whose raw parameters are in memory, most recently used first.
	lru list.List
	// dirty are the devices to write at the next Flush.
	dirty map[string]struct{}
	// online counts the devices online; countsChanged: the counts (or what is shown beside
	// them) changed since TakeCounts.
	online        int
	countsChanged bool
}

// entry is what the registry keeps in memory of one device.
type entry struct {
	id string
	// params are the device's raw parameters when loaded (else they are only in the store);
	// paramsDirty: changed since they were last written; writing counts the writes of them not
	// yet committed; elem is the device's place in Registry.lru.
	params map[string]ParamValue
	elem   *list.Element
	// state is the JSON of the last normalized state until it is in the store; stateDirty: not
	// yet handed to a write.
	state []byte
	// gen counts the changes of params, as Record.ParamsGen does (the bridge's copy, under
	// its lock): a record taken before the latest change is written without the sums that
	// describe older parameters (Write).
	gen uint64
	// One entry per known device: the small fields last, packed (72 bytes).
	writing     int32
	loaded      bool
	paramsDirty bool
	stateDirty  bool
	online      bool
}

// New returns the registry on st keeping the raw parameters of cacheSize idle devices in memory
// (0: none).
func New(st *Store, cacheSize int, log *zap.Logger) *Registry {
	return &Registry{st: st, log: log, cacheSize: cacheSize, devs: map[string]*entry{}, dirty: map[string]struct{}{}}
}

// Add registers a device: a new one (fresh: nothing stored, its parameters are what SetParams
// will give) or one loaded from the store (its parameters are read when first used).
func (g *Registry) Add(id string, fresh bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.devs[id] = &entry{id: id, loaded: fresh}
	g.countsChanged = true
}

// Remove forgets a device (its stored data is deleted by DeleteTx).
func (g *Registry) Remove(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.devs[id]; e != nil {
		g.forget(e)
		delete(g.devs, id)
		delete(g.dirty, id)
		if e.online {
			g.online--
		}
		g.countsChanged = true
	}
}

// SetOnline records the device's availability for the counts of B/bridge/devices.
func (g *Registry) SetOnline(id string, online bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.devs[id]
	if e == nil || e.online == online {
		return
	}
	e.online = online
	if online {
		g.online++
	} else {
		g.online--
	}
	g.countsChanged = true
}

// TouchCounts has the counts published again though they did not change (a reconnect to the
// broker, a change shown beside them).
func (g *Registry) TouchCounts() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.countsChanged = true
}

// TakeCounts returns the devices known and online when they changed or were touched since the
// last call (changed false: nothing to publish).
func (g *Registry) TakeCounts() (devices, online int, changed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	changed, g.countsChanged = g.countsChanged, false
	return len(g.devs), g.online, changed
}

// params returns e's raw parameters, reading them from the store when they are not in memory,
// and marks them the most recently used (g.mu held).
func (g *Registry) params(e *entry) map[string]ParamValue {
	if !e.loaded {
		p, err := g.st.Params(e.id)
		if err != nil {
			// Unreadable values are replaced by the next ones the CPE reports.
			g.log.Error("stored parameters unreadable", zap.String("device", e.id), zap.Error(err))
		}
		e.params, e.loaded = p, true
	}
	if e.elem == nil {
		e.elem = g.lru.PushFront(e)
	} else {
		g.lru.MoveToFront(e.elem)
	}
	return e.params
}

// WithParams calls fn with the device's raw parameters (nil when none are known), under the
// registry's lock: fn reads them, it must not keep or change the map.
func (g *Registry) WithParams(id string, fn func(map[string]ParamValue)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.devs[id]; e != nil {
		fn(g.params(e))
	}
}

// SetParams records raw values, marking the parameters (and the device) for the next flush only
// when one of them changed; it says whether one did, and whether one replaced a different value
// already known (replaced is false when every change is a parameter not known before, and true
// when the known values could not be read from the store).
func (g *Registry) SetParams(id string, params []soap.ParameterValue) (changed, replaced bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.devs[id]
	if e == nil {
		return false, false
	}
	p := g.params(e)
	if p == nil {
		p = make(map[string]ParamValue, len(params))
		e.params = p
		replaced = true // none known, or unreadable: whatever was known is gone
	}
	for _, pv := range params {
		v := ParamValue{Value: pv.Value.Raw, Type: pv.Value.Type}
		if old, ok := p[pv.Name]; !ok || old != v {
			p[pv.Name] = v
			e.paramsDirty, changed = true, true
			replaced = replaced || ok
		}
	}
	if changed {
		e.gen++
	}
	if e.paramsDirty {
		g.dirty[id] = struct{}{}
	}
	return changed, replaced
}

// SetState keeps the device's last normalized state (JSON, not changed afterwards) until the
// next flush writes it.
func (g *Registry) SetState(id string, state []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.devs[id]; e != nil {
		e.state, e.stateDirty = state, true
		g.dirty[id] = struct{}{}
	}
}

// State is the device's last normalized state, JSON: from memory while not yet written, else
// from the store (nil when none is known).
func (g *Registry) State(id string) ([]byte, error) {
	g.mu.Lock()
	e := g.devs[id]
	var raw []byte
	if e != nil {
		raw = e.state
	}
	g.mu.Unlock()
	if e == nil || raw != nil {
		return raw, nil
	}
	return g.st.State(id)
}

// MarkDirty queues the device's record for the next flush.
func (g *Registry) MarkDirty(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dirty[id] = struct{}{}
}

// TakeDirty returns the devices marked for writing since the last call, and forgets them.
func (g *Registry) TakeDirty() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ids := make([]string, 0, len(g.dirty))
	for id := range g.dirty {
		ids = append(ids, id)
	}
	clear(g.dirty)
	return ids
}

// Pending reports whether the device has parameters or a state not yet handed to a write.
func (g *Registry) Pending(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.devs[id]
	return e != nil && (e.paramsDirty || e.stateDirty)
}

// Write stores records (copies the caller took of them) with the parameters and state of each
// not yet written. A record whose write failed keeps them in memory, dirty, so the next write of
// the device carries them: they are never dropped unwritten. failed and err are Store.Put's.
func (g *Registry) Write(recs []*Record) (failed []string, err error) {
	g.mu.Lock()
	for _, r := range recs {
		e := g.devs[r.ID]
		r.Params, r.State = nil, nil
		if e == nil {
			continue
		}
		if r.ParamsGen != e.gen || !e.paramsDirty && e.writing > 0 {
			// The record was taken before the parameters last changed, or goes to the store
			// before them (an earlier write still carries them): what its sums say may not hold
			// of the parameters stored, so after a restart the next Inform compares again.
			r.ParamsGen, r.InformSum, r.StateOf = e.gen, 0, 0
		}
		if e.stateDirty {
			r.State, e.stateDirty = e.state, false // never changed in place: shared, not copied
		}
		if e.paramsDirty {
			r.Params, e.paramsDirty = maps.Clone(e.params), false
			e.writing++ // kept in memory until the write is committed
		}
	}
	g.mu.Unlock()
	failed, err = g.st.Put(recs)
	g.mu.Lock()
	defer g.mu.Unlock()
	notWritten := make(map[string]bool, len(failed))
	for _, id := range failed {
		notWritten[id] = true
		if e := g.devs[id]; e != nil && e.loaded {
			e.paramsDirty = true
		}
	}
	for _, r := range recs {
		e := g.devs[r.ID]
		if e == nil {
			continue
		}
		if r.Params != nil && e.writing > 0 {
			e.writing--
		}
		// The last state leaves memory once stored, unless a newer one replaced it meanwhile.
		if r.State != nil && len(e.state) > 0 && &e.state[0] == &r.State[0] {
			if notWritten[r.ID] {
				e.stateDirty = true
			} else {
				e.state = nil
			}
		}
	}
	return failed, err
}

// Trim drops the raw parameters of the least recently used devices beyond the cache size that
// can do without them: written, not being written, and not inUse (in a session). inUse is
// called under the registry's lock.
func (g *Registry) Trim(inUse func(id string) bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.lru.Back()
	for n := g.lru.Len(); n > 0 && e != nil && g.lru.Len() > g.cacheSize; n-- {
		prev := e.Prev()
		d := e.Value.(*entry)
		if !d.paramsDirty && d.writing == 0 && !inUse(d.id) {
			g.forget(d)
		}
		e = prev
	}
}

// forget drops e's raw parameters from memory (they are in the store).
func (g *Registry) forget(e *entry) {
	if e.elem != nil {
		g.lru.Remove(e.elem)
		e.elem = nil
	}
	e.params, e.loaded = nil, false
}

// Held says what of one device the registry holds in memory.
type Held struct {
	Params     bool // its raw parameters
	State      bool // its last normalized state
	StateDirty bool // that state is not yet handed to a write
}

// Held reports what of the device is in memory, and for how many devices the raw parameters are.
func (g *Registry) Held(id string) (h Held, cached int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.devs[id]; e != nil {
		h = Held{Params: e.loaded || e.params != nil, State: e.state != nil, StateDirty: e.stateDirty}
	}
	return h, g.lru.Len()
}

// DeleteValues removes a device's stored raw parameters and state ahead of its record
// (Store.DeleteValues).
func (g *Registry) DeleteValues(id string) error { return g.st.DeleteValues(id) }

// MarkClean records a clean stop once the last flush has written everything (Store.MarkClean).
func (g *Registry) MarkClean() error { return g.st.MarkClean() }

// Unclean tells whether the stored values were not closed by a clean stop: the records' sums
// were dropped at Load.
func (g *Registry) Unclean() bool { return g.st.Unclean() }

// Load reads every device record at start-up, registers the devices (their raw parameters are
// read when first used) and hands each record to fn, which copies what it keeps (Store.Each).
func (g *Registry) Load(fn func(r *Record)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.countsChanged = true
	return g.st.Each(func(r *Record) {
		g.devs[r.ID] = &entry{id: r.ID, online: r.Online, gen: r.ParamsGen}
		if r.Online {
			g.online++
		}
		fn(r)
	})
}
