package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// TestPGSearchByDisplayName_FirstPageMatchesAPlainQuery: the first page of
// a search sorted by display name (PostgreSQL reads a window of the
// display-name order first, else every match sorted) equals a plain
// filtered, sorted query, for windows that hold the page, that do not,
// and that hold none of it; texts, prefixes, other filters, both
// directions. PostgreSQL only (make test-go-postgres).
func TestPGSearchByDisplayName_FirstPageMatchesAPlainQuery(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	if err := app.Svc.Seed(ctx, 3000, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, window := range []int{1, 50, 400, 100000} {
		undo := models.SetPGSearchWindow(window)
		for _, f := range []models.UserFilter{{Q: "sofia"}, {Q: "li"}, {Q: "chen"}, {Q: "y"}, {Q: "example.net"}, {Q: "zzzz"}, {Q: "an", Status: models.StatusSuspended}, {Q: "mart", Role: models.RoleUser}} {
			for _, desc := range []bool{false, true} {
				s := models.UserSort{Key: "display_name", Desc: desc}
				got, _, _, err := models.SearchUsers(ctx, db, f, s, 25, 0, now)
				if err != nil {
					t.Fatal(err)
				}
				var want []models.User
				if err := models.ApplyUserSort(models.ApplyUserFilter(db.NewSelect().Model(&want), f, now), s).Limit(25).Scan(ctx); err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("window %d, %+v desc %v: %d rows, want %d", window, f, desc, len(got), len(want))
				}
				for i := range want {
					if got[i].ID != want[i].ID {
						t.Fatalf("window %d, %+v desc %v: row %d is %d (%s), want %d (%s)", window, f, desc, i, got[i].ID, got[i].DisplayName, want[i].ID, want[i].DisplayName)
					}
				}
			}
		}
		undo()
	}
}

// TestPGSearchTotal_PrefixPastTheCapReadsNoRow: the total of a 2-character
// prefix that one field's index alone holds more than SearchCountCap
// times is the capped estimate, found in that index, without reading
// accounts from the table. Before, the four prefix ranges were counted
// together (a bitmap of them, then a row read from the table per match up
// to the cap): "ya" and "k7", whose public-ID prefixes hold about 9,800
// accounts at 10M, spent 0.4-1 s waiting for those rows. PostgreSQL only
// (make test-go-postgres).
func TestPGSearchTotal_PrefixPastTheCapReadsNoRow(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	if err := app.Svc.Seed(ctx, 3000, nil); err != nil {
		t.Fatal(err)
	}
	// 1,500 usernames that start with "zq": past the cap in the
	// username index alone; their display names are spread.
	if _, err := db.ExecContext(ctx, "UPDATE users SET username = 'zq' || username, username_lower = 'zq' || username_lower WHERE id % 2 = 0"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM (ANALYZE) users"); err != nil {
		t.Fatal(err)
	}
	undo := models.SetPGSearchWindow(200)
	defer undo()
	log := &queryLog{}
	db.AddQueryHook(log)
	now := time.Now()
	for _, s := range []models.UserSort{{Key: "display_name"}, {Key: "display_name", Desc: true}, {Key: "id", Desc: true}} {
		f := models.UserFilter{Q: "zq"}
		log.mu.Lock()
		log.qs = nil
		log.mu.Unlock()
		got, total, estimate, err := models.SearchUsers(ctx, db, f, s, 25, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		if total != models.SearchCountCap || !estimate {
			t.Fatalf("%+v: total %d (estimate %v), want %d, an estimate", s, total, estimate, models.SearchCountCap)
		}
		var want []models.User
		if err := models.ApplyUserSort(models.ApplyUserFilter(db.NewSelect().Model(&want), f, now), s).Limit(25).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%+v: %d rows, want %d", s, len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i].ID {
				t.Fatalf("%+v: row %d is %d, want %d", s, i, got[i].ID, want[i].ID)
			}
		}
		log.mu.Lock()
		qs := append([]string(nil), log.qs...)
		log.mu.Unlock()
		for _, q := range qs {
			if !strings.Contains(q, "count(") {
				continue
			}
			for _, n := range explainNodes(t, db, q) {
				examined := (n.ActualRows + n.RowsRemoved + n.RowsRechecks) * max(n.ActualLoops, 1)
				if n.Relation == "users" && n.NodeType != "Index Only Scan" && examined > 100 {
					t.Errorf("%+v: the total reads %.0f accounts from the table (%s %s)\n  in: %s", s, examined, n.NodeType, n.Index, q)
				}
			}
		}
	}
}

