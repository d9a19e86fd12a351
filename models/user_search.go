package models

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// UserFilter selects accounts. Empty strings and nil pointers do not filter;
// tri-state filters are pointers so that "false" is a real filter.
type UserFilter struct {
	Q             string
	Role          string
	Status        string
	Subscription  string // none, active, expired
	TwoFactor     *bool
	Locked        *bool
	EmailVerified *bool
	DormantDays   int
}

// UserSort is an allow-listed sort key; Column and direction never come
// from request text.
type UserSort struct {
	Key  string // id, last_login, updated, display_name
	Desc bool
}

var sortColumns = map[string]string{
	"id":           "u.id",
	"last_login":   "u.last_login_at",
	"updated":      "u.updated_at",
	"display_name": "lower(u.display_name)",
}

// ParseUserSort maps "key" or "-key" to a UserSort; ok is false for
// anything not on the allow-list.
func ParseUserSort(s string) (UserSort, bool) {
	if s == "" {
		return UserSort{Key: "id", Desc: true}, true
	}
	desc := strings.HasPrefix(s, "-")
	key := strings.TrimPrefix(s, "-")
	if _, ok := sortColumns[key]; !ok {
		return UserSort{}, false
	}
	return UserSort{Key: key, Desc: desc}, true
}

// MinSubstringLen is the shortest query the trigram index can serve;
// shorter ones match as prefixes of the four fields.
const MinSubstringLen = 3

// searchText is the normalized search text: trimmed, lower-cased, without
// control characters (the prefix column of the search index uses one).
func searchText(q string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(q)))
}

// ListPlan tells SQLite how to read a role/status filter (PostgreSQL
// plans from its own statistics and ignores it).
type ListPlan int

const (
	// PlanDefault leaves the choice to the query planner.
	PlanDefault ListPlan = iota
	// PlanWalk walks the sort order and tests role and status on each
	// row: best when they match a large share of the accounts.
	PlanWalk
	// PlanIndex reads the matching rows through the (role, status, ...)
	// index and sorts them: best when they are few.
	PlanIndex
)

var allRoles = []string{RoleUser, RoleAdmin, RoleSuperAdmin}

// ApplyUserFilter adds the filter's conditions to q (on table alias "u").
func ApplyUserFilter(q *bun.SelectQuery, f UserFilter, now time.Time) *bun.SelectQuery {
	return ApplyUserFilterPlan(q, f, now, PlanDefault)
}

// ApplyUserFilterPlan is ApplyUserFilter with a plan for role and status.
func ApplyUserFilterPlan(q *bun.SelectQuery, f UserFilter, now time.Time, plan ListPlan) *bun.SelectQuery {
	switch plan {
	case PlanWalk:
		return applyTerms(q, f, now, listPlan{walk: true})
	case PlanIndex:
		if f.Role != "" || f.Status != "" {
			return applyTerms(q, f, now, listPlan{driver: termRoleStatus})
		}
	}
	return applyTerms(q, f, now, listPlan{})
}

