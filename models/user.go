package models

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Roles, lowest to highest.
const (
	RoleUser       = "user"
	RoleAdmin      = "admin"
	RoleSuperAdmin = "super_admin"
)

// Account statuses. Only StatusActive signs in.
const (
	StatusActive      = "active"
	StatusPending     = "pending"
	StatusSuspended   = "suspended"
	StatusDeactivated = "deactivated"
)

// RoleRank orders roles; unknown roles rank below user.
func RoleRank(role string) int {
	switch role {
	case RoleUser:
		return 1
	case RoleAdmin:
		return 2
	case RoleSuperAdmin:
		return 3
	}
	return 0
}

// IsAdminRole reports whether role reaches the admin console.
func IsAdminRole(role string) bool { return role == RoleAdmin || role == RoleSuperAdmin }

// ValidRole and ValidStatus check enum values.
func ValidRole(r string) bool { return RoleRank(r) > 0 }

// ValidStatus reports whether s is a known account status.
func ValidStatus(s string) bool {
	switch s {
	case StatusActive, StatusPending, StatusSuspended, StatusDeactivated:
		return true
	}
	return false
}

// User is an account.
type User struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID              int64      `bun:"id,pk,autoincrement"`
	PublicID        string     `bun:"public_id,notnull"`
	Username        string     `bun:"username,notnull"`
	UsernameLower   string     `bun:"username_lower,notnull"`
	DisplayName     string     `bun:"display_name,notnull"`
	Email           *string    `bun:"email"`
	EmailLower      *string    `bun:"email_lower"`
	EmailVerifiedAt *time.Time `bun:"email_verified_at"`
	// EmailVouched marks an unverified address that counts as the
	// account's own (see UserByEmail): set by an administrator or the
	// shell, or by self-registration while verification is off.
	EmailVouched          bool       `bun:"email_vouched,notnull"`
	Phone                 string     `bun:"phone,notnull"`
	Language              string     `bun:"language,notnull"`
	Timezone              string     `bun:"timezone,notnull"`
	Preferences           string     `bun:"preferences,notnull"` // JSON object
	Role                  string     `bun:"role,notnull"`
	Status                string     `bun:"status,notnull"`
	StatusReason          string     `bun:"status_reason,notnull"`
	PasswordHash          *string    `bun:"password_hash"`
	PasswordChangedAt     *time.Time `bun:"password_changed_at"`
	MustChangePassword    bool       `bun:"must_change_password,notnull"`
	TOTPSecret            *string    `bun:"totp_secret"`         // sealed with the secret box
	TOTPPendingSecret     *string    `bun:"totp_pending_secret"` // sealed; enrolment not yet confirmed
	TOTPEnabledAt         *time.Time `bun:"totp_enabled_at"`
	TOTPLastStep          int64      `bun:"totp_last_step,notnull"`
	PasskeyCount          int        `bun:"passkey_count,notnull"`
	FailedLogins          int        `bun:"failed_logins,notnull"`
	LockedUntil           *time.Time `bun:"locked_until"`
	SignInAttemptAt       *time.Time `bun:"sign_in_attempt_at"` // the latest attempt counted in FailedLogins
	Balance               int64      `bun:"balance,notnull"`
	PlanID                *int64     `bun:"plan_id"`
	SubscriptionExpiresAt *time.Time `bun:"subscription_expires_at"`
	LastLoginAt           *time.Time `bun:"last_login_at"`
	LastLoginIP           string     `bun:"last_login_ip,notnull"`
	CreatedAt             time.Time  `bun:"created_at,notnull"`
	UpdatedAt             time.Time  `bun:"updated_at,notnull"`

	Plan *Plan `bun:"rel:belongs-to,join:plan_id=id"`
}

// HasPassword reports whether the account can sign in with a password.
func (u *User) HasPassword() bool { return u.PasswordHash != nil && *u.PasswordHash != "" }

// TwoFactorEnabled reports whether the account has a second factor: TOTP
// or a passkey.
func (u *User) TwoFactorEnabled() bool { return u.TOTPEnabledAt != nil || u.PasskeyCount > 0 }

// TOTPEnabled reports whether TOTP (authenticator-app codes) is on.
func (u *User) TOTPEnabled() bool { return u.TOTPEnabledAt != nil }

// LockedAt reports whether the failed-sign-in lock holds at now.
func (u *User) LockedAt(now time.Time) bool { return u.LockedUntil != nil && u.LockedUntil.After(now) }

// NormalizeEmail is the form used for uniqueness and look-ups.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// SetEmail sets the email and its look-up form; empty clears both.
func (u *User) SetEmail(email string) {
	email = strings.TrimSpace(email)
	if email == "" {
		u.Email, u.EmailLower = nil, nil
		return
	}
	lower := NormalizeEmail(email)
	u.Email, u.EmailLower = &email, &lower
}

// SetUsername sets the username and its look-up form.
func (u *User) SetUsername(name string) {
	u.Username = name
	u.UsernameLower = strings.ToLower(name)
}

// UserByID loads a user with its plan.
func UserByID(ctx context.Context, db bun.IDB, id int64) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Relation("Plan").Where("u.id = ?", id).Scan(ctx)
	return u, notFound(err)
}

// UserByPublicID loads a user by public ID.
func UserByPublicID(ctx context.Context, db bun.IDB, publicID string) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Relation("Plan").Where("u.public_id = ?", publicID).Scan(ctx)
	return u, notFound(err)
}

