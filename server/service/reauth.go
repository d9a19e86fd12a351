package service

import (
	"context"
	"errors"
	"time"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// ActionReauthFailed records a wrong current password or code given to
// confirm a change while signed in; details name the purpose.
const ActionReauthFailed = "auth.reauth_failed"

// RecentSignInWindow is how soon after signing in an account without a
// password may add a way in (2FA, a provider link) without re-entering a
// secret: a stolen cookie is usually older than that.
const RecentSignInWindow = 5 * time.Minute

// Purposes of re-authentication, as written in the audit log.
const (
	ReauthPasswordChange = "password_change"
	ReauthEmailChange    = "email_change"
	Reauth2FASetup       = "2fa_setup"
	Reauth2FAEnable      = "2fa_enable"
	Reauth2FADisable     = "2fa_disable"
	ReauthRecoveryCodes  = "recovery_codes"
	ReauthIdentityLink   = "identity_link"
	ReauthPasskeyAdd     = "passkey_add"
	ReauthPasskeyRemove  = "passkey_remove"
)

// ErrRecentSignInRequired refuses a change that needs a fresh sign-in from
// an account that has no password to confirm it with.
var ErrRecentSignInRequired = problem.New(problem.Forbidden, "recent_sign_in_required", "For this change, sign out and sign in again, then retry within 5 minutes.")

// ErrReauthLocked answers a re-authentication while the account's lock
// holds: the signed-in user learns nothing an attacker could not, and
// knows why a right password is refused.
var ErrReauthLocked = problem.New(problem.TooManyRequests, "account_locked", "Too many wrong passwords or codes: the account is locked for a while. Try again later.")

// Reauth is one check of the signed-in user's current credentials before
// a sensitive change.
type Reauth struct {
	// Purpose names the change in the audit log (Reauth* constants).
	Purpose string
	// Password and PasswordField: the current password, and the request
	// field that carried it (field errors name it).
	Password, PasswordField string
	// NeedCode asks for a current TOTP or recovery code too.
	NeedCode        bool
	Code, CodeField string
	// AllowRecentSignIn lets an account without a password through when
	// its session started within RecentSignInWindow (server clock).
	AllowRecentSignIn bool
}

// Reauthenticate checks the signed-in user's current password (and code)
// under the same atomic counter and lock as sign-in: a wrong answer counts
// and is audited as auth.reauth_failed, the lock is audited as at sign-in,
// and a locked account is refused even with the right password. It
// returns the account as freshly read.
func (a *Auth) Reauthenticate(ctx context.Context, actor Actor, r Reauth) (*models.User, error) {
	if actor.User == nil {
		return nil, ErrSessionInvalid
	}
	u, err := models.UserByID(ctx, a.deps.DB, actor.User.ID)
	if err != nil {
		return nil, err
	}
	needPassword := u.HasPassword() || !r.AllowRecentSignIn && !r.NeedCode
	if !needPassword && !r.NeedCode {
		sess, err := models.SessionByID(ctx, a.deps.DB, actor.SessionID)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return nil, err
		}
		if err != nil || a.deps.Now().Sub(sess.CreatedAt) > RecentSignInWindow {
			a.auditReauthFailure(ctx, actor, u, r.Purpose, "sign_in_not_recent")
			return nil, ErrRecentSignInRequired
		}
		return u, nil
	}
	f := problem.Fields{}
	if needPassword && r.Password == "" {
		f.Add(r.PasswordField, "is required")
	}
	if r.NeedCode && r.Code == "" {
		f.Add(r.CodeField, "is required")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	sec, err := a.settings.Security(ctx)
	if err != nil {
		return nil, err
	}
	// Only a check that covers every factor the account has clears the
	// count: confirming a password change must not wipe out wrong codes.
	complete := r.NeedCode || !u.TwoFactorEnabled()
	ok, err := a.checkSecret(ctx, u, sec, complete, func() (bool, error) {
		if needPassword {
			if ok, err := a.checkPassword(ctx, u, r.Password); err != nil || !ok {
				return false, err
			}
		}
		if r.NeedCode {
			kind, err := a.verifySecondFactor(ctx, u, r.Code)
			return kind != "", err
		}
		return true, nil
	})
	switch {
	case errors.Is(err, errLocked):
		a.auditReauthFailure(ctx, actor, u, r.Purpose, "locked")
		return nil, ErrReauthLocked
	case err != nil:
		return nil, err
	case ok:
		return u, nil
	case r.NeedCode:
		a.auditReauthFailure(ctx, actor, u, r.Purpose, "wrong_password_or_code")
		return nil, (&problem.Error{Kind: problem.Invalid, Code: "invalid_password_or_code", Message: "The password or the code is not correct."}).WithField(r.CodeField, "password or code is not correct")
	default:
		a.auditReauthFailure(ctx, actor, u, r.Purpose, "wrong_password")
		return nil, ErrWrongCurrentPassword.WithField(r.PasswordField, "is not correct")
	}
}

func (a *Auth) auditReauthFailure(ctx context.Context, actor Actor, u *models.User, purpose, reason string) {
	e := AuditEntry{Action: ActionReauthFailed, Actor: actor, Target: u, Details: map[string]any{"purpose": purpose, "reason": reason}}
	if err := a.audit.Write(ctx, a.deps.DB, e); err != nil {
		a.deps.Log.ErrorContext(ctx, "audit write failed", "err", err)
	}
}
