package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// The order of accounts by update time on SQLite: users_updated_log
// (migration 20261215000001), one (updated_at, id) entry per account kept
// by triggers, instead of an index on the users table. A bulk change sets
// the update trigger aside and appends its new entries in one statement
// (WithBulkUpdatedLog); the entries they replace stay behind, stale, until
// the sweep (SweepUpdatedLog) removes them. users_updated_log_pending has
// a row per bulk change whose stale entries are not swept yet.
//
// Every read of the log for a page joins the account on (id, updated_at)
// (updatedLogFrom), which skips a stale entry; a read of the log alone
// (ids only, no row) is taken only when no stale entry is left
// (updatedLogClean).

// updatedLogTrigger is the trigger a bulk change sets aside.
const updatedLogTrigger = "users_updated_log_update"

// updatedLogFrom is the FROM of a walk of the accounts in update order:
// the log (r) joined to the account it names at that time (u), through
// updatedLogJoin. The walk is r's primary key; each entry costs a look-up
// of its row by id.
const updatedLogFrom = "users_updated_log AS r CROSS JOIN users AS u"

// updatedLogJoin is the condition of updatedLogFrom: an entry whose time
// is no longer its account's (stale), or whose account is gone, matches
// nothing.
const updatedLogJoin = "u.id = r.id AND u.updated_at = r.updated_at"

// fromUpdatedLog makes q, a select of accounts (u) matching f, walk the
// update-time log: FROM updatedLogFrom WHERE updatedLogJoin. A status in
// f is also tested on the entry, before the account's row is read.
func fromUpdatedLog(q *bun.SelectQuery, f UserFilter) *bun.SelectQuery {
	q = q.ModelTableExpr(updatedLogFrom).Where(updatedLogJoin)
	if f.Status != "" {
		q = q.Where("r.status = ?", f.Status)
	}
	return q
}

// usesUpdatedLog reports whether a walk of db's accounts in order s reads
// the log: SQLite, update order.
func usesUpdatedLog(db bun.IDB, s UserSort) bool {
	return s.Key == "updated" && IsSQLite(db)
}

// updatedLogClean reports whether the log holds no stale entry (no bulk
// change is waiting for its sweep), so that its ids alone are the
// accounts in update order.
func updatedLogClean(ctx context.Context, db bun.IDB) (bool, error) {
	var n int
	err := db.NewRaw("SELECT count(*) FROM (SELECT 1 FROM users_updated_log_pending LIMIT 1)").Scan(ctx, &n)
	return n == 0, err
}

// bulkLogKey carries a bulk transaction's updatedLogBatch (RunBulkTx).
type bulkLogKey struct{}

// updatedLogBatch collects the accounts whose log entries a bulk change
// appended while the update trigger stood aside, and the row of
// users_updated_log_pending that stands for them: after the commit, their
// old entries are swept and the row removed.
type updatedLogBatch struct {
	aside   bool
	ids     []int64
	pending int64
	// statusOf is each changed account's status after the change.
	statusOf func(id int64) string
	// times are the times of the appended entries (one: the change's):
	// those entries are current, and the sweep skips them without a
	// look-up of their accounts.
	times []time.Time
}

// WithBulkUpdatedLog runs fn, a change to many accounts inside tx (a
// transaction of RunBulkTx), with the log's update trigger set aside: the
// set-based writes of this package append the new entries of the accounts
// they change in one statement each (appendUpdatedLog), in update-time
// order at the log's end, instead of moving each account's entry from
// its old place (a random page of the log: about a third of a 100,000
// account change's I/O at a million accounts). The old entries stay
// behind, with a row of users_updated_log_pending, and are swept after the
// commit (RunBulkTx). The trigger is recreated from its stored SQL inside
// tx, so a rollback restores it. Elsewhere (PostgreSQL, or outside
// RunBulkTx) fn runs as it is. statusOf tells each changed account's
// status after the change (the entries hold it).
func WithBulkUpdatedLog(ctx context.Context, tx bun.Tx, statusOf func(id int64) string, fn func(ctx context.Context) error) error {
	b, _ := ctx.Value(bulkLogKey{}).(*updatedLogBatch)
	if !IsSQLite(tx) || b == nil || b.aside {
		return fn(ctx)
	}
	restore, err := triggersAside(ctx, tx, []string{updatedLogTrigger})
	if err != nil {
		return err
	}
	before := len(b.ids)
	b.aside, b.statusOf = true, statusOf
	err = fn(ctx)
	b.aside, b.statusOf = false, nil
	if err != nil {
		return err
	}
	if n := len(b.ids) - before; n > 0 && b.pending == 0 {
		if err := tx.NewRaw("INSERT INTO users_updated_log_pending (accounts, created_at) VALUES (?, ?) RETURNING id", n, time.Now().UTC()).Scan(ctx, &b.pending); err != nil {
			return err
		}
	} else if n > 0 {
		if _, err := tx.ExecContext(ctx, "UPDATE users_updated_log_pending SET accounts = accounts + ? WHERE id = ?", n, b.pending); err != nil {
			return err
		}
	}
	return restore()
}

