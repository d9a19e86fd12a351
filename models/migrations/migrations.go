// Package migrations holds the schema changes, one file per change, run in
// order at start. A released migration is never edited; add a new one.
package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// Migrations is the registry that Run applies.
var Migrations = migrate.NewMigrations()

// Run applies every pending migration and returns the names applied.
func Run(ctx context.Context, db *bun.DB) ([]string, error) {
	m := migrate.NewMigrator(db, Migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	if err := m.Lock(ctx); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	defer m.Unlock(ctx) //nolint:errcheck
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
