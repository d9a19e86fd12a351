package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Audit actions of the admin console.
const (
	ActionUserCreated        = "user.created"
	ActionUserUpdated        = "user.updated"
	ActionUserStatusChanged  = "user.status_changed"
	ActionUserRoleChanged    = "user.role_changed"
	ActionUserDeleted        = "user.deleted"
	ActionUserBalanceChanged = "user.balance_changed"
	ActionUserUnlocked       = "user.unlocked"
	ActionUserSessionRevoked = "user.sessions_revoked"
)

// Refusals of the protection rules. The console explains each code.
var (
	ErrSuperAdminProtected = problem.New(problem.Forbidden, "super_admin_protected", "Only a super administrator may change a super administrator.")
	ErrGrantSuperAdmin     = problem.New(problem.Forbidden, "super_admin_grant", "Only a super administrator may grant the super administrator role.")
	ErrSelfChange          = problem.New(problem.Conflict, "self_change", "You cannot change your own role or status, act on your own security, or delete yourself here; use your account pages.")
	ErrLastSuperAdmin      = problem.New(problem.Conflict, "last_super_admin", "This would leave no active super administrator.")
)

// Users is what administrators do to accounts. Every rule is checked in
// the same transaction as the write it guards.
type Users struct {
	svc *Services
}

// lockSuperAdmins makes concurrent changes to super administrators wait
// for each other. SQLite transactions are already serial (BEGIN
// IMMEDIATE); PostgreSQL locks the super administrators' rows.
func lockSuperAdmins(ctx context.Context, tx bun.IDB) error {
	if tx.Dialect().Name() != dialect.PG {
		return nil
	}
	_, err := tx.NewRaw("SELECT id FROM users WHERE role = ? FOR UPDATE", models.RoleSuperAdmin).Exec(ctx)
	return err
}

// guard checks the protection rules for actor changing target. selfRule
// says whether acting on oneself is refused for this change.
func guard(actor Actor, target *models.User, selfRule bool) error {
	if selfRule && actor.User != nil && actor.User.ID == target.ID {
		return ErrSelfChange
	}
	if target.Role == models.RoleSuperAdmin && (actor.User == nil || actor.User.Role != models.RoleSuperAdmin) {
		return ErrSuperAdminProtected
	}
	return nil
}

// keepsSuperAdmin refuses a change that takes target out of the active
// super administrators when it is the last one.
func keepsSuperAdmin(ctx context.Context, tx bun.IDB, target *models.User, newRole, newStatus string, deleting bool) error {
	wasActiveSuper := target.Role == models.RoleSuperAdmin && target.Status == models.StatusActive
	staysActiveSuper := !deleting && newRole == models.RoleSuperAdmin && newStatus == models.StatusActive
	if !wasActiveSuper || staysActiveSuper {
		return nil
	}
	n, err := models.CountActiveSuperAdmins(ctx, tx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastSuperAdmin
	}
	return nil
}

// loadTarget reads the target inside tx.
func loadTarget(ctx context.Context, tx bun.IDB, publicID string) (*models.User, error) {
	u, err := models.UserByPublicID(ctx, tx, publicID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errNotFound("The account")
	}
	return u, err
}

// UserDetail is an account with its system information.
type UserDetail struct {
	User           *models.User
	ActiveSessions int64
	StatusHistory  []models.AuditEvent
}

// Detail loads an account for the editor.
func (s *Users) Detail(ctx context.Context, publicID string) (*UserDetail, error) {
	return s.detail(ctx, s.svc.DB, publicID)
}

func (s *Users) detail(ctx context.Context, db bun.IDB, publicID string) (*UserDetail, error) {
	u, err := loadTarget(ctx, db, publicID)
	if err != nil {
		return nil, err
	}
	d := &UserDetail{User: u}
	n, err := db.NewSelect().Model((*models.Session)(nil)).Where("user_id = ?", u.ID).Where("expires_at > ?", s.svc.Now()).Count(ctx)
	if err != nil {
		return nil, err
	}
	d.ActiveSessions = n
	err = db.NewSelect().Model(&d.StatusHistory).
		Where("a.target_id = ?", u.ID).
		Where("a.action IN (?)", bun.List([]string{ActionUserStatusChanged, ActionUserCreated, ActionUserRoleChanged, ActionSetupCompleted, ActionUserCreatedByShell})).
		Order("a.id DESC").Limit(50).Scan(ctx)
	return d, err
}

