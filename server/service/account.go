package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Account is what signed-in users do to their own account.
type Account struct {
	deps     Deps
	settings *Settings
	audit    *Audit
	auth     *Auth // re-authentication before sensitive changes
	alerts   *Alerts
}

// ProfilePatch holds the fields a user may change on their own account; nil
// means unchanged. Role, status and billing are deliberately absent.
type ProfilePatch struct {
	DisplayName *string
	Phone       *string
	Language    *string
	Timezone    *string
	Preferences *map[string]any
}

// UpdateProfile applies a patch to the caller's own account.
func (s *Account) UpdateProfile(ctx context.Context, actor Actor, p ProfilePatch) (*models.User, error) {
	f := problem.Fields{}
	if p.DisplayName != nil {
		v := strings.TrimSpace(*p.DisplayName)
		p.DisplayName = &v
		validateDisplayName(f, "displayName", v)
		if v == "" {
			f.Add("displayName", "must not be empty")
		}
	}
	if p.Phone != nil {
		validatePhone(f, "phone", *p.Phone)
	}
	if p.Language != nil {
		validateLanguage(f, "language", *p.Language)
	}
	if p.Timezone != nil {
		validateTimezone(f, "timezone", *p.Timezone)
	}
	var prefs string
	if p.Preferences != nil {
		prefs = validatePreferences(f, "preferences", *p.Preferences)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var user *models.User
	err := models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		u, err := models.UserByID(ctx, tx, actor.User.ID)
		if err != nil {
			return err
		}
		before, after := map[string]any{}, map[string]any{}
		set := func(name string, old, new any) {
			if old != new {
				before[name], after[name] = old, new
			}
		}
		if p.DisplayName != nil {
			set("displayName", u.DisplayName, *p.DisplayName)
			u.DisplayName = *p.DisplayName
		}
		if p.Phone != nil {
			set("phone", u.Phone, *p.Phone)
			u.Phone = *p.Phone
		}
		if p.Language != nil {
			set("language", u.Language, *p.Language)
			u.Language = *p.Language
		}
		if p.Timezone != nil {
			set("timezone", u.Timezone, *p.Timezone)
			u.Timezone = *p.Timezone
		}
		if p.Preferences != nil {
			// Compared as strings: set's != would panic on json.RawMessage.
			if u.Preferences != prefs {
				before["preferences"], after["preferences"] = json.RawMessage(u.Preferences), json.RawMessage(prefs)
			}
			u.Preferences = prefs
		}
		user = u
		if len(after) == 0 {
			return nil
		}
		u.UpdatedAt = s.deps.Now()
		if err := models.WriteUserProfile(ctx, tx, u); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: ActionProfileUpdated, Actor: actor, Target: u, Details: map[string]any{"before": before, "after": after}})
	})
	return user, err
}

// ErrWrongCurrentPassword refuses a password change with a wrong current password.
var ErrWrongCurrentPassword = (&problem.Error{Kind: problem.Invalid, Code: "wrong_password", Message: "The current password is not correct."}).WithField("currentPassword", "is not correct")

// ChangePassword sets a new password after checking the current one, and
// signs out every other session of the user (the current one stays).
func (s *Account) ChangePassword(ctx context.Context, actor Actor, current, next string) error {
	policy, err := s.settings.PasswordPolicy(ctx)
	if err != nil {
		return err
	}
	u, err := s.auth.Reauthenticate(ctx, actor, Reauth{Purpose: ReauthPasswordChange, Password: current, PasswordField: "currentPassword"})
	if err != nil {
		return err
	}
	if msg := CheckPassword(policy, next, u.Username, derefString(u.Email)); msg != "" {
		return problem.Fields{"newPassword": msg}.Err()
	}
	if security.NormalizePassword(next) == security.NormalizePassword(current) {
		return problem.Fields{"newPassword": "must differ from the current password"}.Err()
	}
	hash, err := s.deps.Hasher.Hash(ctx, next)
	if err != nil {
		return hasherErr(err)
	}
	return models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		now := s.deps.Now()
		if err := models.SetPassword(ctx, tx, u.ID, hash, now, models.PasswordWrite{MustChange: new(false)}); err != nil {
			return err
		}
		n, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, actor.SessionID)
		if err != nil {
			return err
		}
		// A new password voids outstanding reset links.
		if _, err := tx.NewDelete().Model((*models.OneTimeToken)(nil)).Where("user_id = ?", u.ID).Where("purpose = ?", TokenReset).Exec(ctx); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: ActionPasswordChanged, Actor: actor, Target: u, Details: map[string]any{"otherSessionsEnded": n}})
	})
}

// Sessions lists the caller's sessions.
func (s *Account) Sessions(ctx context.Context, actor Actor) ([]models.Session, error) {
	return models.SessionsOfUser(ctx, s.deps.DB, actor.User.ID)
}

// RevokeSession ends one of the caller's own sessions.
func (s *Account) RevokeSession(ctx context.Context, actor Actor, id string) error {
	return models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		sess, err := models.SessionByID(ctx, tx, id)
		if errors.Is(err, models.ErrNotFound) || (err == nil && sess.UserID != actor.User.ID) {
			return errNotFound("The session")
		} else if err != nil {
			return err
		}
		if _, err := models.DeleteSession(ctx, tx, id); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: ActionSessionRevoked, Actor: actor, Target: actor.User, Details: map[string]any{"sessionId": id, "current": id == actor.SessionID}})
	})
}

// RevokeOtherSessions ends every session of the caller but the current one.
func (s *Account) RevokeOtherSessions(ctx context.Context, actor Actor) (int64, error) {
	var n int64
	err := models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if n, err = models.DeleteSessionsOfUser(ctx, tx, actor.User.ID, actor.SessionID); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: ActionSessionsRevoked, Actor: actor, Target: actor.User, Details: map[string]any{"revoked": n}})
	})
	return n, err
}
