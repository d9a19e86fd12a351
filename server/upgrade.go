package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/models/migrations"
	"gatehouse/server/config"
)

// MigrationTimeout is how long one migration statement may run on
// PostgreSQL (an index build on a large table).
const MigrationTimeout = 2 * time.Hour

// KeepBackups is how many pre-migration backups stay in backups/.
const KeepBackups = 5

// BackupDir is where automatic backups go, inside the data directory.
func BackupDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "backups") }

// Migrate brings db to this binary's schema, guarded: it refuses a
// database that a newer Gatehouse migrated (naming both versions), backs
// up a SQLite database that holds data before applying pending migrations,
// and records which version applied them. It returns the names applied.
//
// All of it runs under the migration lock: instances that start together
// take turns, and the later ones find nothing pending.
func Migrate(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger, version string) ([]string, error) {
	if !models.IsSQLite(db) && cfg.DatabaseURL != "" {
		// A migration that builds an index on a large table runs for
		// minutes (about 10-40 s per index at a million accounts on a
		// loaded machine); pgdriver's read timeout, 10 s for the
		// requests, would end it and fail the start. The migrations get
		// a pool of their own that waits up to MigrationTimeout.
		mdb, err := models.Open(models.LongStatements(cfg.DatabaseURL, MigrationTimeout), "")
		if err != nil {
			return nil, err
		}
		defer mdb.Close()
		db = mdb
	}
	var names []string
	err := migrations.Locked(ctx, db, func(ctx context.Context) error {
		if err := beforeMigrate(ctx, cfg, db, log, version); err != nil {
			return err
		}
		var err error
		if names, err = migrations.Apply(ctx, db); err != nil {
			return err
		}
		return migrations.Record(ctx, db, names, version)
	})
	return names, err
}

// beforeMigrate is the guard and the backup of Migrate.
func beforeMigrate(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger, version string) error {
	if err := migrations.CheckNotNewer(ctx, db, version); err != nil {
		return err
	}
	st, err := migrations.Inspect(ctx, db)
	if err != nil {
		return err
	}
	if len(st.Pending) == 0 || st.Applied == 0 {
		return nil // up to date, or a new database: nothing to keep
	}
	if !models.IsSQLite(db) {
		log.Warn("applying database migrations without an automatic backup: with PostgreSQL, back up with pg_dump before upgrading", "pending", len(st.Pending))
		return nil
	}
	path, err := BackupBeforeMigrations(ctx, cfg, db, version, time.Now())
	if err != nil {
		return fmt.Errorf("backup before migrations (nothing was migrated): %w", err)
	}
	log.Info("backed up the database before migrating", "backup", path, "pending", len(st.Pending))
	return nil
}

// BackupBeforeMigrations writes backups/pre-<version>-<time>.db (0600) with
// VACUUM INTO and keeps the newest KeepBackups of them.
func BackupBeforeMigrations(ctx context.Context, cfg *config.Config, db bun.IDB, version string, now time.Time) (string, error) {
	dir := BackupDir(cfg)
	name := "pre-" + fileSafe(version) + "-" + now.UTC().Format("20060102T150405.000Z") + ".db"
	path := filepath.Join(dir, name)
	if err := VacuumInto(ctx, db, path); err != nil {
		return "", err
	}
	if err := pruneBackups(dir, "pre-", KeepBackups); err != nil {
		return path, err
	}
	return path, nil
}

// VacuumInto writes a consistent copy of the SQLite database db to path,
// a new 0600 file (never over an existing one), in a 0700 directory.
func VacuumInto(ctx context.Context, db bun.IDB, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), models.DataDirMode); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, models.DataFileMode)
	if err != nil {
		return err
	}
	f.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// pruneBackups removes all but the newest keep files named prefix*.db in dir.
func pruneBackups(dir, prefix string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), prefix) || !strings.HasSuffix(e.Name(), ".db") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{e.Name(), info.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.After(files[j].mod)
		}
		return files[i].name > files[j].name
	})
	var errs []error
	for i := keep; i < len(files); i++ {
		if err := os.Remove(filepath.Join(dir, files[i].name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fileSafe keeps letters, digits, dots, dashes and pluses of a version for a
// file name.
func fileSafe(s string) string {
	if s == "" {
		return "dev"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '+':
			return r
		}
		return '_'
	}, s)
}
