package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Identity providers, the identities linked to accounts, and the pending
// authorization requests (state, nonce, PKCE verifier) of provider sign-ins.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE identity_providers (
  id @ID,
  slug VARCHAR(40) NOT NULL,
  name VARCHAR(100) NOT NULL,
  type VARCHAR(10) NOT NULL,
  logo_url TEXT NOT NULL DEFAULT '',
  client_id VARCHAR(255) NOT NULL,
  client_secret_sealed TEXT NOT NULL DEFAULT '',
  issuer_url VARCHAR(2048) NOT NULL DEFAULT '',
  authorization_url VARCHAR(2048) NOT NULL DEFAULT '',
  token_url VARCHAR(2048) NOT NULL DEFAULT '',
  userinfo_url VARCHAR(2048) NOT NULL DEFAULT '',
  jwks_url VARCHAR(2048) NOT NULL DEFAULT '',
  scopes TEXT NOT NULL DEFAULT '[]',
  field_mapping TEXT NOT NULL DEFAULT '{}',
  login_enabled BOOLEAN NOT NULL DEFAULT FALSE,
  registration_enabled BOOLEAN NOT NULL DEFAULT FALSE,
  default_role VARCHAR(20) NOT NULL DEFAULT 'user',
  auto_link_by_email BOOLEAN NOT NULL DEFAULT FALSE,
  sort_order INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX identity_providers_slug ON identity_providers (slug);
CREATE INDEX identity_providers_order ON identity_providers (sort_order, id);
CREATE TABLE user_identities (
  id @ID,
  provider_id BIGINT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  subject VARCHAR(255) NOT NULL,
  email VARCHAR(254) NOT NULL DEFAULT '',
  created_at TIMESTAMP NOT NULL,
  last_used_at TIMESTAMP
);
CREATE UNIQUE INDEX user_identities_subject ON user_identities (provider_id, subject);
CREATE INDEX user_identities_user ON user_identities (user_id);
CREATE TABLE oidc_states (
  state_hash VARCHAR(64) PRIMARY KEY,
  browser_hash VARCHAR(64) NOT NULL,
  provider_id BIGINT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
  nonce VARCHAR(100) NOT NULL,
  verifier_sealed TEXT NOT NULL,
  next_path VARCHAR(2048) NOT NULL DEFAULT '/',
  link_user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
  link_session_id VARCHAR(32) NOT NULL DEFAULT '',
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);
CREATE INDEX oidc_states_expires ON oidc_states (expires_at)
`)
		})
	}, nil)
}