// Search lists accounts. An exact public ID, email or username typed in
// full comes first on the first page.
func (s *Users) Search(ctx context.Context, f models.UserFilter, sort models.UserSort, page, perPage int) ([]models.User, int64, bool, error) {
	now := s.svc.Now()
	users, total, estimate, err := models.SearchUsers(ctx, s.svc.DB, f, sort, perPage, (page-1)*perPage, now)
	if err != nil || page != 1 || strings.TrimSpace(f.Q) == "" {
		return users, total, estimate, err
	}
	exact, err := models.ExactMatch(ctx, s.svc.DB, f.Q, f, now)
	if errors.Is(err, models.ErrNotFound) {
		return users, total, estimate, nil
	} else if err != nil {
		return nil, 0, false, err
	}
	out := []models.User{*exact}
	for _, u := range users {
		if u.ID != exact.ID {
			out = append(out, u)
		}
	}
	if len(out) > perPage {
		out = out[:perPage]
	}
	if total == 0 {
		total = 1
	}
	return out, total, estimate, nil
}

// Create adds an account. Only a super administrator may create another.
func (s *Users) Create(ctx context.Context, actor Actor, in NewUser) (*models.User, error) {
	if in.Role == models.RoleSuperAdmin && actor.User.Role != models.RoleSuperAdmin {
		return nil, ErrGrantSuperAdmin
	}
	if in.Status == "" {
		in.Status = models.StatusActive
	}
	u, err := s.svc.prepareUser(ctx, in, true)
	if err != nil {
		return nil, err
	}
	err = s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionUserCreated, Actor: actor, Target: u, Details: map[string]any{"role": u.Role, "status": u.Status}})
	})
	return u, err
}

// UserPatch is an admin's change to an account; nil fields stay.
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
}

