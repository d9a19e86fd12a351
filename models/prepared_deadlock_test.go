package models

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"
)

// A statement prepared twice at once closes its second copy. Closing takes
// database/sql's lock of the connection the copy was prepared on, which a
// statement running there holds; when that statement waits for a row lock
// of a transaction that itself waits for Stmts' lock, closing under that
// lock deadlocks. Seen on PostgreSQL: 20 parallel sign-ins of one account
// (TestParallelCorrectSignInsAreNeverLockedOut) hung until the 30-minute
// test timeout.
func TestStmts_ClosingADuplicateNeverHoldsTheLock(t *testing.T) {
	admin := os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if admin == "" {
		t.Skip("PostgreSQL only (row locks): set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	adb, err := OpenPostgres(admin)
	if err != nil {
		t.Fatal(err)
	}
	defer adb.Close()
	name := fmt.Sprintf("gh_stmts_%d", os.Getpid())
	_, _ = adb.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	if _, err := adb.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = adb.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	db, err := OpenPostgres(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.DB.SetMaxOpenConns(2) // the transaction's connection and one more
	if _, err := db.Exec("CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL); INSERT INTO t VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	s := NewStmts(db)
	const q = "SELECT n FROM t WHERE id = ?"
	if _, err := s.prepare(ctx, q); err != nil { // the pool's statement
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil) // holds the row lock of id 1
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE t SET n = n + 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	hooked := make(chan struct{})
	var once sync.Once
	afterPrepareHook = func() {
		once.Do(func() {
			// The duplicate was prepared on the other connection; a
			// statement there now waits for the transaction's row lock.
			go func() {
				_, err := db.ExecContext(ctx, "UPDATE t SET n = n + 10 WHERE id = 1")
				blocked <- err
			}()
			for i := 0; i < 500; i++ {
				var waiting int
				if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&waiting); err != nil {
					t.Error(err)
					break
				}
				if waiting > 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			close(hooked)
		})
	}
	t.Cleanup(func() { afterPrepareHook = nil })
	dup := make(chan error, 1)
	go func() { // the second copy of q: closed, as the pool has one
		_, err := s.prepare(ctx, q)
		dup <- err
	}()
	<-hooked
	time.Sleep(200 * time.Millisecond) // the duplicate's Close has begun
	// The transaction asks Stmts for a statement: it must get an answer
	// while the duplicate's Close waits, or nothing ever moves again.
	got := make(chan struct{})
	go func() { s.cached(q); close(got) }()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		_ = tx.Rollback() // unwinds the deadlock so the test can end
		t.Fatal("Stmts' lock is held while a duplicate statement is closed: the transaction waits for it, and the close waits for the transaction")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	if err := <-dup; err != nil {
		t.Fatal(err)
	}
}

// Close waits for the statements being prepared in the background: one
// still running opened a connection after the database was closed, and on
// SQLite a new connection recreated the database's files while a test's
// data directory was being removed (TestHardening_KeyMismatchRefused:
// "directory not empty").
func TestStmts_CloseWaitsForBackgroundPrepares(t *testing.T) {
	dir := t.TempDir()
	db, err := Open("", dir+"/stmts.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id integer PRIMARY KEY, n integer NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	finished := false
	afterPrepareHook = func() {
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		finished = true
		mu.Unlock()
	}
	t.Cleanup(func() { afterPrepareHook = nil })
	s := NewStmts(db)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Not prepared on the pool yet: the transaction prepares its own copy
	// and the pool's is prepared in the background.
	if _, err := s.Exec(ctx, tx, "INSERT INTO t (id, n) VALUES (?, ?)", 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	if !finished {
		t.Fatal("Close returned while a statement was still being prepared in the background")
	}
}
