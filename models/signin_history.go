package models

import (
	"context"

	"github.com/uptrace/bun"
)

// SignInActions are the audit actions a sign-in history shows: sign-ins,
// failed passwords or passkeys, failed second steps.
var SignInActions = []string{"auth.login_succeeded", "auth.login_failed", "auth.mfa_failed"}

// SignInHistory reads an account's newest sign-in rows from the audit log
// through the (target_id, id) index of rows about users, newest first.
func SignInHistory(ctx context.Context, db bun.IDB, userID int64, limit int) ([]AuditEvent, error) {
	out := []AuditEvent{}
	err := db.NewSelect().Model(&out).
		Where("a.target_type = ?", "user").Where("a.target_id = ?", userID).
		Where("a.action IN (?)", bun.List(SignInActions)).
		Order("a.id DESC").Limit(int64(limit)).Scan(ctx)
	return out, err
}
