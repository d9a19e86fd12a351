package models

import (
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// SetPGSearchWindow fixes the window for a test and returns the undo.
func SetPGSearchWindow(n int) func() {
	old := pgSearchWindowFixed
	pgSearchWindowFixed = n
	return func() { pgSearchWindowFixed = old }
}

// SetTextDriveBound sets textDriveBound for a test and returns the undo.
func SetTextDriveBound(n int64) func() {
	old := textDriveBound
	textDriveBound = n
	return func() { textDriveBound = old }
}

// BookkeepingTriggers are the triggers WithBulkBookkeeping sets aside.
var BookkeepingTriggers = bookkeepingTriggers

// ForgetPGHistogram drops the cached display-name histogram (another
// test's database may have filled it).
func ForgetPGHistogram() {
	pgHistogram.Lock()
	pgHistogram.at = time.Time{}
	pgHistogram.Unlock()
}

// SetPGSummarySegment sets the accounts per summary segment for a test
// and returns the undo.
func SetPGSummarySegment(n int) func() {
	old := pgSummarySegment
	pgSummarySegment = n
	return func() { pgSummarySegment = old }
}

// PGSummaryWalked is the number of candidate-segment runs that searches
// through the summary have walked so far, and the segments in them.
func PGSummaryWalked() (runs, segments int64) {
	return pgSummaryWalked.Load(), pgSummarySegsWalked.Load()
}

// SummaryGrams exposes summaryGrams.
var SummaryGrams = summaryGrams

// UsersWriteStatements are the statements UpdateUsersSet (with and
// without RETURNING), UpdateUsersNamed and DeleteUsers run for ids, with
// their arguments, for plan tests.
func UsersWriteStatements(db bun.IDB, ids []int64) (map[string]string, map[string][]any, error) {
	now := time.Now().UTC()
	sqls, args := map[string]string{}, map[string][]any{}
	_, idsArg := idsParam(db, "id", ids)
	for _, named := range []bool{false, true} {
		name := fmt.Sprintf("UpdateUsersSet named=%v", named)
		s, err := usersSetSQL(db, []string{"status", "status_reason"}, named)
		if err != nil {
			return nil, nil, err
		}
		sqls[name], args[name] = s, []any{now, StatusSuspended, "", idsArg}
		name = fmt.Sprintf("UpdateUsersNamed named=%v", named)
		if s, err = usersNamedSQL(db, ids, now, func(q *bun.UpdateQuery) *bun.UpdateQuery { return q.Set("timezone = ?", "UTC") }, named); err != nil {
			return nil, nil, err
		}
		sqls[name] = s
	}
	s, err := deleteUsersSQL(db, ids)
	if err != nil {
		return nil, nil, err
	}
	sqls["DeleteUsers"] = s
	return sqls, args, nil
}
