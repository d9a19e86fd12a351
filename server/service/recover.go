package service

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/mail"
	"gatehouse/server/problem"
)

// ActionAdminRecoveredShell is the audit action of `gatehouse admin recover`.
const ActionAdminRecoveredShell = "user.recovered_by_cli"

// ErrRecoverNotAdmin refuses the break-glass for an account that is not an
// administrator: it would hand a shell user's password to an ordinary
// account and turn sign-in methods on for nothing.
var ErrRecoverNotAdmin = problem.New(problem.Forbidden, "not_admin", "Recovery (gatehouse recover) is for administrators and super administrators; use a password reset for other accounts.")

// Recovery is what `gatehouse admin recover` changed, in words for the
// operator, and the account.
type Recovery struct {
	User    *models.User
	Changes []string
}

// RecoverAdminFromShell is the break-glass for a platform where no
// administrator can sign in: it makes an existing administrator able to
// sign in with a password now. It sets the password, clears the lock,
// re-activates the account, turns username sign-in on when no password
// method would let this account in (both off, or only email sign-in on and
// the account has no address), optionally clears the second factor and its
// recovery codes, and ends the account's sessions. Everything happens in
// one transaction and is audited with the actor "cli". Whoever runs the
// binary owns the data directory, so no other rule applies.
func (s *Services) RecoverAdminFromShell(ctx context.Context, ident, password string, resetTwoFactor bool) (*Recovery, error) {
	policy, err := s.Settings.PasswordPolicy(ctx)
	if err != nil {
		return nil, err
	}
	out := &Recovery{}
	err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		out.Changes = nil
		if err := lockAdminAccess(ctx, tx); err != nil {
			return err
		}
		u, err := findUserForShell(ctx, tx, ident)
		if err != nil {
			return err
		}
		out.User = u
		if !models.IsAdminRole(u.Role) {
			return ErrRecoverNotAdmin
		}
		if msg := CheckPassword(policy, password, u.Username, derefString(u.Email)); msg != "" {
			return problem.Fields{"password": msg}.Err()
		}
		hash, err := s.Hasher.Hash(ctx, password)
		if err != nil {
			return hasherErr(err)
		}
		now := s.Now()
		details := map[string]any{}
		write := models.PasswordWrite{ClearLock: true}
		out.Changes = append(out.Changes, "password set")
		if u.LockedAt(now) || u.FailedLogins > 0 {
			out.Changes = append(out.Changes, fmt.Sprintf("failed sign-ins cleared (%d, locked until %s)", u.FailedLogins, lockedText(u)))
			details["lockedUntil"], details["failedLogins"] = u.LockedUntil, u.FailedLogins
		}
		if u.Status != models.StatusActive {
			write.Activate = true
			out.Changes = append(out.Changes, fmt.Sprintf("status %s -> active", u.Status))
			details["status"] = map[string]any{"before": u.Status, "after": models.StatusActive}
			u.Status = models.StatusActive
		}
		if err := models.SetPassword(ctx, tx, u.ID, hash, now, write); err != nil {
			return err
		}
		if resetTwoFactor && u.TwoFactorEnabled() {
			removed, err := models.ClearSecondFactors(ctx, tx, []int64{u.ID}, now)
			if err != nil {
				return err
			}
			out.Changes = append(out.Changes, fmt.Sprintf("two-factor authentication, recovery codes and %d passkey(s) cleared", removed[u.ID]))
			details["twoFactorReset"] = true
			details["passkeysRemoved"] = removed[u.ID]
			if err := s.Alerts.FactorChanged(ctx, tx, mail.KindFactorsReset, u, ""); err != nil {
				return err
			}
		}
		signin, version, err := getGroup[SigninSettings](ctx, s.Settings, tx, GroupSignin, false)
		if err != nil {
			return err
		}
		if !signin.UsernameEnabled && !(signin.EmailEnabled && emailSignInAddress(u)) {
			before := signin
			signin.UsernameEnabled = true
			if _, err := s.Settings.save(ctx, tx, GroupSignin, signin, version); err != nil {
				return err
			}
			out.Changes = append(out.Changes, "username sign-in turned on (no password sign-in method could let this account in)")
			details["usernameSigninEnabled"] = true
			if err := s.Audit.Write(ctx, tx, AuditEntry{Action: "settings.updated", ActorLabel: "cli", Details: map[string]any{
				"group": GroupSignin, "before": before, "after": signin, "via": "admin recover"}}); err != nil {
				return err
			}
		}
		n, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, "")
		if err != nil {
			return err
		}
		if n > 0 {
			out.Changes = append(out.Changes, fmt.Sprintf("%d session(s) ended", n))
		}
		details["sessionsEnded"] = n
		details["changes"] = out.Changes
		return s.Audit.Write(ctx, tx, AuditEntry{Action: ActionAdminRecoveredShell, ActorLabel: "cli", Target: u, Details: details})
	})
	if err != nil {
		return nil, err
	}
	s.Settings.Invalidate(GroupSignin)
	return out, nil
}

func lockedText(u *models.User) string {
	if u.LockedUntil == nil {
		return "not locked"
	}
	return u.LockedUntil.UTC().Format("2006-01-02 15:04 UTC")
}

// PasswordSignInGap says why u could not sign in with its password under
// the current sign-in methods, or "" when it can: for the shell, which
// creates accounts without the console's guards.
func (s *Services) PasswordSignInGap(ctx context.Context, u *models.User) (string, error) {
	signin, err := s.Settings.Signin(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case signin.UsernameEnabled:
		return "", nil
	case signin.EmailEnabled && emailSignInAddress(u):
		return "", nil
	case signin.EmailEnabled:
		return "only email sign-in is on and the account has no confirmed email address", nil
	default:
		return "username and email sign-in are both off", nil
	}
}
