package acs

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// contentCoding is a request Content-Encoding the ACS decodes (checklist 5).
type contentCoding uint8

const (
	codingIdentity contentCoding = iota
	codingGzip
	codingDeflate
)

// errUnsupportedCoding is answered with 415 (checklist 5).
var errUnsupportedCoding = errors.New("unsupported Content-Encoding")

// errBodyTooLarge is answered with 413 (checklist 10): the body exceeds MaxBodyBytes on the wire
// or after decompression (a gzip bomb must not get past the limit).
var errBodyTooLarge = errors.New("request body too large")

func parseContentCoding(h http.Header) (contentCoding, error) {
	v := strings.TrimSpace(h.Get("Content-Encoding"))
	switch {
	case v == "", strings.EqualFold(v, "identity"):
		return codingIdentity, nil
	case strings.EqualFold(v, "gzip"), strings.EqualFold(v, "x-gzip"):
		return codingGzip, nil
	case strings.EqualFold(v, "deflate"):
		return codingDeflate, nil
	}
	return 0, fmt.Errorf("%w %q (gzip, deflate and identity are accepted)", errUnsupportedCoding, v)
}

// bodyBuf is a pooled request buffer: the Inform hot path reads into it instead of allocating.
type bodyBuf struct{ b []byte }

const maxPooledBody = 256 << 10

var bodyPool = sync.Pool{New: func() any { return &bodyBuf{b: make([]byte, 0, 8<<10)} }}

func getBody() *bodyBuf { return bodyPool.Get().(*bodyBuf) }

func putBody(bb *bodyBuf) {
	if cap(bb.b) <= maxPooledBody {
		bb.b = bb.b[:0]
		bodyPool.Put(bb)
	}
}

var gzipPool sync.Pool // *gzip.Reader

// readBody reads the whole request body into bb, decoding the content coding and enforcing
// limit both on the wire (http.MaxBytesReader) and after decoding. Content-Length and chunked
// bodies are both handled by net/http, as is Expect: 100-continue: the interim 100 response goes
// out on the first Read, so a request refused earlier never has its body sent (checklist 2).
func readBody(w http.ResponseWriter, r *http.Request, coding contentCoding, limit int64, bb *bodyBuf) error {
	if r.ContentLength > limit {
		return errBodyTooLarge
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch coding {
	case codingGzip:
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(src)
		} else {
			err = zr.Reset(src)
		}
		if err != nil {
			return wireError(err, "gzip")
		}
		defer gzipPool.Put(zr)
		src = zr
	case codingDeflate:
		// "deflate" is zlib-wrapped per RFC 9110, but many clients send raw DEFLATE: sniff the
		// zlib header (CMF/FLG check) and fall back to raw.
		br := bufio.NewReaderSize(src, 64)
		if hdr, err := br.Peek(2); err == nil && hdr[0]&0x0F == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return wireError(err, "deflate")
			}
			defer zr.Close()
			src = zr
		} else {
			fr := flate.NewReader(br)
			defer fr.Close()
			src = fr
		}
	}
	b := bb.b[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := src.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			bb.b = b
			return errBodyTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			bb.b = b
			return wireError(err, "body")
		}
	}
	bb.b = b
	return nil
}

func wireError(err error, what string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errBodyTooLarge
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading %s: truncated", what)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}
