package security

import (
	"net/url"
	"strings"
)

// SafeNext returns next when it is a same-origin relative path, else "/".
// Browsers read "//host", "/\host" and "https:host" as other origins and
// ignore tabs and newlines inside URLs, so anything that is not a plain
// "/path" (after unescaping, too) lands on "/".
func SafeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "/"
		}
	}
	if strings.HasPrefix(next, "//") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	// "/%2F%2Fevil" is harmless as sent, but a page that unescapes it
	// before navigating would make it "//evil".
	if dec, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(dec, "//") || strings.Contains(dec, "\\") {
		return "/"
	}
	return next
}
