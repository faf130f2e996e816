package registry

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
)

// Every known device's record is read at each start and rewritten by the write-behind flush
// after each of its Informs. As JSON it was about 900 bytes (its keys, RFC 3339 times, sums in
// decimal) and its decode most of a start's CPU (about 25 µs a record: 2.5 s at 100,000 devices).
// It is stored binary: the fields in a fixed order, without names.
//
//	recordFormat2 fields… (recordFormat1: the same without InfoSum)
//	  string: uvarint(len) bytes; int: varint; bool: one byte 0/1; sum: 8 bytes little endian
//	  time:   0 (the zero time) | 1 varint(unix s) uvarint(ns) (UTC) | 2 varint(unix s) uvarint(ns) varint(offset s)
//	  list:   uvarint(count) items
//	  interview: 0 (none) | 1 its fields
//
// The order is the one of encodeRecord and decodeRecord and is stored: a field added to Record
// needs a new format byte, the earlier ones still read (TestRecordBinaryKeepsEveryField fails
// until it is encoded). A record written by an earlier version is JSON and starts with '{'.
const (
	recordFormat1 = 0x03
	recordFormat2 = 0x04 // adds InfoSum
)

var errRecordCorrupt = errors.New("corrupt record")

// encodeRecord is the stored form of r. Params and State are not part of it (stored apart).
func encodeRecord(r *Record) []byte {
	w := recordBin{b: make([]byte, 0, 320+len(r.ID)+len(r.Manufacturer)+len(r.ProductClass)+len(r.SoftwareVersion)+len(r.ConnReqURL))}
	w.b = append(w.b, recordFormat2)
	for _, s := range []string{r.ID, r.Manufacturer, r.OUI, r.ProductClass, r.SerialNumber, r.ModelName,
		r.SoftwareVersion, r.HardwareVersion, r.Root, r.RemoteAddr} {
		w.str(s)
	}
	w.time(r.Registered)
	w.time(r.LastInform)
	for _, s := range []string{r.ConnReqURL, r.ConnReqUDP, r.ConnReqUser, r.ConnReqPass, r.PendingUser, r.PendingPass} {
		w.str(s)
	}
	w.int(r.PeriodicInterval)
	w.bool(r.Online)
	for _, v := range []uint64{r.StateSum, r.ParamsGen, r.InformSum, r.StateOf, r.InfoSum} { // InfoSum: recordFormat2
		w.b = binary.LittleEndian.AppendUint64(w.b, v)
	}
	w.str(r.Translator)
	w.b = binary.AppendUvarint(w.b, uint64(len(r.Transfers)))
	for _, t := range r.Transfers {
		w.str(t.CommandKey)
		w.str(t.Method)
		w.str(t.RequestID)
		w.time(t.Since)
	}
	w.strs(r.Quirks)
	w.time(r.CRNoSession)
	if iv := r.Interview; iv == nil {
		w.bool(false)
	} else {
		w.bool(true)
		w.str(iv.State)
		w.str(iv.Reason)
		w.str(iv.Firmware)
		w.bool(iv.Shared)
		w.bool(iv.Walked)
		w.int(int64(iv.Names))
		w.int(int64(iv.Keys))
		w.int(int64(iv.RPCs))
		w.int(iv.DurationMs)
		w.time(iv.Started)
		w.bool(iv.Finished != nil)
		if iv.Finished != nil {
			w.time(*iv.Finished)
		}
		w.str(iv.Error)
	}
	w.strs(r.Poisoned)
	return w.b
}

