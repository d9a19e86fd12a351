package models

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// The users table's row locks and set-based writes used by the
// account-change engine (server/service/accounts.go). A set-based write
// that sets updated_at calls appendUpdatedLog after its statement: inside
// a bulk change the update-time log's trigger stands aside
// (users_updated_log.go), and the write appends its accounts' entries.

// userColumnScan maps a users column to the field of User it scans into.
// LockUsers reads only the columns a change needs, scanned by hand: it
// costs a fraction of mapping whole accounts when a bulk change reads
// 100,000 of them.
var userColumnScan = map[string]func(u *User) any{
	"id":                      func(u *User) any { return &u.ID },
	"public_id":               func(u *User) any { return &u.PublicID },
	"username":                func(u *User) any { return &u.Username },
	"display_name":            func(u *User) any { return &u.DisplayName },
	"email":                   func(u *User) any { return &u.Email },
	"email_verified_at":       func(u *User) any { return &u.EmailVerifiedAt },
	"email_vouched":           func(u *User) any { return &u.EmailVouched },
	"phone":                   func(u *User) any { return &u.Phone },
	"language":                func(u *User) any { return &u.Language },
	"timezone":                func(u *User) any { return &u.Timezone },
	"preferences":             func(u *User) any { return &u.Preferences },
	"role":                    func(u *User) any { return &u.Role },
	"status":                  func(u *User) any { return &u.Status },
	"status_reason":           func(u *User) any { return &u.StatusReason },
	"password_hash":           func(u *User) any { return &u.PasswordHash },
	"totp_secret":             func(u *User) any { return &u.TOTPSecret },
	"totp_pending_secret":     func(u *User) any { return &u.TOTPPendingSecret },
	"totp_enabled_at":         func(u *User) any { return &u.TOTPEnabledAt },
	"passkey_count":           func(u *User) any { return &u.PasskeyCount },
	"failed_logins":           func(u *User) any { return &u.FailedLogins },
	"locked_until":            func(u *User) any { return &u.LockedUntil },
	"balance":                 func(u *User) any { return &u.Balance },
	"plan_id":                 func(u *User) any { return &u.PlanID },
	"subscription_expires_at": func(u *User) any { return &u.SubscriptionExpiresAt },
}

// Every other column of User scans through reflection, so that a change
// kind may read any column without touching this file (the map above is
// the fast path for the columns changes read most).
func init() {
	t := reflect.TypeFor[User]()
	for i := range t.NumField() {
		col, _, _ := strings.Cut(t.Field(i).Tag.Get("bun"), ",")
		if col == "" || col == "-" || strings.Contains(col, ":") || userColumnScan[col] != nil {
			continue
		}
		userColumnScan[col] = func(u *User) any { return reflect.ValueOf(u).Elem().Field(i).Addr().Interface() }
	}
}

// UsersByPublicIDs selects the accounts with the given public IDs.
func UsersByPublicIDs(db bun.IDB, publicIDs []string) *bun.SelectQuery {
	return db.NewSelect().Model((*User)(nil)).Where("u.public_id IN (?)", bun.List(publicIDs))
}

// UserLock says how LockUsers holds the rows it reads.
type UserLock int

const (
	// ReadOnly reads without a row lock: a dry run, or SQLite, whose
	// immediate transaction already holds the whole database.
	ReadOnly UserLock = iota
	// LockRows locks the rows read (PostgreSQL, inside a transaction).
	LockRows
	// LockRowsAndSuperAdmins locks, in the same statement, the rows read
	// and every super administrator's row: a change that could take out
	// the last super administrator waits for every other such change.
	LockRowsAndSuperAdmins
)

// LockUsers runs q (a select of users aliased u, without columns, order or
// limit) for the named columns and scans the rows.
//
// When it locks, every row is locked by this one statement, in id order
// (SELECT ... ORDER BY u.id FOR UPDATE OF u): the targets and, with
// LockRowsAndSuperAdmins, the super administrators with them. Two changes
// that both lock rows therefore always take them in the same order and
// wait for each other instead of deadlocking; locking the super
// administrators first and the targets after (two statements) crossed a
// change that locks the targets only, and PostgreSQL aborted one of them.
// This is the only place that takes row locks on the users table.
//
// The result holds only the rows q selects: super administrators locked
// beside them are left out. sizeHint presizes the result.
func LockUsers(ctx context.Context, db bun.IDB, q *bun.SelectQuery, cols []string, lock UserLock, sizeHint int) ([]User, error) {
	return lockUsers(ctx, nil, db, q, nil, cols, lock, sizeHint)
}

