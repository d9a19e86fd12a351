package service_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// benchUsers is the seeded size for in-process benchmarks (BENCH_USERS,
// default 20000: big enough to show the query plans, quick to seed).
func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

func seeded(b *testing.B) (*testkit.App, service.Actor) {
	b.Helper()
	app := testkit.NewApp(b)
	if err := app.Svc.Seed(context.Background(), benchUsers(), nil); err != nil {
		b.Fatal(err)
	}
	root := app.SuperAdmin("benchroot")
	return app, service.Actor{User: root.User}
}

func BenchmarkSessionLookup(b *testing.B) {
	app := testkit.NewApp(b)
	alice := app.Member("alice")
	res, _, err := app.Svc.Auth.Login(context.Background(), service.Actor{}, "alice", alice.Password)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := app.Svc.Auth.Authenticate(context.Background(), res.Token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserSearch(b *testing.B) {
	app, _ := seeded(b)
	cases := []struct {
		name string
		f    models.UserFilter
		sort string
	}{
		{"first-page-id-desc", models.UserFilter{}, "-id"},
		{"q-substring-display-name", models.UserFilter{Q: "chen"}, "display_name"},
		{"q-short-prefix", models.UserFilter{Q: "li"}, "display_name"},
		{"role-status-last-login", models.UserFilter{Role: "user", Status: "active"}, "-last_login"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s, _ := models.ParseUserSort(c.sort)
			for b.Loop() {
				if _, _, _, err := app.Svc.Users.Search(context.Background(), c.f, s, 1, 25); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBulkStatusChange(b *testing.B) {
	app, actor := seeded(b)
	status := []string{models.StatusSuspended, models.StatusActive}
	var changed int
	i := 0
	for b.Loop() {
		res, err := app.Svc.Users.Bulk(context.Background(), actor, service.BulkRequest{
			Action: service.BulkSetStatus, Filter: &models.UserFilter{Role: models.RoleUser}, Status: status[i%2], Reason: "bench", SkipRefused: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		changed = res.Changed
		i++
	}
	b.ReportMetric(float64(changed), "accounts/op")
}
