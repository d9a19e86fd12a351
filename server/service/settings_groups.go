package service

import (
	"context"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// settingsGroup is one settings group. Each group is one file
// (settings_<group>.go) holding its stored type, default, PUT body
// (input), validation and view, and registering itself once with
// registerGroup; a new group is that file plus its console tab.
type settingsGroup interface {
	name() string
	// defaults is the value of a group never saved; stored values are
	// merged over it, so fields added later get their default.
	defaults() any
	// input is a fresh PUT body: pointer fields, every one required
	// unless tagged optional:"true" (httpx.RequireAll), and a version.
	input() any
	// validate turns a complete body into the value to store, inside tx:
	// field checks, rules across groups and the actor's rights.
	validate(ctx context.Context, s *Settings, tx bun.IDB, actor Actor, in any) (any, error)
	// view is the stored value as the admin API answers it (secrets as
	// "is set" flags).
	view(raw []byte) (map[string]any, error)
	// adminSignIn reports whether answers carry adminSignInPaths.
	adminSignIn() bool
}

// settingsVersioned is an input's version (the one its sender read).
type settingsVersioned interface{ version() int64 }

// settingsLocker is a group whose changes hold a lock before they read.
type settingsLocker interface {
	lock(ctx context.Context, tx bun.IDB) error
}

// settingsAuditNoter adds group-specific notes to the audit details.
type settingsAuditNoter interface {
	auditNote(in any, details map[string]any)
}

var settingsGroups = map[string]settingsGroup{}

// GroupNames lists the settings groups the admin API exposes.
var GroupNames []string

func registerGroup(g settingsGroup) {
	if _, dup := settingsGroups[g.name()]; dup {
		panic("settings group registered twice: " + g.name())
	}
	settingsGroups[g.name()] = g
	GroupNames = append(GroupNames, g.name())
}

// ValidGroup reports whether name is an exposed settings group.
func ValidGroup(name string) bool {
	_, ok := settingsGroups[name]
	return ok
}

// SettingsInput returns a fresh PUT body for group, to decode a request
// into; false for an unknown group.
func SettingsInput(group string) (any, bool) {
	g, ok := settingsGroups[group]
	if !ok {
		return nil, false
	}
	return g.input(), true
}

// plainView answers a group as stored.
func plainView(raw []byte) (map[string]any, error) {
	var m map[string]any
	err := jsonUnmarshal(raw, &m)
	return m, err
}

// SignInPath says how many active administrators can use one enabled way
// of signing in.
type SignInPath struct {
	Path   string `json:"path"` // "username", "email", "provider" or "passkey"
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
	// Passkeys are always on; the path is shown once an administrator has one.
	if n, err := activeAdmins(db).Where(byPasskey).Count(ctx); err != nil {
		return out, err
	} else if n > 0 {
		out.Paths = append(out.Paths, SignInPath{Path: "passkey", Admins: n})
	}
	total, err := ableAdmins(db, signin).Count(ctx)
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

// SettingsChange is a PUT of one group: the body decoded into the group's
// input (SettingsInput), checked complete.
type SettingsChange struct {
	Group string
	Input any
	// DryRun runs every check of the write and answers what it would
	// answer, then rolls back: nothing is stored or audited, and the
	// answer's version is the stored one (the version to send).
	DryRun bool
}

// errSettingsDryRun rolls a dry run's transaction back.
var errSettingsDryRun = errors.New("settings dry run")

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
	g, ok := settingsGroups[group]
	if !ok {
		return nil, errors.New("unknown settings group " + group)
	}
	raw, version, err := s.raw(ctx, db, group, false)
	if err != nil {
		return nil, err
	}
	v := &SettingsView{Version: version}
	if v.Value, err = g.view(raw); err != nil {
		return nil, err
	}
	if g.adminSignIn() {
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
// (secrets masked). A dry run (ch.DryRun) goes through the same steps and
// rolls back before the audit, so its answer is the write's own.
func (s *Settings) Update(ctx context.Context, actor Actor, audit *Audit, ch SettingsChange) (*SettingsView, error) {
	g, ok := settingsGroups[ch.Group]
	if !ok {
		return nil, errors.New("unknown settings group " + ch.Group)
	}
	var out *SettingsView
	err := models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		if l, ok := g.(settingsLocker); ok {
			if err := l.lock(ctx, tx); err != nil {
				return err
			}
		}
		before, version, err := s.raw(ctx, tx, ch.Group, false)
		if err != nil {
			return err
		}
		if ch.Input.(settingsVersioned).version() != version {
			return problem.New(problem.Conflict, "stale_version", "These settings were changed by someone else since you loaded them; reload and try again.")
		}
		next, err := g.validate(ctx, s, tx, actor, ch.Input)
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
		if n, ok := g.(settingsAuditNoter); ok {
			n.auditNote(ch.Input, d)
		}
		if ch.DryRun {
			if out, err = s.view(ctx, tx, ch.Group); err != nil {
				return err
			}
			out.Version = version
			return errSettingsDryRun
		}
		if err := audit.Write(ctx, tx, AuditEntry{Action: "settings.updated", Actor: actor, Details: d}); err != nil {
			return err
		}
		out, err = s.view(ctx, tx, ch.Group)
		return err
	})
	s.Invalidate(ch.Group)
	if errors.Is(err, errSettingsDryRun) {
		return out, nil
	}
	return out, err
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
