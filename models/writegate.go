package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// The write gate: SQLite takes one writer at a time, and a connection that
// finds the write lock taken polls for it in the busy handler, sleeping
// 1, 2, 5, 10 ... 100 ms between tries, the lock going to whichever poller
// comes first. Under load (32 concurrent writers plus the webhook sender)
// writers slept most of their time and some ran out of busy_timeout:
// "database is locked", a 500. So this process queues its own writers in
// Go instead: every SQLite database file has one gate (a semaphore of one,
// first come first served), taken before a write transaction begins and
// before a single write statement outside a transaction runs, and given
// back when it commits, rolls back or finishes. Readers never take it (WAL
// lets them read beside the writer). busy_timeout still covers other
// processes on the same file (the CLI beside a running server).
//
// The gate lives in the driver (every statement and transaction on a
// database OpenSQLite opened passes it), so no write path can miss it. A
// writer takes its pooled connection first and the gate second, whatever
// the path (a gate taken before the connection deadlocked against writers
// that held every connection of the pool and waited for the gate). The
// one holder of the gate needs no other connection, unless its
// transaction reads through the database instead of the transaction.
// RunInTx marks its context: a write on the database (not the
// transaction) or a second transaction with that context while the
// transaction is open would wait for the gate its own transaction holds,
// and fails at once with ErrNestedWrite instead. A write that waits longer
// than GateWait fails with a "database is locked" error, as busy_timeout
// did.
//
// PostgreSQL has no gate: its writers of different rows do not wait.

// ErrNestedWrite is a write on the database, or a second transaction,
// started with the context of a SQLite write transaction still open: it
// would wait forever for the lock that transaction holds.
var ErrNestedWrite = errors.New("sqlite: write outside the open transaction of this context (it holds the write lock)")

// GateWait bounds how long a SQLite writer waits for this process's
// write gate.
var GateWait = time.Minute

// writeGate is one database file's gate.
type writeGate struct {
	ch chan struct{}
}

func (g *writeGate) acquire(ctx context.Context) error {
	select {
	case g.ch <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(GateWait)
	defer t.Stop()
	select {
	case g.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("database is locked: waited %s for this process's write gate", GateWait)
	}
}

func (g *writeGate) release() { <-g.ch }

var (
	gatesMu sync.Mutex
	gates   = map[string]*writeGate{}
)

// gateFor is the gate of the database file at path, one per process.
func gateFor(path string) *writeGate {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	gatesMu.Lock()
	defer gatesMu.Unlock()
	g := gates[path]
	if g == nil {
		g = &writeGate{ch: make(chan struct{}, 1)}
		gates[path] = g
	}
	return g
}

// gateHold marks the context of a RunInTx.
type gateHold struct {
	g     *writeGate
	state atomic.Int32 // holdTaken, holdBegun or holdDone
	// owned: runGated took the gate itself before BEGIN (the pinned
	// writer's path), so BEGIN must not take it again, nor the
	// transaction's end give it back.
	owned bool
}

const (
	holdDone  = 0 // the transaction ended; the context is an ordinary one again
	holdTaken = 1 // the transaction is about to begin
	holdBegun = 2 // the transaction is open (and holds the gate)
)

type gateKey struct{}

func holdOf(ctx context.Context) *gateHold {
	h, _ := ctx.Value(gateKey{}).(*gateHold)
	return h
}

// gateOf is db's gate, or nil when db is no SQLite database OpenSQLite opened.
func gateOf(db *bun.DB) *writeGate {
	if d, ok := db.DB.Driver().(*gatedDriver); ok {
		return d.gate
	}
	return nil
}

// runGated is RunInTx on SQLite: it marks the context, so that a write
// with it outside the transaction fails with ErrNestedWrite. The
// transaction runs on the database's pinned writer connection when it
// has one (see pinnedWriter), else on any pooled connection.
func runGated(ctx context.Context, db *bun.DB, g *writeGate, fn func(ctx context.Context, tx bun.Tx) error) error {
	if h := holdOf(ctx); h != nil && h.g == g && h.state.Load() != holdDone {
		return ErrNestedWrite
	}
	h := &gateHold{g: g}
	h.state.Store(holdTaken)
	defer h.state.Store(holdDone)
	hctx := context.WithValue(ctx, gateKey{}, h)
	if w := writerOf(db); w != nil {
		// The connection first (taking it may wait for the pool), then
		// the gate, as on every other path.
		if conn, ok := w.get(ctx, db); ok {
			if err := g.acquire(ctx); err != nil {
				return err
			}
			h.owned = true
			broken, err := runPinned(hctx, conn, fn)
			g.release()
			if !broken {
				return err
			}
			// The pinned connection broke before the transaction began
			// (database/sql dropped it): drop it, and run this one on
			// the pool.
			w.drop(conn)
			h.owned = false
			h.state.Store(holdTaken)
		}
	}
	return db.RunInTx(hctx, nil, fn)
}

// runPinned is bun's RunInTx on the pinned connection, whose gate the
// caller holds. The transaction does not end by itself when ctx is
// cancelled (that rollback would run in the background, after the gate
// was given back); fn's statements still stop with ctx, and the
// transaction then rolls back here. broken says that the transaction
// could not begin because the connection is gone.
func runPinned(ctx context.Context, conn bun.Conn, fn func(ctx context.Context, tx bun.Tx) error) (broken bool, err error) {
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn), err
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(ctx, tx); err != nil {
		return false, err
	}
	done = true
	return false, tx.Commit()
}

