package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Audit rows about accounts are found through the account's internal id
// instead of its public ID and username. A bulk action over 100,000
// accounts writes its audit rows in id order, so this index grows at its
// end; the old ones, keyed by random public IDs and by usernames, took an
// insert at a random place per row and per index. The public ID and the
// username stay findable: for a live account through the users table, for
// a deleted one through its deletion row (small partial indexes), and for
// other targets (providers, settings) through partial indexes as before.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
DROP INDEX IF EXISTS audit_target;
DROP INDEX IF EXISTS audit_target_label;
CREATE INDEX audit_target_user ON audit_events (target_id, id) WHERE target_type = 'user';
CREATE INDEX audit_target_other ON audit_events (target_public_id, id) WHERE target_type <> 'user';
CREATE INDEX audit_target_other_label ON audit_events (target_label, id) WHERE target_type <> 'user';
CREATE INDEX audit_deleted_user ON audit_events (target_public_id) WHERE action = 'user.deleted';
CREATE INDEX audit_deleted_label ON audit_events (target_label) WHERE action = 'user.deleted'
`)
		})
	}, nil)
}
