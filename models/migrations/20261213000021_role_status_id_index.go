package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// users_role_status_login (role, status, last_login_at, id) becomes
// users_role_status_id (role, status, id, last_login_at): the same
// columns, so a role or status is still read in the index alone (its ids
// and last sign-in), but in id order within each role and status.
//
// A status change rewrites the accounts in id order. In the old index an
// account's entry sat at its last sign-in within its status's range, so
// moving 100,000 accounts from one status to another deleted and inserted
// entries at random over both ranges (some 3,200 leaf pages, more than
// the bulk change's page cache holds): the pages went to the log and came
// back again and again. C sqlite3 shell on a copy of the 1M directory,
// the 100,575 suspended accounts to deactivated in one UPDATE (8 MiB
// cache, BENCHMARKS.md session 16 h2): 302,992 page reads and 321,137
// writes with the old index, 186,703 and 230,016 with this one, the same
// as with no such index at all (184,937 and 230,667). In id order the
// moves walk both ranges once, as users_status_probe's do.
//
// What the old order gave, a status's page in last sign-in order read
// straight from the index, is now a read of the status's entries in the
// index sorted there, or a walk of users_last_login (models.planList).
// SQLite only: PostgreSQL plans from its own statistics and has its own
// index (users_role_status_login_desc, migration 20261203000081).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() == dialect.PG {
			return nil
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
DROP INDEX users_role_status_login;
CREATE INDEX users_role_status_id ON users (role, status, id, last_login_at)
`)
		})
	}, nil)
}
