package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Passkeys (WebAuthn credentials) and their ceremonies.
//
// passkeys holds one credential of an account: its ID (base64url, unique
// across accounts, so that a discoverable sign-in finds its account), a
// name the person chose, the library's credential record as JSON (public
// key, flags, sign counter) and when it was last used.
//
// webauthn_challenges holds one begun ceremony (registration, passwordless
// sign-in, or the second step after a password): the library's session
// data as JSON, until it expires or is consumed by one conditional delete.
//
// users.passkey_count mirrors the number of an account's passkeys, so that
// "has a second factor" (TOTP or a passkey) is one row's test; the partial
// index of the twoFactor=on list filter is rebuilt on that condition,
// written as the list writes it (models.applyTerms).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE passkeys (
  id @ID,
  public_id VARCHAR(32) NOT NULL UNIQUE,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  credential_id VARCHAR(1400) NOT NULL UNIQUE,
  name VARCHAR(100) NOT NULL,
  data TEXT NOT NULL,
  sign_count BIGINT NOT NULL DEFAULT 0,
  clone_warning BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMP NOT NULL,
  last_used_at TIMESTAMP
);
CREATE INDEX passkeys_user ON passkeys (user_id, id);
CREATE TABLE webauthn_challenges (
  token_hash VARCHAR(64) PRIMARY KEY,
  purpose VARCHAR(16) NOT NULL,
  user_id BIGINT,
  login_challenge VARCHAR(64) NOT NULL DEFAULT '',
  data TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges (expires_at);
ALTER TABLE users ADD COLUMN passkey_count INTEGER NOT NULL DEFAULT 0;
DROP INDEX users_two_factor_on;
CREATE INDEX users_two_factor_on ON users (id) WHERE (totp_enabled_at IS NOT NULL OR passkey_count > 0)
`)
		})
	}, nil)
}
