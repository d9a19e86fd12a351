package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// The update-time log's bookkeeping (models/users_updated_log.go); the
// lists read through it are checked in server/service
// (TestListPlans_UpdateOrderWithStaleLogEntries).

// statuses is every account's status, for WithBulkUpdatedLog.
func statuses(t *testing.T, db bun.IDB) func(int64) string {
	t.Helper()
	var rows []struct {
		ID     int64  `bun:"id"`
		Status string `bun:"status"`
	}
	if err := db.NewRaw("SELECT id, status FROM users").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	m := map[int64]string{}
	for _, r := range rows {
		m[r.ID] = r.Status
	}
	return func(id int64) string { return m[id] }
}

func logApp(t *testing.T, n int) (*testkit.App, []int64) {
	t.Helper()
	app := testkit.NewApp(t)
	if !models.IsSQLite(app.Svc.DB) {
		t.Skip("SQLite only: PostgreSQL orders by update time through its users_updated index, with no log")
	}
	if err := app.Svc.Seed(context.Background(), n, nil); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := app.Svc.DB.NewRaw("SELECT id FROM users ORDER BY id").Scan(context.Background(), &ids); err != nil {
		t.Fatal(err)
	}
	return app, ids
}

func checkLog(t *testing.T, db bun.IDB, want string, wantStale, wantPending int64) {
	t.Helper()
	stale, missing, pending, err := models.CheckUpdatedLog(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if stale != wantStale || missing != 0 || pending != wantPending {
		t.Fatalf("%s: %d stale entries, %d accounts without their entry, %d bulk changes pending; want %d, 0, %d", want, stale, missing, pending, wantStale, wantPending)
	}
}

// TestUpdatedLog_RolledBackBulkChangeLeavesNoTrace: a bulk change that
// fails after its set-based write rolls back the appended entries, the
// pending row and the trigger's absence; the trigger then moves an entry
// again on a single change.
func TestUpdatedLog_RolledBackBulkChangeLeavesNoTrace(t *testing.T) {
	app, ids := logApp(t, 1500)
	db := app.Svc.DB
	ctx := context.Background()
	boom := errors.New("boom")
	err := models.RunBulkTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		return models.WithBulkUpdatedLog(ctx, tx, statuses(t, tx), func(ctx context.Context) error {
			if err := models.UpdateUsers(ctx, tx, ids, time.Now(), func(q *bun.UpdateQuery) *bun.UpdateQuery { return q.Set("timezone = 'UTC'") }); err != nil {
				return err
			}
			stale, _, _, err := models.CheckUpdatedLog(ctx, tx)
			if err != nil {
				return err
			}
			if stale != int64(len(ids)) {
				t.Errorf("inside the change: %d stale entries, want %d (the old entry of every account)", stale, len(ids))
			}
			return boom
		})
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the change's own error", err)
	}
	models.WaitUpdatedLogSweeps()
	checkLog(t, db, "after the rollback", 0, 0)
	if _, err := db.NewRaw("UPDATE users SET updated_at = ? WHERE id = ?", time.Now().Add(time.Hour), ids[7]).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	checkLog(t, db, "after a single change", 0, 0)
	// A status changed without a new update time moves the entry's status.
	if _, err := db.NewRaw("UPDATE users SET status = CASE status WHEN 'active' THEN 'suspended' ELSE 'active' END WHERE id = ?", ids[8]).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	checkLog(t, db, "after a status change alone", 0, 0)
}

