package service

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// More settings groups (see settings.go for the first ones).
const (
	GroupEmail             = "email"
	GroupHumanVerification = "human-verification"
)

// EmailSettings is the SMTP configuration. The password is stored sealed.
type EmailSettings struct {
	Host           string `json:"host"`
	Port           int    `json:"port"`
	Username       string `json:"username"`
	PasswordSealed string `json:"passwordSealed"`
	SenderName     string `json:"senderName"`
	SenderAddress  string `json:"senderAddress"`
	TLSMode        string `json:"tlsMode"`
}

// Configured reports whether mail can be sent.
func (e EmailSettings) Configured() bool { return e.Host != "" && e.SenderAddress != "" }

// HumanVerification is the Cloudflare Turnstile configuration.
type HumanVerification struct {
	TurnstileEnabled bool   `json:"turnstileEnabled"`
	SiteKey          string `json:"siteKey"`
	SecretSealed     string `json:"secretSealed"`
}

func init() {
	settingDefaults[GroupEmail] = EmailSettings{Port: 587, TLSMode: "starttls", SenderName: "Gatehouse"}
	settingDefaults[GroupHumanVerification] = HumanVerification{}
}

// GroupNames lists the settings groups the admin API exposes.
var GroupNames = []string{GroupSignin, GroupRegistration, GroupEmail, GroupHumanVerification, GroupSecurity, GroupBilling, GroupPasswordPolicy}

// ValidGroup reports whether name is an exposed settings group.
func ValidGroup(name string) bool {
	for _, g := range GroupNames {
		if g == name {
			return true
		}
	}
	return false
}

// Email returns the SMTP settings (password still sealed).
func (s *Settings) Email(ctx context.Context) (EmailSettings, error) {
	v, _, err := getGroup[EmailSettings](ctx, s, s.deps.DB, GroupEmail, true)
	return v, err
}

// HumanVerification returns the Turnstile settings (secret still sealed).
func (s *Settings) HumanVerification(ctx context.Context) (HumanVerification, error) {
	v, _, err := getGroup[HumanVerification](ctx, s, s.deps.DB, GroupHumanVerification, true)
	return v, err
}

// Billing returns the billing mode.
func (s *Settings) Billing(ctx context.Context) (BillingSettings, error) {
	v, _, err := getGroup[BillingSettings](ctx, s, s.deps.DB, GroupBilling, true)
	return v, err
}

// SignInPath says how many active administrators can use one enabled way
// of signing in.
type SignInPath struct {
	Path   string `json:"path"` // "username", "email" or "provider"
	Slug   string `json:"slug,omitempty"`
	Name   string `json:"name,omitempty"`
	Admins int64  `json:"admins"`
}

// AdminSignIn summarises who can still reach the console.
type AdminSignIn struct {
	Paths []SignInPath `json:"paths"`
	// Total is how many distinct active administrators can sign in by at
	// least one enabled path.
	Total int64 `json:"total"`
}

// adminSignIn counts, inside db, the administrators able to sign in under
// the given sign-in settings: by username or email with a password, and,
// while third-party sign-in is on, through each provider whose login
// control is on (one path per provider, in display order).
func adminSignIn(ctx context.Context, db bun.IDB, signin SigninSettings) (AdminSignIn, error) {
	out := AdminSignIn{Paths: []SignInPath{}}
	if signin.UsernameEnabled {
		n, err := activeAdmins(db).Where(byPassword).Count(ctx)
		if err != nil {
			return out, err
		}
		out.Paths = append(out.Paths, SignInPath{Path: "username", Admins: n})
	}
	if signin.EmailEnabled {
		n, err := activeAdmins(db).Where(byEmail).Count(ctx)
		if err != nil {
			return out, err
		}
		out.Paths = append(out.Paths, SignInPath{Path: "email", Admins: n})
	}
	if signin.ThirdPartyEnabled {
		var providers []models.IdentityProvider
		if err := db.NewSelect().Model(&providers).Where("login_enabled = ?", true).Order("sort_order", "id").Scan(ctx); err != nil {
			return out, err
		}
		for _, p := range providers {
			n, err := activeAdmins(db).Where("EXISTS (SELECT 1 FROM user_identities AS i WHERE i.user_id = u.id AND i.provider_id = ?)", p.ID).Count(ctx)
			if err != nil {
				return out, err
			}
			out.Paths = append(out.Paths, SignInPath{Path: "provider", Slug: p.Slug, Name: p.Name, Admins: n})
		}
	}
	q := ableAdmins(db, signin)
	if q == nil {
		return out, nil
	}
	total, err := q.Count(ctx)
	out.Total = total
	return out, err
}

