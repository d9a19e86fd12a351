package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ExportRow is one account as the CSV export writes it: only the columns
// the file has, times already formatted as RFC 3339 in UTC (whole
// seconds; "" for none).
type ExportRow struct {
	ID                    int64
	PublicID              string
	Username              string
	DisplayName           string
	Email                 string
	EmailVerified         bool
	Phone                 string
	Language              string
	Timezone              string
	Role                  string
	Status                string
	StatusReason          string
	Balance               int64
	PlanName              string
	SubscriptionStatus    string // none, active, expired
	SubscriptionExpiresAt string
	TwoFactor             bool
	LockedUntil           string // only while the lock holds
	LastLoginAt           string
	CreatedAt             string
	UpdatedAt             string
}

// ExportUsersAfter calls each for up to limit accounts matching f that
// come after k in order s (from the first when k is nil), and returns how
// many it passed and the key of the last one: the export's chunks.
//
// Without search text it reads only the file's columns, scanned by hand
// into one reused row, with SQLite's times taken as the text they are
// stored as and reformatted without parsing: mapping whole accounts
// through bun cost about twice as much per row (a million rows took 25 s).
// A text search goes through the search's own plan (UsersAfter).
func ExportUsersAfter(ctx context.Context, db bun.IDB, f UserFilter, s UserSort, k *UserKey, limit int, now time.Time, each func(*ExportRow) error) (*UserKey, int, error) {
	if searchText(f.Q) != "" {
		users, err := UsersAfter(ctx, db, f, s, k, limit, now)
		if err != nil {
			return nil, 0, err
		}
		plans := planNames{db: db}
		var row ExportRow
		for i := range users {
			if err := exportRowOf(&users[i], now, &row); err != nil {
				return nil, 0, err
			}
			if row.PlanName, err = plans.name(ctx, users[i].PlanID); err != nil {
				return nil, 0, err
			}
			if err := each(&row); err != nil {
				return nil, 0, err
			}
		}
		if len(users) == 0 {
			return nil, 0, nil
		}
		last := KeyOf(&users[len(users)-1], s)
		return &last, len(users), nil
	}
	lp, _, _, err := planList(ctx, db, f, s, limit, false, now)
	if err != nil || lp.empty {
		return nil, 0, err
	}
	unindexed := IsSQLite(db) && lp.driver != "" && !lp.sorted
	via := viaOf(unindexed)
	if usesUpdatedLog(db, s) && !unindexed && !lp.sorted && !lp.covered {
		via = viaLog // update order: the update-time log
	}
	var segs []segment
	if k == nil {
		segs = []segment{nil}
	} else {
		for _, seg := range seekSegmentsVia(s, *k, via) {
			segs = append(segs, seg)
		}
	}
	x := newExportScan(db, s)
	n := 0
	for _, seg := range segs {
		q := db.NewSelect().Model((*User)(nil))
		if via == viaLog {
			q = fromUpdatedLog(q, f)
		}
		q = applyTerms(q, f, now, lp).ColumnExpr(x.columns(), now, now)
		if seg != nil {
			q = seg(q)
		}
		q = orderUsers(q, s, via).Limit(int64(limit - n))
		got, err := x.run(ctx, q, each)
		n += got
		if err != nil {
			return nil, n, err
		}
		if n >= limit {
			break
		}
	}
	if n == 0 {
		return nil, 0, nil
	}
	last, err := x.lastKey()
	return last, n, err
}

// exportScan reads export rows: the column list, the scan targets and the
// last row's sort key.
type exportScan struct {
	db     bun.IDB
	sqlite bool
	sort   UserSort
	plans  planNames
	row    ExportRow

	email              sql.NullString
	planID             sql.NullInt64
	emailOK, twoFactor int64
	expires, locked    exportTime
	lastLogin, created exportTime
	updated            exportTime
}

func newExportScan(db bun.IDB, s UserSort) *exportScan {
	return &exportScan{db: db, sqlite: IsSQLite(db), sort: s, plans: planNames{db: db}}
}

// columns is the select list; its two arguments are the time now (the
// subscription's state and whether the lock holds).
func (x *exportScan) columns() string {
	// On SQLite a bare time column is parsed by the driver; as an
	// expression (unary +, a no-op) it comes back as its stored text.
	t := "u."
	if x.sqlite {
		t = "+u."
	}
	return "u.id, u.public_id, u.username, u.display_name, u.email, " +
		"CASE WHEN u.email IS NOT NULL AND u.email_verified_at IS NOT NULL THEN 1 ELSE 0 END, " +
		"u.phone, u.language, u.timezone, u.role, u.status, u.status_reason, u.balance, u.plan_id, " +
		"CASE WHEN u.plan_id IS NULL THEN 'none' WHEN u.subscription_expires_at IS NOT NULL AND u.subscription_expires_at <= ? THEN 'expired' ELSE 'active' END, " +
		t + "subscription_expires_at, CASE WHEN u.totp_enabled_at IS NOT NULL THEN 1 ELSE 0 END, " +
		"CASE WHEN u.locked_until > ? THEN " + t + "locked_until END, " +
		t + "last_login_at, " + t + "created_at, " + t + "updated_at"
}