// Update applies a patch under the protection rules.
func (s *Users) Update(ctx context.Context, actor Actor, publicID string, p UserPatch) (*UserDetail, error) {
	f := problem.Fields{}
	if p.DisplayName != nil {
		v := strings.TrimSpace(*p.DisplayName)
		p.DisplayName = &v
		validateDisplayName(f, "displayName", v)
		if v == "" {
			f.Add("displayName", "must not be empty")
		}
	}
	if p.Email != nil {
		v := strings.TrimSpace(*p.Email)
		p.Email = &v
		if v != "" {
			validateEmail(f, "email", v)
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
	if p.Role != nil && !models.ValidRole(*p.Role) {
		f.Add("role", "must be user, admin or super_admin")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out *UserDetail
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		access, err := beginAdminAccess(ctx, tx, s.svc.Settings)
		if err != nil {
			return err
		}
		markedVerified := false
		if err := lockSuperAdmins(ctx, tx); err != nil {
			return err
		}
		u, err := loadTarget(ctx, tx, publicID)
		if err != nil {
			return err
		}
		roleChange := p.Role != nil && *p.Role != u.Role
		if err := guard(actor, u, roleChange); err != nil {
			return err
		}
		before, after := map[string]any{}, map[string]any{}
		note := func(name string, old, new any) {
			before[name], after[name] = old, new
		}
		if roleChange {
			if *p.Role == models.RoleSuperAdmin && actor.User.Role != models.RoleSuperAdmin {
				return ErrGrantSuperAdmin
			}
			if err := keepsSuperAdmin(ctx, tx, u, *p.Role, u.Status, false); err != nil {
				return err
			}
			note("role", u.Role, *p.Role)
		}
		if p.DisplayName != nil && *p.DisplayName != u.DisplayName {
			note("displayName", u.DisplayName, *p.DisplayName)
			u.DisplayName = *p.DisplayName
		}
		if p.Email != nil && *p.Email != derefString(u.Email) {
			if *p.Email != "" {
				if taken, err := models.EmailTaken(ctx, tx, *p.Email, u.ID); err != nil {
					return err
				} else if taken {
					return problem.Fields{"email": "is already used by another account"}.Err()
				}
			}
			note("email", u.Email, *p.Email)
			u.SetEmail(*p.Email)
			u.EmailVerifiedAt = nil // a new address is unverified until said otherwise
			// An administrator vouches for the address they set: it names
			// the account (unless someone else proves it).
			u.EmailVouched = u.Email != nil
		}
		if p.EmailVerified != nil && *p.EmailVerified != (u.EmailVerifiedAt != nil) {
			if *p.EmailVerified && u.Email == nil {
				return problem.Fields{"emailVerified": "needs an email address"}.Err()
			}
			note("emailVerified", u.EmailVerifiedAt != nil, *p.EmailVerified)
			if *p.EmailVerified {
				if taken, err := models.EmailVerifiedElsewhere(ctx, tx, *u.Email, u.ID); err != nil {
					return err
				} else if taken {
					return problem.Fields{"emailVerified": "another account has verified this address"}.Err()
				}
				now := s.svc.Now()
				u.EmailVerifiedAt = &now
				markedVerified = true
			} else {
				u.EmailVerifiedAt = nil
			}
		}
		if p.Phone != nil && *p.Phone != u.Phone {
			note("phone", u.Phone, *p.Phone)
			u.Phone = *p.Phone
		}
		if p.Language != nil && *p.Language != u.Language {
			note("language", u.Language, *p.Language)
			u.Language = *p.Language
		}
		if p.Timezone != nil && *p.Timezone != u.Timezone {
			note("timezone", u.Timezone, *p.Timezone)
			u.Timezone = *p.Timezone
		}
		if p.Preferences != nil && prefs != u.Preferences {
			note("preferences", jsonRaw(u.Preferences), jsonRaw(prefs))
			u.Preferences = prefs
		}
		if p.PlanID != nil {
			newPlan := *p.PlanID
			if newPlan != nil {
				exists, err := tx.NewSelect().Model((*models.Plan)(nil)).Where("id = ?", *newPlan).Exists(ctx)
				if err != nil {
					return err
				}
				if !exists {
					return problem.Fields{"planId": "is not a known plan"}.Err()
				}
			}
			if !equalPtr(newPlan, u.PlanID) {
				note("planId", u.PlanID, newPlan)
				u.PlanID = newPlan
			}
		}
		if p.SubscriptionExpiresAt != nil && !equalTimePtr(*p.SubscriptionExpiresAt, u.SubscriptionExpiresAt) {
			note("subscriptionExpiresAt", u.SubscriptionExpiresAt, *p.SubscriptionExpiresAt)
			u.SubscriptionExpiresAt = *p.SubscriptionExpiresAt
		}
		if len(after) == 0 {
			out, err = s.detail(ctx, tx, publicID)
			return err
		}
		if roleChange {
			u.Role = *p.Role
		}
		u.UpdatedAt = s.svc.Now()
		if _, err := tx.NewUpdate().Model(u).Column("display_name", "email", "email_lower", "email_verified_at", "email_vouched", "phone", "language", "timezone", "preferences", "role", "plan_id", "subscription_expires_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		if markedVerified {
			// An administrator's "verified" settles the address: accounts
			// holding it unconfirmed lose it.
			if err := s.svc.releaseEmail(ctx, tx, actor, u, *u.Email); err != nil {
				return err
			}
		}
		// A new role or address (here or, through the release, on another
		// account) can take away the last administrator's way in.
		if _, emailChange := after["email"]; roleChange || emailChange || markedVerified {
			if err := access.check(ctx, tx); err != nil {
				return err
			}
		}
		action := ActionUserUpdated
		if roleChange {
			action = ActionUserRoleChanged
			// A demotion ends the account's sessions so that no open
			// console keeps working with the old rights.
			if models.RoleRank(*p.Role) < models.RoleRank(before["role"].(string)) {
				if _, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, ""); err != nil {
					return err
				}
			}
		}
		if err := s.svc.Audit.Write(ctx, tx, AuditEntry{Action: action, Actor: actor, Target: u, Reason: p.Reason, Details: map[string]any{"before": before, "after": after}}); err != nil {
			return err
		}
		out, err = s.detail(ctx, tx, publicID)
		return err
	})
	return out, err
}

