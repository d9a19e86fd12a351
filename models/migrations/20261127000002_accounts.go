package migrations

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := ddl(ctx, tx, `
ALTER TABLE plans ADD COLUMN price_minor BIGINT NOT NULL DEFAULT 0;
CREATE TABLE balance_ledger (
  id @ID,
  user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
  user_public_id VARCHAR(32) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  amount BIGINT NOT NULL,
  balance_after BIGINT NOT NULL,
  actor_id BIGINT,
  actor_username VARCHAR(64) NOT NULL DEFAULT '',
  reason VARCHAR(500) NOT NULL DEFAULT '',
  batch_id VARCHAR(32) NOT NULL DEFAULT ''
);
CREATE INDEX balance_ledger_user ON balance_ledger (user_id, id);
CREATE INDEX users_role_status_login ON users (role, status, last_login_at, id);
CREATE INDEX users_status_login ON users (status, last_login_at, id);
CREATE INDEX users_locked ON users (locked_until);
CREATE INDEX users_subscription ON users (plan_id, subscription_expires_at);
CREATE INDEX users_display_lower ON users (lower(display_name))
`); err != nil {
				return err
			}
			if tx.Dialect().Name() == dialect.PG {
				// The PostgreSQL twin of the search index: trigrams over the
				// four searchable fields (needs the pg_trgm extension).
				return ddl(ctx, tx, `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_trgm ON users USING gin ((lower(username || ' ' || display_name || ' ' || coalesce(email, '') || ' ' || public_id)) gin_trgm_ops);
DROP INDEX users_last_login;
CREATE INDEX users_last_login ON users (last_login_at DESC NULLS LAST, id DESC)
`)
			}
			// SQLite: an FTS5 trigram index over the searchable fields, kept
			// in step with the users table by triggers.
			return ddl(ctx, tx, `
CREATE VIRTUAL TABLE users_fts USING fts5(username, display_name, email, public_id, content='users', content_rowid='id', tokenize='trigram');
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
  INSERT INTO users_fts (rowid, username, display_name, email, public_id) VALUES (new.id, new.username, new.display_name, coalesce(new.email, ''), new.public_id);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
  INSERT INTO users_fts (users_fts, rowid, username, display_name, email, public_id) VALUES ('delete', old.id, old.username, old.display_name, coalesce(old.email, ''), old.public_id);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF username, display_name, email ON users BEGIN
  INSERT INTO users_fts (users_fts, rowid, username, display_name, email, public_id) VALUES ('delete', old.id, old.username, old.display_name, coalesce(old.email, ''), old.public_id);
  INSERT INTO users_fts (rowid, username, display_name, email, public_id) VALUES (new.id, new.username, new.display_name, coalesce(new.email, ''), new.public_id);
END;
INSERT INTO users_fts (users_fts) VALUES ('rebuild')
`)
		})
	}, nil)
}