// decodeRecord reads a stored record into r (all of it replaced): binary, or JSON as earlier
// versions wrote it.
func decodeRecord(v []byte, r *Record) error {
	*r = Record{}
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, r)
	}
	if len(v) == 0 || v[0] != recordFormat1 && v[0] != recordFormat2 {
		return fmt.Errorf("%w: format %x", errRecordCorrupt, v[:min(len(v), 1)])
	}
	sums := []*uint64{&r.StateSum, &r.ParamsGen, &r.InformSum, &r.StateOf, &r.InfoSum}
	if v[0] == recordFormat1 {
		sums = sums[:4]
	}
	d := recordBin{b: v[1:]}
	for _, s := range []*string{&r.ID, &r.Manufacturer, &r.OUI, &r.ProductClass, &r.SerialNumber, &r.ModelName,
		&r.SoftwareVersion, &r.HardwareVersion, &r.Root, &r.RemoteAddr} {
		*s = d.readStr()
	}
	r.Registered = d.readTime()
	r.LastInform = d.readTime()
	for _, s := range []*string{&r.ConnReqURL, &r.ConnReqUDP, &r.ConnReqUser, &r.ConnReqPass, &r.PendingUser, &r.PendingPass} {
		*s = d.readStr()
	}
	r.PeriodicInterval = d.readInt()
	r.Online = d.readBool()
	for _, u := range sums {
		*u = d.readSum()
	}
	r.Translator = d.readStr()
	if n := d.readCount(); n > 0 {
		r.Transfers = make([]PendingTransfer, n)
		for i := range r.Transfers {
			t := &r.Transfers[i]
			t.CommandKey, t.Method, t.RequestID = d.readStr(), d.readStr(), d.readStr()
			t.Since = d.readTime()
		}
	}
	r.Quirks = d.readStrs()
	r.CRNoSession = d.readTime()
	if d.readBool() {
		iv := &api.Interview{}
		iv.State, iv.Reason, iv.Firmware = d.readStr(), d.readStr(), d.readStr()
		iv.Shared, iv.Walked = d.readBool(), d.readBool()
		iv.Names, iv.Keys, iv.RPCs = int(d.readInt()), int(d.readInt()), int(d.readInt())
		iv.DurationMs = d.readInt()
		iv.Started = d.readTime()
		if d.readBool() {
			fin := d.readTime()
			iv.Finished = &fin
		}
		iv.Error = d.readStr()
		r.Interview = iv
	}
	r.Poisoned = d.readStrs()
	if d.bad || len(d.b) != 0 {
		return errRecordCorrupt
	}
	return nil
}

// recordBin appends (b grows) or reads (b is what is left; bad once something did not read).
type recordBin struct {
	b   []byte
	bad bool
}

func (w *recordBin) str(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *recordBin) strs(v []string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(v)))
	for _, s := range v {
		w.str(s)
	}
}

func (w *recordBin) int(v int64) { w.b = binary.AppendVarint(w.b, v) }

func (w *recordBin) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *recordBin) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	_, off := t.Zone()
	if off == 0 {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 2)
	}
	w.b = binary.AppendVarint(w.b, t.Unix())
	w.b = binary.AppendUvarint(w.b, uint64(t.Nanosecond()))
	if off != 0 {
		w.b = binary.AppendVarint(w.b, int64(off))
	}
}

// fail marks the record unreadable: every later read returns a zero value.
func (d *recordBin) fail() { d.bad, d.b = true, nil }

// readVar reads one varint of either kind (binary.Uvarint, binary.Varint).
func readVar[T uint64 | int64](d *recordBin, read func([]byte) (T, int)) T {
	v, n := read(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordBin) readUvarint() uint64 { return readVar(d, binary.Uvarint) }

func (d *recordBin) readInt() int64 { return readVar(d, binary.Varint) }

// readCount is a list's length, bounded by the bytes left (each item takes one at least).
func (d *recordBin) readCount() int {
	n := d.readUvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *recordBin) readStr() string {
	n := d.readCount()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *recordBin) readStrs() []string {
	n := d.readCount()
	if n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.readStr()
	}
	return v
}

func (d *recordBin) readBool() bool {
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail()
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *recordBin) readSum() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *recordBin) readTime() time.Time {
	if len(d.b) == 0 {
		d.fail()
		return time.Time{}
	}
	kind := d.b[0]
	d.b = d.b[1:]
	switch kind {
	case 0:
		return time.Time{}
	case 1, 2:
		sec, ns := d.readInt(), d.readUvarint()
		if ns >= 1e9 {
			d.fail()
			return time.Time{}
		}
		t := time.Unix(sec, int64(ns))
		if kind == 1 {
			return t.UTC()
		}
		return t.In(time.FixedZone("", int(d.readInt())))
	}
	d.fail()
	return time.Time{}
}