// adminProviderPath reports whether some enabled provider path has an
// administrator on it.
func (a AdminSignIn) adminProviderPath() bool {
	for _, p := range a.Paths {
		if p.Path == "provider" && p.Admins > 0 {
			return true
		}
	}
	return false
}

// ErrNoAdminPath refuses a change that would lock every administrator out.
var ErrNoAdminPath = problem.New(problem.Conflict, "would_lock_out_admins", "After this change no active administrator could sign in by any enabled method. Keep a method on that at least one administrator can use.")

var domainRe = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// normalizeDomains lower-cases, de-duplicates and checks allowed domains.
func normalizeDomains(f problem.Fields, in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	if len(in) > 200 {
		f.Add("allowedDomains", "may list at most 200 domains")
		return out
	}
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
		if d == "" || seen[d] {
			continue
		}
		if !domainRe.MatchString(d) || len(d) > 253 {
			f.Add("allowedDomains", "\""+truncate(d, 60)+"\" is not a domain name like example.com")
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	return out
}

// SettingsChange is a PUT of one group: the new value (with write-only
// secrets as plain text, nil meaning "keep") and the version it was based on.
type SettingsChange struct {
	Group   string
	Version int64
	Signin  *SigninSettings
	Reg     *RegistrationSettings
	Email   *EmailInput
	Human   *HumanInput
	Sec     *SecuritySettings
	Billing *BillingSettings
	Policy  *PasswordPolicy
}

// EmailInput is a PUT of the email group; Password nil keeps the stored one,
// "" clears it.
type EmailInput struct {
	EmailSettings
	Password *string
}

// HumanInput is a PUT of the human-verification group; Secret nil keeps it.
type HumanInput struct {
	TurnstileEnabled bool
	SiteKey          string
	Secret           *string
}

// SettingsView is a group as the admin API shows it.
type SettingsView struct {
	Value       any
	Version     int64
	AdminSignIn *AdminSignIn
}

// View returns a group for the admin API, secrets replaced by "is set" flags.
func (s *Settings) View(ctx context.Context, group string) (*SettingsView, error) {
	return s.view(ctx, s.deps.DB, group)
}

func (s *Settings) view(ctx context.Context, db bun.IDB, group string) (*SettingsView, error) {
	raw, version, err := s.raw(ctx, db, group, false)
	if err != nil {
		return nil, err
	}
	v := &SettingsView{Version: version}
	switch group {
	case GroupEmail:
		var e EmailSettings
		if err := jsonUnmarshal(raw, &e); err != nil {
			return nil, err
		}
		v.Value = map[string]any{"host": e.Host, "port": e.Port, "username": e.Username, "passwordSet": e.PasswordSealed != "",
			"senderName": e.SenderName, "senderAddress": e.SenderAddress, "tlsMode": e.TLSMode}
	case GroupHumanVerification:
		var h HumanVerification
		if err := jsonUnmarshal(raw, &h); err != nil {
			return nil, err
		}
		v.Value = map[string]any{"turnstileEnabled": h.TurnstileEnabled, "siteKey": h.SiteKey, "secretSet": h.SecretSealed != ""}
	default:
		var m map[string]any
		if err := jsonUnmarshal(raw, &m); err != nil {
			return nil, err
		}
		v.Value = m
	}
	if group == GroupSignin || group == GroupRegistration || group == GroupSecurity {
		signin, _, err := getGroup[SigninSettings](ctx, s, db, GroupSignin, false)
		if err != nil {
			return nil, err
		}
		paths, err := adminSignIn(ctx, db, signin)
		if err != nil {
			return nil, err
		}
		v.AdminSignIn = &paths
	}
	return v, nil
}

// Update validates and stores one group in a transaction: field checks,
// cross-group rules, the administrator-lockout guard and the version check
// all see the same snapshot. The change is audited with before and after
// (secrets masked).
func (s *Settings) Update(ctx context.Context, actor Actor, audit *Audit, ch SettingsChange) (*SettingsView, error) {
	var out *SettingsView
	err := models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		if ch.Group == GroupSignin {
			if err := lockAdminAccess(ctx, tx); err != nil {
				return err
			}
		}
		before, version, err := s.raw(ctx, tx, ch.Group, false)
		if err != nil {
			return err
		}
		if ch.Version != version {
			return problem.New(problem.Conflict, "stale_version", "These settings were changed by someone else since you loaded them; reload and try again.")
		}
		if err := s.checkRole(ctx, tx, actor, ch); err != nil {
			return err
		}
		next, err := s.validateChange(ctx, tx, ch)
		if err != nil {
			return err
		}
		if _, err := s.save(ctx, tx, ch.Group, next, version); err != nil {
			return err
		}
		after, _, err := s.raw(ctx, tx, ch.Group, false)
		if err != nil {
			return err
		}
		d := map[string]any{"group": ch.Group, "before": maskSecrets(before), "after": maskSecrets(after)}
		if ch.Group == GroupEmail && ch.Email.Password == nil && d["before"].(map[string]any)["passwordSet"] == true && d["after"].(map[string]any)["passwordSet"] == false {
			d["passwordCleared"] = true
		}
		if err := audit.Write(ctx, tx, AuditEntry{Action: "settings.updated", Actor: actor, Details: d}); err != nil {
			return err
		}
		out, err = s.view(ctx, tx, ch.Group)
		return err
	})
	s.Invalidate(ch.Group)
	return out, err
}

