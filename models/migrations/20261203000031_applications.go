package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Gatehouse as an OpenID Provider: the applications (OAuth clients) that
// sign people in through it, the consent each person gave a third-party
// application, the authorization requests in flight, the token families
// (one per code exchange; refresh tokens rotate inside a family) and the
// signing keys.
//
// Client secrets are high-entropy random values stored as SHA-256 hashes;
// a rotated secret keeps working until previous_secret_expires_at.
// Authorization codes and refresh tokens are stored only as SHA-256
// hashes. Signing keys' private halves are sealed with the secret box.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE applications (
  id @ID,
  client_id VARCHAR(64) NOT NULL,
  name VARCHAR(200) NOT NULL,
  logo_url TEXT NOT NULL DEFAULT '',
  redirect_uris TEXT NOT NULL,
  post_logout_redirect_uris TEXT NOT NULL,
  client_type VARCHAR(16) NOT NULL,
  first_party BOOLEAN NOT NULL DEFAULT FALSE,
  allowed_roles TEXT NOT NULL,
  allowed_statuses TEXT NOT NULL,
  access_token_ttl INTEGER NOT NULL,
  id_token_ttl INTEGER NOT NULL,
  refresh_token_ttl INTEGER NOT NULL,
  secret_hash VARCHAR(64) NOT NULL DEFAULT '',
  previous_secret_hash VARCHAR(64) NOT NULL DEFAULT '',
  previous_secret_expires_at TIMESTAMP,
  secret_rotated_at TIMESTAMP,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX applications_client_id ON applications (client_id);
CREATE TABLE app_grants (
  id @ID,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  scopes TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX app_grants_key ON app_grants (user_id, application_id);
CREATE INDEX app_grants_application ON app_grants (application_id);
CREATE TABLE oauth_auth_requests (
  id VARCHAR(64) PRIMARY KEY,
  application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  request TEXT NOT NULL,
  user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
  session_id VARCHAR(128) NOT NULL DEFAULT '',
  auth_time TIMESTAMP,
  amr TEXT NOT NULL DEFAULT '',
  done BOOLEAN NOT NULL DEFAULT FALSE,
  code_hash VARCHAR(64),
  code_used_at TIMESTAMP,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX oauth_auth_requests_code ON oauth_auth_requests (code_hash);
CREATE INDEX oauth_auth_requests_expires ON oauth_auth_requests (expires_at);
CREATE TABLE oauth_token_families (
  id VARCHAR(64) PRIMARY KEY,
  application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  scopes TEXT NOT NULL,
  amr TEXT NOT NULL DEFAULT '',
  auth_time TIMESTAMP NOT NULL,
  code_hash VARCHAR(64) NOT NULL DEFAULT '',
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  revoked_at TIMESTAMP,
  revoke_reason VARCHAR(32) NOT NULL DEFAULT ''
);
CREATE INDEX oauth_token_families_user ON oauth_token_families (user_id, application_id);
CREATE INDEX oauth_token_families_code ON oauth_token_families (code_hash);
CREATE INDEX oauth_token_families_expires ON oauth_token_families (expires_at);
CREATE TABLE oauth_refresh_tokens (
  token_hash VARCHAR(64) PRIMARY KEY,
  family_id VARCHAR(64) NOT NULL REFERENCES oauth_token_families (id) ON DELETE CASCADE,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  used_at TIMESTAMP
);
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family_id);
CREATE TABLE oauth_signing_keys (
  id VARCHAR(64) PRIMARY KEY,
  algorithm VARCHAR(16) NOT NULL,
  private_key_sealed TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  retired_at TIMESTAMP,
  expires_at TIMESTAMP
)
`)
		})
	}, nil)
}
