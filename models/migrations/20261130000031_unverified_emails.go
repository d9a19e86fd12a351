package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// An address nobody proved must not block, or be found through, the
// mailbox's real owner. Email uniqueness now holds among verified
// addresses only (a partial unique index, on SQLite and PostgreSQL alike);
// an unverified address is held without uniqueness and counts as the
// account's address only when someone who could choose it was trusted
// with it: email_vouched is set when an administrator or the shell set
// the address, or when self-registration stored it while the operator
// had email verification off. Addresses a provider did not verify and
// pending registrations are never vouched: they take part in nothing
// until confirmed through our own link.
//
// user_identities.email_verified records whether the provider said the
// email was verified when the identity was linked; a password reset by
// email removes the links that were made without it. Existing links count
// as verified when the account's verified address is the one the
// provider reported.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
ALTER TABLE users ADD COLUMN email_vouched BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET email_vouched = TRUE WHERE email_lower IS NOT NULL AND status <> 'pending' AND password_hash IS NOT NULL;
ALTER TABLE user_identities ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE user_identities SET email_verified = TRUE WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = user_identities.user_id AND u.email_verified_at IS NOT NULL AND u.email_lower = lower(user_identities.email));
DROP INDEX users_email_lower;
CREATE UNIQUE INDEX users_email_verified ON users (email_lower) WHERE email_verified_at IS NOT NULL;
CREATE INDEX users_email_lower ON users (email_lower)
`)
		})
	}, nil)
}
