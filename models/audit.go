package models

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"slices"
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
	// After and Before read the page after or before a row (by seeking
	// the (created_at, id) order, not with Offset).
	After, Before *AuditKey
}

// AuditKey is a row's place in the audit list's order: newest first by
// time, then by id.
type AuditKey struct {
	T  time.Time
	ID int64
}

// ErrBadAuditCursor is a cursor this server did not give out.
var ErrBadAuditCursor = errors.New("malformed audit cursor")

type auditCursor struct {
	V  int    `json:"v"`
	T  string `json:"t"`
	ID int64  `json:"a"`
}

// Encode is the key as an opaque cursor.
func (k AuditKey) Encode() string {
	b, _ := json.Marshal(auditCursor{V: 1, T: k.T.UTC().Format(time.RFC3339Nano), ID: k.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeAuditKey reads a cursor; anything malformed is ErrBadAuditCursor.
func DecodeAuditKey(cursor string) (AuditKey, error) {
	if len(cursor) > 256 {
		return AuditKey{}, ErrBadAuditCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return AuditKey{}, ErrBadAuditCursor
	}
	var c auditCursor
	if err := json.Unmarshal(b, &c); err != nil || c.V != 1 || c.ID < 1 {
		return AuditKey{}, ErrBadAuditCursor
	}
	t, err := time.Parse(time.RFC3339Nano, c.T)
	if err != nil {
		return AuditKey{}, ErrBadAuditCursor
	}
	return AuditKey{T: t.UTC(), ID: c.ID}, nil
}

// AuditCountCap bounds the rows an audit total counts; beyond, the total
// is reported as an estimate (the lower bound).
const AuditCountCap = 10_000

// auditCountWalk is how many rows of the time order a count reads at most
// when no filter term is rare.
const auditCountWalk = 10_000

// AuditPage is one page of the audit log with its neighbours' cursors.
type AuditPage struct {
	Rows       []AuditEvent
	Total      int64
	Estimate   bool
	Next, Prev *AuditKey
}

// ApplyAuditFilter adds f's conditions to q (alias "a"), as one plain
// query with no plan.
func ApplyAuditFilter(q *bun.SelectQuery, f AuditFilter) *bun.SelectQuery { return f.apply(q) }

func (f AuditFilter) apply(q *bun.SelectQuery) *bun.SelectQuery {
	return f.applyPlan(q, "")
}

// The audit terms that an index can read: the action (audit_action) and
// the time window (audit_created). On SQLite the others are written with
// a unary + when the plan lets one of them drive.
const (
	auditByAction = "action"
	auditByRef    = "ref" // actor and target
	auditByTime   = "time"
)

func (f AuditFilter) applyPlan(q *bun.SelectQuery, driver string) *bun.SelectQuery {
	sqlite := IsSQLite(q.DB())
	p := func(term string) string {
		if sqlite && driver != "" && driver != term {
			return "+"
		}
		return ""
	}
	if f.Actor != "" {
		// An account acts under its public ID: the text is one, or the
		// username of a live account or of a deleted one (its deletion
		// row). Other actors (the shell, a failed sign-in's identifier)
		// match by name.
		q = q.Where(p(auditByRef)+`a.id IN (
  SELECT id FROM audit_events WHERE actor_public_id IN (
    SELECT ? UNION ALL SELECT public_id FROM users WHERE username_lower = ?
    UNION ALL SELECT target_public_id FROM audit_events WHERE action = 'user.deleted' AND target_label = ?)
  UNION ALL SELECT id FROM audit_events WHERE actor_id IS NULL AND actor_username = ?)`,
			f.Actor, strings.ToLower(f.Actor), f.Actor, f.Actor)
	}
	if f.Action != "" {
		x := p(auditByAction)
		if f.Action[len(f.Action)-1] == '.' {
			q = q.Where(x+"a.action >= ? AND "+x+"a.action < ?", f.Action, f.Action[:len(f.Action)-1]+"/")
		} else {
			q = q.Where(x+"a.action = ?", f.Action)
		}
	}
	if f.Target != "" {
		// An account is matched by its current public ID or username, or,
		// once deleted, by those its deletion row recorded; all its rows
		// are then found by internal id (the audit_target_user index).
		// Other targets match on their reference or label. Each branch is
		// its own indexed lookup; an OR across them would scan the table.
		q = q.Where(p(auditByRef)+`a.id IN (
  SELECT id FROM audit_events WHERE target_type = 'user' AND target_id IN (
    SELECT id FROM users WHERE public_id = ? OR username_lower = ?
    UNION ALL SELECT target_id FROM audit_events WHERE action = 'user.deleted' AND target_public_id = ?
    UNION ALL SELECT target_id FROM audit_events WHERE action = 'user.deleted' AND target_label = ?)
  UNION ALL SELECT id FROM audit_events WHERE target_type <> 'user' AND target_public_id = ?
  UNION ALL SELECT id FROM audit_events WHERE target_type <> 'user' AND target_label = ?)`,
			f.Target, strings.ToLower(f.Target), f.Target, f.Target, f.Target, f.Target)
	}
	x := p(auditByTime)
	if f.From != nil {
		q = q.Where(x+"a.created_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where(x+"a.created_at < ?", *f.To)
	}
	return q
}

// SearchAudit returns one page of matching rows, newest first, and the
// total (exact up to AuditCountCap).
func SearchAudit(ctx context.Context, db bun.IDB, f AuditFilter) ([]AuditEvent, int64, error) {
	p, err := PageAudit(ctx, db, f)
	return p.Rows, p.Total, err
}

// PageAudit reads one page of the audit log, newest first: by number
// (Offset), or after/before a cursor by seeking the (created_at, id)
// order, so that every page reached by next/previous costs what the first
// does. The total is counted up to AuditCountCap; beyond, it is that lower
// bound and Estimate is set. On SQLite, the action and the time window
// are each counted through their index (up to the cap); when the smaller
// one holds few rows, the page reads them through that index and sorts
// them, else it walks the time order and tests each row (SQLite has no
// statistics to tell the two apart: action=settings. walked a million
// rows, a wide prefix sorted 800,000).
func PageAudit(ctx context.Context, db bun.IDB, f AuditFilter) (AuditPage, error) {
	var out AuditPage
	count := func(g AuditFilter, driver string) (int64, error) {
		inner := g.applyPlan(db.NewSelect().Model((*AuditEvent)(nil)).ColumnExpr("1"), driver).Limit(AuditCountCap + 1)
		var n int64
		err := db.NewSelect().TableExpr("(?) AS matching", inner).ColumnExpr("count(*)").Scan(ctx, &n)
		return n, err
	}
	driver := ""
	if IsSQLite(db) && (f.Action != "" || f.Actor != "" || f.Target != "") {
		// Each indexed term alone, counted through its index up to the
		// cap; the smallest drives when reading and sorting its rows costs
		// less than walking the time order to fill the page.
		driver = auditByTime
		best := int64(math.MaxInt64)
		need := float64(f.Offset + f.Limit + 1)
		rows := float64(max(auditRows(ctx, db), 1))
		for _, c := range []struct {
			term string
			g    AuditFilter
		}{{auditByAction, AuditFilter{Action: f.Action}}, {auditByRef, AuditFilter{Actor: f.Actor, Target: f.Target}}} {
			if c.g == (AuditFilter{}) {
				continue
			}
			n, err := count(c.g, "")
			if err != nil {
				return out, err
			}
			// n past the cap is only a lower bound: such a term never
			// drives (page 2,000 of action=user. read and sorted 1.2
			// million rows).
			if n < best && n <= AuditCountCap && float64(n)*float64(n) <= need*rows {
				driver, best = c.term, n
			}
		}
	}
	var total int64
	var err error
	if driver == auditByTime && f.Action != "" && f.Actor == "" && f.Target == "" && IsSQLite(db) {
		// An action that is no rare term, with or without a time window:
		// counted among the newest auditCountWalk entries of the time
		// index (created_at, id, action), which holds the action, so no
		// row is read (reading each of the 10,000 rows to test its action
		// was most of a 60-100 ms first page of action=user.).
		window := AuditFilter{From: f.From, To: f.To}.applyPlan(db.NewSelect().Model((*AuditEvent)(nil)).ColumnExpr("a.action AS action"), "").
			OrderExpr("a.created_at DESC").OrderExpr("a.id DESC").Limit(auditCountWalk)
		cond, args := "w.action = ?", []any{f.Action}
		if f.Action[len(f.Action)-1] == '.' {
			cond, args = "w.action >= ? AND w.action < ?", []any{f.Action, f.Action[:len(f.Action)-1] + "/"}
		}
		var c struct {
			Seen    int64 `bun:"seen"`
			Matched int64 `bun:"matched"`
		}
		if err := db.NewSelect().TableExpr("(?) AS w", window).ColumnExpr("count(*) AS seen").
			ColumnExpr("coalesce(sum(CASE WHEN "+cond+" THEN 1 ELSE 0 END), 0) AS matched", args...).Scan(ctx, &c); err != nil {
			return out, err
		}
		total, out.Estimate = c.Matched, c.Seen == auditCountWalk
	} else if driver == auditByTime && (f.Action != "" || f.Actor != "" || f.Target != "") {
		// No term is rare: count among the newest auditCountWalk rows of
		// the time window only (the total is then a lower bound).
		window := AuditFilter{From: f.From, To: f.To}.applyPlan(db.NewSelect().Model((*AuditEvent)(nil)).Column("id"), "").
			OrderExpr("a.created_at DESC").Limit(auditCountWalk)
		var seen int64
		if err := db.NewSelect().TableExpr("(?) AS w", window).ColumnExpr("count(*)").Scan(ctx, &seen); err != nil {
			return out, err
		}
		inner := f.applyPlan(db.NewSelect().Model((*AuditEvent)(nil)).ColumnExpr("1"), auditByTime).Where("a.id IN (?)", window)
		if err := db.NewSelect().TableExpr("(?) AS matching", inner.Limit(AuditCountCap+1)).ColumnExpr("count(*)").Scan(ctx, &total); err != nil {
			return out, err
		}
		out.Estimate = seen == auditCountWalk
	} else if total, err = count(f, driver); err != nil {
		return out, err
	}
	out.Total = total
	if total > AuditCountCap {
		out.Total, out.Estimate = AuditCountCap, true
	}
	seek, desc := f.After, true
	if f.Before != nil {
		seek, desc = f.Before, false
	}
	dir := " DESC"
	if !desc {
		dir = " ASC"
	}
	x := ""
	if driver == auditByAction || driver == auditByRef {
		x = "+" // sort what the driver reads; do not walk the time index
	}
	q := f.applyPlan(db.NewSelect().Model(&out.Rows), driver).
		OrderExpr(x + "a.created_at" + dir).OrderExpr(x + "a.id" + dir).Limit(int64(f.Limit + 1))
	if seek != nil {
		cmp := "<"
		if !desc {
			cmp = ">"
		}
		q = q.Where("("+x+"a.created_at, "+x+"a.id) "+cmp+" (?, ?)", seek.T, seek.ID)
	} else if f.Offset > 0 {
		// A page by number: the skipped rows are counted off in a
		// subquery that selects only ids, which the time index (created_at, id,
		// action) answers without the table when the filter is the action
		// or the time window; only the page's own rows are then read whole.
		// Skipping 100,000 rows read 100,000 table rows (7-9 s at a million
		// rows); in the index it reads some 500 index pages.
		ids := f.applyPlan(db.NewSelect().Model((*AuditEvent)(nil)).Column("a.id"), driver).
			OrderExpr(x + "a.created_at" + dir).OrderExpr(x + "a.id" + dir).Limit(int64(f.Limit + 1)).Offset(int64(f.Offset))
		q = db.NewSelect().Model(&out.Rows).Where("a.id IN (?)", ids).
			OrderExpr("+a.created_at" + dir).OrderExpr("+a.id" + dir)
		if !IsSQLite(db) {
			q = db.NewSelect().Model(&out.Rows).Where("a.id IN (?)", ids).
				OrderExpr("a.created_at" + dir).OrderExpr("a.id" + dir)
		}
	}
	if err := q.Scan(ctx); err != nil {
		return out, err
	}
	more := len(out.Rows) > f.Limit
	if more {
		out.Rows = out.Rows[:f.Limit]
	}
	if f.Before != nil {
		slices.Reverse(out.Rows)
		if !more {
			// Fewer than a page before the cursor: the first page.
			g := f
			g.Before, g.Offset = nil, 0
			first, err := PageAudit(ctx, db, g)
			return first, err
		}
	}
	if len(out.Rows) == 0 {
		return out, nil
	}
	first, last := &out.Rows[0], &out.Rows[len(out.Rows)-1]
	if more || f.Before != nil {
		out.Next = &AuditKey{T: last.CreatedAt, ID: last.ID}
	}
	if f.After != nil || f.Before != nil || f.Offset > 0 {
		out.Prev = &AuditKey{T: first.CreatedAt, ID: first.ID}
	}
	return out, nil
}

// auditRows is about how many audit rows there are (the largest id).
func auditRows(ctx context.Context, db bun.IDB) int64 {
	var n sql.NullInt64
	_ = db.NewRaw("SELECT max(id) FROM audit_events").Scan(ctx, &n)
	if !n.Valid {
		return 0
	}
	return n.Int64
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
// more than binding them again.) The statement is INSERT OR FAIL: a
// failing row ends the statement without undoing the rows before it, and
// the caller's transaction is then rolled back as a whole, so SQLite needs
// no statement journal, which copied every page the transaction had
// already changed in the audit table and its indexes to a temporary file
// for each statement (27,000 of a 100,000-account status change's 363,000
// write calls, BenchmarkBulkStatusChange). Anything else goes through bun.
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
		return tx.Tx.PrepareContext(ctx, "INSERT OR FAIL INTO audit_events (created_at, actor_id, actor_public_id, actor_username, action, target_type, reason, ip, user_agent, batch_id, target_id, target_public_id, target_label, details) VALUES "+
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
