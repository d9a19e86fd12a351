package models

import (
	"context"
	"database/sql"
	"strconv"
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
		// An account acts under its public ID: the text is one, or the
		// username of a live account or of a deleted one (its deletion
		// row). Other actors (the shell, a failed sign-in's identifier)
		// match by name.
		q = q.Where(`a.id IN (
  SELECT id FROM audit_events WHERE actor_public_id IN (
    SELECT ? UNION ALL SELECT public_id FROM users WHERE username_lower = ?
    UNION ALL SELECT target_public_id FROM audit_events WHERE action = 'user.deleted' AND target_label = ?)
  UNION ALL SELECT id FROM audit_events WHERE actor_id IS NULL AND actor_username = ?)`,
			f.Actor, strings.ToLower(f.Actor), f.Actor, f.Actor)
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

// auditRowsPerStatement rows go into one INSERT statement.
const auditRowsPerStatement = 500

// InsertAuditEvents stores many audit rows (a bulk action's). On SQLite,
// inside a transaction, when the rows differ only in their target and
// details (one actor, action, reason, time and batch: a bulk action), it
// prepares one multi-row INSERT in which only the four varying values are
// bound per
// row, and executes it batch after batch. (Shared values are literals in
// the statement: modernc looks up numbered parameters by name, which costs
// more than binding them again.) Anything else goes through bun.
func InsertAuditEvents(ctx context.Context, db bun.IDB, rows []AuditEvent) error {
	tx, ok := db.(bun.Tx)
	if !ok || !IsSQLite(db) || !sharedAuditFields(rows) {
		for start := 0; start < len(rows); start += auditRowsPerStatement {
			part := rows[start:min(start+auditRowsPerStatement, len(rows))]
			if _, err := db.NewInsert().Model(&part).Returning("NULL").Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	// The shared values go into the statement as literals (bun's own
	// formatting), the four varying ones as parameters.
	d := tx.Dialect()
	r0 := &rows[0]
	lit := d.AppendTime(nil, r0.CreatedAt)
	lit = append(lit, ", "...)
	if r0.ActorID != nil {
		lit = strconv.AppendInt(lit, *r0.ActorID, 10)
	} else {
		lit = append(lit, "NULL"...)
	}
	for _, v := range []string{r0.ActorPublicID, r0.ActorUsername, r0.Action, r0.TargetType, r0.Reason, r0.IP, r0.UserAgent, r0.BatchID} {
		lit = append(lit, ", "...)
		lit = d.AppendString(lit, v)
	}
	row := "(" + string(lit) + ", ?, ?, ?, ?)"
	prepare := func(n int) (*sql.Stmt, error) {
		return tx.Tx.PrepareContext(ctx, "INSERT INTO audit_events (created_at, actor_id, actor_public_id, actor_username, action, target_type, reason, ip, user_agent, batch_id, target_id, target_public_id, target_label, details) VALUES "+
			strings.Repeat(row+", ", n-1)+row)
	}
	args := make([]any, 0, 4*auditRowsPerStatement)
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
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
			args = append(args, r.TargetID, r.TargetPublicID, r.TargetLabel, r.Details)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// sharedAuditFields reports whether rows differ only in target and details.
func sharedAuditFields(rows []AuditEvent) bool {
	if len(rows) == 0 {
		return false
	}
	r0 := &rows[0]
	for i := range rows {
		r := &rows[i]
		if !r.CreatedAt.Equal(r0.CreatedAt) || (r.ActorID == nil) != (r0.ActorID == nil) || (r.ActorID != nil && *r.ActorID != *r0.ActorID) ||
			r.ActorPublicID != r0.ActorPublicID || r.ActorUsername != r0.ActorUsername || r.Action != r0.Action || r.TargetType != r0.TargetType ||
			r.Reason != r0.Reason || r.IP != r0.IP || r.UserAgent != r0.UserAgent || r.BatchID != r0.BatchID {
			return false
		}
	}
	return true
}
