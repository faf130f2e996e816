package acs

import (
	"iter"
	"strings"
)

// CookieName is the session cookie the ACS sets on InformResponse (checklist 11).
const CookieName = "cwmpsid"

// setCookieValue is the Set-Cookie header for a session id. Path=/ because CPEs scope cookies
// loosely and some POST to a path other than the one they were given (checklist 11).
func setCookieValue(id string, secure bool) string {
	if secure {
		return CookieName + "=" + id + "; Path=/; HttpOnly; Secure"
	}
	return CookieName + "=" + id + "; Path=/; HttpOnly"
}

// cookieValues yields every value of the cookie called name in the Cookie header lines, in order.
// It is deliberately more tolerant than net/http (checklist 11): pairs may be separated by ';' or
// ',' (RFC 2109 style), values may be quoted, and RFC 2965 attributes ($Version, $Path, $Domain)
// or a whole Set-Cookie echoed back (Path=/; HttpOnly; Expires=Wed, 21 Oct …) are skipped because
// they never carry our name.
func cookieValues(lines []string, name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, line := range lines {
			for len(line) > 0 {
				var pair string
				pair, line = nextCookiePair(line)
				k, v, ok := strings.Cut(pair, "=")
				if !ok {
					continue
				}
				if k = strings.TrimSpace(k); !strings.EqualFold(k, name) {
					continue
				}
				if v = unquoteCookie(strings.TrimSpace(v)); v == "" {
					continue
				}
				if !yield(v) {
					return
				}
			}
		}
	}
}

// nextCookiePair splits s at the first ';' or ',' outside double quotes.
func nextCookiePair(s string) (pair, rest string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case c == '\\' && inQuote:
			i++ // the escaped byte cannot end the quote
		case (c == ';' || c == ',') && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// unquoteCookie strips one pair of surrounding double quotes and backslash escapes inside them.
func unquoteCookie(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
