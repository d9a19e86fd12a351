package models

import (
	"context"
	"database/sql"
	"strings"
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
		// An account is matched by its current public ID or username, or,
		// once deleted, by those its deletion row recorded; all its rows
		// are then found by internal id (the audit_target_user index).
		// Other targets match on their reference or label. Each branch is
		// its own indexed lookup; an OR across them would scan the table.
		q = q.Where(`a.id IN (
  SELECT id FROM audit_events WHERE target_type = 'user' AND target_id IN (
    SELECT id FROM users WHERE public_id = ? OR username_lower = ?
    UNION ALL SELECT target_id FROM audit_events WHERE action = 'user.deleted' AND target_public_id = ?
    UNION ALL SELECT target_id FROM audit_events WHERE action = 'user.deleted' AND target_label = ?)
  UNION ALL SELECT id FROM audit_events WHERE target_type <> 'user' AND target_public_id = ?
  UNION ALL SELECT id FROM audit_events WHERE target_type <> 'user' AND target_label = ?)`,
			f.Target, strings.ToLower(f.Target), f.Target, f.Target, f.Target, f.Target)
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

// auditColumns are the columns InsertAuditEvents writes, in order.
const auditColumns = "created_at, actor_id, actor_public_id, actor_username, action, target_type, target_id, target_public_id, target_label, reason, ip, user_agent, details, batch_id"

// auditRowsPerStatement keeps one statement's parameters (14 per row)
// well under SQLite's limit of 32766.
const auditRowsPerStatement = 500

// InsertAuditEvents stores many audit rows (a bulk action's). On SQLite,
// inside a transaction, it prepares one multi-row INSERT and executes it
// with bound values batch after batch, so the statement is parsed once
// instead of once per batch as bun's inlined SQL would be.
func InsertAuditEvents(ctx context.Context, db bun.IDB, rows []AuditEvent) error {
	tx, ok := db.(bun.Tx)
	if !ok || !IsSQLite(db) {
		for start := 0; start < len(rows); start += auditRowsPerStatement {
			part := rows[start:min(start+auditRowsPerStatement, len(rows))]
			if _, err := db.NewInsert().Model(&part).Returning("NULL").Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	prepare := func(n int) (*sql.Stmt, error) {
		one := "(" + strings.Repeat("?, ", 13) + "?)"
		return tx.Tx.PrepareContext(ctx, "INSERT INTO audit_events ("+auditColumns+") VALUES "+strings.Repeat(one+", ", n-1)+one)
	}
	var stmt *sql.Stmt
	args := make([]any, 0, 14*auditRowsPerStatement)
	for start := 0; start < len(rows); start += auditRowsPerStatement {
		part := rows[start:min(start+auditRowsPerStatement, len(rows))]
		if stmt == nil || len(part) < auditRowsPerStatement {
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
			r := &part[i]
			// Times as bun writes them on SQLite, so that they sort and
			// compare with every other row.
			args = append(args, r.CreatedAt.UTC().Format("2006-01-02 15:04:05.999999-07:00"), r.ActorID, r.ActorPublicID, r.ActorUsername, r.Action,
				r.TargetType, r.TargetID, r.TargetPublicID, r.TargetLabel, r.Reason, r.IP, r.UserAgent, r.Details, r.BatchID)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			stmt.Close()
			return err
		}
	}
	if stmt != nil {
		stmt.Close()
	}
	return nil
}
