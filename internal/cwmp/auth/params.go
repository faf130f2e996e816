package auth

import (
	"errors"
	"fmt"
	"strings"
)

// challenge is one scheme with its parameters, from WWW-Authenticate or Authorization.
// Parameter names are lower-cased (RFC 7235 §2.1: they are case-insensitive; CPEs send
// "Username=" and "NONCE=" as well as the usual spelling).
type challenge struct {
	scheme string            // lower case: "basic", "digest", …
	params map[string]string // name (lower case) → unquoted value
}

// parseChallenges parses WWW-Authenticate header values, each of which may hold several
// challenges ("Basic realm=\"x\", Digest realm=\"y\", nonce=\"…\""). A value that stops parsing
// midway keeps the challenges read before the fault: a malformed foreign scheme (Negotiate with a
// token68) must not hide a usable Digest.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		sc := scanner{s: v}
		for {
			sc.skip(" \t,")
			if sc.done() {
				break
			}
			scheme := sc.token()
			if scheme == "" {
				break
			}
			params, err := sc.params()
			if err != nil {
				break
			}
			out = append(out, challenge{scheme: strings.ToLower(scheme), params: params})
		}
	}
	return out
}

// parseDigestCredentials parses the parameter list after "Digest " in an Authorization header.
func parseDigestCredentials(s string) (map[string]string, error) {
	sc := scanner{s: s}
	p, err := sc.params()
	if err != nil {
		return nil, err
	}
	sc.skip(" \t,")
	if !sc.done() {
		return nil, fmt.Errorf("unexpected %q at offset %d", sc.s[sc.i:], sc.i)
	}
	return p, nil
}

// scanner walks an auth-param list (RFC 7235 §2.1): name=token or name="quoted string",
// separated by commas. Quoted values may contain commas and backslash escapes (checklist 16).
type scanner struct {
	s string
	i int
}

func (sc *scanner) done() bool { return sc.i >= len(sc.s) }

func (sc *scanner) skip(set string) {
	for sc.i < len(sc.s) && strings.IndexByte(set, sc.s[sc.i]) >= 0 {
		sc.i++
	}
}

// token reads an RFC 7230 token.
func (sc *scanner) token() string {
	start := sc.i
	for sc.i < len(sc.s) && isTokenChar(sc.s[sc.i]) {
		sc.i++
	}
	return sc.s[start:sc.i]
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

var errUnterminated = errors.New("unterminated quoted string")

// value reads a quoted string (unescaping \x) or, leniently, any unquoted run up to the next
// comma or blank: broken clients send uri=/path unquoted, which is not a token.
func (sc *scanner) value() (string, error) {
	if sc.done() || sc.s[sc.i] != '"' {
		start := sc.i
		for sc.i < len(sc.s) && sc.s[sc.i] != ',' && sc.s[sc.i] != ' ' && sc.s[sc.i] != '\t' {
			sc.i++
		}
		return sc.s[start:sc.i], nil
	}
	sc.i++ // opening quote
	var b strings.Builder
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		sc.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if sc.i < len(sc.s) {
				b.WriteByte(sc.s[sc.i])
				sc.i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", errUnterminated
}

// params reads name=value pairs until the end of the input or the start of the next challenge
// (a token not followed by '='), which it leaves unread.
func (sc *scanner) params() (map[string]string, error) {
	out := make(map[string]string)
	for {
		sc.skip(" \t,")
		if sc.done() {
			return out, nil
		}
		start := sc.i
		name := sc.token()
		if name == "" {
			return nil, fmt.Errorf("unexpected %q at offset %d", sc.s[sc.i], sc.i)
		}
		sc.skip(" \t")
		if sc.done() || sc.s[sc.i] != '=' {
			sc.i = start // the scheme of the next challenge
			return out, nil
		}
		sc.i++
		sc.skip(" \t")
		v, err := sc.value()
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", name, err)
		}
		key := strings.ToLower(name)
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("parameter %q repeated", name)
		}
		out[key] = v
		sc.skip(" \t")
		if !sc.done() && sc.s[sc.i] != ',' {
			return nil, fmt.Errorf("expected ',' after parameter %q at offset %d", name, sc.i)
		}
	}
}

// quote renders a quoted-string, escaping '"' and '\'.
func quote(s string) string {
	if !strings.ContainsAny(s, "\"\\") {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
