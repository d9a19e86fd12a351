package models

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// APIKey is a service API key. The secret is never stored: SecretHash is
// the SHA-256 of the whole key, Prefix its visible start (the look-up).
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys,alias:k"`

	ID                int64      `bun:"id,pk,autoincrement"`
	Name              string     `bun:"name,notnull"`
	Prefix            string     `bun:"prefix,notnull"`
	SecretHash        string     `bun:"secret_hash,notnull"`
	Scopes            string     `bun:"scopes,notnull"`      // space-separated
	AllowedIPs        string     `bun:"allowed_ips,notnull"` // comma-separated CIDRs; "" allows any
	ExpiresAt         *time.Time `bun:"expires_at"`
	CreatedByID       *int64     `bun:"created_by_id"`
	CreatedByUsername string     `bun:"created_by_username,notnull"`
	CreatedAt         time.Time  `bun:"created_at,notnull"`
	LastUsedAt        *time.Time `bun:"last_used_at"`
	RevokedAt         *time.Time `bun:"revoked_at"`
	RevokedByUsername string     `bun:"revoked_by_username,notnull"`
}

// APIKeyByPrefix loads a key by its visible prefix.
func APIKeyByPrefix(ctx context.Context, db bun.IDB, prefix string) (*APIKey, error) {
	k := new(APIKey)
	err := db.NewSelect().Model(k).Where("k.prefix = ?", prefix).Scan(ctx)
	return k, notFound(err)
}

// APIKeyByID loads a key.
func APIKeyByID(ctx context.Context, db bun.IDB, id int64) (*APIKey, error) {
	k := new(APIKey)
	err := db.NewSelect().Model(k).Where("k.id = ?", id).Scan(ctx)
	return k, notFound(err)
}

// ListAPIKeys lists every key, newest first.
func ListAPIKeys(ctx context.Context, db bun.IDB) ([]APIKey, error) {
	out := []APIKey{}
	err := db.NewSelect().Model(&out).Order("k.id DESC").Scan(ctx)
	return out, err
}

// InsertAPIKey stores a new key.
func InsertAPIKey(ctx context.Context, db bun.IDB, k *APIKey) error {
	_, err := db.NewInsert().Model(k).Returning("id").Exec(ctx)
	return err
}

// RevokeAPIKey marks a key revoked; false when it was already.
func RevokeAPIKey(ctx context.Context, db bun.IDB, id int64, by string, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*APIKey)(nil)).Set("revoked_at = ?", now).Set("revoked_by_username = ?", by).
		Where("id = ?", id).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TouchAPIKey records a key's use at now unless a use after since is
// already recorded (callers pass now minus a minute, so that a busy key
// costs one write a minute).
func TouchAPIKey(ctx context.Context, db bun.IDB, id int64, now, since time.Time) error {
	_, err := db.NewUpdate().Model((*APIKey)(nil)).Set("last_used_at = ?", now).
		Where("id = ?", id).Where("(last_used_at IS NULL OR last_used_at < ?)", since).Exec(ctx)
	return err
}

