package migrations

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// State is where a database stands against the migrations of this binary.
type State struct {
	// Applied counts the migrations this binary knows that the database has.
	Applied int
	// Pending are the migrations this binary would apply, in order.
	Pending []string
	// Unknown are migrations the database has and this binary does not
	// know: a newer Gatehouse migrated it.
	Unknown []string
}

// Inspect reads the State of db, creating bun's bookkeeping tables when
// they are missing (a new database).
func Inspect(ctx context.Context, db *bun.DB) (State, error) {
	m := migrate.NewMigrator(db, Migrations)
	if err := m.Init(ctx); err != nil {
		return State{}, fmt.Errorf("init migrations: %w", err)
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return State{}, fmt.Errorf("read migrations: %w", err)
	}
	var st State
	for _, mg := range ms {
		if mg.IsApplied() {
			st.Applied++
		} else {
			st.Pending = append(st.Pending, mg.Name)
		}
	}
	missing, err := m.MissingMigrations(ctx)
	if err != nil {
		return State{}, fmt.Errorf("read migrations: %w", err)
	}
	for _, mg := range missing {
		st.Unknown = append(st.Unknown, mg.Name)
	}
	return st, nil
}

// NewerError refuses a database that a newer Gatehouse migrated: this
// binary does not know its schema, and running on it would be a silent
// downgrade.
type NewerError struct {
	// Migration is the newest migration this binary does not know.
	Migration string
	// By is the version of Gatehouse that applied it ("" when unrecorded).
	By string
	// This is the version of this binary.
	This string
}

func (e *NewerError) Error() string {
	by := "a newer version of Gatehouse"
	if e.By != "" {
		by = "Gatehouse " + e.By
	}
	return fmt.Sprintf("the database was migrated by %s (migration %s), which this Gatehouse %s does not know; "+
		"run %s or newer, or restore a backup taken before the upgrade (backups/ in the data directory)", by, e.Migration, e.This, strings.TrimPrefix(by, "Gatehouse "))
}

// CheckNotNewer answers a *NewerError when db holds migrations this binary
// (version) does not know, naming the version that applied the newest one.
func CheckNotNewer(ctx context.Context, db *bun.DB, version string) error {
	st, err := Inspect(ctx, db)
	if err != nil {
		return err
	}
	if len(st.Unknown) == 0 {
		return nil
	}
	newest := st.Unknown[0]
	for _, n := range st.Unknown {
		if n > newest {
			newest = n
		}
	}
	return &NewerError{Migration: newest, By: AppliedBy(ctx, db, newest), This: version}
}

// AppliedBy is the version of Gatehouse that applied migration name, or ""
// when it was not recorded (a migration from before the record existed).
func AppliedBy(ctx context.Context, db bun.IDB, name string) string {
	var v string
	if err := db.NewRaw("SELECT version FROM migration_versions WHERE name = ?", name).Scan(ctx, &v); err != nil {
		return ""
	}
	return v
}

// Record notes that this binary (version) applied the migrations names, so
// that an older binary can name the version it would downgrade from.
func Record(ctx context.Context, db bun.IDB, names []string, version string) error {
	now := time.Now().UTC()
	for _, n := range names {
		if _, err := db.NewRaw("INSERT INTO migration_versions (name, version, applied_at) VALUES (?, ?, ?)", n, version, now).Exec(ctx); err != nil {
			return fmt.Errorf("record migration %s: %w", n, err)
		}
	}
	return nil
}

// Names lists every migration of this binary, in order.
func Names() []string {
	var out []string
	for _, m := range Migrations.Sorted() {
		out = append(out, m.Name)
	}
	return out
}

// RunThrough applies the pending migrations up to and including name (tests
// build databases at an earlier schema with it).
func RunThrough(ctx context.Context, db *bun.DB, name string) error {
	sub := migrate.NewMigrations()
	for _, m := range Migrations.Sorted() {
		if m.Name <= name {
			sub.Add(m)
		}
	}
	mg := migrate.NewMigrator(db, sub, migrate.WithMarkAppliedOnSuccess(true))
	if err := mg.Init(ctx); err != nil {
		return err
	}
	_, err := mg.Migrate(ctx)
	return err
}
