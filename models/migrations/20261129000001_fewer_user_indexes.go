package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Two indexes on users were exact prefixes of wider ones: (role, status)
// of (role, status, last_login_at, id), and (plan_id) of (plan_id,
// subscription_expires_at). The wider ones serve every query the narrow
// ones did; dropping these makes every write to users (a bulk status
// change above all) maintain two fewer b-trees.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
DROP INDEX IF EXISTS users_role_status;
DROP INDEX IF EXISTS users_plan
`)
		})
	}, nil)
}
