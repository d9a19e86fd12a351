package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// The users table's writes outside the account-change engine: creating an
// account, sign-in (last sign-in, the failed-sign-in count and lock,
// password rehash), the account's own profile, password, address and
// second factor, and the shell's recovery. Every write to the users table
// is a named function here or in user_write.go (the engine's set-based
// writes); no package outside models issues UPDATE, INSERT or DELETE on
// the table itself (TestUsersTableWritesLiveInModels enforces it), so that
// the table's triggers (users_table.go) have one set of writers to follow.

// InsertUser stores a new account (u.ID is filled in).
func InsertUser(ctx context.Context, db bun.IDB, u *User) error {
	_, err := db.NewInsert().Model(u).Exec(ctx)
	return err
}

// InsertUserBatch stores a batch of generated accounts (the seed). With
// returnIDs unset the new IDs are not read back.
func InsertUserBatch(ctx context.Context, db bun.IDB, users *[]User, returnIDs bool) error {
	q := db.NewInsert().Model(users)
	if !returnIDs {
		q = q.Returning("NULL")
	}
	_, err := q.Exec(ctx)
	return err
}

// SetUserStatusRaw sets an account's status without any of the engine's
// rules, bookkeeping aside (the triggers still count it). For test
// fixtures only; administrators change a status through the engine.
func SetUserStatusRaw(ctx context.Context, db bun.IDB, id int64, status string) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("status = ?", status).Where("id = ?", id).Exec(ctx)
	return err
}

// WriteUserEmail writes the address columns of u (UserEmailColumns) as
// they are on u.
func WriteUserEmail(ctx context.Context, db bun.IDB, u *User) error {
	_, err := db.NewUpdate().Model(u).Column(UserEmailColumns...).WherePK().Exec(ctx)
	return err
}

// WriteUserProfile writes the columns an account edits on its own
// profile, as they are on u.
func WriteUserProfile(ctx context.Context, db bun.IDB, u *User) error {
	_, err := db.NewUpdate().Model(u).Column("display_name", "phone", "language", "timezone", "preferences", "updated_at").WherePK().Exec(ctx)
	return err
}

// RecordSignIn stores the time and address of a successful sign-in.
func RecordSignIn(ctx context.Context, db bun.IDB, id int64, at time.Time, ip string) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("last_login_at = ?", at).Set("last_login_ip = ?", ip).Where("id = ?", id).Exec(ctx)
	return err
}

// PasswordWrite says what else a new password changes.
type PasswordWrite struct {
	// MustChange, when set, sets must_change_password (else untouched).
	MustChange *bool
	// ClearLock resets the failed-sign-in count and lock.
	ClearLock bool
	// Activate makes the account active with no status reason.
	Activate bool
}

// SetPassword stores a new password hash, with its change time.
func SetPassword(ctx context.Context, db bun.IDB, id int64, hash string, now time.Time, w PasswordWrite) error {
	q := db.NewUpdate().Model((*User)(nil)).Where("id = ?", id).
		Set("password_hash = ?", hash).Set("password_changed_at = ?", now)
	if w.MustChange != nil {
		q = q.Set("must_change_password = ?", *w.MustChange)
	}
	if w.ClearLock {
		q = q.Set("failed_logins = 0").Set("locked_until = NULL")
	}
	if w.Activate {
		q = q.Set("status = ?", StatusActive).Set("status_reason = ?", "")
	}
	_, err := q.Set("updated_at = ?", now).Exec(ctx)
	return err
}

// RehashPassword replaces the stored hash of the same password (a stronger
// or current scheme), unless it changed meanwhile.
func RehashPassword(ctx context.Context, db bun.IDB, id int64, stored, hash string) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("password_hash = ?", hash).
		Where("id = ?", id).Where("password_hash = ?", stored).Exec(ctx)
	return err
}

