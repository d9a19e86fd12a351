package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// The display-order segment summary (PostgreSQL; migration
// 20261211000031): a build splits the display-name order into segments
// of pgSummarySegment accounts and records, for each segment, the grams
// of its accounts' lower-cased username, email and display name (every
// 3-character substring, and chr(1) + the first 2 characters). A search
// sorted by display name for a text whose grams each must occur in a
// matching account's segment then walks only the segments that hold all
// of them, in order, in users_display_cover (index-only), and stops at
// the page or at the count cap. Why: a first name ("sofia", "li") has
// its first page 5-7.8M entries into the order at 10M accounts, and
// reading every match through the trigram index cost 1.5-2.8 s of CPU
// (BENCHMARKS.md, PostgreSQL, fourth pass).

// pgSummarySegment is the number of accounts per segment of a build (a
// variable for tests).
var pgSummarySegment = 10_000

// pgSummaryMin is the fewest accounts for which a summary is built (by
// the seed, or automatically by a search that finds none): below it the
// window walk and the trigram index answer in a few milliseconds.
var pgSummaryMin int64 = 100_000

// pgSummaryLockKey is the advisory lock a build holds: one build at a
// time per database.
const pgSummaryLockKey int64 = 0x4761746753756d31

// pgPublicIDAlphabet is the alphabet of public IDs (security.NewPublicID).
// Their grams are not in the summary, so only a text with a character
// outside it (which no public ID can contain) is pruned by the summary.
const pgPublicIDAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// summaryGrams is the grams a search text needs in a segment, nil when
// the summary cannot prune the search: a text shorter than 2 characters,
// or one that a public ID could match.
func summaryGrams(text string) []string {
	n := utf8.RuneCountInString(text)
	if n < 2 || !strings.ContainsFunc(text, func(r rune) bool { return !strings.ContainsRune(pgPublicIDAlphabet, r) }) {
		return nil
	}
	if n < MinSubstringLen {
		return []string{"\x01" + text}
	}
	seen := map[string]bool{}
	var out []string
	addGrams(text, func(g string) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	})
	return out
}

// addGrams calls add with every 3-character substring of s, as the
// migration's user_search_grams_of.
func addGrams(s string, add func(string)) {
	// starts holds the byte offsets of the last 3 runes' starts.
	var starts [3]int
	k := 0
	for i := range s {
		if k >= 3 {
			add(s[starts[k%3]:i])
		}
		starts[k%3] = i
		k++
	}
	if k >= 3 {
		add(s[starts[k%3]:])
	}
}

// fieldGrams calls add with the grams of one searched field of an account.
func fieldGrams(s string, add func(string)) {
	addGrams(s, add)
	if utf8.RuneCountInString(s) >= 2 {
		_, a := utf8.DecodeRuneInString(s)
		_, b := utf8.DecodeRuneInString(s[a:])
		add("\x01" + s[:a+b])
	}
}

// pgSummaryState is the current build, if any, as a search reads it.
type pgSummaryState struct {
	Build    *int  `bun:"current_build"`
	Segments int   `bun:"segments"`
	Built    int64 `bun:"built_accounts"`
	CCollate bool  `bun:"c_collate"`
	// PublicTrgm: users_public_id_trgm is built and valid.
	PublicTrgm bool `bun:"public_trgm"`
}

func readSummaryState(ctx context.Context, db bun.IDB) (pgSummaryState, error) {
	var st pgSummaryState
	err := db.NewRaw(`SELECT s.current_build, s.segments, s.built_accounts,
(SELECT d.datcollate IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8') FROM pg_database d WHERE d.datname = current_database()) AS c_collate,
coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass('users_public_id_trgm')), false) AS public_trgm
FROM user_search_state s`).Scan(ctx, &st)
	if errors.Is(err, sql.ErrNoRows) {
		return pgSummaryState{}, nil
	}
	return st, err
}

// pgRun is a range of consecutive candidate segments: from the lower
// bound of the first (nil: from the first account) to the lower bound of
// the one after the last (nil: to the last account), exclusive.
type pgRun struct {
	loName, hiName *string
	loID, hiID     *int64
	segs           int
}

// pgSummaryWalked and pgSummarySegsWalked count the runs of candidate
// segments that searches through the summary walked, and the segments in
// them (tests).
var pgSummaryWalked, pgSummarySegsWalked atomic.Int64

