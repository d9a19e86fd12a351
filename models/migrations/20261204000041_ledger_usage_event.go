package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// A service usage event's ledger row keeps what the admin's ledger view
// shows of it for as long as the row lives (usage_charges, which holds the
// idempotency key, is swept after seven days): the key's visible prefix
// beside its name, the event's idempotency key and its type (charge,
// credit or refund; "" for a person's change).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
ALTER TABLE balance_ledger ADD COLUMN actor_key_prefix VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE balance_ledger ADD COLUMN idempotency_key VARCHAR(200) NOT NULL DEFAULT '';
ALTER TABLE balance_ledger ADD COLUMN usage_type VARCHAR(8) NOT NULL DEFAULT ''
`)
		})
	}, nil)
}
