package service

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/mail"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Two-factor audit actions.
const (
	Action2FAEnabled          = "account.2fa_enabled"
	Action2FADisabled         = "account.2fa_disabled"
	Action2FACodesRegenerated = "account.2fa_recovery_codes_regenerated"
	ActionMFAFailed           = "auth.mfa_failed"
	ActionAdminReset2FA       = "user.2fa_reset"
	ActionAdminResetPassword  = "user.password_reset"
)

// RecoveryCodeCount is how many recovery codes a user gets.
const RecoveryCodeCount = 10

// ChallengeLifetime bounds the wait between password and code.
const ChallengeLifetime = 5 * time.Minute

// ChallengeMaxCodes is how many codes one challenge takes; after that the
// password step has to be done again (and it counts toward the lock too).
const ChallengeMaxCodes = 5

// ErrInvalidCode is the one answer for a wrong, replayed or locked-out
// second factor.
var ErrInvalidCode = problem.New(problem.Unauthenticated, "invalid_code", "The code is not valid. Codes work once; wait for the next one or use a recovery code.")

// ErrChallengeMissing means the password step expired or never happened.
var ErrChallengeMissing = problem.New(problem.Unauthenticated, "mfa_expired", "The sign-in took too long or was not started here; enter your password again.")

// StartOrChallenge finishes a successful first factor: it starts a session,
// or, when the account has two-factor authentication, creates a challenge
// and returns its token instead (the caller keeps it in a short-lived
// cookie). Identity-provider sign-ins go through here too, so they never
// skip the second factor.
func (a *Auth) StartOrChallenge(ctx context.Context, actor Actor, user *models.User, method string) (*LoginResult, string, error) {
	sec, err := a.settings.Security(ctx)
	if err != nil {
		return nil, "", err
	}
	if !user.TwoFactorEnabled() {
		res, err := a.startSession(ctx, actor, user, method, sec)
		return res, "", err
	}
	token := security.NewToken(32)
	now := a.deps.Now()
	ch := &models.LoginChallenge{TokenHash: security.HashToken(token), UserID: user.ID, Method: method, CreatedAt: now, ExpiresAt: now.Add(ChallengeLifetime)}
	// Abandoned challenges would otherwise stay for good; expired ones can
	// no longer be used by anyone, so they go.
	if _, err := a.deps.DB.NewDelete().Model((*models.LoginChallenge)(nil)).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return nil, "", err
	}
	if _, err := a.deps.DB.NewInsert().Model(ch).Exec(ctx); err != nil {
		return nil, "", err
	}
	return nil, token, nil
}

// CompleteMFA checks a TOTP or recovery code against the challenge and
// starts the session. Wrong codes count toward the failed-sign-in lock;
// each code first claims one of the challenge's ChallengeMaxCodes attempts
// by a conditional update, so parallel guesses cannot check more; the
// challenge is consumed by one conditional delete, so it signs in once.
func (a *Auth) CompleteMFA(ctx context.Context, actor Actor, challengeToken, code string) (*LoginResult, error) {
	ch, err := a.openChallenge(ctx, challengeToken)
	if err != nil {
		return nil, err
	}
	if err := a.claimChallengeAttempt(ctx, ch); err != nil {
		return nil, err
	}
	user, err := models.UserByID(ctx, a.deps.DB, ch.UserID)
	if err != nil {
		return nil, ErrChallengeMissing
	}
	sec, err := a.settings.Security(ctx)
	if err != nil {
		return nil, err
	}
	// A spent challenge is not deleted here: the claim above already
	// refuses a sixth code, and a right code that claimed its attempt
	// before the fifth wrong one must still be able to finish (deleting
	// the row made parallel replays of one right code all fail). Spent and
	// expired challenges are swept when the next challenge is created.
	// A recovery code is recorded as such (method "+recovery_code"): the
	// person's sign-in history should show a spent one they did not use.
	factor := "totp"
	ok, err := a.checkSecret(ctx, user, sec, true, func() (bool, error) {
		kind, err := a.verifySecondFactor(ctx, user, code)
		if kind != "" {
			factor = kind
		}
		return kind != "", err
	})
	if errors.Is(err, errLocked) {
		a.auditMFAFailure(ctx, actor, user, "locked")
		return nil, ErrInvalidCode
	}
	if err != nil {
		return nil, err
	}
	if !ok || user.Status != models.StatusActive || !user.TwoFactorEnabled() {
		a.auditMFAFailure(ctx, actor, user, "wrong_code")
		return nil, ErrInvalidCode
	}
	if err := a.consumeChallenge(ctx, ch); err != nil {
		return nil, err
	}
	return a.startSession(ctx, actor, user, ch.Method+"+"+factor, sec)
}

