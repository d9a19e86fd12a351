package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// A text that matches many accounts takes the "broad" path (walk the sort
// order, test LIKE); its page and total must equal what a plain scan finds.
func TestBroadSearchMatchesAPlainScan(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	if err := app.Svc.Seed(ctx, 20600, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		f    models.UserFilter
		sort string
	}{
		{"exa", models.UserFilter{}, "display_name"},             // every seeded email: broad
		{"EXAMPLE", models.UserFilter{Status: "active"}, "-id"},  // broad, with a filter
		{"example.org", models.UserFilter{}, "display_name"},     // about a fifth: narrow
		{"exa", models.UserFilter{Role: "admin"}, "-last_login"}, // broad text, few rows
	} {
		f := tc.f
		f.Q = tc.q
		s, _ := models.ParseUserSort(tc.sort)
		got, total, estimate, err := models.SearchUsers(ctx, app.Svc.DB, f, s, 25, 25, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var want []models.User
		pattern := "%" + strings.ToLower(tc.q) + "%" // the lower-cased columns; PostgreSQL's LIKE is case-sensitive
		plain := models.ApplyUserFilter(app.Svc.DB.NewSelect().Model(&want), models.UserFilter{Role: f.Role, Status: f.Status}, time.Now()).
			Where("(u.username_lower LIKE ? OR lower(u.display_name) LIKE ? OR u.email_lower LIKE ? OR u.public_id LIKE ?)", pattern, pattern, pattern, pattern)
		n, err := models.ApplyUserSort(plain, s).Limit(25).Offset(25).ScanAndCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A broad search answers a lower bound flagged as an estimate.
		if (!estimate && int64(n) != total) || (estimate && total > int64(n)) {
			t.Errorf("%q %+v: total %d (estimate %v), plain scan %d", tc.q, tc.f, total, estimate, n)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: page of %d, plain scan %d", tc.q, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID {
				t.Fatalf("%q %+v: row %d is %s, plain scan has %s", tc.q, tc.f, i, got[i].Username, want[i].Username)
			}
		}
	}
}

// TestSearchTotal_TextAloneCountsToTheSearchCap: a text with more than
// SearchCountCap matches and no other filter answers "SearchCountCap or
// more" on both databases (PostgreSQL counted to 10,000 rows read from the
// table, seconds for a common text at a million accounts).
func TestSearchTotal_TextAloneCountsToTheSearchCap(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	if err := app.Svc.Seed(ctx, models.SearchCountCap+100, nil); err != nil {
		t.Fatal(err)
	}
	// Every seeded email is at one of the example domains.
	users, total, estimate, err := models.SearchUsers(ctx, app.Svc.DB, models.UserFilter{Q: "example"}, models.UserSort{Key: "display_name"}, 25, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 25 || total != models.SearchCountCap || !estimate {
		t.Fatalf("search of a text every account has: %d rows, total %d, estimate %v; want 25, %d, true", len(users), total, estimate, models.SearchCountCap)
	}
}
