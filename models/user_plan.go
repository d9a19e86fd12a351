package models

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// How SQLite reads a filtered list (PostgreSQL plans from its own
// statistics; its queries are the same without the hints).
//
// Each filter term that matches few accounts in a typical directory has an
// index that reads exactly its accounts: role and status the (role,
// status, id, last_login_at) index with exact counts in user_counts; 2FA on
// and unverified email their partial indexes (migration 20261130000051);
// locked the locked_until index; a subscription the (plan_id,
// subscription_expires_at) index; dormancy the last sign-in index. The
// planner counts each present term through its index, stopping at
// CountCap, and then chooses, from those counts and the total, between
//   - walking the sort order and testing every term on each row: about
//     need*N/total rows for the first need of N accounts, and
//   - reading the smallest term's accounts through its index, testing the
//     other terms and sorting: about m rows.
// SQLite's own planner has no statistics on these columns: it walked the
// whole display-name index for locked=true (5 s at 1M) or scanned the
// table for twoFactor=on. The total of a filtered list is exact up to
// CountCap when counted through a driver; without one (only terms that
// match most accounts), it is counted in the first countSample accounts
// and, past them, estimated from the share that matched.

// The filter terms that can drive a query through their index.
const (
	termRoleStatus   = "role_status"
	termTwoFactor    = "two_factor"
	termLocked       = "locked"
	termUnverified   = "unverified"
	termSubscription = "subscription"
	termDormant      = "dormant"
	// Ordered drivers: partial indexes led by the term, then a sort key
	// (migration 20261202000021).
	termStaff = "staff" // role admin or super_admin
	// A status's accounts without a verified email (users_unverified_status,
	// migration 20261203000021), in id order.
	termUnverifiedStatus = "unverified_status"
	// A status's accounts with a verified email: counted exactly (the
	// status's count less its unverified accounts), never read.
	termVerifiedStatus = "verified_status"
)

// A status has no index of its own that is led by it and a sort key: such
// indexes (users_inactive_*, migration 20261202000021, dropped by
// 20261203000021) made every status change move five more index entries.
// A status is planned from its exact count instead: read whole from the
// (role, status, id, last_login_at) index, which covers the ids and the
// last sign-in (coveredRead), or found by walking the sort order.

// sortIndexSuffix names a sort key in the ordered indexes' names.
var sortIndexSuffix = map[string]string{"id": "id", "last_login": "login", "updated": "updated", "display_name": "display"}

// orderedIndex is the index that reads term's accounts (of f) already in
// order s, or "" when there is none.
func orderedIndex(term string, f UserFilter, s UserSort) string {
	switch term {
	case termStaff:
		return "users_staff_" + sortIndexSuffix[s.Key]
	case termTwoFactor:
		if s.Key == "id" {
			return "users_two_factor_on"
		}
		return "users_two_factor_" + sortIndexSuffix[s.Key]
	case termUnverifiedStatus:
		if s.Key == "id" {
			return "users_unverified_status"
		}
	case termRoleStatus:
		if s.Key == "id" && f.Role != "" && f.Status != "" {
			return roleStatusIndex
		}
		if s.Key == "id" && f.Role == "" && f.Status != "" && f.Status != StatusActive {
			// A status other than active in id order: the partial
			// (status, id) index (migration 20261206000051).
			return statusProbeIndex
		}
	}
	return ""
}

// roleStatusIndex holds every account by (role, status, id,
// last_login_at) (migration 20261213000021): a role's or a status's ids
// and last sign-in without a table row, in id order within each role and
// status, the order in which a status change moves its entries.
const roleStatusIndex = "users_role_status_id"

// statusProbeIndex holds the accounts of every status but active, by
// status and id.
const statusProbeIndex = "users_status_probe"

