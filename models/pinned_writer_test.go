package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"
)

// onPinned reports whether tx runs on the connection that made the
// temporary table pin_probe (temporary tables belong to one connection).
func onPinned(ctx context.Context, tx bun.Tx) (bool, error) {
	var n int
	err := tx.NewRaw("SELECT count(*) FROM temp.sqlite_master WHERE name = 'pin_probe'").Scan(ctx, &n)
	return n == 1, err
}

// TestPinnedWriter_WriteTransactionsShareOneConnection: SQLite write
// transactions from many goroutines, beside readers and single writes on
// the pool, all run on one connection (whose page cache no other write
// transaction then drops; issue 20). Each transaction is still applied
// once, in its own transaction.
func TestPinnedWriter_WriteTransactionsShareOneConnection(t *testing.T) {
	db, _ := gateTestDB(t)
	ctx := context.Background()
	if err := RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "CREATE TEMP TABLE pin_probe (x)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	for range 4 {
		bg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := db.NewRaw("SELECT count(*) FROM t").Scan(ctx, &n); err != nil {
					t.Error(err)
					return
				}
				if _, err := db.ExecContext(ctx, "UPDATE t SET v = v WHERE id = 0"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var elsewhere atomic.Int64
	var wg sync.WaitGroup
	withDeadline(t, func() {
		for range 8 {
			wg.Go(func() {
				for range 25 {
					err := RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
						if _, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)"); err != nil {
							return err
						}
						pinned, err := onPinned(ctx, tx)
						if !pinned {
							elsewhere.Add(1)
						}
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
	close(stop)
	bg.Wait()
	if n := elsewhere.Load(); n > 0 {
		t.Fatalf("%d of 200 write transactions ran on another connection than the first one", n)
	}
	var n int
	if err := db.NewRaw("SELECT count(*) FROM t").Scan(ctx, &n); err != nil || n != 200 {
		t.Fatalf("%d rows (%v), want 200", n, err)
	}
}

// TestPinnedWriter_BrokenConnectionIsReplaced: when the pinned connection
// is gone, the next transaction runs on the pool (and succeeds), and the
// one after that is pinned again.
func TestPinnedWriter_BrokenConnectionIsReplaced(t *testing.T) {
	db, _ := gateTestDB(t)
	ctx := context.Background()
	insert := func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)")
		return err
	}
	if err := RunInTx(ctx, db, insert); err != nil {
		t.Fatal(err)
	}
	w := writerOf(db)
	conn, ok := w.get(ctx, db)
	if !ok {
		t.Fatal("no pinned connection after a transaction")
	}
	// database/sql closes a connection whose use answers ErrBadConn.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	withDeadline(t, func() {
		for range 2 {
			if err := RunInTx(ctx, db, insert); err != nil {
				t.Fatalf("transaction after the pinned connection broke: %v", err)
			}
		}
	})
	again, ok := w.get(ctx, db)
	if !ok || again.Conn == conn.Conn {
		t.Fatal("the broken connection was not replaced")
	}
	var n int
	if err := db.NewRaw("SELECT count(*) FROM t").Scan(ctx, &n); err != nil || n != 3 {
		t.Fatalf("%d rows (%v), want 3", n, err)
	}
}

// TestPinnedWriter_CancelledTransactionRollsBack: a transaction whose
// context ends in the middle rolls back before the gate is given back;
// the next one on the pinned connection begins and commits.
func TestPinnedWriter_CancelledTransactionRollsBack(t *testing.T) {
	db, _ := gateTestDB(t)
	withDeadline(t, func() {
		ctx, cancel := context.WithCancel(context.Background())
		err := RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)"); err != nil {
				return err
			}
			cancel()
			_, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (2)")
			return err
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled transaction: %v, want context.Canceled", err)
		}
		for range 3 {
			if err := RunInTx(context.Background(), db, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (3)")
				return err
			}); err != nil {
				t.Fatalf("transaction after a cancelled one: %v", err)
			}
		}
	})
	var vs []int
	if err := db.NewRaw("SELECT v FROM t ORDER BY id").Scan(context.Background(), &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0] != 3 {
		t.Fatalf("rows %v, want [3 3 3]", vs)
	}
}

// TestPinnedWriter_CloseGivesItBack: closing the database closes the
// pinned connection too (SQLite removes the write-ahead log when its last
// connection closes).
func TestPinnedWriter_CloseGivesItBack(t *testing.T) {
	db, path := gateTestDB(t)
	ctx := context.Background()
	if err := RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("write-ahead log after Close: %v (a connection is still open)", err)
	}
	if err := RunInTx(ctx, db, func(context.Context, bun.Tx) error { return nil }); err == nil {
		t.Fatal("a transaction on the closed database succeeded")
	}
}