// SetStatus changes an account's status with a reason. Leaving active ends
// every session and token of the account.
func (s *Users) SetStatus(ctx context.Context, actor Actor, publicID, status, reason string) (*UserDetail, error) {
	if !models.ValidStatus(status) {
		return nil, problem.Fields{"status": "must be active, pending, suspended or deactivated"}.Err()
	}
	var out *UserDetail
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		access, err := beginAdminAccess(ctx, tx, s.svc.Settings)
		if err != nil {
			return err
		}
		if err := lockSuperAdmins(ctx, tx); err != nil {
			return err
		}
		u, err := loadTarget(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if err := guard(actor, u, true); err != nil {
			return err
		}
		if err := keepsSuperAdmin(ctx, tx, u, u.Role, status, false); err != nil {
			return err
		}
		if leavesAdmins(u, u.Role, status, false) && access.canSignIn(u.ID) {
			if err := access.check(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		if status != u.Status || reason != u.StatusReason {
			if err := s.applyStatus(ctx, tx, actor, u, status, reason, ""); err != nil {
				return err
			}
		}
		out, err = s.detail(ctx, tx, publicID)
		return err
	})
	return out, err
}

func (s *Users) applyStatus(ctx context.Context, tx bun.IDB, actor Actor, u *models.User, status, reason, batch string) error {
	old := u.Status
	now := s.svc.Now()
	if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set("status = ?", status).Set("status_reason = ?", truncate(reason, 500)).Set("updated_at = ?", now).Where("id = ?", u.ID).Exec(ctx); err != nil {
		return err
	}
	if status != models.StatusActive {
		if _, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, ""); err != nil {
			return err
		}
	}
	u.Status, u.StatusReason, u.UpdatedAt = status, reason, now
	return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionUserStatusChanged, Actor: actor, Target: u, Reason: reason, BatchID: batch, Details: map[string]any{"before": old, "after": status}})
}

// Delete removes an account permanently. confirm must equal its username.
func (s *Users) Delete(ctx context.Context, actor Actor, publicID, confirm, reason string) error {
	return s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		access, err := beginAdminAccess(ctx, tx, s.svc.Settings)
		if err != nil {
			return err
		}
		if err := lockSuperAdmins(ctx, tx); err != nil {
			return err
		}
		u, err := loadTarget(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if confirm != u.Username {
			return problem.Fields{"confirm": "type the account's username to confirm"}.Err()
		}
		if err := guard(actor, u, true); err != nil {
			return err
		}
		if err := keepsSuperAdmin(ctx, tx, u, u.Role, u.Status, true); err != nil {
			return err
		}
		if access.canSignIn(u.ID) {
			if err := access.check(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		return s.deleteUser(ctx, tx, actor, u, reason, "")
	})
}

func (s *Users) deleteUser(ctx context.Context, tx bun.IDB, actor Actor, u *models.User, reason, batch string) error {
	if _, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, ""); err != nil {
		return err
	}
	if _, err := tx.NewDelete().Model((*models.User)(nil)).Where("id = ?", u.ID).Exec(ctx); err != nil {
		return err
	}
	// The audit row keeps the public ID and username of the deleted account.
	return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionUserDeleted, Actor: actor, Target: u, Reason: reason, BatchID: batch, Details: map[string]any{"role": u.Role, "email": u.Email}})
}

// BalanceChange adds to or sets a balance.
type BalanceChange struct {
	Mode          string // add or set
	Amount        int64
	Reason        string
	AllowNegative bool
}

// ErrNegativeBalance refuses a change that takes a balance below zero.
var ErrNegativeBalance = (&problem.Error{Kind: problem.Invalid, Code: "negative_balance", Message: "The balance would go below zero; allow a negative balance explicitly to do this."}).WithField("amount", "would take the balance below zero")

// ChangeBalance records a ledger row and updates the balance in one transaction.
func (s *Users) ChangeBalance(ctx context.Context, actor Actor, publicID string, ch BalanceChange) (*UserDetail, error) {
	if ch.Mode != "add" && ch.Mode != "set" {
		return nil, problem.Fields{"mode": "must be add or set"}.Err()
	}
	var out *UserDetail
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := loadTarget(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if err := guard(actor, u, false); err != nil {
			return err
		}
		if err := s.applyBalance(ctx, tx, actor, u, ch, ""); err != nil {
			return err
		}
		out, err = s.detail(ctx, tx, publicID)
		return err
	})
	return out, err
}

const maxBalance = int64(1) << 53 // stays exact in JavaScript numbers

