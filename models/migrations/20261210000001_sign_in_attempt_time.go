package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// sign_in_attempt_at is the time of an account's latest sign-in attempt
// counted against its lock (models.ReserveSignInAttempt). A count that
// stays at the threshold without a lock is judged by it: attempts whose
// checks are still running (a recent time) are waited for and never turn
// into a lock; a count that saw no attempt for a minute was left by checks
// that never ended, and locks (service.stuckAttemptAge).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return ddl(ctx, db, `ALTER TABLE users ADD COLUMN sign_in_attempt_at TIMESTAMP`)
	}, nil)
}
