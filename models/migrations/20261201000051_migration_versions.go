package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Which version of Gatehouse applied each migration, so that an older
// binary started on the database can refuse it naming that version
// (migrations.CheckNotNewer) instead of running on a schema it does not
// know.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE migration_versions (
  name VARCHAR(255) PRIMARY KEY,
  version VARCHAR(100) NOT NULL,
  applied_at TIMESTAMP NOT NULL
)
`)
		})
	}, nil)
}
