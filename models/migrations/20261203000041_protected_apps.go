package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Protected apps: the hosts a reverse proxy guards with forward auth
// (GET /api/forward-auth) and the roles that may pass on each. A host
// belongs to one app (protected_app_hosts' primary key).
//
// Forward auth reads them on every proxied request, so each instance keeps
// them in memory; like settings they move settings_epoch (triggers), which
// every request reads, so a change on one instance applies to the next
// request on every other.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := ddl(ctx, tx, `
CREATE TABLE protected_apps (
  id @ID,
  name VARCHAR(100) NOT NULL,
  allowed_roles VARCHAR(100) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE TABLE protected_app_hosts (
  host VARCHAR(300) PRIMARY KEY,
  app_id BIGINT NOT NULL REFERENCES protected_apps (id) ON DELETE CASCADE
);
CREATE INDEX protected_app_hosts_app ON protected_app_hosts (app_id)
`); err != nil {
				return err
			}
			if tx.Dialect().Name() == dialect.PG {
				// settings_epoch_bump() is the settings table's trigger function.
				for _, table := range []string{"protected_apps", "protected_app_hosts"} {
					if _, err := tx.ExecContext(ctx, "CREATE TRIGGER "+table+"_epoch AFTER INSERT OR UPDATE OR DELETE ON "+table+" FOR EACH STATEMENT EXECUTE FUNCTION settings_epoch_bump()"); err != nil {
						return err
					}
				}
				return nil
			}
			return ddl(ctx, tx, `
CREATE TRIGGER protected_apps_epoch_insert AFTER INSERT ON protected_apps BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER protected_apps_epoch_update AFTER UPDATE ON protected_apps BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER protected_apps_epoch_delete AFTER DELETE ON protected_apps BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER protected_app_hosts_epoch_insert AFTER INSERT ON protected_app_hosts BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER protected_app_hosts_epoch_delete AFTER DELETE ON protected_app_hosts BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END
`)
		})
	}, nil)
}
