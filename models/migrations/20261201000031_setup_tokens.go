package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// setup_tokens keeps the first-run setup link hashed in the database with
// an expiry, so that any instance accepts it and a restart does not void
// it; using it deletes its row with one conditional write.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE setup_tokens (
  token_hash VARCHAR(64) PRIMARY KEY,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
)
`)
		})
	}, nil)
}
