package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Rows whose actor is an account are found by the actor's public ID (a
// username is first resolved to it, see models.AuditFilter); the username
// index is needed only for actors that are not accounts (the shell, the
// identifier of a failed sign-in). The batch_id index served no query (the
// audit API has no batch filter). A bulk action's 100,000 rows then
// maintain two indexes fewer.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
DROP INDEX IF EXISTS audit_batch;
DROP INDEX IF EXISTS audit_actor_name;
CREATE INDEX audit_actor_name ON audit_events (actor_username, id) WHERE actor_id IS NULL
`)
		})
	}, nil)
}
