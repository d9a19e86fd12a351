package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// secret_key holds the fingerprint of the key that seals the stored
// secrets (HMAC of a fixed label under the key, never the key), written on
// the first start and by `gatehouse key rotate`. An instance whose key has
// another fingerprint refuses to start; a running one that sees it change
// refuses requests until restarted with the new key.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE secret_key (
  id INTEGER PRIMARY KEY,
  fingerprint VARCHAR(64) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  rotated_at TIMESTAMP
)
`)
		})
	}, nil)
}