// LockUserPrepared is LockUsers for the one account publicID, as a
// prepared statement (the text depends on cols and lock alone): a single
// change's target read.
func LockUserPrepared(ctx context.Context, st *Stmts, db bun.IDB, publicID string, cols []string, lock UserLock) ([]User, error) {
	q := db.NewSelect().Model((*User)(nil)).Where("u.public_id = ?", bun.Safe("?"))
	return lockUsers(ctx, st, db, q, []any{publicID}, cols, lock, 1)
}

// lockUsers is LockUsers; with st, q's text holds a ? for each of args and
// runs as a prepared statement (the super administrators' second read too).
func lockUsers(ctx context.Context, st *Stmts, db bun.IDB, q *bun.SelectQuery, args []any, cols []string, lock UserLock, sizeHint int) ([]User, error) {
	exprs := make([]string, len(cols))
	hasRole := false
	for i, c := range cols {
		if userColumnScan[c] == nil {
			return nil, fmt.Errorf("models: no scan for users column %q", c)
		}
		exprs[i] = "u." + c
		hasRole = hasRole || c == "role"
	}
	// A super administrator read only because of the OR below is told from
	// a target by a second read of q among the super administrators,
	// which are locked by then.
	var superTargets *bun.SelectQuery
	if lock == LockRowsAndSuperAdmins {
		if !hasRole {
			cols = append(slices.Clone(cols), "role")
			exprs = append(exprs, "u.role")
		}
		// A q without conditions selects every account, the super
		// administrators among them.
		if strings.Contains(q.String(), " WHERE ") {
			superTargets = q.Clone().ColumnExpr("u.id").Where("u.role = ?", RoleSuperAdmin)
			// AND binds tighter than OR: (q's conditions) OR (u.role = ...).
			q = q.WhereOr("u.role = ?", RoleSuperAdmin)
		}
	}
	q = q.ColumnExpr(strings.Join(exprs, ", "))
	if lock != ReadOnly {
		q = q.Order("u.id").For("UPDATE OF u")
	}
	query := func(q *bun.SelectQuery) (*sql.Rows, error) {
		if st != nil {
			return st.Query(ctx, db, q.String(), slices.Clone(args)...)
		}
		return db.QueryContext(ctx, q.String())
	}
	rows, err := query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]User, 0, sizeHint)
	dest := make([]any, len(cols))
	supers := 0
	for rows.Next() {
		out = append(out, User{})
		u := &out[len(out)-1]
		for i, c := range cols {
			dest[i] = userColumnScan[c](u)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if u.Role == RoleSuperAdmin {
			supers++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if superTargets == nil || supers == 0 {
		return out, nil
	}
	kept := map[int64]bool{}
	rows, err = query(superTargets)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		kept[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	targets := out[:0]
	for _, u := range out {
		if u.Role != RoleSuperAdmin || kept[u.ID] {
			targets = append(targets, u)
		}
	}
	return targets, nil
}

// UpdateUsers sets the same values on the accounts ids, one statement per
// chunk of ids (SQLite journals each page a statement touches once per
// statement, so a few large statements write far less than many small
// ones). set maps a column (or "column = expression") to its value.
//
// On SQLite the statement is UPDATE OR FAIL: a statement that may stop
// half way with ABORT copies every page it changes into a statement
// journal first (a temporary file: about a second per 100,000 accounts
// spread over a million), while FAIL keeps what it did; the caller's
// transaction rolls everything back on any error anyway. The ids travel
// as one JSON array instead of 100,000 literals in the SQL text.
func UpdateUsers(ctx context.Context, db bun.IDB, ids []int64, now time.Time, set func(q *bun.UpdateQuery) *bun.UpdateQuery) error {
	return UpdateUsersNamed(ctx, db, ids, now, set, nil)
}

// UserName is an account's internal ID with its public ID and username:
// what an audit row names its target by.
type UserName struct {
	ID                 int64
	PublicID, Username string
}

// UpdateUsersNamed is UpdateUsers that, when named is set, also reports
// the public ID and username of every account it changed (UPDATE ...
// RETURNING): a bulk change planned from the (role, status, ...) index
// alone takes its audit rows' names from the rows it rewrites anyway,
// instead of reading 100,000 rows scattered over the table a second time.
func UpdateUsersNamed(ctx context.Context, db bun.IDB, ids []int64, now time.Time, set func(q *bun.UpdateQuery) *bun.UpdateQuery, named func(UserName)) error {
	if len(ids) == 0 {
		return nil
	}
	sql, err := usersNamedSQL(db, ids, now, set, named != nil)
	if err != nil {
		return err
	}
	if named == nil {
		_, err = db.ExecContext(ctx, sql)
	} else {
		err = scanNames(ctx, db, sql, named)
	}
	if err != nil {
		return err
	}
	return appendUpdatedLog(ctx, db, ids, now)
}

// usersNamedSQL is UpdateUsersNamed's statement.
func usersNamedSQL(db bun.IDB, ids []int64, now time.Time, set func(q *bun.UpdateQuery) *bun.UpdateQuery, named bool) (string, error) {
	q := set(db.NewUpdate().Model((*User)(nil)).Set("updated_at = ?", now))
	if named {
		q = q.Returning("id, public_id, username")
	}
	if !IsSQLite(db) {
		return q.Where("id = ANY(?::bigint[])", idsArray(ids)).String(), nil
	}
	return sqliteUsersByIDs(q.Where("id IN (SELECT value FROM json_each(?))", idsJSON(ids)).String())
}

// sqliteUsersByIDs adapts bun's text of an UPDATE or DELETE of the
// accounts in a list of ids to SQLite:
//
//   - UPDATE OR FAIL: a failing row ends the statement without undoing
//     the rows before it, which the transaction undoes anyway, so SQLite
//     keeps no statement journal of every page the statement changes;
//   - INDEXED BY users_id_order: SQLite runs such a statement in two
//     passes (it has a RETURNING clause, triggers or an IN subquery):
//     the first collects the rowids, the second changes the rows. Left to
//     itself the first pass looks every id up in the table, reading each
//     target's table page; with 100,000 targets spread over 1,000,000
//     accounts those pages have left the bulk connection's 8 MiB cache
//     when the second pass comes back for them, so every page was read
//     twice (57,815 pages, counted with strace in
//     BenchmarkBulkStatusChange). Through the id index the first pass
//     reads that index alone (2,930 pages at 1,000,000 accounts).
func sqliteUsersByIDs(sql string) (string, error) {
	for _, h := range [...]struct{ from, to string }{
		{`UPDATE "users" AS "u" `, `UPDATE OR FAIL "users" AS "u" INDEXED BY users_id_order `},
		{`DELETE FROM "users" AS "u" `, `DELETE FROM "users" AS "u" INDEXED BY users_id_order `},
	} {
		if strings.HasPrefix(sql, h.from) {
			return h.to + sql[len(h.from):], nil
		}
	}
	return "", fmt.Errorf("models: unexpected users statement %q", sql[:min(len(sql), 40)])
}

// UpdateUsersSet is UpdateUsersNamed for a change that sets columns to
// values (cols[i] = vals[i], besides updated_at = now) as a prepared
// statement: its text depends on the columns alone, the ids travel as one
// parameter (a status change parsed its UPDATE anew every time).
func UpdateUsersSet(ctx context.Context, st *Stmts, db bun.IDB, ids []int64, now time.Time, cols []string, vals []any, named func(UserName)) error {
	if len(ids) == 0 {
		return nil
	}
	query, err := usersSetSQL(db, cols, named != nil)
	if err != nil {
		return err
	}
	_, idsArg := idsParam(db, "id", ids)
	args := append(append([]any{now}, vals...), idsArg)
	if named == nil {
		_, err = st.Exec(ctx, db, query, args...)
	} else {
		var rows *sql.Rows
		if rows, err = st.Query(ctx, db, query, args...); err == nil {
			err = scanNameRows(rows, named)
		}
	}
	if err != nil {
		return err
	}
	return appendUpdatedLog(ctx, db, ids, now)
}

// usersSetSQL is UpdateUsersSet's statement: a ? for updated_at, one for
// each of cols, then one for the ids.
func usersSetSQL(db bun.IDB, cols []string, named bool) (string, error) {
	q := db.NewUpdate().Model((*User)(nil)).Set("updated_at = ?", bun.Safe("?"))
	for _, c := range cols {
		q = q.Set(c+" = ?", bun.Safe("?"))
	}
	if named {
		q = q.Returning("id, public_id, username")
	}
	where, _ := idsParam(db, "id", nil)
	sql := q.Where(where, bun.Safe("?")).String()
	if !IsSQLite(db) {
		return sql, nil
	}
	return sqliteUsersByIDs(sql)
}

// idsParam is the condition "col is one of ids" with one ? for the ids and
// the argument that goes there: a JSON array for json_each on SQLite, an
// array on PostgreSQL (the text does not depend on the ids: prepared
// statements take it).
func idsParam(db bun.IDB, col string, ids []int64) (string, any) {
	if IsSQLite(db) {
		return col + " IN (SELECT value FROM json_each(?))", idsJSON(ids)
	}
	return col + " = ANY(?::bigint[])", idsArray(ids)
}

// UserNamesOf reports the public ID and username of the accounts ids
// (those that exist).
func UserNamesOf(ctx context.Context, db bun.IDB, ids []int64, named func(UserName)) error {
	for start := 0; start < len(ids); start += 5000 {
		part := ids[start:min(start+5000, len(ids))]
		q := db.NewSelect().Model((*User)(nil)).ColumnExpr("u.id, u.public_id, u.username")
		if IsSQLite(db) {
			q = q.Where("u.id IN (SELECT value FROM json_each(?))", idsJSON(part))
		} else {
			q = q.Where("u.id = ANY(?::bigint[])", idsArray(part))
		}
		if err := scanNames(ctx, db, q.String(), named); err != nil {
			return err
		}
	}
	return nil
}

func scanNames(ctx context.Context, db bun.IDB, sql string, named func(UserName)) error {
	rows, err := db.QueryContext(ctx, sql)
	if err != nil {
		return err
	}
	return scanNameRows(rows, named)
}

func scanNameRows(rows *sql.Rows, named func(UserName)) error {
	defer rows.Close()
	var n UserName
	for rows.Next() {
		if err := rows.Scan(&n.ID, &n.PublicID, &n.Username); err != nil {
			return err
		}
		named(n)
	}
	return rows.Err()
}

// idsArray is ids as a PostgreSQL array literal: one parameter instead of
// a literal per id in the statement's text.
func idsArray(ids []int64) string {
	b := []byte(idsJSON(ids))
	b[0], b[len(b)-1] = '{', '}'
	return string(b)
}

// idsJSON is ids as a JSON array, for json_each.
func idsJSON(ids []int64) string {
	b := make([]byte, 0, 8*len(ids)+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// inIDs is the condition "col is one of ids": a JSON array on SQLite
// (one parameter instead of a literal per id), a list elsewhere.
func inIDs(db bun.IDB, q *bun.DeleteQuery, col string, ids []int64) *bun.DeleteQuery {
	if IsSQLite(db) {
		return q.Where(col+" IN (SELECT value FROM json_each(?))", idsJSON(ids))
	}
	return q.Where(col+" IN (?)", bun.List(ids))
}

// DeleteUsers removes the accounts ids (their sessions are ended first by
// EndSessionsOf).
func DeleteUsers(ctx context.Context, db bun.IDB, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	sql, err := deleteUsersSQL(db, ids)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, sql)
	return err
}

// deleteUsersSQL is DeleteUsers' statement.
func deleteUsersSQL(db bun.IDB, ids []int64) (string, error) {
	sql := inIDs(db, db.NewDelete().Model((*User)(nil)), "id", ids).String()
	if !IsSQLite(db) {
		return sql, nil
	}
	return sqliteUsersByIDs(sql)
}

// EndSessionsOf deletes every session and access token of the accounts
// ids, revokes their application tokens (OAuthFamily), and returns how
// many sessions each had.
func EndSessionsOf(ctx context.Context, st *Stmts, db bun.IDB, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	h := holders{ids: ids}
	tokens, err := h.of(ctx, db, "access_tokens", "")
	if err != nil {
		return nil, err
	}
	if len(tokens) > 0 {
		// Prepared statements: the ids are one parameter (idsParam).
		where, idsArg := idsParam(db, "user_id", tokens)
		if _, err := st.Exec(ctx, db, db.NewDelete().Model((*AccessToken)(nil)).Where(where, bun.Safe("?")).String(), idsArg); err != nil {
			return nil, err
		}
	}
	// The applications' tokens of the accounts end with their sessions.
	families, err := h.of(ctx, db, "oauth_token_families", "revoked_at IS NULL")
	if err != nil {
		return nil, err
	}
	if len(families) > 0 {
		where, idsArg := idsParam(db, "user_id", families)
		revoke := db.NewUpdate().Model((*OAuthFamily)(nil)).Set("revoked_at = ?", bun.Safe("?")).Set("revoke_reason = ?", bun.Safe("?")).
			Where("revoked_at IS NULL").Where(where, bun.Safe("?")).String()
		if _, err := st.Exec(ctx, db, revoke, time.Now().UTC(), "sessions_ended", idsArg); err != nil {
			return nil, err
		}
	}
	sessions, err := h.of(ctx, db, "sessions", "")
	if err != nil || len(sessions) == 0 {
		return out, err
	}
	where, idsArg := idsParam(db, "user_id", sessions)
	rows, err := st.Query(ctx, db, db.NewDelete().Model((*Session)(nil)).Where(where, bun.Safe("?")).Returning("user_id").String(), idsArg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var id int64
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id]++
	}
	return out, rows.Err()
}

// holders narrows a large list of accounts (ids) to those that hold a row
// of a small table (sessions and tokens, by user_id): when the table has
// fewer rows than half the accounts, the accounts it names are read once
// (its user_id index) and only those among ids are kept, instead of a
// look-up in that index for every account. A bulk change of 100,640 of a
// million accounts, with no session among them, spent about 0.15 s of its
// 3 s in the three look-ups per account (BenchmarkBulkStatusChange).
// SQLite only: its write transaction holds the database from the read to
// the delete, so no session can start in between; on PostgreSQL a sign-in
// could commit one there, and every account's look-up stays.
type holders struct {
	ids []int64
	set map[int64]struct{}
}

// holdersSmall is the size of ids under which no table is read first.
const holdersSmall = 1000

// of answers the accounts of h.ids that may hold a row of table matching
// cond (SQL, may be empty): all of them, or, when the table is small,
// exactly those that do.
func (h *holders) of(ctx context.Context, db bun.IDB, table, cond string) ([]int64, error) {
	if len(h.ids) < holdersSmall || !IsSQLite(db) {
		return h.ids, nil
	}
	where := ""
	if cond != "" {
		where = " WHERE " + cond
	}
	// Table names and conditions are this package's constants.
	var n int
	if err := db.NewRaw("SELECT count(*) FROM (SELECT 1 FROM "+table+where+" LIMIT ?)", len(h.ids)/2+1).Scan(ctx, &n); err != nil {
		return nil, err
	}
	if n > len(h.ids)/2 {
		return h.ids, nil
	}
	if n == 0 {
		return nil, nil
	}
	var users []int64
	if err := db.NewRaw("SELECT DISTINCT user_id FROM "+table+where).Scan(ctx, &users); err != nil {
		return nil, err
	}
	if h.set == nil {
		h.set = make(map[int64]struct{}, len(h.ids))
		for _, id := range h.ids {
			h.set[id] = struct{}{}
		}
	}
	var out []int64
	for _, id := range users {
		if _, ok := h.set[id]; ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// InsertLedger stores ledger rows in statements of 500.
func InsertLedger(ctx context.Context, db bun.IDB, rows []LedgerEntry) error {
	for start := 0; start < len(rows); start += 500 {
		part := rows[start:min(start+500, len(rows))]
		if _, err := db.NewInsert().Model(&part).Returning("NULL").Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// UserEmailColumns are the columns of an account's address.
var UserEmailColumns = []string{"email", "email_lower", "email_verified_at", "email_vouched", "updated_at"}

// ClearTwoFactor removes the accounts' TOTP secrets and recovery codes.
// Passkeys are removed by ClearSecondFactors.
func ClearTwoFactor(ctx context.Context, db bun.IDB, ids []int64, now time.Time) error {
	if err := UpdateUsers(ctx, db, ids, now, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("totp_secret = NULL").Set("totp_pending_secret = NULL").Set("totp_enabled_at = NULL")
	}); err != nil {
		return err
	}
	_, err := db.NewDelete().Model((*RecoveryCode)(nil)).Where("user_id IN (?)", bun.List(ids)).Exec(ctx)
	return err
}

// ClearSecondFactors removes every second factor of the accounts: TOTP,
// recovery codes and passkeys. It reports how many passkeys each lost.
func ClearSecondFactors(ctx context.Context, db bun.IDB, ids []int64, now time.Time) (map[int64]int64, error) {
	if err := ClearTwoFactor(ctx, db, ids, now); err != nil {
		return nil, err
	}
	return DeletePasskeysOf(ctx, db, ids)
}

// CountSessionsOf counts the sessions of the accounts ids (only the one
// named, when sessionID is set).
func CountSessionsOf(ctx context.Context, db bun.IDB, ids []int64, sessionID string) (map[int64]int64, error) {
	var rows []struct {
		UserID int64 `bun:"user_id"`
		N      int64 `bun:"n"`
	}
	out := map[int64]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	q := db.NewSelect().Model((*Session)(nil)).ColumnExpr("s.user_id, COUNT(*) AS n").Where("s.user_id IN (?)", bun.List(ids)).Group("s.user_id")
	if sessionID != "" {
		q = q.Where("s.id = ?", sessionID)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	return out, nil
}

// LockEmailHolders reads, through LockUsers, the accounts other than
// keepID that hold email unverified: those that lose it when keepID
// proves it (ReleaseEmail). A flow that proves an address calls it before
// it writes any row, so that the holders' rows are locked before the
// transaction holds anything its writes take (the triggers' auth_epoch
// and user_counts rows): a concurrent change to a holder is waited for
// and seen, never overwritten.
//
// When it locks, keepID's own row (the prover's) is locked in the same
// statement, in id order: two people proving one address at once each
// lock "the other holder, then myself" otherwise, in opposite orders, and
// PostgreSQL aborted one of them as a deadlock. The caller reads keepID's
// row after this call, so that it checks what the other proof left (the
// address may be gone).
func LockEmailHolders(ctx context.Context, db bun.IDB, email string, keepID int64, lock UserLock) ([]User, error) {
	q := db.NewSelect().Model((*User)(nil)).WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("u.email_lower = ?", NormalizeEmail(email)).Where("u.id <> ?", keepID).Where("u.email_verified_at IS NULL")
		})
		if lock != ReadOnly && keepID != 0 {
			q = q.WhereOr("u.id = ?", keepID)
		}
		return q
	})
	holders, err := LockUsers(ctx, db, q, []string{"id", "public_id", "username", "email"}, lock, 2)
	holders = slices.DeleteFunc(holders, func(u User) bool { return u.ID == keepID })
	slices.SortFunc(holders, func(a, b User) int { return cmp.Compare(a.ID, b.ID) })
	return holders, err
}

// ReleaseEmail takes their address away from holders, read (and locked)
// by LockEmailHolders in the same transaction. It is what happens when
// someone proves the address.
func ReleaseEmail(ctx context.Context, db bun.IDB, holders []User, now time.Time) error {
	if len(holders) == 0 {
		return nil
	}
	ids := make([]int64, len(holders))
	for i := range holders {
		ids[i] = holders[i].ID
	}
	return UpdateUsers(ctx, db, ids, now, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("email = NULL").Set("email_lower = NULL").Set("email_vouched = ?", false)
	})
}
