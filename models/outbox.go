package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Outbox states.
const (
	OutboxQueued    = "queued"    // waiting for its next attempt
	OutboxSending   = "sending"   // claimed by a sender until lease_until
	OutboxSent      = "sent"      // accepted by the SMTP server
	OutboxFailed    = "failed"    // refused for good, out of attempts, or expired
	OutboxDiscarded = "discarded" // dropped by an administrator, or replaced by a newer link
)

// OutboxMail is one email in the durable outbox.
type OutboxMail struct {
	bun.BaseModel `bun:"table:mail_outbox,alias:mo"`

	ID      int64  `bun:"id,pk,autoincrement"`
	Kind    string `bun:"kind,notnull"`
	Purpose string `bun:"purpose,notnull"` // the one-time token's purpose, "" for notices
	UserID  *int64 `bun:"user_id"`
	To      string `bun:"to_address,notnull"`
	Subject string `bun:"subject,notnull"`
	// Body is the sealed rendered message; "" once the row is done.
	Body          string     `bun:"body,notnull"`
	Status        string     `bun:"status,notnull"`
	Attempts      int        `bun:"attempts,notnull"`
	NextAttemptAt time.Time  `bun:"next_attempt_at,notnull"`
	LeaseOwner    string     `bun:"lease_owner,notnull"`
	LeaseUntil    *time.Time `bun:"lease_until"`
	ErrorReason   string     `bun:"error_reason,notnull"`
	LastError     string     `bun:"last_error,notnull"`
	ExpiresAt     *time.Time `bun:"expires_at"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	UpdatedAt     time.Time  `bun:"updated_at,notnull"`
	SentAt        *time.Time `bun:"sent_at"`
}