func (s *Users) applyBalance(ctx context.Context, tx bun.IDB, actor Actor, u *models.User, ch BalanceChange, batch string) error {
	next := ch.Amount
	if ch.Mode == "add" {
		next = u.Balance + ch.Amount
	}
	if next > maxBalance || next < -maxBalance || ch.Amount > maxBalance || ch.Amount < -maxBalance {
		return problem.Fields{"amount": "is out of range"}.Err()
	}
	if next < 0 && !ch.AllowNegative {
		return ErrNegativeBalance
	}
	delta := next - u.Balance
	if delta == 0 {
		return nil
	}
	now := s.svc.Now()
	if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set("balance = ?", next).Set("updated_at = ?", now).Where("id = ?", u.ID).Exec(ctx); err != nil {
		return err
	}
	entry := &models.LedgerEntry{UserID: &u.ID, UserPublicID: u.PublicID, CreatedAt: now, Amount: delta, BalanceAfter: next, Reason: truncate(ch.Reason, 500), BatchID: batch}
	if actor.User != nil {
		entry.ActorID, entry.ActorUsername = &actor.User.ID, actor.User.Username
	}
	if _, err := tx.NewInsert().Model(entry).Exec(ctx); err != nil {
		return err
	}
	old := u.Balance
	u.Balance = next
	return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionUserBalanceChanged, Actor: actor, Target: u, Reason: ch.Reason, BatchID: batch, Details: map[string]any{"before": old, "after": next, "amount": delta}})
}

// Ledger lists an account's balance changes.
func (s *Users) Ledger(ctx context.Context, publicID string, limit, offset int) ([]models.LedgerEntry, int64, error) {
	u, err := loadTarget(ctx, s.svc.DB, publicID)
	if err != nil {
		return nil, 0, err
	}
	return models.LedgerOfUser(ctx, s.svc.DB, u.ID, limit, offset)
}

// Sessions lists an account's sessions.
func (s *Users) Sessions(ctx context.Context, publicID string) ([]models.Session, error) {
	u, err := loadTarget(ctx, s.svc.DB, publicID)
	if err != nil {
		return nil, err
	}
	return models.SessionsOfUser(ctx, s.svc.DB, u.ID)
}

// RevokeSessions ends all of an account's sessions, or the one named.
func (s *Users) RevokeSessions(ctx context.Context, actor Actor, publicID, sessionID, reason string) (int64, error) {
	var n int64
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := loadTarget(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if err := guard(actor, u, true); err != nil {
			return err
		}
		if sessionID != "" {
			sess, err := models.SessionByID(ctx, tx, sessionID)
			if errors.Is(err, models.ErrNotFound) || (err == nil && sess.UserID != u.ID) {
				return errNotFound("The session")
			} else if err != nil {
				return err
			}
			if _, err := models.DeleteSession(ctx, tx, sessionID); err != nil {
				return err
			}
			n = 1
		} else if n, err = models.DeleteSessionsOfUser(ctx, tx, u.ID, ""); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionUserSessionRevoked, Actor: actor, Target: u, Reason: reason, Details: map[string]any{"sessionId": sessionID, "revoked": n}})
	})
	return n, err
}

// Unlock clears an account's failed-sign-in lock.
func (s *Users) Unlock(ctx context.Context, actor Actor, publicID, reason string) (*UserDetail, error) {
	var out *UserDetail
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := loadTarget(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if err := guard(actor, u, true); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set("failed_logins = 0").Set("locked_until = NULL").Where("id = ?", u.ID).Exec(ctx); err != nil {
			return err
		}
		if err := s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionUserUnlocked, Actor: actor, Target: u, Reason: reason, Details: map[string]any{"lockedUntil": u.LockedUntil, "failedLogins": u.FailedLogins}}); err != nil {
			return err
		}
		out, err = s.detail(ctx, tx, publicID)
		return err
	})
	return out, err
}

func jsonRaw(s string) any {
	var v any
	_ = jsonUnmarshal([]byte(s), &v)
	return v
}

func equalPtr(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// newBatchID names one bulk run in the audit log.
func newBatchID() string { return "b_" + security.NewToken(9) }

// Page reads one page of matching accounts without counting (exports).
func (s *Users) Page(ctx context.Context, f models.UserFilter, sort models.UserSort, limit, offset int) ([]models.User, error) {
	var users []models.User
	q := models.ApplyUserSort(models.ApplyUserFilter(s.svc.DB.NewSelect().Model(&users).Relation("Plan"), f, s.svc.Now()), sort).Limit(int64(limit)).Offset(int64(offset))
	return users, q.Scan(ctx)
}
