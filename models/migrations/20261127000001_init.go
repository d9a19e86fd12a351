package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE TABLE plans (
  id @ID,
  name VARCHAR(100) NOT NULL,
  period_days INTEGER NOT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX plans_name ON plans (name);
CREATE TABLE users (
  id @ID,
  public_id VARCHAR(32) NOT NULL,
  username VARCHAR(64) NOT NULL,
  username_lower VARCHAR(64) NOT NULL,
  display_name VARCHAR(200) NOT NULL DEFAULT '',
  email VARCHAR(254),
  email_lower VARCHAR(254),
  email_verified_at TIMESTAMP,
  phone VARCHAR(40) NOT NULL DEFAULT '',
  language VARCHAR(35) NOT NULL DEFAULT 'en',
  timezone VARCHAR(64) NOT NULL DEFAULT 'UTC',
  preferences TEXT NOT NULL DEFAULT '{}',
  role VARCHAR(20) NOT NULL,
  status VARCHAR(20) NOT NULL,
  status_reason VARCHAR(500) NOT NULL DEFAULT '',
  password_hash VARCHAR(200),
  password_changed_at TIMESTAMP,
  must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
  totp_secret VARCHAR(200),
  totp_enabled_at TIMESTAMP,
  totp_last_step BIGINT NOT NULL DEFAULT 0,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until TIMESTAMP,
  balance BIGINT NOT NULL DEFAULT 0,
  plan_id BIGINT REFERENCES plans (id) ON DELETE RESTRICT,
  subscription_expires_at TIMESTAMP,
  last_login_at TIMESTAMP,
  last_login_ip VARCHAR(64) NOT NULL DEFAULT '',
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_public_id ON users (public_id);
CREATE UNIQUE INDEX users_username_lower ON users (username_lower);
CREATE UNIQUE INDEX users_email_lower ON users (email_lower);
CREATE INDEX users_role_status ON users (role, status);
CREATE INDEX users_status ON users (status, id);
CREATE INDEX users_last_login ON users (last_login_at, id);
CREATE INDEX users_updated ON users (updated_at, id);
CREATE INDEX users_display_name ON users (display_name, id);
CREATE INDEX users_plan ON users (plan_id);
CREATE TABLE sessions (
  id VARCHAR(32) PRIMARY KEY,
  token_hash VARCHAR(64) NOT NULL,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at TIMESTAMP NOT NULL,
  last_seen_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  ip VARCHAR(64) NOT NULL DEFAULT '',
  user_agent VARCHAR(500) NOT NULL DEFAULT '',
  method VARCHAR(100) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE TABLE access_tokens (
  id VARCHAR(32) PRIMARY KEY,
  token_hash VARCHAR(64) NOT NULL,
  session_id VARCHAR(32) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name VARCHAR(100) NOT NULL DEFAULT '',
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX access_tokens_token_hash ON access_tokens (token_hash);
CREATE INDEX access_tokens_session ON access_tokens (session_id);
CREATE INDEX access_tokens_user ON access_tokens (user_id);
CREATE TABLE settings (
  group_name VARCHAR(64) PRIMARY KEY,
  value TEXT NOT NULL,
  version BIGINT NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE TABLE audit_events (
  id @ID,
  created_at TIMESTAMP NOT NULL,
  actor_id BIGINT,
  actor_public_id VARCHAR(32) NOT NULL DEFAULT '',
  actor_username VARCHAR(64) NOT NULL DEFAULT '',
  action VARCHAR(64) NOT NULL,
  target_type VARCHAR(32) NOT NULL DEFAULT '',
  target_id BIGINT,
  target_public_id VARCHAR(64) NOT NULL DEFAULT '',
  target_label VARCHAR(200) NOT NULL DEFAULT '',
  reason VARCHAR(500) NOT NULL DEFAULT '',
  ip VARCHAR(64) NOT NULL DEFAULT '',
  user_agent VARCHAR(500) NOT NULL DEFAULT '',
  details TEXT NOT NULL DEFAULT '{}',
  batch_id VARCHAR(32) NOT NULL DEFAULT ''
);
CREATE INDEX audit_created ON audit_events (created_at);
CREATE INDEX audit_action ON audit_events (action, id);
CREATE INDEX audit_actor ON audit_events (actor_public_id, id);
CREATE INDEX audit_actor_name ON audit_events (actor_username, id);
CREATE INDEX audit_target ON audit_events (target_public_id, id);
CREATE INDEX audit_target_label ON audit_events (target_label, id);
CREATE INDEX audit_batch ON audit_events (batch_id)
`)
		})
	}, nil)
}
