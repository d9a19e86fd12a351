package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// TestWithBulkBookkeepingPG_NoPerRowCounts: on PostgreSQL a bulk change of
// statuses inside WithBulkBookkeeping moves user_counts once per (role,
// status) group, not once per account through the per-row trigger. Every
// per-row UPDATE of the same two user_counts rows in one transaction
// leaves a row version the next one has to step over: 100,000 accounts
// changed in one transaction ran for over 15 minutes (a bare UPDATE of the
// same rows: 4 s). A change outside it, in the same transaction, is
// still counted by the trigger, and the counts equal the rows after the
// commit. PostgreSQL only (make test-go-postgres).
func TestWithBulkBookkeepingPG_NoPerRowCounts(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	const n = 300
	now := time.Now().UTC()
	us := make([]models.User, n)
	for i := range us {
		us[i] = models.User{PublicID: fmt.Sprintf("bk%04d", i), DisplayName: "bk", Language: "en", Timezone: "UTC", Preferences: "{}",
			Role: models.RoleUser, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
		us[i].SetUsername(fmt.Sprintf("bk%04d", i))
	}
	if err := models.InsertUserBatch(ctx, db, &us, true); err != nil {
		t.Fatal(err)
	}
	active, suspended := models.RoleStatus{Role: models.RoleUser, Status: models.StatusActive}, models.RoleStatus{Role: models.RoleUser, Status: models.StatusSuspended}
	err := models.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		// pg_stat_xact_user_tables also holds this backend's counts of
		// earlier transactions not yet reported (PostgreSQL 15 reports
		// them at most once a second): the 300 inserts' upserts of
		// user_counts showed up here when the pool handed this
		// transaction the connection that made them. So take the
		// difference.
		updates := func() (n int64, err error) {
			err = tx.NewRaw("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = 'user_counts'::regclass").Scan(ctx, &n)
			return n, err
		}
		before, err := updates()
		if err != nil {
			return err
		}
		deltas := map[models.RoleStatus]int64{active: -n, suspended: n}
		if err := models.WithBulkBookkeeping(ctx, tx, deltas, func(ctx context.Context) error {
			_, err := tx.NewRaw("UPDATE users SET status = ? WHERE public_id LIKE 'bk%'", models.StatusSuspended).Exec(ctx)
			return err
		}); err != nil {
			return err
		}
		after, err := updates()
		if err != nil {
			return err
		}
		if upd := after - before; upd > 2 {
			t.Errorf("user_counts rows updated %d times for %d accounts in two groups; want at most 2 (once per group)", upd, n)
		}
		// After the bulk change the trigger counts again.
		_, err = tx.NewRaw("UPDATE users SET status = ? WHERE public_id = 'bk0000'", models.StatusActive).Exec(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var bad []struct {
		Role, Status string
		N, Rows      int64
	}
	if err := db.NewRaw(`SELECT coalesce(c.role, r.role) AS role, coalesce(c.status, r.status) AS status, coalesce(c.n, 0) AS n, coalesce(r.rows, 0) AS rows
FROM user_counts c FULL JOIN (SELECT role, status, count(*) AS rows FROM users GROUP BY role, status) r ON r.role = c.role AND r.status = c.status
WHERE coalesce(c.n, 0) <> coalesce(r.rows, 0)`).Scan(ctx, &bad); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("user_counts differs from the rows: %+v", bad)
	}
}

// TestBulkStatusUpdate_RunsNoTrigger: on SQLite the UPDATE of a bulk
// status change (status, its reason, updated_at; RETURNING the names)
// runs no trigger program once WithBulkBookkeeping has set the
// bookkeeping triggers aside: the search index's triggers fire only for
// the searched columns, and a new trigger on users that fires for any
// column (a per-row cost on every bulk change) fails here. The check
// itself is seen to work: a display-name change runs the search index's
// triggers, and outside WithBulkBookkeeping the status change runs the
// bookkeeping ones.
func TestBulkStatusUpdate_RunsNoTrigger(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("SQLite only (PostgreSQL: TestWithBulkBookkeepingPG_NoPerRowCounts)")
	}
	ctx := context.Background()
	programs := func(q bun.IDB, stmt string) int {
		t.Helper()
		rows, err := q.QueryContext(ctx, "EXPLAIN "+stmt)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			if op := fmt.Sprint(*vals[1].(*any)); op == "Program" {
				n++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const status = `UPDATE OR FAIL users SET status = 'suspended', status_reason = 'x', updated_at = '2026-01-01 00:00:00' WHERE id IN (SELECT value FROM json_each('[1, 2]')) RETURNING id, public_id, username`
	if n := programs(db, "UPDATE users SET display_name = 'x' WHERE id = 1"); n == 0 {
		t.Fatal("a display-name change shows no trigger program: the check sees nothing")
	}
	if n := programs(db, status); n == 0 {
		t.Fatal("a status change outside WithBulkBookkeeping shows no trigger program: the check sees nothing")
	}
	// As the engine runs a bulk change: in RunBulkTx, with the update-time
	// log's trigger set aside too (WithBulkUpdatedLog).
	err := models.RunBulkTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		return models.WithBulkUpdatedLog(ctx, tx, func(int64) string { return models.StatusSuspended }, func(ctx context.Context) error {
			return models.WithBulkBookkeeping(ctx, tx, nil, func(ctx context.Context) error {
				if n := programs(tx, status); n != 0 {
					t.Errorf("a bulk status change runs %d trigger programs per row besides the bookkeeping triggers %v and the update-time log's; want none", n, models.BookkeepingTriggers)
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