// appendUpdatedLog adds the entries (now, id) of the accounts ids that a
// set-based write has just given the update time now, when the update
// trigger stands aside (WithBulkUpdatedLog); otherwise the trigger did.
func appendUpdatedLog(ctx context.Context, db bun.IDB, ids []int64, now time.Time) error {
	b, _ := ctx.Value(bulkLogKey{}).(*updatedLogBatch)
	if b == nil || !b.aside || len(ids) == 0 {
		return nil
	}
	// One statement per status after the change (one for a status
	// change), each with its accounts' ids as a JSON array: a pair per
	// account ([id, status]) cost two JSON parses of each pair.
	var statuses []string
	groups := map[string][]int64{}
	for _, id := range ids {
		s := b.statusOf(id)
		if _, ok := groups[s]; !ok {
			statuses = append(statuses, s)
		}
		groups[s] = append(groups[s], id)
	}
	// The time as every write of this package stores it (bun's format;
	// Stmts binds times the same way), so that the entry equals the row.
	at := now.UTC().Format(bunTimeFormat)
	for _, s := range statuses {
		if _, err := db.ExecContext(ctx, "INSERT OR REPLACE INTO users_updated_log (updated_at, id, status) SELECT ?, value, ? FROM json_each(?)",
			at, s, idsJSON(groups[s])); err != nil {
			return err
		}
	}
	b.ids = append(b.ids, ids...)
	if !slices.ContainsFunc(b.times, now.Equal) {
		b.times = append(b.times, now)
	}
	return nil
}

// updatedLogSweepChunk is how many log entries one step of a sweep walks
// (in key order, without a write lock); the stale ones among them are
// deleted in a transaction of their own, so that other writers wait for
// at most one step's deletes.
const updatedLogSweepChunk = 50_000

// sweeps runs one sweep at a time per database; WaitUpdatedLogSweeps
// waits for those under way.
var (
	sweepLocks sync.Map // *bun.DB -> *sync.Mutex
	sweeps     sync.WaitGroup
)

// sweepAfter sweeps the stale entries a committed bulk change b left
// behind (RunBulkTx's background work, counted in sweeps).
func sweepAfter(db *bun.DB, b *updatedLogBatch) {
	defer sweeps.Done()
	if err := sweepLocked(db, b.ids, b.times, []int64{b.pending}); err != nil && !closedDB(err) {
		slog.Warn("sweeping the update-time log", "err", err)
	}
}

// WaitUpdatedLogSweeps waits for the background sweeps under way (tests).
func WaitUpdatedLogSweeps() { sweeps.Wait() }

// HoldUpdatedLogSweeps keeps db's sweeps from starting until release is
// called: tests read the lists while stale entries are there.
func HoldUpdatedLogSweeps(db *bun.DB) (release func()) {
	mu := sweepLock(db)
	mu.Lock()
	return mu.Unlock
}

// CheckUpdatedLog reports how the log differs from the accounts: entries
// that name no account at its update time (stale) and accounts without
// their entry, or with another status in it (missing: no read shows them
// right in update order), and how
// many bulk changes wait for their sweep. SQLite only.
func CheckUpdatedLog(ctx context.Context, db bun.IDB) (stale, missing, pending int64, err error) {
	err = db.NewRaw(`SELECT
 (SELECT count(*) FROM users_updated_log r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.id AND u.updated_at = r.updated_at)),
 (SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM users_updated_log r WHERE r.updated_at = u.updated_at AND r.id = u.id AND r.status = u.status)),
 (SELECT count(*) FROM users_updated_log_pending)`).Scan(ctx, &stale, &missing, &pending)
	return
}