// errThirdPartySuperAdmin refuses turning third-party sign-in on to a
// plain administrator: it opens the accounts to the configured providers.
var errThirdPartySuperAdmin = problem.New(problem.Forbidden, "super_admin_required", "Only a super administrator may turn third-party sign-in on.").WithField("thirdPartyEnabled", "only a super administrator may turn this on")

// checkRole holds the settings changes reserved to super administrators.
func (s *Settings) checkRole(ctx context.Context, tx bun.IDB, actor Actor, ch SettingsChange) error {
	if actor.User != nil && actor.User.Role == models.RoleSuperAdmin {
		return nil
	}
	if ch.Group == GroupSignin && ch.Signin != nil && ch.Signin.ThirdPartyEnabled {
		cur, _, err := getGroup[SigninSettings](ctx, s, tx, GroupSignin, false)
		if err != nil {
			return err
		}
		if !cur.ThirdPartyEnabled {
			return errThirdPartySuperAdmin
		}
	}
	return nil
}

// errRegistrationNeedsPasswordSignin refuses the one combination in which
// people could register but never sign in: email registration on while
// neither username nor email sign-in is. Both sides are guarded (the
// registration switch and the last password sign-in method), with field
// errors and one code the console explains.
func errRegistrationNeedsPasswordSignin(f problem.Fields) error {
	return &problem.Error{Kind: problem.Invalid, Code: "registration_needs_password_signin",
		Message: "Email registration needs username or email sign-in on: people who register sign in with a password.", Fields: f}
}

