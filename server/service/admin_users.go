package service

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Audit actions of the admin console.
const (
	ActionUserCreated        = "user.created"
	ActionUserUpdated        = "user.updated"
	ActionUserStatusChanged  = "user.status_changed"
	ActionUserRoleChanged    = "user.role_changed"
	ActionUserDeleted        = "user.deleted"
	ActionUserBalanceChanged = "user.balance_changed"
	ActionUserUnlocked       = "user.unlocked"
	ActionUserSessionRevoked = "user.sessions_revoked"
)

// Refusals of the protection rules. The console explains each code.
var (
	ErrSuperAdminProtected = problem.New(problem.Forbidden, "super_admin_protected", "Only a super administrator may change a super administrator.")
	ErrGrantSuperAdmin     = problem.New(problem.Forbidden, "super_admin_grant", "Only a super administrator may grant the super administrator role.")
	ErrSelfChange          = problem.New(problem.Conflict, "self_change", "You cannot change your own role or status, act on your own security, or delete yourself here; use your account pages.")
	ErrLastSuperAdmin      = problem.New(problem.Conflict, "last_super_admin", "This would leave no active super administrator.")
)

// Users is what administrators do to accounts. Every rule is checked in
// the same transaction as the write it guards.
type Users struct {
	svc *Services
}

// guard checks the protection rules for actor changing target. selfRule
// says whether acting on oneself is refused for this change.
func guard(actor Actor, target *models.User, selfRule bool) error {
	if selfRule && actor.User != nil && actor.User.ID == target.ID {
		return ErrSelfChange
	}
	if target.Role == models.RoleSuperAdmin && (actor.User == nil || actor.User.Role != models.RoleSuperAdmin) {
		return ErrSuperAdminProtected
	}
	return nil
}

// loadTarget reads the target inside tx.
func loadTarget(ctx context.Context, tx bun.IDB, publicID string) (*models.User, error) {
	u, err := models.UserByPublicID(ctx, tx, publicID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errNotFound("The account")
	}
	return u, err
}

// UserDetail is an account with its system information.
type UserDetail struct {
	User           *models.User
	ActiveSessions int64
	StatusHistory  []models.AuditEvent
}

// Detail loads an account for the editor.
func (s *Users) Detail(ctx context.Context, publicID string) (*UserDetail, error) {
	return s.detail(ctx, s.svc.DB, publicID)
}

// detail reads the account, its active sessions' count and its status
// history through prepared statements (the answer of every single-account
// change; parsing these statements anew cost about a sixth of a status
// change's CPU).
func (s *Users) detail(ctx context.Context, db bun.IDB, publicID string) (*UserDetail, error) {
	st := s.svc.Stmts
	u, err := models.UserByPublicIDPrepared(ctx, st, db, publicID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errNotFound("The account")
	} else if err != nil {
		return nil, err
	}
	d := &UserDetail{User: u}
	if err := st.QueryRow(ctx, db, activeSessionsQuery, []any{u.ID, s.svc.Now()}, &d.ActiveSessions); err != nil {
		return nil, err
	}
	d.StatusHistory = []models.AuditEvent{}
	err = st.Select(ctx, db, "account_status_history", statusHistory, &d.StatusHistory, u.ID)
	return d, err
}

// activeSessionsQuery counts an account's sessions that have not expired.
const activeSessionsQuery = "SELECT count(*) FROM sessions WHERE user_id = ? AND expires_at > ?"

// statusHistory is the detail's history: the account's last 50 status,
// role and creation rows. target_type names the partial index
// audit_target_user (target_id, id): without it the plan walks every row
// of these actions. The account's id is the statement's one argument.
func statusHistory(db bun.IDB) *bun.SelectQuery {
	return db.NewSelect().Model((*models.AuditEvent)(nil)).
		Where("a.target_type = ?", "user").Where("a.target_id = ?", bun.Safe("?")).
		Where("a.action IN (?)", bun.List([]string{ActionUserStatusChanged, ActionUserCreated, ActionUserRoleChanged, ActionSetupCompleted, ActionUserCreatedByShell})).
		Order("a.id DESC").Limit(50)
}