// openChallenge reads the unexpired password-step challenge of a token.
func (a *Auth) openChallenge(ctx context.Context, challengeToken string) (*models.LoginChallenge, error) {
	if challengeToken == "" {
		return nil, ErrChallengeMissing
	}
	ch := new(models.LoginChallenge)
	if err := a.deps.DB.NewSelect().Model(ch).Where("token_hash = ?", security.HashToken(challengeToken)).Scan(ctx); err != nil {
		if errors.Is(models.NotFound(err), models.ErrNotFound) {
			return nil, ErrChallengeMissing
		}
		return nil, err
	}
	if !a.deps.Now().Before(ch.ExpiresAt) {
		return nil, ErrChallengeMissing
	}
	return ch, nil
}

// claimChallengeAttempt takes one of the challenge's ChallengeMaxCodes
// attempts by a conditional update, so parallel guesses cannot check more.
func (a *Auth) claimChallengeAttempt(ctx context.Context, ch *models.LoginChallenge) error {
	claim, err := a.deps.DB.NewUpdate().Model((*models.LoginChallenge)(nil)).Set("attempts = attempts + 1").
		Where("token_hash = ?", ch.TokenHash).Where("attempts < ?", ChallengeMaxCodes).Where("expires_at > ?", a.deps.Now()).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := claim.RowsAffected(); n != 1 {
		return ErrChallengeMissing // spent, or consumed in parallel
	}
	return nil
}

// consumeChallenge ends the challenge by one conditional delete, so that
// it signs in once.
func (a *Auth) consumeChallenge(ctx context.Context, ch *models.LoginChallenge) error {
	res, err := a.deps.DB.NewDelete().Model((*models.LoginChallenge)(nil)).Where("token_hash = ?", ch.TokenHash).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrChallengeMissing
	}
	return nil
}

// SecondFactorMethods names the second factors the account waiting at the
// challenge can use: "totp" (which takes recovery codes too) and "passkey".
func (a *Auth) SecondFactorMethods(ctx context.Context, challengeToken string) ([]string, error) {
	ch, err := a.openChallenge(ctx, challengeToken)
	if err != nil {
		return nil, err
	}
	user, err := models.UserByID(ctx, a.deps.DB, ch.UserID)
	if err != nil {
		return nil, ErrChallengeMissing
	}
	out := []string{}
	if user.TOTPEnabled() {
		out = append(out, "totp")
	}
	if user.PasskeyCount > 0 {
		out = append(out, "passkey")
	}
	return out, nil
}

func (a *Auth) auditMFAFailure(ctx context.Context, actor Actor, user *models.User, reason string) {
	e := AuditEntry{Action: ActionMFAFailed, Actor: actor, Target: user, Details: map[string]any{"reason": reason}}
	e.Actor.User = nil
	if err := a.audit.Write(ctx, a.deps.DB, e); err != nil {
		a.deps.Log.ErrorContext(ctx, "audit write failed", "err", err)
	}
}

// verifySecondFactor accepts a TOTP code once per time step (a conditional
// write on totp_last_step) or an unused recovery code (a conditional write
// on used_at), so that parallel replays succeed at most once. It answers
// which it was ("totp" or "recovery_code"), "" for neither.
func (a *Auth) verifySecondFactor(ctx context.Context, user *models.User, code string) (string, error) {
	if user.TOTPSecret == nil {
		return "", nil
	}
	secret, err := a.deps.openSealed(ctx, nil, *user.TOTPSecret)
	if err != nil {
		return "", err
	}
	now := a.deps.Now()
	if step := security.MatchTOTP(secret, code, now); step > 0 {
		advanced, err := models.AdvanceTOTPStep(ctx, a.deps.DB, user.ID, step)
		if err != nil || !advanced {
			return "", err
		}
		return "totp", nil
	}
	rc := security.NormalizeRecoveryCode(code)
	if len(rc) != 11 {
		return "", nil
	}
	res, err := a.deps.DB.NewUpdate().Model((*models.RecoveryCode)(nil)).Set("used_at = ?", now).
		Where("user_id = ?", user.ID).Where("code_hash = ?", security.HashToken(rc)).Where("used_at IS NULL").Exec(ctx)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", nil
	}
	return "recovery_code", nil
}

