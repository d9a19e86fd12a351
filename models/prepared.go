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

	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// NewStmts prepares lazily, on first use of each statement.
func NewStmts(db *bun.DB) *Stmts {
	return &Stmts{db: db, pg: !IsSQLite(db), m: map[string]*sql.Stmt{}}
}

// Close closes the prepared statements.
func (s *Stmts) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.m {
		st.Close()
		delete(s.m, k)
	}
}

func (s *Stmts) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[query]; ok {
		return st, nil
	}
	text := query
	if s.pg {
		text = dollarPlaceholders(query)
	}
	st, err := s.db.DB.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	s.m[query] = st
	return st, nil
}

// on answers the statement for db: the pool's, or the transaction's copy
// (which reuses the connection's prepared statement).
func (s *Stmts) on(ctx context.Context, db bun.IDB, query string) (*sql.Stmt, bool, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, false, err
	}
	if tx, ok := db.(bun.Tx); ok {
		return tx.Tx.StmtContext(ctx, st), true, nil
	}
	return st, false, nil
}

// Query runs a prepared query through db (the DB or a bun.Tx).
func (s *Stmts) Query(ctx context.Context, db bun.IDB, query string, args ...any) (*sql.Rows, error) {
	st, own, err := s.on(ctx, db, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, s.args(args)...)
	if own && err != nil {
		st.Close()
	}
	// A transaction's statement closes with the transaction.
	return rows, err
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
