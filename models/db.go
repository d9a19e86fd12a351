// Package models holds the database tables as bun structs and the queries
// on them. It knows no rules and no HTTP; callers pass a bun.IDB so that
// queries run inside the caller's transaction.
package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// SQLiteDSN is the connection string for the embedded database: WAL for
// concurrent readers, a busy timeout so writers queue instead of failing,
// foreign keys on, and BEGIN IMMEDIATE so a transaction takes the write lock
// up front (no deadlock-prone lock upgrades).
func SQLiteDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		fmt.Sprintf("?_pragma=journal_mode(WAL)&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", SQLiteBusyTimeout.Milliseconds()) +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// SQLiteBusyTimeout is how long a SQLite connection waits for a lock
// another connection holds before it fails with "database is locked". A
// database opened meanwhile keeps the value it was opened with; tests that
// shorten it must not run in parallel with others.
var SQLiteBusyTimeout = 5 * time.Second

// OpenSQLite opens (creating if needed) the SQLite database at path.
func OpenSQLite(path string) (*bun.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	sqldb := sql.OpenDB(&gatedConnector{dsn: SQLiteDSN(path), drv: &gatedDriver{gate: gateFor(path), writer: &pinnedWriter{}}})
	// 8 for readers and single statements, one more for the pinned writer.
	sqldb.SetMaxOpenConns(9)
	sqldb.SetMaxIdleConns(9)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// PostgresMaxConns bounds one instance's PostgreSQL connections.
const PostgresMaxConns = 24

// OpenPostgres opens a PostgreSQL database from a postgres:// URL.
//
// pgdriver gives up on any read from the server after 10 s by default: a
// statement that legitimately runs or waits longer (a bulk change of
// 100,000 accounts on a busy machine, a change queued behind a row lock)
// failed with "i/o timeout", and the connection was dropped in the middle
// of its transaction while the server went on with the statement. A socket
// timeout is no statement limit, so there is none here: a statement runs
// as long as its context allows (pgdriver turns the context's deadline
// into the socket's), and a dead server is found by TCP keepalive. A
// read_timeout (or timeout) in the URL still sets one.
func OpenPostgres(dsn string) (*bun.DB, error) {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithReadTimeout(0), pgdriver.WithDSN(dsn)))
	// A bounded pool: 200 concurrent charges of one account each held a
	// connection while they queued for its row lock, and the server's
	// max_connections (100 by default) ran out (503 storage_unavailable).
	// Requests beyond the bound wait for a connection instead.
	sqldb.SetMaxOpenConns(PostgresMaxConns)
	sqldb.SetMaxIdleConns(PostgresMaxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := bun.NewDB(sqldb, pgdialect.New())
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

// Open picks PostgreSQL when databaseURL is a postgres URL, else SQLite at sqlitePath.
func Open(databaseURL, sqlitePath string) (*bun.DB, error) {
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		return OpenPostgres(databaseURL)
	}
	if databaseURL != "" {
		return nil, fmt.Errorf("database URL must start with postgres://")
	}
	return OpenSQLite(sqlitePath)
}

// IsSQLite reports whether db speaks SQLite.
func IsSQLite(db bun.IDB) bool { return db.Dialect().Name() == dialect.SQLite }

// RunInTx runs fn in a transaction. On SQLite the DSN makes it BEGIN
// IMMEDIATE, so checks inside fn see no concurrent writer, after the
// process's write gate (writegate.go); fn's context must not be used for
// writes on db itself (ErrNestedWrite).
func RunInTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	if g := gateOf(db); g != nil {
		return runGated(ctx, db, g, fn)
	}
	return db.RunInTx(ctx, nil, fn)
}

// RunBulkTx runs fn, a change to many rows, in a transaction. On SQLite it
// runs on a connection of its own with a larger page cache (bulkCacheKiB,
// so that fewer dirty pages spill to the log in the middle of the
// transaction) that does not checkpoint the write-ahead log when it
// commits: a status change of 100,000 accounts spread over a million
// leaves some 400 MB of log, and copying it into the database at commit
// was more than a second of the request. The connection gets its defaults
// back after the commit, before it returns to the pool (shrinking the
// cache inside the transaction made SQLite write out every dirty page
// there and then: 7-10 s of a 100,000-account change on a loaded
// machine), and a passive checkpoint follows (readers and writers go on
// meanwhile; one at a time). Both run after fn's answer, in the
// background: giving back the cache frees its pages one by one (an
// madvise each in modernc's allocator, about a second of CPU for 64 MiB
// under load), which the caller need not wait for.
func RunBulkTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	if !IsSQLite(db) {
		return db.RunInTx(ctx, nil, fn)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	for _, p := range []string{"PRAGMA wal_autocheckpoint = 0", fmt.Sprintf("PRAGMA cache_size = -%d", bulkCacheKiB)} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			restoreBulkConn(db, conn, false)
			return err
		}
	}
	// The update-time log's entries that the change appends
	// (WithBulkUpdatedLog) leave stale ones behind, swept after the
	// commit.
	batch := &updatedLogBatch{}
	err = conn.RunInTx(context.WithValue(ctx, bulkLogKey{}, batch), nil, fn)
	committed := err == nil
	sweep := committed && batch.pending != 0
	if sweep {
		sweeps.Add(1) // before the caller can wait for it
	}
	go func() {
		restoreBulkConn(db, conn, committed)
		if sweep {
			sweepAfter(db, batch)
		}
	}()
	return err
}

// bulkCacheKiB is the page cache of a bulk change's connection: 8 MiB.
// It counts in the server's resident memory beside the Go heap (see the
// soft limit in cli.tuneGC), at about twice its size: modernc's allocator
// gives each 4 KiB page with its header an 8 KiB slot. A status change of
// 100,000 accounts at 1,000,000 dirties some 280 MB of pages whatever the
// cache, most of them (the table's) touched once; measured over HTTP
// (BENCHMARKS.md, session 14, h2) 8 MiB cost no more CPU than 32 MiB and
// kept the server at 200-241 MiB against 254-273 MiB, while the default
// 2 MB cost half as much CPU again. 64 MiB saved little CPU and put the
// server past 256 MiB.
const bulkCacheKiB = 8 << 10

// restoreBulkConn gives the bulk connection its defaults back and returns
// it to the pool (or drops it, when that fails), then checkpoints the log
// when the change committed.
func restoreBulkConn(db *bun.DB, conn bun.Conn, committed bool) {
	ctx := context.Background()
	_, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 1000")
	if err == nil {
		_, err = conn.ExecContext(ctx, "PRAGMA cache_size = -2000")
	}
	if err != nil {
		// The connection must not go back to the pool without them.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
	if committed && checkpointing.CompareAndSwap(false, true) {
		defer checkpointing.Store(false)
		db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)") //nolint:errcheck
	}
}

// checkpointing is set while a background checkpoint runs.
var checkpointing atomic.Bool

// notFound maps sql.ErrNoRows to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// NotFound maps sql.ErrNoRows to ErrNotFound and passes other errors on.
func NotFound(err error) error { return notFound(err) }
