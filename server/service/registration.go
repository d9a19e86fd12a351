package service

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/mail"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Audit actions of the public flows.
const (
	ActionRegistered          = "auth.registered"
	ActionEmailVerified       = "auth.email_verified"
	ActionPasswordResetAsked  = "auth.password_reset_requested"
	ActionPasswordResetByMail = "auth.password_reset"
	ActionEmailChangeAsked    = "account.email_change_requested"
	ActionEmailChanged        = "account.email_changed"
	// ActionEmailReleased: an account lost an address it held unverified,
	// because another account proved it.
	ActionEmailReleased = "account.email_released"
)

// Token lifetimes.
const (
	verifyTokenTTL = 24 * time.Hour
	resetTokenTTL  = time.Hour
	// mailInterval is the least time between two emails of one purpose to
	// one account.
	mailInterval = time.Minute
	// existingNoticeInterval is the least time between two "someone tried
	// to register with your email" notices to one address.
	existingNoticeInterval = time.Hour
	// securityPagePath is the account page linked from security notices.
	securityPagePath = "/account/security"
)

// ErrInvalidToken is the one answer for a wrong, used, expired or voided link.
var ErrInvalidToken = (&problem.Error{Kind: problem.Invalid, Code: "invalid_token", Message: "This link is not valid any more. Links work once and expire; ask for a new one."}).WithField("token", "is not valid")

// Flows are the public account flows: registration, verification,
// password reset by email and email change.
type Flows struct {
	svc *Services
}

// issueToken voids older tokens of the purpose and stores a new one; it
// returns "" when one was sent less than mailInterval ago.
func (f *Flows) issueToken(ctx context.Context, tx bun.IDB, u *models.User, purpose, email string, ttl time.Duration) (string, error) {
	now := f.svc.Now()
	recent, err := tx.NewSelect().Model((*models.OneTimeToken)(nil)).Where("user_id = ?", u.ID).Where("purpose = ?", purpose).Where("created_at > ?", now.Add(-mailInterval)).Exists(ctx)
	if err != nil {
		return "", err
	}
	if recent {
		// A link whose email could not be sent does not count: asking
		// again is how a person gets one once the mail server is back.
		if failed, err := f.svc.Outbox.failedRecently(ctx, tx, u.ID, purpose, now.Add(-mailInterval)); err != nil || !failed {
			return "", err
		}
	}
	// The older link is void: its email, if still waiting, must not go out.
	if err := f.svc.Outbox.supersede(ctx, tx, u.ID, purpose); err != nil {
		return "", err
	}
	if _, err := tx.NewDelete().Model((*models.OneTimeToken)(nil)).Where("user_id = ?", u.ID).Where("purpose = ?", purpose).Exec(ctx); err != nil {
		return "", err
	}
	token := security.NewToken(32)
	row := &models.OneTimeToken{TokenHash: security.HashToken(token), Purpose: purpose, UserID: u.ID, Email: email, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
		return "", err
	}
	return token, nil
}

// link builds a console URL from the configured base URL (never the
// request's Host header). It names the language of u's email (lang=), so
// that the page it opens speaks the account's language whatever the
// browser's (issue 15).
func (f *Flows) link(path, token string, u *models.User) string {
	link := f.svc.BaseURL + path + "?token=" + url.QueryEscape(token)
	if u != nil && u.Language != "" {
		link += "&lang=" + url.QueryEscape(mail.Language(u.Language))
	}
	return link
}

func (f *Flows) send(kind mail.Kind, u *models.User, to, link string, ttl time.Duration) {
	msg, err := mail.Render(kind, u.Language, to, mail.Data{Name: mailName(u), Link: link, TTL: ttl})
	if err != nil {
		f.svc.Log.Error("render email", "err", err)
		return
	}
	it := OutboxItem{Kind: kind, User: u, Message: msg}
	if purpose := tokenPurpose(kind); purpose != "" {
		// The email is worth sending only while its link works.
		exp := f.svc.Now().Add(ttl)
		it.Purpose, it.ExpiresAt = purpose, &exp
	}
	f.enqueue(it)
}