// coveredRead reports whether reading term's accounts whole and sorting
// them for f in order s needs no table row: the (role, status, id,
// last_login_at) index holds every column the filter and the sort read
// (role, status, dormancy; id or last sign-in order). Such a read
// costs an index entry per account, about a thirtieth of a row look-up
// (status=pending, 40,000 accounts at a million: 2-4 ms).
func coveredRead(term string, f UserFilter, s UserSort) bool {
	return term == termRoleStatus && (s.Key == "id" || s.Key == "last_login") &&
		f == UserFilter{Role: f.Role, Status: f.Status, DormantDays: f.DormantDays}
}

// coveredCost is what one index entry of a covered read costs against a
// row look-up.
const coveredCost = 1.0 / 30

// termCap is how far a driver's own count goes before it is only a lower
// bound.
func termCap(term string) int64 {
	if term == termUnverifiedStatus {
		// An index-only range count (entries, not rows): the active
		// accounts without a verified email are a seventh of a typical
		// directory.
		return verifiedCountCap
	}
	return CountCap
}

// verifiedCountCap bounds the index entries counted for a status's
// unverified accounts (about 2 ms per 50,000).
const verifiedCountCap = 50_000

// idOrdered: term's index yields its accounts in id order (the sample
// of driverSampleCount).
func idOrdered(term string) bool {
	switch term {
	case termStaff, termTwoFactor, termUnverified, termUnverifiedStatus:
		return true
	}
	return false
}

// countIndex is the index a count through term reads (SQLite), or "".
func countIndex(term string) string {
	switch term {
	case termStaff:
		return "users_staff_id"
	case termTwoFactor:
		return "users_two_factor_on"
	case termUnverified:
		return "users_email_unverified"
	case termUnverifiedStatus:
		return "users_unverified_status"
	}
	return ""
}

// countSample is how many accounts (in id order) a count without a driver
// reads at most before it estimates.
const countSample = 10_000

// listPlan is a chosen plan: walk the sort order, or read through driver's
// index (sorted when that index already yields the order: index names
// it), or leave it to the database (the zero value).
type listPlan struct {
	walk   bool
	driver string
	sorted bool
	index  string
	// covered: the driver's read needs no table row (coveredRead); the
	// page selects ids first and reads only its own rows.
	covered bool
	// empty: the filter's exact count is 0; nothing is read.
	empty bool
}

// drivers are f's terms that an index can read, each with the condition
// that index serves (the rest of f is not applied).
func drivers(f UserFilter) []string {
	var out []string
	if f.Role != "" || f.Status != "" {
		out = append(out, termRoleStatus)
	}
	if f.Role == RoleAdmin || f.Role == RoleSuperAdmin {
		out = append(out, termStaff)
	}
	if f.Status != "" && f.EmailVerified != nil {
		if *f.EmailVerified {
			if f.Role == "" {
				out = append(out, termVerifiedStatus)
			}
		} else {
			out = append(out, termUnverifiedStatus)
		}
	}
	if f.TwoFactor != nil && *f.TwoFactor {
		out = append(out, termTwoFactor)
	}
	if f.Locked != nil && *f.Locked {
		out = append(out, termLocked)
	}
	if f.EmailVerified != nil && !*f.EmailVerified {
		out = append(out, termUnverified)
	}
	if f.Subscription == "active" || f.Subscription == "expired" {
		out = append(out, termSubscription)
	}
	if f.DormantDays > 0 {
		out = append(out, termDormant)
	}
	return out
}

// only is f reduced to the condition of one driver term.
func only(f UserFilter, term string) UserFilter {
	var g UserFilter
	switch term {
	case termRoleStatus:
		g.Role, g.Status = f.Role, f.Status
	case termStaff:
		g.Role = f.Role
	case termUnverifiedStatus, termVerifiedStatus:
		g.Status, g.EmailVerified = f.Status, f.EmailVerified
	case termTwoFactor:
		g.TwoFactor = f.TwoFactor
	case termLocked:
		g.Locked = f.Locked
	case termUnverified:
		g.EmailVerified = f.EmailVerified
	case termSubscription:
		g.Subscription = f.Subscription
	case termDormant:
		g.DormantDays = f.DormantDays
	}
	return g
}

