package soap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

// passThrough is the tree decoder's charset reader: toUTF8 has transcoded the body already.
func passThrough(_ string, r io.Reader) (io.Reader, error) { return r, nil }

// rawTokens lists the tokens of body as encoding/xml's RawToken returns them to the tree
// decoder (strict, pass-through charset), in the scanner's words; ok is false on an error.
func rawTokens(body []byte) (toks []string, ok bool) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = passThrough
	for {
		t, err := dec.RawToken()
		if err == io.EOF {
			return toks, true
		}
		if err != nil {
			return toks, false
		}
		switch t := t.(type) {
		case xml.StartElement:
			s := "<" + t.Name.Space + "|" + t.Name.Local
			for _, a := range t.Attr {
				s += fmt.Sprintf(" %s|%s=%q", a.Name.Space, a.Name.Local, a.Value)
			}
			toks = append(toks, s+">")
		case xml.EndElement:
			toks = append(toks, "</"+t.Name.Space+"|"+t.Name.Local+">")
		case xml.CharData:
			toks = append(toks, fmt.Sprintf("%q", string(t)))
		case xml.ProcInst:
			toks = append(toks, "<?"+t.Target+">")
		default:
			toks = append(toks, fmt.Sprintf("%T", t))
		}
	}
}

// scannedTokens is rawTokens from the scanner; ok is false when it declined.
func scannedTokens(body []byte) (toks []string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(declined); !is {
				panic(r)
			}
			toks, ok = nil, false
		}
	}()
	sc := scanner{in: body}
	for {
		t, more := sc.next()
		if !more {
			return toks, true
		}
		switch t.kind {
		case tokStart:
			s := "<" + string(t.name.space) + "|" + string(t.name.local)
			for _, a := range t.attrs {
				s += fmt.Sprintf(" %s|%s=%q", a.name.space, a.name.local, a.value)
			}
			toks = append(toks, s+">")
		case tokEnd:
			toks = append(toks, "</"+string(t.name.space)+"|"+string(t.name.local)+">")
		case tokText:
			toks = append(toks, fmt.Sprintf("%q", string(t.text)))
		case tokDecl:
			toks = append(toks, "<?xml>")
		}
	}
}

// checkScanner fails when the scanner accepts body and reads other tokens than RawToken, or
// accepts what RawToken refuses.
func checkScanner(t *testing.T, body []byte) (scanned bool) {
	t.Helper()
	got, ok := scannedTokens(body)
	if !ok {
		return false
	}
	want, wantOK := rawTokens(body)
	if !wantOK {
		t.Fatalf("the scanner accepts what RawToken refuses: %q\nscanned %q", body, got)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("tokens of %q:\nscanned %q\nRawToken %q", body, got, want)
	}
	return true
}

// The scanner reads the XML CPEs send as RawToken does (the streaming decoder's results are the
// tree decoder's only if so), and declines the rest, for the tree decoder to read.
func TestScannerMatchesRawToken(t *testing.T) {
	for _, c := range []struct {
		body    string
		scanned bool
	}{
		{`<?xml version="1.0" encoding="UTF-8"?><a:b xmlns:a="u" c = 'x"y' d="&lt;&amp;&gt;&apos;&quot;"/>`, true},
		{"<a\r\n b=\"1\r\n2\"\t>x\r\ny\rz</a >", true},
		{`<a.b-c_d><e/>text &amp; more</a.b-c_d>`, true},
		{`<a>x]]&gt;</a>`, true},
		{`<a b="]]>"/>`, true},
		{"<a>caf\u00e9 \U0001F600</a>", true},
		{`<?xml version='1.1'?><a/>`, false},
		{`<?xml-stylesheet href="x"?><a/>`, false},
		{`<a><!-- c --></a>`, false},
		{`<a><![CDATA[x]]></a>`, false},
		{`<!DOCTYPE a><a/>`, false},
		{`<a>&#233;</a>`, false},
		{`<a>&nbsp;</a>`, false},
		{`<a>&amp</a>`, false},
		{`<a>x]]>y</a>`, false},
		{`<a b=c/>`, false},
		{`<a b/>`, false},
		{`<a b="<"/>`, false},
		{`<a:b:c/>`, false},
		{`<:a/>`, false},
		{`<a:/>`, false},
		{`<1a/>`, false},
		{"<\u00e9/>", false},
		{"<a>\x01</a>", false},
		{"<a>\xff</a>", false},
		{"<a>\uFFFE</a>", false},
		{`<a b="1`, false},
		{`<a`, false},
		{`</`, false},
	} {
		if got := checkScanner(t, []byte(c.body)); got != c.scanned {
			t.Errorf("%q: scanned %v, want %v", c.body, got, c.scanned)
		}
	}
}

func FuzzScannerMatchesRawToken(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte, _ string) {
		checkScanner(t, body)
	})
}