// UsageCharge is the first answer to one idempotency key of one API key.
type UsageCharge struct {
	bun.BaseModel `bun:"table:usage_charges,alias:uc"`

	ID             int64     `bun:"id,pk,autoincrement"`
	KeyID          int64     `bun:"key_id,notnull"`
	IdempotencyKey string    `bun:"idempotency_key,notnull"`
	UserID         *int64    `bun:"user_id"`
	UserPublicID   string    `bun:"user_public_id,notnull"`
	Kind           string    `bun:"kind,notnull"`
	Amount         int64     `bun:"amount,notnull"`
	Status         string    `bun:"status,notnull"` // "applied" or a refusal code
	BalanceAfter   int64     `bun:"balance_after,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
}

// UsageChargesByKeys loads the stored answers of a key's idempotency keys.
func UsageChargesByKeys(ctx context.Context, db bun.IDB, keyID int64, idem []string) ([]UsageCharge, error) {
	var out []UsageCharge
	if len(idem) == 0 {
		return out, nil
	}
	err := db.NewSelect().Model(&out).Where("uc.key_id = ?", keyID).Where("uc.idempotency_key IN (?)", bun.List(idem)).Scan(ctx)
	return out, err
}

// InsertUsageCharges stores answers unless their idempotency key is taken
// (one conditional insert: INSERT ... ON CONFLICT DO NOTHING), and reports
// how many it stored; their IDs are filled in.
func InsertUsageCharges(ctx context.Context, db bun.IDB, rows []UsageCharge) (int, error) {
	stored := 0
	for start := 0; start < len(rows); start += 500 {
		part := rows[start:min(start+500, len(rows))]
		var ids []struct {
			ID             int64  `bun:"id"`
			IdempotencyKey string `bun:"idempotency_key"`
		}
		err := db.NewInsert().Model(&part).On("CONFLICT (key_id, idempotency_key) DO NOTHING").
			Returning("id, idempotency_key").Scan(ctx, &ids)
		if err != nil {
			return stored, err
		}
		at := make(map[string]int64, len(ids))
		for _, r := range ids {
			at[r.IdempotencyKey] = r.ID
		}
		for i := range part {
			part[i].ID = at[part[i].IdempotencyKey]
		}
		stored += len(ids)
	}
	return stored, nil
}

// DeleteUsageChargesBefore forgets idempotency keys older than t.
func DeleteUsageChargesBefore(ctx context.Context, db bun.IDB, t time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*UsageCharge)(nil)).Where("created_at < ?", t).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Entitlement is what a service needs to know about an account.
type Entitlement struct {
	ID                    int64      `bun:"id"`
	PublicID              string     `bun:"public_id"`
	Username              string     `bun:"username"`
	Email                 *string    `bun:"email"`
	Role                  string     `bun:"role"`
	Status                string     `bun:"status"`
	Balance               int64      `bun:"balance"`
	PlanID                *int64     `bun:"plan_id"`
	PlanName              *string    `bun:"plan_name"`
	SubscriptionExpiresAt *time.Time `bun:"subscription_expires_at"`
	EmailVerifiedAt       *time.Time `bun:"email_verified_at"`
	EmailVouched          bool       `bun:"email_vouched"`
	// Match is how the account was named: 1 public ID, 2 username, 3 email.
	Match int `bun:"match"`
}

// EntitlementsOf reads the accounts that public IDs, usernames or
// addresses name, in one statement through the unique indexes (public_id,
// username_lower) and the email_lower index, with the plan's name.
// Several rows may come back per name (an address held by several
// accounts); ResolveEntitlement picks.
func EntitlementsOf(ctx context.Context, db bun.IDB, names []string) ([]Entitlement, error) {
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = NormalizeEmail(n)
	}
	var out []Entitlement
	q := db.NewSelect().TableExpr("users AS u").
		ColumnExpr("u.id, u.public_id, u.username, u.email, u.role, u.status, u.balance, u.plan_id, u.subscription_expires_at, u.email_verified_at, u.email_vouched").
		ColumnExpr("p.name AS plan_name").
		ColumnExpr("CASE WHEN u.public_id IN (?0) THEN 1 WHEN u.username_lower IN (?1) THEN 2 ELSE 3 END AS match", bun.List(names), bun.List(lower)).
		Join("LEFT JOIN plans AS p ON p.id = u.plan_id").
		Where("u.public_id IN (?0) OR u.username_lower IN (?1) OR u.email_lower IN (?1)", bun.List(names), bun.List(lower))
	err := q.Scan(ctx, &out)
	return out, err
}

// entitlementQuery is EntitlementsOf for one name, a prepared statement
// (Stmts): the service API's entitlement read and every charge run it.
const entitlementQuery = `SELECT u.id, u.public_id, u.username, u.email, u.role, u.status, u.balance, u.plan_id,
 u.subscription_expires_at, u.email_verified_at, u.email_vouched, p.name AS plan_name,
 CASE WHEN u.public_id = ? THEN 1 WHEN u.username_lower = ? THEN 2 ELSE 3 END AS match
FROM users AS u LEFT JOIN plans AS p ON p.id = u.plan_id
WHERE u.public_id = ? OR u.username_lower = ? OR u.email_lower = ?`

// EntitlementOf reads the accounts that one public ID, username or
// address names (EntitlementsOf for one name; ResolveEntitlement picks).
func EntitlementOf(ctx context.Context, st *Stmts, db bun.IDB, name string) ([]Entitlement, error) {
	lower := NormalizeEmail(name)
	rows, err := st.Query(ctx, db, entitlementQuery, name, lower, name, lower, lower)
	if err != nil {
		return nil, err
	}
	var out []Entitlement
	if err := st.db.ScanRows(ctx, rows, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ResolveEntitlement picks the account name names from rows: a public ID,
// else a username, else an address by UserByEmail's rule (the verified
// holder, else the one vouched holder).
func ResolveEntitlement(rows []Entitlement, name string) *Entitlement {
	lower := NormalizeEmail(name)
	var byName, verified *Entitlement
	vouched := 0
	var vouchedOne *Entitlement
	for i := range rows {
		r := &rows[i]
		switch {
		case r.PublicID == name:
			return r
		case byName == nil && lowerEq(r.Username, lower):
			byName = r
		case r.Email != nil && NormalizeEmail(*r.Email) == lower:
			if r.EmailVerifiedAt != nil {
				if verified == nil || r.ID < verified.ID {
					verified = r
				}
			} else if r.EmailVouched {
				vouched++
				vouchedOne = r
			}
		}
	}
	if byName != nil {
		return byName
	}
	if verified != nil {
		return verified
	}
	if vouched == 1 {
		return vouchedOne
	}
	return nil
}

func lowerEq(a, lower string) bool { return len(a) == len(lower) && NormalizeEmail(a) == lower }

// AddBalances adds deltas[id] to each account's balance in one statement
// (through UpdateUsers, the engine's set-based write).
func AddBalances(ctx context.Context, db bun.IDB, ids []int64, deltas map[int64]int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return UpdateUsers(ctx, db, ids, now, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		if len(ids) == 1 {
			return q.Set("balance = balance + ?", deltas[ids[0]])
		}
		b := make([]byte, 0, 24*len(ids)+40)
		b = append(b, "balance = balance + CASE id"...)
		for _, id := range ids {
			b = append(b, " WHEN "...)
			b = strconv.AppendInt(b, id, 10)
			b = append(b, " THEN "...)
			b = strconv.AppendInt(b, deltas[id], 10)
		}
		b = append(b, " ELSE 0 END"...)
		return q.Set(string(b))
	})
}

// The statements of one usage charge (service.Usage.Charge), prepared
// (Stmts). The balance moves by one conditional UPDATE ... RETURNING: the
// row changes only when the new balance stays within [lo, hi], which makes
// the check and the change one step on both databases (on PostgreSQL the
// row lock is taken and the condition evaluated again on the locked row).
const (
	chargeBalanceQuery = `UPDATE users SET balance = balance + ?, updated_at = ? WHERE id = ? AND balance + ? >= ? AND balance + ? <= ? RETURNING balance`
	balanceQuery       = `SELECT balance FROM users WHERE id = ?`
	insertChargeQuery  = `INSERT INTO usage_charges (key_id, idempotency_key, user_id, user_public_id, kind, amount, status, balance_after, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key_id, idempotency_key) DO NOTHING RETURNING id`
	insertLedgerQuery = `INSERT INTO balance_ledger (user_id, user_public_id, created_at, amount, balance_after, actor_id, actor_username, reason, batch_id, actor_key_id, metadata, actor_key_prefix, idempotency_key, usage_type)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// ChargeBalance adds delta to the account's balance unless the result
// would leave [lo, hi]; it answers the new balance, or changed false when
// the account is gone or the result out of bounds (BalanceOf tells which).
func ChargeBalance(ctx context.Context, st *Stmts, db bun.IDB, id, delta, lo, hi int64, now time.Time) (balance int64, changed bool, err error) {
	err = st.QueryRow(ctx, db, chargeBalanceQuery, []any{delta, now, id, delta, lo, delta, hi}, &balance)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return balance, err == nil, err
}

// BalanceOf reads an account's balance (ErrNotFound when it is gone).
func BalanceOf(ctx context.Context, st *Stmts, db bun.IDB, id int64) (int64, error) {
	var b int64
	err := st.QueryRow(ctx, db, balanceQuery, []any{id}, &b)
	return b, notFound(err)
}

// InsertUsageCharge stores one answer unless its idempotency key is taken
// (INSERT ... ON CONFLICT DO NOTHING); stored false when it was, and then
// nothing was written. The row's ID is filled in.
func InsertUsageCharge(ctx context.Context, st *Stmts, db bun.IDB, r *UsageCharge) (stored bool, err error) {
	err = st.QueryRow(ctx, db, insertChargeQuery, []any{r.KeyID, r.IdempotencyKey, r.UserID, r.UserPublicID, r.Kind, r.Amount, r.Status, r.BalanceAfter, r.CreatedAt}, &r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// InsertLedgerEntry stores one ledger row.
func InsertLedgerEntry(ctx context.Context, st *Stmts, db bun.IDB, l *LedgerEntry) error {
	_, err := st.Exec(ctx, db, insertLedgerQuery, l.UserID, l.UserPublicID, l.CreatedAt, l.Amount, l.BalanceAfter, l.ActorID, l.ActorUsername, l.Reason, l.BatchID, l.ActorKeyID, l.Metadata, l.ActorKeyPrefix, l.IdempotencyKey, l.UsageType)
	return err
}