// countCapped counts the accounts that match f read the way lp reads
// them, stopping past limit.
func countCapped(ctx context.Context, db bun.IDB, f UserFilter, lp listPlan, limit int64, now time.Time, extra ...func(*bun.SelectQuery) *bun.SelectQuery) (int64, error) {
	q := db.NewSelect().Model((*User)(nil))
	if lp.index != "" {
		q = q.ModelTableExpr("users AS u INDEXED BY " + lp.index)
	}
	inner := applyTerms(q.ColumnExpr("1"), f, now, lp)
	for _, e := range extra {
		inner = e(inner)
	}
	var n int64
	err := db.NewSelect().TableExpr("(?) AS matching", inner.Limit(limit)).ColumnExpr("count(*)").Scan(ctx, &n)
	return n, err
}

// planList chooses how SQLite reads a list filtered without search text
// and counts its total (when wantTotal). need is how many rows the page
// reads from the start of its range.
func planList(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, need int, wantTotal bool, now time.Time) (listPlan, int64, bool, error) {
	if !IsSQLite(db) || (f == UserFilter{}) {
		var total int64
		var estimate bool
		var err error
		if wantTotal {
			total, estimate, err = CountUsersMatching(ctx, db, f, now)
		}
		return listPlan{}, total, estimate, err
	}
	all, err := CountAllUsers(ctx, db)
	if err != nil {
		return listPlan{}, 0, false, err
	}
	// Each driver's count, exact up to CountCap (role and status exact).
	type cand struct {
		term  string
		n     int64
		exact bool
	}
	var cands []cand
	best, bestN, bestExact := "", int64(math.MaxInt64), false
	for _, term := range drivers(f) {
		if term == termVerifiedStatus && only(f, term) != f {
			// A count only: it cannot read the rows of more terms.
			continue
		}
		n, exact, err := termCount(ctx, db, f, term, now)
		if err != nil {
			return listPlan{}, 0, false, err
		}
		cands = append(cands, cand{term, n, exact})
		// The smallest exact count counts the total: a count past the cap
		// is only a lower bound (status=suspended&emailVerified=true
		// otherwise fell back to reading the first 10,000 accounts).
		if (exact && !bestExact) || (exact == bestExact && n < bestN) {
			best, bestN, bestExact = term, n, exact
		}
	}
	// The total: the driver's own count when it is the whole filter; else
	// counted through the driver when it has few accounts (driverSample);
	// else estimated from the driver's first driverSample accounts when
	// its index is in id order; else counted through the driver up to
	// CountCap; else counted in the first accounts and estimated past them.
	var total int64
	estimate := false
	switch {
	case best != "" && only(f, best) == f && bestExact:
		total = bestN
	case best != "" && bestExact && bestN <= driverSample:
		if total, err = countCapped(ctx, db, f, listPlan{driver: best, index: countIndex(best)}, CountCap+1, now); err != nil {
			return listPlan{}, 0, false, err
		}
	case best != "" && bestExact && idOrdered(best):
		if total, err = driverSampleCount(ctx, db, f, best, bestN, now); err != nil {
			return listPlan{}, 0, false, err
		}
		estimate = true
	case best != "" && bestExact && bestN <= CountCap:
		if total, err = countCapped(ctx, db, f, listPlan{driver: best, index: countIndex(best)}, CountCap+1, now); err != nil {
			return listPlan{}, 0, false, err
		}
	default:
		if total, estimate, err = sampleCount(ctx, db, f, all, now); err != nil {
			return listPlan{}, 0, false, err
		}
	}
	if total > CountCap && !(only(f, best) == f && bestExact) {
		total, estimate = max(total, CountCap), true
	}
	// The cheapest of, in rows read:
	//   - walking the sort order: need*all/total, handicapped 16x: the
	//     matches are often not spread evenly over a sort (pending
	//     accounts never signed in, so they all sit at the end of
	//     -last_login: a walk read the whole index, 3 s at 100k);
	//   - reading a driver's n accounts and sorting them: n;
	//   - walking a driver's ordered index: need*n/total (need when the
	//     driver is the whole filter), handicapped 4x for the same reason,
	//     and never more than n.
	// An ordered read of a term that is the whole filter always wins: it
	// reads exactly the page.
	if total == 0 && !estimate {
		return listPlan{empty: true}, 0, false, nil
	}
	matches := float64(max(total, 1))
	chosen := listPlan{walk: true}
	cost := 16 * float64(need) * float64(all) / matches
	for _, c := range cands {
		if !c.exact || c.term == termVerifiedStatus {
			continue
		}
		if coveredRead(c.term, f, s) {
			if rc := float64(c.n) * coveredCost; rc < cost {
				chosen, cost = listPlan{driver: c.term, covered: true, index: roleStatusIndex}, rc
			}
		} else if float64(c.n) < cost {
			chosen, cost = listPlan{driver: c.term}, float64(c.n)
		}
		idx := orderedIndex(c.term, f, s)
		if idx == "" {
			continue
		}
		oc := min(4*float64(need)*float64(c.n)/matches, float64(c.n))
		if only(f, c.term) == f {
			oc = 0 // exactly the page: nothing reads less
		}
		if oc <= cost {
			chosen, cost = listPlan{driver: c.term, sorted: true, index: idx}, oc
		}
	}
	return chosen, total, estimate, nil
}

