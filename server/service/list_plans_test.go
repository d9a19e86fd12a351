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

// queryLog keeps the SELECTs on users run while it is on.
type queryLog struct {
	mu  sync.Mutex
	on  bool
	got []string
}

func (l *queryLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (l *queryLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.on && strings.HasPrefix(e.Query, "SELECT") && strings.Contains(e.Query, `"users"`) {
		l.got = append(l.got, e.Query)
	}
}

func (l *queryLog) run(fn func()) []string {
	l.mu.Lock()
	l.on, l.got = true, nil
	l.mu.Unlock()
	fn()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = false
	return l.got
}

func ptr[T any](v T) *T { return &v }

// listGrid is every value of every list filter alone, the pairs the issue
// measured and pairs of a rare and a common term, each combined below with
// every sort key in both directions.
func listGrid() map[string]models.UserFilter {
	g := map[string]models.UserFilter{"none": {}}
	for _, r := range []string{"user", "admin", "super_admin"} {
		g["role="+r] = models.UserFilter{Role: r}
	}
	for _, st := range []string{"active", "pending", "suspended", "deactivated"} {
		g["status="+st] = models.UserFilter{Status: st}
	}
	for _, sub := range []string{"none", "active", "expired"} {
		g["subscription="+sub] = models.UserFilter{Subscription: sub}
	}
	for _, b := range []bool{true, false} {
		g[fmt.Sprint("twoFactor=", b)] = models.UserFilter{TwoFactor: ptr(b)}
		g[fmt.Sprint("locked=", b)] = models.UserFilter{Locked: ptr(b)}
		g[fmt.Sprint("emailVerified=", b)] = models.UserFilter{EmailVerified: ptr(b)}
	}
	g["dormantDays=30"] = models.UserFilter{DormantDays: 30}
	g["dormantDays=3650"] = models.UserFilter{DormantDays: 3650}
	g["status=deactivated&twoFactor=on"] = models.UserFilter{Status: "deactivated", TwoFactor: ptr(true)}
	g["role=admin&locked=true"] = models.UserFilter{Role: "admin", Locked: ptr(true)}
	g["role=user&status=active"] = models.UserFilter{Role: "user", Status: "active"}
	g["status=active&twoFactor=off"] = models.UserFilter{Status: "active", TwoFactor: ptr(false)}
	g["status=suspended&emailVerified=false"] = models.UserFilter{Status: "suspended", EmailVerified: ptr(false)}
	g["subscription=active&twoFactor=on"] = models.UserFilter{Subscription: "active", TwoFactor: ptr(true)}
	g["locked=true&emailVerified=true"] = models.UserFilter{Locked: ptr(true), EmailVerified: ptr(true)}
	g["dormantDays=3650&status=pending"] = models.UserFilter{DormantDays: 3650, Status: "pending"}
	g["emailVerified=false&subscription=expired"] = models.UserFilter{EmailVerified: ptr(false), Subscription: "expired"}
	g["status=pending&emailVerified=true"] = models.UserFilter{Status: "pending", EmailVerified: ptr(true)}
	g["status=suspended&emailVerified=true"] = models.UserFilter{Status: "suspended", EmailVerified: ptr(true)}
	g["role=admin&status=active"] = models.UserFilter{Role: "admin", Status: "active"}
	g["q=li&twoFactor=true"] = models.UserFilter{Q: "li", TwoFactor: ptr(true)}
	g["q=an&status=suspended"] = models.UserFilter{Q: "an", Status: "suspended"}
	g["q=example&role=admin"] = models.UserFilter{Q: "example", Role: "admin"}
	return g
}

var everySort = []string{"id", "-id", "last_login", "-last_login", "updated", "-updated", "display_name", "-display_name"}

// seedPlans seeds accounts and makes the rare states rare: a few with 2FA,
// a few locked.
func seedPlans(t *testing.T, app *testkit.App, n int) {
	t.Helper()
	ctx := context.Background()
	if err := app.Svc.Seed(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{"UPDATE users SET totp_enabled_at = ?, totp_secret = 'x' WHERE id % 97 = 3", []any{now.Add(-time.Hour)}},
		{"UPDATE users SET locked_until = ? WHERE id % 131 = 5", []any{now.Add(time.Hour)}},
		{"UPDATE users SET locked_until = ? WHERE id % 131 = 6", []any{now.Add(-time.Hour)}},
		{"UPDATE users SET role = 'admin' WHERE id % 131 = 5 AND id % 2 = 0", nil},
	} {
		if _, err := app.Svc.DB.NewRaw(stmt.sql, stmt.args...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if models.IsSQLite(app.Svc.DB) {
		if _, err := app.Svc.DB.ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestListPlans_EveryFilterAndSortMatchesAPlainQuery: for every filter of
// the grid and every sort, the first page, a page reached by the cursor
// and a page by number hold exactly what one plain query returns, and the
// total is exact where it says so (on SQLite and PostgreSQL).
func TestListPlans_EveryFilterAndSortMatchesAPlainQuery(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	seedPlans(t, app, 3000)
	matchPlainQuery(t, app, everySort)
}

// TestListPlans_UpdateOrderWithStaleLogEntries (SQLite): after a bulk
// change, while its sweep has not run, the update-time log holds the
// changed accounts' old entries (stale) beside their new ones; every
// list in update order, its pages by cursor and by number, and the
// export, still hold exactly what a plain query returns. After the sweep
// the log holds one entry per account at its update time, and single
// changes (create, update, delete) keep it so.
func TestListPlans_UpdateOrderWithStaleLogEntries(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("SQLite only: PostgreSQL sorts by update time through its users_updated index (TestListPlans_EveryFilterAndSortMatchesAPlainQuery covers it)")
	}
	seedPlans(t, app, 3000)
	ctx := context.Background()
	actor := service.Actor{User: app.SuperAdmin("logroot").User}
	release := models.HoldUpdatedLogSweeps(db)
	defer func() {
		if release != nil {
			release()
		}
	}()
	res, err := app.Svc.Users.Bulk(ctx, actor, service.BulkRequest{Action: service.BulkSetStatus, Filter: &models.UserFilter{Status: models.StatusActive, Role: models.RoleUser}, Status: models.StatusSuspended, Reason: "log", SkipRefused: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed < 1000 {
		t.Fatalf("changed %d accounts; the bulk path needs 1,000", res.Changed)
	}
	stale, missing, pending, err := models.CheckUpdatedLog(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if stale != int64(res.Changed) || missing != 0 || pending != 1 {
		t.Fatalf("before the sweep: %d stale entries, %d accounts without an entry, %d pending; want %d, 0, 1", stale, missing, pending, res.Changed)
	}
	matchPlainQuery(t, app, []string{"updated", "-updated"})
	matchExport(t, app, "updated", "-updated")
	release()
	release = nil
	models.WaitUpdatedLogSweeps()
	if stale, missing, pending, err = models.CheckUpdatedLog(ctx, db); err != nil || stale != 0 || missing != 0 || pending != 0 {
		t.Fatalf("after the sweep: %d stale, %d missing, %d pending (%v); want none", stale, missing, pending, err)
	}
	matchPlainQuery(t, app, []string{"updated", "-updated"})
	// A bulk change of accounts in several statuses (a role change keeps
	// each one's): every new entry carries its account's status.
	res, err = app.Svc.Users.Bulk(ctx, actor, service.BulkRequest{Action: service.BulkSetRole, Filter: &models.UserFilter{Role: models.RoleUser}, Role: models.RoleAdmin, Reason: "log", SkipRefused: true})
	if err != nil {
		t.Fatal(err)
	}
	var statuses int
	if err := db.NewRaw("SELECT count(DISTINCT status) FROM users WHERE role = 'admin'").Scan(ctx, &statuses); err != nil {
		t.Fatal(err)
	}
	if res.Changed < 1000 || statuses < 3 {
		t.Fatalf("the role change moved %d accounts in %d statuses; want at least 1,000 in at least 3", res.Changed, statuses)
	}
	models.WaitUpdatedLogSweeps()
	if stale, missing, pending, err = models.CheckUpdatedLog(ctx, db); err != nil || stale != 0 || missing != 0 || pending != 0 {
		t.Fatalf("after a role change: %d stale, %d missing, %d pending (%v); want none", stale, missing, pending, err)
	}
	matchPlainQuery(t, app, []string{"updated", "-updated"})
	// Single changes go through the triggers.
	u := app.CreateUser(testkit.UserSpec{Username: "logged", Email: "logged@example.com"})
	if _, err := app.Svc.Users.Apply(ctx, actor, service.Targets{PublicIDs: []string{u.PublicID}}, service.StatusChange{Status: models.StatusSuspended}, service.ApplyOptions{Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	var victim string
	if err := db.NewRaw("SELECT public_id FROM users WHERE role = 'user' ORDER BY id LIMIT 1").Scan(ctx, &victim); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Svc.Users.Apply(ctx, actor, service.Targets{PublicIDs: []string{victim}}, service.DeleteChange{}, service.ApplyOptions{Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	if stale, missing, pending, err = models.CheckUpdatedLog(ctx, db); err != nil || stale != 0 || missing != 0 || pending != 0 {
		t.Fatalf("after single changes: %d stale, %d missing, %d pending (%v); want none", stale, missing, pending, err)
	}
}

// matchExport checks that the export in each sort order writes exactly
// the accounts of a plain query, in its order.
func matchExport(t *testing.T, app *testkit.App, sorts ...string) {
	t.Helper()
	ctx := context.Background()
	db := app.Svc.DB
	now := app.Svc.Now()
	for _, f := range []models.UserFilter{{}, {Status: models.StatusSuspended}} {
		for _, key := range sorts {
			s, _ := models.ParseUserSort(key)
			var all []models.User
			if err := models.ApplyUserSort(models.ApplyUserFilter(db.NewSelect().Model(&all), f, now), s).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			var got []string
			var k *models.UserKey
			for {
				last, n, err := models.ExportUsersAfter(ctx, db, f, s, k, 700, now, func(r *models.ExportRow) error {
					got = append(got, r.PublicID)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				k = last
			}
			if len(got) != len(all) {
				t.Fatalf("export %+v %s: %d rows, want %d", f, key, len(got), len(all))
			}
			for i := range all {
				if got[i] != all[i].PublicID {
					t.Fatalf("export %+v %s: row %d is %s, want %s", f, key, i, got[i], all[i].PublicID)
				}
			}
		}
	}
}

// matchPlainQuery checks, for every filter of the grid and each of sorts,
// that the first page, a page reached by the cursor (both ways) and a
// page by number hold exactly what one plain query returns, and that the
// total is exact where it says so.
func matchPlainQuery(t *testing.T, app *testkit.App, sorts []string) {
	t.Helper()
	ctx := context.Background()
	db := app.Svc.DB
	now := app.Svc.Now()
	for name, f := range listGrid() {
		for _, sortKey := range sorts {
			s, _ := models.ParseUserSort(sortKey)
			var all []models.User
			if err := models.ApplyUserSort(models.ApplyUserFilter(db.NewSelect().Model(&all), f, now), s).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			window := func(from, n int) []models.User { return all[min(from, len(all)):min(from+n, len(all))] }
			page, total, estimate, err := models.SearchUsers(ctx, db, f, s, 25, 0, now)
			if err != nil {
				t.Fatal(name, sortKey, err)
			}
			if ids(page) != ids(window(0, 25)) {
				t.Fatalf("%s %s: first page %s, want %s", name, sortKey, ids(page), ids(window(0, 25)))
			}
			if !estimate && total != int64(len(all)) {
				t.Fatalf("%s %s: total %d, want %d", name, sortKey, total, len(all))
			}
			if estimate && total < models.CountCap && len(all) <= models.CountCap && total > int64(len(all))*3+50 {
				t.Fatalf("%s %s: estimate %d for %d", name, sortKey, total, len(all))
			}
			if len(all) > 50 {
				k := models.KeyOf(&all[49], s)
				next, _, _, err := models.SeekUsers(ctx, db, f, s, k, 25, now)
				if err != nil {
					t.Fatal(err)
				}
				if ids(next) != ids(window(50, 25)) {
					t.Fatalf("%s %s: seek page %s, want %s", name, sortKey, ids(next), ids(window(50, 25)))
				}
				k = models.KeyOf(&all[50], s)
				prev, _, _, err := models.SeekUsers(ctx, db, f, s.Reversed(), k, 25, now)
				if err != nil {
					t.Fatal(err)
				}
				want := window(25, 25)
				for i := range prev {
					if i >= len(want) || prev[i].ID != want[len(want)-1-i].ID {
						t.Fatalf("%s %s: seek back %s, want reversed %s", name, sortKey, ids(prev), ids(want))
					}
				}
				third, _, _, err := models.SearchUsers(ctx, db, f, s, 25, 50, now)
				if err != nil {
					t.Fatal(err)
				}
				if ids(third) != ids(window(50, 25)) {
					t.Fatalf("%s %s: page 3 %s, want %s", name, sortKey, ids(third), ids(window(50, 25)))
				}
			}
		}
	}
}

// TestListPlans_NoTableScan (SQLite): no query the list runs for any
// filter of the grid with any sort reads the users table from end to end:
// every read either goes through an index to the matching accounts, or
// walks an order that the page needs (never followed by a sort of the
// whole table). With a rare filter term present (2FA on, locked,
// suspended, admins), not even a walk: the reads go through that term's
// index. A rare term with an ordered partial index that is the whole
// filter (admins, 2FA on) is read in the page's order, never read whole
// and sorted (that cost 60-460 ms at a million accounts). A status alone
// (not active) in id order is read in order from users_status_probe; in
// last sign-in order, from each role's range of the (role, status,
// last_login_at, id) index in order, merged, without a table row until
// the page's own; neither is read whole and sorted (the status-keyed
// ordered indexes are gone: a status change had to move them). A status with "email verified", common terms rare together,
// is counted in users_unverified_status (the status's count less its
// unverified accounts), never by reading rows.
func TestListPlans_NoTableScan(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("EXPLAIN QUERY PLAN checks are SQLite's; TestListPlans_EveryFilterAndSortMatchesAPlainQuery runs on both")
	}
	seedPlans(t, app, 3000)
	log := &queryLog{}
	db.AddQueryHook(log)
	ctx := context.Background()
	now := app.Svc.Now()
	// A partial index holds only its condition's accounts: reading it
	// whole reads exactly those.
	var partial []string
	if err := db.NewRaw("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql LIKE '% WHERE %'").Scan(ctx, &partial); err != nil {
		t.Fatal(err)
	}
	rare := func(f models.UserFilter) bool {
		return (f.TwoFactor != nil && *f.TwoFactor) || (f.Locked != nil && *f.Locked) || f.Role == "admin" || f.Role == "super_admin" ||
			f.Status == "suspended" || f.Status == "deactivated" || f.Status == "pending"
	}
	for name, f := range listGrid() {
		for _, sortKey := range everySort {
			s, _ := models.ParseUserSort(sortKey)
			var first []models.User
			queries := log.run(func() {
				var err error
				if first, _, _, err = models.SearchUsers(ctx, db, f, s, 25, 0, now); err != nil {
					t.Fatal(err)
				}
				if len(first) > 0 {
					if _, _, _, err = models.SeekUsers(ctx, db, f, s, models.KeyOf(&first[len(first)-1], s), 25, now); err != nil {
						t.Fatal(err)
					}
				}
			})
			inOrder := (f == models.UserFilter{Role: f.Role} && f.Role != "user") ||
				(f == models.UserFilter{TwoFactor: f.TwoFactor} && f.TwoFactor != nil && *f.TwoFactor)
			covered := f == models.UserFilter{Status: f.Status} && f.Status != "" && f.Status != "active" && (s.Key == "id" || s.Key == "last_login")
			pair := f.Status != "" && f.Status != "active" && f.EmailVerified != nil && *f.EmailVerified && f.Role == ""
			for _, q := range queries {
				plan := testkit.SQLitePlan(t, db, q)
				joined := strings.Join(plan, "\n")
				page := strings.Contains(q, "LIMIT") && !strings.Contains(q, "count(")
				if inOrder && page && strings.Contains(joined, "TEMP B-TREE FOR ORDER BY") {
					t.Fatalf("%s sort=%s: the rare term is read whole and sorted, not read in order\nquery: %s\nplan:\n%s", name, sortKey, q, joined)
				}
				if covered && page && s.Key == "last_login" && !strings.Contains(joined, "COVERING INDEX users_role_status_id") {
					t.Fatalf("%s sort=%s: the status is not read in the (role, status, id, last_login_at) index alone\nquery: %s\nplan:\n%s", name, sortKey, q, joined)
				}
				if covered && page && s.Key == "id" && !strings.Contains(joined, "INDEX users_status_probe (status=?") {
					t.Fatalf("%s sort=%s: the status is not read in id order from users_status_probe\nquery: %s\nplan:\n%s", name, sortKey, q, joined)
				}
				if covered && page && s.Key == "id" {
					// Read in order: no sort beside the read of the
					// status's index entries. In last sign-in order they
					// are read and sorted (migration 20261213000021: the
					// index is in id order within a status, so that a
					// status change moves its entries in the order it
					// writes them; status=suspended sort=-last_login at a
					// million accounts, 100,000 entries, about 20 ms of
					// CPU).
					if sorted := sortedRead(t, db, q, "users_role_status_id", "users_status_probe"); sorted != "" {
						t.Fatalf("%s sort=%s: every account of the status is read and sorted: %s\nquery: %s\nplan:\n%s", name, sortKey, sorted, q, joined)
					}
				}
				if pair && strings.Contains(q, "count(") && !strings.Contains(joined, "users_unverified_status") && !strings.Contains(joined, "user_counts") {
					t.Fatalf("%s sort=%s: the pair is not counted in users_unverified_status\nquery: %s\nplan:\n%s", name, sortKey, q, joined)
				}
				for _, line := range plan {
					// (The search index, users_fts, yields only its matches.)
					// A walk of the update-time log (SCAN r) walks the
					// update order as an index walk did: fine for a
					// common filter, not for a rare one.
					logWalk := line == "SCAN r"
					scan := (strings.HasPrefix(line, "SCAN u") || strings.HasPrefix(line, "SCAN users") || logWalk) && !strings.HasPrefix(line, "SCAN users_fts")
					for _, p := range partial {
						if strings.HasSuffix(line, " INDEX "+p) {
							scan = false
						}
					}
					if !scan {
						continue
					}
					whole := !logWalk && !strings.Contains(line, "USING") && !strings.Contains(q, `ORDER BY "u"."id"`) && !strings.Contains(q, "ORDER BY u.id")
					sorted := strings.Contains(strings.Join(plan, "\n"), "USE TEMP B-TREE FOR ORDER BY")
					if whole || sorted || rare(f) {
						t.Fatalf("%s sort=%s: %s\nquery: %s\nplan:\n%s", name, sortKey, line, q, strings.Join(plan, "\n"))
					}
				}
			}
		}
	}
}

// sortedRead is the plan line of query that reads one of indexes and
// is sorted where it is read (a temporary B-tree for ORDER BY under the
// same parent in EXPLAIN QUERY PLAN's tree), or "".
func sortedRead(t *testing.T, db bun.IDB, query string, indexes ...string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type node struct {
		parent int
		detail string
	}
	var nodes []node
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, node{parent, detail})
	}
	for _, n := range nodes {
		reads := false
		for _, idx := range indexes {
			reads = reads || strings.Contains(n.detail, "INDEX "+idx+" ")
		}
		if !reads {
			continue
		}
		for _, m := range nodes {
			if m.parent == n.parent && m.detail == "USE TEMP B-TREE FOR ORDER BY" {
				return n.detail
			}
		}
	}
	return ""
}

// TestListPlans_DeepPagesSkipIndexEntriesOnly (SQLite): a page by number
// past the first counts off the rows before it in a covering index (ids
// only) for every sort of the unfiltered list, so page 1,000 reads index
// entries, not 25,000 whole rows; and the page's own rows are then read by
// id. Before, the skipped rows were read from the table (id order) or
// through the sort index with a table look-up each. A page after a cursor
// seeks the sort index to its key for every sort.
func TestListPlans_DeepPagesSkipIndexEntriesOnly(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("EXPLAIN QUERY PLAN checks are SQLite's; TestListPlans_EveryFilterAndSortMatchesAPlainQuery checks page 3 on both")
	}
	seedPlans(t, app, 1500)
	log := &queryLog{}
	db.AddQueryHook(log)
	ctx := context.Background()
	for _, sortKey := range everySort {
		s, _ := models.ParseUserSort(sortKey)
		queries := log.run(func() {
			if _, _, _, err := models.SearchUsers(ctx, db, models.UserFilter{}, s, 25, 1000, app.Svc.Now()); err != nil {
				t.Fatal(err)
			}
		})
		seen := false
		for _, q := range queries {
			if !strings.Contains(q, "OFFSET") {
				continue
			}
			seen = true
			plan := strings.Join(testkit.SQLitePlan(t, db, q), "\n")
			// Update order counts off the update-time log, a table
			// keyed by (updated_at, id) without a rowid: its own
			// covering index (SCAN r, nothing joined to it).
			covering := strings.Contains(plan, "COVERING INDEX") ||
				(s.Key == "updated" && strings.Contains(q, "(SELECT r.id FROM users_updated_log AS r ORDER BY") && strings.Contains(plan, "SCAN r"))
			if !covering || strings.Contains(plan, "SCAN u\n") || strings.HasSuffix(plan, "SCAN u") {
				t.Fatalf("sort=%s: the skipped rows are not read from a covering index\nquery: %s\nplan:\n%s", sortKey, q, plan)
			}
		}
		if !seen {
			t.Fatalf("sort=%s: no query with OFFSET", sortKey)
		}
		// A page after a cursor seeks the sort index to the key (a range),
		// never scans it from the start; display names failed this.
		var all []models.User
		if err := models.ApplyUserSort(db.NewSelect().Model(&all).Column("u.*"), s).Limit(1200).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		queries = log.run(func() {
			if _, _, _, err := models.SeekUsers(ctx, db, models.UserFilter{}, s, models.KeyOf(&all[1100], s), 25, app.Svc.Now()); err != nil {
				t.Fatal(err)
			}
		})
		for _, q := range queries {
			if !strings.Contains(q, "LIMIT") {
				continue
			}
			plan := strings.Join(testkit.SQLitePlan(t, db, q), "\n")
			if strings.Contains(plan, "SCAN u") {
				t.Fatalf("sort=%s: the page after a cursor scans instead of seeking\nquery: %s\nplan:\n%s", sortKey, q, plan)
			}
		}
	}
}

// TestListPlans_DormantNewestFirstStartsAtTheCutoff (SQLite): dormant
// accounts in -last_login order are read from the cutoff down (then those
// that never signed in), not by walking the last sign-in index from the
// newest sign-in past every account that signed in since: at a million
// accounts dormantDays=3650 sort=-last_login walked the whole index
// (0.13-0.19 s of CPU per page). The pages hold what a plain query holds.
func TestListPlans_DormantNewestFirstStartsAtTheCutoff(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("EXPLAIN QUERY PLAN checks are SQLite's; TestListPlans_EveryFilterAndSortMatchesAPlainQuery runs on both")
	}
	seedPlans(t, app, 3000)
	ctx := context.Background()
	now := app.Svc.Now()
	// Some accounts signed in long ago: dormant by any cutoff.
	if _, err := db.NewRaw("UPDATE users SET last_login_at = ? WHERE id % 37 = 1", now.Add(-20*365*24*time.Hour)).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	log := &queryLog{}
	db.AddQueryHook(log)
	for _, days := range []int{3650, 30} {
		f := models.UserFilter{DormantDays: days}
		s, _ := models.ParseUserSort("-last_login")
		var all []models.User
		if err := models.ApplyUserSort(models.ApplyUserFilter(db.NewSelect().Model(&all), f, now), s).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(all) < 60 {
			t.Fatalf("dormantDays=%d: %d accounts, want more for the test", days, len(all))
		}
		ids := func(us []models.User) string {
			var b strings.Builder
			for _, u := range us {
				fmt.Fprint(&b, u.ID, " ")
			}
			return b.String()
		}
		var first, next []models.User
		queries := log.run(func() {
			var err error
			if first, _, _, err = models.SearchUsers(ctx, db, f, s, 25, 0, now); err != nil {
				t.Fatal(err)
			}
			if next, _, _, err = models.SeekUsers(ctx, db, f, s, models.KeyOf(&first[len(first)-1], s), 25, now); err != nil {
				t.Fatal(err)
			}
		})
		if ids(first) != ids(all[:25]) || ids(next) != ids(all[25:50]) {
			t.Fatalf("dormantDays=%d: pages %s / %s, want %s / %s", days, ids(first), ids(next), ids(all[:25]), ids(all[25:50]))
		}
		for _, q := range queries {
			if !strings.Contains(q, "LIMIT") || strings.Contains(q, "count(") {
				continue
			}
			plan := strings.Join(testkit.SQLitePlan(t, db, q), "\n")
			if strings.Contains(plan, "SCAN u") {
				t.Fatalf("dormantDays=%d: the page walks the sort order from its start\nquery: %s\nplan:\n%s", days, q, plan)
			}
		}
	}
}

// TestListPlans_StatusInSignInOrderAcrossRoles: a status alone in last
// sign-in order is read from the (role, status, id, last_login_at) index,
// every role's range of it (SQLite); with the status's accounts
// spread over every role, some that never signed in and some that share a
// sign-in time, every page by cursor (both ways, across the accounts that
// never signed in) and by number holds what one plain query holds.
func TestListPlans_StatusInSignInOrderAcrossRoles(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	seedPlans(t, app, 1500)
	ctx := context.Background()
	db := app.Svc.DB
	now := app.Svc.Now()
	log := &queryLog{}
	db.AddQueryHook(log)
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{"UPDATE users SET role = CASE id % 3 WHEN 0 THEN 'user' WHEN 1 THEN 'admin' ELSE 'super_admin' END WHERE status = 'suspended'", nil},
		{"UPDATE users SET last_login_at = NULL WHERE status = 'suspended' AND id % 5 = 0", nil},
		{"UPDATE users SET last_login_at = ? WHERE status = 'suspended' AND id % 7 = 0", []any{now.Add(-48 * time.Hour)}},
	} {
		if _, err := db.NewRaw(stmt.sql, stmt.args...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []models.UserFilter{{Status: "suspended"}, {Status: "suspended", DormantDays: 30}} {
		for _, sortKey := range []string{"last_login", "-last_login"} {
			s, _ := models.ParseUserSort(sortKey)
			var all []models.User
			if err := models.ApplyUserSort(models.ApplyUserFilter(db.NewSelect().Model(&all), f, now), s).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			if len(all) < 30 {
				t.Fatalf("%+v: %d accounts, want more for the test", f, len(all))
			}
			// Every page by cursor, forward, then one back from each.
			var got []models.User
			var page []models.User
			var total int64
			var estimate bool
			var err error
			queries := log.run(func() { page, total, estimate, err = models.SearchUsers(ctx, db, f, s, 10, 0, now) })
			if err != nil {
				t.Fatal(err)
			}
			if models.IsSQLite(db) && !strings.Contains(strings.Join(queries, "\n"), "INDEXED BY users_role_status_id") {
				t.Fatalf("%+v %s: not read in the (role, status, id, last_login_at) index: %s", f, sortKey, strings.Join(queries, "\n"))
			}
			if !estimate && total != int64(len(all)) {
				t.Fatalf("%+v %s: total %d, want %d", f, sortKey, total, len(all))
			}
			for len(page) > 0 {
				got = append(got, page...)
				k := models.KeyOf(&page[len(page)-1], s)
				back, _, _, err := models.SeekUsers(ctx, db, f, s.Reversed(), models.KeyOf(&page[0], s), 10, now)
				if err != nil {
					t.Fatal(err)
				}
				from := len(got) - len(page)
				for i := range back {
					if want := all[from-1-i]; back[i].ID != want.ID {
						t.Fatalf("%+v %s: back from %d: %s", f, sortKey, from, ids(back))
					}
				}
				if page, _, _, err = models.SeekUsers(ctx, db, f, s, k, 10, now); err != nil {
					t.Fatal(err)
				}
			}
			if ids(got) != ids(all) {
				t.Fatalf("%+v %s: by cursor %s, want %s", f, sortKey, ids(got), ids(all))
			}
			for _, offset := range []int{10, 25, len(all) - 5} {
				page, _, _, err := models.SearchUsers(ctx, db, f, s, 10, offset, now)
				if err != nil {
					t.Fatal(err)
				}
				if want := all[offset:min(offset+10, len(all))]; ids(page) != ids(want) {
					t.Fatalf("%+v %s offset %d: %s, want %s", f, sortKey, offset, ids(page), ids(want))
				}
			}
		}
	}
}

// ids lists the accounts' ids in order, for comparing pages.
func ids(us []models.User) string {
	var b strings.Builder
	for _, u := range us {
		fmt.Fprint(&b, u.ID, " ")
	}
	return b.String()
}