// pgSearchBySummary reads the first page of a search by text alone sorted
// by display name (after the cursor after, if any), and its total when
// wantTotal, through the summary: ok
// is false when the summary cannot answer it (no build yet, a text it
// cannot prune, or one whose grams occur in more than a quarter of the
// segments), and the caller plans as before.
func pgSearchBySummary(ctx context.Context, db bun.IDB, text string, s UserSort, after *UserKey, limit int, wantTotal bool) (users []User, total int64, estimate, ok bool, err error) {
	grams := summaryGrams(text)
	// publicApart: a public ID could hold the text, so its public-ID
	// matches are looked up apart and merged (pgPublicIDMatches).
	publicApart := false
	if grams == nil {
		if utf8.RuneCountInString(text) < pgPublicApartLen {
			return nil, 0, false, false, nil
		}
		addGrams(text, func(g string) {
			if !slices.Contains(grams, g) {
				grams = append(grams, g)
			}
		})
		publicApart = true
	}
	st, err := readSummaryState(ctx, db)
	if err != nil || st.Build == nil {
		maybeBuildSummary(ctx, db, st)
		return nil, 0, false, false, err
	}
	maybeBuildSummary(ctx, db, st)
	if utf8.RuneCountInString(text) < MinSubstringLen && !st.CCollate {
		// A prefix is searched as a range of the collation's order, which
		// only in C order holds exactly the strings that start with it.
		return nil, 0, false, false, nil
	}
	if publicApart && (!st.PublicTrgm || !st.CCollate) {
		// The merge orders display names byte by byte, as C order does.
		if !st.PublicTrgm {
			maybeBuildPublicIDIndex(ctx, db)
		}
		return nil, 0, false, false, nil
	}
	build := *st.Build
	var cands []struct {
		Seg    int     `bun:"seg"`
		LoName string  `bun:"lo_name"`
		LoID   int64   `bun:"lo_id"`
		HiName *string `bun:"hi_name"`
		HiID   *int64  `bun:"hi_id"`
		// Past: the segment holds no account after the cursor in walking
		// order (it is skipped).
		Past bool `bun:"past"`
	}
	past := "false"
	var pastArgs []any
	if after != nil {
		if s.Desc {
			past = "s.seg > 0 AND (s.lo_name, s.lo_id) >= (lower(?), ?)"
		} else {
			past = "n.seg IS NOT NULL AND (n.lo_name, n.lo_id) <= (lower(?), ?)"
		}
		pastArgs = []any{after.S, after.ID}
	}
	err = db.NewRaw(`SELECT g.seg, s.lo_name, s.lo_id, n.lo_name AS hi_name, n.lo_id AS hi_id, `+past+` AS past
FROM (SELECT seg FROM user_search_grams WHERE build = ? AND gram IN (?) GROUP BY seg HAVING count(*) = ?) AS g
JOIN user_search_segments s ON s.build = ? AND s.seg = g.seg
LEFT JOIN user_search_segments n ON n.build = ? AND n.seg = g.seg + 1
ORDER BY g.seg`, append(pastArgs, build, bun.In(grams), len(grams), build, build)...).Scan(ctx, &cands)
	if err != nil {
		return nil, 0, false, false, err
	}
	if len(cands) > max(2, st.Segments/4) {
		return nil, 0, false, false, nil
	}
	var runs []pgRun
	for i, c := range cands {
		if c.Past {
			continue
		}
		if i > 0 && cands[i-1].Seg+1 == c.Seg && !cands[i-1].Past {
			runs[len(runs)-1].hiName, runs[len(runs)-1].hiID = c.HiName, c.HiID
			runs[len(runs)-1].segs++
			continue
		}
		r := pgRun{hiName: c.HiName, hiID: c.HiID, segs: 1}
		if c.Seg > 0 {
			name, id := c.LoName, c.LoID
			r.loName, r.loID = &name, &id
		}
		runs = append(runs, r)
	}
	dir := " ASC"
	if s.Desc {
		dir = " DESC"
		for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
			runs[i], runs[j] = runs[j], runs[i]
		}
	}
	// A prefix that one field's own index holds past the cap: the
	// total is the capped estimate, and the walk goes only to the page.
	pastCap := false
	if wantTotal && utf8.RuneCountInString(text) < MinSubstringLen {
		if pastCap, err = pgPrefixPastCap(ctx, db, text); err != nil {
			return nil, 0, false, false, err
		}
	}
	take := limit
	if wantTotal && !pastCap {
		take = max(limit, SearchCountCap+1)
	}
	var extra []pgKeyed
	if publicApart {
		var found bool
		if extra, found, err = pgPublicIDMatches(ctx, db, text, s, after); err != nil || !found {
			return nil, 0, false, false, err
		}
	}
	cond, args := pgWalkCondition(text)
	var keyed []pgKeyed
	for _, r := range runs {
		if take == 0 {
			break
		}
		w := db.NewSelect().TableExpr("users AS w").ColumnExpr("lower(w.display_name) AS name, w.id")
		if r.loName != nil {
			w = w.Where("(lower(w.display_name), w.id) >= (?, ?)", *r.loName, *r.loID)
		}
		if r.hiName != nil {
			w = w.Where("(lower(w.display_name), w.id) < (?, ?)", *r.hiName, *r.hiID)
		}
		if after != nil {
			// The run that holds the cursor starts (or ends) at it.
			op := " > "
			if s.Desc {
				op = " < "
			}
			w = w.Where("(lower(w.display_name), w.id)"+op+"(lower(?), ?)", after.S, after.ID)
		}
		var more []pgKeyed
		if err := w.Where(cond, args...).OrderExpr("lower(w.display_name)"+dir+", w.id"+dir).Limit(int64(take-len(keyed))).Scan(ctx, &more); err != nil {
			return nil, 0, false, false, err
		}
		pgSummaryWalked.Add(1)
		pgSummarySegsWalked.Add(int64(r.segs))
		keyed = append(keyed, more...)
		if len(keyed) >= take {
			break
		}
	}
	if publicApart {
		keyed = mergeKeyed(keyed, extra, len(keyed) >= take, s.Desc)
	}
	ids := make([]int64, 0, min(len(keyed), limit))
	for _, k := range keyed[:min(len(keyed), limit)] {
		ids = append(ids, k.ID)
	}
	counted := len(keyed)
	users, err = pgUsersByID(ctx, db, ids, s)
	if err != nil || !wantTotal {
		return users, 0, false, true, err
	}
	if pastCap || counted > SearchCountCap {
		return users, SearchCountCap, true, true, nil
	}
	// Every candidate segment was walked: every match counted.
	return users, int64(counted), false, true, nil
}