// pinnedWriter is the one pooled connection that a SQLite database's
// write transactions (RunInTx) run on. SQLite runs one writer at a time
// anyway (the gate queues them), and a connection's page cache is
// dropped whenever another connection wrote to the file (WAL): on a
// pooled connection nearly every transaction read its pages again with a
// pread each (14% of the CPU of a webhook fan-out change, issue 20). The
// pinned connection keeps the pages its transactions read and wrote, so
// only other connections' writes (single statements outside a
// transaction, bulk changes) cost it its cache. It is taken from the
// pool on the first transaction and given back when the database is
// closed (or Unpin is called); one that breaks is replaced.
type pinnedWriter struct {
	mu     sync.Mutex
	conn   *bun.Conn
	closed bool
}

// writerOf is db's pinned writer, or nil when db is no SQLite database
// OpenSQLite opened.
func writerOf(db *bun.DB) *pinnedWriter {
	if d, ok := db.DB.Driver().(*gatedDriver); ok {
		return d.writer
	}
	return nil
}

// get answers the pinned connection, taking it from db's pool first when
// there is none; false when the writer was closed or no connection could
// be had (the caller then uses the pool).
func (w *pinnedWriter) get(ctx context.Context, db *bun.DB) (bun.Conn, bool) {
	w.mu.Lock()
	if w.conn != nil || w.closed {
		defer w.mu.Unlock()
		if w.conn == nil {
			return bun.Conn{}, false
		}
		return *w.conn, true
	}
	w.mu.Unlock()
	c, err := db.Conn(ctx)
	if err != nil {
		return bun.Conn{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil || w.closed {
		// Another transaction pinned one meanwhile, or the database closed.
		c.Close()
		if w.conn == nil {
			return bun.Conn{}, false
		}
		return *w.conn, true
	}
	w.conn = &c
	return c, true
}

// drop forgets conn (when it is still the pinned one) and closes it.
func (w *pinnedWriter) drop(conn bun.Conn) {
	w.mu.Lock()
	if w.conn != nil && w.conn.Conn == conn.Conn {
		w.conn = nil
	}
	w.mu.Unlock()
	conn.Close()
}

// close gives the pinned connection back for good; a transaction running
// on it finishes first (sql.Conn.Close waits for it).
func (w *pinnedWriter) close() error {
	w.mu.Lock()
	c := w.conn
	w.conn, w.closed = nil, true
	w.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close()
}

// Unpin gives a SQLite database's pinned writer connection back to the
// pool for good: its write transactions then run on any pooled
// connection. For tests that need every statement on one connection
// (a per-connection PRAGMA). No-op on PostgreSQL.
func Unpin(db *bun.DB) {
	if w := writerOf(db); w != nil {
		w.close() //nolint:errcheck
	}
}

// gatedConnector opens modernc SQLite connections that pass the gate.
type gatedConnector struct {
	dsn string
	drv *gatedDriver
}

func (c *gatedConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c *gatedConnector) Driver() driver.Driver                        { return c.drv }

// Close is called by sql.DB.Close: the pinned connection goes too.
func (c *gatedConnector) Close() error { return c.drv.writer.close() }

type gatedDriver struct {
	gate   *writeGate
	writer *pinnedWriter
}

// sqliteDriver is the driver modernc registers as "sqlite".
var sqliteDriver = sync.OnceValue(func() driver.Driver {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	return db.Driver()
})

func (d *gatedDriver) Open(dsn string) (driver.Conn, error) {
	c, err := sqliteDriver().Open(dsn)
	if err != nil {
		return nil, err
	}
	return &gatedConn{inner: c.(sqliteConn), gate: d.gate}, nil
}

// sqliteConn is what modernc's connection offers and database/sql uses.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// gatedConn is one connection. database/sql uses a connection from one
// goroutine at a time, so inTx needs no lock.
type gatedConn struct {
	inner sqliteConn
	gate  *writeGate
	inTx  bool
}

// enter takes the gate for a write outside a transaction or for a
// transaction's BEGIN; it fails with ErrNestedWrite when ctx is that of
// an open RunInTx transaction. It returns whether the caller must release
// the gate: always when it returns no error, except for the BEGIN of a
// transaction whose gate runGated took itself.
func (c *gatedConn) enter(ctx context.Context, begin bool) (own bool, err error) {
	if h := holdOf(ctx); h != nil && h.g == c.gate {
		if begin && h.state.CompareAndSwap(holdTaken, holdBegun) {
			if h.owned {
				return false, nil // runGated took it
			}
		} else if h.state.Load() != holdDone {
			return false, ErrNestedWrite
		}
	}
	if err := c.gate.acquire(ctx); err != nil {
		return false, err
	}
	return true, nil
}

func (c *gatedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	own, err := c.enter(ctx, true)
	if err != nil {
		return nil, err
	}
	tx, err := c.inner.BeginTx(ctx, opts)
	if err != nil {
		if own {
			c.gate.release()
		}
		return nil, err
	}
	c.inTx = true
	return &gatedTx{inner: tx, c: c, own: own}, nil
}

func (c *gatedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *gatedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.inTx || !isWrite(query) {
		return c.inner.ExecContext(ctx, query, args)
	}
	own, err := c.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	if own {
		defer c.gate.release()
	}
	return c.inner.ExecContext(ctx, query, args)
}

func (c *gatedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.inTx || !isWrite(query) {
		return c.inner.QueryContext(ctx, query, args)
	}
	// A write with RETURNING: its statement (and so its implicit
	// transaction) lasts until the rows are closed.
	own, err := c.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	rows, err := c.inner.QueryContext(ctx, query, args)
	if err != nil {
		if own {
			c.gate.release()
		}
		return nil, err
	}
	if !own {
		return rows, nil
	}
	return &gatedRows{Rows: rows, gate: c.gate}, nil
}

func (c *gatedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.inner.PrepareContext(ctx, query)
	if err != nil || !isWrite(query) {
		return st, err
	}
	return &gatedStmt{Stmt: st, c: c}, nil
}

func (c *gatedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *gatedConn) Close() error                           { return c.inner.Close() }
func (c *gatedConn) Ping(ctx context.Context) error         { return c.inner.Ping(ctx) }
func (c *gatedConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }
func (c *gatedConn) IsValid() bool                          { return c.inner.IsValid() }

type gatedTx struct {
	inner driver.Tx
	c     *gatedConn
	own   bool
	done  bool
}

func (t *gatedTx) end(err error) error {
	if !t.done {
		t.done = true
		t.c.inTx = false
		if t.own {
			t.c.gate.release()
		}
	}
	return err
}

func (t *gatedTx) Commit() error   { return t.end(t.inner.Commit()) }
func (t *gatedTx) Rollback() error { return t.end(t.inner.Rollback()) }

// gatedStmt is a prepared write statement.
type gatedStmt struct {
	driver.Stmt
	c *gatedConn
}

func (s *gatedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	ex := s.Stmt.(driver.StmtExecContext)
	if s.c.inTx {
		return ex.ExecContext(ctx, args)
	}
	own, err := s.c.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	if own {
		defer s.c.gate.release()
	}
	return ex.ExecContext(ctx, args)
}

func (s *gatedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q := s.Stmt.(driver.StmtQueryContext)
	if s.c.inTx {
		return q.QueryContext(ctx, args)
	}
	own, err := s.c.enter(ctx, false)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil || !own {
		if own {
			s.c.gate.release()
		}
		return rows, err
	}
	return &gatedRows{Rows: rows, gate: s.c.gate}, nil
}

// gatedRows gives the gate back when a write's rows are closed.
type gatedRows struct {
	driver.Rows
	gate *writeGate
	once sync.Once
}

func (r *gatedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.gate.release)
	return err
}

func (r *gatedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *gatedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

// isWrite reports whether a statement run outside a transaction may
// write: anything but a SELECT, EXPLAIN, PRAGMA or VALUES, and a WITH
// whose statement is an INSERT, UPDATE, DELETE or REPLACE. A read
// taken for a write only waits for the gate; so the test errs that way.
func isWrite(query string) bool {
	q := skipSpaceAndComments(query)
	word := firstWord(q)
	switch word {
	case "SELECT", "EXPLAIN", "PRAGMA", "VALUES":
		return false
	case "WITH":
		return hasDMLWord(q)
	}
	return true
}

func skipSpaceAndComments(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n(")
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q, "*/")
			if i < 0 {
				return ""
			}
			q = q[i+2:]
		default:
			return q
		}
	}
}

func firstWord(q string) string {
	i := 0
	for i < len(q) && isWordByte(q[i]) {
		i++
	}
	return strings.ToUpper(q[:i])
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// hasDMLWord reports whether q has INSERT, UPDATE, DELETE or REPLACE as a
// word outside quotes.
func hasDMLWord(q string) bool {
	for i := 0; i < len(q); {
		switch b := q[i]; {
		case b == '\'' || b == '"' || b == '`':
			j := strings.IndexByte(q[i+1:], b)
			if j < 0 {
				return false
			}
			i += j + 2
		case isWordByte(b):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			switch strings.ToUpper(q[i:j]) {
			case "INSERT", "UPDATE", "DELETE", "REPLACE":
				return true
			}
			i = j
		default:
			i++
		}
	}
	return false
}
