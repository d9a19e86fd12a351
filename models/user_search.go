package models

import (
	"context"
	"strings"
	"time"

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
	"display_name": "u.display_name",
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
// shorter ones match as prefixes through ordinary indexes.
const MinSubstringLen = 3

// ApplyUserFilter adds the filter's conditions to q (on table alias "u").
func ApplyUserFilter(q *bun.SelectQuery, f UserFilter, now time.Time) *bun.SelectQuery {
	if f.Role != "" {
		q = q.Where("u.role = ?", f.Role)
	}
	if f.Status != "" {
		q = q.Where("u.status = ?", f.Status)
	}
	switch f.Subscription {
	case "none":
		q = q.Where("u.plan_id IS NULL")
	case "active":
		q = q.Where("u.plan_id IS NOT NULL").Where("(u.subscription_expires_at IS NULL OR u.subscription_expires_at > ?)", now)
	case "expired":
		q = q.Where("u.plan_id IS NOT NULL").Where("u.subscription_expires_at <= ?", now)
	}
	if f.TwoFactor != nil {
		if *f.TwoFactor {
			q = q.Where("u.totp_enabled_at IS NOT NULL")
		} else {
			q = q.Where("u.totp_enabled_at IS NULL")
		}
	}
	if f.Locked != nil {
		if *f.Locked {
			q = q.Where("u.locked_until > ?", now)
		} else {
			q = q.Where("(u.locked_until IS NULL OR u.locked_until <= ?)", now)
		}
	}
	if f.EmailVerified != nil {
		if *f.EmailVerified {
			q = q.Where("u.email IS NOT NULL AND u.email_verified_at IS NOT NULL")
		} else {
			q = q.Where("(u.email IS NULL OR u.email_verified_at IS NULL)")
		}
	}
	if f.DormantDays > 0 {
		q = q.Where("(u.last_login_at IS NULL OR u.last_login_at < ?)", now.Add(-time.Duration(f.DormantDays)*24*time.Hour))
	}
	if text := strings.ToLower(strings.TrimSpace(f.Q)); text != "" {
		q = applySearch(q, text)
	}
	return q
}

// applySearch matches text against username, display name, email and
// public ID. From three characters it is a substring match through the
// trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL); shorter text
// matches as a prefix of any of the four, through their b-tree indexes.
func applySearch(q *bun.SelectQuery, text string) *bun.SelectQuery {
	if len([]rune(text)) < MinSubstringLen {
		hi := text + "\U0010FFFF"
		return q.Where("(u.username_lower >= ? AND u.username_lower < ?) OR (u.email_lower >= ? AND u.email_lower < ?) OR (u.public_id >= ? AND u.public_id < ?) OR (lower(u.display_name) >= ? AND lower(u.display_name) < ?)",
			text, hi, text, hi, text, hi, text, hi)
	}
	if q.Dialect().Name() == dialect.PG {
		return q.Where("lower(u.username || ' ' || u.display_name || ' ' || coalesce(u.email, '') || ' ' || u.public_id) LIKE ? ESCAPE '\\'", "%"+escapeLike(text)+"%")
	}
	// A quoted FTS5 string is a phrase: with the trigram tokenizer it
	// matches the text as a substring of any column.
	return q.Where("u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?)", ftsPhrase(text))
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ApplyUserSort orders q by s with id as the tie-breaker. Accounts that
// never signed in sort last for -last_login.
func ApplyUserSort(q *bun.SelectQuery, s UserSort) *bun.SelectQuery {
	col := sortColumns[s.Key]
	dir := " ASC"
	if s.Desc {
		dir = " DESC"
	}
	if s.Key == "id" {
		return q.OrderExpr("u.id" + dir)
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
	return q.OrderExpr(col + dir + nulls).OrderExpr("u.id" + dir)
}

// CountCap bounds how many rows a filtered count visits; beyond it the
// total is reported as an estimate (a lower bound).
const CountCap = 10_000

// broadMatches is the number of trigram matches from which a search is
// "broad": its page is then read by walking the sort order and testing
// each row with LIKE, instead of collecting every match from the trigram
// index and sorting them all. The walk is quick only when matches are
// dense along the sort order; below this many matches (2% of a million
// accounts) they may cluster (a first name sorted by display name), so
// collecting and sorting is the safer plan there.
const broadMatches = 20_000

// SearchUsers returns one page of accounts, the total, and whether the
// total is an estimate.
func SearchUsers(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, limit, offset int, now time.Time) ([]User, int64, bool, error) {
	text := strings.ToLower(strings.TrimSpace(f.Q))
	if IsSQLite(db) && len([]rune(text)) >= MinSubstringLen {
		broad, err := ftsMatchesAtLeast(ctx, db, text, broadMatches+1)
		if err != nil {
			return nil, 0, false, err
		}
		if broad {
			return searchBroad(ctx, db, f, text, s, limit, offset, now)
		}
	}
	var users []User
	q := ApplyUserSort(ApplyUserFilter(db.NewSelect().Model(&users).Relation("Plan"), f, now), s).Limit(int64(limit)).Offset(int64(offset))
	if err := q.Scan(ctx); err != nil {
		return nil, 0, false, err
	}
	total, estimate, err := CountUsersMatching(ctx, db, f, now)
	return users, total, estimate, err
}

func ftsPhrase(text string) string { return `"` + strings.ReplaceAll(text, `"`, `""`) + `"` }

// ftsMatchesAtLeast reports whether the trigram index holds at least n
// matches. FTS5 yields matches lazily, so a common text stops early.
func ftsMatchesAtLeast(ctx context.Context, db bun.IDB, text string, n int) (bool, error) {
	var got int
	err := db.NewRaw("SELECT count(*) FROM (SELECT 1 FROM users_fts WHERE users_fts MATCH ? LIMIT ?)", ftsPhrase(text), n).Scan(ctx, &got)
	return got >= n, err
}

// searchBroad serves a search whose text matches many accounts: the page
// walks the sort order testing LIKE on the four fields; the total counts
// the other filters' matches among the first broadMatches+1 trigram
// matches, and is always flagged as an estimate (a lower bound).
func searchBroad(ctx context.Context, db bun.IDB, f UserFilter, text string, s UserSort, limit, offset int, now time.Time) ([]User, int64, bool, error) {
	rest := f
	rest.Q = ""
	like := "%" + escapeLike(text) + "%"
	var users []User
	q := ApplyUserFilter(db.NewSelect().Model(&users).Relation("Plan"), rest, now).
		Where(`(u.username_lower LIKE ? ESCAPE '\' OR u.display_name LIKE ? ESCAPE '\' OR u.email_lower LIKE ? ESCAPE '\' OR u.public_id LIKE ? ESCAPE '\')`, like, like, like, like)
	if err := ApplyUserSort(q, s).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx); err != nil {
		return nil, 0, false, err
	}
	cq := ApplyUserFilter(db.NewSelect().Model((*User)(nil)), rest, now).
		Where("u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ? LIMIT ?)", ftsPhrase(text), broadMatches+1)
	n, err := cq.Count(ctx)
	if err != nil {
		return nil, 0, false, err
	}
	return users, min(n, broadMatches), true, nil
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
	inner := ApplyUserFilter(db.NewSelect().Model((*User)(nil)).ColumnExpr("1"), f, now).Limit(CountCap + 1)
	var n int64
	if err := db.NewSelect().TableExpr("(?) AS matching", inner).ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		return 0, false, err
	}
	if n > CountCap {
		return CountCap, true, nil
	}
	return n, false, nil
}

// ExactMatch finds the account whose public ID or email equals text
// exactly (case-insensitively), for "typed in full finds it first".
func ExactMatch(ctx context.Context, db bun.IDB, text string, f UserFilter, now time.Time) (*User, error) {
	text = strings.ToLower(strings.TrimSpace(text))
	if text == "" {
		return nil, ErrNotFound
	}
	u := new(User)
	q := db.NewSelect().Model(u).Relation("Plan").Where("(u.public_id = ? OR u.email_lower = ? OR u.username_lower = ?)", text, text, text)
	f.Q = ""
	err := ApplyUserFilter(q, f, now).Limit(1).Scan(ctx)
	return u, notFound(err)
}
