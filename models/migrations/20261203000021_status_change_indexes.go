package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// The list's status-keyed partial indexes (migration 20261202000021:
// users_inactive_{id,login,updated,display} and users_verified_inactive)
// cost every status change between two statuses other than active five
// more index entries per account: a bulk change of 100,000 suspended
// accounts to deactivated went from 8-9 to 13-16 s of CPU. They go
// (SQLite; PostgreSQL plans from its own statistics and keeps them), and
// the list plans a status from its exact count in user_counts instead
// (models/user_plan.go): a status that is a few percent of the accounts
// is read whole from the (role, status, last_login_at, id) index, which
// covers its ids and its last sign-in, and sorted there without a table
// row (id and last sign-in order), or found by walking the sort order
// (update time, display name: about need*N/m rows for m of N accounts).
//
// Two narrower replacements that a status change moves less:
//   - users_updated gains the status after (updated_at, id): a status
//     change moves that entry anyway (it sets updated_at), and a walk of
//     the update order then tests the status in the index, without the
//     table row, however the status's accounts are spread over the order
//     (a bulk change puts all of them at its newest end).
//   - users_unverified_status holds the accounts without a verified
//     email by status (about a seventh of a typical directory): a status
//     change moves it only for those. It counts a status with
//     "email verified" exactly, as the status's count less its unverified
//     accounts (status=pending&emailVerified=true is empty: pending
//     accounts are unverified), and reads a status's unverified accounts.
//
// The conditions are written as the list writes them (models.applyTerms).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() == dialect.PG {
			return nil
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
DROP INDEX users_inactive_id;
DROP INDEX users_inactive_login;
DROP INDEX users_inactive_updated;
DROP INDEX users_inactive_display;
DROP INDEX users_verified_inactive;
DROP INDEX users_updated;
CREATE INDEX users_updated ON users (updated_at, id, status);
CREATE INDEX users_unverified_status ON users (status, id) WHERE email IS NULL OR email_verified_at IS NULL
`)
		})
	}, nil)
}