// sweepLock is db's sweep lock.
func sweepLock(db *bun.DB) *sync.Mutex {
	mu, _ := sweepLocks.LoadOrStore(db, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

func sweepLocked(db *bun.DB, ids []int64, skip []time.Time, pending []int64) error {
	mu := sweepLock(db)
	mu.Lock()
	defer mu.Unlock()
	return SweepUpdatedLog(context.Background(), db, ids, skip, pending)
}

// SweepPendingUpdatedLog sweeps the whole log when rows of
// users_updated_log_pending are left from before (a restart between a
// bulk change and the end of its sweep: the list of its accounts is
// gone), and removes those rows. The server runs it at start.
func SweepPendingUpdatedLog(ctx context.Context, db *bun.DB) error {
	if !IsSQLite(db) {
		return nil
	}
	mu := sweepLock(db)
	mu.Lock()
	defer mu.Unlock()
	var pending []int64
	if err := db.NewRaw("SELECT id FROM users_updated_log_pending ORDER BY id").Scan(ctx, &pending); err != nil || len(pending) == 0 {
		return err
	}
	return SweepUpdatedLog(ctx, db, nil, nil, pending)
}

// SweepUpdatedLog removes the stale entries of the accounts ids (of every
// account when ids is nil) from the log, walking it in key order
// updatedLogSweepChunk entries at a time, then the rows pending of
// users_updated_log_pending. An entry is stale when its account's update
// time is another or the account is gone. Entries at one of the times
// skip (those a bulk change appended) are current and are not looked at.
// Every other entry of ids is checked
// against its account, wherever it is in the order, even after the
// change's time (a clock set back). The walk runs in SQLite, on a
// connection of its own that holds ids in a temporary table; each step's
// stale entries are deleted in key order, in a transaction of their own,
// so that they touch each page of the log once.
func SweepUpdatedLog(ctx context.Context, db *bun.DB, ids []int64, skip []time.Time, pending []int64) error {
	if !IsSQLite(db) {
		return nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	inSet := ""
	if ids != nil {
		for _, stmt := range []string{"CREATE TEMP TABLE IF NOT EXISTS sweep_ids (id INTEGER PRIMARY KEY)", "DELETE FROM temp.sweep_ids"} {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.sweep_ids") //nolint:errcheck
		if _, err := conn.NewRaw("INSERT OR IGNORE INTO temp.sweep_ids (id) SELECT value FROM json_each(?)", idsJSON(ids)).Exec(ctx); err != nil {
			return err
		}
		inSet = " AND w.id IN (SELECT id FROM temp.sweep_ids)"
	}
	var from *logEntry // the walk's position: after it
	for {
		after, args := "", []any{}
		if from != nil {
			after, args = " AND (w.updated_at, w.id) > (?, ?)", []any{from.T, from.ID}
		}
		// The times are stored text in columns of NUMERIC affinity: compared
		// as they are (unary +, no affinity), SQLite does not try to read
		// each one as a number first. (The range checks on the key below
		// still do; a tenth of the sweep's CPU at a million entries.)
		for _, t := range skip {
			// Stored text, compared as text (as every time of the table).
			after, args = after+" AND +w.updated_at <> ?", append(args, t.UTC().Format(bunTimeFormat))
		}
		// The step's last entry (nil: the rest of the log is the step).
		var end []logEntry
		if err := conn.NewRaw("SELECT CAST(w.updated_at AS TEXT) AS updated_at, w.id FROM users_updated_log AS w WHERE 1 = 1"+after+
			" ORDER BY w.updated_at, w.id LIMIT 1 OFFSET ?", append(slices.Clone(args), updatedLogSweepChunk-1)...).Scan(ctx, &end); err != nil {
			return err
		}
		upTo := ""
		if len(end) > 0 {
			upTo, args = " AND (w.updated_at, w.id) <= (?, ?)", append(args, end[0].T, end[0].ID)
		}
		var stale []logEntry
		if err := conn.NewRaw("SELECT CAST(w.updated_at AS TEXT) AS updated_at, w.id FROM users_updated_log AS w WHERE 1 = 1"+after+upTo+inSet+
			" AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = w.id AND +u.updated_at = +w.updated_at) ORDER BY w.updated_at, w.id", args...).Scan(ctx, &stale); err != nil {
			return err
		}
		if len(stale) > 0 {
			if err := conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				// Not checked again: a stale entry cannot become its
				// account's again (that would take the account's update
				// time going back to the same microsecond), and a second
				// look-up of each account cost about a second per 100,000.
				_, err := tx.NewRaw(`DELETE FROM users_updated_log WHERE (updated_at, id) IN (SELECT j.value ->> 0, j.value ->> 1 FROM json_each(?) AS j)`, logEntriesJSON(stale)).Exec(ctx)
				return err
			}); err != nil {
				return err
			}
		}
		if len(end) == 0 {
			break
		}
		from = &end[0]
	}
	if len(pending) == 0 {
		return nil
	}
	_, err = conn.NewRaw("DELETE FROM users_updated_log_pending WHERE id IN (?)", bun.List(pending)).Exec(ctx)
	return err
}

// logEntry is an entry of users_updated_log, its time as the text stored
// (read through a CAST: the driver turns a TIMESTAMP column into a
// time.Time, which would not come back as the same text).
type logEntry struct {
	T  string `bun:"updated_at"`
	ID int64  `bun:"id"`
}

// logEntriesJSON is entries as a JSON array of [time, id] pairs.
func logEntriesJSON(entries []logEntry) string {
	b, _ := json.Marshal(func() [][2]any {
		out := make([][2]any, len(entries))
		for i, e := range entries {
			out[i] = [2]any{e.T, e.ID}
		}
		return out
	}())
	return string(b)
}

// closedDB reports an error of a database closed under a background job.
func closedDB(err error) bool {
	return errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed")
}