// tokenPurpose is the one-time token an email kind carries, or "".
func tokenPurpose(kind mail.Kind) string {
	switch kind {
	case mail.KindVerify:
		return TokenVerify
	case mail.KindReset:
		return TokenReset
	case mail.KindEmailChange:
		return TokenEmailChange
	}
	return ""
}

// enqueue puts an email in the outbox; the answer never waits for SMTP.
func (f *Flows) enqueue(it OutboxItem) {
	// Detached: the email is queued even when the client has gone.
	ctx, cancel := context.WithTimeout(context.Background(), backgroundJobTimeout)
	defer cancel()
	if err := f.svc.Outbox.Enqueue(ctx, f.svc.DB, it); err != nil {
		f.svc.Log.Error("queueing email failed", "kind", it.Kind, "err", err)
	}
}

// RegisterInput is a self-service registration.
type RegisterInput struct {
	Username, Email, Password, DisplayName, Language, TurnstileToken string
}

// ErrRegistrationClosed refuses registration when it is off.
var ErrRegistrationClosed = problem.New(problem.Forbidden, "registration_closed", "Registration is closed.")

// ErrRegistrationNoSignin refuses registration while no password sign-in
// method is on: the new account could never sign in.
var ErrRegistrationNoSignin = problem.New(problem.Forbidden, "registration_closed", "Registration is closed: no password sign-in method is on, so a new account could not sign in.")

// Register creates an account (pending until verified when verification
// is on). An email that already has an account gets the same answer, and
// its owner an email saying so.
func (f *Flows) Register(ctx context.Context, actor Actor, in RegisterInput) (bool, error) {
	reg, err := f.svc.Settings.Registration(ctx)
	if err != nil {
		return false, err
	}
	if !reg.EmailRegistrationEnabled {
		return false, ErrRegistrationClosed
	}
	// Settings refuse this combination; a database that holds it anyway
	// (written before the rule) gets a clear refusal rather than accounts
	// that can never sign in.
	if signin, err := f.svc.Settings.Signin(ctx); err != nil {
		return false, err
	} else if !signin.UsernameEnabled && !signin.EmailEnabled {
		return false, ErrRegistrationNoSignin
	}
	if err := f.checkTurnstile(ctx, actor, in.TurnstileToken); err != nil {
		return false, err
	}
	fields := problem.Fields{}
	email := strings.TrimSpace(in.Email)
	if email == "" {
		fields.Add("email", "is required")
	} else {
		validateEmail(fields, "email", email)
		if len(fields) == 0 {
			checkEmailPolicy(fields, reg, email)
		}
	}
	status := models.StatusActive
	if reg.RequireEmailVerification {
		status = models.StatusPending
	}
	// With verification on, the address counts for nothing until its link
	// is followed; with it off, the operator accepts it as given.
	nu := NewUser{Username: in.Username, Email: email, Password: in.Password, DisplayName: in.DisplayName, Language: in.Language, Role: models.RoleUser, Status: status,
		EmailUnvouched: reg.RequireEmailVerification}
	policy, err := f.svc.Settings.PasswordPolicy(ctx)
	if err != nil {
		return false, err
	}
	more, _ := nu.validate(policy, true)
	for k, v := range more {
		fields.Add(k, v)
	}
	if err := fields.Err(); err != nil {
		return false, err
	}
	existing, err := models.UserByEmail(ctx, f.svc.DB, email)
	if err == nil {
		// Same work as the normal path (a hash), same answer; the truth
		// goes only to the mailbox.
		if _, err := f.svc.Hasher.Hash(ctx, in.Password); err != nil {
			return false, hasherErr(err)
		}
		if due, err := f.existingNoticeDue(ctx, email); err != nil {
			return false, err
		} else if due {
			f.send(mail.KindExisting, existing, email, f.svc.BaseURL+"/forgot-password", resetTokenTTL)
		}
		return reg.RequireEmailVerification, nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return false, err
	}
	u, err := f.svc.prepareUser(ctx, nu, true)
	if err != nil {
		return false, err
	}
	var token string
	err = f.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			var pe *problem.Error
			if errors.As(err, &pe) && pe.Fields["email"] != "" && len(pe.Fields) == 1 {
				return errEmailRace
			}
			return err
		}
		if reg.RequireEmailVerification {
			var err error
			if token, err = f.issueToken(ctx, tx, u, TokenVerify, email, verifyTokenTTL); err != nil {
				return err
			}
		}
		return f.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionRegistered, Actor: Actor{User: u, IP: actor.IP, UserAgent: actor.UserAgent}, Target: u, Details: map[string]any{"status": u.Status}})
	})
	if errors.Is(err, errEmailRace) {
		return reg.RequireEmailVerification, nil
	}
	if err != nil {
		return false, err
	}
	if token != "" {
		f.send(mail.KindVerify, u, email, f.link("/verify-email", token, u), verifyTokenTTL)
	}
	return reg.RequireEmailVerification, nil
}

