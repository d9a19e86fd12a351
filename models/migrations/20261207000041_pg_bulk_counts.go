package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// On PostgreSQL the per-row user_counts triggers stand aside while the
// transaction-local setting gatehouse.bulk_counts is 'on': a bulk change
// of many accounts (models.WithBulkBookkeeping) sets it and moves each
// (role, status) count once. Per row, the trigger updated the same two
// user_counts rows once per account, and every update in one
// transaction leaves a row version the next has to step over: a status
// change of 100,000 accounts ran for over 15 minutes, the UPDATE alone
// 4 s. Outside such a change (the setting is unset) the triggers count
// as before. SQLite drops its triggers inside the bulk transaction
// instead: nothing to do there.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() != dialect.PG {
			return nil
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, stmt := range []string{
				`DROP TRIGGER user_counts_insert_delete ON users`,
				`DROP TRIGGER user_counts_update ON users`,
				`CREATE TRIGGER user_counts_insert_delete AFTER INSERT OR DELETE ON users FOR EACH ROW
  WHEN (current_setting('gatehouse.bulk_counts', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION user_counts_track()`,
				`CREATE TRIGGER user_counts_update AFTER UPDATE OF role, status ON users FOR EACH ROW
  WHEN ((OLD.role IS DISTINCT FROM NEW.role OR OLD.status IS DISTINCT FROM NEW.status)
    AND current_setting('gatehouse.bulk_counts', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION user_counts_track()`,
			} {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		})
	}, nil)
}
