package testkit

import (
	"context"
	"testing"

	"github.com/uptrace/bun"
)

// SQLitePlan is the detail column of EXPLAIN QUERY PLAN for query with
// args, one line per step in SQLite's order (a test of which index a
// statement reads). SQLite only.
func SQLitePlan(t testing.TB, db bun.IDB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, query)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