// pgPublicApartLen is the shortest text in the public-ID alphabet that
// the summary prunes, its public-ID matches looked up apart: about
// N·12/32^4 accounts hold a given 4 characters in their public IDs (120
// at 10M), but a 3-character text about 4,000.
const pgPublicApartLen = 4

// pgPublicApartMost is the most public-ID matches merged into a walk
// through the summary; past it the text plans without the summary.
const pgPublicApartMost = 2000

// pgKeyed is an account in display-name order.
type pgKeyed struct {
	Name string `bun:"name"`
	ID   int64  `bun:"id"`
}

// before is whether a comes before b in walking order (strictly).
func (a pgKeyed) before(b pgKeyed, desc bool) bool {
	if a.Name != b.Name {
		return (a.Name < b.Name) != desc
	}
	return a.ID != b.ID && (a.ID < b.ID) != desc
}

// pgPublicIDMatches reads the accounts whose public ID holds text (after
// the cursor, if any) through users_public_id_trgm, in walking order;
// found is false when there are more than pgPublicApartMost.
func pgPublicIDMatches(ctx context.Context, db bun.IDB, text string, s UserSort, after *UserKey) ([]pgKeyed, bool, error) {
	q := db.NewSelect().TableExpr("users AS w").ColumnExpr("lower(w.display_name) AS name, w.id").
		Where(`w.public_id LIKE ? ESCAPE '\'`, "%"+escapeLike(text)+"%")
	if after != nil {
		op := " > "
		if s.Desc {
			op = " < "
		}
		q = q.Where("(lower(w.display_name), w.id)"+op+"(lower(?), ?)", after.S, after.ID)
	}
	var out []pgKeyed
	if err := q.Limit(pgPublicApartMost+1).Scan(ctx, &out); err != nil {
		return nil, false, err
	}
	if len(out) > pgPublicApartMost {
		return nil, false, nil
	}
	slices.SortFunc(out, func(a, b pgKeyed) int {
		if a.before(b, s.Desc) {
			return -1
		}
		if b.before(a, s.Desc) {
			return 1
		}
		return 0
	})
	return out, true, nil
}

// mergeKeyed merges the walk's matches (in order; cut: the walk stopped at
// its limit, so it holds every match of the candidate segments up to its
// last) with the public-ID matches found apart (in order): every match up
// to the walk's last when cut, else every match. The public-ID matches
// of the candidate segments are in both.
func mergeKeyed(walk, extra []pgKeyed, cut, desc bool) []pgKeyed {
	seen := make(map[int64]bool, len(walk))
	for _, k := range walk {
		seen[k.ID] = true
	}
	out := make([]pgKeyed, 0, len(walk)+len(extra))
	i := 0
	for _, e := range extra {
		if seen[e.ID] {
			continue
		}
		if cut && len(walk) > 0 && walk[len(walk)-1].before(e, desc) {
			break
		}
		for i < len(walk) && walk[i].before(e, desc) {
			out = append(out, walk[i])
			i++
		}
		out = append(out, e)
	}
	return append(out, walk[i:]...)
}

