package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// webhook_deliveries.error_code: the stable reason of the last failed
// attempt (timeout, connection_refused, dns, unreachable, tls,
// redirect_refused, bad_status, bad_response, secret_unreadable,
// url_not_allowed, expired; "" when none or recorded before this column),
// which the console words in the administrator's language; last_error
// keeps the English text for API users. bad_status takes its parameter
// from response_code.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return ddl(ctx, db, `ALTER TABLE webhook_deliveries ADD COLUMN error_code VARCHAR(40) NOT NULL DEFAULT ''`)
	}, nil)
}