// termCount is how many accounts term alone (of f) matches, and whether
// that is exact: role and status from user_counts; a status with a
// verified email as the status's count less its unverified accounts
// (users_unverified_status); the others counted through their index up
// to termCap.
func termCount(ctx context.Context, db bun.IDB, f UserFilter, term string, now time.Time) (int64, bool, error) {
	switch term {
	case termRoleStatus, termStaff:
		n, _, err := CountUsersMatching(ctx, db, only(f, term), now)
		return n, true, err
	case termVerifiedStatus:
		all, _, err := CountUsersMatching(ctx, db, UserFilter{Status: f.Status}, now)
		if err != nil {
			return 0, false, err
		}
		g := UserFilter{Status: f.Status, EmailVerified: new(bool)}
		unverified, exact, err := termCount(ctx, db, g, termUnverifiedStatus, now)
		if !exact {
			return all, false, err
		}
		return max(all-unverified, 0), true, err
	}
	capN := termCap(term)
	n, err := countCapped(ctx, db, only(f, term), listPlan{driver: term, index: countIndex(term)}, capN+1, now)
	return n, n <= capN, err
}

// driverSample is how many of a driver's accounts a count of a filter
// with more terms reads at most: each costs a look-up of its row (10-25
// µs at a million accounts), so counting 2FA users that are also
// deactivated read 10,000 rows (about 100-250 ms) for a total of 300.
// Past it the total is estimated from the driver's first driverSample
// accounts in id order.
const driverSample = 1_000

// driverSampleCount estimates f's total from the first driverSample of
// driver's n accounts (in id order): the share of them that match f.
func driverSampleCount(ctx context.Context, db bun.IDB, f UserFilter, driver string, n int64, now time.Time) (int64, error) {
	lp := listPlan{driver: driver, index: countIndex(driver)}
	q := db.NewSelect().Model((*User)(nil))
	if lp.index != "" {
		q = q.ModelTableExpr("users AS u INDEXED BY " + lp.index)
	}
	var edge []int64
	if err := applyTerms(q.Column("u.id"), only(f, driver), now, lp).OrderExpr("u.id").Offset(driverSample-1).Limit(1).Scan(ctx, &edge); err != nil {
		return 0, err
	}
	if len(edge) == 0 {
		return countCapped(ctx, db, f, lp, CountCap+1, now)
	}
	m, err := countCapped(ctx, db, f, lp, CountCap+1, now, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("+u.id <= ?", edge[0])
	})
	if err != nil {
		return 0, err
	}
	return int64(math.Round(float64(m) * float64(n) / driverSample)), nil
}

// textDriveBound is how many search matches a search with a filter reads
// through the search index at most; past it, or when a filter term with
// an exact count has fewer accounts, the filter term drives.
var textDriveBound int64 = 2_000

