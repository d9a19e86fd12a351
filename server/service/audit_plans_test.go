package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// auditLog keeps the SELECTs on audit_events run while it is on.
type auditLog struct {
	mu  sync.Mutex
	on  bool
	got []string
}

func (l *auditLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (l *auditLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.on && strings.HasPrefix(e.Query, "SELECT") && strings.Contains(e.Query, `"audit_events"`) {
		l.got = append(l.got, e.Query)
	}
}

// seedAudit writes n audit rows, one a minute back from now, with the
// actions of the bench's mix.
func seedAudit(t *testing.T, db bun.IDB, n int, now time.Time) {
	t.Helper()
	actions := []string{"user.status_changed", "user.status_changed", "user.updated", "auth.login", "auth.login_failed", "user.deleted", "settings.security_changed"}
	rows := make([]models.AuditEvent, n)
	for i := range rows {
		target := int64(i%50 + 1)
		rows[i] = models.AuditEvent{CreatedAt: now.Add(-time.Duration(n-i) * time.Minute), ActorPublicID: "benchactor", ActorUsername: "benchadmin",
			Action: actions[i%len(actions)], TargetType: "user", TargetID: &target, TargetPublicID: fmt.Sprint("pub", target), TargetLabel: fmt.Sprint("label", target), Details: "{}"}
		if i%len(actions) == 6 {
			rows[i].Action = "settings.security_changed"
			rows[i].TargetType, rows[i].TargetID = "settings", nil
		}
	}
	if err := models.InsertAuditEvents(context.Background(), db, rows); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL: the statistics autovacuum would gather. Without them the
	// planner takes the fresh table for one row and runs the target filter
	// ({Target: "label7", Action: "user."}) as nested loops over the whole
	// table inside each other: more than 8 minutes for 2,000 rows (20 ms
	// with them), or fast when autovacuum happened to analyse first.
	if !models.IsSQLite(db) {
		if _, err := db.ExecContext(context.Background(), "ANALYZE audit_events"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditPlans_PagesByNumberMatchAPlainQuery: a page by number far into
// the log holds exactly what OFFSET over one plain query holds, for every
// kind of filter (SQLite and PostgreSQL).
func TestAuditPlans_PagesByNumberMatchAPlainQuery(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	seedAudit(t, db, 2000, now)
	from, to := now.Add(-1500*time.Minute), now.Add(-300*time.Minute)
	filters := []models.AuditFilter{{}, {Action: "user."}, {Action: "settings."}, {Action: "auth.login_failed"}, {From: &from}, {To: &to},
		{From: &from, To: &to, Action: "user."}, {Actor: "benchadmin"}, {Target: "label7"}, {Target: "label7", Action: "user."}}
	for _, f := range filters {
		var all []models.AuditEvent
		if err := models.ApplyAuditFilter(db.NewSelect().Model(&all), f).OrderExpr("a.created_at DESC, a.id DESC").Scan(ctx); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		for _, off := range []int{0, 30, 600, 1500} {
			g := f
			g.Limit, g.Offset = 30, off
			p, err := models.PageAudit(ctx, db, g)
			if err != nil {
				t.Fatal(err)
			}
			want := all[min(off, len(all)):min(off+30, len(all))]
			got, exp := "", ""
			for _, r := range p.Rows {
				got += fmt.Sprint(r.ID, " ")
			}
			for _, r := range want {
				exp += fmt.Sprint(r.ID, " ")
			}
			if got != exp {
				t.Fatalf("%+v offset %d: %s, want %s", f, off, got, exp)
			}
			if (len(all) > off+30) != (p.Next != nil) || (off > 0 && len(p.Rows) > 0) != (p.Prev != nil) {
				t.Fatalf("%+v offset %d: next %v prev %v with %d rows", f, off, p.Next, p.Prev, len(all))
			}
		}
	}
}

// TestAuditPlans_DeepPagesSkipIndexEntriesOnly (SQLite): a page by number
// never walks the table's rows to skip the ones before it: it counts them
// off in a covering index (ids, times and actions only) when it walks the
// time order (no filter, a common action, a time window or both), or
// reads a rare action's few rows through its index;
// before, each skipped row was read whole from the table (page 2,000 of
// action=user. took 7-9 s at a million rows).
func TestAuditPlans_DeepPagesSkipIndexEntriesOnly(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("EXPLAIN QUERY PLAN checks are SQLite's; TestAuditPlans_PagesByNumberMatchAPlainQuery runs on both")
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	seedAudit(t, db, 3000, now)
	log := &auditLog{}
	db.AddQueryHook(log)
	from, to := now.Add(-2500*time.Minute), now.Add(-100*time.Minute)
	for _, f := range []models.AuditFilter{{}, {Action: "user."}, {Action: "user.updated"}, {From: &from}, {From: &from, To: &to, Action: "auth."}} {
		f.Limit, f.Offset = 50, 1000
		log.mu.Lock()
		log.on, log.got = true, nil
		log.mu.Unlock()
		if _, err := models.PageAudit(ctx, db, f); err != nil {
			t.Fatal(err)
		}
		log.mu.Lock()
		log.on = false
		queries := log.got
		log.mu.Unlock()
		seen := false
		for _, q := range queries {
			if !strings.Contains(q, "OFFSET") {
				continue
			}
			seen = true
			plan := strings.Join(testkit.SQLitePlan(t, db, q), "\n")
			walk := false
			for _, line := range strings.Split(plan, "\n") {
				if strings.HasPrefix(line, "SCAN a") && !strings.Contains(line, "COVERING INDEX") {
					walk = true
				}
			}
			// The time order is the index's own: (created_at, action) put
			// the action before the id and every time-ordered page sorted
			// the whole log (page 2,000 unfiltered: 35 ms before, 460 ms).
			// (One sort is the page's own 51 rows, read by id.)
			if f.Action == "" && strings.Count(plan, "TEMP B-TREE") > 1 {
				t.Fatalf("%+v: the time order is sorted, not read from the index\nquery: %s\nplan:\n%s", f, q, plan)
			}
			if walk {
				t.Fatalf("%+v: the skipped rows are not read from a covering index\nquery: %s\nplan:\n%s", f, q, plan)
			}
		}
		if !seen {
			t.Fatalf("%+v: no query with OFFSET", f)
		}
	}
}

// TestAuditPlans_AccountDetailHistoryReadsTheTargetIndex (SQLite): the
// status history of an account's detail (the answer of every single-account
// change, and the editor) reads the account's own rows through
// audit_target_user; before, the query did not name target_type, the
// partial index did not apply, and SQLite walked every row of the five
// actions through audit_action and sorted them (a status change cost
// more the more status changes anyone had made).
func TestAuditPlans_AccountDetailHistoryReadsTheTargetIndex(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("EXPLAIN QUERY PLAN checks are SQLite's")
	}
	ctx := context.Background()
	u := app.Member("histplan")
	seedAudit(t, db, 500, time.Now().UTC())
	d, err := app.Svc.Users.Detail(ctx, u.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.StatusHistory); n == 0 || d.StatusHistory[n-1].TargetLabel != "histplan" {
		t.Fatalf("history: %+v", d.StatusHistory)
	}
	for i := 1; i < len(d.StatusHistory); i++ {
		if d.StatusHistory[i].ID >= d.StatusHistory[i-1].ID {
			t.Fatalf("history not newest first: %+v", d.StatusHistory)
		}
	}
	// The history is a prepared statement: its plan is the one made with
	// the account's id bound.
	query := service.StatusHistoryQueryForTest(app.Svc)
	lines := testkit.SQLitePlan(t, db, query, u.ID)
	plan := strings.Join(lines, "\n")
	if !strings.Contains(plan, "audit_target_user") || strings.Contains(plan, "TEMP B-TREE") {
		t.Fatalf("the history is not read from the account's index in id order\nquery: %s\nplan:\n%s", query, plan)
	}
}
