package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// A list page by number (page=N) skips the rows before it. In id order
// SQLite skipped them in the table itself, reading every column of every
// skipped row (page 1,000 of the default list: 40 ms against 2.5 ms for
// page 1 at a million accounts). This index holds only the ids, a few
// bytes each, so the skipped rows cost an index page per few hundred
// (models.deferredPage). Ids never change, so it costs nothing on updates.
// PostgreSQL's primary key index serves already.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() == dialect.PG {
			return nil
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `CREATE INDEX users_id_order ON users (id)`)
		})
	}, nil)
}
