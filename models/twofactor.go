package models

import (
	"time"

	"github.com/uptrace/bun"
)

// RecoveryCode is one hashed, single-use two-factor recovery code.
type RecoveryCode struct {
	bun.BaseModel `bun:"table:recovery_codes,alias:rc"`

	ID        int64      `bun:"id,pk,autoincrement"`
	UserID    int64      `bun:"user_id,notnull"`
	CodeHash  string     `bun:"code_hash,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	UsedAt    *time.Time `bun:"used_at"`
}

// LoginChallenge is a password step waiting for its second factor. The
// browser holds the token in a short-lived cookie; it is not a session.
type LoginChallenge struct {
	bun.BaseModel `bun:"table:login_challenges,alias:lc"`

	TokenHash string    `bun:"token_hash,pk"`
	UserID    int64     `bun:"user_id,notnull"`
	Method    string    `bun:"method,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
	// Attempts counts the codes tried against this challenge.
	Attempts int `bun:"attempts,notnull"`
}

// OneTimeToken is an emailed single-use token (verification, reset,
// email change), stored hashed.
type OneTimeToken struct {
	bun.BaseModel `bun:"table:one_time_tokens,alias:ott"`

	TokenHash string    `bun:"token_hash,pk"`
	Purpose   string    `bun:"purpose,notnull"`
	UserID    int64     `bun:"user_id,notnull"`
	Email     string    `bun:"email,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
}