// searchByDriver reports whether a search with filter terms (SQLite) is
// read through a filter term's index, testing the text on each row,
// rather than through the search index: when a term's exact count is
// below the text's matches and these pass textDriveBound or the term's
// count. A common text with a rare term (q=li&twoFactor=on: every
// account whose name starts with "li", then the 2FA test) read the
// search index's tens of thousands of matches for a page of 25 (7 s).
func searchByDriver(ctx context.Context, db bun.IDB, f UserFilter, text string, now time.Time) (bool, string, int64, error) {
	rest := f
	rest.Q = ""
	m, best := int64(math.MaxInt64), ""
	for _, term := range drivers(rest) {
		if term == termVerifiedStatus {
			continue // a count, not a read
		}
		n, exact, err := termCount(ctx, db, rest, term, now)
		if err != nil {
			return false, "", 0, err
		}
		if exact && n < m {
			m, best = n, term
		}
	}
	if m == math.MaxInt64 {
		return false, "", 0, nil
	}
	n, err := ftsCount(ctx, db, ftsQuery(text), int(min(m, textDriveBound))+1)
	return int64(n) > min(m, textDriveBound), best, m, err
}

// intersectBound is the most accounts of a role and status whose ids a
// search intersects with the search index's matches (index entries
// only: about 5 ms per 100,000).
const intersectBound = 200_000

// searchIntersect serves a search (SQLite) whose smallest filter term is
// a role or status, or 2FA on, with more accounts than textDriveBound, or
// an unverified email when no term has an exact count: the text's matches
// (the search index's ids) are intersected with the term's ids, both
// without a table row, once per request (intersectSide: an index in id
// order), and the total is the size of the intersection when the term is
// the whole filter. With more terms, the page reads the accounts in both,
// tests them against the other terms and sorts them. When the term is the
// whole filter every account in both matches, and the page reads the rows
// of the page only: by id, the ids of the intersection; by display name,
// the search index's matches in display-name order that are in it
// (displayOrderPage); by sign-in or update time, a bounded walk of the
// sort index (sortIndexPage). Reading the status's accounts and testing
// the text on each (q=chen&status=suspended: 30,000 rows) cost 0.35 s at
// a million accounts; intersecting with the (role, status, last_login_at,
// id) index, whose ids come in sign-in order, twice (page and count), 0.2
// s of CPU; reading the 2,885 rows of the intersection for the page,
// about 20 ms of CPU.
func searchIntersect(ctx context.Context, db bun.IDB, f UserFilter, term, text string, s UserSort, limit, offset int, seek *UserKey, wantTotal bool, now time.Time) ([]User, int64, bool, error) {
	rest := f
	rest.Q = ""
	sub, whole := intersectSide(db, f, term, now)
	var both []int64
	if err := db.NewRaw("SELECT "+ftsIDExpr+" FROM users_fts WHERE users_fts MATCH ? INTERSECT ?", ftsQuery(text), sub).Scan(ctx, &both); err != nil {
		return nil, 0, false, err
	}
	if len(both) == 0 {
		return nil, 0, false, nil
	}
	slices.Sort(both)
	list := idsJSON(both)
	set := func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("u.id IN (SELECT value FROM json_each(?))", list)
	}
	walk := listPlan{walk: true} // every term tested on the rows of the set
	// rows reads a page (or the page within seg) from the rows of every
	// account of the intersection, tested and sorted.
	rows := func(seg segment, limit, offset int) ([]User, error) {
		var users []User
		q := set(applyTerms(db.NewSelect().Model(&users).Relation("Plan"), rest, now, walk))
		if seg != nil {
			q = seg(q)
		}
		err := applyUserSort(q, s, true).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx)
		return users, err
	}
	var users []User
	var err error
	switch {
	case !whole:
		users, err = bySegments(s, seek, viaSorted, limit, func(seg segment, limit int) ([]User, error) { return rows(seg, limit, offset) })
	case s.Key == "id":
		users, err = usersByID(ctx, db, idWindow(both, s.Desc, seek, limit, offset), s)
	case s.Key == "display_name":
		users, err = displayOrderPage(ctx, db, UserFilter{Q: f.Q}, text, both, s, limit, offset, seek, now)
	default:
		users, err = sortIndexPage(ctx, db, both, list, s, limit, offset, seek, rows)
	}
	if err != nil || !wantTotal {
		return users, 0, false, err
	}
	total := int64(len(both))
	if !whole {
		inner := set(applyTerms(db.NewSelect().Model((*User)(nil)).ColumnExpr("1"), rest, now, walk)).Limit(CountCap + 1)
		if err := db.NewSelect().TableExpr("(?) AS matching", inner).ColumnExpr("count(*)").Scan(ctx, &total); err != nil {
			return nil, 0, false, err
		}
	}
	if total > CountCap {
		return users, CountCap, true, nil
	}
	return users, total, false, nil
}

