package models

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Session is one signed-in device. The browser holds an opaque token; the
// row stores only its hash. Deleting the row signs the device out at once.
type Session struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID         string    `bun:"id,pk"`
	TokenHash  string    `bun:"token_hash,notnull"`
	UserID     int64     `bun:"user_id,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	LastSeenAt time.Time `bun:"last_seen_at,notnull"`
	ExpiresAt  time.Time `bun:"expires_at,notnull"`
	IP         string    `bun:"ip,notnull"`
	UserAgent  string    `bun:"user_agent,notnull"`
	Method     string    `bun:"method,notnull"`

	// User is loaded only by SessionLookup.
	User *User `bun:"rel:belongs-to,join:user_id=id"`
}

// withPlan completes a session loaded with its account: the account's
// plan, when it has one.
func withPlan(ctx context.Context, db bun.IDB, s *Session) (*Session, error) {
	if s.User == nil || s.User.ID == 0 {
		return nil, ErrNotFound
	}
	if s.User.PlanID != nil {
		s.User.Plan = new(Plan)
		if err := db.NewSelect().Model(s.User.Plan).Where("id = ?", *s.User.PlanID).Scan(ctx); err != nil {
			return nil, notFound(err)
		}
	}
	return s, nil
}

// SessionLookup finds a session and its account by token hash, for every
// authenticated request. Parsing the join (forty-odd columns) took more
// than half of a lookup, so it runs as a prepared statement; and a found
// pair is cached in memory with the auth_epoch counter read before it was
// loaded. A cached pair is used only while the counter still has that
// value: any session ending, any change to an account or a plan, from this
// process or any other, moves the counter (database triggers), so the
// next request goes back to the database. Reading the counter is a
// one-row primary-key read.
type SessionLookup struct {
	db *bun.DB

	mu      sync.Mutex
	find    *sql.Stmt
	epoch   *sql.Stmt
	cache   map[string]cachedSession
	users   map[int64]cachedSession // accounts by ID (User), sess unused
	cacheAt int64                   // the epoch all entries in cache and users were loaded under
}

type cachedSession struct {
	sess Session
	user User
	plan *Plan
}

// sessionCacheMax bounds the cache; it is emptied when full.
const sessionCacheMax = 10_000

// NewSessionLookup prepares lazily, on the first lookup.
func NewSessionLookup(db *bun.DB) *SessionLookup {
	return &SessionLookup{db: db, cache: map[string]cachedSession{}, users: map[int64]cachedSession{}}
}

func (l *SessionLookup) prepared(ctx context.Context) (find, epoch *sql.Stmt, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.find != nil {
		return l.find, l.epoch, nil
	}
	ph := "?"
	if !IsSQLite(l.db) {
		ph = "$1"
	}
	q := l.db.NewSelect().Model((*Session)(nil)).Relation("User").Where("s.token_hash = " + ph).Limit(1)
	if find, err = l.db.DB.PrepareContext(ctx, q.String()); err != nil {
		return nil, nil, err
	}
	if epoch, err = l.db.DB.PrepareContext(ctx, "SELECT n FROM auth_epoch WHERE id = 1"); err != nil {
		find.Close()
		return nil, nil, err
	}
	l.find, l.epoch = find, epoch
	return find, epoch, nil
}

// Find loads the session whose token hashes to hash, with its account
// (and the account's plan). The caller gets its own copies.
func (l *SessionLookup) Find(ctx context.Context, hash string) (*Session, error) {
	find, epochStmt, err := l.prepared(ctx)
	if err != nil {
		return nil, err
	}
	var epoch int64
	if err := epochStmt.QueryRowContext(ctx).Scan(&epoch); err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.cacheAt != epoch {
		clear(l.cache)
		clear(l.users)
		l.cacheAt = epoch
	}
	c, ok := l.cache[hash]
	l.mu.Unlock()
	if ok {
		return c.copy(), nil
	}
	s, err := l.load(ctx, find, hash)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.cacheAt == epoch {
		if len(l.cache) >= sessionCacheMax {
			clear(l.cache)
		}
		c := cachedSession{sess: *s, user: *s.User}
		c.sess.User = nil
		if s.User.Plan != nil {
			p := *s.User.Plan
			c.plan = &p
		}
		l.cache[hash] = c
	}
	l.mu.Unlock()
	return s, nil
}

// User loads the account id (with its plan) as UserByID does, from the
// same epoch-checked cache: the OpenID Provider's refresh grant and
// userinfo read the account of a token on every request. Any change to
// the account or its plan moves auth_epoch, so it is never served stale.
// The caller gets its own copy.
func (l *SessionLookup) User(ctx context.Context, id int64) (*User, error) {
	_, epochStmt, err := l.prepared(ctx)
	if err != nil {
		return nil, err
	}
	var epoch int64
	if err := epochStmt.QueryRowContext(ctx).Scan(&epoch); err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.cacheAt != epoch {
		clear(l.cache)
		clear(l.users)
		l.cacheAt = epoch
	}
	c, ok := l.users[id]
	l.mu.Unlock()
	if ok {
		return c.copy().User, nil
	}
	u, err := UserByID(ctx, l.db, id)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.cacheAt == epoch {
		if len(l.users) >= sessionCacheMax {
			clear(l.users)
		}
		c := cachedSession{user: *u}
		c.user.Plan = nil
		if u.Plan != nil {
			p := *u.Plan
			c.plan = &p
		}
		l.users[id] = c
	}
	l.mu.Unlock()
	return u, nil
}

// Fresh loads the session from the database, bypassing the cache (for a
// decision the cache could get wrong, such as ending an idle session that
// another instance has seen more recently).
func (l *SessionLookup) Fresh(ctx context.Context, hash string) (*Session, error) {
	find, _, err := l.prepared(ctx)
	if err != nil {
		return nil, err
	}
	return l.load(ctx, find, hash)
}

// Touched records in the cache that the session was seen at t.
func (l *SessionLookup) Touched(hash string, t time.Time) {
	l.mu.Lock()
	if c, ok := l.cache[hash]; ok {
		c.sess.LastSeenAt = t
		l.cache[hash] = c
	}
	l.mu.Unlock()
}

func (l *SessionLookup) load(ctx context.Context, find *sql.Stmt, hash string) (*Session, error) {
	rows, err := find.QueryContext(ctx, hash)
	if err != nil {
		return nil, err
	}
	s := new(Session)
	if err := l.db.ScanRows(ctx, rows, s); err != nil {
		return nil, notFound(err)
	}
	return withPlan(ctx, l.db, s)
}

func (c cachedSession) copy() *Session {
	s, u := c.sess, c.user
	if c.plan != nil {
		p := *c.plan
		u.Plan = &p
	}
	s.User = &u
	return &s
}

// AccessToken is a short-lived bearer credential bound to a session.
type AccessToken struct {
	bun.BaseModel `bun:"table:access_tokens,alias:t"`

	ID        string    `bun:"id,pk"`
	TokenHash string    `bun:"token_hash,notnull"`
	SessionID string    `bun:"session_id,notnull"`
	UserID    int64     `bun:"user_id,notnull"`
	Name      string    `bun:"name,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
}

