package models

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestUpdateUsersSet_GroupsByUpdatedAt: a large change on SQLite goes in
// groups whose old updated_at do not overlap, each in id order, when the
// accounts were last changed at different times (their users_updated
// entries are then spread over the index; BENCHMARKS.md, session 14, h2);
// accounts changed together go in one statement. Every row is changed and
// named either way.
func TestUpdateUsersSet_GroupsByUpdatedAt(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "groups.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const n = 30_000
	for _, q := range []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, public_id TEXT NOT NULL, username TEXT NOT NULL, status TEXT NOT NULL, status_reason TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL)`,
		`CREATE INDEX users_updated ON users (updated_at, id, status)`,
		// updated_at a permutation of the ids: spread as in a real directory.
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 30000)
INSERT INTO users (id, public_id, username, status, updated_at) SELECT x, 'p' || x, 'u' || x, 'suspended', printf('2026-01-01 00:00:%09d', (x * 7919) % 30000) FROM c`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	oldAt := func(id int64) string {
		var at string
		if err := db.NewRaw("SELECT updated_at FROM users WHERE id = ?", id).Scan(ctx, &at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	groups, err := groupsByUpdatedAt(ctx, db, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 {
		t.Fatalf("%d groups of 30,000 spread accounts, want 3", len(groups))
	}
	var all []int64
	last := ""
	for i, g := range groups {
		if !slices.IsSorted(g) {
			t.Fatalf("group %d not in id order", i)
		}
		lo, hi := "~", ""
		for _, id := range g {
			at := oldAt(id)
			lo, hi = min(lo, at), max(hi, at)
		}
		if lo <= last {
			t.Fatalf("group %d starts at %s, before the end of the one before it (%s)", i, lo, last)
		}
		last = hi
		all = append(all, g...)
	}
	slices.Sort(all)
	if !slices.Equal(all, ids) {
		t.Fatal("the groups do not hold every id once")
	}

	named := 0
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	if err := UpdateUsersSet(ctx, NewStmts(db), db, ids, now, []string{"status"}, []any{"deactivated"}, func(UserName) { named++ }); err != nil {
		t.Fatal(err)
	}
	var changed, stamps int
	if err := db.NewRaw("SELECT count(*), count(DISTINCT updated_at) FROM users WHERE status = 'deactivated'").Scan(ctx, &changed, &stamps); err != nil {
		t.Fatal(err)
	}
	if changed != n || named != n || stamps != 1 {
		t.Fatalf("changed %d, named %d, %d updated_at values; want %d, %d, 1", changed, named, stamps, n, n)
	}
	// Now changed together: one group, no reading of the order.
	if groups, err = groupsByUpdatedAt(ctx, db, ids); err != nil || len(groups) != 1 || len(groups[0]) != n {
		t.Fatalf("accounts changed together: %d groups, %v; want one", len(groups), err)
	}
}
