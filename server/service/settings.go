package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// Settings group names.
const (
	GroupSignin         = "signin"
	GroupRegistration   = "registration"
	GroupSecurity       = "security"
	GroupPasswordPolicy = "password-policy"
	GroupBilling        = "billing"
)

// SigninSettings says which sign-in methods are on.
type SigninSettings struct {
	UsernameEnabled   bool `json:"usernameEnabled"`
	EmailEnabled      bool `json:"emailEnabled"`
	ThirdPartyEnabled bool `json:"thirdPartyEnabled"`
}

// RegistrationSettings controls self-service registration.
type RegistrationSettings struct {
	EmailRegistrationEnabled bool     `json:"emailRegistrationEnabled"`
	RequireEmailVerification bool     `json:"requireEmailVerification"`
	AllowedDomains           []string `json:"allowedDomains"`
	AllowSubdomains          bool     `json:"allowSubdomains"`
	BlockPlusAliases         bool     `json:"blockPlusAliases"`
}

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
}

// PasswordPolicy is the platform password policy.
type PasswordPolicy struct {
	MinLength         int  `json:"minLength"`
	BlockCommon       bool `json:"blockCommon"`
	BlockPersonalInfo bool `json:"blockPersonalInfo"`
}

// BillingSettings is the platform billing mode.
type BillingSettings struct {
	Mode     string `json:"mode"`
	Currency string `json:"currency"`
}

// Password length bounds that no policy can move.
const (
	MinPasswordFloor  = 8
	MaxPasswordLength = 128
)

var settingDefaults = map[string]any{
	GroupSignin:         SigninSettings{UsernameEnabled: true, EmailEnabled: true},
	GroupRegistration:   RegistrationSettings{AllowedDomains: []string{}},
	GroupSecurity:       SecuritySettings{SessionLifetimeSeconds: 7 * 86400, AccessTokenLifetimeSeconds: 15 * 60, LockThreshold: 10, LockDurationSeconds: 15 * 60, RateLimitEnabled: true, RateLimitPerMinute: 600, AuthRateLimitPerMinute: 20},
	GroupPasswordPolicy: PasswordPolicy{MinLength: 10, BlockCommon: true, BlockPersonalInfo: true},
	GroupBilling:        BillingSettings{Mode: "self", Currency: "USD"},
}

// Settings reads and writes settings groups. Reads are cached briefly so
// the hot path (every sign-in, every request's session check) does not hit
// the database; a write on this instance invalidates the cache at once, and
// other instances see it within cacheTTL.
type Settings struct {
	deps  Deps
	mu    sync.Mutex
	cache map[string]cachedSetting
}

type cachedSetting struct {
	raw     []byte
	version int64
	at      time.Time
	// value is raw decoded, for groups read on every request (security);
	// only for types without slices or maps, since callers get a copy.
	value any
}

const cacheTTL = 2 * time.Second

// raw returns the stored JSON of a group (defaults when never saved) and its version.
func (s *Settings) raw(ctx context.Context, db bun.IDB, group string, useCache bool) ([]byte, int64, error) {
	now := time.Now()
	if useCache {
		s.mu.Lock()
		c, ok := s.cache[group]
		s.mu.Unlock()
		if ok && now.Sub(c.at) < cacheTTL {
			return c.raw, c.version, nil
		}
	}
	def, ok := settingDefaults[group]
	if !ok {
		return nil, 0, fmt.Errorf("unknown settings group %q", group)
	}
	raw, err := json.Marshal(def)
	if err != nil {
		return nil, 0, err
	}
	var version int64
	row, err := models.SettingByGroup(ctx, db, group)
	switch {
	case err == nil:
		// Stored values are merged over the defaults so that fields added
		// in later versions get their default.
		merged := map[string]json.RawMessage{}
		_ = json.Unmarshal(raw, &merged)
		stored := map[string]json.RawMessage{}
		if err := json.Unmarshal([]byte(row.Value), &stored); err != nil {
			return nil, 0, fmt.Errorf("settings group %s is corrupt: %w", group, err)
		}
		for k, v := range stored {
			merged[k] = v
		}
		if raw, err = json.Marshal(merged); err != nil {
			return nil, 0, err
		}
		version = row.Version
	case errors.Is(err, models.ErrNotFound):
	default:
		return nil, 0, err
	}
	if useCache {
		s.mu.Lock()
		s.cache[group] = cachedSetting{raw: raw, version: version, at: now}
		s.mu.Unlock()
	}
	return raw, version, nil
}

