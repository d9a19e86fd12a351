package service

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/mail"
	"gatehouse/server/problem"
)

// The kinds of account change (see accounts.go for the engine and how to
// add one). Each kind holds its own rules; the engine holds the shared ones.

// Refusals of the change kinds.
var (
	// ErrBalanceRange refuses a balance beyond ±2^53, the integers a
	// JavaScript number holds exactly.
	ErrBalanceRange = (&problem.Error{Kind: problem.Invalid, Code: "balance_out_of_range", Message: "The balance would leave the range of ±2^53 minor units."}).WithField("amount", "is out of range")
)

const maxBalance = int64(1) << 53 // stays exact in JavaScript numbers

// field names a change's field: bare for a single-account endpoint, under
// params. for a bulk request.
func (c *changeRun) field(name string) string {
	if c.single {
		return name
	}
	return "params." + name
}

// billingField refuses a billing field of a mode that is not active.
func (c *changeRun) billingField(f problem.Fields, name, mode string) {
	if c.billing.Mode == mode {
		return
	}
	key := name
	if !c.single {
		key = "action"
	}
	f.Add(key, "belongs to the "+mode+" billing mode; the active mode is "+c.billing.Mode)
}

// UserPatch is an admin's change to an account's profile, role or
// subscription; nil fields stay. The bulk actions set_role, set_timezone
// and set_language are patches of one field.
type UserPatch struct {
	DisplayName           *string
	Email                 *string
	EmailVerified         *bool
	Phone                 *string
	Language              *string
	Timezone              *string
	Preferences           *map[string]any
	Role                  *string
	PlanID                **int64
	SubscriptionExpiresAt **time.Time
	Reason                string

	prefs   string        // Preferences, encoded by check
	holders []models.User // accounts that lose the address marked verified (plan)
	// periodDays: the period of the plan PlanID names (check). A new plan
	// sent without SubscriptionExpiresAt starts a period of that length
	// (prepare): assigning a plan with a period no longer saves a
	// subscription that never ends unless null is sent explicitly.
	periodDays int
}

func (p *UserPatch) selfRule() bool  { return false } // role changes: see plan
func (p *UserPatch) namesFromWrite() {}
func (p *UserPatch) touchesAccess() bool {
	return p.Role != nil || p.Email != nil || p.EmailVerified != nil
}

func (p *UserPatch) columns() []string {
	var cols []string
	add := func(set bool, c ...string) {
		if set {
			cols = append(cols, c...)
		}
	}
	add(p.DisplayName != nil, "display_name")
	add(p.Email != nil || p.EmailVerified != nil, "email", "email_verified_at", "email_vouched")
	add(p.Phone != nil, "phone")
	add(p.Language != nil, "language")
	add(p.Timezone != nil, "timezone")
	add(p.Preferences != nil, "preferences")
	add(p.PlanID != nil, "plan_id")
	add(p.SubscriptionExpiresAt != nil || p.PlanID != nil, "subscription_expires_at")
	return cols
}

