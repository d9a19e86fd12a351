package service

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// ErrLastAdminAccess refuses an account change that would leave no active
// administrator able to sign in by any enabled method. It shares the code
// of ErrNoAdminPath (the settings and provider refusal); the words say what
// to do about an account.
var ErrLastAdminAccess = problem.New(problem.Conflict, "would_lock_out_admins", "This is the last administrator who can sign in by an enabled method; after this change nobody could reach the console. First make sure another active administrator can sign in (a password with username or email sign-in on, or a linked provider).")

// adminAccessLock is the PostgreSQL advisory-lock key of the rule "an
// administrator can still sign in": every change that can take away an
// administrator's way in (sign-in settings, providers, accounts,
// identities) holds it until its transaction ends.
const adminAccessLock = 0x67617465686f7573 // "gatehous"

// lockAdminAccess makes the changes that can take away an administrator's
// way in wait for each other, so that their checks see each other's
// writes. SQLite transactions are serial already (BEGIN IMMEDIATE); on
// PostgreSQL two READ COMMITTED transactions could otherwise each remove
// one of the last two administrators, each still seeing the other. Outside
// a transaction (a bulk preview) there is nothing to hold.
func lockAdminAccess(ctx context.Context, db bun.IDB) error {
	if _, ok := db.(bun.Tx); !ok || db.Dialect().Name() != dialect.PG {
		return nil
	}
	_, err := db.NewRaw("SELECT pg_advisory_xact_lock(?)", int64(adminAccessLock)).Exec(ctx)
	return err
}

// activeAdminsWhere is the active administrators and super
// administrators (the user table aliased u).
const activeAdminsWhere = "u.role IN ('" + models.RoleAdmin + "', '" + models.RoleSuperAdmin + "') AND u.status = '" + models.StatusActive + "'"

// activeAdmins selects the active administrators and super administrators.
func activeAdmins(db bun.IDB) *bun.SelectQuery {
	return db.NewSelect().Model((*models.User)(nil)).Where(activeAdminsWhere)
}

// ableAdmins selects the active administrators who can sign in by at least
// one path enabled in signin, or with a passkey (wayInWhere).
func ableAdmins(db bun.IDB, signin SigninSettings) *bun.SelectQuery {
	ways, args := wayInWhere(signin)
	return activeAdmins(db).Where("("+ways+")", args...)
}

// adminAccess is the guard "an administrator can still sign in by some
// enabled path" for account changes (role, status, delete, email, identity
// unlink; single and bulk). beginAdminAccess takes the lock and notes
// whether anybody can sign in before the change; noteAble, also before the
// change is written, notes which of the accounts the change may take out
// can; check, after the change is written in the same transaction (or, in
// a preview, given the accounts the change would take out of the
// administrators), refuses a change after which nobody could while before
// somebody could.
type adminAccess struct {
	settings *Settings
	// anyBefore: some administrator could sign in before the change.
	anyBefore bool
	// able holds the accounts noteAble found able to sign in before the
	// change (of those it was asked about).
	able map[int64]bool
	// signin is the sign-in settings group as the transaction read it in
	// beginAdminAccess: an account change does not write settings, so
	// check needs no second read.
	signin *SigninSettings
}

// beginAdminAccess locks (see lockAdminAccess) and notes whether any
// administrator can sign in. It reads one such account at most, not all
// of them: at a million accounts with some 4,900 administrators able to
// sign in, reading every one cost 16-19 ms of each single status, role or
// email change (BenchmarkSingleChange) and 0.1 s of a bulk one.
func beginAdminAccess(ctx context.Context, tx bun.IDB, settings *Settings) (*adminAccess, error) {
	if err := lockAdminAccess(ctx, tx); err != nil {
		return nil, err
	}
	g := &adminAccess{settings: settings, able: map[int64]bool{}}
	var err error
	if g.anyBefore, err = g.anyAble(ctx, tx); err != nil {
		return nil, err
	}
	return g, nil
}

