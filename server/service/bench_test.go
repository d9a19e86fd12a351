package service_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/config"
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

// seeded is an app with benchUsers() seeded accounts, or, when BENCH_DATA
// names a data directory that `gatehouse seed` filled (scripts/bench.sh
// passes its own once the server has stopped), that directory as it is:
// seeding a million accounts inside each benchmark would take minutes.
func seeded(b *testing.B) (*testkit.App, service.Actor) {
	b.Helper()
	if dir := os.Getenv("BENCH_DATA"); dir != "" {
		app := testkit.NewApp(b, func(c *config.Config) { c.DataDir = dir })
		root := app.SuperAdmin("benchroot" + strconv.FormatInt(time.Now().UnixNano(), 36))
		return app, service.Actor{User: root.User}
	}
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
		// The grid's slowest cells (scripts/bench-grid.sh): a search with
		// a filter that leaves a few percent of its matches.
		{"q-status-updated", models.UserFilter{Q: "chen", Status: "suspended"}, "updated"},
		{"q-unverified-updated", models.UserFilter{Q: "sofia", EmailVerified: new(bool)}, "-updated"},
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

// BulkTargetsSQL makes about a tenth of the accounts (100,500 of a
// million) suspended and none deactivated, so that a bulk status change
// by the filter status=suspended (to deactivated) and back by
// status=deactivated moves the same accounts each time. scripts/bench.sh
// runs the same statements before its HTTP run.
const BulkTargetsSQL = `UPDATE users SET status = 'active', status_reason = '' WHERE status IN ('suspended', 'deactivated') AND NOT (id % 19 < 2 AND role = 'user');
UPDATE users SET status = 'suspended', status_reason = 'bench' WHERE id % 19 < 2 AND role = 'user' AND status NOT IN ('pending', 'suspended')`

// BenchmarkSingleChange is one account's change through the engine as the
// console's editor makes it (a bulk of one), for each kind of change: a
// pair of changes applied in turn, so that the account ends as it began
// (BENCH_DATA outlives the run). At a million accounts each should cost
// about what it costs at a thousand: status and role changes run the
// administrator sign-in guard, which read every administrator able to
// sign in before each change until 8aea67c (16 ms per status change).
func BenchmarkSingleChange(b *testing.B) {
	app, actor := seeded(b)
	ctx := context.Background()
	var target string
	if err := app.Svc.DB.NewRaw("SELECT public_id FROM users WHERE role = 'user' AND status = 'active' ORDER BY id LIMIT 1 OFFSET 1000").Scan(ctx, &target); err != nil {
		b.Fatal(err)
	}
	str := func(s string) *string { return &s }
	cases := []struct {
		name string
		pair [2]service.AccountChange
	}{
		{"status", [2]service.AccountChange{service.StatusChange{Status: models.StatusSuspended}, service.StatusChange{Status: models.StatusActive}}},
		{"role", [2]service.AccountChange{&service.UserPatch{Role: str(models.RoleAdmin)}, &service.UserPatch{Role: str(models.RoleUser)}}},
		{"email", [2]service.AccountChange{&service.UserPatch{Email: str("bench-single-a@example.org")}, &service.UserPatch{Email: str("bench-single-b@example.org")}}},
		{"display-name", [2]service.AccountChange{&service.UserPatch{DisplayName: str("Bench Single A")}, &service.UserPatch{DisplayName: str("Bench Single B")}}},
		{"balance", [2]service.AccountChange{service.BalanceChange{Mode: "add", Amount: 100}, service.BalanceChange{Mode: "add", Amount: -100}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if _, ok := c.pair[0].(service.BalanceChange); ok {
				// Balances are fields of the usage mode.
				before, err := app.Svc.Settings.Billing(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := app.Svc.Settings.Store(ctx, service.GroupBilling, service.BillingSettings{Mode: "usage"}); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = app.Svc.Settings.Store(ctx, service.GroupBilling, before) })
			}
			i := 0
			for b.Loop() {
				if _, err := app.Svc.Users.Apply(ctx, actor, service.Targets{PublicIDs: []string{target}}, c.pair[i%2], service.ApplyOptions{Reason: "bench"}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if i%2 == 1 {
				if _, err := app.Svc.Users.Apply(ctx, actor, service.Targets{PublicIDs: []string{target}}, c.pair[1], service.ApplyOptions{Reason: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBulkStatusChange changes the status of about a tenth of the
// accounts (every suspended one to deactivated, then back) through the
// account-change engine, with an audit row per account.
func BenchmarkBulkStatusChange(b *testing.B) { benchBulkStatusChange(b, false) }

// BenchmarkBulkStatusChangeWebhook is BenchmarkBulkStatusChange with an
// enabled webhook endpoint that wants account.status_changed: every
// changed account also gets an event row and a delivery row (the audit
// hook, Webhooks.record). Deliveries are not sent (the worker is stopped).
func BenchmarkBulkStatusChangeWebhook(b *testing.B) { benchBulkStatusChange(b, true) }

func benchBulkStatusChange(b *testing.B, webhook bool) {
	app, actor := seeded(b)
	ctx := context.Background()
	if webhook {
		app.Svc.Webhooks.Close()
		url, events, on := "https://hooks.example.org/gatehouse", []string{service.EventAccountStatusChanged}, true
		ep, _, err := app.Svc.Webhooks.Create(ctx, actor, service.WebhookEndpointInput{URL: &url, Events: &events, Enabled: &on})
		if err != nil {
			b.Fatal(err)
		}
		// A BENCH_DATA directory outlives the benchmark: the endpoint
		// goes with it.
		b.Cleanup(func() { _ = app.Svc.Webhooks.Delete(ctx, actor, ep.PublicID) })
	}
	var maxID int64
	if err := app.Svc.DB.NewRaw("SELECT max(id) FROM users").Scan(ctx, &maxID); err != nil {
		b.Fatal(err)
	}
	// In ranges of ids, so that no one statement runs for minutes on a
	// busy machine (PostgreSQL's driver used to give up after 10 s; see
	// OpenPostgres).
	for _, stmt := range strings.Split(BulkTargetsSQL, ";") {
		for lo := int64(0); lo < maxID; lo += 50_000 {
			if _, err := app.Svc.DB.NewRaw(stmt+" AND id > ? AND id <= ?", lo, lo+50_000).Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Setup wrote to disk (with BENCH_DATA, a pending migration backs the
	// whole 1.3 GB database up first): flush it, so that its writeback
	// does not run during the measured change (a run after a new
	// migration took 4.7-4.9 s instead of 3.6 s).
	syscall.Sync()
	from := []string{models.StatusSuspended, models.StatusDeactivated}
	var changed int
	i := 0
	// CPU seconds of the process per operation beside the wall time: on
	// the shared machine the wall time measures the load as much as the
	// code.
	var cpu, after float64
	var reads, writes int64
	var times []float64
	for b.Loop() {
		cpu0 := cpuSeconds()
		r0, w0 := ioCalls()
		t0 := time.Now()
		res, err := app.Svc.Users.Bulk(ctx, actor, service.BulkRequest{
			Action: service.BulkSetStatus, Filter: &models.UserFilter{Status: from[i%2]}, Status: from[(i+1)%2], Reason: "bench", SkipRefused: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0).Seconds())
		cpu += cpuSeconds() - cpu0
		r1, w1 := ioCalls()
		reads, writes = reads+r1-r0, writes+w1-w0
		changed = res.Changed
		i++
		// What follows the change in the background, outside its time:
		// the checkpoint and the sweep of the update-time log's stale
		// entries (SQLite). The next change starts after them, so that
		// each is measured alone (with -benchtime 3x back to back, each
		// shared the two cores with the sweep before it: 3.46 s a change
		// against 2.7-3.5 s alone, BENCHMARKS.md, session 20).
		b.StopTimer()
		t1 := time.Now()
		models.WaitUpdatedLogSweeps()
		after += time.Since(t1).Seconds()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(changed), "accounts/op")
	slices.Sort(times)
	b.ReportMetric(times[len(times)/2], "median-s")
	b.ReportMetric(cpu/n, "cpu-s/op")
	b.ReportMetric(float64(reads)/n, "reads/op")
	b.ReportMetric(float64(writes)/n, "writes/op")
	b.ReportMetric(after/n, "after-s")
}

// ioCalls is the process's read and write system calls so far
// (/proc/self/io: syscr, syscw; 0 where there is none).
func ioCalls() (r, w int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			r = n
		case "syscw":
			w = n
		}
	}
	return r, w
}

// cpuSeconds is the user and system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkBulkDelete deletes a tenth of the accounts by filter (those
// it has just suspended) while 5,000 sign-in challenges of other accounts
// are pending: every deleted account's foreign keys are followed into
// login_challenges and the other referencing tables. Each iteration
// deletes another tenth of what is left. It never runs on BENCH_DATA (the
// shared directory of make bench, which the other benchmarks read after
// it): it seeds its own 20,000 accounts, or deletes from the directory
// BENCH_DELETE_DATA names, which must be a copy made for it.
func BenchmarkBulkDelete(b *testing.B) {
	ctx := context.Background()
	var app *testkit.App
	if dir := os.Getenv("BENCH_DELETE_DATA"); dir != "" {
		app = testkit.NewApp(b, func(c *config.Config) { c.DataDir = dir })
	} else {
		app = testkit.NewApp(b)
		if err := app.Svc.Seed(ctx, 20000, nil); err != nil {
			b.Fatal(err)
		}
	}
	actor := service.Actor{User: app.SuperAdmin("benchroot" + strconv.FormatInt(time.Now().UnixNano(), 36)).User}
	now := time.Now().UTC()
	if _, err := app.Svc.DB.NewRaw(`INSERT INTO login_challenges (token_hash, user_id, method, created_at, expires_at)
SELECT printf('bench%059d', id), id, 'password', ?, ? FROM users WHERE id % 10 = 2 LIMIT 5000`, now, now.Add(time.Hour)).Exec(ctx); err != nil {
		b.Fatal(err)
	}
	var deleted int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := app.Svc.DB.NewRaw(`UPDATE users SET status = 'suspended' WHERE id % 10 = ? AND role = 'user'`, (3+i)%10).Exec(ctx); err != nil {
			b.Fatal(err)
		}
		syscall.Sync()
		b.StartTimer()
		res, err := app.Svc.Users.Bulk(ctx, actor, service.BulkRequest{
			Action: service.BulkDelete, Filter: &models.UserFilter{Status: models.StatusSuspended}, Reason: "bench", SkipRefused: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		deleted += res.Changed
	}
	b.ReportMetric(float64(deleted)/float64(b.N), "accounts/op")
}
