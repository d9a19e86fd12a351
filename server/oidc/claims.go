package oidc

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// Mapping names the claims (or simple dotted paths into the claims) that
// give an account's fields. Empty means "not mapped", except Subject.
type Mapping struct {
	Subject       string `json:"subject"`
	Username      string `json:"username"`
	DisplayName   string `json:"displayName"`
	Email         string `json:"email"`
	EmailVerified string `json:"emailVerified"`
}

// DefaultMapping fits OIDC providers (standard claim names).
var DefaultMapping = Mapping{Subject: "sub", Username: "preferred_username", DisplayName: "name", Email: "email", EmailVerified: "email_verified"}

var pathRe = regexp.MustCompile(`^[A-Za-z0-9_:$-]+(\.[A-Za-z0-9_:$-]+)*$`)

// ValidPath reports whether p is a claim name or dotted path.
func ValidPath(p string) bool { return len(p) <= 100 && pathRe.MatchString(p) }

// Profile is what a provider says about a person, mapped.
type Profile struct {
	Subject     string
	Username    string
	DisplayName string
	Email       string
	// EmailVerified is true only when the claim is the JSON boolean true:
	// the string "true", a missing claim or false never count.
	EmailVerified bool
}

// MapClaims applies m to claims. It fails only when the subject is
// missing or not a string or integer.
func MapClaims(claims map[string]any, m Mapping) (Profile, error) {
	var p Profile
	sub, ok := lookup(claims, m.Subject)
	if !ok {
		return p, fail("subject_missing", "no %q claim", m.Subject)
	}
	switch v := sub.(type) {
	case string:
		p.Subject = v
	case json.Number:
		if _, err := strconv.ParseInt(v.String(), 10, 64); err != nil {
			return p, fail("subject_missing", "claim %q is not a string or integer", m.Subject)
		}
		p.Subject = v.String()
	}
	if p.Subject == "" || len(p.Subject) > 255 {
		return p, fail("subject_missing", "claim %q is empty, too long or not a string", m.Subject)
	}
	p.Username = stringClaim(claims, m.Username)
	p.DisplayName = stringClaim(claims, m.DisplayName)
	p.Email = stringClaim(claims, m.Email)
	if v, ok := lookup(claims, m.EmailVerified); ok {
		b, isBool := v.(bool)
		p.EmailVerified = isBool && b
	}
	return p, nil
}

func stringClaim(claims map[string]any, path string) string {
	v, ok := lookup(claims, path)
	if !ok {
		return ""
	}
	switch s := v.(type) {
	case string:
		return strings.TrimSpace(s)
	case json.Number:
		return s.String()
	}
	return ""
}

// lookup finds a claim by exact name first (claim names may contain
// dots), then by walking a dotted path through nested objects.
func lookup(claims map[string]any, path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	if v, ok := claims[path]; ok && v != nil {
		return v, true
	}
	var cur any = claims
	for _, part := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}
