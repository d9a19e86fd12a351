package models

import (
	"context"
	"sync"

	"github.com/uptrace/bun"
)

// Select runs a SELECT that bun builds as a prepared statement and scans
// its rows into dest as bun's Scan would (the columns and aliases are the
// models', the text is bun's own). build writes bun.Safe("?") where each
// of args goes; its text must not depend on anything else that varies, for
// it is built once per dialect and kept under name.
func (s *Stmts) Select(ctx context.Context, db bun.IDB, name string, build func(db bun.IDB) *bun.SelectQuery, dest any, args ...any) error {
	rows, err := s.Query(ctx, db, s.Text(db, name, build), args...)
	if err != nil {
		return err
	}
	return s.db.ScanRows(ctx, rows, dest)
}

// Text answers the text Select runs under name (built on first use).
func (s *Stmts) Text(db bun.IDB, name string, build func(db bun.IDB) *bun.SelectQuery) string {
	key := db.Dialect().Name().String() + "\x00" + name
	if t, ok := s.texts.Load(key); ok {
		return t.(string)
	}
	t := build(db).String()
	s.texts.Store(key, t)
	return t
}

// selectTexts is the texts of Select, by dialect and name.
type selectTexts = sync.Map
