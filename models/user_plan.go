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
)

// countSample is how many accounts (in id order) a count without a driver
// reads at most before it estimates.
const countSample = 10_000

// listPlan is a chosen plan: walk the sort order, or read through driver's
// index (sorted when that index already yields the order), or leave it to
// the database (the zero value).
type listPlan struct {
	walk   bool
	driver string
	sorted bool
}

// drivers are f's terms that an index can read, each with the condition
// that index serves (the rest of f is not applied).
func drivers(f UserFilter) []string {
	var out []string
	if f.Role != "" || f.Status != "" {
		out = append(out, termRoleStatus)
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
	inner := applyTerms(db.NewSelect().Model((*User)(nil)).ColumnExpr("1"), f, now, lp)
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
	best, bestN, bestExact := "", int64(math.MaxInt64), false
	for _, term := range drivers(f) {
		var n int64
		exact := true
		if term == termRoleStatus {
			n, _, err = CountUsersMatching(ctx, db, only(f, term), now)
		} else {
			n, err = countCapped(ctx, db, only(f, term), listPlan{}, CountCap+1, now)
			if n > CountCap {
				exact = false
			}
		}
		if err != nil {
			return listPlan{}, 0, false, err
		}
		if n < bestN {
			best, bestN, bestExact = term, n, exact
		}
	}
	// The total: the driver's own count when it is the whole filter; else
	// counted through the driver when it has few accounts; else counted in
	// the first accounts and estimated past them.
	var total int64
	estimate := false
	switch {
	case best != "" && only(f, best) == f && bestExact:
		total = bestN
	case best != "" && bestExact && bestN <= CountCap:
		if total, err = countCapped(ctx, db, f, listPlan{driver: best}, CountCap+1, now); err != nil {
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
	// Role and status together, sorted by last sign-in: the index is in
	// order. A status other than active alone: read through the same
	// index and sort, never walk: last sign-in is tied to status (pending accounts never signed
	// in and all sit at the end of -last_login; a walk read 850,000 rows
	// at 1M).
	if best == termRoleStatus && s.Key == "last_login" && ((f.Role != "" && f.Status != "") || (f.Status != "" && f.Status != StatusActive)) {
		return listPlan{driver: best, sorted: f.Role != "" && f.Status != ""}, total, estimate, nil
	}
	// The walk's estimate assumes the matching accounts are spread evenly
	// over the sort order; they often are not (pending accounts never
	// signed in, so they all sit at the end of -last_login: a walk read
	// the whole index, 3 s at 100k). So the walk must promise a sixteenth
	// of the driver's rows to be chosen.
	walkCost := float64(need) * float64(all) / float64(max(total, 1))
	if best != "" && bestExact && float64(bestN) < 16*walkCost {
		return listPlan{driver: best}, total, estimate, nil
	}
	return listPlan{walk: true}, total, estimate, nil
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
