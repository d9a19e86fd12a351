package models

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// pgSearchWindow is the least number of accounts, in display-name order,
// that the first page of a PostgreSQL search sorted by display name tests
// before it reads every match instead (a variable for tests). The window
// grows as 4·sqrt(page·N) for N accounts (pgWindow).
var pgSearchWindow = 50_000

// pgSearchWindowFixed, when positive, is the window itself (tests).
var pgSearchWindowFixed = 0

// pgWindow is the walk's bound for a page of need accounts among all:
// where walking (need·all/m rows for m matches spread over the order)
// and reading every match (m rows) cost the same, m = sqrt(need·all),
// four times over for matches that are not spread evenly, and never
// less than pgSearchWindow: testing an account in the index costs about
// a microsecond, reading a match from the table ten to a hundred times
// that, so a walk of 50,000 index entries is cheaper than a few thousand
// matches read.
func pgWindow(need int, all int64) int {
	if pgSearchWindowFixed > 0 {
		return pgSearchWindowFixed
	}
	return max(pgSearchWindow, int(4*math.Sqrt(float64(need)*float64(all))))
}

// pgSearchByDisplayName reads the first page of a text search sorted by
// display name on PostgreSQL, and its total when wantTotal. Left to
// itself the planner walks the display-name order testing the text on
// each row of the table, expecting matches spread over the order; a text
// that is a first name ("sofia") matches only accounts whose names start
// with it, and the walk read half the table first (18 s at a million
// accounts). So:
//
//  1. The first pgWindow accounts in display-name order are tested in the
//     index alone: users_display_cover holds the four searched fields
//     (migration 20261203000081), so the walk is an index-only scan
//     that reads no row of the table. If they hold a page of matches
//     (that also pass the other filters), those are the first matches in
//     that order, and only the page's rows are read.
//  2. If not, and the display-name histogram puts names with the text
//     close enough past the window (a last name: pgWalkOn), the walk
//     goes on from the window's end, up to a budget of index entries
//     that costs less than reading every match would.
//  3. Else every match is read through the trigram (or prefix) indexes
//     and sorted: this costs the number of matches, which is small
//     unless they cluster past the window (a first name: see
//     BENCHMARKS.md, PostgreSQL).
//
// The total comes from the same reads, so that the window is walked at
// most once and each match read from the table at most once (before,
// the total walked the window and read up to SearchCountCap matches,
// then the page did both again): a text alone is counted in the walk
// itself, up to SearchCountCap+1 matches, and when the window holds no
// page the query that reads every match counts them. Only a text whose
// window holds a page but fewer than SearchCountCap+1 matches is then
// counted through the trigram index (at most SearchCountCap+1 rows
// read), and a search with other filters whose window holds a page is
// counted by CountUsersMatching. Past the caps (SearchCountCap for a
// text alone, CountCap with other filters) the total is an estimate,
// as CountUsersMatching answers it.
//
// The walk's test uses the stored lower-case username and email and the
// public ID as stored (public IDs are lower-case by construction, as
// ExactMatch also assumes): calling lower() on each entry cost more than
// reading it.
func pgSearchByDisplayName(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, limit int, wantTotal bool, now time.Time) ([]User, int64, bool, error) {
	text := searchText(f.Q)
	rest := f
	rest.Q = ""
	onlyText := rest == UserFilter{}
	if onlyText {
		users, total, estimate, ok, err := pgSearchBySummary(ctx, db, text, s, nil, limit, wantTotal)
		if err != nil || ok {
			return users, total, estimate, err
		}
	}
	dir, cmp, past := " ASC", " <= ", " > "
	if s.Desc {
		dir, cmp, past = " DESC", " >= ", " < "
	}
	order := "lower(w.display_name)" + dir + ", w.id" + dir
	edge, far, err := pgWindowBound(ctx, db, s.Desc, limit, text)
	if err != nil {
		return nil, 0, false, err
	}
	// A prefix that one field's own index holds past the cap has the
	// capped estimate for its total, whatever the walk would count: the
	// walk then goes only as far as the page ("ya" at 10M: a window of
	// 69,332 entries tested to count 72 matches, for a page found in the
	// first 16,740; 3,238 index pages read against 766).
	short := len([]rune(text)) < MinSubstringLen
	pastCap := false
	if onlyText && wantTotal && short {
		if pastCap, err = pgPrefixPastCap(ctx, db, text); err != nil {
			return nil, 0, false, err
		}
	}
	take := limit
	if onlyText && wantTotal && !pastCap {
		take = max(limit, SearchCountCap+1)
	}
	cond, args := pgWalkCondition(text)
	// walk reads the matches among the accounts after from (nil: from
	// the first) up to and with to (nil: to the last) in display-name
	// order, up to n of them.
	walk := func(from, to []string, n int) ([]int64, error) {
		w := db.NewSelect().TableExpr("users AS w").Column("w.id")
		if len(from) > 0 {
			w = w.Where("lower(w.display_name)"+past+"?", from[0])
		}
		if len(to) > 0 {
			w = w.Where("lower(w.display_name)"+cmp+"?", to[0])
		}
		w = w.Where(cond, args...)
		var ids []int64
		if onlyText {
			err := w.OrderExpr(order).Limit(int64(n)).Scan(ctx, &ids)
			return ids, err
		}
		// The other filters need the table: only the walk's text
		// matches are read from it.
		q := db.NewSelect().Model((*User)(nil)).Column("u.id").Where("u.id IN (?)", w)
		err := applyUserSort(ApplyUserFilter(q, rest, now), s, false).Limit(int64(n)).Scan(ctx, &ids)
		return ids, err
	}
	ids, err := walk(nil, edge, take)
	if err != nil {
		return nil, 0, false, err
	}
	// whole: the walk went to the last account.
	whole := len(edge) == 0
	if len(ids) < limit && far != nil {
		// The window held no page, and the histogram puts display names
		// with the text close enough that walking on to them costs less
		// than reading every match: the walk goes on from the window's
		// end (a last name: "tanaka" at 10M, first met after 110,000
		// accounts of the "ada …" names).
		more, err := walk(edge, far.to, take-len(ids))
		if err != nil {
			return nil, 0, false, err
		}
		ids = append(ids, more...)
		whole = len(far.to) == 0
	}
	counted := -1 // the walk's matches, counted up to SearchCountCap+1
	if onlyText && wantTotal && !pastCap {
		counted = len(ids)
	}
	ids = ids[:min(len(ids), limit)]
	if len(ids) >= limit || whole {
		users, err := pgUsersByID(ctx, db, ids, s)
		if err != nil || !wantTotal {
			return users, 0, false, err
		}
		switch {
		case pastCap || counted > SearchCountCap:
			return users, SearchCountCap, true, nil
		case counted >= 0 && whole:
			// The walk read every account: counted exactly.
			return users, int64(counted), false, nil
		case onlyText && short:
			// Under the cap in every field's index (looked up above).
			total, estimate, err := countCappedPlain(ctx, db, UserFilter{Q: text}, SearchCountCap, time.Time{})
			return users, total, estimate, err
		case onlyText:
			total, estimate, err := pgTextTotal(ctx, db, text)
			return users, total, estimate, err
		}
		total, estimate, err := CountUsersMatching(ctx, db, f, now)
		return users, total, estimate, err
	}
	// Every match is read, then sorted (the sort key written so that no
	// index yields it), and counted by the same read. In a transaction
	// of its own with JIT compilation off and a work_mem that keeps the
	// trigram bitmap exact: at 10M accounts the planner's cost of this
	// read passes jit_above_cost, and compiling took 0.5 s ("sofia") to
	// 8.1 s ("li"); the default 4 MB made the bitmap lossy, rechecking
	// 396,169 more rows for "sofia" (62 s at load 50 as it was, 30 s
	// without both; BENCHMARKS.md).
	var page []struct {
		ID int64 `bun:"id"`
		N  int64 `bun:"n"`
	}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, set := range []string{"SET LOCAL jit = off", "SET LOCAL work_mem = '32MB'"} {
			if _, err := tx.ExecContext(ctx, set); err != nil {
				return err
			}
		}
		q := applyTerms(tx.NewSelect().TableExpr("users AS u").ColumnExpr("u.id"), f, now, listPlan{})
		if wantTotal {
			q = q.ColumnExpr("count(*) OVER () AS n")
		}
		return q.OrderExpr("lower(u.display_name) || ''"+dir).OrderExpr("u.id"+dir).Limit(int64(limit)).Scan(ctx, &page)
	})
	if err != nil {
		return nil, 0, false, err
	}
	ids = ids[:0]
	for _, p := range page {
		ids = append(ids, p.ID)
	}
	users, err := pgUsersByID(ctx, db, ids, s)
	if err != nil || !wantTotal || len(page) == 0 {
		return users, 0, false, err
	}
	most := int64(CountCap)
	if onlyText {
		most = SearchCountCap
	}
	if pastCap || page[0].N > most {
		return users, most, true, nil
	}
	return users, page[0].N, false, nil
}

