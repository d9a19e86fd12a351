package problem

import (
	"regexp"
	"strconv"
	"strings"
)

// FieldError is the stable, machine-readable form of one field message:
// a code from FieldCodes and the values the message names (a length, a
// list of allowed values, ...). Clients translate the code; the English
// message stays beside it as the fallback.
type FieldError struct {
	Code   string         `json:"code"`
	Params map[string]any `json:"params,omitempty"`
}

// fieldTemplate is one English field message with {name} placeholders (a
// placeholder may carry its own pattern: {values:[a-z_0-9, ]+}).
type fieldTemplate struct {
	code     string
	template string
	re       *regexp.Regexp
	names    []string
}

// fieldTemplates lists every English field message the server writes, each
// with its code. The first template that matches a message wins, so
// specific ones come before general ones. TestErrorCodes_EveryFieldMessageHasACode
// fails when a message in the code matches none of them; the codes are the
// FieldErrorCode enum of the OpenAPI document and are translated by the console.
var fieldTemplates = compileTemplates([][2]string{
	{"required", "is required"},
	{"required", "is required (an integer in minor units)"},
	{"required", "must not be empty"},
	{"required_with_host", "is required when a host is set"},
	{"required_for_turnstile", "is required to turn Turnstile on"},
	{"too_long", "is too long"},
	{"too_large", "is too large"},
	{"max_length", "must be at most {max} characters"},
	{"too_short", "must be at least {min} characters"},
	{"length_range", "must be {min} to {max} characters"},
	{"length_range_line", "must be {min} to {max} characters on one line"},
	{"max_size", "must be at most {size} of JSON"},
	{"max_size", "must be at most {size:[0-9]+ KiB}"},
	{"image_too_large", "must be at most {size}; use a smaller image or an https URL"},
	{"too_many_items", "may list at most {max} {items}"},
	{"whole_number_range", "must be a whole number from {min} to {max}"},
	{"whole_number_min", "must be a whole number from {min}"},
	{"days_range", "must be a whole number of days from {min} to {max}"},
	{"days_range", "must be from {min} to {max} days"},
	{"range", "must be from {min:[0-9]+}{minNote: \\([^)]*\\)|} to {max:[0-9]+}{maxNote: \\([^)]*\\)|}"},
	{"idle_timeout_range", "must be 0 (off) or from {min} up to the session lifetime"},
	{"exceeds_session_lifetime", "must not exceed the session lifetime"},
	{"not_negative", "must be zero or more (in minor units)"},
	{"out_of_range", "is out of range"},
	{"below_zero", "would take the balance below zero"},
	{"must_be_string", "must be a string"},
	{"must_be_number", "must be a number"},
	{"must_be_array", "must be an array"},
	{"must_be_object", "must be an object"},
	{"must_be_object", "must be a JSON object"},
	{"wrong_type", "must be of another type"},
	{"one_of", "must be {values:[A-Za-z0-9_]+(?:, [A-Za-z0-9_]+)* or [A-Za-z0-9_]+}"},
	{"invalid_sort", "must be one of id, last_login, updated, display_name, optionally prefixed with -"},
	{"after_or_before", "give after or before, not both"},
	{"invalid_cursor", "is not a cursor of this list and sort order; start again from the first page"},
	{"invalid_cursor", "is not a cursor of the audit log; start again from the first page"},
	{"invalid_time", "must be a time like 2026-01-31T12:00:00Z"},
	{"in_future", "must be in the future"},
	{"unknown_api_scope", "must each be one of {values}"},
	{"invalid_cidr", "must be IP addresses or CIDR ranges such as 10.0.0.0/8"},
	{"unknown_field", "is not accepted here"},
	{"invalid_utf8", "must be valid UTF-8"},
	{"invalid_utf8", "must be valid text"},
	{"no_nul", "must not contain NUL bytes"},
	{"no_control_chars", "must not contain control characters"},
	{"single_line", "must be a single line"},
	{"invalid_username", "must be 3-64 characters: letters, digits, dot, dash or underscore, starting and ending with a letter or digit"},
	{"invalid_email", "must be an email address like name@example.com"},
	{"invalid_phone", "may hold only digits, spaces and + - ( ) ."},
	{"invalid_language", "must be a language tag such as en or zh-CN"},
	{"invalid_timezone", "must be an IANA time zone such as Europe/Berlin or UTC"},
	{"invalid_currency", "must be a three-letter ISO 4217 code such as USD"},
	{"invalid_slug", "must be 1 to 40 lowercase letters, digits or dashes, not starting or ending with a dash"},
	{"invalid_scope", "\"{value}\" is not a valid scope (no spaces, quotes or backslashes)"},
	{"invalid_claim", "must be a claim name or a dotted path such as profile.name"},
	{"https_url", "must be an absolute https URL"},
	{"https_url_or_localhost", "must be an https URL (plain http only for localhost)"},
	{"logo_url", "must be an https URL or a data: image URL"},
	{"invalid_data_url", "is not a valid data: URL"},
	{"image_type", "must be a PNG, JPEG, SVG or WebP image"},
	{"image_mismatch", "does not hold a {type} image"},
	{"invalid_host", "must be a host name or IP address, without port or scheme"},
	{"invalid_protected_host", "\"{value}\" is not a host name like app.example.com (a port only when it is not 80 or 443)"},
	{"host_outside_cookie_domain", "\"{value}\" does not receive the session cookie; set the cookie domain (--cookie-domain) to a parent domain of it"},
	{"host_taken", "\"{value}\" already belongs to the protected app {app}"},
	{"invalid_pem", "must be PEM certificates (-----BEGIN CERTIFICATE----- ...): {detail}"},
	{"needed_for_verification", "is needed while registration requires email verification; turn that off first"},
	{"needs_smtp", "needs SMTP configured first (Email settings: host and sender address)"},
	{"needs_email_registration", "applies to email registration only; turn email registration on first"},
	{"needs_password_signin", "needs username or email sign-in on: people who register sign in with a password"},
	{"email_registration_on", "email registration is on, and people who register sign in with a password; turn email registration off first"},
	{"invalid_domain", "\"{value}\" is not a domain name like example.com"},
	{"plus_alias", "addresses with a + alias are not accepted here"},
	{"domain_not_allowed", "must be an address at {domains}"},
	{"human_check_failed", "did not verify"},
	{"incorrect", "is not correct"},
	{"incorrect", "password or code is not correct"},
	{"invalid", "is not valid"},
	{"refused", "was refused"},
	{"taken", "is already taken"},
	{"in_use", "is already used by another account"},
	{"ids_or_filter", "give either publicIds or a filter"},
	{"one_account_only", "can be set on one account at a time"},
	{"wrong_billing_mode", "belongs to the {mode} billing mode; the active mode is {active}"},
	{"super_admin_only", "only a super administrator may choose admin"},
	{"super_admin_only", "only a super administrator may turn this on"},
	{"unknown_plan", "is not a known plan"},
	{"needs_email", "needs an email address"},
	{"verified_elsewhere", "another account has verified this address"},
	{"confirm_username", "type the account's username to confirm"},
	{"session_of_other_account", "names a session of one account"},
	{"list_every_provider", "must list every provider exactly once"},
	{"password_same_as_current", "must differ from the current password"},
	{"password_or_generate", "give a password, or ask for one to be generated"},
	{"not_webauthn_answer", "is not a WebAuthn registration answer"},
	{"not_webauthn_answer", "is not a WebAuthn sign-in answer"},
	{"code_not_current", "is not the current code of this secret; check the device's clock"},
	{"already_your_address", "is already your address"},
	{"in_use", "is already used by another plan"},
	{"in_use", "is already used by another provider"},
	{"fixed_after_creation", "cannot change after creation"},
	{"at_least_one", "must list at least one {item}"},
	{"zero_or_range", "must be 0 (off) or from {min} to {max}"},
	{"invalid_redirect_uri", "\"{value}\" must be an exact https URI (http only for localhost, or a private-use scheme such as com.example.app), without wildcards or a fragment"},
	{"password_only_spaces", "must not be only spaces"},
	{"password_repeated", "must not be one character repeated"},
	{"password_common", "is one of the most commonly used passwords; choose another"},
	{"password_contains_username", "must not contain your username"},
	{"password_contains_email", "must not contain your email address"},
})

