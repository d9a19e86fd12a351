package models

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Stmts runs fixed statements of the hot paths (the service API's
// entitlement read and charge) as prepared statements: database/sql
// prepares each once per pool connection and keeps it. modernc's SQLite
// has no statement cache, and parsing a statement was a quarter of the CPU
// of an entitlement read and of a charge (profile under make bench).
//
// Statements are written with ? placeholders (rewritten to $1, $2, … on
// PostgreSQL). Times are bound as bun writes them (UTC, microseconds), so
// that rows written here compare and sort with the rest.
type Stmts struct {
	db *bun.DB
	pg bool

	texts selectTexts // Select's statements, built by bun

	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	closed  bool
	bg      sync.WaitGroup // the background prepares
}

// NewStmts prepares lazily, on first use of each statement.
func NewStmts(db *bun.DB) *Stmts {
	return &Stmts{db: db, pg: !IsSQLite(db), m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// Close closes the prepared statements.
func (s *Stmts) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	// A background prepare still running would open a connection after
	// the database is closed (on SQLite, a new connection recreates the
	// database's files: a test's data directory could not be removed).
	s.bg.Wait()
	s.mu.Lock()
	m := s.m
	s.m = map[string]*sql.Stmt{}
	s.mu.Unlock()
	for _, st := range m { // outside the lock, as in prepare
		st.Close()
	}
}

// cached answers the pool's prepared statement for query, or nil.
func (s *Stmts) cached(query string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[query]
}

func (s *Stmts) text(query string) string {
	if s.pg {
		return dollarPlaceholders(query)
	}
	return query
}

// afterPrepareHook, when a test sets it, runs in prepare between preparing
// and taking the lock.
var afterPrepareHook func()

// prepare prepares query on the pool. The lock is not held meanwhile:
// preparing waits for a free connection, and the callers that hold one
// (transactions) must never wait for it.
func (s *Stmts) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := s.db.DB.PrepareContext(ctx, s.text(query))
	if err != nil {
		return nil, err
	}
	if afterPrepareHook != nil {
		afterPrepareHook()
	}
	s.mu.Lock()
	had, ok := s.m[query]
	if !ok {
		s.m[query] = st
	}
	s.mu.Unlock()
	if ok {
		// Closed outside the lock: closing takes database/sql's lock of
		// each connection the statement was prepared on, which a
		// statement running there holds, and that statement may wait for
		// a row lock of a transaction that waits for s.mu (a deadlock
		// seen on PostgreSQL: 20 parallel sign-ins hung for 24 minutes).
		st.Close()
		return had, nil
	}
	return st, nil
}

// on answers the statement for db. Through the pool: the pool's prepared
// statement. In a transaction: the transaction's copy of it (which reuses
// its connection's prepared statement), or, before the pool has one, the
// statement prepared on the transaction alone (a transaction holds a
// connection and must not wait for another; the pool's is prepared
// meanwhile, in the background). own: closed by the caller.
func (s *Stmts) on(ctx context.Context, db bun.IDB, query string) (st *sql.Stmt, own bool, err error) {
	tx, inTx := db.(bun.Tx)
	if !inTx {
		if st = s.cached(query); st != nil {
			return st, false, nil
		}
		st, err = s.prepare(ctx, query)
		return st, false, err
	}
	if st = s.cached(query); st != nil {
		return tx.Tx.StmtContext(ctx, st), true, nil
	}
	s.mu.Lock()
	if !s.pending[query] && !s.closed {
		s.pending[query] = true
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.prepare(context.Background(), query) //nolint:errcheck // tried again on the next use
			s.mu.Lock()
			delete(s.pending, query)
			s.mu.Unlock()
		}()
	}
	s.mu.Unlock()
	st, err = tx.Tx.PrepareContext(ctx, s.text(query))
	return st, err == nil, err
}

// Query runs a prepared query through db (the DB or a bun.Tx).
func (s *Stmts) Query(ctx context.Context, db bun.IDB, query string, args ...any) (*sql.Rows, error) {
	st, _, err := s.on(ctx, db, query)
	if err != nil {
		return nil, err
	}
	// A transaction's statement closes with the transaction (the rows
	// are read before it ends).
	return st.QueryContext(ctx, s.args(args)...)
}

// Exec runs a prepared statement through db (the DB or a bun.Tx).
func (s *Stmts) Exec(ctx context.Context, db bun.IDB, query string, args ...any) (sql.Result, error) {
	st, own, err := s.on(ctx, db, query)
	if err != nil {
		return nil, err
	}
	if own {
		defer st.Close()
	}
	return st.ExecContext(ctx, s.args(args)...)
}

// QueryRow runs a prepared query that answers one row and scans it into
// dest; sql.ErrNoRows when there is none.
func (s *Stmts) QueryRow(ctx context.Context, db bun.IDB, query string, args []any, dest ...any) error {
	st, own, err := s.on(ctx, db, query)
	if err != nil {
		return err
	}
	if own {
		defer st.Close()
	}
	return st.QueryRowContext(ctx, s.args(args)...).Scan(dest...)
}

// args binds times as bun writes them.
func (s *Stmts) args(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = v.UTC().Format(bunTimeFormat)
		case *time.Time:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = v.UTC().Format(bunTimeFormat)
			}
		}
	}
	return args
}

// bunTimeFormat is how bun's dialects write a time.Time.
const bunTimeFormat = "2006-01-02 15:04:05.999999-07:00"

// dollarPlaceholders numbers the ? placeholders of query ($1, $2, …) for
// PostgreSQL. The statements given to Stmts hold no ? inside literals.
func dollarPlaceholders(query string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