// UserByUsername loads a user by case-insensitive username.
func UserByUsername(ctx context.Context, db bun.IDB, username string) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Relation("Plan").Where("u.username_lower = ?", strings.ToLower(username)).Scan(ctx)
	return u, notFound(err)
}

// UserByEmail loads the account an address names. Several accounts may
// hold one address, but only one can have it verified; that one wins.
// Without a verified holder, the address names the one account that holds
// it vouched (set by an administrator, or registered while verification
// was off), and nobody when there are several. Accounts that hold it
// neither verified nor vouched (an address a provider did not verify, a
// registration not yet confirmed) are never found by it.
func UserByEmail(ctx context.Context, db bun.IDB, email string) (*User, error) {
	var rows []User
	err := db.NewSelect().Model(&rows).Relation("Plan").
		Where("u.email_lower = ?", NormalizeEmail(email)).
		Where("(u.email_verified_at IS NOT NULL OR u.email_vouched = ?)", true).
		OrderExpr("CASE WHEN u.email_verified_at IS NULL THEN 1 ELSE 0 END, u.id").Limit(2).Scan(ctx)
	if err != nil {
		return nil, notFound(err)
	}
	if len(rows) == 0 || (rows[0].EmailVerifiedAt == nil && len(rows) > 1) {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// UsersHoldingEmail lists every account that holds an address, verified
// or not (at most limit of them, oldest first).
func UsersHoldingEmail(ctx context.Context, db bun.IDB, email string, limit int) ([]User, error) {
	var rows []User
	err := db.NewSelect().Model(&rows).Where("u.email_lower = ?", NormalizeEmail(email)).Order("u.id").Limit(int64(limit)).Scan(ctx)
	return rows, err
}

// CountUsers counts all accounts.
func CountUsers(ctx context.Context, db bun.IDB) (int64, error) {
	return db.NewSelect().Model((*User)(nil)).Count(ctx)
}

// UsernameTaken reports whether a username is in use by another account.
func UsernameTaken(ctx context.Context, db bun.IDB, username string, exceptID int64) (bool, error) {
	return db.NewSelect().Model((*User)(nil)).Where("username_lower = ?", strings.ToLower(username)).Where("id <> ?", exceptID).Exists(ctx)
}

// EmailTaken reports whether an address names another account: another
// account holds it verified or vouched (see UserByEmail). Accounts that
// hold it otherwise do not count: they cannot block its owner.
func EmailTaken(ctx context.Context, db bun.IDB, email string, exceptID int64) (bool, error) {
	return db.NewSelect().Model((*User)(nil)).Where("email_lower = ?", NormalizeEmail(email)).Where("id <> ?", exceptID).
		Where("(email_verified_at IS NOT NULL OR email_vouched = ?)", true).Exists(ctx)
}

// EmailVerifiedElsewhere reports whether another account has proved the
// address.
func EmailVerifiedElsewhere(ctx context.Context, db bun.IDB, email string, exceptID int64) (bool, error) {
	return db.NewSelect().Model((*User)(nil)).Where("email_lower = ?", NormalizeEmail(email)).Where("id <> ?", exceptID).
		Where("email_verified_at IS NOT NULL").Exists(ctx)
}

// CountActiveSuperAdmins counts super administrators who can act.
func CountActiveSuperAdmins(ctx context.Context, db bun.IDB) (int64, error) {
	return db.NewSelect().Model((*User)(nil)).Where("role = ?", RoleSuperAdmin).Where("status = ?", StatusActive).Count(ctx)
}

// ActorRoleStatus reads an acting account's current role and status (a
// prepared statement): the account-change engine reads them again under
// its lock, since the session that authenticated the request may be older
// than a demotion or suspension. ErrNotFound when the account is gone.
func ActorRoleStatus(ctx context.Context, st *Stmts, db bun.IDB, id int64) (role, status string, err error) {
	u := new(User)
	err = st.Select(ctx, db, "actor_role_status", func(db bun.IDB) *bun.SelectQuery {
		return db.NewSelect().Model((*User)(nil)).Column("u.id", "u.role", "u.status").Where("u.id = ?", bun.Safe("?"))
	}, u, id)
	if err != nil {
		return "", "", err
	}
	if u.ID == 0 {
		return "", "", ErrNotFound
	}
	return u.Role, u.Status, nil
}

// UserByPublicIDPrepared is UserByPublicID as prepared statements (the
// account, then its plan when it has one): every single-account change
// answers with the account's detail.
func UserByPublicIDPrepared(ctx context.Context, st *Stmts, db bun.IDB, publicID string) (*User, error) {
	u := new(User)
	err := st.Select(ctx, db, "user_by_public_id", func(db bun.IDB) *bun.SelectQuery {
		return db.NewSelect().Model((*User)(nil)).Where("u.public_id = ?", bun.Safe("?"))
	}, u, publicID)
	if err != nil {
		return nil, err
	}
	if u.ID == 0 {
		return nil, ErrNotFound
	}
	if u.PlanID != nil {
		p := new(Plan)
		err := st.Select(ctx, db, "plan_by_id", func(db bun.IDB) *bun.SelectQuery {
			return db.NewSelect().Model((*Plan)(nil)).Where("p.id = ?", bun.Safe("?"))
		}, p, *u.PlanID)
		if err != nil {
			return nil, err
		}
		if p.ID != 0 {
			u.Plan = p
		}
	}
	return u, nil
}