func (p *UserPatch) check(c *changeRun) error {
	f := problem.Fields{}
	if p.DisplayName != nil {
		v := strings.TrimSpace(*p.DisplayName)
		p.DisplayName = &v
		validateDisplayName(f, c.field("displayName"), v)
		if v == "" {
			f.Add(c.field("displayName"), "must not be empty")
		}
	}
	if p.Email != nil {
		v := strings.TrimSpace(*p.Email)
		p.Email = &v
		if v != "" {
			validateEmail(f, c.field("email"), v)
		}
	}
	if (p.Email != nil || p.EmailVerified != nil) && c.targets != 1 {
		f.Add(c.field("email"), "can be set on one account at a time")
	}
	if p.Phone != nil {
		validatePhone(f, c.field("phone"), *p.Phone)
	}
	if p.Language != nil {
		validateLanguage(f, c.field("language"), *p.Language)
	}
	if p.Timezone != nil {
		validateTimezone(f, c.field("timezone"), *p.Timezone)
	}
	if p.Preferences != nil {
		p.prefs = validatePreferences(f, c.field("preferences"), *p.Preferences)
	}
	if p.Role != nil && !models.ValidRole(*p.Role) {
		f.Add(c.field("role"), "must be user, admin or super_admin")
	}
	if p.PlanID != nil {
		c.billingField(f, "planId", "period")
	}
	if p.SubscriptionExpiresAt != nil {
		c.billingField(f, "subscriptionExpiresAt", "period")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if p.Role != nil {
		if err := mayGrantRole(c.actor, *p.Role); err != nil {
			return err
		}
	}
	if p.PlanID != nil && *p.PlanID != nil {
		var plan models.Plan
		err := c.db.NewSelect().Model(&plan).Column("period_days").Where("id = ?", **p.PlanID).Scan(c.ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return problem.Fields{c.field("planId"): "is not a known plan"}.Err()
		}
		if err != nil {
			return err
		}
		p.periodDays = plan.PeriodDays
	}
	return nil
}

// prepare: a plan other than the account's current one, sent without
// subscriptionExpiresAt, runs from now for the plan's period. The same plan
// sent again changes nothing; an explicit null keeps the subscription
// without end. (planId is accepted on one account at a time: the single
// endpoint.)
func (p *UserPatch) prepare(c *changeRun, targets []models.User) error {
	if p.PlanID == nil || *p.PlanID == nil || p.SubscriptionExpiresAt != nil || p.periodDays <= 0 || len(targets) != 1 {
		return nil
	}
	if equalPtr(*p.PlanID, targets[0].PlanID) {
		return nil
	}
	end := c.now.Add(time.Duration(p.periodDays) * 24 * time.Hour).Truncate(time.Second)
	pe := &end
	p.SubscriptionExpiresAt = &pe
	return nil
}

func (p *UserPatch) plan(c *changeRun, u *models.User) (*effect, error) {
	before, after := map[string]any{}, map[string]any{}
	note := func(name string, old, new any) { before[name], after[name] = old, new }
	e := &effect{}
	if p.Role != nil && *p.Role != u.Role {
		if c.actor.User != nil && c.actor.User.ID == u.ID {
			return nil, ErrSelfChange
		}
		note("role", u.Role, *p.Role)
		e.role = *p.Role
		// A demotion ends the account's sessions so that no open console
		// keeps working with the old rights.
		e.endSessions = models.RoleRank(*p.Role) < models.RoleRank(u.Role)
	}
	if p.DisplayName != nil && *p.DisplayName != u.DisplayName {
		note("displayName", u.DisplayName, *p.DisplayName)
	}
	if p.Email != nil && *p.Email != derefString(u.Email) {
		if *p.Email != "" {
			if taken, err := models.EmailTaken(c.ctx, c.db, *p.Email, u.ID); err != nil {
				return nil, err
			} else if taken {
				return nil, problem.Fields{"email": "is already used by another account"}.Err()
			}
		}
		note("email", u.Email, *p.Email)
	}
	if p.EmailVerified != nil && *p.EmailVerified != (u.EmailVerifiedAt != nil) {
		email := derefString(u.Email)
		if p.Email != nil {
			email = *p.Email
		}
		if *p.EmailVerified && email == "" {
			return nil, problem.Fields{"emailVerified": "needs an email address"}.Err()
		}
		if *p.EmailVerified {
			if taken, err := models.EmailVerifiedElsewhere(c.ctx, c.db, email, u.ID); err != nil {
				return nil, err
			} else if taken {
				return nil, problem.Fields{"emailVerified": "another account has verified this address"}.Err()
			}
			// The accounts that will lose the address, locked before
			// anything is written (one target: check refuses more).
			lock := c.lock
			if lock == models.LockRowsAndSuperAdmins {
				lock = models.LockRows // locked with the target already
			}
			var err error
			if p.holders, err = models.LockEmailHolders(c.ctx, c.db, email, u.ID, lock); err != nil {
				return nil, err
			}
		}
		note("emailVerified", u.EmailVerifiedAt != nil, *p.EmailVerified)
	}
	if p.Phone != nil && *p.Phone != u.Phone {
		note("phone", u.Phone, *p.Phone)
	}
	if p.Language != nil && *p.Language != u.Language {
		note("language", u.Language, *p.Language)
	}
	if p.Timezone != nil && *p.Timezone != u.Timezone {
		note("timezone", u.Timezone, *p.Timezone)
	}
	if p.Preferences != nil && p.prefs != u.Preferences {
		note("preferences", jsonRaw(u.Preferences), jsonRaw(p.prefs))
	}
	if p.PlanID != nil && !equalPtr(*p.PlanID, u.PlanID) {
		note("planId", u.PlanID, *p.PlanID)
	}
	if p.SubscriptionExpiresAt != nil && !equalTimePtr(*p.SubscriptionExpiresAt, u.SubscriptionExpiresAt) {
		note("subscriptionExpiresAt", u.SubscriptionExpiresAt, *p.SubscriptionExpiresAt)
	}
	if len(after) == 0 {
		return nil, nil
	}
	e.extra = map[string]any{"before": before, "after": after}
	return e, nil
}

func (p *UserPatch) write(ctx context.Context, c *changeRun, tx bun.IDB, planned []*effect) error {
	// Uniform values for every target, one statement.
	uniform := func(q *bun.UpdateQuery) *bun.UpdateQuery {
		if p.Role != nil {
			q = q.Set("role = ?", *p.Role)
		}
		if p.DisplayName != nil {
			q = q.Set("display_name = ?", *p.DisplayName)
		}
		if p.Phone != nil {
			q = q.Set("phone = ?", *p.Phone)
		}
		if p.Language != nil {
			q = q.Set("language = ?", *p.Language)
		}
		if p.Timezone != nil {
			q = q.Set("timezone = ?", *p.Timezone)
		}
		if p.Preferences != nil {
			q = q.Set("preferences = ?", p.prefs)
		}
		if p.PlanID != nil {
			q = q.Set("plan_id = ?", *p.PlanID)
		}
		if p.SubscriptionExpiresAt != nil {
			q = q.Set("subscription_expires_at = ?", *p.SubscriptionExpiresAt)
		}
		return q
	}
	if err := c.updateUsers(ctx, tx, planned, uniform); err != nil {
		return err
	}
	if p.Email == nil && p.EmailVerified == nil {
		return nil
	}
	// The address: one account (check refuses more).
	u := planned[0].u
	after := planned[0].extra["after"].(map[string]any)
	if _, ok := after["email"]; ok {
		u.SetEmail(*p.Email)
		u.EmailVerifiedAt = nil // a new address is unverified until said otherwise
		// An administrator vouches for the address they set: it names the
		// account (unless someone else proves it).
		u.EmailVouched = u.Email != nil
	}
	markedVerified := false
	if v, ok := after["emailVerified"]; ok {
		if v.(bool) {
			now := c.now
			u.EmailVerifiedAt, markedVerified = &now, true
		} else {
			u.EmailVerifiedAt = nil
		}
	}
	if u.Email != nil {
		// The look-up form is written with the address: recompute it, since
		// the planned row may have been loaded without it (an emailVerified-
		// only change otherwise blanked email_lower, and the address stopped
		// naming the account).
		u.SetEmail(*u.Email)
	}
	u.UpdatedAt = c.now // the planned row may have been loaded without it too
	if err := models.WriteUserEmail(ctx, tx, u); err != nil {
		return err
	}
	if markedVerified {
		// An administrator's "verified" settles the address: accounts
		// holding it unconfirmed lose it.
		return c.svc.releaseEmail(ctx, tx, c.actor, u, p.holders)
	}
	return nil
}

func (p *UserPatch) audit(e *effect) (string, string, map[string]any) {
	action := ActionUserUpdated
	before := e.extra["before"].(map[string]any)
	if _, ok := before["role"]; ok {
		action = ActionUserRoleChanged
	}
	key := ""
	if len(before) == 1 {
		// A one-field bulk change: the details depend on the old value only.
		for k, v := range before {
			if s, ok := v.(string); ok {
				key = k + "=" + s
			}
		}
	}
	return action, key, e.extra
}

// StatusChange sets an account's status; the run's reason becomes its
// status reason. Leaving active ends every session and token.
type StatusChange struct{ Status string }

func (s StatusChange) selfRule() bool      { return true }
func (s StatusChange) namesFromWrite()     {}
func (s StatusChange) touchesAccess() bool { return true }
func (s StatusChange) columns() []string   { return nil }

func (s StatusChange) check(c *changeRun) error {
	if !models.ValidStatus(s.Status) {
		return problem.Fields{c.field("status"): "must be active, pending, suspended or deactivated"}.Err()
	}
	return nil
}

// plan: an account already in the status is left as it is, reason and all
// (no history row says "suspended → suspended").
func (s StatusChange) plan(c *changeRun, u *models.User) (*effect, error) {
	if u.Status == s.Status {
		return nil, nil
	}
	return &effect{status: s.Status, endSessions: s.Status != models.StatusActive}, nil
}

func (s StatusChange) write(ctx context.Context, c *changeRun, tx bun.IDB, planned []*effect) error {
	return c.updateUsersSet(ctx, tx, planned, []string{"status", "status_reason"}, s.Status, truncate(c.reason, 500))
}

func (s StatusChange) audit(e *effect) (string, string, map[string]any) {
	action, key := s.auditKey(e)
	return action, key, map[string]any{"before": e.u.Status, "after": s.Status}
}

func (s StatusChange) auditKey(e *effect) (string, string) {
	return ActionUserStatusChanged, e.u.Status
}

// BalanceChange adds to or sets a balance (usage billing mode). Every
// change is a ledger row; the balance is read under the row lock, so
// concurrent additions never lose one another.
type BalanceChange struct {
	Mode          string // add or set
	Amount        int64
	Reason        string
	AllowNegative bool
}

func (b BalanceChange) selfRule() bool      { return false }
func (b BalanceChange) touchesAccess() bool { return false }
func (b BalanceChange) columns() []string   { return []string{"balance"} }

func (b BalanceChange) check(c *changeRun) error {
	f := problem.Fields{}
	if b.Mode != "add" && b.Mode != "set" {
		f.Add("mode", "must be add or set")
	}
	if b.Amount > maxBalance || b.Amount < -maxBalance {
		f.Add(c.field("amount"), "is out of range")
	}
	c.billingField(f, "amount", "usage")
	return f.Err()
}

func (b BalanceChange) plan(c *changeRun, u *models.User) (*effect, error) {
	next := b.Amount
	if b.Mode == "add" {
		next = u.Balance + b.Amount
	}
	if next > maxBalance || next < -maxBalance {
		return nil, ErrBalanceRange
	}
	if next == u.Balance {
		return nil, nil
	}
	if next < 0 && !b.AllowNegative {
		return nil, ErrNegativeBalance
	}
	return &effect{ledger: &balanceMove{before: u.Balance, after: next}}, nil
}

func (b BalanceChange) write(ctx context.Context, c *changeRun, tx bun.IDB, planned []*effect) error {
	return models.UpdateUsers(ctx, tx, ids(planned), c.now, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		if b.Mode == "add" {
			return q.Set("balance = balance + ?", b.Amount)
		}
		return q.Set("balance = ?", b.Amount)
	})
}

