package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// A device's raw parameters are most of the store file (a 792-parameter model: about 26 KB of
// JSON per device, in overflow pages of their own) and their decode is most of a state read's
// CPU. They are stored compact: names sorted and front-coded (a name keeps the prefix it shares
// with the one before, as parameter paths do), types as one byte for the xsd types, then
// compressed with zstd (its fastest level): about a tenth of the JSON, fitting in pages shared
// with other devices, so fewer of the file's pages are touched (and resident through bbolt's
// map). Values written by earlier versions are JSON objects, read as before.
//
// The last normalized state (bucket "state", about 2.5 KB of JSON for the same model) is stored
// compressed the same way: statePrefix, then zstd of the JSON; a state stored as plain JSON by an
// earlier version starts with '{' and is read as it is.
//
//	paramsFormat1 zstd( uvarint(count) { uvarint(shared) uvarint(len(suffix)) suffix type uvarint(len(value)) value }* )
//	type: its index in paramTypes, or typeOther followed by uvarint(len) and the type itself

const (
	// paramsFormat1 starts a compact value; a JSON value starts with '{'.
	paramsFormat1 = 0x01
	// stateZstd starts a compressed state.
	stateZstd = 0x01
	typeOther = 0xff
	// maxParamsDecoded bounds what a stored value may decode to (a corrupt length must not
	// allocate gigabytes).
	maxParamsDecoded = 64 << 20
)

// paramTypes are the types a CWMP value carries (TR-069 Table 14: xsd and the SOAP-ENC
// base64), by their index, which is stored: append only.
var paramTypes = [...]string{"", "xsd:string", "xsd:unsignedInt", "xsd:int", "xsd:boolean", "xsd:dateTime",
	"xsd:base64", "xsd:hexBinary", "xsd:long", "xsd:unsignedLong", "soap-enc:base64", "SOAP-ENC:base64"}

var (
	paramsEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true), zstd.WithZeroFrames(true))
	paramsDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(maxParamsDecoded))
)

// encodeParams is the stored form of p.
func encodeParams(p map[string]ParamValue) []byte {
	names := make([]string, 0, len(p))
	size := 0
	for n, v := range p {
		names = append(names, n)
		size += len(n) + len(v.Value) + 4
	}
	slices.Sort(names)
	raw := make([]byte, 0, size+binary.MaxVarintLen64)
	raw = binary.AppendUvarint(raw, uint64(len(names)))
	prev := ""
	for _, n := range names {
		shared := 0
		for shared < len(n) && shared < len(prev) && n[shared] == prev[shared] {
			shared++
		}
		raw = binary.AppendUvarint(raw, uint64(shared))
		raw = binary.AppendUvarint(raw, uint64(len(n)-shared))
		raw = append(raw, n[shared:]...)
		v := p[n]
		if i := typeIndex(v.Type); i >= 0 {
			raw = append(raw, byte(i))
		} else {
			raw = append(raw, typeOther)
			raw = binary.AppendUvarint(raw, uint64(len(v.Type)))
			raw = append(raw, v.Type...)
		}
		raw = binary.AppendUvarint(raw, uint64(len(v.Value)))
		raw = append(raw, v.Value...)
		prev = n
	}
	return paramsEncoder.EncodeAll(raw, []byte{paramsFormat1})
}

func typeIndex(t string) int {
	for i, k := range paramTypes {
		if k == t {
			return i
		}
	}
	return -1
}

// encodeState is the stored form of a state's JSON.
func encodeState(j []byte) []byte {
	return paramsEncoder.EncodeAll(j, []byte{stateZstd})
}

// decodeState is the JSON of a stored state, compressed or not.
func decodeState(v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != stateZstd {
		return bytes.Clone(v), nil
	}
	return paramsDecoder.DecodeAll(v[1:], nil)
}

var errParamsCorrupt = errors.New("corrupt parameters")

// decodeParams reads a stored value: compact, or JSON as earlier versions wrote it.
func decodeParams(v []byte) (map[string]ParamValue, error) {
	if len(v) == 0 || v[0] != paramsFormat1 {
		var p map[string]ParamValue
		err := json.Unmarshal(v, &p)
		return p, err
	}
	raw, err := paramsDecoder.DecodeAll(v[1:], nil)
	if err != nil {
		return nil, err
	}
	r := paramsReader{b: raw}
	n := r.uvarint()
	if n > uint64(len(raw)) { // each parameter takes at least one byte
		return nil, errParamsCorrupt
	}
	p := make(map[string]ParamValue, n)
	var name strings.Builder
	prev := ""
	for range n {
		shared, suffix := r.uvarint(), r.bytes()
		if r.err != nil || shared > uint64(len(prev)) {
			return nil, errParamsCorrupt
		}
		name.Reset()
		name.Grow(int(shared) + len(suffix))
		name.WriteString(prev[:shared])
		name.Write(suffix)
		var pv ParamValue
		switch t := r.byte(); {
		case t == typeOther:
			pv.Type = string(r.bytes())
		case int(t) < len(paramTypes):
			pv.Type = paramTypes[t]
		default:
			r.err = fmt.Errorf("%w: type %d", errParamsCorrupt, t)
		}
		pv.Value = string(r.bytes())
		if r.err != nil {
			return nil, r.err
		}
		prev = name.String()
		p[prev] = pv
	}
	return p, nil
}

// paramsReader reads the compact form; its first error sticks.
type paramsReader struct {
	b   []byte
	err error
}

func (r *paramsReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errParamsCorrupt
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *paramsReader) byte() byte {
	if len(r.b) == 0 {
		r.err = errParamsCorrupt
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *paramsReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errParamsCorrupt
		r.b = nil
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}
