package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// On SQLite the order of accounts by update time moves out of the users
// table into users_updated_log, a table keyed by (updated_at, id) with
// one entry per account and its status, kept by triggers: insert, update
// of updated_at or status (the old entry out, the new one in) and delete.
// The index users_updated (updated_at, id, status) goes. The status is in
// the entry for the reason it was in the index: a walk of the update
// order for a status tests it without the account's row
// (status=pending sort=-updated at a million accounts: 45 ms with a row
// look-up per entry, against 3 ms).
//
// Why: an account's index entry sits at its old update time, which is
// spread at random over the order. A bulk change of 100,000 of 1,000,000
// accounts moved 100,000 such entries, each on another page of a
// 13,000-page index that does not fit the change's page cache: about a
// third of the change's I/O (BenchmarkBulkStatusChange 5.0-5.6 s). A
// bulk change sets the update trigger aside and appends the new entries
// in one statement instead (models.WithBulkUpdatedLog); the old entries
// stay behind as stale ones (their time is no longer the account's)
// until models.SweepUpdatedLog removes them in short transactions
// afterwards. users_updated_log_pending holds a row per bulk change whose
// stale entries are not swept yet: reads that trust the log alone (a
// covering walk) do so only when it is empty; every other read of the
// log joins the account on (id, updated_at), which skips a stale entry.
//
// PostgreSQL keeps its index: it does not have the problem (its
// bulk change updates the index entries in the order of its plan).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() == dialect.PG {
			return nil
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE users_updated_log (
  updated_at TIMESTAMP NOT NULL,
  id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  PRIMARY KEY (updated_at, id)
) WITHOUT ROWID;
INSERT INTO users_updated_log (updated_at, id, status) SELECT updated_at, id, status FROM users ORDER BY updated_at, id;
CREATE TABLE users_updated_log_pending (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  accounts BIGINT NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE TRIGGER users_updated_log_insert AFTER INSERT ON users BEGIN
  INSERT OR REPLACE INTO users_updated_log (updated_at, id, status) VALUES (NEW.updated_at, NEW.id, NEW.status);
END;
CREATE TRIGGER users_updated_log_update AFTER UPDATE OF updated_at, status ON users WHEN NEW.updated_at IS NOT OLD.updated_at OR NEW.status IS NOT OLD.status BEGIN
  DELETE FROM users_updated_log WHERE updated_at = OLD.updated_at AND id = OLD.id;
  INSERT OR REPLACE INTO users_updated_log (updated_at, id, status) VALUES (NEW.updated_at, NEW.id, NEW.status);
END;
CREATE TRIGGER users_updated_log_delete AFTER DELETE ON users BEGIN
  DELETE FROM users_updated_log WHERE updated_at = OLD.updated_at AND id = OLD.id;
END;
DROP INDEX users_updated
`)
		})
	}, nil)
}
