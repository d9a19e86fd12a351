package models

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Webhook delivery states.
const (
	WebhookPending   = "pending"   // waiting for its (next) attempt
	WebhookSending   = "sending"   // claimed by a sender until lease_until
	WebhookDelivered = "delivered" // the receiver answered 2xx
	WebhookFailed    = "failed"    // still refused after the retry period
)

// WebhookEndpoint is a receiver of signed events.
type WebhookEndpoint struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:we"`

	ID               int64  `bun:"id,pk,autoincrement"`
	PublicID         string `bun:"public_id,notnull"`
	URL              string `bun:"url,notnull"`
	Description      string `bun:"description,notnull"`
	Events           string `bun:"events,notnull"` // ",type,type,"
	BalanceThreshold int64  `bun:"balance_threshold,notnull"`
	// Secret and PreviousSecret are sealed with the secret key.
	Secret         string     `bun:"secret,notnull"`
	PreviousSecret string     `bun:"previous_secret,notnull"`
	PreviousUntil  *time.Time `bun:"previous_until"`
	Enabled        bool       `bun:"enabled,notnull"`
	DisabledReason string     `bun:"disabled_reason,notnull"`
	Failures       int        `bun:"failures,notnull"`
	FailingSince   *time.Time `bun:"failing_since"`
	LastSuccessAt  *time.Time `bun:"last_success_at"`
	CreatedAt      time.Time  `bun:"created_at,notnull"`
	UpdatedAt      time.Time  `bun:"updated_at,notnull"`
}

// WebhookEvent is one event about one account, as JSON.
type WebhookEvent struct {
	bun.BaseModel `bun:"table:webhook_events,alias:wev"`

	ID         int64     `bun:"id,pk,autoincrement"`
	Type       string    `bun:"type,notnull"`
	AccountID  int64     `bun:"account_id,notnull"`
	EndpointID *int64    `bun:"endpoint_id"` // for one endpoint only (balance thresholds)
	RunKey     string    `bun:"run_key,notnull"`
	Payload    string    `bun:"payload,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
}

// WebhookDelivery is one event for one endpoint.
type WebhookDelivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID            int64      `bun:"id,pk,autoincrement"`
	EndpointID    int64      `bun:"endpoint_id,notnull"`
	EventID       int64      `bun:"event_id,notnull"`
	AccountID     int64      `bun:"account_id,notnull"`
	Status        string     `bun:"status,notnull"`
	Attempts      int        `bun:"attempts,notnull"`
	NextAttemptAt time.Time  `bun:"next_attempt_at,notnull"`
	LeaseOwner    string     `bun:"lease_owner,notnull"`
	LeaseUntil    *time.Time `bun:"lease_until"`
	ResponseCode  int        `bun:"response_code,notnull"`
	LastError     string     `bun:"last_error,notnull"`
	ErrorCode     string     `bun:"error_code,notnull"` // the stable reason of LastError (migration 20261207000031)
	LastAttemptAt *time.Time `bun:"last_attempt_at"`
	DurationMS    int        `bun:"duration_ms,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	UpdatedAt     time.Time  `bun:"updated_at,notnull"`
	DeliveredAt   *time.Time `bun:"delivered_at"`
}

// webhookEventsPerStatement rows go into one INSERT statement.
const webhookEventsPerStatement = 500

// InsertWebhookEvents stores event rows. On SQLite, inside a transaction,
// when the rows differ only in their account and payload (one run's events
// of one type for every endpoint: a bulk change's), it prepares one
// multi-row INSERT in which only those two values are bound per row and
// executes it batch after batch, as InsertAuditEvents does for the audit
// rows the events project; anything else goes through bun.
func InsertWebhookEvents(ctx context.Context, db bun.IDB, rows []WebhookEvent) error {
	tx, ok := db.(bun.Tx)
	if !ok || !IsSQLite(db) || !sharedEventFields(rows) {
		for start := 0; start < len(rows); start += webhookEventsPerStatement {
			part := rows[start:min(start+webhookEventsPerStatement, len(rows))]
			if _, err := db.NewInsert().Model(&part).Returning("NULL").Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	d := tx.Dialect()
	r0 := &rows[0]
	lit := d.AppendString(nil, r0.Type)
	lit = append(lit, ", NULL, "...)
	lit = d.AppendString(lit, r0.RunKey)
	lit = append(lit, ", "...)
	lit = d.AppendTime(lit, r0.CreatedAt)
	row := "(" + string(lit) + ", ?, ?)"
	prepare := func(n int) (*sql.Stmt, error) {
		return tx.Tx.PrepareContext(ctx, "INSERT INTO webhook_events (type, endpoint_id, run_key, created_at, account_id, payload) VALUES "+
			strings.Repeat(row+", ", n-1)+row)
	}
	args := make([]any, 0, 2*webhookEventsPerStatement)
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	for start := 0; start < len(rows); start += webhookEventsPerStatement {
		part := rows[start:min(start+webhookEventsPerStatement, len(rows))]
		if stmt == nil || len(part) < webhookEventsPerStatement {
			if stmt != nil {
				stmt.Close()
			}
			var err error
			if stmt, err = prepare(len(part)); err != nil {
				return err
			}
		}
		args = args[:0]
		for i := range part {
			args = append(args, part[i].AccountID, part[i].Payload)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// sharedEventFields reports whether rows differ only in account and
// payload, and name no endpoint of their own.
func sharedEventFields(rows []WebhookEvent) bool {
	if len(rows) < 2 {
		return false
	}
	r0 := &rows[0]
	for i := range rows {
		r := &rows[i]
		if r.EndpointID != nil || r.Type != r0.Type || r.RunKey != r0.RunKey || !r.CreatedAt.Equal(r0.CreatedAt) {
			return false
		}
	}
	return true
}
