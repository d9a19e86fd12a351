package service

import (
	"encoding/json"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones validate on hosts without a zoneinfo database
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"gatehouse/server/problem"
	"gatehouse/server/security"
)

var usernameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,62}[A-Za-z0-9]$`)

// Field limits.
const (
	maxDisplayName     = 200
	maxPhone           = 40
	maxEmail           = 254
	maxPreferencesJSON = 8 * 1024
)

func validateUsername(f problem.Fields, field, v string) {
	if !usernameRe.MatchString(v) {
		f.Add(field, "must be 3-64 characters: letters, digits, dot, dash or underscore, starting and ending with a letter or digit")
	}
}

// validateEmail checks a plain address (no display name) of sane length.
func validateEmail(f problem.Fields, field, v string) {
	if len(v) > maxEmail {
		f.Add(field, "must be at most 254 characters")
		return
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		f.Add(field, "must be an email address like name@example.com")
	}
}

func validateDisplayName(f problem.Fields, field, v string) {
	if utf8.RuneCountInString(v) > maxDisplayName {
		f.Add(field, "must be at most 200 characters")
	}
	if strings.ContainsAny(v, "\x00\r\n") {
		f.Add(field, "must be a single line")
	}
}

func validatePhone(f problem.Fields, field, v string) {
	if len(v) > maxPhone {
		f.Add(field, "must be at most 40 characters")
		return
	}
	for _, r := range v {
		if !strings.ContainsRune("0123456789+-() .", r) {
			f.Add(field, "may hold only digits, spaces and + - ( ) .")
			return
		}
	}
}

func validateLanguage(f problem.Fields, field, v string) {
	if _, err := language.Parse(v); err != nil || len(v) > 35 {
		f.Add(field, "must be a language tag such as en or zh-CN")
	}
}

func validateTimezone(f problem.Fields, field, v string) {
	if v == "" || v == "Local" || len(v) > 64 {
		f.Add(field, "must be an IANA time zone such as Europe/Berlin or UTC")
		return
	}
	if _, err := time.LoadLocation(v); err != nil {
		f.Add(field, "must be an IANA time zone such as Europe/Berlin or UTC")
	}
}

// validatePreferences checks a JSON object of bounded size and returns its
// compact form.
func validatePreferences(f problem.Fields, field string, v map[string]any) string {
	if v == nil {
		return "{}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		f.Add(field, "must be a JSON object")
		return ""
	}
	if len(b) > maxPreferencesJSON {
		f.Add(field, "must be at most 8 KiB of JSON")
	}
	return string(b)
}

// CheckPassword applies the policy to the password's NFKC form (the form
// that is hashed) and returns a reason when refused.
func CheckPassword(p PasswordPolicy, password, username, email string) string {
	if !utf8.ValidString(password) {
		return "must be valid text"
	}
	password = security.NormalizePassword(password)
	n := utf8.RuneCountInString(password)
	minLen := max(p.MinLength, MinPasswordFloor)
	switch {
	case n < minLen:
		return "must be at least " + strconv.Itoa(minLen) + " characters"
	case n > MaxPasswordLength:
		return "must be at most 128 characters"
	case strings.TrimFunc(password, unicode.IsSpace) == "":
		return MsgPasswordOnlySpaces
	case oneRepeatedRune(password):
		return MsgPasswordRepeated
	case p.BlockCommon && security.IsCommonPassword(password):
		return "is one of the most commonly used passwords; choose another"
	}
	if p.BlockPersonalInfo {
		lower := strings.ToLower(password)
		if len(username) >= 3 && strings.Contains(lower, strings.ToLower(username)) {
			return "must not contain your username"
		}
		if at := strings.IndexByte(email, '@'); at >= 3 && strings.Contains(lower, strings.ToLower(email[:at])) {
			return "must not contain your email address"
		}
	}
	return ""
}

// Refusals of passwords that are no secret at all, whatever their length.
const (
	MsgPasswordOnlySpaces = "must not be only spaces"
	MsgPasswordRepeated   = "must not be one character repeated"
)

func oneRepeatedRune(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}