var errEmailRace = errors.New("email registered concurrently")

// existingNoticeDue claims the hourly "someone tried to register" notice
// of an address: true at most once an hour per address, kept in the
// database so that restarts and several instances agree.
func (f *Flows) existingNoticeDue(ctx context.Context, email string) (bool, error) {
	now := f.svc.Now()
	res, err := f.svc.DB.ExecContext(ctx, `INSERT INTO registration_notices (email_lower, sent_at) VALUES (?, ?)
ON CONFLICT (email_lower) DO UPDATE SET sent_at = excluded.sent_at WHERE registration_notices.sent_at <= ?`,
		models.NormalizeEmail(email), now, now.Add(-existingNoticeInterval))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// releaseEmail is the other half of proving an address: every other
// account that holds it unverified loses it, each audited.
func (s *Services) releaseEmail(ctx context.Context, tx bun.IDB, actor Actor, winner *models.User, released []models.User) error {
	if err := models.ReleaseEmail(ctx, tx, released, s.Now()); err != nil {
		return err
	}
	for i := range released {
		r := &released[i]
		if err := s.Audit.Write(ctx, tx, AuditEntry{Action: ActionEmailReleased, Actor: actor, Target: r,
			Details: map[string]any{"email": derefString(r.Email), "provedBy": winner.PublicID}}); err != nil {
			return err
		}
	}
	return nil
}

// addressHolders locks and reads the accounts other than keepID that hold
// email unverified (models.LockEmailHolders), before the flow that proves
// the address writes anything.
func (s *Services) addressHolders(ctx context.Context, tx bun.IDB, email string, keepID int64) ([]models.User, error) {
	return models.LockEmailHolders(ctx, tx, email, keepID, userLock(tx, false, false))
}

// checkEmailPolicy applies allowed domains and the plus-alias rule.
func checkEmailPolicy(f problem.Fields, reg RegistrationSettings, email string) {
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], strings.ToLower(email[at+1:])
	if reg.BlockPlusAliases && strings.Contains(local, "+") {
		f.Add("email", "addresses with a + alias are not accepted here")
	}
	if len(reg.AllowedDomains) == 0 {
		return
	}
	for _, d := range reg.AllowedDomains {
		if domain == d || (reg.AllowSubdomains && strings.HasSuffix(domain, "."+d)) {
			return
		}
	}
	f.Add("email", "must be an address at "+strings.Join(reg.AllowedDomains, ", "))
}

// ErrHumanCheck refuses a registration whose Turnstile token did not verify.
var ErrHumanCheck = (&problem.Error{Kind: problem.Forbidden, Code: "human_verification_failed", Message: "The human verification did not pass; try again."}).WithField("turnstileToken", "did not verify")

