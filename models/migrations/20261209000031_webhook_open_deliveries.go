package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// webhook_deliveries_open holds only the deliveries not yet finished
// (pending or being sent), by (endpoint_id, account_id, id): the sender's
// order check ("no earlier delivery of this account and endpoint is still
// open", service.dueWhere) searches it. Through webhook_deliveries_order
// it walked every earlier delivery of the account, delivered ones
// included, and read each row for its status, so every poll grew dearer
// with the account's history (7% of the process CPU of the fan-out
// benchmark). The condition is written as the check writes it, so that
// both planners can use the partial index.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return ddl(ctx, db, `CREATE INDEX webhook_deliveries_open ON webhook_deliveries (endpoint_id, account_id, id) WHERE status IN ('pending', 'sending')`)
	}, nil)
}
