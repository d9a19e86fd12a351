package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// AuditEvent is one row of the audit log. Actor and target are copied by
// value (public ID and name) so that the row outlives deleted accounts.
type AuditEvent struct {
	bun.BaseModel `bun:"table:audit_events,alias:a"`

	ID             int64     `bun:"id,pk,autoincrement"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
	ActorID        *int64    `bun:"actor_id"`
	ActorPublicID  string    `bun:"actor_public_id,notnull"`
	ActorUsername  string    `bun:"actor_username,notnull"`
	Action         string    `bun:"action,notnull"`
	TargetType     string    `bun:"target_type,notnull"`
	TargetID       *int64    `bun:"target_id"`
	TargetPublicID string    `bun:"target_public_id,notnull"`
	TargetLabel    string    `bun:"target_label,notnull"`
	Reason         string    `bun:"reason,notnull"`
	IP             string    `bun:"ip,notnull"`
	UserAgent      string    `bun:"user_agent,notnull"`
	Details        string    `bun:"details,notnull"` // JSON object
	BatchID        string    `bun:"batch_id,notnull"`
}

// AuditFilter selects audit rows. Empty fields do not filter.
type AuditFilter struct {
	Actor         string // public ID or username
	Action        string // exact, or prefix when it ends with "."
	Target        string // public ID or label
	From, To      *time.Time
	Limit, Offset int
}

func (f AuditFilter) apply(q *bun.SelectQuery) *bun.SelectQuery {
	if f.Actor != "" {
		q = q.Where("(a.actor_public_id = ? OR a.actor_username = ?)", f.Actor, f.Actor)
	}
	if f.Action != "" {
		if f.Action[len(f.Action)-1] == '.' {
			q = q.Where("a.action >= ? AND a.action < ?", f.Action, f.Action[:len(f.Action)-1]+"/")
		} else {
			q = q.Where("a.action = ?", f.Action)
		}
	}
	if f.Target != "" {
		q = q.Where("(a.target_public_id = ? OR a.target_label = ?)", f.Target, f.Target)
	}
	if f.From != nil {
		q = q.Where("a.created_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("a.created_at < ?", *f.To)
	}
	return q
}

// SearchAudit returns one page of matching rows, newest first, and the total.
func SearchAudit(ctx context.Context, db bun.IDB, f AuditFilter) ([]AuditEvent, int64, error) {
	var out []AuditEvent
	q := f.apply(db.NewSelect().Model(&out)).Order("a.id DESC").Limit(int64(f.Limit)).Offset(int64(f.Offset))
	if err := q.Scan(ctx); err != nil {
		return nil, 0, err
	}
	total, err := f.apply(db.NewSelect().Model((*AuditEvent)(nil))).Count(ctx)
	return out, total, err
}
