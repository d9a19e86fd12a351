package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Passkey is one WebAuthn credential of an account.
type Passkey struct {
	bun.BaseModel `bun:"table:passkeys,alias:pk"`

	ID       int64  `bun:"id,pk,autoincrement"`
	PublicID string `bun:"public_id,notnull"`
	UserID   int64  `bun:"user_id,notnull"`
	// CredentialID is the credential's ID, base64url without padding.
	CredentialID string `bun:"credential_id,notnull"`
	Name         string `bun:"name,notnull"`
	// Data is the library's credential record (webauthn.Credential) as JSON.
	Data         string     `bun:"data,notnull"`
	SignCount    int64      `bun:"sign_count,notnull"`
	CloneWarning bool       `bun:"clone_warning,notnull"`
	CreatedAt    time.Time  `bun:"created_at,notnull"`
	LastUsedAt   *time.Time `bun:"last_used_at"`
}

// WebAuthnChallenge is one begun passkey ceremony. It is consumed by one
// conditional delete, so it serves once.
type WebAuthnChallenge struct {
	bun.BaseModel `bun:"table:webauthn_challenges,alias:wc"`

	TokenHash string `bun:"token_hash,pk"`
	Purpose   string `bun:"purpose,notnull"`
	UserID    *int64 `bun:"user_id"`
	// LoginChallenge is the hash of the password step's challenge that a
	// second-factor ceremony belongs to.
	LoginChallenge string    `bun:"login_challenge,notnull"`
	Data           string    `bun:"data,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
	ExpiresAt      time.Time `bun:"expires_at,notnull"`
}

// PasskeysOf lists an account's passkeys, oldest first.
func PasskeysOf(ctx context.Context, db bun.IDB, userID int64) ([]Passkey, error) {
	out := []Passkey{}
	err := db.NewSelect().Model(&out).Where("pk.user_id = ?", userID).Order("pk.id").Scan(ctx)
	return out, err
}

// PasskeyByCredentialID finds a passkey by its credential ID.
func PasskeyByCredentialID(ctx context.Context, db bun.IDB, credentialID string) (*Passkey, error) {
	p := new(Passkey)
	err := db.NewSelect().Model(p).Where("pk.credential_id = ?", credentialID).Scan(ctx)
	return p, notFound(err)
}

// PasskeyOf finds one passkey of an account by its public ID.
func PasskeyOf(ctx context.Context, db bun.IDB, userID int64, publicID string) (*Passkey, error) {
	p := new(Passkey)
	err := db.NewSelect().Model(p).Where("pk.user_id = ?", userID).Where("pk.public_id = ?", publicID).Scan(ctx)
	return p, notFound(err)
}

// SyncPasskeyCount sets users.passkey_count of the accounts from their rows.
func SyncPasskeyCount(ctx context.Context, db bun.IDB, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := db.NewUpdate().Model((*User)(nil)).
		Set("passkey_count = (SELECT COUNT(*) FROM passkeys AS p WHERE p.user_id = u.id)").
		Where("u.id IN (?)", bun.List(ids)).Exec(ctx)
	return err
}

// DeletePasskeysOf removes every passkey of the accounts and reports how
// many went, per account.
func DeletePasskeysOf(ctx context.Context, db bun.IDB, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		UserID int64 `bun:"user_id"`
		N      int64 `bun:"n"`
	}
	if err := db.NewSelect().Model((*Passkey)(nil)).ColumnExpr("pk.user_id, COUNT(*) AS n").Where("pk.user_id IN (?)", bun.List(ids)).Group("pk.user_id").Scan(ctx, &rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	if _, err := db.NewDelete().Model((*Passkey)(nil)).Where("user_id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return nil, err
	}
	return out, SyncPasskeyCount(ctx, db, ids)
}