func (b BalanceChange) audit(e *effect) (string, string, map[string]any) {
	m := e.ledger
	return ActionUserBalanceChanged, "", map[string]any{"before": m.before, "after": m.after, "amount": m.after - m.before}
}

// ErrNegativeBalance refuses a change that takes a balance below zero.
var ErrNegativeBalance = (&problem.Error{Kind: problem.Invalid, Code: "negative_balance", Message: "The balance would go below zero; allow a negative balance explicitly to do this."}).WithField("amount", "would take the balance below zero")

// DeleteChange removes accounts permanently. Confirm, when set (the single
// endpoint), must equal the account's username.
type DeleteChange struct{ Confirm *string }

func (d DeleteChange) selfRule() bool           { return true }
func (d DeleteChange) touchesAccess() bool      { return true }
func (d DeleteChange) columns() []string        { return []string{"email"} }
func (d DeleteChange) check(c *changeRun) error { return nil }

func (d DeleteChange) plan(c *changeRun, u *models.User) (*effect, error) {
	if d.Confirm != nil && *d.Confirm != u.Username {
		return nil, problem.Fields{"confirm": "type the account's username to confirm"}.Err()
	}
	return &effect{deleted: true}, nil
}

func (d DeleteChange) write(ctx context.Context, c *changeRun, tx bun.IDB, planned []*effect) error {
	return models.DeleteUsers(ctx, tx, ids(planned))
}

