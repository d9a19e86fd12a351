package models

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// RoleStatus names one row of user_counts.
type RoleStatus struct{ Role, Status string }

// bookkeepingTriggers are the per-row triggers that keep user_counts in
// step (migration 20261128000002) and move auth_epoch (20261129000006) on
// account updates and deletes and on ended sessions.
var bookkeepingTriggers = []string{"user_counts_update", "user_counts_delete", "users_epoch_update", "users_epoch_delete", "sessions_epoch_delete"}

// WithBulkBookkeeping runs fn, a change to many accounts inside tx, with
// SQLite's per-row bookkeeping triggers set aside, and does their work
// once: it applies deltas, the per-(role, status) changes the caller
// computed from the rows fn changes, in one statement each, moves
// auth_epoch once, then recreates the triggers from their stored SQL. The
// triggers cost three statements per changed row (about 1.5 s per 100,000
// rows here). All of it happens inside tx, so if anything fails the
// rollback restores the triggers as well.
//
// On PostgreSQL the user_counts triggers stand aside while the
// transaction-local setting gatehouse.bulk_counts is 'on' (migration
// 20261207000041): fn runs with it set, deltas are applied once, and the
// setting is cleared again. Per row, those triggers updated the same
// user_counts rows once per account, each update leaving a row version
// the next steps over (quadratic: 100,000 accounts took over 15
// minutes). auth_epoch moves by a statement trigger there, once per
// statement already.
func WithBulkBookkeeping(ctx context.Context, tx bun.Tx, deltas map[RoleStatus]int64, fn func(ctx context.Context) error) error {
	if !IsSQLite(tx) {
		return withBulkCountsPG(ctx, tx, deltas, fn)
	}
	restore, err := triggersAside(ctx, tx, bookkeepingTriggers)
	if err != nil {
		return err
	}
	if err := fn(ctx); err != nil {
		return err
	}
	if err := applyCountDeltas(ctx, tx, deltas); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE auth_epoch SET n = n + 1 WHERE id = 1"); err != nil {
		return err
	}
	return restore()
}

// triggersAside drops the SQLite triggers names inside tx and returns
// what recreates them from their stored SQL (also inside tx: a rollback
// restores them either way). Every one of names must exist.
func triggersAside(ctx context.Context, tx bun.Tx, names []string) (restore func() error, err error) {
	var defs []struct {
		Name string `bun:"name"`
		SQL  string `bun:"sql"`
	}
	if err := tx.NewRaw("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?)", bun.List(names)).Scan(ctx, &defs); err != nil {
		return nil, err
	}
	if len(defs) != len(names) {
		return nil, fmt.Errorf("triggers %v: found %d of %d", names, len(defs), len(names))
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, "DROP TRIGGER "+d.Name); err != nil {
			return nil, err
		}
	}
	return func() error {
		for _, d := range defs {
			if _, err := tx.ExecContext(ctx, d.SQL); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// withBulkCountsPG runs fn with PostgreSQL's per-row user_counts triggers
// standing aside and applies deltas after it.
func withBulkCountsPG(ctx context.Context, tx bun.Tx, deltas map[RoleStatus]int64, fn func(ctx context.Context) error) error {
	if _, err := tx.ExecContext(ctx, "SELECT set_config('gatehouse.bulk_counts', 'on', true)"); err != nil {
		return err
	}
	if err := fn(ctx); err != nil {
		return err
	}
	if err := applyCountDeltas(ctx, tx, deltas); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "SELECT set_config('gatehouse.bulk_counts', 'off', true)")
	return err
}

// applyCountDeltas adds deltas to user_counts, one statement per (role,
// status).
func applyCountDeltas(ctx context.Context, tx bun.Tx, deltas map[RoleStatus]int64) error {
	for k, n := range deltas {
		if n == 0 {
			continue
		}
		if _, err := tx.NewRaw("INSERT INTO user_counts (role, status, n) VALUES (?, ?, ?) ON CONFLICT (role, status) DO UPDATE SET n = user_counts.n + excluded.n", k.Role, k.Status, n).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}
