package models

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

func gateTestDB(t *testing.T) (*bun.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gate.db")
	db, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// withDeadline fails the test instead of hanging when f deadlocks.
func withDeadline(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: still waiting after 10s")
	}
}

// TestWriteGate_NestedUseFailsAtOnce: a write on the database (not the
// transaction), or a second transaction, with the context of an open
// RunInTx would wait for the gate its own transaction holds; it fails at
// once with ErrNestedWrite. Reads on the database beside the open
// transaction go on, and the context writes again once the transaction
// has ended.
func TestWriteGate_NestedUseFailsAtOnce(t *testing.T) {
	db, _ := gateTestDB(t)
	ctx := context.Background()
	withDeadline(t, func() {
		var txCtx context.Context
		err := RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			txCtx = ctx
			if _, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)"); err != nil {
				return err
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO t (v) VALUES (2)"); !errors.Is(err, ErrNestedWrite) {
				return fmt.Errorf("write on the database inside the transaction: %v, want ErrNestedWrite", err)
			}
			if err := db.NewRaw("INSERT INTO t (v) VALUES (3) RETURNING id").Scan(ctx, new(int64)); !errors.Is(err, ErrNestedWrite) {
				return fmt.Errorf("write with RETURNING on the database inside the transaction: %v, want ErrNestedWrite", err)
			}
			if err := RunInTx(ctx, db, func(context.Context, bun.Tx) error { return nil }); !errors.Is(err, ErrNestedWrite) {
				return fmt.Errorf("RunInTx inside RunInTx: %v, want ErrNestedWrite", err)
			}
			if err := db.RunInTx(ctx, nil, func(context.Context, bun.Tx) error { return nil }); !errors.Is(err, ErrNestedWrite) {
				return fmt.Errorf("bun's RunInTx inside RunInTx: %v, want ErrNestedWrite", err)
			}
			var n int
			if err := db.NewRaw("SELECT count(*) FROM t").Scan(ctx, &n); err != nil {
				return fmt.Errorf("read beside the transaction: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(txCtx, "INSERT INTO t (v) VALUES (4)"); err != nil {
			t.Fatalf("the transaction's context after it ended: %v", err)
		}
	})
	var vs []int
	if err := db.NewRaw("SELECT v FROM t ORDER BY id").Scan(ctx, &vs); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(vs) != "[1 4]" {
		t.Fatalf("rows %v, want [1 4]", vs)
	}
}

// TestWriteGate_SerializesWriters: transactions, single writes and writes
// with RETURNING from many goroutines, on two handles of one file, with a
// busy timeout of zero: none waits in SQLite's busy handler (it would fail
// at once with "database is locked"), each is applied, and the gate is
// free afterwards (a RETURNING write gives it back when its rows close).
func TestWriteGate_SerializesWriters(t *testing.T) {
	old := SQLiteBusyTimeout
	SQLiteBusyTimeout = 0
	db, path := gateTestDB(t)
	db2, err := OpenSQLite(path)
	SQLiteBusyTimeout = old
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	ctx := context.Background()
	const n = 48
	errs := make(chan error, 4*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := db
			if i%2 == 1 {
				d = db2
			}
			errs <- RunInTx(ctx, d, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (?)", i)
				return err
			})
			_, err := d.ExecContext(ctx, "UPDATE t SET v = v + 1000 WHERE v = ?", i)
			errs <- err
			var id int64
			errs <- d.NewRaw("INSERT INTO t (v) VALUES (?) RETURNING id", -i-1).Scan(ctx, &id)
			tx, err := d.BeginTx(ctx, nil)
			if err == nil {
				_, err = tx.ExecContext(ctx, "UPDATE t SET v = v + 1 WHERE v = ?", -i-1)
				if err == nil {
					err = tx.Commit()
				} else {
					tx.Rollback() //nolint:errcheck
				}
			}
			errs <- err
		}()
	}
	withDeadline(t, wg.Wait)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var big, neg int
	if err := db.NewRaw("SELECT count(*) FROM t WHERE v >= 1000").Scan(ctx, &big); err != nil {
		t.Fatal(err)
	}
	if err := db.NewRaw("SELECT count(*) FROM t WHERE v <= 0").Scan(ctx, &neg); err != nil {
		t.Fatal(err)
	}
	if big != n || neg != n {
		t.Fatalf("%d updated and %d returned rows, want %d each", big, neg, n)
	}
	g := gateOf(db)
	if g != gateOf(db2) {
		t.Fatal("two handles of one file have two gates")
	}
	if len(g.ch) != 0 {
		t.Fatal("the gate is still taken")
	}
}

func TestWriteGate_IsWrite(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                       false,
		"  select * from users":          false,
		"/* c */ -- x\n SELECT 1":        false,
		"(SELECT 1) UNION (SELECT 2)":    false,
		"PRAGMA wal_checkpoint(PASSIVE)": false,
		"EXPLAIN QUERY PLAN SELECT 1":    false,
		`WITH x AS (SELECT "updated_at" FROM u) SELECT * FROM x WHERE note = 'delete'`: false,
		"WITH x AS (SELECT 1) UPDATE t SET v = 1":                                      true,
		"INSERT INTO t VALUES (1)":                                                     true,
		"update t set v = 1":                                                           true,
		"DELETE FROM t":                                                                true,
		"REPLACE INTO t VALUES (1)":                                                    true,
		"CREATE TABLE x (a)":                                                           true,
		"ANALYZE":                                                                      true,
		"BEGIN":                                                                        true,
	} {
		if got := isWrite(q); got != want {
			t.Errorf("isWrite(%q) = %v, want %v", q, got, want)
		}
	}
}