// audit: the row keeps the public ID and username of the deleted account
// (as its target), its role and its address.
func (d DeleteChange) audit(e *effect) (string, string, map[string]any) {
	return ActionUserDeleted, "", map[string]any{"role": e.u.Role, "email": e.u.Email}
}

// UnlockChange clears a failed-sign-in lock and count.
type UnlockChange struct{}

func (UnlockChange) selfRule() bool           { return true }
func (UnlockChange) touchesAccess() bool      { return false }
func (UnlockChange) columns() []string        { return []string{"failed_logins", "locked_until"} }
func (UnlockChange) check(c *changeRun) error { return nil }

func (UnlockChange) plan(c *changeRun, u *models.User) (*effect, error) {
	if u.FailedLogins == 0 && u.LockedUntil == nil {
		return nil, nil
	}
	return &effect{}, nil
}

func (UnlockChange) write(ctx context.Context, c *changeRun, tx bun.IDB, planned []*effect) error {
	return models.UpdateUsers(ctx, tx, ids(planned), c.now, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("failed_logins = 0").Set("locked_until = NULL")
	})
}

func (UnlockChange) audit(e *effect) (string, string, map[string]any) {
	return ActionUserUnlocked, "", map[string]any{"lockedUntil": e.u.LockedUntil, "failedLogins": e.u.FailedLogins}
}

