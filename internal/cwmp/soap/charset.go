package soap

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// toUTF8 returns body as UTF-8 (checklist 3, 4). The charset comes from the Content-Type parameter,
// else from the XML declaration, else UTF-8 is assumed. etree (like encoding/xml) would ignore the
// declared charset, so the whole body is transcoded here and parsed with a pass-through reader.
//
// Tolerance beyond the rules: a UTF-16 byte-order mark wins over any label, a UTF-8 BOM is
// dropped, an unknown label falls back to the next source, and bytes that claim to be UTF-8 but
// are not are read as windows-1252 (a superset of ISO-8859-1 in what CPEs send). Each fallback
// leaves a warning.
func toUTF8(body []byte, contentType string, warn func(string, ...any)) ([]byte, error) {
	switch {
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		body = body[3:]
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}), bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		return transcode(body, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM))
	}

	var enc encoding.Encoding
	if label := contentTypeCharset(contentType); label != "" {
		if enc = lookupCharset(label); enc == nil {
			warn("unknown charset %q in Content-Type ignored", label)
		}
	}
	if enc == nil {
		if label := xmlDeclEncoding(body); label != "" {
			if enc = lookupCharset(label); enc == nil {
				warn("unknown encoding %q in XML declaration ignored", label)
			}
		}
	}
	if enc != nil && enc != unicode.UTF8 {
		return transcode(body, enc)
	}
	if !utf8.Valid(body) {
		warn("body is not valid UTF-8: read as windows-1252")
		return transcode(body, charmap.Windows1252)
	}
	return body, nil
}

func transcode(body []byte, enc encoding.Encoding) ([]byte, error) {
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, &DecodeError{Fault: FaultInvalidArguments, Msg: "cannot transcode body: " + err.Error()}
	}
	return out, nil
}

// lookupCharset resolves a charset label: the WHATWG index first (it maps GB2312 to GBK, which is
// what such devices really send), then the IANA registry. nil when unknown or unsupported.
func lookupCharset(label string) encoding.Encoding {
	if e, err := htmlindex.Get(label); err == nil {
		return e
	}
	if e, err := ianaindex.IANA.Encoding(label); err == nil && e != nil {
		return e
	}
	return nil
}

// contentTypeCharset extracts the charset parameter of a Content-Type value, quoted or not.
// Hand-rolled because mime.ParseMediaType rejects the odd values CPEs send (checklist 3).
func contentTypeCharset(ct string) string {
	for ct != "" {
		var param string
		param, ct, _ = strings.Cut(ct, ";")
		key, val, ok := strings.Cut(param, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(key), "charset") {
			continue
		}
		return strings.Trim(strings.TrimSpace(val), `"'`)
	}
	return ""
}

// xmlDeclEncoding returns the encoding pseudo-attribute of a leading XML declaration, or "".
func xmlDeclEncoding(body []byte) string {
	body = bytes.TrimLeft(body, " \t\r\n")
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(body, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := body[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	rest = rest[1:]
	if j := bytes.IndexByte(rest, q); j >= 0 {
		return string(rest[:j])
	}
	return ""
}
