package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// A list filtered by a term that matches a few thousand accounts (the
// administrators; a status other than active; 2FA on) read every one of
// them through the term's index and sorted them for one page: 60-460 ms
// at a million accounts for 5,000-40,000 rows. These partial indexes
// hold only those accounts, each led by the term and then one sort key,
// so that the list reads the term's accounts already in the page's order
// and stops after the page (models/user_plan.go, "ordered drivers").
// They hold about a tenth of the accounts in a typical directory (the
// non-active statuses), a half percent (staff) and the 2FA users; an
// active user without 2FA is in none of them, so the common writes
// (sign-in times, profile edits of ordinary accounts) touch none. A
// status change into or out of active touches the four status indexes.
//
// The verified-and-not-active index reads the pairs "status X, email
// verified" that are rare together although each term is common (pending
// accounts are unverified by construction): the list counts such a pair
// in that index and reads it there.
//
// The conditions are written as the list writes them (models.applyTerms):
// SQLite uses a partial index only when the query states its condition.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE INDEX users_staff_id ON users (role, id) WHERE role <> 'user';
CREATE INDEX users_staff_login ON users (role, last_login_at, id) WHERE role <> 'user';
CREATE INDEX users_staff_updated ON users (role, updated_at, id) WHERE role <> 'user';
CREATE INDEX users_staff_display ON users (role, lower(display_name), id) WHERE role <> 'user';
CREATE INDEX users_inactive_id ON users (status, id) WHERE status <> 'active';
CREATE INDEX users_inactive_login ON users (status, last_login_at, id) WHERE status <> 'active';
CREATE INDEX users_inactive_updated ON users (status, updated_at, id) WHERE status <> 'active';
CREATE INDEX users_inactive_display ON users (status, lower(display_name), id) WHERE status <> 'active';
CREATE INDEX users_two_factor_login ON users (last_login_at, id) WHERE (totp_enabled_at IS NOT NULL OR passkey_count > 0);
CREATE INDEX users_two_factor_updated ON users (updated_at, id) WHERE (totp_enabled_at IS NOT NULL OR passkey_count > 0);
CREATE INDEX users_two_factor_display ON users (lower(display_name), id) WHERE (totp_enabled_at IS NOT NULL OR passkey_count > 0);
CREATE INDEX users_verified_inactive ON users (status, id) WHERE email_verified_at IS NOT NULL AND status <> 'active'
`)
		})
	}, nil)
}