func (s *Settings) validateChange(ctx context.Context, tx bun.IDB, ch SettingsChange) (any, error) {
	f := problem.Fields{}
	switch ch.Group {
	case GroupSignin:
		v := *ch.Signin
		paths, err := adminSignIn(ctx, tx, v)
		if err != nil {
			return nil, err
		}
		if !v.UsernameEnabled && !v.EmailEnabled && !(v.ThirdPartyEnabled && paths.adminProviderPath()) {
			return nil, problem.New(problem.Conflict, "password_signin_required", "Username and email sign-in may both be off only while third-party sign-in is on and an active administrator has a linked identity at an enabled provider.")
		}
		if paths.Total == 0 {
			return nil, ErrNoAdminPath
		}
		// Turning third-party sign-in off turns every provider off: like
		// turning one provider's login off, it may not take a super
		// administrator's only way in.
		cur, _, err := getGroup[SigninSettings](ctx, s, tx, GroupSignin, false)
		if err != nil {
			return nil, err
		}
		if cur.ThirdPartyEnabled && !v.ThirdPartyEnabled {
			superBefore, err := SuperAdminsWithoutWayIn(ctx, tx, cur)
			if err != nil {
				return nil, err
			}
			if err := GuardSuperAdminsWayIn(ctx, tx, v, superBefore); err != nil {
				return nil, err
			}
		}
		if !v.UsernameEnabled && !v.EmailEnabled {
			reg, _, err := getGroup[RegistrationSettings](ctx, s, tx, GroupRegistration, false)
			if err != nil {
				return nil, err
			}
			if reg.EmailRegistrationEnabled {
				return nil, errRegistrationNeedsPasswordSignin(problem.Fields{
					"usernameEnabled": "email registration is on, and people who register sign in with a password; turn email registration off first",
					"emailEnabled":    "email registration is on, and people who register sign in with a password; turn email registration off first",
				})
			}
		}
		return v, nil
	case GroupRegistration:
		v := *ch.Reg
		v.AllowedDomains = normalizeDomains(f, v.AllowedDomains)
		if v.EmailRegistrationEnabled {
			signin, _, err := getGroup[SigninSettings](ctx, s, tx, GroupSignin, false)
			if err != nil {
				return nil, err
			}
			if !signin.UsernameEnabled && !signin.EmailEnabled {
				return nil, errRegistrationNeedsPasswordSignin(problem.Fields{
					"emailRegistrationEnabled": "needs username or email sign-in on: people who register sign in with a password",
				})
			}
		}
		if v.RequireEmailVerification {
			email, _, err := getGroup[EmailSettings](ctx, s, tx, GroupEmail, false)
			if err != nil {
				return nil, err
			}
			if !email.Configured() {
				f.Add("requireEmailVerification", "needs SMTP configured first (Email settings: host and sender address)")
			}
		}
		return v, f.Err()
	case GroupEmail:
		cur, _, err := getGroup[EmailSettings](ctx, s, tx, GroupEmail, false)
		if err != nil {
			return nil, err
		}
		v := ch.Email.EmailSettings
		v.Host = strings.TrimSpace(v.Host)
		v.SenderAddress = strings.TrimSpace(v.SenderAddress)
		if len(v.Host) > 253 || strings.ContainsAny(v.Host, " /:@") {
			f.Add("host", "must be a host name or IP address, without port or scheme")
		}
		if v.Port < 1 || v.Port > 65535 {
			f.Add("port", "must be from 1 to 65535")
		}
		switch v.TLSMode {
		case "none", "starttls", "tls":
		default:
			f.Add("tlsMode", "must be none, starttls or tls")
		}
		if v.SenderAddress != "" {
			validateEmail(f, "senderAddress", v.SenderAddress)
		} else if v.Host != "" {
			f.Add("senderAddress", "is required when a host is set")
		}
		validateDisplayName(f, "senderName", v.SenderName)
		if len(v.Username) > 254 {
			f.Add("username", "must be at most 254 characters")
		}
		v.PasswordSealed = cur.PasswordSealed
		if ch.Email.Password == nil && smtpMoved(cur, v) {
			// The stored password never follows a moved server: it would
			// sign in to whatever listens at the new address.
			v.PasswordSealed = ""
		}
		if p := ch.Email.Password; p != nil {
			if *p == "" {
				v.PasswordSealed = ""
			} else if len(*p) > 1024 {
				f.Add("password", "must be at most 1024 characters")
			} else if v.PasswordSealed, err = s.deps.Box.Seal(*p); err != nil {
				return nil, err
			}
		}
		if !v.Configured() {
			reg, _, err := getGroup[RegistrationSettings](ctx, s, tx, GroupRegistration, false)
			if err != nil {
				return nil, err
			}
			if reg.RequireEmailVerification {
				f.Add("host", "is needed while registration requires email verification; turn that off first")
			}
		}
		return v, f.Err()
	case GroupHumanVerification:
		cur, _, err := getGroup[HumanVerification](ctx, s, tx, GroupHumanVerification, false)
		if err != nil {
			return nil, err
		}
		v := HumanVerification{TurnstileEnabled: ch.Human.TurnstileEnabled, SiteKey: strings.TrimSpace(ch.Human.SiteKey), SecretSealed: cur.SecretSealed}
		if len(v.SiteKey) > 200 {
			f.Add("siteKey", "must be at most 200 characters")
		}
		if p := ch.Human.Secret; p != nil {
			if *p == "" {
				v.SecretSealed = ""
			} else if len(*p) > 200 {
				f.Add("secret", "must be at most 200 characters")
			} else if v.SecretSealed, err = s.deps.Box.Seal(*p); err != nil {
				return nil, err
			}
		}
		if v.TurnstileEnabled {
			reg, _, err := getGroup[RegistrationSettings](ctx, s, tx, GroupRegistration, false)
			if err != nil {
				return nil, err
			}
			if !reg.EmailRegistrationEnabled {
				f.Add("turnstileEnabled", "applies to email registration only; turn email registration on first")
			}
			if v.SiteKey == "" {
				f.Add("siteKey", "is required to turn Turnstile on")
			}
			if v.SecretSealed == "" {
				f.Add("secret", "is required to turn Turnstile on")
			}
		}
		return v, f.Err()
	case GroupSecurity:
		v := *ch.Sec
		if v.SessionLifetimeSeconds < 300 || v.SessionLifetimeSeconds > 365*86400 {
			f.Add("sessionLifetimeSeconds", "must be from 300 (5 minutes) to 31536000 (365 days)")
		}
		if v.SessionIdleTimeoutSeconds != 0 && (v.SessionIdleTimeoutSeconds < 60 || v.SessionIdleTimeoutSeconds > v.SessionLifetimeSeconds) {
			f.Add("sessionIdleTimeoutSeconds", "must be 0 (off) or from 60 up to the session lifetime")
		}
		if v.AccessTokenLifetimeSeconds < 60 || v.AccessTokenLifetimeSeconds > 86400 {
			f.Add("accessTokenLifetimeSeconds", "must be from 60 to 86400 (1 day)")
		} else if v.AccessTokenLifetimeSeconds > v.SessionLifetimeSeconds {
			f.Add("accessTokenLifetimeSeconds", "must not exceed the session lifetime")
		}
		if v.LockThreshold < 0 || v.LockThreshold > 100 {
			f.Add("lockThreshold", "must be from 0 (off) to 100")
		}
		// Capped so that no account, a super administrator included, is
		// ever locked for long.
		if v.LockDurationSeconds < 60 || v.LockDurationSeconds > 86400 {
			f.Add("lockDurationSeconds", "must be from 60 to 86400 (1 day)")
		}
		if v.RateLimitPerMinute < 10 || v.RateLimitPerMinute > 100000 {
			f.Add("rateLimitPerMinute", "must be from 10 to 100000")
		}
		if v.AuthRateLimitPerMinute < 1 || v.AuthRateLimitPerMinute > 10000 {
			f.Add("authRateLimitPerMinute", "must be from 1 to 10000")
		}
		return v, f.Err()
	case GroupBilling:
		v := *ch.Billing
		switch v.Mode {
		case "self", "period", "usage":
		default:
			f.Add("mode", "must be self, period or usage")
		}
		v.Currency = strings.ToUpper(strings.TrimSpace(v.Currency))
		if !regexp.MustCompile(`^[A-Z]{3}$`).MatchString(v.Currency) {
			f.Add("currency", "must be a three-letter ISO 4217 code such as USD")
		}
		return v, f.Err()
	case GroupPasswordPolicy:
		v := *ch.Policy
		if v.MinLength < MinPasswordFloor || v.MinLength > MaxPasswordLength {
			f.Add("minLength", "must be from 8 to 128")
		}
		return v, f.Err()
	}
	return nil, errors.New("unknown settings group " + ch.Group)
}

// smtpMoved reports whether a change points mail at another server or
// connection: host, port or TLS mode.
func smtpMoved(before, after EmailSettings) bool {
	return before.Host != after.Host || before.Port != after.Port || before.TLSMode != after.TLSMode
}

// maskSecrets turns a stored group into audit details without secrets.
func maskSecrets(raw []byte) map[string]any {
	var m map[string]any
	_ = jsonUnmarshal(raw, &m)
	for k, v := range m {
		if strings.HasSuffix(k, "Sealed") {
			delete(m, k)
			m[strings.TrimSuffix(k, "Sealed")+"Set"] = v != ""
		}
	}
	return m
}
