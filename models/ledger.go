package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// LedgerEntry is one balance change. Amount is signed, in minor units;
// BalanceAfter is the balance the change produced.
type LedgerEntry struct {
	bun.BaseModel `bun:"table:balance_ledger,alias:l"`

	ID            int64     `bun:"id,pk,autoincrement"`
	UserID        *int64    `bun:"user_id"`
	UserPublicID  string    `bun:"user_public_id,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	Amount        int64     `bun:"amount,notnull"`
	BalanceAfter  int64     `bun:"balance_after,notnull"`
	ActorID       *int64    `bun:"actor_id"`
	ActorUsername string    `bun:"actor_username,notnull"`
	Reason        string    `bun:"reason,notnull"`
	BatchID       string    `bun:"batch_id,notnull"`
	// ActorKeyID is the service API key that made the change (nil for a
	// person); Metadata is the usage event's JSON object ("" for none).
	ActorKeyID *int64 `bun:"actor_key_id"`
	Metadata   string `bun:"metadata,notnull"`
	// ActorKeyPrefix is the key's visible prefix, IdempotencyKey and
	// UsageType (charge, credit, refund) the usage event's ("" for a
	// person's change).
	ActorKeyPrefix string `bun:"actor_key_prefix,notnull"`
	IdempotencyKey string `bun:"idempotency_key,notnull"`
	UsageType      string `bun:"usage_type,notnull"`
}

// LedgerOfUser returns one page of a user's balance changes, newest first.
func LedgerOfUser(ctx context.Context, db bun.IDB, userID int64, limit, offset int) ([]LedgerEntry, int64, error) {
	var out []LedgerEntry
	q := db.NewSelect().Model(&out).Where("user_id = ?", userID)
	total, err := q.Order("id DESC").Limit(int64(limit)).Offset(int64(offset)).ScanAndCount(ctx)
	return out, int64(total), err
}
