package models_test

import (
	"context"
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
