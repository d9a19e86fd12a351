package models_test

import (
	"context"
	"strings"
	"testing"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// TestLockUsers_ReadsAnyColumn: a change kind may read any column of
// User, not only those with a hand-written scan, so that a new kind or
// editable field does not touch models/user_write.go.
func TestLockUsers_ReadsAnyColumn(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	bob := app.Member("bob")
	db := app.Svc.DB
	got, err := models.LockUsers(context.Background(), db, models.UsersByPublicIDs(db, []string{bob.PublicID}),
		[]string{"id", "must_change_password", "created_at", "last_login_ip", "totp_last_step"}, models.ReadOnly, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != bob.ID || got[0].CreatedAt.IsZero() {
		t.Fatalf("read %+v", got)
	}
}

// TestUsersWrites_FirstPassReadsTheIDIndex: SQLite runs an UPDATE or
// DELETE of accounts by a list of ids in two passes (RETURNING, triggers,
// the IN subquery); the first pass, which only collects rowids, must read
// the id index, not each target's table page: at 100,000 targets those
// pages are out of the cache again before the second pass changes them,
// and every one was read twice (models.sqliteUsersByIDs).
func TestUsersWrites_FirstPassReadsTheIDIndex(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("the two-pass plan and INDEXED BY are SQLite's")
	}
	bob, carol := app.Member("bob"), app.Member("carol")
	sqls, args, err := models.UsersWriteStatements(db, []int64{bob.ID, carol.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(sqls) != 5 {
		t.Fatalf("statements: %d", len(sqls))
	}
	for name, sql := range sqls {
		plan := testkit.SQLitePlan(t, db, sql, args[name]...)
		if len(plan) == 0 || plan[0] != "SEARCH u USING COVERING INDEX users_id_order (id=?)" {
			t.Errorf("%s: the first pass reads %q, want the id index alone\n%s", name, plan, sql)
		}
	}
}

// TestDeleteUsers_CascadesThroughIndexes: deleting accounts finds the
// rows that reference them (ON DELETE CASCADE / SET NULL) through an
// index on each referencing column. Without one SQLite scans the whole
// referencing table once per deleted account: a bulk delete of 100,000
// accounts while 10,000 sign-in challenges are pending visits a billion
// rows.
func TestDeleteUsers_CascadesThroughIndexes(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("EXPLAIN QUERY PLAN is SQLite's")
	}
	bob := app.Member("bob")
	sqls, _, err := models.UsersWriteStatements(db, []int64{bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	plan := testkit.SQLitePlan(t, db, sqls["DeleteUsers"])
	for _, detail := range plan {
		if strings.HasPrefix(detail, "SCAN ") && !strings.HasPrefix(detail, "SCAN json_each") {
			t.Errorf("deleting an account reads a whole table: %s", detail)
		}
	}
	if len(plan) < 10 {
		t.Fatalf("the plan has %d steps: no foreign keys followed?", len(plan))
	}
}
