package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// users_status_probe holds every account whose status is not active by
// (status, id), so that a search combined with such a status intersects
// the text's matches with the status's ids read in id order
// (models.searchIntersect): read from the (role, status, last_login_at,
// id) index they came in sign-in order and SQLite sorted 100,000 of them
// per query (q=chen&status=suspended: 0.2 s of CPU at a million
// accounts, the intersection itself 80-95 ms of it; from this index
// about 27 ms).
//
// A bulk status change moves its entries in id order, between two ranges
// of the index (deleted from one status's range and appended to the
// other's), a few hundred leaf pages for 100,000 accounts; active
// accounts (most of a directory) are in none of it. SQLite only:
// PostgreSQL plans searches from its own statistics.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() == dialect.PG {
			return nil
		}
		return ddl(ctx, db, `CREATE INDEX users_status_probe ON users (status, id) WHERE status <> 'active'`)
	}, nil)
}