// TestPGSearch_PrefixPastTheCapWalksToThePageOnly: the first page of a
// 2-character prefix sorted by display name, with its total, walks the
// display-name order only as far as the page when one field's own index
// holds more than SearchCountCap of the prefix (the total is then the
// capped estimate whatever the walk counts). Before, the walk went on to
// SearchCountCap+1 matches or the window's end to count them: "ya" at
// 10M tested 69,332 entries of users_display_cover (3,238 index pages)
// to count 72 matches, for a page found in the first 16,740. Pages and totals equal a plain query's
// and CountUsersMatching's; a prefix under the cap is still counted
// exactly. PostgreSQL only (make test-go-postgres).
func TestPGSearch_PrefixPastTheCapWalksToThePageOnly(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	if err := app.Svc.Seed(ctx, 20_000, nil); err != nil {
		t.Fatal(err)
	}
	// 10,000 usernames that start with "zq" (past the cap in the
	// username index alone), their display names spread over the order;
	// 40 that start with "zw" (under it).
	for _, stmt := range []string{
		"UPDATE users SET username = 'zq' || username, username_lower = 'zq' || username_lower WHERE id % 2 = 0",
		"UPDATE users SET username = 'zw' || username, username_lower = 'zw' || username_lower WHERE id % 500 = 1",
		"VACUUM (ANALYZE) users",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	undo := models.SetPGSearchWindow(4000)
	defer undo()
	log := &queryLog{}
	db.AddQueryHook(log)
	now := time.Now()
	for _, c := range []struct {
		q    string
		desc bool
	}{{"zq", false}, {"zq", true}, {"zw", false}, {"zw", true}} {
		f := models.UserFilter{Q: c.q}
		s := models.UserSort{Key: "display_name", Desc: c.desc}
		log.mu.Lock()
		log.qs = nil
		log.mu.Unlock()
		got, total, estimate, err := models.SearchUsers(ctx, db, f, s, 25, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		log.mu.Lock()
		qs := append([]string(nil), log.qs...)
		log.mu.Unlock()
		wantTotal, wantEst, err := models.CountUsersMatching(ctx, db, f, now)
		if err != nil {
			t.Fatal(err)
		}
		if total != wantTotal || estimate != wantEst {
			t.Fatalf("%+v: total %d (estimate %v), want %d (%v)", c, total, estimate, wantTotal, wantEst)
		}
		var want []models.User
		if err := models.ApplyUserSort(models.ApplyUserFilter(db.NewSelect().Model(&want), f, now), s).Limit(25).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%+v: %d rows, want %d", c, len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i].ID {
				t.Fatalf("%+v: row %d is %d, want %d", c, i, got[i].ID, want[i].ID)
			}
		}
		if c.q != "zq" {
			continue
		}
		// Half the accounts match: the page is within the first 60 or
		// so entries; counting to the cap walked about 2,000.
		var walked float64
		for _, q := range qs {
			for _, n := range explainNodes(t, db, q) {
				if n.Index == "users_display_cover" && n.NodeType != "Bitmap Index Scan" || n.NodeType == "Seq Scan" && n.Relation == "users" {
					walked += (n.ActualRows + n.RowsRemoved + n.RowsRechecks) * max(n.ActualLoops, 1)
				}
			}
		}
		if walked > 200 {
			t.Errorf("%+v: walked %.0f entries of users_display_cover for a page of 25\n  %s", c, walked, strings.Join(qs, "\n  "))
		}
	}
}
