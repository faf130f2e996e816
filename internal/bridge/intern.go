package bridge

import (
	"strings"
	"sync"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
)

// Most strings of a device record are the same for every device of a model: manufacturer, OUI,
// product class, model name, firmware and hardware versions, data model root, translator. Each
// Inform (and the store at start) decodes them afresh, so without sharing every device holds its
// own copies (about 100 bytes per device for a Huawei model, more after a restart, whose JSON
// decode copies the interview's strings too). The bridge keeps one copy of each value and the
// records point at it.

// maxInterned bounds the shared values: a fleet has a few models, but what a CPE reports is not
// to be trusted to be few; past the bound a value is kept as it came (no sharing, no growth).
const maxInterned = 4096

// interner is the set of shared values, under its own lock (taken under b.mu or not).
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

// of is the shared copy of s.
func (in *interner) of(s string) string {
	if s == "" {
		return ""
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[s]; ok {
		return v
	}
	if len(in.m) >= maxInterned {
		return s
	}
	if in.m == nil {
		in.m = map[string]string{}
	}
	s = strings.Clone(s) // not a slice of a larger string the caller decoded
	in.m[s] = s
	return s
}

// keep is the value for a field that was old and is now reported as s: old itself when equal
// (no new copy per Inform), else the shared copy of s.
func (in *interner) keep(old, s string) string {
	if old == s {
		return old
	}
	return in.of(s)
}

// record shares the model strings of a record read from the store, and its serial number with
// its id when the id ends with it (OUI-ProductClass-SerialNumber, TR-069 §3.4.4).
func (in *interner) record(r *registry.Record) {
	for _, f := range []*string{&r.Manufacturer, &r.OUI, &r.ProductClass, &r.ModelName, &r.SoftwareVersion,
		&r.HardwareVersion, &r.Root, &r.Translator} {
		*f = in.of(*f)
	}
	r.SerialNumber = serialOf(r.ID, r.SerialNumber)
	if iv := r.Interview; iv != nil {
		iv.State, iv.Reason, iv.Firmware = in.of(iv.State), in.of(iv.Reason), in.of(iv.Firmware)
	}
}

// serialOf is serial as the end of id when id ends with it (no copy of its own), else serial.
func serialOf(id, serial string) string {
	if serial != "" && strings.HasSuffix(id, serial) {
		return id[len(id)-len(serial):]
	}
	return serial
}