// pgUsersByID reads the accounts of ids (a page) in order s.
func pgUsersByID(ctx context.Context, db bun.IDB, ids []int64, s UserSort) ([]User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var users []User
	err := applyUserSort(db.NewSelect().Model(&users).Relation("Plan").Where("u.id IN (?)", bun.List(ids)), s, false).Scan(ctx)
	return users, err
}

// pgWindowBound is the last display name (lower-case) of the window of
// pgWindow accounts in display-name order (from its end when desc), or
// nil when the window holds every account; and, for a search of text,
// how far past the window the walk goes on when the window holds no
// page (nil: not at all; see pgWalkOn).
func pgWindowBound(ctx context.Context, db bun.IDB, desc bool, need int, text string) ([]string, *pgFar, error) {
	all, err := CountAllUsers(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	window := pgWindow(need, all)
	if int64(window) >= all {
		return nil, nil, nil
	}
	bounds, err := pgDisplayHistogram(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	if edge := pgWindowEdge(bounds, desc, window, all); edge != nil {
		return edge, pgWalkOn(bounds, desc, window, all, text), nil
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	var edge []string
	err = db.NewRaw("SELECT lower(w.display_name) FROM users AS w ORDER BY lower(w.display_name)"+dir+", w.id"+dir+" OFFSET ? LIMIT 1", window-1).Scan(ctx, &edge)
	return edge, nil, err
}

// pgFar is where the walk past the window ends: the last display name
// it tests, or nil for the last account.
type pgFar struct{ to []string }

// pgWalkRatio is how many index entries the walk may test for each
// match that reading every match would read from the table instead: an
// entry of users_display_cover costs 0.15-0.3 µs to test, a match read
// through the trigram index 3 µs (its block in shared buffers, a million
// accounts) to 10 µs (not, ten million) (BENCHMARKS.md, PostgreSQL).
const pgWalkRatio = 10

// pgWalkOn decides from the display-name histogram (a thousand buckets
// of equal counts) whether the first page of a search for text that the
// window did not hold is cheaper to find by walking on in display-name
// order than by reading every match: the buckets whose bounds contain
// the text (or start with it, below MinSubstringLen) estimate both the
// display names that match and where the first of them is. The walk
// goes on when that first bound lies within pgWalkRatio entries per
// estimated match, and then up to that budget; past it, every match is
// read as before. Only the plan depends on the estimate: the walk's
// answer is exact wherever it ends. Matches of the other fields are not
// in the histogram; they only make the walk end sooner.
func pgWalkOn(bounds []string, desc bool, window int, all int64, text string) *pgFar {
	if text == "" || len(bounds) < 2 {
		return nil
	}
	buckets := len(bounds) - 1
	at := func(i int) string { // the i-th bound in walking order
		if desc {
			return bounds[buckets-i]
		}
		return bounds[i]
	}
	short := len([]rune(text)) < MinSubstringLen
	first, hits := -1, 0
	for i := 0; i <= buckets; i++ {
		b := at(i)
		if (short && strings.HasPrefix(b, text)) || (!short && strings.Contains(b, text)) {
			if first < 0 {
				first = i
			}
			hits++
		}
	}
	start := int(math.Ceil(float64(window) / float64(all) * float64(buckets)))
	budget := start + pgWalkRatio*hits
	if first < 0 || first+1 > budget {
		return nil
	}
	if budget >= buckets {
		return &pgFar{}
	}
	return &pgFar{to: []string{at(budget)}}
}

// pgSearchTotal counts the matches of a search by text alone up to
// SearchCountCap, as CountUsersMatching answers it. The window's index
// entries are counted first (an index-only scan): a common text
// ("example.net", a fifth of the accounts) has a thousand matches there,
// and the table is not read. Only a rarer text is counted through the
// trigram index, which reads each match counted from the table.
func pgSearchTotal(ctx context.Context, db bun.IDB, text string) (int64, bool, error) {
	if len([]rune(text)) < MinSubstringLen {
		// A prefix past the cap in one field's index: nothing to walk.
		if past, err := pgPrefixPastCap(ctx, db, text); err != nil || past {
			return SearchCountCap, true, err
		}
	}
	// Through the search summary when it prunes the text: its candidate
	// segments are walked to the cap.
	if _, n, estimate, ok, err := pgSearchBySummary(ctx, db, text, UserSort{Key: "display_name"}, nil, 0, true); err != nil || ok {
		return n, estimate, err
	}
	edge, _, err := pgWindowBound(ctx, db, false, 25, "")
	if err != nil {
		return 0, false, err
	}
	walk := db.NewSelect().TableExpr("users AS w").ColumnExpr("1")
	if len(edge) > 0 {
		walk = walk.Where("lower(w.display_name) <= ?", edge[0])
	}
	cond, args := pgWalkCondition(text)
	var n int64
	if err := db.NewSelect().TableExpr("(?) AS matching", walk.Where(cond, args...).Limit(SearchCountCap+1)).ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		return 0, false, err
	}
	if n > SearchCountCap {
		return SearchCountCap, true, nil
	}
	if len(edge) == 0 {
		return n, false, nil
	}
	if len([]rune(text)) < MinSubstringLen {
		// Under the cap in every field's index (looked up above).
		return countCappedPlain(ctx, db, UserFilter{Q: text}, SearchCountCap, time.Time{})
	}
	return pgTextTotal(ctx, db, text)
}

// pgTextTotal counts the matches of a text alone up to SearchCountCap.
// A prefix (below MinSubstringLen characters) is first looked up in each
// field's own index: when any one of the four ranges holds more than the
// cap, so does the search, and nothing else is read. The count of the
// four ranges together (an OR: a bitmap of them, then a row read from
// the table for each match up to the cap) read 1,001 rows scattered over
// the table for "ya" and "k7", whose public-ID prefixes alone hold about
// 9,800 accounts at 10M: 0.4-1 s, mostly waiting for those blocks.
func pgTextTotal(ctx context.Context, db bun.IDB, text string) (int64, bool, error) {
	if len([]rune(text)) < MinSubstringLen {
		past, err := pgPrefixPastCap(ctx, db, text)
		if err != nil || past {
			return SearchCountCap, true, err
		}
	}
	return countCappedPlain(ctx, db, UserFilter{Q: text}, SearchCountCap, time.Time{})
}

// pgPrefixPastCap is whether one of the four searched fields' own index
// holds more than SearchCountCap accounts in the range of the prefix
// text: then so does the search, and its total is the capped estimate.
// Each range is counted in its index alone, up to SearchCountCap+1.
func pgPrefixPastCap(ctx context.Context, db bun.IDB, text string) (bool, error) {
	hi := text + "\U0010FFFF"
	for _, field := range []string{"username_lower", "email_lower", "public_id", "lower(display_name)"} {
		var n int64
		q := "SELECT count(*) FROM (SELECT 1 FROM users WHERE " + field + " >= ? AND " + field + " < ? LIMIT ?) AS matching"
		if err := db.NewRaw(q, text, hi, SearchCountCap+1).Scan(ctx, &n); err != nil {
			return false, err
		}
		if n > SearchCountCap {
			return true, nil
		}
	}
	return false, nil
}

// pgWalkCondition is the search condition on the columns of
// users_display_cover (table alias w): a substring of any of the four
// fields from MinSubstringLen characters, a prefix of any below.
func pgWalkCondition(text string) (string, []any) {
	if len([]rune(text)) < MinSubstringLen {
		hi := text + "\U0010FFFF"
		return "((w.username_lower >= ? AND w.username_lower < ?) OR (w.email_lower >= ? AND w.email_lower < ?) OR (w.public_id >= ? AND w.public_id < ?) OR (lower(w.display_name) >= ? AND lower(w.display_name) < ?))",
			[]any{text, hi, text, hi, text, hi, text, hi}
	}
	like := "%" + escapeLike(text) + "%"
	return strings.Join([]string{
		`(w.username_lower LIKE ? ESCAPE '\'`,
		`lower(w.display_name) LIKE ? ESCAPE '\'`,
		`w.email_lower LIKE ? ESCAPE '\'`,
		`w.public_id LIKE ? ESCAPE '\')`,
	}, " OR "), []any{like, like, like, like}
}

// pgWindowEdge is a display name about window accounts into the order
// (from its end when desc), read from the histogram that ANALYZE keeps
// for users_display_cover (a thousand buckets, migration
// 20261203000081): finding it by counting off window index entries cost
// as much as the walk itself. Nil when there are no statistics yet or
// the window reaches past the last bucket. Stale statistics only move
// the window's size; the walk's answer is the same for any edge.
func pgWindowEdge(bounds []string, desc bool, window int, all int64) []string {
	if len(bounds) < 2 {
		return nil
	}
	k := int(math.Ceil(float64(window) / float64(all) * float64(len(bounds)-1)))
	if k >= len(bounds)-1 {
		return nil
	}
	if desc {
		k = len(bounds) - 1 - k
	}
	return []string{bounds[k]}
}

// The histogram is read at most once a minute (a read of pg_stats cost
// a few milliseconds). One process serves one database; if a cached
// histogram were another's, only the window's size would differ.
var pgHistogram struct {
	sync.Mutex
	bounds []string
	at     time.Time
}

func pgDisplayHistogram(ctx context.Context, db bun.IDB) ([]string, error) {
	pgHistogram.Lock()
	defer pgHistogram.Unlock()
	if time.Since(pgHistogram.at) < time.Minute {
		return pgHistogram.bounds, nil
	}
	var bounds []string
	err := db.NewRaw("SELECT histogram_bounds::text::text[] FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'users_display_cover' AND attname = 'lower'").
		Scan(ctx, pgdialect.Array(&bounds))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	pgHistogram.bounds, pgHistogram.at = bounds, time.Now()
	return bounds, nil
}