// TestUpdatedLog_SweepRemovesOnlyStaleEntries: after a bulk change of
// some accounts, the sweep removes their old entries and nothing else,
// and the pending row with them, also an old entry later than the
// change's time; an account deleted meanwhile loses its stale entry too.
func TestUpdatedLog_SweepRemovesOnlyStaleEntries(t *testing.T) {
	app, ids := logApp(t, 3000)
	db := app.Svc.DB
	ctx := context.Background()
	changed := ids[100:1600]
	// One of them was changed last at a time later than the bulk
	// change's own (a clock set back since): its old entry comes after
	// the new ones in the order, and goes too.
	if _, err := db.NewRaw("UPDATE users SET updated_at = ? WHERE id = ?", time.Now().Add(time.Hour), changed[5]).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	release := models.HoldUpdatedLogSweeps(db)
	if err := models.RunBulkTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		return models.WithBulkUpdatedLog(ctx, tx, statuses(t, tx), func(ctx context.Context) error {
			return models.UpdateUsers(ctx, tx, changed, time.Now(), func(q *bun.UpdateQuery) *bun.UpdateQuery { return q.Set("timezone = 'UTC'") })
		})
	}); err != nil {
		release()
		t.Fatal(err)
	}
	checkLog(t, db, "before the sweep", int64(len(changed)), 1)
	// A changed account is deleted before the sweep: the trigger removes
	// its current entry, the sweep its old one.
	if _, err := db.NewRaw("DELETE FROM users WHERE id = ?", changed[3]).Exec(ctx); err != nil {
		release()
		t.Fatal(err)
	}
	var entries int64
	if err := db.NewRaw("SELECT count(*) FROM users_updated_log").Scan(ctx, &entries); err != nil {
		release()
		t.Fatal(err)
	}
	release()
	models.WaitUpdatedLogSweeps()
	checkLog(t, db, "after the sweep", 0, 0)
	var after int64
	if err := db.NewRaw("SELECT count(*) FROM users_updated_log").Scan(ctx, &after); err != nil {
		t.Fatal(err)
	}
	if entries-after != int64(len(changed)) {
		t.Fatalf("the sweep removed %d entries, want %d", entries-after, len(changed))
	}
}

// TestUpdatedLog_StartSweepsWhatARestartLeft: stale entries whose bulk
// change's sweep never ran (the server stopped first: its list of
// accounts is gone) are swept when a server starts on the database, by
// walking the whole log.
func TestUpdatedLog_StartSweepsWhatARestartLeft(t *testing.T) {
	app, ids := logApp(t, 2000)
	db := app.Svc.DB
	ctx := context.Background()
	// What a bulk change leaves, written by hand: new times without the
	// trigger, the new entries appended, a pending row.
	now := time.Now().UTC().Format("2006-01-02 15:04:05.999999-07:00")
	err := models.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		for _, stmt := range []struct {
			q    string
			args []any
		}{
			{"DROP TRIGGER users_updated_log_update", nil},
			{"UPDATE users SET updated_at = ? WHERE id % 3 = 0", []any{now}},
			{"INSERT INTO users_updated_log (updated_at, id, status) SELECT ?, id, status FROM users WHERE id % 3 = 0", []any{now}},
			{"INSERT INTO users_updated_log_pending (accounts, created_at) VALUES (?, ?)", []any{len(ids) / 3, now}},
			{`CREATE TRIGGER users_updated_log_update AFTER UPDATE OF updated_at, status ON users WHEN NEW.updated_at IS NOT OLD.updated_at OR NEW.status IS NOT OLD.status BEGIN
  DELETE FROM users_updated_log WHERE updated_at = OLD.updated_at AND id = OLD.id;
  INSERT OR REPLACE INTO users_updated_log (updated_at, id, status) VALUES (NEW.updated_at, NEW.id, NEW.status);
END`, nil},
		} {
			if _, err := tx.NewRaw(stmt.q, stmt.args...).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stale, _, _, err := models.CheckUpdatedLog(ctx, db)
	if err != nil || stale < int64(len(ids)/3)-1 {
		t.Fatalf("set-up: %d stale entries (%v)", stale, err)
	}
	second := app.Instance() // a server starting on the same database
	second.Svc.Background.Wait()
	checkLog(t, db, "after a server started", 0, 0)
}
