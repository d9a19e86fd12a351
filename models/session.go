package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Session is one signed-in device. The browser holds an opaque token; the
// row stores only its hash. Deleting the row signs the device out at once.
type Session struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID         string    `bun:"id,pk"`
	TokenHash  string    `bun:"token_hash,notnull"`
	UserID     int64     `bun:"user_id,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	LastSeenAt time.Time `bun:"last_seen_at,notnull"`
	ExpiresAt  time.Time `bun:"expires_at,notnull"`
	IP         string    `bun:"ip,notnull"`
	UserAgent  string    `bun:"user_agent,notnull"`
	Method     string    `bun:"method,notnull"`

	// User is loaded only by SessionWithUser.
	User *User `bun:"rel:belongs-to,join:user_id=id"`
}

// SessionWithUser loads a session and its account in one query (the hot
// path of every authenticated request). The account's plan is loaded
// only when it has one.
func SessionWithUser(ctx context.Context, db bun.IDB, hash string) (*Session, error) {
	s := new(Session)
	if err := db.NewSelect().Model(s).Relation("User").Where("s.token_hash = ?", hash).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err)
	}
	if s.User == nil || s.User.ID == 0 {
		return nil, ErrNotFound
	}
	if s.User.PlanID != nil {
		s.User.Plan = new(Plan)
		if err := db.NewSelect().Model(s.User.Plan).Where("id = ?", *s.User.PlanID).Scan(ctx); err != nil {
			return nil, notFound(err)
		}
	}
	return s, nil
}

// AccessToken is a short-lived bearer credential bound to a session.
type AccessToken struct {
	bun.BaseModel `bun:"table:access_tokens,alias:t"`

	ID        string    `bun:"id,pk"`
	TokenHash string    `bun:"token_hash,notnull"`
	SessionID string    `bun:"session_id,notnull"`
	UserID    int64     `bun:"user_id,notnull"`
	Name      string    `bun:"name,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
}

// AccessTokenByHash loads an access token by the hash of its secret.
func AccessTokenByHash(ctx context.Context, db bun.IDB, hash string) (*AccessToken, error) {
	t := new(AccessToken)
	err := db.NewSelect().Model(t).Where("token_hash = ?", hash).Limit(1).Scan(ctx)
	return t, notFound(err)
}

// SessionByID loads a session by ID.
func SessionByID(ctx context.Context, db bun.IDB, id string) (*Session, error) {
	s := new(Session)
	err := db.NewSelect().Model(s).Where("id = ?", id).Scan(ctx)
	return s, notFound(err)
}

// SessionsOfUser lists a user's sessions, newest first.
func SessionsOfUser(ctx context.Context, db bun.IDB, userID int64) ([]Session, error) {
	var out []Session
	err := db.NewSelect().Model(&out).Where("user_id = ?", userID).Order("created_at DESC", "id").Scan(ctx)
	return out, err
}

// DeleteSessionsOfUser removes a user's sessions (and, through the foreign
// key, their access tokens), except the one named by keepID when not empty.
// It returns how many sessions ended.
func DeleteSessionsOfUser(ctx context.Context, db bun.IDB, userID int64, keepID string) (int64, error) {
	q := db.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID)
	if keepID != "" {
		q = q.Where("id <> ?", keepID)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	// Tokens are bound to sessions; delete explicitly too in case the
	// database runs without foreign-key enforcement.
	tq := db.NewDelete().Model((*AccessToken)(nil)).Where("user_id = ?", userID)
	if keepID != "" {
		tq = tq.Where("session_id <> ?", keepID)
	}
	if _, err := tq.Exec(ctx); err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteSession removes one session and its tokens; it reports whether a row existed.
func DeleteSession(ctx context.Context, db bun.IDB, id string) (bool, error) {
	if _, err := db.NewDelete().Model((*AccessToken)(nil)).Where("session_id = ?", id).Exec(ctx); err != nil {
		return false, err
	}
	res, err := db.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteExpiredSessions removes sessions and tokens past their expiry.
func DeleteExpiredSessions(ctx context.Context, db bun.IDB, now time.Time) error {
	if _, err := db.NewDelete().Model((*AccessToken)(nil)).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return err
	}
	_, err := db.NewDelete().Model((*Session)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	return err
}