// applyTerms adds the filter's conditions to q. On SQLite, a term that the
// plan does not let drive the query is written with a unary + on its
// columns, which keeps SQLite from reading it through an index: the walk
// plan reads the sort order and tests every term on each row; an index
// plan reads the driver's index and tests the other terms.
func applyTerms(q *bun.SelectQuery, f UserFilter, now time.Time, lp listPlan) *bun.SelectQuery {
	sqlite := IsSQLite(q.DB())
	p := func(term string) string {
		if sqlite && (lp.walk || (lp.driver != "" && lp.driver != term)) {
			return "+"
		}
		return ""
	}
	switch r := p(termRoleStatus); {
	case r == "" && sqlite && lp.index == statusProbeIndex:
		// The condition of the partial index, as it is defined.
		q = q.Where("u.status = ?", f.Status).Where("u.status <> 'active'")
	case r == "" && sqlite && lp.driver == termRoleStatus && f.Role == "" && f.Status != "":
		// Every role, so that the (role, status, ...) index serves.
		q = q.Where("u.role IN (?)", bun.List(allRoles)).Where("u.status = ?", f.Status)
	default:
		// An ordered driver reads one of the two through its partial
		// index, whose condition is then stated as it is defined.
		rr, sr := r, r
		switch lp.driver {
		case termStaff:
			rr = ""
			q = q.Where("u.role <> 'user'")
		case termUnverifiedStatus:
			sr = ""
		}
		if f.Role != "" {
			q = q.Where(rr+"u.role = ?", f.Role)
		}
		if f.Status != "" {
			q = q.Where(sr+"u.status = ?", f.Status)
		}
	}
	switch x := p(termSubscription); f.Subscription {
	case "none":
		q = q.Where(x + "u.plan_id IS NULL")
	case "active":
		q = q.Where(x+"u.plan_id IS NOT NULL").Where("("+x+"u.subscription_expires_at IS NULL OR "+x+"u.subscription_expires_at > ?)", now)
	case "expired":
		q = q.Where(x+"u.plan_id IS NOT NULL").Where(x+"u.subscription_expires_at <= ?", now)
	}
	if f.TwoFactor != nil {
		x := p(termTwoFactor)
		// Written as the partial index users_two_factor_on is defined.
		if *f.TwoFactor {
			q = q.Where("(" + x + "u.totp_enabled_at IS NOT NULL OR " + x + "u.passkey_count > 0)")
		} else {
			q = q.Where(x + "u.totp_enabled_at IS NULL").Where(x + "u.passkey_count = 0")
		}
	}
	if f.Locked != nil {
		x := p(termLocked)
		if *f.Locked {
			q = q.Where(x+"u.locked_until > ?", now)
		} else {
			q = q.Where("("+x+"u.locked_until IS NULL OR "+x+"u.locked_until <= ?)", now)
		}
	}
	if f.EmailVerified != nil {
		x := p(termUnverified)
		if lp.driver == termUnverifiedStatus {
			x = ""
		}
		if *f.EmailVerified {
			q = q.Where(x + "u.email IS NOT NULL AND " + x + "u.email_verified_at IS NOT NULL")
		} else {
			// The condition of the users_email_unverified index.
			q = q.Where("(" + x + "u.email IS NULL OR " + x + "u.email_verified_at IS NULL)")
		}
	}
	if f.DormantDays > 0 {
		x := p(termDormant)
		q = q.Where("("+x+"u.last_login_at IS NULL OR "+x+"u.last_login_at < ?)", dormantCutoff(f, now))
	}
	if text := searchText(f.Q); text != "" {
		if sqlite && (lp.walk || lp.driver != "") {
			// A filter term drives (searchByDriver): the text is tested on
			// each row it reads, never read through the search index.
			cond, args := scanConditionX(text, "+")
			q = q.Where(cond, args...)
		} else {
			q = applySearch(q, text)
		}
	}
	return q
}

// dormantCutoff is the sign-in time before which an account counts as
// dormant under f.
func dormantCutoff(f UserFilter, now time.Time) time.Time {
	return now.Add(-time.Duration(f.DormantDays) * 24 * time.Hour)
}

// applySearch matches text against username, display name, email and
// public ID: as a substring from three characters, as a prefix of any of
// the four below that. On SQLite both go through the search index (FTS5,
// trigrams); on PostgreSQL substrings use pg_trgm and prefixes the b-tree
// indexes.
func applySearch(q *bun.SelectQuery, text string) *bun.SelectQuery {
	if IsSQLite(q.DB()) {
		return q.Where("u.id IN (SELECT "+ftsIDExpr+" FROM users_fts WHERE users_fts MATCH ?)", ftsQuery(text))
	}
	if len([]rune(text)) >= MinSubstringLen {
		// The expression of the users_search_trgm index.
		return q.Where("lower(u.username || chr(1) || u.display_name || chr(1) || coalesce(u.email, '') || chr(1) || u.public_id) LIKE ? ESCAPE '\\'", "%"+escapeLike(text)+"%")
	}
	cond, args := scanCondition(text)
	return q.Where(cond, args...)
}

// scanCondition tests text row by row, with the same meaning as the
// search index: a substring (LIKE) or, for short text, a prefix.
func scanCondition(text string) (string, []any) { return scanConditionX(text, "") }

