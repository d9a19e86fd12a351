package models_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// queryLog records the SELECTs that read users.
type queryLog struct {
	mu sync.Mutex
	qs []string
}

func (l *queryLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (l *queryLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	q := strings.TrimSpace(e.Query)
	if e.Err != nil || !strings.HasPrefix(q, "SELECT") || !strings.Contains(q, "users") {
		return
	}
	l.mu.Lock()
	l.qs = append(l.qs, q)
	l.mu.Unlock()
}

type planNode struct {
	NodeType     string     `json:"Node Type"`
	Relation     string     `json:"Relation Name"`
	Index        string     `json:"Index Name"`
	ActualRows   float64    `json:"Actual Rows"`
	ActualLoops  float64    `json:"Actual Loops"`
	RowsRemoved  float64    `json:"Rows Removed by Filter"`
	RowsRechecks float64    `json:"Rows Removed by Index Recheck"`
	Plans        []planNode `json:"Plans"`
}

// planFaults names what in plan reads a large part of users (n accounts):
// a scan of the table, or a walk of an index that reads a row of the
// table for each account it tests, examining more than a tenth of them;
// or a sort of more than 1,000 rows (all the matches of a broad filter
// sorted for one page). The index-only walk of users_display_cover is
// bounded by design (models.pgWindow) and reads no row of the table.
func planFaults(p planNode, n float64, path string) []string {
	var out []string
	examined := (p.ActualRows + p.RowsRemoved + p.RowsRechecks) * max(p.ActualLoops, 1)
	switch p.NodeType {
	case "Seq Scan", "Index Scan", "Bitmap Heap Scan":
		if p.Relation == "users" && examined > n/10 {
			out = append(out, fmt.Sprintf("%s%s on users %s examines %.0f of %.0f accounts", path, p.NodeType, p.Index, examined, n))
		}
	case "Sort":
		for _, c := range p.Plans {
			if c.ActualRows*max(c.ActualLoops, 1) > 1000 {
				out = append(out, fmt.Sprintf("%sSort of %.0f rows", path, c.ActualRows*max(c.ActualLoops, 1)))
			}
		}
	}
	for _, c := range p.Plans {
		out = append(out, planFaults(c, n, path+p.NodeType+" > ")...)
	}
	return out
}

// TestPGGridPlans_NoTableScanNoFullSort: on PostgreSQL with 20,000 seeded
// accounts, every query that a first page of the accounts grid runs (the
// list, role + status filters sorted by last sign-in both ways, searches
// sorted by display name and their totals) is explained with ANALYZE and
// fails when it scans users or walks an index reading more than a tenth
// of the accounts from the table, or sorts more than 1,000 rows.
// Before migration 20261203000081 and the index-only search walk,
// role=admin&status=active sorted by -last_login walked users_last_login
// testing each account, and the search read a window of 20,000 whole
// rows. PostgreSQL only (make test-go-postgres).
func TestPGGridPlans_NoTableScanNoFullSort(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	const n = 20_000
	if err := app.Svc.Seed(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	// A fifth of the accounts waiting for their first sign-in, none with
	// a verified email (as at a million, where 40,000 are pending): a
	// filter that matches none of them must not read them all in the
	// sort's order.
	if _, err := db.ExecContext(ctx, "UPDATE users SET status = 'pending', email_verified_at = NULL, last_login_at = NULL WHERE id % 5 = 0 AND role = 'user'"); err != nil {
		t.Fatal(err)
	}
	// As autovacuum leaves a table that has settled: index-only scans
	// need the visibility map (the dormant counts read users_last_login
	// alone).
	if _, err := db.ExecContext(ctx, "VACUUM (ANALYZE) users"); err != nil {
		t.Fatal(err)
	}
	// A window smaller than the table, as at a million accounts (where
	// it is 50,000 of 1,000,000): the search's walk then ends at an edge.
	undo := models.SetPGSearchWindow(2_000)
	defer undo()
	log := &queryLog{}
	db.AddQueryHook(log)
	now := time.Now()
	desc, asc := models.UserSort{Key: "last_login", Desc: true}, models.UserSort{Key: "last_login"}
	byName := models.UserSort{Key: "display_name"}
	yes := true
	for _, c := range []struct {
		f models.UserFilter
		s models.UserSort
	}{
		{models.UserFilter{}, models.UserSort{Key: "id", Desc: true}},
		{models.UserFilter{}, byName},
		{models.UserFilter{}, desc},
		{models.UserFilter{Role: models.RoleUser, Status: models.StatusActive}, desc},
		{models.UserFilter{Role: models.RoleAdmin, Status: models.StatusActive}, desc},
		{models.UserFilter{Role: models.RoleUser, Status: models.StatusSuspended}, desc},
		{models.UserFilter{Role: models.RoleAdmin, Status: models.StatusActive}, asc},
		{models.UserFilter{Status: models.StatusPending}, desc},
		{models.UserFilter{Q: "example.net"}, byName},
		{models.UserFilter{Q: "chen"}, byName},
		{models.UserFilter{Q: "ya"}, byName},
		{models.UserFilter{Q: "k7"}, byName},
		// The slowest cells of the PostgreSQL grid at a million accounts
		// (BENCHMARKS.md, session 14).
		{models.UserFilter{DormantDays: 3650}, desc},
		{models.UserFilter{Status: models.StatusPending, EmailVerified: &yes}, desc},
		{models.UserFilter{Status: models.StatusPending, EmailVerified: &yes}, models.UserSort{Key: "updated"}},
		{models.UserFilter{Status: models.StatusSuspended, EmailVerified: &yes}, models.UserSort{Key: "id"}},
		{models.UserFilter{Q: "chen", Status: models.StatusSuspended}, byName},
	} {
		if _, _, _, err := models.SearchUsers(ctx, db, c.f, c.s, 25, 0, now); err != nil {
			t.Fatalf("%+v %+v: %v", c.f, c.s, err)
		}
	}
	log.mu.Lock()
	qs := append([]string(nil), log.qs...)
	log.mu.Unlock()
	if len(qs) < 12 {
		t.Fatalf("recorded %d queries", len(qs))
	}
	for _, q := range qs {
		var out []string
		if err := db.NewRaw("EXPLAIN (ANALYZE, FORMAT JSON) "+q).Scan(ctx, &out); err != nil {
			t.Fatalf("explain %s: %v", q, err)
		}
		var plans []struct {
			Plan planNode `json:"Plan"`
		}
		if err := json.Unmarshal([]byte(strings.Join(out, "")), &plans); err != nil || len(plans) == 0 {
			t.Fatalf("plan of %s: %v", q, err)
		}
		for _, fault := range planFaults(plans[0].Plan, n, "") {
			t.Errorf("%s\n  in: %s", fault, q)
		}
	}
}

// explainNodes runs EXPLAIN ANALYZE on q and returns its plan's nodes.
func explainNodes(t *testing.T, db bun.IDB, q string) []planNode {
	t.Helper()
	var out []string
	if err := db.NewRaw("EXPLAIN (ANALYZE, FORMAT JSON) "+q).Scan(context.Background(), &out); err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(strings.Join(out, "")), &plans); err != nil || len(plans) == 0 {
		t.Fatalf("plan of %s: %v", q, err)
	}
	var nodes []planNode
	var walk func(p planNode)
	walk = func(p planNode) {
		nodes = append(nodes, p)
		for _, c := range p.Plans {
			walk(c)
		}
	}
	walk(plans[0].Plan)
	return nodes
}

// TestPGSearchPlans_WindowAndMatchesReadOnce: on PostgreSQL, the first
// page of a search sorted by display name with its total (what the
// accounts grid asks for) walks the window of the display-name order at
// most once and reads each match from the table at most once, plus the
// page's rows. Before, the total walked the window and then the page
// walked it again, and when the window held no page (a first name:
// "sofia") the total read up to 1,000 matches through the trigram index
// and the page then read every match again. PostgreSQL only (make
// test-go-postgres).
func TestPGSearchPlans_WindowAndMatchesReadOnce(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	const n, window, limit = 20_000, 2_000, 25
	if err := app.Svc.Seed(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	// As autovacuum leaves a settled table: the visibility map lets the
	// walk read the index alone.
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE users"); err != nil {
		t.Fatal(err)
	}
	undo := models.SetPGSearchWindow(window)
	defer undo()
	log := &queryLog{}
	db.AddQueryHook(log)
	now := time.Now()
	for _, c := range []struct {
		q    string
		desc bool
	}{{"sofia", false}, {"sofia", true}, {"chen", false}, {"li", false}, {"zzzz", false}} {
		f := models.UserFilter{Q: c.q}
		matches, err := models.ApplyUserFilter(db.NewSelect().Model((*models.User)(nil)), f, now).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		log.mu.Lock()
		log.qs = nil
		log.mu.Unlock()
		users, total, estimate, err := models.SearchUsers(ctx, db, f, models.UserSort{Key: "display_name", Desc: c.desc}, limit, 0, now)
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		if want := min(matches, limit); len(users) != int(want) {
			t.Fatalf("%q: %d accounts, want %d", c.q, len(users), want)
		}
		if wantTotal, wantEst := min(int64(matches), models.SearchCountCap), matches > models.SearchCountCap; total != wantTotal || estimate != wantEst {
			t.Fatalf("%q: total %d (estimate %v), want %d (%v)", c.q, total, estimate, wantTotal, wantEst)
		}
		log.mu.Lock()
		qs := append([]string(nil), log.qs...)
		log.mu.Unlock()
		var walked, read float64
		for _, q := range qs {
			if strings.HasPrefix(q, "SELECT count(*) FROM (SELECT 1 FROM users WHERE") {
				// A prefix's range in one field's own index, counted
				// index-only up to the cap (models.pgPrefixPastCap): it
				// reads the range's entries, not a walk.
				continue
			}
			for _, p := range explainNodes(t, db, q) {
				examined := (p.ActualRows + p.RowsRemoved + p.RowsRechecks) * max(p.ActualLoops, 1)
				switch {
				case p.Index == "users_display_cover" && p.NodeType != "Bitmap Index Scan":
					// A walk of the display-name order (a bitmap scan of
					// it reads a prefix's matches).
					walked += examined
				case p.Relation == "users" && (p.NodeType == "Bitmap Heap Scan" || p.NodeType == "Index Scan" || p.NodeType == "Seq Scan"):
					read += examined
				}
			}
		}
		// The window's edge comes from the histogram (a thousand buckets)
		// and takes in every tie of its display name: some slack. In
		// descending order the "sofia" names come about 2,700 accounts
		// from the end, close enough past the window for the walk to go
		// on to them (models.pgWalkOn): then it reads no match twice and
		// only the page's rows.
		most := window * 1.25
		if c.q == "sofia" && c.desc {
			most = n / 4
		}
		if walked > most {
			t.Errorf("%q desc %v: walked %.0f entries of users_display_cover, want at most %.0f (the window once)\n  %s", c.q, c.desc, walked, most, strings.Join(qs, "\n  "))
		}
		if read > float64(matches+limit)*1.05 {
			t.Errorf("%q desc %v: read %.0f rows of users for %d matches and a page of %d\n  %s", c.q, c.desc, read, matches, limit, strings.Join(qs, "\n  "))
		}
	}
}

// TestPGSearchPlans_ClusteredTextPastTheWindowIsWalkedTo: on PostgreSQL,
// a text whose matches cluster a little past the window in display-name
// order (a last name: "tanaka", first met in the "ada tanaka" names) is
// found by walking on in that order, reading only the page's rows from
// the table; the page is that of a plain query, both ways. A first name
// ("sofia"), whose matches the display-name histogram puts far past the
// window, is not walked to (every match is read as before). Before, any
// text whose window held no page read every match (about 300 rows here;
// 147,000 for "tanaka" at 10M accounts, 1.6 s). PostgreSQL only (make
// test-go-postgres).
func TestPGSearchPlans_ClusteredTextPastTheWindowIsWalkedTo(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	const n, window, limit = 20_000, 100, 25
	if err := app.Svc.Seed(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE users"); err != nil {
		t.Fatal(err)
	}
	models.ForgetPGHistogram()
	undo := models.SetPGSearchWindow(window)
	defer undo()
	log := &queryLog{}
	db.AddQueryHook(log)
	now := time.Now()
	for _, c := range []struct {
		q          string
		desc       bool
		walkedMost float64 // index entries of the display-name order
		readMost   float64 // rows of users
	}{
		{"tanaka", false, n / 4, limit},
		{"tanaka", true, n / 4, limit},
		{"sofia", false, window * 1.25, n},
	} {
		dir := "ASC"
		if c.desc {
			dir = "DESC"
		}
		var want []int64
		if err := db.NewRaw("SELECT id FROM users WHERE lower(username || chr(1) || display_name || chr(1) || coalesce(email, '') || chr(1) || public_id) LIKE ? ORDER BY lower(display_name) "+dir+", id "+dir+" LIMIT ?", "%"+c.q+"%", limit).Scan(ctx, &want); err != nil {
			t.Fatal(err)
		}
		log.mu.Lock()
		log.qs = nil
		log.mu.Unlock()
		users, err := models.UsersAfter(ctx, db, models.UserFilter{Q: c.q}, models.UserSort{Key: "display_name", Desc: c.desc}, nil, limit, now)
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		var got []int64
		for _, u := range users {
			got = append(got, u.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q desc %v: page %v, want %v", c.q, c.desc, got, want)
		}
		log.mu.Lock()
		qs := append([]string(nil), log.qs...)
		log.mu.Unlock()
		var walked, read float64
		for _, q := range qs {
			for _, p := range explainNodes(t, db, q) {
				examined := (p.ActualRows + p.RowsRemoved + p.RowsRechecks) * max(p.ActualLoops, 1)
				switch {
				case p.Index == "users_display_cover" && p.NodeType != "Bitmap Index Scan":
					walked += examined
				case p.Relation == "users" && (p.NodeType == "Bitmap Heap Scan" || p.NodeType == "Index Scan" || p.NodeType == "Seq Scan"):
					read += examined
				}
			}
		}
		if walked > c.walkedMost || read > c.readMost {
			t.Errorf("%q desc %v: walked %.0f entries of users_display_cover (at most %.0f), read %.0f rows of users (at most %.0f)\n  %s",
				c.q, c.desc, walked, c.walkedMost, read, c.readMost, strings.Join(qs, "\n  "))
		}
	}
}

// execLog records every statement (SET included) in order.
type execLog struct {
	mu sync.Mutex
	qs []string
}

func (l *execLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (l *execLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	l.mu.Lock()
	l.qs = append(l.qs, strings.TrimSpace(e.Query))
	l.mu.Unlock()
}

// TestPGSearchPlans_EveryMatchReadWithoutJIT: on PostgreSQL, a search by
// display name whose window holds no page and whose matches are not
// walked to ("sofia", far past the window) reads every match with JIT
// compilation off and a work_mem that keeps the trigram bitmap exact, in
// one transaction. At 10M accounts the planner's cost of that read passes
// jit_above_cost: JIT took 0.5 s of "sofia" and 8.1 s of "li", and the
// 4 MB default made the bitmap lossy (396,169 rows rechecked away);
// without both "sofia" took 30 s instead of 62 s at load 50
// (BENCHMARKS.md). PostgreSQL only (make test-go-postgres).
func TestPGSearchPlans_EveryMatchReadWithoutJIT(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	if err := app.Svc.Seed(ctx, 20_000, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE users"); err != nil {
		t.Fatal(err)
	}
	models.ForgetPGHistogram()
	defer models.SetPGSearchWindow(2_000)()
	log := &execLog{}
	db.AddQueryHook(log)
	users, _, _, err := models.SearchUsers(ctx, db, models.UserFilter{Q: "sofia"}, models.UserSort{Key: "display_name"}, 25, 0, time.Now())
	if err != nil || len(users) != 25 {
		t.Fatalf("%d accounts, %v", len(users), err)
	}
	log.mu.Lock()
	qs := append([]string(nil), log.qs...)
	log.mu.Unlock()
	jitOff, read := -1, -1
	for i, q := range qs {
		switch {
		case strings.HasPrefix(q, "SET LOCAL jit = off"):
			jitOff = i
		case strings.Contains(q, "count(*) OVER ()"):
			read = i
		}
	}
	if read < 0 {
		t.Fatalf("every match is not read (the plan changed?):\n  %s", strings.Join(qs, "\n  "))
	}
	if jitOff < 0 || jitOff > read {
		t.Fatalf("every match is read without JIT off in its transaction:\n  %s", strings.Join(qs, "\n  "))
	}
}