// AccessTokenByHash loads an access token by the hash of its secret.
func AccessTokenByHash(ctx context.Context, db bun.IDB, hash string) (*AccessToken, error) {
	t := new(AccessToken)
	err := db.NewSelect().Model(t).Where("token_hash = ?", hash).Limit(1).Scan(ctx)
	return t, notFound(err)
}

// SessionByID loads a session by ID.
func SessionByID(ctx context.Context, db bun.IDB, id string) (*Session, error) {
	s := new(Session)
	err := db.NewSelect().Model(s).Where("id = ?", id).Scan(ctx)
	return s, notFound(err)
}

// SessionsOfUser lists a user's sessions, newest first.
func SessionsOfUser(ctx context.Context, db bun.IDB, userID int64) ([]Session, error) {
	var out []Session
	err := db.NewSelect().Model(&out).Where("user_id = ?", userID).Order("created_at DESC", "id").Scan(ctx)
	return out, err
}

// DeleteSessionsOfUser removes a user's sessions (and, through the foreign
// key, their access tokens), except the one named by keepID when not empty.
// It returns how many sessions ended.
func DeleteSessionsOfUser(ctx context.Context, db bun.IDB, userID int64, keepID string) (int64, error) {
	q := db.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID)
	if keepID != "" {
		q = q.Where("id <> ?", keepID)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	// Tokens are bound to sessions; delete explicitly too in case the
	// database runs without foreign-key enforcement.
	tq := db.NewDelete().Model((*AccessToken)(nil)).Where("user_id = ?", userID)
	if keepID != "" {
		tq = tq.Where("session_id <> ?", keepID)
	}
	if _, err := tq.Exec(ctx); err != nil {
		return 0, err
	}
	// Ending an account's sessions (a password or second-factor change,
	// "sign out everywhere else") also ends what applications hold for it.
	if err := RevokeFamiliesOfUsers(ctx, db, []int64{userID}, time.Now().UTC(), "sessions_ended"); err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteSession removes one session and its tokens; it reports whether a row existed.
func DeleteSession(ctx context.Context, db bun.IDB, id string) (bool, error) {
	if _, err := db.NewDelete().Model((*AccessToken)(nil)).Where("session_id = ?", id).Exec(ctx); err != nil {
		return false, err
	}
	res, err := db.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteExpiredSessions removes sessions and tokens past their expiry.
func DeleteExpiredSessions(ctx context.Context, db bun.IDB, now time.Time) error {
	if _, err := db.NewDelete().Model((*AccessToken)(nil)).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return err
	}
	_, err := db.NewDelete().Model((*Session)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	return err
}