// ResetTwoFactorChange clears every second factor (the TOTP secret,
// recovery codes and passkeys) and ends every session and token of the
// account; the audit row says how many passkeys went.
type ResetTwoFactorChange struct{}

func (ResetTwoFactorChange) selfRule() bool { return true }

// touchesAccess: a passkey can be a super administrator's only way in.
func (ResetTwoFactorChange) touchesAccess() bool { return true }
func (ResetTwoFactorChange) columns() []string {
	// The address, names, language and zone are read for the email that
	// tells each person.
	return []string{"totp_secret", "totp_pending_secret", "totp_enabled_at", "passkey_count", "email", "email_verified_at", "email_vouched", "display_name", "language", "timezone"}
}
func (ResetTwoFactorChange) check(c *changeRun) error { return nil }

func (ResetTwoFactorChange) plan(c *changeRun, u *models.User) (*effect, error) {
	if u.TOTPEnabledAt == nil && u.TOTPSecret == nil && u.TOTPPendingSecret == nil && u.PasskeyCount == 0 {
		return nil, nil
	}
	return &effect{endSessions: true, extra: map[string]any{"passkeysRemoved": u.PasskeyCount, "totpWasEnabled": u.TOTPEnabledAt != nil}}, nil
}

func (ResetTwoFactorChange) write(ctx context.Context, c *changeRun, tx bun.IDB, planned []*effect) error {
	if _, err := models.ClearSecondFactors(ctx, tx, ids(planned), c.now); err != nil {
		return err
	}
	// Each person is told that their factors are gone (and why they must
	// set one up again), in the transaction of the reset.
	for _, e := range planned {
		if err := c.svc.Alerts.FactorChanged(ctx, tx, mail.KindFactorsReset, e.u, ""); err != nil {
			return err
		}
	}
	return nil
}

