package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// user_counts keeps the number of accounts per (role, status), maintained
// by triggers, so that the totals of the unfiltered list and of role and
// status filters are exact and cost one tiny read at any size.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := ddl(ctx, tx, `
CREATE TABLE user_counts (
  role VARCHAR(20) NOT NULL,
  status VARCHAR(20) NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (role, status)
);
INSERT INTO user_counts (role, status, n) SELECT role, status, count(*) FROM users GROUP BY role, status
`); err != nil {
				return err
			}
			if tx.Dialect().Name() == dialect.PG {
				for _, stmt := range []string{`
CREATE FUNCTION user_counts_track() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE user_counts SET n = n - 1 WHERE role = OLD.role AND status = OLD.status;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO user_counts (role, status, n) VALUES (NEW.role, NEW.status, 1)
      ON CONFLICT (role, status) DO UPDATE SET n = user_counts.n + 1;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql`,
					`CREATE TRIGGER user_counts_insert_delete AFTER INSERT OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION user_counts_track()`,
					`CREATE TRIGGER user_counts_update AFTER UPDATE OF role, status ON users FOR EACH ROW
  WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION user_counts_track()`,
				} {
					if _, err := tx.ExecContext(ctx, stmt); err != nil {
						return err
					}
				}
				return nil
			}
			return ddl(ctx, tx, `
CREATE TRIGGER user_counts_insert AFTER INSERT ON users BEGIN
  INSERT INTO user_counts (role, status, n) VALUES (new.role, new.status, 1)
    ON CONFLICT (role, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER user_counts_delete AFTER DELETE ON users BEGIN
  UPDATE user_counts SET n = n - 1 WHERE role = old.role AND status = old.status;
END;
CREATE TRIGGER user_counts_update AFTER UPDATE OF role, status ON users
  WHEN old.role <> new.role OR old.status <> new.status BEGIN
  UPDATE user_counts SET n = n - 1 WHERE role = old.role AND status = old.status;
  INSERT INTO user_counts (role, status, n) VALUES (new.role, new.status, 1)
    ON CONFLICT (role, status) DO UPDATE SET n = n + 1;
END;
`)
		})
	}, nil)
}
