package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Webhooks (issue #20). webhook_endpoints are the receivers a super
// administrator configured, with their sealed signing secrets (the
// previous one too while a rotation lasts). webhook_events holds one row
// per event and account, written in the same transaction as the change it
// describes, only when an enabled endpoint wants it; webhook_deliveries one
// row per endpoint and event (inserted set-based from the events of one
// change), claimed with a lease by any instance, delivered in order per
// endpoint and account (the (endpoint_id, account_id, id) index answers
// "is an earlier one still open?").
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE webhook_endpoints (
  id @ID,
  public_id VARCHAR(40) NOT NULL UNIQUE,
  url VARCHAR(2000) NOT NULL,
  description VARCHAR(200) NOT NULL DEFAULT '',
  events VARCHAR(1000) NOT NULL,
  balance_threshold BIGINT NOT NULL DEFAULT 0,
  secret TEXT NOT NULL,
  previous_secret TEXT NOT NULL DEFAULT '',
  previous_until TIMESTAMP,
  enabled BOOLEAN NOT NULL,
  disabled_reason VARCHAR(32) NOT NULL DEFAULT '',
  failures INTEGER NOT NULL DEFAULT 0,
  failing_since TIMESTAMP,
  last_success_at TIMESTAMP,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE TABLE webhook_events (
  id @ID,
  type VARCHAR(40) NOT NULL,
  account_id BIGINT NOT NULL DEFAULT 0,
  endpoint_id BIGINT,
  run_key VARCHAR(40) NOT NULL,
  payload TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_events_run ON webhook_events (run_key);
CREATE TABLE webhook_deliveries (
  id @ID,
  endpoint_id BIGINT NOT NULL,
  event_id BIGINT NOT NULL,
  account_id BIGINT NOT NULL DEFAULT 0,
  status VARCHAR(16) NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMP NOT NULL,
  lease_owner VARCHAR(64) NOT NULL DEFAULT '',
  lease_until TIMESTAMP,
  response_code INTEGER NOT NULL DEFAULT 0,
  last_error VARCHAR(500) NOT NULL DEFAULT '',
  last_attempt_at TIMESTAMP,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, account_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
`)
		})
	}, nil)
}
