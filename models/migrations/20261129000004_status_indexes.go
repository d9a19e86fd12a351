package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// On SQLite, the list chooses its plan for role and status filters from
// the exact counts in user_counts (models.roleStatusPlan): a common status
// walks the sort order, a rare one is read through (role, status,
// last_login_at, id) with every role. The two status-first indexes are then
// unused, and every status change (100,000 at once in a bulk action) no
// longer has to move an entry in each. PostgreSQL plans from its own
// statistics and keeps them.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() == dialect.PG {
			return nil
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
DROP INDEX IF EXISTS users_status;
DROP INDEX IF EXISTS users_status_login
`)
		})
	}, nil)
}
