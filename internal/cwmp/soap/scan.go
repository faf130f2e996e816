package soap

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// scanner is the streaming decoder's tokenizer: it returns the tokens encoding/xml's RawToken
// returns in strict mode, without allocating, for the XML CPEs send: ASCII names, quoted
// attributes, the five predefined entities, line ends of any kind and the XML declaration.
// Anything else — a comment, CDATA, a DOCTYPE, a character reference, another processing
// instruction, a name outside ASCII — and anything malformed it declines, and the tree decoder
// reads the message (its errors are the ones a CPE gets). Names are slices of the body, which
// is not changed while it is decoded; text and attribute values are too unless they held an
// entity or a CR, then they are in a buffer reused by the next token.
type scanner struct {
	in  []byte
	pos int
	tok token
	// closing: the last start tag was self-closing; its end comes next.
	closing bool
	scratch []byte
}

type tokKind uint8

const (
	tokStart tokKind = iota + 1
	tokEnd
	tokText
	tokDecl // the XML declaration
)

// qname is a name as RawToken splits it: a prefix only when one colon stands inside the name.
type qname struct{ space, local []byte }

type rawAttr struct {
	name  qname
	value []byte
}

type token struct {
	kind  tokKind
	name  qname     // tokStart, tokEnd
	attrs []rawAttr // tokStart
	text  []byte    // tokText
}

// next returns the next token, valid until the following call; ok is false at the end of the
// input.
func (s *scanner) next() (t *token, ok bool) {
	t = &s.tok
	if s.closing {
		s.closing = false
		t.kind, t.attrs = tokEnd, t.attrs[:0]
		return t, true
	}
	if s.pos >= len(s.in) {
		return nil, false
	}
	if s.in[s.pos] != '<' {
		t.kind = tokText
		t.text = s.text(-1)
		return t, true
	}
	s.pos++
	switch s.peek() {
	case '/':
		s.pos++
		t.kind, t.name, t.attrs = tokEnd, s.name(), t.attrs[:0]
		s.space()
		s.want('>')
	case '?':
		s.pos++
		if target := s.name(); len(target.space) > 0 || string(target.local) != "xml" {
			decline()
		}
		end := bytes.Index(s.in[s.pos:], []byte("?>"))
		if end < 0 {
			decline()
		}
		if v := procInstParam("version", string(s.in[s.pos:s.pos+end])); v != "" && v != "1.0" {
			decline()
		}
		s.pos += end + 2
		t.kind = tokDecl
	case '!':
		decline()
	default:
		t.kind, t.name, t.attrs = tokStart, s.name(), t.attrs[:0]
		for {
			s.space()
			switch s.peek() {
			case '/':
				s.pos++
				s.want('>')
				s.closing = true
				return t, true
			case '>':
				s.pos++
				return t, true
			}
			var a rawAttr
			a.name = s.name()
			s.space()
			s.want('=')
			s.space()
			q := s.peek()
			if q != '"' && q != '\'' {
				decline()
			}
			s.pos++
			a.value = s.text(int(q))
			t.attrs = append(t.attrs, a)
		}
	}
	return t, true
}

// peek returns the next byte, declining at the end of the input.
func (s *scanner) peek() byte {
	if s.pos >= len(s.in) {
		decline()
	}
	return s.in[s.pos]
}

func (s *scanner) want(c byte) {
	if s.peek() != c {
		decline()
	}
	s.pos++
}

func (s *scanner) space() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\r', '\n', '\t':
			s.pos++
		default:
			return
		}
	}
}

// name reads an ASCII name, split at its colon.
func (s *scanner) name() qname {
	in, start, colon := s.in, s.pos, -1
	i := start
	if i < len(in) && nameStart[in[i]] {
		for i++; i < len(in); i++ {
			if c := in[i]; !nameChar[c] {
				if c != ':' || colon >= 0 {
					break
				}
				colon = i
			}
		}
	}
	s.pos = i
	if i < len(in) && (in[i] >= utf8.RuneSelf || in[i] == ':') {
		decline() // a name outside ASCII, or a colon RawToken reads otherwise
	}
	switch {
	case i == start || colon == i-1:
		decline()
	case colon < 0:
		return qname{local: in[start:i]}
	}
	return qname{space: in[start:colon], local: in[colon+1 : i]}
}

// nameStart and nameChar are the bytes a name starts with and goes on with (ASCII only; the
// colon, which splits a name once, is handled apart). plainText are the bytes text and
// attribute values take as they are: what stops it needs a look (markup, quotes, entities, CR,
// controls, ']]>' and the bytes of UTF-8 sequences).
var nameStart, nameChar, plainText = func() (start, char, plain [256]bool) {
	for c := 0; c < 256; c++ {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
		start[c] = letter
		char[c] = letter || '0' <= c && c <= '9' || c == '.' || c == '-'
		plain[c] = c >= 0x20 && c < utf8.RuneSelf && c != '<' && c != '>' && c != '&' && c != '"' && c != '\'' ||
			c == '\t' || c == '\n'
	}
	return
}()

// text reads character data up to the next '<' (quote < 0) or to the closing quote, which it
// consumes. Entities and CRs are replaced in s.scratch as RawToken replaces them.
func (s *scanner) text(quote int) []byte {
	in, start, plain := s.in, s.pos, true
	i := start
	for {
		for i < len(in) && plainText[in[i]] {
			i++
		}
		if i >= len(in) {
			if quote >= 0 {
				decline()
			}
			break
		}
		c := in[i]
		switch {
		case c == '<':
			if quote >= 0 {
				decline()
			}
		case quote >= 0 && c == byte(quote):
		case c == '&' || c == '\r':
			plain = false
			i++
			continue
		case c == '>':
			if quote < 0 && i-start >= 2 && in[i-1] == ']' && in[i-2] == ']' {
				decline() // ]]> outside CDATA: RawToken's error
			}
			i++
			continue
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
				decline()
			}
			i += n
			continue
		case c < 0x20 && c != '\t' && c != '\n':
			decline()
		default: // the other quote
			i++
			continue
		}
		break
	}
	s.pos = i
	raw := in[start:i]
	if quote >= 0 {
		s.pos++ // the quote
	}
	if plain {
		return raw
	}
	return s.unescape(raw)
}

// unescape replaces the predefined entities and turns CR LF and lone CRs into LF.
func (s *scanner) unescape(raw []byte) []byte {
	out := s.scratch[:0]
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '\r':
			out = append(out, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '&':
			end := i + 1
			for end < len(raw) && raw[end] != ';' && end-i <= 5 {
				end++
			}
			if end >= len(raw) || raw[end] != ';' {
				decline()
			}
			switch string(raw[i+1 : end]) {
			case "lt":
				out = append(out, '<')
			case "gt":
				out = append(out, '>')
			case "amp":
				out = append(out, '&')
			case "apos":
				out = append(out, '\'')
			case "quot":
				out = append(out, '"')
			default:
				decline() // a character reference or an undeclared entity
			}
			i = end
		default:
			out = append(out, c)
		}
	}
	s.scratch = out
	return out
}

// isXMLChar is the XML Char production (what RawToken accepts).
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// procInstParam is encoding/xml's procInst: the value of param in the XML declaration's text,
// found the way RawToken finds the version it checks.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}
