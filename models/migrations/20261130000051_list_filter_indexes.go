package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Two filters of the account list match few accounts in a typical
// directory and had no index, so a list filtered by them read the whole
// table (twoFactor=on: 0.8-0.96 s at 1M) or walked the whole sort index
// (with sort=display_name: 4-4.7 s). Each gets a partial index that holds
// exactly its accounts; the list counts them through it and reads them
// through it when they are few (models/user_plan.go). The conditions are
// written as the list writes them (models.applyTerms), which is what lets
// SQLite use a partial index.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE INDEX users_two_factor_on ON users (id) WHERE totp_enabled_at IS NOT NULL;
CREATE INDEX users_email_unverified ON users (id) WHERE email IS NULL OR email_verified_at IS NULL
`)
		})
	}, nil)
}
