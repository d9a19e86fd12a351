package models_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"

	"github.com/uptrace/bun"
)

// summaryApp is a PostgreSQL app with 3,000 seeded accounts and the
// search summary built in segments of seg accounts.
func summaryApp(t *testing.T, seg int) (*testkit.App, *bun.DB) {
	t.Helper()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	if err := app.Svc.Seed(context.Background(), 3000, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(models.SetPGSummarySegment(seg))
	if ok, err := models.BuildSearchSummary(context.Background(), db); err != nil || !ok {
		t.Fatalf("build: %v %v", ok, err)
	}
	return app, db
}

// summaryInvariantBroken counts the (gram, segment) pairs of accounts
// that the current build lacks.
func summaryInvariantBroken(t *testing.T, db bun.IDB) int {
	t.Helper()
	var n int
	err := db.NewRaw(`SELECT count(*) FROM users u, user_search_state st,
LATERAL user_search_grams_of(u.username_lower, u.email_lower, lower(u.display_name)) AS g
WHERE NOT EXISTS (SELECT 1 FROM user_search_grams x WHERE x.build = st.current_build AND x.gram = g
  AND x.seg = user_search_seg(st.current_build, lower(u.display_name), u.id))`).Scan(context.Background(), &n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkSearchesMatchPlain compares the first page and total of a search
// sorted by display name (both directions) with a plain query's, and the
// second page read by cursor.
func checkSearchesMatchPlain(t *testing.T, db bun.IDB, texts []string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	for _, text := range texts {
		f := models.UserFilter{Q: text}
		for _, desc := range []bool{false, true} {
			s := models.UserSort{Key: "display_name", Desc: desc}
			got, total, _, err := models.SearchUsers(ctx, db, f, s, 25, 0, now)
			if err != nil {
				t.Fatal(err)
			}
			var want []models.User
			if err := models.ApplyUserSort(models.ApplyUserFilter(db.NewSelect().Model(&want), f, now), s).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			if wantTotal := min(len(want), models.SearchCountCap); total != int64(wantTotal) {
				t.Errorf("%q desc %v: total %d, want %d", text, desc, total, wantTotal)
			}
			page := want[:min(25, len(want))]
			if len(got) != len(page) {
				t.Fatalf("%q desc %v: %d rows, want %d", text, desc, len(got), len(page))
			}
			for i := range page {
				if got[i].ID != page[i].ID {
					t.Fatalf("%q desc %v: row %d is %d (%s), want %d (%s)", text, desc, i, got[i].ID, got[i].DisplayName, page[i].ID, page[i].DisplayName)
				}
			}
			if len(got) == 25 {
				k := models.KeyOf(&got[24], s)
				next, total2, _, err := models.SeekUsers(ctx, db, f, s, k, 25, now)
				if err != nil {
					t.Fatal(err)
				}
				if total2 != total {
					t.Errorf("%q desc %v, page 2: total %d, want %d", text, desc, total2, total)
				}
				rest := want[25:min(50, len(want))]
				if len(next) != len(rest) {
					t.Fatalf("%q desc %v, page 2: %d rows, want %d", text, desc, len(next), len(rest))
				}
				for i := range rest {
					if next[i].ID != rest[i].ID {
						t.Fatalf("%q desc %v, page 2: row %d is %d, want %d", text, desc, i, next[i].ID, rest[i].ID)
					}
				}
			}
		}
	}
}

// TestPGSearchSummary_PagesEqualAPlainQuery: with the search summary
// built (segments of 100 accounts), searches sorted by display name give
// the pages and totals of a plain query, for texts the summary prunes
// (with characters outside the public-ID alphabet) and texts it leaves to
// the other plans; also for accounts that match only by email or only by
// public ID, accounts created, renamed and deleted after the build, and
// names with characters of several bytes. PostgreSQL only.
func TestPGSearchSummary_PagesEqualAPlainQuery(t *testing.T) {
	app, db := summaryApp(t, 100)
	ctx := context.Background()
	if n := summaryInvariantBroken(t, db); n != 0 {
		t.Fatalf("after the build, %d grams missing", n)
	}
	texts := []string{"sofia", "li", "lo", "so", "ofi", "example.net", "ia", "chen", "tanaka", "zzzz", "é", "zoë", "øsk", "only-mail", "sofiamail", "x", "ui"}
	checkSearchesMatchPlain(t, db, texts)

	// After the build: new accounts (one matching only by email, one
	// with a name past every bound, one before every bound), renames
	// into and out of a text's range, deletes.
	mail := app.CreateUser(testkit.UserSpec{Username: "q9only", Email: "only-mail.sofiamail@example.com"})
	first := app.CreateUser(testkit.UserSpec{Username: "aaa0first", Email: "aaa0first@x.example"})
	last := app.CreateUser(testkit.UserSpec{Username: "zzzlast", Email: "zzzlast@x.example"})
	for _, u := range []struct {
		id   int64
		name string
	}{{mail.ID, "Quentin Nomatch"}, {first.ID, "  Aaaa Sofia"}, {last.ID, "Zoë Ærøskøbing"}} {
		if _, err := db.NewUpdate().Table("users").Set("display_name = ?", u.name).Where("id = ?", u.id).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	if err := db.NewSelect().Table("users").Column("id").Where("lower(display_name) LIKE 'sofia%'").Order("id").Limit(40).Scan(ctx, &ids); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		switch i % 4 {
		case 0: // out of the text
			if _, err := db.NewUpdate().Table("users").Set("display_name = 'Renamed Person'").Where("id = ?", id).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := db.NewDelete().Table("users").Where("id = ?", id).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.NewUpdate().Table("users").Set("display_name = 'Lisofia Moved'").Where("id IN (SELECT id FROM users WHERE lower(display_name) LIKE 'ben%' ORDER BY id LIMIT 5)").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if n := summaryInvariantBroken(t, db); n != 0 {
		t.Fatalf("after the changes, %d grams missing", n)
	}
	checkSearchesMatchPlain(t, db, texts)
	// A public ID that matches by itself (its text is all in the
	// alphabet: not pruned) and one searched by a part of it.
	var pid string
	if err := db.NewSelect().Table("users").Column("public_id").Where("id = ?", mail.ID).Scan(ctx, &pid); err != nil {
		t.Fatal(err)
	}
	checkSearchesMatchPlain(t, db, []string{pid, pid[3:9], pid[:2]})
}

// TestPGSearchSummary_WalksOnlyCandidateSegments: a search through the
// summary walks only the segments that hold all of the text's grams:
// for "sofia" and "li" (every match's segment, and no more than two
// others), not the whole order. Fails if the walk does not prune.
func TestPGSearchSummary_WalksOnlyCandidateSegments(t *testing.T) {
	_, db := summaryApp(t, 100)
	ctx := context.Background()
	now := time.Now()
	for _, c := range []struct{ text, cond string }{
		{"sofia", "(username_lower LIKE '%sofia%' OR email_lower LIKE '%sofia%' OR lower(display_name) LIKE '%sofia%')"},
		{"li", "(username_lower LIKE 'li%' OR email_lower LIKE 'li%' OR lower(display_name) LIKE 'li%')"},
	} {
		var holding, all int64
		if err := db.NewRaw(fmt.Sprintf(`SELECT count(DISTINCT (r - 1) / 100) FROM (SELECT row_number() OVER (ORDER BY lower(display_name), id) AS r, * FROM users) AS o WHERE %s`, c.cond)).Scan(ctx, &holding); err != nil {
			t.Fatal(err)
		}
		if err := db.NewRaw("SELECT segments FROM user_search_state").Scan(ctx, &all); err != nil {
			t.Fatal(err)
		}
		if holding == 0 || holding*4 > all {
			t.Fatalf("%q: %d of %d segments hold a match: not a test of pruning", c.text, holding, all)
		}
		for _, desc := range []bool{false, true} {
			_, before := models.PGSummaryWalked()
			if _, _, _, err := models.SearchUsers(ctx, db, models.UserFilter{Q: c.text}, models.UserSort{Key: "display_name", Desc: desc}, 25, 0, now); err != nil {
				t.Fatal(err)
			}
			_, after := models.PGSummaryWalked()
			if walked := after - before; walked < holding || walked > holding+2 {
				t.Errorf("%q desc %v: walked %d segments of %d, %d hold a match", c.text, desc, walked, all, holding)
			}
			// A page by cursor walks from the cursor's segment on, and
			// its total the candidates again.
			var key models.UserKey
			if err := db.NewSelect().Table("users").Column("display_name", "id").Where(c.cond).OrderExpr("lower(display_name) "+map[bool]string{true: "DESC", false: "ASC"}[desc]+", id "+map[bool]string{true: "DESC", false: "ASC"}[desc]).Limit(1).Scan(ctx, &key.S, &key.ID); err != nil {
				t.Fatal(err)
			}
			key.Sort = models.UserSort{Key: "display_name", Desc: desc}
			_, before = models.PGSummaryWalked()
			if _, _, _, err := models.SeekUsers(ctx, db, models.UserFilter{Q: c.text}, key.Sort, key, 25, now); err != nil {
				t.Fatal(err)
			}
			_, after = models.PGSummaryWalked()
			if walked := after - before; walked < holding || walked > 2*holding+4 {
				t.Errorf("%q desc %v, by cursor: walked %d segments of %d, %d hold a match", c.text, desc, walked, all, holding)
			}
		}
	}
}

// TestPGSearchSummary_BuildCatchesUpConcurrentWrites: accounts created
// and renamed while a build runs are in the build that becomes current
// (the invariant holds), and the searches still equal a plain query.
func TestPGSearchSummary_BuildCatchesUpConcurrentWrites(t *testing.T) {
	app, db := summaryApp(t, 10)
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			name := fmt.Sprintf("cc%dlisofia", i)
			u := app.CreateUser(testkit.UserSpec{Username: name, Email: name + "@w.example"})
			if _, err := db.NewUpdate().Table("users").Set("display_name = ?", fmt.Sprintf("Sofia Li %d", i)).Where("id = ?", u.ID).Exec(ctx); err != nil {
				t.Error(err)
				return
			}
			if _, err := db.NewUpdate().Table("users").Set("display_name = 'Lia Sofiane'").Where("id = (SELECT id FROM users WHERE display_name NOT LIKE 'Lia%' ORDER BY random() LIMIT 1)").Exec(ctx); err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
		}
	}()
	for range 2 {
		if ok, err := models.BuildSearchSummary(ctx, db); err != nil || !ok {
			t.Fatalf("build: %v %v", ok, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if writes.Load() < 3 {
		t.Fatalf("only %d writes during the builds", writes.Load())
	}
	if n := summaryInvariantBroken(t, db); n != 0 {
		t.Fatalf("%d grams missing after %d concurrent writes", n, writes.Load())
	}
	checkSearchesMatchPlain(t, db, []string{"sofia", "li", "lia sof", "cc1"})
}

// TestSummaryGrams: which texts the summary prunes, and their grams.
func TestSummaryGrams(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"sofia", []string{"sof", "ofi", "fia"}},
		{"li", []string{"\x01li"}},
		{"ab", nil},   // a public ID may start with it
		{"chen", nil}, // a public ID may hold it
		{"l", nil},    // too short
		{"zoë", []string{"zoë"}},
		{"ababa", nil},
		{"a.b.a.b", []string{"a.b", ".b.", "b.a", ".a."}},
	} {
		got := models.SummaryGrams(c.text)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
}

// TestPGSearchSummary_PublicIDAlphabetTextsPruned: a text of four or more
// characters that a public ID could contain ("tanaka", "mart", "chen")
// goes through the summary too: its public-ID matches are looked up apart
// (users_public_id_trgm) and merged, so only the segments whose username,
// email or display name hold all its grams are walked. Pages (first and
// by cursor) and totals equal a plain query's, also for an account that
// matches only by its public ID, in a segment that holds no other match.
// Before, these texts planned without the summary (at 10M, "tanaka" and
// "mart" walked the 69,332-entry window and on, 30-67 ms of CPU).
// PostgreSQL only.
func TestPGSearchSummary_PublicIDAlphabetTextsPruned(t *testing.T) {
	_, db := summaryApp(t, 10)
	ctx := context.Background()
	now := time.Now()
	// Two accounts whose public IDs alone hold "mart" and "tanaka", named
	// so that no other field does.
	for _, c := range []struct{ pid, name string }{{"q2martq2", "Zed Quux"}, {"tanaka77", "Bob Nobody"}} {
		if _, err := db.ExecContext(ctx, "UPDATE users SET public_id = ? || substr(public_id, 9), display_name = ? WHERE id = (SELECT id FROM users WHERE lower(display_name) NOT LIKE '%mart%' AND lower(display_name) NOT LIKE '%tanaka%' ORDER BY id LIMIT 1)", c.pid, c.name); err != nil {
			t.Fatal(err)
		}
	}
	var pid string
	if err := db.NewSelect().Table("users").Column("public_id").Where("display_name = 'Bob Nobody'").Scan(ctx, &pid); err != nil {
		t.Fatal(err)
	}
	texts := []string{"tanaka", "mart", "chen", "ming", "q2mart", pid[:6], pid[4:12], "77zz"}
	checkSearchesMatchPlain(t, db, texts)
	for _, text := range []string{"tanaka", "mart"} {
		cond := fmt.Sprintf("(username_lower LIKE '%%%[1]s%%' OR email_lower LIKE '%%%[1]s%%' OR lower(display_name) LIKE '%%%[1]s%%')", text)
		var holding, all int64
		if err := db.NewRaw(fmt.Sprintf(`SELECT count(DISTINCT (r - 1) / 10) FROM (SELECT row_number() OVER (ORDER BY lower(display_name), id) AS r, * FROM users) AS o WHERE %s`, cond)).Scan(ctx, &holding); err != nil {
			t.Fatal(err)
		}
		if err := db.NewRaw("SELECT segments FROM user_search_state").Scan(ctx, &all); err != nil {
			t.Fatal(err)
		}
		if holding == 0 || holding*4 > all {
			t.Fatalf("%q: %d of %d segments hold a match: not a test of pruning", text, holding, all)
		}
		for _, desc := range []bool{false, true} {
			_, before := models.PGSummaryWalked()
			if _, _, _, err := models.SearchUsers(ctx, db, models.UserFilter{Q: text}, models.UserSort{Key: "display_name", Desc: desc}, 25, 0, now); err != nil {
				t.Fatal(err)
			}
			_, after := models.PGSummaryWalked()
			if walked := after - before; walked < holding || walked > holding+2 {
				t.Errorf("%q desc %v: walked %d segments of %d, %d hold a match in a name, username or email", text, desc, walked, all, holding)
			}
		}
	}
}
