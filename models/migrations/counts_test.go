package migrations_test

import (
	"context"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// The trigger-maintained counts must always equal a real count, through
// inserts, status and role changes, bulk updates and deletes.
func TestUserCountsFollowEveryChange(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	db := app.Svc.DB
	check := func(step string) {
		t.Helper()
		for _, f := range []models.UserFilter{{}, {Role: "user"}, {Status: "suspended"}, {Role: "admin", Status: "active"}} {
			got, est, err := models.CountUsersMatching(ctx, db, f, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			q := db.NewSelect().Model((*models.User)(nil))
			if f.Role != "" {
				q = q.Where("role = ?", f.Role)
			}
			if f.Status != "" {
				q = q.Where("status = ?", f.Status)
			}
			want, err := q.Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != want || est {
				t.Fatalf("%s: count %+v = %d (estimate %v), want %d", step, f, got, est, want)
			}
		}
	}
	check("empty")
	a, b := app.Member("ann"), app.Member("ben")
	app.Admin("cat")
	check("inserts")
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("status = 'suspended'").Where("id IN (?, ?)", a.ID, b.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	check("status")
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("role = 'admin'").Where("id = ?", a.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	check("role")
	if _, err := db.NewDelete().Model((*models.User)(nil)).Where("id = ?", b.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	check("delete")
	if err := app.Svc.Seed(ctx, 300, nil); err != nil {
		t.Fatal(err)
	}
	check("seed")
}
