package migrations_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/models/migrations"
	"gatehouse/server/testkit"
)

// A migrator that finds the migration lock held waits at most LockWait
// (issue 14 item 1), then gives up with a message that says what holds
// the lock and what to do: on PostgreSQL (GATEHOUSE_TEST_DATABASE_URL) the
// advisory lock and how to find its holder, on SQLite the lock row and how
// to clear one a crash left behind. Once the holder lets go, the same run
// applies everything. Not parallel: it shortens the package's LockWait.
func TestMigrationLock_BoundedWaitWithClearMessage(t *testing.T) {
	ctx := context.Background()
	db := testkit.EmptyDB(t)
	old := migrations.LockWait
	migrations.LockWait = 600 * time.Millisecond
	t.Cleanup(func() { migrations.LockWait = old })

	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- migrations.Locked(ctx, db, func(context.Context) error {
			close(held)
			<-release
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("the first migrator did not get the lock: %v", err)
	}

	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := migrations.Run(ctx, db)
		errc <- err
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(15 * time.Second):
		close(release)
		t.Fatal("the second migrator still waits on the held lock after 15 s; LockWait is 600ms")
	}
	waited := time.Since(start)
	if err == nil {
		close(release)
		t.Fatal("the second migrator ran the migrations while the lock was held")
	}
	if waited < 600*time.Millisecond || waited > 10*time.Second {
		t.Errorf("gave up after %v; want about LockWait (600ms)", waited)
	}
	msg := err.Error()
	want := []string{"for more than 600ms", "let it finish and start again"}
	if models.IsSQLite(db) {
		want = append(want, "DELETE FROM bun_migration_locks")
	} else {
		want = append(want, "PostgreSQL advisory lock", "pg_stat_activity")
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("the message lacks %q: %s", w, msg)
		}
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	names, err := migrations.Run(ctx, db)
	if err != nil || len(names) != len(migrations.Names()) {
		t.Fatalf("after the holder let go: applied %d of %d (%v)", len(names), len(migrations.Names()), err)
	}
}