// scanConditionX is scanCondition with x (SQLite: "+") before each
// column, so that no index serves it.
func scanConditionX(text, x string) (string, []any) {
	if len([]rune(text)) < MinSubstringLen {
		hi := text + "\U0010FFFF"
		return strings.ReplaceAll("((@u.username_lower >= ? AND @u.username_lower < ?) OR (@u.email_lower >= ? AND @u.email_lower < ?) OR (@u.public_id >= ? AND @u.public_id < ?) OR (lower(u.display_name) >= ? AND lower(u.display_name) < ?))", "@", x),
			[]any{text, hi, text, hi, text, hi, text, hi}
	}
	like := "%" + escapeLike(text) + "%"
	return `(u.username_lower LIKE ? ESCAPE '\' OR lower(u.display_name) LIKE ? ESCAPE '\' OR u.email_lower LIKE ? ESCAPE '\' OR lower(u.public_id) LIKE ? ESCAPE '\')`,
		[]any{like, like, like, like}
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// The search index (SQLite): a contentless FTS5 table whose rowid is a key
// in display-name order with the account id in its low 23 bits, or -id
// for ids of 2^23 and above (migration 20261129000003).
const (
	ftsIDBits = 23
	ftsIDMask = 1<<ftsIDBits - 1
	ftsIDExpr = "CASE WHEN rowid < 0 THEN -rowid ELSE rowid & 8388607 END"
)

// ftsQuery is the FTS5 query for text: a phrase over the four fields (a
// substring, with the trigram tokenizer), or for one or two characters a
// phrase over the prefix column, where each field's first two characters
// follow two \x01 marks.
func ftsQuery(text string) string {
	quoted := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	switch len([]rune(text)) {
	case 1:
		return "{prefixes} : " + quoted("\x01\x01"+text)
	case 2:
		return "{prefixes} : " + quoted("\x01"+text)
	}
	return "{username display_name email public_id} : " + quoted(text)
}

// ApplyUserSort orders q by s with id as the tie-breaker. Accounts that
// never signed in sort last for -last_login.
func ApplyUserSort(q *bun.SelectQuery, s UserSort) *bun.SelectQuery {
	return applyUserSort(q, s, false)
}

// sortVia is how a page's query reads its sort order.
type sortVia uint8

const (
	// viaIndex: the order's index (or whatever the planner picks).
	viaIndex sortVia = iota
	// viaSorted (SQLite): the rows another index reads, sorted; the
	// order's columns are written with a unary + so that SQLite does not
	// read the order's index for them.
	viaSorted
	// viaLog (SQLite, update order): the update-time log, r
	// (updatedLogFrom); the order and the seek are on its columns.
	viaLog
)

// viaOf is viaSorted when unindexed, else viaIndex.
func viaOf(unindexed bool) sortVia {
	if unindexed {
		return viaSorted
	}
	return viaIndex
}

// applyUserSort is ApplyUserSort; unindexed (SQLite) writes the order
// with a unary + so that it is sorted, not read from an index.
func applyUserSort(q *bun.SelectQuery, s UserSort, unindexed bool) *bun.SelectQuery {
	return orderUsers(q, s, viaOf(unindexed))
}

// orderUsers orders q by s, read as via says.
func orderUsers(q *bun.SelectQuery, s UserSort, via sortVia) *bun.SelectQuery {
	col := sortColumns[s.Key]
	dir := " ASC"
	if s.Desc {
		dir = " DESC"
	}
	id := "u.id"
	switch {
	case via == viaSorted:
		col, id = "+"+col, "+u.id"
	case via == viaLog && s.Key == "updated":
		col, id = "r.updated_at", "r.id"
	}
	if s.Key == "id" {
		return q.OrderExpr(id + dir)
	}
	nulls := ""
	if s.Key == "last_login" && q.Dialect().Name() == dialect.PG {
		// SQLite already sorts NULLs last when descending, first when ascending.
		if s.Desc {
			nulls = " NULLS LAST"
		} else {
			nulls = " NULLS FIRST"
		}
	}
	return q.OrderExpr(col + dir + nulls).OrderExpr(id + dir)
}

// CountCap bounds how many rows a filtered count visits; beyond it the
// total is reported as an estimate (a lower bound).
const CountCap = 10_000

// SearchCountCap is CountCap for a text search answered from the search
// index alone: a common text ("example.net", a fifth of the accounts)
// costs about 2 ms per thousand matches counted, so the index counts up
// to a thousand and a larger total is reported as "1,000 or more".
const SearchCountCap = 1_000

// SearchUsers returns one page of accounts, the total, and whether the
// total is an estimate.
func SearchUsers(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, limit, offset int, now time.Time) ([]User, int64, bool, error) {
	return searchUsers(ctx, db, f, s, limit, offset, nil, true, now)
}

// SeekUsers returns up to limit accounts that come after k in order s,
// with the total as SearchUsers answers it.
func SeekUsers(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, k UserKey, limit int, now time.Time) ([]User, int64, bool, error) {
	return searchUsers(ctx, db, f, s, limit, 0, &k, true, now)
}

// UsersAfter returns up to limit accounts after k in order s (from the
// first when k is nil), without a total: the export's chunks.
func UsersAfter(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, k *UserKey, limit int, now time.Time) ([]User, error) {
	users, _, _, err := searchUsers(ctx, db, f, s, limit, 0, k, false, now)
	return users, err
}

// segment narrows a page's query to one range of the sort order (nil:
// from the start, at the page's offset).
type segment func(*bun.SelectQuery) *bun.SelectQuery

// bySegments reads a page: from the start at an offset when seek is nil,
// else the rows after seek, segment by segment until limit are in.
func bySegments(s UserSort, seek *UserKey, via sortVia, limit int, run func(seg segment, limit int) ([]User, error)) ([]User, error) {
	if seek == nil {
		return run(nil, limit)
	}
	var out []User
	for _, seg := range seekSegmentsVia(s, *seek, via) {
		users, err := run(seg, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, users...)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

func searchUsers(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, limit, offset int, seek *UserKey, wantTotal bool, now time.Time) ([]User, int64, bool, error) {
	text := searchText(f.Q)
	byDriver := false
	if text != "" && IsSQLite(db) {
		var err error
		var term string
		var m int64
		if byDriver, term, m, err = searchByDriver(ctx, db, f, text, now); err != nil {
			return nil, 0, false, err
		}
		if byDriver && (term == termRoleStatus || term == termTwoFactor) && m > textDriveBound && m <= intersectBound {
			return searchIntersect(ctx, db, f, term, text, s, limit, offset, seek, wantTotal, now)
		}
		if f.EmailVerified != nil && !*f.EmailVerified && (!byDriver || (term == termUnverified && m > textDriveBound)) {
			return searchIntersect(ctx, db, f, termUnverified, text, s, limit, offset, seek, wantTotal, now)
		}
	}
	if text != "" && IsSQLite(db) && !byDriver {
		if s.Key == "display_name" {
			return searchDisplayOrder(ctx, db, f, text, s, limit, offset, seek, wantTotal, now)
		}
		return searchOtherOrder(ctx, db, f, text, s, limit, offset, seek, wantTotal, now)
	}
	if text != "" && !IsSQLite(db) && s.Key == "display_name" && offset == 0 && seek == nil {
		// The total is counted by the same reads as the page.
		return pgSearchByDisplayName(ctx, db, f, s, limit, wantTotal, now)
	}
	if text != "" && !IsSQLite(db) && s.Key == "display_name" && offset == 0 && seek != nil && (f == UserFilter{Q: f.Q}) {
		// A later page by cursor: through the search summary when it
		// can prune the text (pgSearchBySummary); so is the total
		// (pgSearchTotal).
		users, _, _, ok, err := pgSearchBySummary(ctx, db, text, s, seek, limit, false)
		if err != nil || (ok && !wantTotal) {
			return users, 0, false, err
		}
		if ok {
			total, estimate, err := CountUsersMatching(ctx, db, f, now)
			return users, total, estimate, err
		}
	}
	lp, total, estimate, err := planList(ctx, db, f, s, offset+limit, wantTotal, now)
	if err != nil {
		return nil, 0, false, err
	}
	if lp.empty {
		return nil, total, estimate, nil
	}
	if !IsSQLite(db) && wantTotal && !estimate && total <= pgFewMatches && seek == nil && (f != UserFilter{}) {
		users, err := pgFewMatchesPage(ctx, db, f, s, limit, offset, total, now)
		return users, total, estimate, err
	}
	// An index plan sorts what its driver reads: the sort and the seek are
	// then written so that SQLite does not walk the sort index for them.
	unindexed := IsSQLite(db) && lp.driver != "" && !lp.sorted
	if seek == nil && offset == 0 && (lp.walk || !IsSQLite(db)) && f.DormantDays > 0 && s.Key == "last_login" && s.Desc {
		// Dormant accounts come last in -last_login order: those that
		// signed in before the cutoff, then those that never did. The
		// walk starts at the cutoff (a seek to it) instead of walking past
		// every account that signed in since (dormantDays=3650: the whole
		// index, 0.13-0.19 s of CPU at a million accounts; on PostgreSQL,
		// which walked users_last_login testing each row, 3.6 s).
		seek = &UserKey{Sort: s, T: dormantCutoff(f, now)}
	}
	// A walk of the update order reads the update-time log (SQLite).
	via := viaOf(unindexed)
	if usesUpdatedLog(db, s) && !unindexed && lp.index == "" && !lp.covered {
		via = viaLog
	}
	if offset > 0 && seek == nil {
		users, err := deferredPage(ctx, db, f, s, lp, via, limit, offset, now)
		return users, total, estimate, err
	}
	users, err := bySegments(s, seek, via, limit, func(seg segment, limit int) ([]User, error) {
		var users []User
		if lp.covered {
			// The driver's index alone yields the page's ids in order
			// (every matching entry read and sorted there); then only
			// the page's rows are read, by id.
			ids := db.NewSelect().Model((*User)(nil)).ModelTableExpr("users AS u INDEXED BY " + lp.index).Column("u.id")
			ids = applyTerms(ids, f, now, lp)
			if seg != nil {
				ids = seg(ids)
			}
			ids = applyUserSort(ids, s, unindexed).Limit(int64(limit))
			err := applyUserSort(db.NewSelect().Model(&users).Relation("Plan").Where("u.id IN (?)", ids), s, true).Scan(ctx)
			return users, err
		}
		q := db.NewSelect().Model(&users)
		if lp.index != "" {
			q = q.ModelTableExpr("users AS u INDEXED BY " + lp.index)
		} else if via == viaLog {
			q = fromUpdatedLog(q, f)
		}
		q = applyTerms(q.Relation("Plan"), f, now, lp)
		if seg != nil {
			q = seg(q)
		}
		err := orderUsers(q, s, via).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx)
		return users, err
	})
	return users, total, estimate, err
}

// pgFewMatches is the exact total up to which PostgreSQL reads a
// filtered page as "every match, then sorted" (pgFewMatchesPage).
const pgFewMatches = 1_000

// pgFewMatchesPage reads a page of a filter whose exact total (known
// from the count) is at most pgFewMatches: the matches' ids first, in a
// query of their own with no order (so the planner reads them the
// cheapest way, e.g. users_verified_inactive for a rare status with a
// verified email), then the page's rows among them by id, sorted.
// Written as one statement, PostgreSQL walked the sort's index and
// tested every row against the filter: status=pending&emailVerified=true
// (no account at a million) read all 40,000 pending accounts in
// last sign-in order, 0.2-0.55 s of CPU for an empty page.
func pgFewMatchesPage(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, limit, offset int, total int64, now time.Time) ([]User, error) {
	if total == 0 || int64(offset) >= total {
		return nil, nil
	}
	var ids []int64
	q := applyTerms(db.NewSelect().Model((*User)(nil)).Column("u.id"), f, now, listPlan{}).Limit(pgFewMatches + 1)
	if err := q.Scan(ctx, &ids); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// The page's ids: sorted behind a fence (OFFSET 0), or the planner
	// walks the sort's index again testing each entry against the list.
	var page []int64
	sorted := db.NewSelect().TableExpr("(SELECT * FROM users WHERE id IN (?) OFFSET 0) AS u", bun.In(ids)).Column("u.id")
	if err := applyUserSort(sorted, s, false).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx, &page); err != nil {
		return nil, err
	}
	if len(page) == 0 {
		return nil, nil
	}
	var users []User
	err := applyUserSort(db.NewSelect().Model(&users).Relation("Plan").Where("u.id IN (?)", bun.In(page)), s, false).Scan(ctx)
	return users, err
}

// deferredPage reads a page by number past the first: the skipped rows
// are counted off in a subquery that selects only ids, which the sort
// index (id order: users_id_order) answers without reading the table
// when no filter needs a row; only the page's own rows are then read
// whole. Skipping 25,000 rows this way reads some 60-250 index pages
// instead of 3,000 table pages with every column of every row.
//
// In update order on SQLite (viaLog) the skipped rows are counted off in
// the update-time log, its entries alone when the filter is at most a
// status and no stale entry is left, else joined to their rows.
func deferredPage(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, lp listPlan, via sortVia, limit, offset int, now time.Time) ([]User, error) {
	inner := db.NewSelect().Model((*User)(nil)).Column("u.id")
	switch {
	case via == viaLog:
		clean, err := updatedLogClean(ctx, db)
		if err != nil {
			return nil, err
		}
		if clean && (f == UserFilter{Status: f.Status}) {
			inner = db.NewSelect().TableExpr("users_updated_log AS r").ColumnExpr("r.id")
			if f.Status != "" {
				inner = inner.Where("r.status = ?", f.Status)
			}
			f = UserFilter{} // tested on the entries
		} else {
			inner = fromUpdatedLog(inner, f)
		}
	case IsSQLite(db) && s.Key == "id" && via == viaIndex && (f == UserFilter{}):
		inner = inner.ModelTableExpr("users AS u INDEXED BY users_id_order")
	case lp.index != "":
		inner = inner.ModelTableExpr("users AS u INDEXED BY " + lp.index)
	}
	inner = orderUsers(applyTerms(inner, f, now, lp), s, via).Limit(int64(limit)).Offset(int64(offset))
	var users []User
	q := db.NewSelect().Model(&users).Relation("Plan").Where("u.id IN (?)", inner)
	// The page's rows are sorted again; on SQLite without the sort index,
	// so that they are looked up by id rather than the index walked.
	err := applyUserSort(q, s, IsSQLite(db)).Scan(ctx)
	return users, err
}

// ftsCount counts index matches, stopping at most (FTS5 yields them
// lazily, so a common text stops early).
func ftsCount(ctx context.Context, db bun.IDB, match string, most int) (int, error) {
	var n int
	err := db.NewRaw("SELECT count(*) FROM (SELECT 1 FROM users_fts WHERE users_fts MATCH ? LIMIT ?)", match, most).Scan(ctx, &n)
	return n, err
}

// searchTotal is the total of a search: from the index alone when the
// text is the only filter (exact up to SearchCountCap), else a filtered
// count (exact up to CountCap).
func searchTotal(ctx context.Context, db bun.IDB, f UserFilter, match string, now time.Time) (int64, bool, error) {
	if (f != UserFilter{Q: f.Q}) {
		return CountUsersMatching(ctx, db, f, now)
	}
	n, err := ftsCount(ctx, db, match, SearchCountCap+1)
	if n > SearchCountCap {
		return SearchCountCap, true, err
	}
	return int64(n), false, err
}

// searchDisplayOrder serves a search sorted by display name. The index
// yields matches in display-name order (by their first eight characters),
// so it reads matches in that order, a batch at a time, until it holds
// enough accounts that pass the other filters for the page and has
// finished the last eight-character group it started; only those
// candidates are read from users and sorted exactly.
func searchDisplayOrder(ctx context.Context, db bun.IDB, f UserFilter, text string, s UserSort, limit, offset int, seek *UserKey, wantTotal bool, now time.Time) ([]User, int64, bool, error) {
	users, err := displayOrderPage(ctx, db, f, text, nil, s, limit, offset, seek, now)
	if err != nil || !wantTotal {
		return users, 0, false, err
	}
	total, estimate, err := searchTotal(ctx, db, f, ftsQuery(text), now)
	return users, total, estimate, err
}

// displayOrderPage reads a page of searchDisplayOrder. When in is not
// nil (ascending ids), only the matches among in are candidates.
func displayOrderPage(ctx context.Context, db bun.IDB, f UserFilter, text string, in []int64, s UserSort, limit, offset int, seek *UserKey, now time.Time) ([]User, error) {
	member := func(id int64) bool {
		if in == nil {
			return true
		}
		_, ok := slices.BinarySearch(in, id)
		return ok
	}
	match := ftsQuery(text)
	rest := f
	rest.Q = ""
	onlyText := rest == UserFilter{}
	var seg segment
	if seek != nil {
		// One segment: display names are never NULL.
		seg = seekSegments(s, *seek, false)[0]
		onlyText = false
	}
	need := offset + limit
	// Accounts indexed under -id have no display key: always candidates.
	var high []int64
	if err := db.NewRaw("SELECT -rowid FROM users_fts WHERE users_fts MATCH ? AND rowid < 0", match).Scan(ctx, &high); err != nil {
		return nil, err
	}
	cands := slices.DeleteFunc(high, func(id int64) bool { return !member(id) })
	accepted, err := countPassing(ctx, db, rest, seg, onlyText, cands, now)
	if err != nil {
		return nil, err
	}
	cmpOp, order := ">", "ASC"
	var after int64 = -1
	if s.Desc {
		cmpOp, order, after = "<", "DESC", math.MaxInt64
	}
	if seek != nil {
		// Groups before the key's own cannot hold a later account.
		if g := displayKey(seek.S); s.Desc {
			after = (g + 1) << ftsIDBits
		} else {
			after = g<<ftsIDBits - 1
		}
	}
	const batch = 512
	var pending []int64 // candidates not yet checked against the other filters
	group := int64(-1)
	done := false
	for !done {
		var rowids []int64
		if err := db.NewRaw("SELECT rowid FROM users_fts WHERE users_fts MATCH ? AND rowid "+cmpOp+" ? ORDER BY rowid "+order+" LIMIT ?", match, after, batch).Scan(ctx, &rowids); err != nil {
			return nil, err
		}
		for _, rowid := range rowids {
			if !member(rowid & ftsIDMask) {
				continue
			}
			if g := rowid >> ftsIDBits; g != group {
				// A group boundary: stop once enough candidates pass.
				if accepted+len(pending) >= need && len(pending) > 0 {
					n, err := countPassing(ctx, db, rest, seg, onlyText, pending, now)
					if err != nil {
						return nil, err
					}
					accepted, pending = accepted+n, pending[:0]
				}
				if accepted >= need {
					done = true
					break
				}
				group = g
			}
			cands = append(cands, rowid&ftsIDMask)
			pending = append(pending, rowid&ftsIDMask)
		}
		if len(rowids) < batch {
			break
		}
		after = rowids[len(rowids)-1]
	}
	var users []User
	if len(cands) > 0 {
		q := ApplyUserFilter(db.NewSelect().Model(&users).Relation("Plan"), rest, now).Where("u.id IN (?)", bun.List(cands))
		if seg != nil {
			q = seg(q)
		}
		if err := ApplyUserSort(q, s).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// displayKey is the display-name group of name in the search index's
// rowid: the code of the first eight characters of lower(name), as the
// migration's displayKeySQL computes it (SQLite's lower() folds ASCII only).
func displayKey(name string) int64 {
	var key int64
	i := 0
	for _, c := range name {
		if i == 8 {
			break
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		var code int64
		switch {
		case c >= 'a' && c <= 'z':
			code = int64(c) - 93
		case c < '!':
			code = 0
		case c < '0':
			code = 1
		case c <= '9':
			code = 2
		case c < 'a':
			code = 3
		case c < 128:
			code = 30
		default:
			code = 31
		}
		key += code << (5 * (7 - i))
		i++
	}
	return key
}

// countPassing counts the accounts among ids that pass the filter.
func countPassing(ctx context.Context, db bun.IDB, f UserFilter, seg segment, all bool, ids []int64, now time.Time) (int, error) {
	if all || len(ids) == 0 {
		return len(ids), nil
	}
	q := ApplyUserFilter(db.NewSelect().Model((*User)(nil)), f, now).Where("u.id IN (?)", bun.List(ids))
	if seg != nil {
		q = seg(q)
	}
	n, err := q.Count(ctx)
	return int(n), err
}

// searchOtherOrder serves a search sorted by id, last sign-in or update
// time. With few matches, it reads them all from the index and sorts them;
// with many, it walks the requested order testing each row, which finds a
// page quickly when matches are dense. The switch is where the two costs
// meet: collecting k matches against walking about need*N/k rows, that is
// k = sqrt(need*N) for N accounts.
func searchOtherOrder(ctx context.Context, db bun.IDB, f UserFilter, text string, s UserSort, limit, offset int, seek *UserKey, wantTotal bool, now time.Time) ([]User, int64, bool, error) {
	match := ftsQuery(text)
	all, err := CountAllUsers(ctx, db)
	if err != nil {
		return nil, 0, false, err
	}
	threshold := int(math.Sqrt(float64(offset+limit) * float64(all)))
	n, err := ftsCount(ctx, db, match, max(threshold, SearchCountCap)+1)
	if err != nil {
		return nil, 0, false, err
	}
	// Many matches walk the order: update order through the update-time
	// log (SQLite).
	via := viaIndex
	if n > threshold && usesUpdatedLog(db, s) {
		via = viaLog
	}
	users, err := bySegments(s, seek, via, limit, func(seg segment, limit int) ([]User, error) {
		var users []User
		q := db.NewSelect().Model(&users)
		if via == viaLog {
			q = fromUpdatedLog(q, f)
		}
		q = q.Relation("Plan")
		if n > threshold {
			rest := f
			rest.Q = ""
			cond, args := scanCondition(text)
			q = ApplyUserFilter(q, rest, now).Where(cond, args...)
		} else {
			q = ApplyUserFilter(q, f, now)
		}
		if seg != nil {
			q = seg(q)
		}
		err := orderUsers(q, s, via).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx)
		return users, err
	})
	if err != nil || !wantTotal {
		return users, 0, false, err
	}
	if (f == UserFilter{Q: f.Q}) {
		if n > SearchCountCap {
			return users, SearchCountCap, true, nil
		}
		return users, int64(n), false, nil
	}
	total, estimate, err := CountUsersMatching(ctx, db, f, now)
	return users, total, estimate, err
}

// CountAllUsers is the number of accounts, from user_counts.
func CountAllUsers(ctx context.Context, db bun.IDB) (int64, error) {
	n, _, err := CountUsersMatching(ctx, db, UserFilter{}, time.Time{})
	return n, err
}

// CountUsersMatching counts matching accounts: exactly from the
// trigger-maintained user_counts table when only role and status filter,
// else exactly up to CountCap.
func CountUsersMatching(ctx context.Context, db bun.IDB, f UserFilter, now time.Time) (int64, bool, error) {
	if (f == UserFilter{Role: f.Role, Status: f.Status}) {
		q := db.NewSelect().Table("user_counts").ColumnExpr("coalesce(sum(n), 0)")
		if f.Role != "" {
			q = q.Where("role = ?", f.Role)
		}
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
		var n int64
		err := q.Scan(ctx, &n)
		return n, false, err
	}
	// A text alone counts to SearchCountCap, as SQLite's search index
	// does: on PostgreSQL each match counted is a row read from the table
	// (the trigram index holds no rows), and counting 10,000 matches of a
	// common text took 2 s at a million accounts on a loaded machine.
	most := CountCap
	if f.Q != "" && (f == UserFilter{Q: f.Q}) {
		if !IsSQLite(db) {
			return pgSearchTotal(ctx, db, searchText(f.Q))
		}
		most = SearchCountCap
	}
	if !IsSQLite(db) && (f == UserFilter{DormantDays: f.DormantDays}) {
		return pgDormantCount(ctx, db, dormantCutoff(f, now), most)
	}
	return countCappedPlain(ctx, db, f, most, now)
}

// pgDormantCount counts the accounts that never signed in or last did
// before cutoff, exactly up to most, as two ranges of users_last_login
// read from the index alone. The filter's own condition (an OR of the
// two) is no range of any index: PostgreSQL read the table until it had
// most+1 matches, 0.1-0.7 s of CPU at a million accounts when few are
// dormant.
func pgDormantCount(ctx context.Context, db bun.IDB, cutoff time.Time, most int) (int64, bool, error) {
	var before, never int64
	if err := db.NewRaw("SELECT count(*) FROM (SELECT 1 FROM users WHERE last_login_at < ? LIMIT ?) AS matching", cutoff, most+1).Scan(ctx, &before); err != nil {
		return 0, false, err
	}
	if before <= int64(most) {
		if err := db.NewRaw("SELECT count(*) FROM (SELECT 1 FROM users WHERE last_login_at IS NULL LIMIT ?) AS matching", int64(most)+1-before).Scan(ctx, &never); err != nil {
			return 0, false, err
		}
	}
	if before+never > int64(most) {
		return int64(most), true, nil
	}
	return before + never, false, nil
}

// countCappedPlain counts f's matches as the planner reads them, exactly
// up to most; past it the total is most, an estimate.
func countCappedPlain(ctx context.Context, db bun.IDB, f UserFilter, most int, now time.Time) (int64, bool, error) {
	inner := ApplyUserFilter(db.NewSelect().Model((*User)(nil)).ColumnExpr("1"), f, now).Limit(int64(most) + 1)
	var n int64
	if err := db.NewSelect().TableExpr("(?) AS matching", inner).ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		return 0, false, err
	}
	if n > int64(most) {
		return int64(most), true, nil
	}
	return n, false, nil
}

// ExactMatch finds the account whose public ID or email equals text
// exactly (case-insensitively), for "typed in full finds it first".
func ExactMatch(ctx context.Context, db bun.IDB, text string, f UserFilter, now time.Time) (*User, error) {
	text = searchText(text)
	if text == "" {
		return nil, ErrNotFound
	}
	u := new(User)
	q := db.NewSelect().Model(u).Relation("Plan").Where("(u.public_id = ? OR u.email_lower = ? OR u.username_lower = ?)", text, text, text)
	f.Q = ""
	err := ApplyUserFilter(q, f, now).Limit(1).Scan(ctx)
	return u, notFound(err)
}