func (x *exportScan) run(ctx context.Context, q *bun.SelectQuery, each func(*ExportRow) error) (int, error) {
	rows, err := x.db.QueryContext(ctx, q.String())
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	r := &x.row
	dest := []any{&r.ID, &r.PublicID, &r.Username, &r.DisplayName, &x.email, &x.emailOK, &r.Phone, &r.Language, &r.Timezone,
		&r.Role, &r.Status, &r.StatusReason, &r.Balance, &x.planID, &r.SubscriptionStatus, &x.expires, &x.twoFactor, &x.locked,
		&x.lastLogin, &x.created, &x.updated}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		r.Email, r.EmailVerified, r.TwoFactor = x.email.String, x.emailOK == 1, x.twoFactor == 1
		r.PlanName = ""
		if x.planID.Valid {
			var err error
			if r.PlanName, err = x.plans.name(ctx, &x.planID.Int64); err != nil {
				return n, err
			}
		}
		r.SubscriptionExpiresAt, r.LockedUntil = x.expires.text, x.locked.text
		r.LastLoginAt, r.CreatedAt, r.UpdatedAt = x.lastLogin.text, x.created.text, x.updated.text
		if err := each(r); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// lastKey is the sort key of the last row read.
func (x *exportScan) lastKey() (*UserKey, error) {
	k := UserKey{Sort: x.sort, ID: x.row.ID}
	var t exportTime
	switch x.sort.Key {
	case "display_name":
		k.S = x.row.DisplayName
	case "last_login":
		t = x.lastLogin
	case "updated":
		t = x.updated
	}
	if x.sort.Key == "last_login" || x.sort.Key == "updated" {
		if !t.valid {
			k.Null = true
		} else {
			v, err := t.time()
			if err != nil {
				return nil, err
			}
			k.T = v
		}
	}
	return &k, nil
}

// exportTime scans a time column: a time.Time (PostgreSQL) or SQLite's
// stored text, kept as it came for the sort key and formatted for the file.
type exportTime struct {
	valid bool
	raw   string
	t     time.Time
	text  string
}

// storedTimeLayout is how bun writes times to SQLite (always UTC).
const storedTimeLayout = "2006-01-02 15:04:05.999999-07:00"

func (e *exportTime) Scan(src any) error {
	e.valid, e.raw, e.text = src != nil, "", ""
	switch v := src.(type) {
	case nil:
		return nil
	case time.Time:
		e.t = v
		e.text = v.UTC().Format(time.RFC3339)
		return nil
	case []byte:
		e.raw = string(v)
	case string:
		e.raw = v
	default:
		return fmt.Errorf("models: time column holds %T", src)
	}
	// The stored form in UTC: "2006-01-02 15:04:05[.ffffff]+00:00" is
	// "2006-01-02T15:04:05Z" in the file, with no parsing.
	if r := e.raw; len(r) >= 25 && r[4] == '-' && r[10] == ' ' && r[13] == ':' && (r[19] == '.' || r[19] == '+') && r[len(r)-6:] == "+00:00" {
		var b [20]byte
		copy(b[:], r[:19])
		b[10], b[19] = 'T', 'Z'
		e.text = string(b[:])
		return nil
	}
	t, err := e.time()
	if err != nil {
		return err
	}
	e.text = t.UTC().Format(time.RFC3339)
	return nil
}

// time is the scanned time itself.
func (e *exportTime) time() (time.Time, error) {
	if e.raw == "" {
		return e.t, nil
	}
	for _, layout := range []string{storedTimeLayout, "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, e.raw); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("models: cannot read the time %q", e.raw)
}

// planNames looks plan names up by id, each once per export.
type planNames struct {
	db    bun.IDB
	names map[int64]string
}

func (p *planNames) name(ctx context.Context, id *int64) (string, error) {
	if id == nil {
		return "", nil
	}
	if n, ok := p.names[*id]; ok {
		return n, nil
	}
	if p.names == nil {
		p.names = map[int64]string{}
	}
	var names []string
	if err := p.db.NewSelect().Model((*Plan)(nil)).Column("name").Where("id = ?", *id).Scan(ctx, &names); err != nil {
		return "", err
	}
	n := ""
	if len(names) > 0 {
		n = names[0]
	}
	p.names[*id] = n
	return n, nil
}

// exportRowOf fills row from a whole account.
func exportRowOf(u *User, now time.Time, row *ExportRow) error {
	tc := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	*row = ExportRow{ID: u.ID, PublicID: u.PublicID, Username: u.Username, DisplayName: u.DisplayName, Email: derefStr(u.Email),
		EmailVerified: u.Email != nil && u.EmailVerifiedAt != nil, Phone: u.Phone, Language: u.Language, Timezone: u.Timezone,
		Role: u.Role, Status: u.Status, StatusReason: u.StatusReason, Balance: u.Balance, SubscriptionStatus: "none",
		SubscriptionExpiresAt: tc(u.SubscriptionExpiresAt), TwoFactor: u.TwoFactorEnabled(), LastLoginAt: tc(u.LastLoginAt),
		CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: u.UpdatedAt.UTC().Format(time.RFC3339)}
	if u.LockedAt(now) {
		row.LockedUntil = tc(u.LockedUntil)
	}
	if u.PlanID != nil {
		row.SubscriptionStatus = "active"
		if u.SubscriptionExpiresAt != nil && !u.SubscriptionExpiresAt.After(now) {
			row.SubscriptionStatus = "expired"
		}
	}
	return nil
}

func derefStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
