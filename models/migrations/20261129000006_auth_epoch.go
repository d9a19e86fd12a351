package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// auth_epoch is one counter that every change able to affect a signed-in
// request moves: a session ends, an account or a plan changes or goes.
// The session cache (models.SessionLookup) keeps an entry only while the
// counter stands still, so a revocation from any process (another
// instance, the shell) takes effect on the very next request. On SQLite
// the triggers run per row; bulk actions set them aside and move the
// counter once (models.WithCountDeltas). PostgreSQL has statement triggers.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := ddl(ctx, tx, `
CREATE TABLE auth_epoch (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO auth_epoch (id, n) VALUES (1, 0)
`); err != nil {
				return err
			}
			if tx.Dialect().Name() == dialect.PG {
				for _, stmt := range []string{
					`CREATE FUNCTION auth_epoch_bump() RETURNS trigger AS $$
BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
  RETURN NULL;
END $$ LANGUAGE plpgsql`,
					`CREATE TRIGGER sessions_epoch AFTER DELETE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump()`,
					`CREATE TRIGGER users_epoch AFTER UPDATE OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump()`,
					`CREATE TRIGGER plans_epoch AFTER UPDATE OR DELETE ON plans FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump()`,
				} {
					if _, err := tx.ExecContext(ctx, stmt); err != nil {
						return err
					}
				}
				return nil
			}
			return ddl(ctx, tx, `
CREATE TRIGGER sessions_epoch_delete AFTER DELETE ON sessions BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER users_epoch_update AFTER UPDATE ON users BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER users_epoch_delete AFTER DELETE ON users BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER plans_epoch_update AFTER UPDATE ON plans BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER plans_epoch_delete AFTER DELETE ON plans BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END
`)
		})
	}, nil)
}