func (ResetTwoFactorChange) audit(e *effect) (string, string, map[string]any) {
	return ActionAdminReset2FA, "", map[string]any{"wasEnabled": e.u.TwoFactorEnabled(), "totpWasEnabled": e.extra["totpWasEnabled"], "passkeysRemoved": e.extra["passkeysRemoved"], "sessionsEnded": e.sessions}
}

// RevokeSessionsChange ends every session of the accounts, or (one
// account) the session named.
type RevokeSessionsChange struct {
	SessionID string
	open      map[int64]int64 // sessions per account, read by prepare
}

func (r *RevokeSessionsChange) selfRule() bool      { return true }
func (r *RevokeSessionsChange) touchesAccess() bool { return false }
func (r *RevokeSessionsChange) columns() []string   { return nil }

func (r *RevokeSessionsChange) check(c *changeRun) error {
	if r.SessionID != "" && c.targets != 1 {
		return problem.Fields{"sessionId": "names a session of one account"}.Err()
	}
	return nil
}

// prepare counts the targets' sessions: an account without any is left
// as it is.
func (r *RevokeSessionsChange) prepare(c *changeRun, targets []models.User) error {
	list := make([]int64, len(targets))
	for i := range targets {
		list[i] = targets[i].ID
	}
	var err error
	r.open, err = models.CountSessionsOf(c.ctx, c.db, list, r.SessionID)
	return err
}

func (r *RevokeSessionsChange) plan(c *changeRun, u *models.User) (*effect, error) {
	if r.SessionID != "" {
		if r.open[u.ID] == 0 {
			return nil, errNotFound("The session")
		}
		return &effect{sessions: 1}, nil
	}
	if r.open[u.ID] == 0 {
		return nil, nil
	}
	return &effect{endSessions: true}, nil
}

func (r *RevokeSessionsChange) write(ctx context.Context, c *changeRun, tx bun.IDB, planned []*effect) error {
	if r.SessionID != "" {
		_, err := models.DeleteSession(ctx, tx, r.SessionID)
		return err
	}
	return nil // the engine ended them
}

func (r *RevokeSessionsChange) audit(e *effect) (string, string, map[string]any) {
	return ActionUserSessionRevoked, "", map[string]any{"sessionId": r.SessionID, "revoked": e.sessions}
}

// preLocker is a change that locks rows before its targets' (in a
// transaction that locks; see UserPatch.preLock).
type preLocker interface {
	preLock(c *changeRun, t Targets) error
}

// preLock: marking an address verified takes it from the other accounts
// that hold it unverified. Their rows are locked here, before the
// target's, together with the target's in one statement in id order
// (models.LockEmailHolders), as a person proving the same address by link
// locks them: locking the target first and the holders later (in plan)
// crossed such a link, and PostgreSQL aborted one of the two as a
// deadlock. The address is read here without a lock; plan reads the
// holders again under the target's lock, which also covers an address
// that changed in between.
func (p *UserPatch) preLock(c *changeRun, t Targets) error {
	if p.EmailVerified == nil || !*p.EmailVerified || len(t.PublicIDs) != 1 {
		return nil
	}
	var id int64
	var email *string
	err := c.db.NewSelect().Model((*models.User)(nil)).Column("u.id", "u.email").Where("u.public_id = ?", strings.TrimSpace(t.PublicIDs[0])).Scan(c.ctx, &id, &email)
	if err != nil {
		if errors.Is(models.NotFound(err), models.ErrNotFound) {
			return nil // plan answers it
		}
		return err
	}
	addr := derefString(email)
	if p.Email != nil {
		addr = strings.TrimSpace(*p.Email)
	}
	if addr == "" {
		return nil
	}
	_, err = models.LockEmailHolders(c.ctx, c.db, addr, id, models.LockRows)
	return err
}

// preparer is a change that reads something about all targets at once
// before they are planned.
type preparer interface {
	prepare(c *changeRun, targets []models.User) error
}
