package security

import "testing"

func TestSafeNext(t *testing.T) {
	cases := map[string]string{
		"":                     "/",
		"/":                    "/",
		"/account/profile":     "/account/profile",
		"/admin/users?q=a&b=c": "/admin/users?q=a&b=c",
		"/a#frag":              "/a#frag",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"\\\\evil.example":     "/",
		"https:evil.example":   "/",
		"https://evil.example": "/",
		"%2F%2Fevil.example":   "/",
		"/%2F%2Fevil.example":  "/",
		"/%5Cevil.example":     "/",
		"\t//evil.example":     "/",
		"/\t/evil.example":     "/",
		"/\n/evil.example":     "/",
		" /evil":               "/",
		"javascript:alert(1)":  "/",
		"evil.example":         "/",
		"/%zz":                 "/",
	}
	for in, want := range cases {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
