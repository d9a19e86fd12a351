// Package migrations holds the schema changes, one file per change, run in
// order at start. A released migration is never edited; add a new one.
package migrations

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// Migrations is the registry that Run applies.
var Migrations = migrate.NewMigrations()

// LockWait bounds how long Run waits while another process migrates the
// same database.
var LockWait = 2 * time.Minute

// migrationLockKey is the PostgreSQL advisory lock that migrations hold
// (advisory locks are per database): the first 8 bytes of
// SHA-256("gatehouse migrations").
const migrationLockKey int64 = 0x4761746d69677231

// Run applies every pending migration and returns the names applied.
// Several processes may call it at once (instances that start together,
// a `migrate` beside a `serve`): they take turns, the first applies what is
// pending and the others then find nothing to do. On PostgreSQL the turn is
// a session advisory lock, released by the server if the holder dies; on
// SQLite it is bun's lock row, whose insert waits behind the busy timeout.
// Either wait is bounded by LockWait and ends with a message that says what
// holds the lock.
func Run(ctx context.Context, db *bun.DB) ([]string, error) {
	var names []string
	err := Locked(ctx, db, func(ctx context.Context) error {
		var err error
		names, err = Apply(ctx, db)
		return err
	})
	return names, err
}

// Locked runs fn while this process holds the migration lock, so that
// everything a start does around the migrations (checks, a backup, the
// record of who applied them) happens in one turn too.
func Locked(ctx context.Context, db *bun.DB, fn func(ctx context.Context) error) error {
	if db.Dialect().Name() == dialect.PG {
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		defer conn.Close()
		if err := pgLock(ctx, conn); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", migrationLockKey) //nolint:errcheck
		return fn(ctx)
	}
	m := migrate.NewMigrator(db, Migrations)
	if err := sqliteLock(ctx, m); err != nil {
		return err
	}
	defer m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck
	return fn(ctx)
}

// Apply applies every pending migration and returns the names applied. The
// caller holds the migration lock (Locked).
func Apply(ctx context.Context, db *bun.DB) ([]string, error) {
	m := migrate.NewMigrator(db, Migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	return apply(ctx, m)
}

func apply(ctx context.Context, m *migrate.Migrator) ([]string, error) {
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var names []string
	for _, mg := range group.Migrations {
		names = append(names, mg.Name)
	}
	return names, nil
}

// pgLock takes the migration advisory lock on conn, polling until LockWait.
func pgLock(ctx context.Context, conn bun.Conn) error {
	deadline := time.Now().Add(LockWait)
	logged := false
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", migrationLockKey).Scan(&ok); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		if ok {
			return nil
		}
		if !logged {
			slog.Default().Info("another instance is migrating the database; waiting for it", "max_wait", LockWait.String())
			logged = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("another process has been migrating this database for more than %s and still holds the migration lock "+
				"(PostgreSQL advisory lock %d); let it finish and start again, or find it with "+
				"SELECT pid, backend_start, query FROM pg_stat_activity WHERE pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')",
				LockWait, migrationLockKey)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sqliteLock creates the migration tables and takes bun's lock row,
// retrying while another process holds it or the database is busy.
func sqliteLock(ctx context.Context, m *migrate.Migrator) error {
	deadline := time.Now().Add(LockWait)
	logged := false
	for {
		err := m.Init(ctx)
		if err == nil {
			if err = m.Lock(ctx); err == nil {
				return nil
			}
		}
		msg := err.Error()
		if !strings.Contains(msg, "locked") && !strings.Contains(msg, "SQLITE_BUSY") {
			return fmt.Errorf("lock migrations: %w", err)
		}
		if !logged {
			slog.Default().Info("another process is migrating the database; waiting for it", "max_wait", LockWait.String())
			logged = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("another process has held the migration lock for more than %s (%v); let it finish and start again. "+
				"If no gatehouse process is running, a crashed migration left the lock behind: "+
				"DELETE FROM bun_migration_locks, then start again", LockWait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ddl adapts a portable DDL script to the dialect: "@ID" becomes the
// auto-increment primary key type. Statements are separated by ";\n",
// except inside CREATE TRIGGER ... END blocks.
func ddl(ctx context.Context, db bun.IDB, script string) error {
	id := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if db.Dialect().Name() == dialect.PG {
		id = "BIGSERIAL PRIMARY KEY"
	}
	script = strings.ReplaceAll(script, "@ID", id)
	for _, stmt := range splitStatements(script) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%w\nin: %s", err, stmt)
		}
	}
	return nil
}

func splitStatements(script string) []string {
	var out []string
	var cur strings.Builder
	inTrigger := false
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(strings.ToUpper(trimmed), "CREATE TRIGGER") {
			inTrigger = true
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		end := strings.HasSuffix(trimmed, ";") && (!inTrigger || strings.EqualFold(trimmed, "END;"))
		if end {
			stmt := strings.TrimSpace(cur.String())
			if !inTrigger {
				stmt = strings.TrimSuffix(stmt, ";")
			}
			out = append(out, stmt)
			cur.Reset()
			inTrigger = false
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
