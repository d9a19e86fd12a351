package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// registration_notices remembers when an address was last told "someone
// tried to register with your email", so that the notice goes out at most
// once an hour per address however often (and from however many
// processes) the registration is tried.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE registration_notices (
  email_lower VARCHAR(254) PRIMARY KEY,
  sent_at TIMESTAMP NOT NULL
)
`)
		})
	}, nil)
}
