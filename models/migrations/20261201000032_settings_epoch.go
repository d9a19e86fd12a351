package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// settings_epoch is a counter that every change to the settings table
// moves (triggers), from any process. Each API request reads it (a
// one-row primary-key read) and an instance drops its cached settings
// when it moved, so a change made on one instance applies to the next
// request on every other.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := ddl(ctx, tx, `
CREATE TABLE settings_epoch (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO settings_epoch (id, n) VALUES (1, 0)
`); err != nil {
				return err
			}
			if tx.Dialect().Name() == dialect.PG {
				for _, stmt := range []string{
					`CREATE FUNCTION settings_epoch_bump() RETURNS trigger AS $$
BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
  RETURN NULL;
END $$ LANGUAGE plpgsql`,
					`CREATE TRIGGER settings_epoch AFTER INSERT OR UPDATE OR DELETE ON settings FOR EACH STATEMENT EXECUTE FUNCTION settings_epoch_bump()`,
				} {
					if _, err := tx.ExecContext(ctx, stmt); err != nil {
						return err
					}
				}
				return nil
			}
			return ddl(ctx, tx, `
CREATE TRIGGER settings_epoch_insert AFTER INSERT ON settings BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER settings_epoch_update AFTER UPDATE ON settings BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER settings_epoch_delete AFTER DELETE ON settings BEGIN
  UPDATE settings_epoch SET n = n + 1 WHERE id = 1;
END
`)
		})
	}, nil)
}