// checkTurnstile verifies a Turnstile token with Cloudflare (or the
// configured endpoint), once, when human verification is on.
func (f *Flows) checkTurnstile(ctx context.Context, actor Actor, token string) error {
	hv, err := f.svc.Settings.HumanVerification(ctx)
	if err != nil || !hv.TurnstileEnabled {
		return err
	}
	if token == "" || len(token) > 2048 {
		return ErrHumanCheck
	}
	secret, err := f.svc.openSealed(ctx, nil, hv.SecretSealed)
	if err != nil {
		return err
	}
	verifyURL := f.svc.TurnstileVerifyURL
	if verifyURL == "" {
		verifyURL = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
	}
	form := url.Values{"secret": {secret}, "response": {token}}
	if actor.IP != "" {
		form.Set("remoteip", actor.IP)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, verifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.svc.Log.Error("turnstile verification unreachable", "err", err)
		return problem.New(problem.Unavailable, "human_verification_unavailable", "Human verification is unavailable right now; try again later.")
	}
	defer res.Body.Close()
	var out struct {
		Success bool `json:"success"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || !out.Success {
		return ErrHumanCheck
	}
	return nil
}

// consumeToken deletes a token of one of the purposes with one conditional
// write and returns it; a token that is used, expired or unknown fails.
func (f *Flows) consumeToken(ctx context.Context, tx bun.IDB, token string, purposes ...string) (*models.OneTimeToken, error) {
	if token == "" || len(token) > 200 {
		return nil, ErrInvalidToken
	}
	var rows []models.OneTimeToken
	err := tx.NewDelete().Model(&rows).Where("token_hash = ?", security.HashToken(token)).Where("purpose IN (?)", bun.List(purposes)).
		Where("expires_at > ?", f.svc.Now()).Returning("*").Scan(ctx)
	if err != nil && !errors.Is(models.NotFound(err), models.ErrNotFound) {
		return nil, err
	}
	if len(rows) != 1 {
		return nil, ErrInvalidToken
	}
	return &rows[0], nil
}

// ErrEmailProvedElsewhere refuses a confirmation of an address that another
// account proved in the meantime.
var ErrEmailProvedElsewhere = problem.New(problem.Conflict, "email_taken", "Another account uses this address now.")

// VerifyEmail confirms a registration or an email change. Whoever proves
// an address takes it: other accounts that hold it unverified lose it.
// A confirmed change is told to the old address.
func (f *Flows) VerifyEmail(ctx context.Context, actor Actor, token string) (string, error) {
	var (
		email   string
		notify  *models.User
		oldAddr string
	)
	err := f.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		t, err := f.consumeToken(ctx, tx, token, TokenVerify, TokenEmailChange)
		if err != nil {
			return err
		}
		// The other holders of the address and the account itself are
		// locked first, in one statement (models.LockEmailHolders); the
		// account is read after, as another proof of the address may have
		// left it.
		holders, err := f.svc.addressHolders(ctx, tx, t.Email, t.UserID)
		if err != nil {
			return err
		}
		u, err := models.UserByID(ctx, tx, t.UserID)
		if err != nil {
			return ErrInvalidToken
		}
		now := f.svc.Now()
		email = t.Email
		self := Actor{User: u, IP: actor.IP, UserAgent: actor.UserAgent}
		switch t.Purpose {
		case TokenVerify:
			// A suspended or deactivated account is not woken up by an old link.
			if (u.Status != models.StatusPending && u.Status != models.StatusActive) || models.NormalizeEmail(derefString(u.Email)) != models.NormalizeEmail(t.Email) {
				return ErrInvalidToken
			}
			if taken, err := models.EmailVerifiedElsewhere(ctx, tx, t.Email, u.ID); err != nil {
				return err
			} else if taken {
				return ErrEmailProvedElsewhere
			}
			if err := models.MarkEmailVerified(ctx, tx, u.ID, now, models.EmailProof{Activate: true, Touch: true}); err != nil {
				return err
			}
			if err := f.svc.releaseEmail(ctx, tx, self, u, holders); err != nil {
				return err
			}
			return f.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionEmailVerified, Actor: self, Target: u, Details: map[string]any{"email": t.Email, "statusBefore": u.Status}})
		default: // email change
			if u.Status != models.StatusActive {
				return ErrInvalidToken
			}
			if taken, err := models.EmailVerifiedElsewhere(ctx, tx, t.Email, u.ID); err != nil {
				return err
			} else if taken {
				return ErrEmailProvedElsewhere
			}
			old := u.Email
			u.SetEmail(t.Email)
			if err := models.SetVerifiedEmail(ctx, tx, u, now); err != nil {
				return err
			}
			if err := f.svc.releaseEmail(ctx, tx, self, u, holders); err != nil {
				return err
			}
			if old != nil && models.NormalizeEmail(*old) != models.NormalizeEmail(t.Email) {
				notify, oldAddr = u, *old
			}
			return f.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionEmailChanged, Actor: self, Target: u, Details: map[string]any{"before": old, "after": t.Email}})
		}
	})
	if err == nil && notify != nil {
		f.sendNotice(mail.KindEmailChanged, notify, oldAddr, mail.Data{Name: mailName(notify), Link: f.svc.BaseURL + securityPagePath, NewAddress: email})
	}
	return email, err
}

// mailName is how an email greets the account: its display name, else its
// username (a greeting without a name does not read as a sentence).
func mailName(u *models.User) string {
	if n := strings.TrimSpace(u.DisplayName); n != "" {
		return n
	}
	return u.Username
}

func (f *Flows) sendNotice(kind mail.Kind, u *models.User, to string, d mail.Data) {
	msg, err := mail.Render(kind, u.Language, to, d)
	if err != nil {
		f.svc.Log.Error("render email", "err", err)
		return
	}
	f.enqueue(OutboxItem{Kind: kind, User: u, Message: msg})
}

// ResendVerification mails a new verification link to the pending
// accounts holding an address. It answers at once, whatever the address:
// the look-up and the email happen afterwards, in the background, so the
// answer's timing tells nothing.
func (f *Flows) ResendVerification(ctx context.Context, email string) error {
	email = strings.TrimSpace(email)
	f.svc.Background.Go(ctx, "resend-verification", func(ctx context.Context) error {
		return f.resendVerification(ctx, email)
	})
	return nil
}

func (f *Flows) resendVerification(ctx context.Context, email string) error {
	// Several registrations may wait on one address; each gets its link
	// (issueToken holds each to one email a minute).
	holders, err := models.UsersHoldingEmail(ctx, f.svc.DB, email, 5)
	if err != nil {
		return err
	}
	for i := range holders {
		u := &holders[i]
		if u.Status != models.StatusPending || u.EmailVerifiedAt != nil {
			continue
		}
		var token string
		err = f.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			var err error
			token, err = f.issueToken(ctx, tx, u, TokenVerify, derefString(u.Email), verifyTokenTTL)
			return err
		})
		if err != nil {
			return err
		}
		if token != "" {
			f.send(mail.KindVerify, u, derefString(u.Email), f.link("/verify-email", token, u), verifyTokenTTL)
		}
	}
	return nil
}

// ForgotPassword mails a reset link to the active account an address names
// (see models.UserByEmail: an address nobody proved or vouched for names
// nobody). Every address gets the same answer at once; the look-up and
// the email happen afterwards, in the background.
func (f *Flows) ForgotPassword(ctx context.Context, actor Actor, email string) error {
	email = strings.TrimSpace(email)
	f.svc.Background.Go(ctx, "forgot-password", func(ctx context.Context) error {
		return f.forgotPassword(ctx, actor, email)
	})
	return nil
}

func (f *Flows) forgotPassword(ctx context.Context, actor Actor, email string) error {
	u, err := models.UserByEmail(ctx, f.svc.DB, email)
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Status != models.StatusActive) {
		return nil
	} else if err != nil {
		return err
	}
	var token string
	err = f.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if token, err = f.issueToken(ctx, tx, u, TokenReset, derefString(u.Email), resetTokenTTL); err != nil || token == "" {
			return err
		}
		return f.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionPasswordResetAsked, Actor: actor, Target: u})
	})
	if err == nil && token != "" {
		f.send(mail.KindReset, u, derefString(u.Email), f.link("/reset-password", token, u), resetTokenTTL)
	}
	return err
}

// ResetPassword sets a new password with an emailed token. It ends every
// session, clears the lock and voids other reset links; it does not sign
// in, and two-factor authentication still applies at the next sign-in.
func (f *Flows) ResetPassword(ctx context.Context, actor Actor, token, password string) error {
	if token == "" || len(token) > 200 {
		return ErrInvalidToken
	}
	t := new(models.OneTimeToken)
	if err := f.svc.DB.NewSelect().Model(t).Where("token_hash = ?", security.HashToken(token)).Where("purpose = ?", TokenReset).Where("expires_at > ?", f.svc.Now()).Scan(ctx); err != nil {
		if errors.Is(models.NotFound(err), models.ErrNotFound) {
			return ErrInvalidToken
		}
		return err
	}
	u, err := models.UserByID(ctx, f.svc.DB, t.UserID)
	if err != nil || u.Status != models.StatusActive {
		return ErrInvalidToken
	}
	policy, err := f.svc.Settings.PasswordPolicy(ctx)
	if err != nil {
		return err
	}
	if msg := CheckPassword(policy, password, u.Username, derefString(u.Email)); msg != "" {
		return problem.Fields{"password": msg}.Err()
	}
	hash, err := f.svc.Hasher.Hash(ctx, password)
	if err != nil {
		return hasherErr(err)
	}
	return f.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := f.consumeToken(ctx, tx, token, TokenReset); err != nil {
			return err
		}
		// Following the link may prove the address (afterMailedReset),
		// which takes it from its other holders: they and the account are
		// locked first, in one statement in id order, before anything is
		// written (models.LockEmailHolders), and the account is read again
		// after: a confirmation of the address crossing this reset locks
		// the same rows in the same order and is waited for, instead of
		// each waiting for the row the other holds.
		holders, err := f.svc.addressHolders(ctx, tx, t.Email, u.ID)
		if err != nil {
			return err
		}
		if u, err = models.UserByID(ctx, tx, u.ID); err != nil || u.Status != models.StatusActive {
			return ErrInvalidToken
		}
		now := f.svc.Now()
		if err := models.SetPassword(ctx, tx, u.ID, hash, now, models.PasswordWrite{MustChange: new(false), ClearLock: true}); err != nil {
			return err
		}
		if _, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, ""); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*models.OneTimeToken)(nil)).Where("user_id = ?", u.ID).Where("purpose = ?", TokenReset).Exec(ctx); err != nil {
			return err
		}
		details, err := f.afterMailedReset(ctx, tx, actor, u, t.Email, holders)
		if err != nil {
			return err
		}
		return f.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionPasswordResetByMail, Actor: actor, Target: u, Details: details})
	})
}

// ResetUnlinkReason is the reason on the identity_unlinked rows a reset by
// email writes.
const ResetUnlinkReason = "password reset by email: linked without a verified email"

// afterMailedReset finishes a reset through an emailed link. Following the
// link proves the mailbox, so the address becomes verified (unless another
// account proved it meanwhile) and other unverified holders lose it. The
// one who now holds the password holds the account: provider identities
// linked without a verified email (perhaps by someone who planted this
// address) are removed, each audited. holders are the other unverified
// holders of mailedTo, locked (with u) before the reset wrote anything.
func (f *Flows) afterMailedReset(ctx context.Context, tx bun.IDB, actor Actor, u *models.User, mailedTo string, holders []models.User) (map[string]any, error) {
	now := f.svc.Now()
	details := map[string]any{}
	if u.Email != nil && models.NormalizeEmail(*u.Email) == models.NormalizeEmail(mailedTo) && u.EmailVerifiedAt == nil {
		taken, err := models.EmailVerifiedElsewhere(ctx, tx, mailedTo, u.ID)
		if err != nil {
			return nil, err
		}
		if !taken {
			if err := models.MarkEmailVerified(ctx, tx, u.ID, now, models.EmailProof{}); err != nil {
				return nil, err
			}
			if err := f.svc.releaseEmail(ctx, tx, actor, u, holders); err != nil {
				return nil, err
			}
			details["emailVerified"] = mailedTo
		}
	}
	var idents []models.Identity
	if err := tx.NewSelect().Model(&idents).Relation("Provider").Where("uid.user_id = ?", u.ID).Where("uid.email_verified = ?", false).Scan(ctx); err != nil {
		return nil, err
	}
	removed := []string{}
	for _, ident := range idents {
		if _, err := tx.NewDelete().Model((*models.Identity)(nil)).Where("id = ?", ident.ID).Exec(ctx); err != nil {
			return nil, err
		}
		slug := ""
		if ident.Provider != nil {
			slug = ident.Provider.Slug
		}
		removed = append(removed, slug)
		if err := f.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionIdentityUnlinked, Actor: actor, Target: u, Reason: ResetUnlinkReason,
			Details: map[string]any{"provider": slug, "subject": truncate(ident.Subject, 100), "emailVerified": false}}); err != nil {
			return nil, err
		}
	}
	if len(removed) > 0 {
		details["unlinkedProviders"] = removed
	}
	return details, nil
}

// RequestEmailChange mails a confirmation link to the new address; the
// address changes only when it is confirmed.
func (f *Flows) RequestEmailChange(ctx context.Context, actor Actor, email, password string) error {
	u := actor.User
	email = strings.TrimSpace(email)
	fields := problem.Fields{}
	validateEmail(fields, "email", email)
	if len(fields) == 0 {
		// The registration rules hold for a changed address too: allowed
		// domains (and their subdomains) and plus aliases.
		reg, err := f.svc.Settings.Registration(ctx)
		if err != nil {
			return err
		}
		checkEmailPolicy(fields, reg, email)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	if _, err := f.svc.Auth.Reauthenticate(ctx, actor, Reauth{Purpose: ReauthEmailChange, Password: password, PasswordField: "password", AllowRecentSignIn: true}); err != nil {
		return err
	}
	if models.NormalizeEmail(email) == models.NormalizeEmail(derefString(u.Email)) {
		return problem.Fields{"email": "is already your address"}.Err()
	}
	if es, err := f.svc.Settings.Email(ctx); err != nil {
		return err
	} else if !es.Configured() {
		return problem.New(problem.Conflict, "email_not_configured", "This server cannot send email yet, so the new address cannot be confirmed; ask an administrator to set up SMTP.")
	}
	taken, err := models.EmailTaken(ctx, f.svc.DB, email, u.ID)
	if err != nil || taken {
		// Same answer whether or not another account has it.
		return err
	}
	var token string
	err = f.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if token, err = f.issueToken(ctx, tx, u, TokenEmailChange, email, verifyTokenTTL); err != nil || token == "" {
			return err
		}
		return f.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionEmailChangeAsked, Actor: actor, Target: u, Details: map[string]any{"to": email}})
	})
	if err == nil && token != "" {
		f.send(mail.KindEmailChange, u, email, f.link("/verify-email", token, u), verifyTokenTTL)
	}
	return err
}