// TwoFactorSetup is a new, not yet active, secret.
type TwoFactorSetup struct {
	Secret, URL, QRCode string
}

// ErrTwoFactorOn and ErrTwoFactorOff refuse enrolment steps in the wrong state.
var (
	ErrTwoFactorOn  = problem.New(problem.Conflict, "2fa_already_enabled", "Two-factor authentication is already on.")
	ErrTwoFactorOff = problem.New(problem.Conflict, "2fa_not_enabled", "Two-factor authentication is not on.")
)

// SetupTwoFactor creates a pending secret for the caller. Adding a way in
// needs the current password (or, for an account without one, a recent
// sign-in), so that a stolen cookie cannot enrol its own authenticator.
func (s *Account) SetupTwoFactor(ctx context.Context, actor Actor, password string) (*TwoFactorSetup, error) {
	if actor.User.TOTPEnabled() {
		return nil, ErrTwoFactorOn
	}
	u, err := s.auth.Reauthenticate(ctx, actor, Reauth{Purpose: Reauth2FASetup, Password: password, PasswordField: "password", AllowRecentSignIn: true})
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled() {
		return nil, ErrTwoFactorOn
	}
	account := u.Username
	if u.Email != nil {
		account = *u.Email
	}
	secret, url, qr, err := security.NewTOTPKey("Gatehouse", account)
	if err != nil {
		return nil, err
	}
	sealed, err := s.deps.Box.Seal(secret)
	if err != nil {
		return nil, err
	}
	if err := s.deps.storeSealed(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		return models.SetPendingTOTPSecret(ctx, tx, u.ID, sealed)
	}); err != nil {
		return nil, err
	}
	return &TwoFactorSetup{Secret: secret, URL: url, QRCode: qr}, nil
}

// EnableTwoFactor confirms enrolment with a code and returns the recovery
// codes (shown once); like setup it needs the current password. Other
// sessions of the user end.
func (s *Account) EnableTwoFactor(ctx context.Context, actor Actor, password, code string) ([]string, error) {
	if actor.User.TOTPEnabled() {
		return nil, ErrTwoFactorOn
	}
	if _, err := s.auth.Reauthenticate(ctx, actor, Reauth{Purpose: Reauth2FAEnable, Password: password, PasswordField: "password", AllowRecentSignIn: true}); err != nil {
		return nil, err
	}
	var codes []string
	err := models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		u, err := models.UserByID(ctx, tx, actor.User.ID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled() {
			return ErrTwoFactorOn
		}
		if u.TOTPPendingSecret == nil {
			return problem.New(problem.Conflict, "2fa_setup_required", "Start the setup first to get a secret.")
		}
		secret, err := s.deps.openSealed(ctx, tx, *u.TOTPPendingSecret)
		if err != nil {
			return err
		}
		step := security.MatchTOTP(secret, code, s.deps.Now())
		if step == 0 {
			return problem.Fields{"code": "is not the current code of this secret; check the device's clock"}.Err()
		}
		now := s.deps.Now()
		if err := models.EnableTOTP(ctx, tx, u.ID, step, now); err != nil {
			return err
		}
		if codes, err = replaceRecoveryCodes(ctx, tx, u.ID, now); err != nil {
			return err
		}
		if _, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, actor.SessionID); err != nil {
			return err
		}
		if err := s.alerts.FactorChanged(ctx, tx, mail.KindTOTPAdded, u, ""); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: Action2FAEnabled, Actor: actor, Target: u})
	})
	return codes, err
}

