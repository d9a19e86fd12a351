package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// PostgreSQL only (SQLite's indexes already serve these orders).
//
// Last sign-in: the list sorts PostgreSQL's NULLs (never signed in) last
// when descending and first when ascending (models.applyUserSort), but the
// indexes that end in (last_login_at, id) were ascending with NULLs last:
// read forward they give ASC NULLS LAST, backward DESC NULLS FIRST, neither
// of the two orders the list asks for. So role + status sorted by -last_login
// walked users_last_login testing role and status on each row (about 5,000
// rows of the table for a page of administrators at a million accounts,
// 1.5 s p95 under load). Written DESC NULLS LAST, id DESC, each index gives
// -last_login forward and last_login (ASC NULLS FIRST, id ASC) backward.
// They replace the ascending ones one for one, so writes move no more
// index entries than before.
//
// Display name: the search sorted by display name walks the display-name
// order testing the text on each account (models.pgSearchByDisplayName).
// Reading the table for each account tested was the cost (20,000 rows
// read for a window, 1.6 s at a million accounts under load); with the four
// searched fields in the index itself the walk is an index-only scan. It
// replaces users_display_lower (the same key), which it serves for the
// unfiltered list sorted by display name as well. Its statistics keep a
// histogram of a thousand buckets: the search reads the window's end from
// it (models.pgWindowEdge) instead of counting off the window in the index.
//
// IF [NOT] EXISTS: a large database may have had these built by hand
// beforehand (CREATE INDEX CONCURRENTLY while serving), as the README
// describes for upgrades at millions of accounts.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() != dialect.PG {
			return nil
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE INDEX IF NOT EXISTS users_display_cover ON users (lower(display_name), id) INCLUDE (display_name, username_lower, email_lower, public_id);
ALTER INDEX users_display_cover ALTER COLUMN 1 SET STATISTICS 1000;
DROP INDEX IF EXISTS users_display_lower;
CREATE INDEX IF NOT EXISTS users_role_status_login_desc ON users (role, status, last_login_at DESC NULLS LAST, id DESC);
DROP INDEX IF EXISTS users_role_status_login;
CREATE INDEX IF NOT EXISTS users_status_login_desc ON users (status, last_login_at DESC NULLS LAST, id DESC);
DROP INDEX IF EXISTS users_status_login;
CREATE INDEX IF NOT EXISTS users_staff_login_desc ON users (role, last_login_at DESC NULLS LAST, id DESC) WHERE role <> 'user';
DROP INDEX IF EXISTS users_staff_login;
CREATE INDEX IF NOT EXISTS users_inactive_login_desc ON users (status, last_login_at DESC NULLS LAST, id DESC) WHERE status <> 'active';
DROP INDEX IF EXISTS users_inactive_login;
CREATE INDEX IF NOT EXISTS users_two_factor_login_desc ON users (last_login_at DESC NULLS LAST, id DESC) WHERE (totp_enabled_at IS NOT NULL OR passkey_count > 0);
DROP INDEX IF EXISTS users_two_factor_login
`)
		})
	}, nil)
}
