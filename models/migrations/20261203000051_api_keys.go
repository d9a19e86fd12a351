package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Service API keys and metered usage.
//
// api_keys: a key is "ghk_<8 chars>_<secret>"; prefix is the visible
// "ghk_<8 chars>" (unique: the look-up), secret_hash the SHA-256 of the
// whole key (compared in constant time). scopes is a space-separated list,
// allowed_ips a comma-separated list of CIDRs ("" allows any address).
//
// usage_charges: one row per idempotency key per API key (unique
// together), holding the first answer so that a repeat gets it again;
// swept after seven days. The balance change itself is a balance_ledger
// row, which now names the key that made it (actor_key_id) and carries
// the charge's metadata (a JSON object, "" for none).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE api_keys (
  id @ID,
  name VARCHAR(100) NOT NULL,
  prefix VARCHAR(16) NOT NULL,
  secret_hash VARCHAR(64) NOT NULL,
  scopes VARCHAR(200) NOT NULL,
  allowed_ips VARCHAR(2000) NOT NULL DEFAULT '',
  expires_at TIMESTAMP,
  created_by_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
  created_by_username VARCHAR(64) NOT NULL DEFAULT '',
  created_at TIMESTAMP NOT NULL,
  last_used_at TIMESTAMP,
  revoked_at TIMESTAMP,
  revoked_by_username VARCHAR(64) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX api_keys_prefix ON api_keys (prefix);
CREATE TABLE usage_charges (
  id @ID,
  key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  idempotency_key VARCHAR(200) NOT NULL,
  user_id BIGINT,
  user_public_id VARCHAR(32) NOT NULL,
  kind VARCHAR(8) NOT NULL,
  amount BIGINT NOT NULL,
  status VARCHAR(32) NOT NULL,
  balance_after BIGINT NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX usage_charges_key ON usage_charges (key_id, idempotency_key);
CREATE INDEX usage_charges_created ON usage_charges (created_at);
ALTER TABLE balance_ledger ADD COLUMN actor_key_id BIGINT;
ALTER TABLE balance_ledger ADD COLUMN metadata TEXT NOT NULL DEFAULT ''
`)
		})
	}, nil)
}