func replaceRecoveryCodes(ctx context.Context, tx bun.IDB, userID int64, now time.Time) ([]string, error) {
	if _, err := tx.NewDelete().Model((*models.RecoveryCode)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	rows := make([]models.RecoveryCode, RecoveryCodeCount)
	for i := range codes {
		codes[i] = security.NewRecoveryCode()
		rows[i] = models.RecoveryCode{UserID: userID, CodeHash: security.HashToken(codes[i]), CreatedAt: now}
	}
	_, err := tx.NewInsert().Model(&rows).Exec(ctx)
	return codes, err
}

// checkPasswordAndCode verifies the password (when the account has one)
// and a current or recovery code of the caller, through Reauthenticate.
func (s *Account) checkPasswordAndCode(ctx context.Context, actor Actor, purpose, password, code string) (*models.User, error) {
	u, err := models.UserByID(ctx, s.deps.DB, actor.User.ID)
	if err != nil {
		return nil, err
	}
	if !u.TOTPEnabled() {
		return nil, ErrTwoFactorOff
	}
	return s.auth.Reauthenticate(ctx, actor, Reauth{Purpose: purpose, Password: password, PasswordField: "password", NeedCode: true, Code: code, CodeField: "code", AllowRecentSignIn: true})
}

// DisableTwoFactor turns 2FA off (password plus a code); other sessions end.
func (s *Account) DisableTwoFactor(ctx context.Context, actor Actor, password, code string) error {
	u, err := s.checkPasswordAndCode(ctx, actor, Reauth2FADisable, password, code)
	if err != nil {
		return err
	}
	return models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		if err := clearTwoFactor(ctx, tx, u.ID, s.deps.Now()); err != nil {
			return err
		}
		if _, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, actor.SessionID); err != nil {
			return err
		}
		if err := s.alerts.FactorChanged(ctx, tx, mail.KindTOTPRemoved, u, ""); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: Action2FADisabled, Actor: actor, Target: u})
	})
}

// RegenerateRecoveryCodes replaces the caller's recovery codes.
func (s *Account) RegenerateRecoveryCodes(ctx context.Context, actor Actor, password, code string) ([]string, error) {
	u, err := s.checkPasswordAndCode(ctx, actor, ReauthRecoveryCodes, password, code)
	if err != nil {
		return nil, err
	}
	var codes []string
	err = models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if codes, err = replaceRecoveryCodes(ctx, tx, u.ID, s.deps.Now()); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: Action2FACodesRegenerated, Actor: actor, Target: u})
	})
	return codes, err
}

func clearTwoFactor(ctx context.Context, tx bun.IDB, userID int64, now time.Time) error {
	return models.ClearTwoFactor(ctx, tx, []int64{userID}, now)
}

// AdminPasswordReset is the admin's reset-password request.
type AdminPasswordReset struct {
	Password      string
	Generate      bool
	RequireChange bool
	Reason        string
}

// ResetPassword sets or generates a new password, clears the lock and ends
// every session and token. It returns the generated password, if any.
func (s *Users) ResetPassword(ctx context.Context, actor Actor, publicID string, in AdminPasswordReset) (string, int64, error) {
	if in.Generate == (in.Password != "") {
		return "", 0, problem.Fields{"password": "give a password, or ask for one to be generated"}.Err()
	}
	policy, err := s.svc.Settings.PasswordPolicy(ctx)
	if err != nil {
		return "", 0, err
	}
	target, err := loadTarget(ctx, s.svc.DB, publicID)
	if err != nil {
		return "", 0, err
	}
	if err := guard(actor, target, true); err != nil {
		return "", 0, err
	}
	password := in.Password
	if in.Generate {
		password = generatePassword()
	} else if msg := CheckPassword(policy, password, target.Username, derefString(target.Email)); msg != "" {
		return "", 0, problem.Fields{"password": msg}.Err()
	}
	hash, err := s.svc.Hasher.Hash(ctx, password)
	if err != nil {
		return "", 0, hasherErr(err)
	}
	var n int64
	err = s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := loadTarget(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if err := guard(actor, u, true); err != nil {
			return err
		}
		now := s.svc.Now()
		if err := models.SetPassword(ctx, tx, u.ID, hash, now, models.PasswordWrite{MustChange: &in.RequireChange, ClearLock: true}); err != nil {
			return err
		}
		if n, err = models.DeleteSessionsOfUser(ctx, tx, u.ID, ""); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*models.OneTimeToken)(nil)).Where("user_id = ?", u.ID).Where("purpose = ?", TokenReset).Exec(ctx); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAdminResetPassword, Actor: actor, Target: u, Reason: in.Reason, Details: map[string]any{"generated": in.Generate, "requireChange": in.RequireChange, "sessionsEnded": n}})
	})
	if err != nil {
		return "", 0, err
	}
	if in.Generate {
		return password, n, nil
	}
	return "", n, nil
}

// generatePassword makes a 20-character password from an unambiguous
// alphabet (about 115 bits).
func generatePassword() string {
	return security.RandomString("abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789", 20)
}

// Purposes of one-time tokens.
const (
	TokenVerify      = "verify_email"
	TokenReset       = "reset_password"
	TokenEmailChange = "email_change"
)