var placeholder = regexp.MustCompile(`\{([A-Za-z]+)(?::((?:[^{}]|\{[^{}]*\})*))?\}`)

func compileTemplates(list [][2]string) []fieldTemplate {
	out := make([]fieldTemplate, 0, len(list))
	for _, l := range list {
		t := fieldTemplate{code: l[0], template: l[1]}
		var b strings.Builder
		b.WriteString("^")
		rest := l[1]
		for {
			loc := placeholder.FindStringSubmatchIndex(rest)
			if loc == nil {
				b.WriteString(regexp.QuoteMeta(rest))
				break
			}
			b.WriteString(regexp.QuoteMeta(rest[:loc[0]]))
			name := rest[loc[2]:loc[3]]
			pattern := ".+?"
			if loc[4] >= 0 {
				pattern = rest[loc[4]:loc[5]]
			}
			b.WriteString("(" + pattern + ")")
			t.names = append(t.names, name)
			rest = rest[loc[1]:]
		}
		b.WriteString("$")
		t.re = regexp.MustCompile(b.String())
		out = append(out, t)
	}
	return out
}

// DescribeField returns the code and parameters of an English field
// message; ok is false for a message no template knows (the code is then
// "invalid", and the English message is all a client has).
func DescribeField(msg string) (fe FieldError, ok bool) {
	for _, t := range fieldTemplates {
		m := t.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		fe.Code = t.code
		for i, name := range t.names {
			v := strings.TrimSpace(m[i+1])
			if strings.HasSuffix(name, "Note") {
				continue // a gloss such as "(5 minutes)"; the client words its own
			}
			if fe.Params == nil {
				fe.Params = map[string]any{}
			}
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				fe.Params[name] = n
			} else {
				fe.Params[name] = v
			}
		}
		return fe, true
	}
	return FieldError{Code: "invalid"}, false
}

// FieldCodes lists every code DescribeField can answer, in a stable order.
func FieldCodes() []string {
	seen := map[string]bool{"invalid": true}
	out := []string{"invalid"}
	for _, t := range fieldTemplates {
		if !seen[t.code] {
			seen[t.code] = true
			out = append(out, t.code)
		}
	}
	return out
}

// DescribeFields maps every field message of f to its code and parameters.
func DescribeFields(fields map[string]string) map[string]FieldError {
	if len(fields) == 0 {
		return nil
	}
	out := make(map[string]FieldError, len(fields))
	for k, v := range fields {
		out[k], _ = DescribeField(v)
	}
	return out
}