// signinOf reads the sign-in settings through tx, once per guard.
func (g *adminAccess) signinOf(ctx context.Context, tx bun.IDB) (SigninSettings, error) {
	if g.signin != nil {
		return *g.signin, nil
	}
	signin, _, err := getGroup[SigninSettings](ctx, g.settings, tx, GroupSignin, false)
	if err != nil {
		return signin, err
	}
	g.signin = &signin
	return signin, nil
}

// anyAble reports whether some administrator can sign in now (a prepared
// statement: every change that touches access runs it, before and after).
func (g *adminAccess) anyAble(ctx context.Context, tx bun.IDB) (bool, error) {
	signin, err := g.signinOf(ctx, tx)
	if err != nil {
		return false, err
	}
	where, args := ableAdminsWhere(signin)
	var ok bool
	err = g.settings.stmts.QueryRow(ctx, tx, "SELECT EXISTS (SELECT 1 FROM users AS u WHERE "+where+" LIMIT 1)", args, &ok)
	return ok, err
}

// noteAble notes which of the accounts ids can sign in, for canSignIn. It
// must run before the change is written, in its transaction.
func (g *adminAccess) noteAble(ctx context.Context, tx bun.IDB, ids ...int64) error {
	if !g.anyBefore {
		return nil // none of them can
	}
	signin, err := g.signinOf(ctx, tx)
	if err != nil {
		return err
	}
	for start := 0; start < len(ids); start += 500 {
		var able []int64
		if err := ableAdmins(tx, signin).Where("u.id IN (?)", bun.List(ids[start:min(start+500, len(ids))])).Column("u.id").Scan(ctx, &able); err != nil {
			return err
		}
		for _, id := range able {
			g.able[id] = true
		}
	}
	return nil
}

// ableAdminsWhere is ableAdmins's condition as SQL text with ? arguments
// (for prepared statements).
func ableAdminsWhere(signin SigninSettings) (string, []any) {
	ways, args := wayInWhere(signin)
	return activeAdminsWhere + " AND (" + ways + ")", args
}

// canSignIn reports whether the account could sign in before the change
// (noteAble must have been asked about it).
func (g *adminAccess) canSignIn(id int64) bool { return g.able[id] }

// check refuses (ErrLastAdminAccess) when some administrator could sign in
// before and none can now, not counting the accounts in leaving. One such
// administrator is enough, so it reads at most one (a million accounts
// hold thousands of administrators, and reading them all after every bulk
// change cost a quarter of a second).
func (g *adminAccess) check(ctx context.Context, tx bun.IDB, leaving ...int64) error {
	if !g.anyBefore {
		return nil
	}
	signin, err := g.signinOf(ctx, tx)
	if err != nil {
		return err
	}
	var ok bool
	if len(leaving) == 0 {
		if ok, err = g.anyAble(ctx, tx); err != nil {
			return err
		}
	} else {
		q := ableAdmins(tx, signin).Where("u.id NOT IN (?)", bun.List(leaving))
		if ok, err = q.Column("u.id").Limit(1).Exists(ctx); err != nil {
			return err
		}
	}
	if ok {
		return nil
	}
	return ErrLastAdminAccess
}

// leavesAdmins reports whether a change of role and status (or deleting)
// takes an account out of the active administrators.
func leavesAdmins(u *models.User, newRole, newStatus string, deleting bool) bool {
	was := models.RoleRank(u.Role) >= models.RoleRank(models.RoleAdmin) && u.Status == models.StatusActive
	stays := !deleting && models.RoleRank(newRole) >= models.RoleRank(models.RoleAdmin) && newStatus == models.StatusActive
	return was && !stays
}

// emailSignInAddress reports whether u has an address email sign-in finds
// (see byEmail).
func emailSignInAddress(u *models.User) bool {
	return u.Email != nil && (u.EmailVerifiedAt != nil || u.EmailVouched)
}