// idWindow is the page of ids (ascending) in id order: after seek, past
// offset, up to limit.
func idWindow(ids []int64, desc bool, seek *UserKey, limit, offset int) []int64 {
	if desc {
		ids = slices.Clone(ids)
		slices.Reverse(ids)
	}
	if seek != nil {
		i := 0
		for i < len(ids) && (!desc && ids[i] <= seek.ID || desc && ids[i] >= seek.ID) {
			i++
		}
		ids = ids[i:]
	}
	ids = ids[min(offset, len(ids)):]
	return ids[:min(limit, len(ids))]
}

// usersByID reads the accounts of ids (a page) and sorts them in order s.
func usersByID(ctx context.Context, db bun.IDB, ids []int64, s UserSort) ([]User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var users []User
	err := applyUserSort(db.NewSelect().Model(&users).Relation("Plan").Where("u.id IN (?)", bun.List(ids)), s, true).Scan(ctx)
	return users, err
}

// sortIndexes are the covering indexes of the sort keys that
// sortIndexPage walks (update order: the update-time log on SQLite).
var sortIndexes = map[string]string{"last_login": "users_last_login"}

// walkCost is what reading an account's row costs against an entry of a
// covering walk that tests it against a set of ids (a row look-up at a
// million accounts: about 6 µs; an entry: about 0.2 µs).
const walkCost = 30

// sortIndexPage reads a page of the accounts of ids (ascending, each
// matching the filter) in order s (last sign-in or update time): it walks
// the sort key's covering index (update time: the update-time log, when
// no bulk change's stale entries wait for their sweep; else the rows are
// read) and keeps the ids of the set, so that only the page's rows are
// read. Finding need matches among k of all
// accounts takes about need*all/k entries when they are spread over the
// order; the walk is taken when four times that is within a budget of
// walkCost entries per account of the set (reading their rows instead
// costs as much), and stops at the budget, after which the page is read
// from the set's rows (rows): at most twice what reading the rows costs.
// q=chen&status=suspended at a million accounts (2,885 in the set): 2-3
// ms of CPU instead of about 20 ms for the rows.
func sortIndexPage(ctx context.Context, db bun.IDB, ids []int64, list string, s UserSort, limit, offset int, seek *UserKey, rows func(seg segment, limit, offset int) ([]User, error)) ([]User, error) {
	all, err := CountAllUsers(ctx, db)
	if err != nil {
		return nil, err
	}
	k := int64(len(ids))
	budget := walkCost * k
	// Update order walks the update-time log, ids alone: only when no
	// stale entry is left (else an account could show at its old time).
	via, clean := viaIndex, true
	if usesUpdatedLog(db, s) {
		via = viaLog
		if clean, err = updatedLogClean(ctx, db); err != nil {
			return nil, err
		}
	}
	if 4*int64(offset+limit)*all > budget*k || !clean {
		return bySegments(s, seek, viaSorted, limit, func(seg segment, limit int) ([]User, error) { return rows(seg, limit, offset) })
	}
	return bySegments(s, seek, via, limit, func(seg segment, limit int) ([]User, error) {
		need := offset + limit
		var walk *bun.SelectQuery
		if via == viaLog {
			walk = db.NewSelect().TableExpr("users_updated_log AS r").ColumnExpr("r.id AS id")
		} else {
			walk = db.NewSelect().Model((*User)(nil)).ModelTableExpr("users AS u INDEXED BY " + sortIndexes[s.Key]).Column("u.id")
		}
		if seg != nil {
			walk = seg(walk)
		}
		walk = orderUsers(walk, s, via).Limit(budget)
		var found []int64
		if err := db.NewSelect().TableExpr("(?) AS w", walk).Column("w.id").Where("w.id IN (SELECT value FROM json_each(?))", list).Limit(int64(need)).Scan(ctx, &found); err != nil {
			return nil, err
		}
		if len(found) < need {
			// The walk ended: at the end of the order (every match in
			// it found), or at the budget.
			var walked int64
			if err := db.NewSelect().TableExpr("(?) AS w", walk).ColumnExpr("count(*)").Scan(ctx, &walked); err != nil {
				return nil, err
			}
			if walked >= budget {
				return rows(seg, limit, offset)
			}
		}
		return usersByID(ctx, db, found[min(offset, len(found)):], s)
	})
}

