package service_test

import (
	"context"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// Seeding on SQLite drops the users table's indexes and triggers for the
// load and recreates them; afterwards the schema must be exactly as
// before, the trigram index consistent, and the triggers working again.
func TestSeedLeavesIndexesAndTriggersIntact(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	db := app.Svc.DB
	sqlite := models.IsSQLite(db)
	// The users table's indexes and triggers, by name. SQLite's seed drops
	// and recreates them; PostgreSQL's seeds row by row, and must leave
	// them as they were all the same.
	schema := func() map[string]string {
		var rows []struct {
			Name string `bun:"name"`
			SQL  string `bun:"sql"`
		}
		query := `SELECT name, sql FROM sqlite_master WHERE tbl_name = 'users' AND sql IS NOT NULL`
		if !sqlite {
			query = `SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE tablename = 'users'
UNION ALL SELECT tgname AS name, pg_get_triggerdef(t.oid) AS sql FROM pg_trigger t WHERE t.tgrelid = 'users'::regclass AND NOT t.tgisinternal`
		}
		if err := db.NewRaw(query).Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range rows {
			m[r.Name] = r.SQL
		}
		return m
	}
	app.Member("before")
	want := schema()
	if len(want) < 10 {
		t.Fatalf("expected the users table with its indexes and triggers, got %d entries", len(want))
	}
	if err := app.Svc.Seed(ctx, 2500, nil); err != nil {
		t.Fatal(err)
	}
	got := schema()
	for name, sql := range want {
		if got[name] != sql {
			t.Errorf("%s after seed: %q, want %q", name, got[name], sql)
		}
	}
	if len(got) != len(want) {
		t.Errorf("schema has %d entries after seed, want %d", len(got), len(want))
	}
	if sqlite {
		var mode string
		if err := db.NewRaw("PRAGMA journal_mode").Scan(ctx, &mode); err != nil || mode != "wal" {
			t.Fatalf("journal mode after seed: %q, %v (the server relies on WAL)", mode, err)
		}
		if err := models.CheckSearchIndex(ctx, db); err != nil {
			t.Fatalf("trigram index inconsistent after seed: %v", err)
		}
	}
	// The account created before the seed, a seeded one and one created
	// after it (through the recreated triggers) are all found by substring.
	var seeded models.User
	if err := db.NewSelect().Model(&seeded).Where("username_lower <> 'before'").OrderExpr("id DESC").Limit(1).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	app.Member("afterseed")
	for _, q := range []string{"efor", seeded.Username[2:], "fterse"} {
		users, total, _, err := models.SearchUsers(ctx, db, models.UserFilter{Q: q}, models.UserSort{Key: "id"}, 10, 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if total < 1 || len(users) < 1 {
			t.Errorf("search %q after seed found nothing", q)
		}
	}
	var n int64
	if err := db.NewSelect().Table("user_counts").ColumnExpr("sum(n)").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	real, err := db.NewSelect().Model((*models.User)(nil)).Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(real) || real < 2502 {
		t.Errorf("user_counts sums to %d, users has %d rows", n, real)
	}
}
