package models

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// RoleStatus names one row of user_counts.
type RoleStatus struct{ Role, Status string }

// countTriggers are the per-row triggers that keep user_counts in step on
// updates and deletes (migration 20261128000002).
var countTriggers = []string{"user_counts_update", "user_counts_delete"}

// WithCountDeltas runs fn, a change to many accounts inside tx, with
// SQLite's per-row user_counts triggers set aside: it applies deltas, the
// per-(role, status) changes the caller computed from the rows fn changes,
// in one statement each, then recreates the triggers from their stored
// SQL. A trigger costs two statements per changed row (about a second per
// 100,000 rows here). All of it happens inside tx, so if anything fails
// the rollback restores the triggers as well. On PostgreSQL fn runs with
// the triggers in place and deltas are not used.
func WithCountDeltas(ctx context.Context, tx bun.Tx, deltas map[RoleStatus]int64, fn func(ctx context.Context) error) error {
	if !IsSQLite(tx) {
		return fn(ctx)
	}
	var defs []struct {
		Name string `bun:"name"`
		SQL  string `bun:"sql"`
	}
	if err := tx.NewRaw("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?)", bun.List(countTriggers)).Scan(ctx, &defs); err != nil {
		return err
	}
	if len(defs) != len(countTriggers) {
		return fmt.Errorf("user_counts triggers: found %d of %d", len(defs), len(countTriggers))
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, "DROP TRIGGER "+d.Name); err != nil {
			return err
		}
	}
	if err := fn(ctx); err != nil {
		return err
	}
	for k, n := range deltas {
		if n == 0 {
			continue
		}
		if _, err := tx.NewRaw("INSERT INTO user_counts (role, status, n) VALUES (?, ?, ?) ON CONFLICT (role, status) DO UPDATE SET n = n + excluded.n", k.Role, k.Status, n).Exec(ctx); err != nil {
			return err
		}
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, d.SQL); err != nil {
			return err
		}
	}
	return nil
}
