package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Service API keys are checked on every service request, so each instance
// keeps the keys it has verified in memory (service.APIKeys). Like
// settings and protected apps, a change that can end or narrow a key
// (revocation, expiry, scopes, allow-list, secret, deletion) moves
// settings_epoch, which every request reads first: a revocation on one
// instance is seen by the next request on every other. The last-use time
// (written at most once a minute) moves nothing.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if tx.Dialect().Name() == dialect.PG {
				// settings_epoch_bump() is the settings table's trigger function.
				_, err := tx.ExecContext(ctx, `CREATE TRIGGER api_keys_epoch AFTER UPDATE OF revoked_at, expires_at, scopes, allowed_ips, secret_hash, prefix OR DELETE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION settings_epoch_bump()`)
				return err
			}
			return ddl(ctx, tx, `
CREATE TRIGGER api_keys_epoch_update AFTER UPDATE OF revoked_at, expires_at, scopes, allowed_ips, secret_hash, prefix ON api_keys BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER api_keys_epoch_delete AFTER DELETE ON api_keys BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END
`)
		})
	}, nil)
}
