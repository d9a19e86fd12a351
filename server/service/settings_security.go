package service

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// GroupSecurity holds lifetimes, lockout and rate limits.
const GroupSecurity = "security"

// SecuritySettings are lifetimes, lockout and rate limits.
type SecuritySettings struct {
	SessionLifetimeSeconds     int  `json:"sessionLifetimeSeconds"`
	SessionIdleTimeoutSeconds  int  `json:"sessionIdleTimeoutSeconds"`
	AccessTokenLifetimeSeconds int  `json:"accessTokenLifetimeSeconds"`
	LockThreshold              int  `json:"lockThreshold"`
	LockDurationSeconds        int  `json:"lockDurationSeconds"`
	RateLimitEnabled           bool `json:"rateLimitEnabled"`
	RateLimitPerMinute         int  `json:"rateLimitPerMinute"`
	AuthRateLimitPerMinute     int  `json:"authRateLimitPerMinute"`
	// RequireSecondFactor is who must have a second factor (TOTP or a
	// passkey): "nobody" (or empty), "admins" or "everyone".
	RequireSecondFactor string `json:"requireSecondFactor"`
	// SecondFactorGraceDays is how long someone the rule covers may go
	// without one: counted from when the rule started to cover accounts
	// (SecondFactorRequiredSince) or from the account's creation, whichever
	// is later.
	SecondFactorGraceDays     int        `json:"secondFactorGraceDays"`
	SecondFactorRequiredSince *time.Time `json:"secondFactorRequiredSince"`
}

// Who a second factor is required of.
const (
	RequireSecondFactorNobody   = "nobody"
	RequireSecondFactorAdmins   = "admins"
	RequireSecondFactorEveryone = "everyone"
)

// SecondFactorDue reports whether u must enrol a second factor before
// doing anything else (the rule covers u, u has none, and the grace period
// is over), and when the grace period ends (nil when the rule does not
// cover u or u has a factor).
func (v SecuritySettings) SecondFactorDue(u *models.User, now time.Time) (bool, *time.Time) {
	if u == nil || u.TwoFactorEnabled() {
		return false, nil
	}
	switch v.RequireSecondFactor {
	case RequireSecondFactorEveryone:
	case RequireSecondFactorAdmins:
		if models.RoleRank(u.Role) < models.RoleRank(models.RoleAdmin) {
			return false, nil
		}
	default:
		return false, nil
	}
	start := u.CreatedAt
	if v.SecondFactorRequiredSince != nil && v.SecondFactorRequiredSince.After(start) {
		start = *v.SecondFactorRequiredSince
	}
	deadline := start.Add(time.Duration(v.SecondFactorGraceDays) * 24 * time.Hour)
	return !now.Before(deadline), &deadline
}

// Security returns lifetimes, lockout and rate-limit settings. Every
// authenticated request reads them, so the decoded value is cached along
// with the raw JSON (same lifetime: cacheTTL, or until a save).
func (s *Settings) Security(ctx context.Context) (SecuritySettings, error) {
	s.mu.Lock()
	c, ok := s.cache[GroupSecurity]
	epoch := s.epoch
	s.mu.Unlock()
	if v, decoded := c.value.(SecuritySettings); ok && decoded && c.epoch == epoch && time.Since(c.at) < cacheTTL {
		return v, nil
	}
	v, version, err := getGroup[SecuritySettings](ctx, s, s.deps.DB, GroupSecurity, true)
	if err != nil {
		return v, err
	}
	s.mu.Lock()
	if c, ok := s.cache[GroupSecurity]; ok && c.version == version {
		c.value = v
		s.cache[GroupSecurity] = c
	}
	s.mu.Unlock()
	return v, nil
}

// SaveSecurity stores the security group without the admin API's checks
// (tests and the shell use it).
func (s *Settings) SaveSecurity(ctx context.Context, v SecuritySettings) error {
	return s.Store(ctx, GroupSecurity, v)
}

type securityGroup struct{}

func init() { registerGroup(securityGroup{}) }