// pgPublicIDBuilding is set while this process builds
// users_public_id_trgm in the background.
var pgPublicIDBuilding atomic.Bool

// maybeBuildPublicIDIndex starts building users_public_id_trgm in the
// background (as maybeBuildSummary the summary), when the summary is on.
func maybeBuildPublicIDIndex(ctx context.Context, idb bun.IDB) {
	db, ok := idb.(*bun.DB)
	if !ok || !PGSummaryAutoBuild || !pgPublicIDBuilding.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer pgPublicIDBuilding.Store(false)
		BuildPublicIDIndex(context.Background(), db) //nolint:errcheck // the next search tries again
	}()
}

// BuildPublicIDIndex builds users_public_id_trgm (a trigram index of
// public IDs alone) without holding writes off (CONCURRENTLY), unless it
// is built and valid; an invalid one left by an interrupted build is
// dropped first. One build at a time (an advisory lock); PostgreSQL only.
// A search through the summary reads the public-ID matches of a text of
// pgPublicApartLen characters or more from it, so that texts a public
// ID could hold ("tanaka", "mart") are pruned too: 952 MB at 10M
// accounts (built in 20 minutes at load 14-22), 81 MB at 1M.
func BuildPublicIDIndex(ctx context.Context, db *bun.DB) error {
	if IsSQLite(db) {
		return nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", pgPublicIDLockKey).Scan(&locked); err != nil || !locked {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", pgPublicIDLockKey) //nolint:errcheck
	var valid *bool
	if err := conn.QueryRowContext(ctx, "SELECT (SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass('users_public_id_trgm'))").Scan(&valid); err != nil {
		return err
	}
	if valid != nil && *valid {
		return nil
	}
	if valid != nil {
		if _, err := conn.ExecContext(ctx, "DROP INDEX CONCURRENTLY IF EXISTS users_public_id_trgm"); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_public_id_trgm ON users USING gin (public_id gin_trgm_ops)")
	return err
}

// pgPublicIDLockKey is the advisory lock a build of users_public_id_trgm
// holds.
const pgPublicIDLockKey int64 = 0x4761746750756231

// pgSummaryBuilding is set while this process runs a build it started
// from a search.
var pgSummaryBuilding atomic.Bool

// PGSummaryAutoBuild is whether a search that finds no summary (or one
// the accounts have outgrown) starts a build in the background (off in
// tests, which build explicitly).
var PGSummaryAutoBuild = true

// maybeBuildSummary starts a build in the background when the accounts
// have outgrown the current one (twice as many as it was built from) or
// there is none and pgSummaryMin accounts exist.
func maybeBuildSummary(ctx context.Context, idb bun.IDB, st pgSummaryState) {
	db, ok := idb.(*bun.DB)
	if !ok || !PGSummaryAutoBuild || pgSummaryBuilding.Load() {
		return
	}
	all, err := CountAllUsers(ctx, db)
	if err != nil || all < pgSummaryMin || (st.Build != nil && all <= 2*st.Built) {
		return
	}
	if !pgSummaryBuilding.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer pgSummaryBuilding.Store(false)
		BuildSearchSummary(context.Background(), db) //nolint:errcheck // the next search tries again
	}()
}

