package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// Every search path (display-name order through the ordered search index,
// the other orders, short prefixes, filters, both directions, later pages)
// must return exactly what a plain scan of the users table returns.
func TestSearchMatchesAPlainScanInEveryOrder(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	db := app.Svc.DB
	if err := app.Svc.Seed(ctx, 6000, nil); err != nil {
		t.Fatal(err)
	}
	// Names the seed does not make: case, accents, non-Latin scripts
	// (lower-case: SQLite folds only ASCII row by row, the index folds all),
	// identical eight-character prefixes, and a later rename.
	for i, name := range []string{"sofia adams", "SOFIA ADAMSON", "Sofia Adams", "émile Sofia", "张伟 sofia", "Zed Sofiane", "  Sofia", "sofia", "Ana-Sofia Li"} {
		u := app.Member(fmt.Sprintf("extra%d", i))
		if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("display_name = ?", name).Where("id = ?", u.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Ids from 2^23 up are indexed without a display key.
	if !models.IsSQLite(db) {
		t.Log("PostgreSQL: no ordered search index; the comparison still runs")
	} else if _, err := db.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = 8388600 WHERE name = 'users'"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		u := app.Member(fmt.Sprintf("bigid%d", i))
		if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("display_name = ?", []string{"Aaron Sofia", "sofia zz", "Mart Big"}[i]).Where("id = ?", u.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	renamed := app.Member("renamed")
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("display_name = 'Aardvark Sofia'").Where("id = ?", renamed.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	plain := func(text string, f models.UserFilter, s models.UserSort, limit, offset int) ([]models.User, int) {
		var want []models.User
		text = strings.ToLower(text)
		var cond string
		var args []any
		if len([]rune(text)) < models.MinSubstringLen {
			p := text + "%"
			cond, args = "(u.username_lower LIKE ? OR u.email_lower LIKE ? OR u.public_id LIKE ? OR lower(u.display_name) LIKE ?)", []any{p, p, p, p}
		} else {
			p := "%" + text + "%"
			cond, args = "(u.username_lower LIKE ? OR lower(u.display_name) LIKE ? OR u.email_lower LIKE ? OR lower(u.public_id) LIKE ?)", []any{p, p, p, p}
		}
		q := models.ApplyUserFilter(db.NewSelect().Model(&want), f, time.Now()).Where(cond, args...)
		n, err := models.ApplyUserSort(q, s).Limit(int64(limit)).Offset(int64(offset)).ScanAndCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return want, int(n)
	}
	suspended := models.UserFilter{Status: "suspended"}
	admins := models.UserFilter{Role: "admin"}
	cases := 0
	for _, text := range []string{"sofia", "SOFIA", "sofia adams", "adams", "example.org", "chen", "mart", "li", "s", "k", "é", "张", "zz", "ia a", "nosuchthing"} {
		for _, f := range []models.UserFilter{{}, suspended, admins} {
			for _, sort := range []string{"display_name", "-display_name", "-id", "-last_login", "updated"} {
				for _, page := range []struct{ limit, offset int }{{25, 0}, {10, 40}} {
					s, _ := models.ParseUserSort(sort)
					f := f
					f.Q = text
					got, total, estimate, err := models.SearchUsers(ctx, db, f, s, page.limit, page.offset, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					want, n := plain(text, models.UserFilter{Role: f.Role, Status: f.Status}, s, page.limit, page.offset)
					cases++
					where := fmt.Sprintf("%q %+v sort %s page %+v", text, models.UserFilter{Role: f.Role, Status: f.Status}, sort, page)
					if (!estimate && total != int64(n)) || (estimate && total > int64(n)) {
						t.Errorf("%s: total %d (estimate %v), plain scan %d", where, total, estimate, n)
					}
					if len(got) != len(want) {
						t.Errorf("%s: %d rows, plain scan %d", where, len(got), len(want))
						continue
					}
					for i := range got {
						if got[i].ID != want[i].ID {
							t.Errorf("%s: row %d is %q (%d), plain scan has %q (%d)", where, i, got[i].DisplayName, got[i].ID, want[i].DisplayName, want[i].ID)
							break
						}
					}
				}
			}
		}
	}
	t.Logf("%d searches compared", cases)
	// The rename moved the account in display order, and the big ids are found.
	s, _ := models.ParseUserSort("display_name")
	got, _, _, err := models.SearchUsers(ctx, db, models.UserFilter{Q: "sofia"}, s, 3, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].DisplayName != "  Sofia" || got[1].DisplayName != "Aardvark Sofia" || got[2].DisplayName != "Aaron Sofia" {
		t.Fatalf("first three for sofia: %+v", got)
	}
}