func getGroup[T any](ctx context.Context, s *Settings, db bun.IDB, group string, useCache bool) (T, int64, error) {
	var v T
	raw, version, err := s.raw(ctx, db, group, useCache)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, 0, fmt.Errorf("decode settings %s: %w", group, err)
	}
	return v, version, nil
}

// Signin returns the sign-in methods.
func (s *Settings) Signin(ctx context.Context) (SigninSettings, error) {
	v, _, err := getGroup[SigninSettings](ctx, s, s.deps.DB, GroupSignin, true)
	return v, err
}

// Registration returns the registration settings.
func (s *Settings) Registration(ctx context.Context) (RegistrationSettings, error) {
	v, _, err := getGroup[RegistrationSettings](ctx, s, s.deps.DB, GroupRegistration, true)
	return v, err
}

// Security returns lifetimes, lockout and rate-limit settings. Every
// authenticated request reads them, so the decoded value is cached along
// with the raw JSON (same lifetime: cacheTTL, or until a save).
func (s *Settings) Security(ctx context.Context) (SecuritySettings, error) {
	s.mu.Lock()
	c, ok := s.cache[GroupSecurity]
	s.mu.Unlock()
	if v, decoded := c.value.(SecuritySettings); ok && decoded && time.Since(c.at) < cacheTTL {
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

// PasswordPolicy returns the password policy.
func (s *Settings) PasswordPolicy(ctx context.Context) (PasswordPolicy, error) {
	v, _, err := getGroup[PasswordPolicy](ctx, s, s.deps.DB, GroupPasswordPolicy, true)
	return v, err
}

// save writes a group inside tx if its stored version still equals
// expectVersion, and returns the new version. A stale version is a 409.
func (s *Settings) save(ctx context.Context, tx bun.IDB, group string, value any, expectVersion int64) (int64, error) {
	raw, err := json.Marshal(value)
	if err != nil {
		return 0, err
	}
	now := s.deps.Now()
	newVersion := expectVersion + 1
	var res interface{ RowsAffected() (int64, error) }
	if expectVersion == 0 {
		res, err = tx.NewInsert().Model(&models.Setting{Group: group, Value: string(raw), Version: 1, UpdatedAt: now}).On("CONFLICT DO NOTHING").Exec(ctx)
	} else {
		res, err = tx.NewUpdate().Model((*models.Setting)(nil)).
			Set("value = ?", string(raw)).Set("version = ?", newVersion).Set("updated_at = ?", now).
			Where("group_name = ?", group).Where("version = ?", expectVersion).Exec(ctx)
	}
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, problem.New(problem.Conflict, "stale_version", "These settings were changed by someone else; reload and try again.")
	}
	s.Invalidate(group)
	return newVersion, nil
}

// Invalidate drops a cached group so the next read sees the database.
func (s *Settings) Invalidate(group string) {
	s.mu.Lock()
	delete(s.cache, group)
	s.mu.Unlock()
}

// SaveSecurity stores the security group without the admin API's checks
// (tests and the shell use it).
func (s *Settings) SaveSecurity(ctx context.Context, v SecuritySettings) error {
	return s.Store(ctx, GroupSecurity, v)
}

// Store replaces a group as it is, without validation or guards; only
// trusted callers (tests, the shell) use it. Admins go through Update.
func (s *Settings) Store(ctx context.Context, group string, v any) error {
	return models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		_, version, err := s.raw(ctx, tx, group, false)
		if err != nil {
			return err
		}
		_, err = s.save(ctx, tx, group, v, version)
		return err
	})
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }
