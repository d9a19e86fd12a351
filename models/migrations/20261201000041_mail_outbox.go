package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// mail_outbox holds every account email until it is sent, so that a mail
// server that is down or hangs delays mail instead of losing it. Any
// instance may send a row; it claims it first with a lease (one
// conditional UPDATE), so that each email goes out once. The rendered
// message is kept sealed with the secret key and blanked once the row is
// sent, failed, discarded or expired (it may hold a reset link).
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE mail_outbox (
  id @ID,
  kind VARCHAR(32) NOT NULL,
  purpose VARCHAR(32) NOT NULL DEFAULT '',
  user_id BIGINT,
  to_address VARCHAR(254) NOT NULL,
  subject VARCHAR(300) NOT NULL DEFAULT '',
  body TEXT NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMP NOT NULL,
  lease_owner VARCHAR(64) NOT NULL DEFAULT '',
  lease_until TIMESTAMP,
  error_reason VARCHAR(32) NOT NULL DEFAULT '',
  last_error VARCHAR(500) NOT NULL DEFAULT '',
  expires_at TIMESTAMP,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  sent_at TIMESTAMP
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_user ON mail_outbox (user_id, purpose);
`)
		})
	}, nil)
}