// ReserveSignInAttempt counts one sign-in attempt before its secret is
// checked, unless threshold attempts are counted already or the lock
// holds at now; an expired lock starts a new count. It reports whether
// the attempt was counted, and records now as the time of the latest
// counted attempt (sign_in_attempt_at, which LockStuckCount judges by).
func ReserveSignInAttempt(ctx context.Context, db bun.IDB, id int64, threshold int, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*User)(nil)).
		Set("failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END").
		Set("locked_until = NULL").
		Set("sign_in_attempt_at = ?", now).
		Where("id = ?", id).
		Where("(locked_until IS NULL AND failed_logins < ?) OR (locked_until IS NOT NULL AND locked_until <= ?)", threshold, now).
		Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReturnSignInAttempt gives back one reserved attempt (a right password of
// an account that still owes its second factor), unless locked.
func ReturnSignInAttempt(ctx context.Context, db bun.IDB, id int64) error {
	_, err := db.NewUpdate().Model((*User)(nil)).
		Set("failed_logins = failed_logins - 1").
		Where("id = ?", id).Where("failed_logins > 0").Where("locked_until IS NULL").Exec(ctx)
	return err
}

// ClearFailedSignIns resets the failed-sign-in count and lock.
func ClearFailedSignIns(ctx context.Context, db bun.IDB, id int64) error {
	_, err := db.NewUpdate().Model((*User)(nil)).
		Set("failed_logins = 0").Set("locked_until = NULL").
		Where("id = ?", id).Exec(ctx)
	return err
}

// LockAfterFailures locks the account until until when its count reached
// threshold and no lock is set; it reports whether this call set it (only
// one of several parallel failures does).
func LockAfterFailures(ctx context.Context, db bun.IDB, id int64, until time.Time, threshold int) (bool, error) {
	res, err := db.NewUpdate().Model((*User)(nil)).
		Set("locked_until = ?", until).
		Where("id = ?", id).Where("locked_until IS NULL").Where("failed_logins >= ?", threshold).
		Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// LockStuckCount turns a count that stayed at threshold without a lock,
// and saw no counted attempt after stuckBefore (its checks never ended),
// into a lock until until. It reports whether it did; it does not when an
// attempt was counted since, the count fell below threshold, or a lock is
// set already.
func LockStuckCount(ctx context.Context, db bun.IDB, id int64, until, stuckBefore time.Time, threshold int) (bool, error) {
	res, err := db.NewUpdate().Model((*User)(nil)).
		Set("locked_until = ?", until).
		Where("id = ?", id).Where("locked_until IS NULL").Where("failed_logins >= ?", threshold).
		Where("(sign_in_attempt_at IS NULL OR sign_in_attempt_at <= ?)", stuckBefore).
		Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SignInCountState reads an account's lock and the time of its latest
// counted sign-in attempt.
func SignInCountState(ctx context.Context, db bun.IDB, id int64) (lockedUntil, attemptAt *time.Time, err error) {
	err = db.NewSelect().Model((*User)(nil)).Column("locked_until", "sign_in_attempt_at").Where("id = ?", id).Scan(ctx, &lockedUntil, &attemptAt)
	return lockedUntil, attemptAt, err
}

// LockedUntilOf reads an account's lock.
func LockedUntilOf(ctx context.Context, db bun.IDB, id int64) (*time.Time, error) {
	var lockedUntil *time.Time
	err := db.NewSelect().Model((*User)(nil)).Column("locked_until").Where("id = ?", id).Scan(ctx, &lockedUntil)
	return lockedUntil, err
}

// EmailProof says what proving an address by mail changes beside the
// verified mark.
type EmailProof struct {
	// Activate makes the account active (a registration waiting for its
	// address).
	Activate bool
	// Touch sets updated_at.
	Touch bool
}

// MarkEmailVerified marks the account's current address verified (and
// vouched) at now.
func MarkEmailVerified(ctx context.Context, db bun.IDB, id int64, now time.Time, p EmailProof) error {
	q := db.NewUpdate().Model((*User)(nil)).Set("email_verified_at = ?", now).Set("email_vouched = ?", true)
	if p.Activate {
		q = q.Set("status = ?", StatusActive)
	}
	if p.Touch {
		q = q.Set("updated_at = ?", now)
	}
	_, err := q.Where("id = ?", id).Exec(ctx)
	return err
}

// SetVerifiedEmail gives the account u.Email (with u.EmailLower, see
// User.SetEmail) as a verified address at now.
func SetVerifiedEmail(ctx context.Context, db bun.IDB, u *User, now time.Time) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("email = ?", u.Email).Set("email_lower = ?", u.EmailLower).
		Set("email_verified_at = ?", now).Set("email_vouched = ?", true).Set("updated_at = ?", now).
		Where("id = ?", u.ID).Exec(ctx)
	return err
}

// AdvanceTOTPStep records step as the last TOTP step used, unless a step
// as late was used already: it reports false for a replayed code.
func AdvanceTOTPStep(ctx context.Context, db bun.IDB, id, step int64) (bool, error) {
	res, err := db.NewUpdate().Model((*User)(nil)).Set("totp_last_step = ?", step).
		Where("id = ?", id).Where("totp_last_step < ?", step).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetPendingTOTPSecret stores a sealed secret waiting for its first code.
func SetPendingTOTPSecret(ctx context.Context, db bun.IDB, id int64, sealed string) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("totp_pending_secret = ?", sealed).Where("id = ?", id).Exec(ctx)
	return err
}

// EnableTOTP makes the pending secret the account's second factor, with
// step as the last step used.
func EnableTOTP(ctx context.Context, db bun.IDB, id, step int64, now time.Time) error {
	_, err := db.NewUpdate().Model((*User)(nil)).
		Set("totp_secret = totp_pending_secret").Set("totp_pending_secret = NULL").
		Set("totp_enabled_at = ?", now).Set("totp_last_step = ?", step).Set("updated_at = ?", now).
		Where("id = ?", id).Exec(ctx)
	return err
}
