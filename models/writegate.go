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
// with it outside the transaction fails with ErrNestedWrite.
func runGated(ctx context.Context, db *bun.DB, g *writeGate, fn func(ctx context.Context, tx bun.Tx) error) error {
	if h := holdOf(ctx); h != nil && h.g == g && h.state.Load() != holdDone {
		return ErrNestedWrite
	}
	h := &gateHold{g: g}
	h.state.Store(holdTaken)
	defer h.state.Store(holdDone)
	return db.RunInTx(context.WithValue(ctx, gateKey{}, h), nil, fn)
}

// gatedConnector opens modernc SQLite connections that pass the gate.
type gatedConnector struct {
	dsn string
	drv *gatedDriver
}

func (c *gatedConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c *gatedConnector) Driver() driver.Driver                        { return c.drv }

type gatedDriver struct {
	gate *writeGate
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
// the gate (always, when it returns no error).
func (c *gatedConn) enter(ctx context.Context, begin bool) (own bool, err error) {
	if h := holdOf(ctx); h != nil && h.g == c.gate {
		if !(begin && h.state.CompareAndSwap(holdTaken, holdBegun)) && h.state.Load() != holdDone {
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