// BuildSearchSummary builds the search summary anew from the accounts in
// display-name order, streamed a segment at a time (never one aggregate
// over the table), and makes it current. It returns false without
// building when another build holds the lock, on SQLite, or when there
// are no accounts. Accounts inserted or changed while it runs are noted
// by the trigger (user_search_changed) and caught up before the build
// becomes current, with writes to users held for that moment only.
func BuildSearchSummary(ctx context.Context, db *bun.DB) (bool, error) {
	if IsSQLite(db) {
		return false, nil
	}
	if err := BuildPublicIDIndex(ctx, db); err != nil {
		return false, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", pgSummaryLockKey).Scan(&locked); err != nil {
		return false, err
	}
	if !locked {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", pgSummaryLockKey) //nolint:errcheck
	// Start: from here on every write to the searched fields is noted.
	// The SHARE lock waits for writers that began before (their trigger
	// read rebuilding false) and keeps new ones out until the flag is
	// committed.
	var build int
	err = conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "LOCK TABLE users IN SHARE MODE"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_search_changed"); err != nil {
			return err
		}
		return tx.NewRaw("UPDATE user_search_state SET rebuilding = true, last_build = last_build + 1 RETURNING last_build").Scan(ctx, &build)
	})
	if err != nil {
		return false, err
	}
	done := false
	defer func() {
		if done {
			return
		}
		bg := context.WithoutCancel(ctx)
		conn.ExecContext(bg, "UPDATE user_search_state SET rebuilding = false")         //nolint:errcheck
		conn.ExecContext(bg, "DELETE FROM user_search_grams WHERE build = ?", build)    //nolint:errcheck
		conn.ExecContext(bg, "DELETE FROM user_search_segments WHERE build = ?", build) //nolint:errcheck
	}()
	type row struct {
		Name  string `bun:"name"`
		ID    int64  `bun:"id"`
		User  string `bun:"username_lower"`
		Email string `bun:"email_lower"`
	}
	var (
		rows  []row
		segs  int
		count int64
		grams = map[string]struct{}{}
		list  []string
	)
	for {
		q := conn.NewSelect().TableExpr("users AS u").
			ColumnExpr("lower(u.display_name) AS name, u.id, u.username_lower, coalesce(u.email_lower, '') AS email_lower").
			OrderExpr("lower(u.display_name), u.id").Limit(int64(pgSummarySegment))
		if len(rows) > 0 {
			last := rows[len(rows)-1]
			q = q.Where("(lower(u.display_name), u.id) > (?, ?)", last.Name, last.ID)
		}
		rows = rows[:0]
		if err := q.Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		if len(rows) == 0 {
			break
		}
		clear(grams)
		add := func(g string) { grams[g] = struct{}{} }
		for i := range rows {
			fieldGrams(rows[i].Name, add)
			fieldGrams(rows[i].User, add)
			fieldGrams(rows[i].Email, add)
		}
		list = list[:0]
		for g := range grams {
			list = append(list, g)
		}
		if _, err := conn.NewRaw("INSERT INTO user_search_segments (build, seg, lo_name, lo_id) VALUES (?, ?, ?, ?)", build, segs, rows[0].Name, rows[0].ID).Exec(ctx); err != nil {
			return false, err
		}
		if _, err := conn.NewRaw("INSERT INTO user_search_grams (build, gram, seg) SELECT ?, unnest(?::text[]), ?", build, pgdialect.Array(list), segs).Exec(ctx); err != nil {
			return false, fmt.Errorf("segment %d: %w", segs, err)
		}
		segs++
		count += int64(len(rows))
		if len(rows) < pgSummarySegment {
			break
		}
	}
	if segs == 0 {
		return false, nil
	}
	// Catch up the accounts written since the start, then make the build
	// current, with writes held off (SHARE) so that none is missed.
	err = conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, stmt := range []string{
			"LOCK TABLE users IN SHARE MODE",
			`INSERT INTO user_search_grams (build, gram, seg)
SELECT ?0, g, user_search_seg(?0, lower(u.display_name), u.id)
FROM users u JOIN user_search_changed c ON c.id = u.id,
LATERAL user_search_grams_of(u.username_lower, u.email_lower, lower(u.display_name)) AS g
ON CONFLICT DO NOTHING`,
			"DELETE FROM user_search_changed",
			"UPDATE user_search_state SET current_build = ?0, rebuilding = false, built_accounts = ?1, segments = ?2",
		} {
			if _, err := tx.NewRaw(stmt, build, count, segs).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	done = true
	// The builds before are no longer read.
	for _, stmt := range []string{"DELETE FROM user_search_grams WHERE build <> ?", "DELETE FROM user_search_segments WHERE build <> ?"} {
		if _, err := conn.NewRaw(stmt, build).Exec(ctx); err != nil {
			return true, err
		}
	}
	return true, nil
}

// DropSearchSummary makes the search plan without a summary (a bulk load
// that set the trigger aside) until the next build.
func DropSearchSummary(ctx context.Context, db bun.IDB) error {
	if IsSQLite(db) {
		return nil
	}
	_, err := db.ExecContext(ctx, "UPDATE user_search_state SET current_build = NULL, segments = 0, built_accounts = 0")
	return err
}

// SearchSummaryWanted is whether a seed of PostgreSQL should build the
// summary after loading all accounts.
func SearchSummaryWanted(ctx context.Context, db bun.IDB) (bool, error) {
	if IsSQLite(db) {
		return false, nil
	}
	all, err := CountAllUsers(ctx, db)
	return all >= pgSummaryMin, err
}
