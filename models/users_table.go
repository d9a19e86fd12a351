package models

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// What the users table feeds through its triggers, named once in Go. The
// triggers themselves are SQL in the migrations (20261128000002
// user_counts, 20261129000003 search index, 20261129000006 auth epoch,
// 20261215000001 update-time log); only this file, user_counts.go and
// users_updated_log.go name them or their columns, so a
// migration that changes them has one Go file to follow.

// usersSearchColumns are the columns of the search index users_fts, in the
// order of migration 20261129000003 (filled from the users_search_doc view).
const usersSearchColumns = "username, display_name, email, public_id, prefixes"

// RebuildUserDerived rebuilds, inside tx, what the users table's triggers
// keep in step row by row: the search index, the per-role/status counts
// and the update-time log. A bulk load that set the triggers aside calls it once at the end.
// SQLite only (PostgreSQL searches the table itself).
func RebuildUserDerived(ctx context.Context, tx bun.IDB) error {
	for _, stmt := range []string{
		`INSERT INTO users_fts (users_fts) VALUES ('delete-all')`,
		// In key order: the index flushes its pending data whenever a row
		// arrives with a smaller key than the one before, and in id order
		// that was nearly every row (thousands of tiny segments to merge).
		`INSERT INTO users_fts (rowid, ` + usersSearchColumns + `) SELECT fts_rowid, ` + usersSearchColumns + ` FROM users_search_doc ORDER BY fts_rowid`,
		`DELETE FROM user_counts`,
		`INSERT INTO user_counts (role, status, n) SELECT role, status, count(*) FROM users GROUP BY role, status`,
		// The update-time log (users_updated_log.go), whole and without
		// stale entries.
		`DELETE FROM users_updated_log`,
		`INSERT INTO users_updated_log (updated_at, id, status) SELECT updated_at, id, status FROM users ORDER BY updated_at, id`,
		`DELETE FROM users_updated_log_pending`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// CheckSearchIndex runs SQLite's integrity check of the search index.
func CheckSearchIndex(ctx context.Context, db bun.IDB) error {
	_, err := db.ExecContext(ctx, `INSERT INTO users_fts (users_fts, rank) VALUES ('integrity-check', 0)`)
	return err
}

// WithoutUserIndexes runs fn, a bulk load of the users table inside tx,
// with the table's secondary indexes and triggers dropped, recreates them
// from their own stored definitions (indexes first, then triggers, in
// creation order) and rebuilds what the triggers maintain
// (RebuildUserDerived). An index built once from sorted data is far
// cheaper than one kept up to date row by row. Everything happens inside
// tx, so a rollback restores the definitions too. SQLite only.
func WithoutUserIndexes(ctx context.Context, tx bun.Tx, fn func(ctx context.Context) error) error {
	var defs []struct {
		Type string `bun:"type"`
		Name string `bun:"name"`
		SQL  string `bun:"sql"`
	}
	if err := tx.NewRaw(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'users' AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, rowid`).Scan(ctx, &defs); err != nil {
		return err
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, "DROP "+strings.ToUpper(d.Type)+" "+quoteIdent(d.Name)); err != nil {
			return err
		}
	}
	if err := fn(ctx); err != nil {
		return err
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, d.SQL); err != nil {
			return fmt.Errorf("recreate %s %s: %w", d.Type, d.Name, err)
		}
	}
	return RebuildUserDerived(ctx, tx)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