// intersectSide selects the ids that searchIntersect intersects with the
// text's matches for term (of f), from an index alone and in id order
// where one exists, so that SQLite's INTERSECT does not sort them: a
// status other than active from users_status_probe (migration
// 20261206000051; 100,000 suspended accounts: about 6 ms), an
// administrator role from users_staff_id, an unverified email from
// users_email_unverified; else role and status from the (role, status,
// id, last_login_at) index. whole reports that the side is exactly f
// without its text (a role with a status reads the status only: the
// role is tested on the rows).
func intersectSide(db bun.IDB, f UserFilter, term string, now time.Time) (*bun.SelectQuery, bool) {
	rest := f
	rest.Q = ""
	q := db.NewSelect().Model((*User)(nil)).Column("u.id")
	switch {
	case term == termUnverified || term == termTwoFactor:
		q = q.ModelTableExpr("users AS u INDEXED BY " + countIndex(term))
		return applyTerms(q, only(f, term), now, listPlan{driver: term}), only(rest, term) == rest
	case term == termRoleStatus && f.Status != "" && f.Status != StatusActive:
		// The condition of the partial index, as it is defined.
		q = q.ModelTableExpr("users AS u INDEXED BY users_status_probe").Where("u.status = ?", f.Status).Where("u.status <> 'active'")
		return q, rest == UserFilter{Status: f.Status}
	case term == termRoleStatus && f.Status == "" && (f.Role == RoleAdmin || f.Role == RoleSuperAdmin):
		q = q.ModelTableExpr("users AS u INDEXED BY users_staff_id").Where("u.role = ?", f.Role).Where("u.role <> 'user'")
		return q, rest == UserFilter{Role: f.Role}
	}
	q = q.ModelTableExpr("users AS u INDEXED BY " + roleStatusIndex)
	return applyTerms(q, only(f, term), now, listPlan{driver: term}), only(rest, term) == rest
}

// sampleCount counts f's matches among the first countSample accounts in
// id order (every account when there are no more), up to CountCap; past
// the sample, the total is that share of all accounts, an estimate.
func sampleCount(ctx context.Context, db bun.IDB, f UserFilter, all int64, now time.Time) (int64, bool, error) {
	sample := min(int64(countSample), all)
	var edge []int64
	if sample > 0 {
		if err := db.NewSelect().Model((*User)(nil)).Column("id").OrderExpr("u.id").Offset(sample-1).Limit(1).Scan(ctx, &edge); err != nil {
			return 0, false, err
		}
	}
	if len(edge) == 0 {
		return 0, false, nil
	}
	n, err := countCapped(ctx, db, f, listPlan{walk: true}, CountCap+1, now, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("u.id <= ?", edge[0])
	})
	if err != nil || sample == all {
		return n, false, err
	}
	return int64(math.Round(float64(n) * float64(all) / float64(sample))), true, nil
}
