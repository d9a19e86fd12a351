package models

import (
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
	LastAttemptAt *time.Time `bun:"last_attempt_at"`
	DurationMS    int        `bun:"duration_ms,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	UpdatedAt     time.Time  `bun:"updated_at,notnull"`
	DeliveredAt   *time.Time `bun:"delivered_at"`
}
