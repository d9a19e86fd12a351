package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Known devices: the browsers an account has signed in from, so that a
// sign-in from another one can be told to the person by email.
//
// A device is the hash of a long-lived random cookie (gatehouse_device)
// together with the browser and operating-system families read from the
// user agent; a row is known when all three match (see
// service.Alerts). first_seen_at, last_seen_at and last_ip describe it.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE known_devices (
  id @ID,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  device_hash VARCHAR(64) NOT NULL,
  browser VARCHAR(32) NOT NULL,
  os VARCHAR(32) NOT NULL,
  first_seen_at TIMESTAMP NOT NULL,
  last_seen_at TIMESTAMP NOT NULL,
  last_ip VARCHAR(64) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX known_devices_key ON known_devices (user_id, device_hash, browser, os);
CREATE INDEX known_devices_seen ON known_devices (user_id, last_seen_at)
`)
		})
	}, nil)
}