// Search lists accounts. An exact public ID, email or username typed in
// full comes first on the first page.
func (s *Users) Search(ctx context.Context, f models.UserFilter, sort models.UserSort, page, perPage int) ([]models.User, int64, bool, error) {
	now := s.svc.Now()
	users, total, estimate, err := models.SearchUsers(ctx, s.svc.DB, f, sort, perPage, (page-1)*perPage, now)
	if err != nil || page != 1 || strings.TrimSpace(f.Q) == "" {
		return users, total, estimate, err
	}
	exact, err := models.ExactMatch(ctx, s.svc.DB, f.Q, f, now)
	if errors.Is(err, models.ErrNotFound) {
		return users, total, estimate, nil
	} else if err != nil {
		return nil, 0, false, err
	}
	out := []models.User{*exact}
	for _, u := range users {
		if u.ID != exact.ID {
			out = append(out, u)
		}
	}
	if len(out) > perPage {
		out = out[:perPage]
	}
	if total == 0 {
		total = 1
	}
	return out, total, estimate, nil
}

// mayGrantRole answers ErrGrantSuperAdmin when actor may not give an
// account role: only a super administrator grants super administrator, on
// creation (Create) and on a change (UserPatch) alike.
func mayGrantRole(actor Actor, role string) error {
	if role == models.RoleSuperAdmin && (actor.User == nil || actor.User.Role != models.RoleSuperAdmin) {
		return ErrGrantSuperAdmin
	}
	return nil
}

// Create adds an account. Only a super administrator may create another.
func (s *Users) Create(ctx context.Context, actor Actor, in NewUser) (*models.User, error) {
	if err := mayGrantRole(actor, in.Role); err != nil {
		return nil, err
	}
	if in.Status == "" {
		in.Status = models.StatusActive
	}
	u, err := s.svc.prepareUser(ctx, in, true)
	if err != nil {
		return nil, err
	}
	err = s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := actorStillMayCreate(ctx, tx, actor, in.Role); err != nil {
			return err
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionUserCreated, Actor: actor, Target: u, Details: map[string]any{"role": u.Role, "status": u.Status}})
	})
	return u, err
}

// actorStillMayCreate reads the acting administrator's role and status
// again inside Create's transaction, as the change engine does
// (changeRun.rereadActor): one demoted or suspended by another while the
// request was under way (its session was read with the old role) creates
// nothing, and one demoted to administrator no longer creates a super
// administrator. On PostgreSQL the row is locked (FOR SHARE) until the
// account is created, so a demotion waits for it rather than slipping in
// between this read and the insert; on SQLite the transaction is
// IMMEDIATE, which orders it against the demotion anyway. (Service API
// keys cannot create accounts: the route is for the console only.)
func actorStillMayCreate(ctx context.Context, tx bun.Tx, actor Actor, role string) error {
	if actor.User == nil {
		return nil // the first super administrator (setup) and the command line
	}
	cur := new(models.User)
	q := tx.NewSelect().Model(cur).Column("u.id", "u.role", "u.status").Where("u.id = ?", actor.User.ID)
	if !models.IsSQLite(tx) {
		q = q.For("SHARE OF u")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrActorRefused
		}
		return err
	}
	if cur.Status != models.StatusActive || !models.IsAdminRole(cur.Role) {
		return ErrActorRefused
	}
	fresh := *actor.User
	fresh.Role, fresh.Status = cur.Role, cur.Status
	return mayGrantRole(Actor{User: &fresh}, role)
}

func jsonRaw(s string) any {
	var v any
	_ = jsonUnmarshal([]byte(s), &v)
	return v
}

func equalPtr(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// newBatchID names one bulk run in the audit log.
func newBatchID() string { return "b_" + security.NewToken(9) }

// Page reads one page of matching accounts without counting (exports).
func (s *Users) Page(ctx context.Context, f models.UserFilter, sort models.UserSort, limit, offset int) ([]models.User, error) {
	var users []models.User
	q := models.ApplyUserSort(models.ApplyUserFilter(s.svc.DB.NewSelect().Model(&users).Relation("Plan"), f, s.svc.Now()), sort).Limit(int64(limit)).Offset(int64(offset))
	return users, q.Scan(ctx)
}