func (securityGroup) name() string { return GroupSecurity }
func (securityGroup) defaults() any {
	return SecuritySettings{SessionLifetimeSeconds: 7 * 86400, AccessTokenLifetimeSeconds: 15 * 60, LockThreshold: 10, LockDurationSeconds: 15 * 60, RateLimitEnabled: true, RateLimitPerMinute: 600, AuthRateLimitPerMinute: 20}
}
func (securityGroup) input() any        { return &securityInput{} }
func (securityGroup) adminSignIn() bool { return true }
func (securityGroup) view(raw []byte) (map[string]any, error) {
	m, err := plainView(raw)
	if err == nil {
		// Stored before the rule existed, or by a caller that left it out.
		if r, _ := m["requireSecondFactor"].(string); r == "" {
			m["requireSecondFactor"] = RequireSecondFactorNobody
		}
		if _, ok := m["secondFactorGraceDays"]; !ok {
			m["secondFactorGraceDays"] = 0
		}
		if _, ok := m["secondFactorRequiredSince"]; !ok {
			m["secondFactorRequiredSince"] = nil
		}
	}
	return m, err
}

type securityInput struct {
	Version                    *int64  `json:"version"`
	SessionLifetimeSeconds     *int    `json:"sessionLifetimeSeconds"`
	SessionIdleTimeoutSeconds  *int    `json:"sessionIdleTimeoutSeconds"`
	AccessTokenLifetimeSeconds *int    `json:"accessTokenLifetimeSeconds"`
	LockThreshold              *int    `json:"lockThreshold"`
	LockDurationSeconds        *int    `json:"lockDurationSeconds"`
	RateLimitEnabled           *bool   `json:"rateLimitEnabled"`
	RateLimitPerMinute         *int    `json:"rateLimitPerMinute"`
	AuthRateLimitPerMinute     *int    `json:"authRateLimitPerMinute"`
	RequireSecondFactor        *string `json:"requireSecondFactor" optional:"true"`
	SecondFactorGraceDays      *int    `json:"secondFactorGraceDays" optional:"true"`
	// SecondFactorRequiredSince, answered by GET, may be sent back; the
	// server keeps it.
	SecondFactorRequiredSince any `json:"secondFactorRequiredSince" optional:"true"`
	AdminSignInPaths          any `json:"adminSignInPaths"`
}

func (b *securityInput) version() int64 { return *b.Version }

func (securityGroup) validate(ctx context.Context, s *Settings, tx bun.IDB, actor Actor, in any) (any, error) {
	f := problem.Fields{}
	b := in.(*securityInput)
	v := SecuritySettings{SessionLifetimeSeconds: *b.SessionLifetimeSeconds, SessionIdleTimeoutSeconds: *b.SessionIdleTimeoutSeconds,
		AccessTokenLifetimeSeconds: *b.AccessTokenLifetimeSeconds, LockThreshold: *b.LockThreshold, LockDurationSeconds: *b.LockDurationSeconds,
		RateLimitEnabled: *b.RateLimitEnabled, RateLimitPerMinute: *b.RateLimitPerMinute, AuthRateLimitPerMinute: *b.AuthRateLimitPerMinute}
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
	cur, _, err := getGroup[SecuritySettings](ctx, s, tx, GroupSecurity, false)
	if err != nil {
		return nil, err
	}
	v.RequireSecondFactor, v.SecondFactorGraceDays, v.SecondFactorRequiredSince = cur.RequireSecondFactor, cur.SecondFactorGraceDays, cur.SecondFactorRequiredSince
	if b.RequireSecondFactor != nil {
		v.RequireSecondFactor = *b.RequireSecondFactor
	}
	if b.SecondFactorGraceDays != nil {
		v.SecondFactorGraceDays = *b.SecondFactorGraceDays
	}
	switch v.RequireSecondFactor {
	case "", RequireSecondFactorNobody:
		v.RequireSecondFactor, v.SecondFactorRequiredSince = RequireSecondFactorNobody, nil
	case RequireSecondFactorAdmins, RequireSecondFactorEveryone:
		// The grace period starts when the rule starts to cover someone new.
		if v.SecondFactorRequiredSince == nil || v.RequireSecondFactor != cur.RequireSecondFactor {
			now := s.deps.Now()
			v.SecondFactorRequiredSince = &now
		}
	default:
		f.Add("requireSecondFactor", "must be nobody, admins or everyone")
	}
	if v.SecondFactorGraceDays < 0 || v.SecondFactorGraceDays > 365 {
		f.Add("secondFactorGraceDays", "must be from 0 to 365")
	}
	return v, f.Err()
}
