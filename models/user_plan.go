package models

import (
	"context"
	"math"
	"time"

	"github.com/uptrace/bun"
)

// How SQLite reads a filtered list (PostgreSQL plans from its own
// statistics; its queries are the same without the hints).
//
// Each filter term that matches few accounts in a typical directory has an
// index that reads exactly its accounts: role and status the (role,
// status, last_login_at, id) index with exact counts in user_counts; 2FA on
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
	termStaff            = "staff"             // role admin or super_admin
	termInactive         = "inactive"          // a status other than active
	termVerifiedInactive = "verified_inactive" // that status, email verified
)

// sortIndexSuffix names a sort key in the ordered indexes' names.
var sortIndexSuffix = map[string]string{"id": "id", "last_login": "login", "updated": "updated", "display_name": "display"}

// orderedIndex is the index that reads term's accounts (of f) already in
// order s, or "" when there is none.
func orderedIndex(term string, f UserFilter, s UserSort) string {
	switch term {
	case termStaff:
		return "users_staff_" + sortIndexSuffix[s.Key]
	case termInactive:
		return "users_inactive_" + sortIndexSuffix[s.Key]
	case termTwoFactor:
		if s.Key == "id" {
			return "users_two_factor_on"
		}
		return "users_two_factor_" + sortIndexSuffix[s.Key]
	case termVerifiedInactive:
		if s.Key == "id" {
			return "users_verified_inactive"
		}
	case termRoleStatus:
		if s.Key == "last_login" && f.Role != "" && f.Status != "" {
			return "users_role_status_login"
		}
	}
	return ""
}

// termCap is how far a driver's own count goes before it is only a lower
// bound: CountCap for the indexes that answer their condition alone;
// driverSample for users_verified_inactive, whose count tests the email
// in each row (status=suspended&emailVerified=true counted 10,000 rows
// for a total that another driver then estimated anyway).
func termCap(term string) int64 {
	if term == termVerifiedInactive {
		return driverSample
	}
	return CountCap
}

// idOrdered: term's index yields its accounts in id order (the sample
// of driverSampleCount).
func idOrdered(term string) bool {
	switch term {
	case termStaff, termInactive, termVerifiedInactive, termTwoFactor, termUnverified:
		return true
	}
	return false
}

// countIndex is the index a count through term reads (SQLite), or "".
func countIndex(term string) string {
	switch term {
	case termStaff:
		return "users_staff_id"
	case termInactive:
		return "users_inactive_id"
	case termVerifiedInactive:
		return "users_verified_inactive"
	case termTwoFactor:
		return "users_two_factor_on"
	case termUnverified:
		return "users_email_unverified"
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
	if f.Status != "" && f.Status != StatusActive {
		out = append(out, termInactive)
		if f.EmailVerified != nil && *f.EmailVerified {
			out = append(out, termVerifiedInactive)
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
	case termInactive:
		g.Status = f.Status
	case termVerifiedInactive:
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
		var n int64
		exact := true
		switch term {
		case termRoleStatus, termStaff, termInactive:
			n, _, err = CountUsersMatching(ctx, db, only(f, term), now)
		default:
			capN := termCap(term)
			n, err = countCapped(ctx, db, only(f, term), listPlan{driver: term, index: countIndex(term)}, capN+1, now)
			if n > capN {
				exact = false
			}
		}
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
	matches := float64(max(total, 1))
	chosen := listPlan{walk: true}
	cost := 16 * float64(need) * float64(all) / matches
	for _, c := range cands {
		if !c.exact {
			continue
		}
		if float64(c.n) < cost {
			chosen, cost = listPlan{driver: c.term}, float64(c.n)
		}
		idx := orderedIndex(c.term, f, s)
		if idx == "" {
			continue
		}
		oc := min(4*float64(need)*float64(c.n)/matches, float64(c.n))
		if only(f, c.term) == f {
			oc = min(float64(need), float64(c.n)) / 2
		}
		if oc <= cost {
			chosen, cost = listPlan{driver: c.term, sorted: true, index: idx}, oc
		}
	}
	return chosen, total, estimate, nil
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
const textDriveBound = 2_000

// searchByDriver reports whether a search with filter terms (SQLite) is
// read through a filter term's index, testing the text on each row,
// rather than through the search index: when a term's exact count is
// below the text's matches and these pass textDriveBound or the term's
// count. A common text with a rare term (q=li&twoFactor=on: every
// account whose name starts with "li", then the 2FA test) read the
// search index's tens of thousands of matches for a page of 25 (7 s).
func searchByDriver(ctx context.Context, db bun.IDB, f UserFilter, text string, now time.Time) (bool, error) {
	rest := f
	rest.Q = ""
	m := int64(math.MaxInt64)
	for _, term := range drivers(rest) {
		var n int64
		var err error
		switch term {
		case termRoleStatus, termStaff, termInactive:
			n, _, err = CountUsersMatching(ctx, db, only(rest, term), now)
		default:
			if n, err = countCapped(ctx, db, only(rest, term), listPlan{driver: term, index: countIndex(term)}, termCap(term)+1, now); n > termCap(term) {
				n = math.MaxInt64
			}
		}
		if err != nil {
			return false, err
		}
		m = min(m, n)
	}
	if m == math.MaxInt64 {
		return false, nil
	}
	n, err := ftsCount(ctx, db, ftsQuery(text), int(min(m, textDriveBound))+1)
	return int64(n) > min(m, textDriveBound), err
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
