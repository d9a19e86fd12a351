package service

// The account-change engine. Every change an administrator makes to
// accounts — one account from its page or many from the list — is a value
// of a type implementing AccountChange (account_changes.go), planned and
// applied here:
//
//   - check validates the value alone (field errors, the right to grant
//     super administrator, the billing mode a billing field belongs to);
//   - plan decides for each locked target: apply (with the role, status,
//     sessions and balance it leads to), no-op (already in that state) or
//     refused with a reason. The rules every kind shares are here, once:
//     super-administrator protection, acting on oneself, the last active
//     super administrator (counted once per batch) and the
//     administrator-sign-in guard (adminAccess);
//   - write stores the planned changes set-based; the engine then ends
//     sessions, writes ledger rows and audits every target in the kind's
//     one shape.
//
// A single-account endpoint is a bulk of one (Users.single): the same
// plan, the same write, the same audit row; a refusal comes back as its
// own error instead of a list.
//
// How to add a change kind or an editable field: see the package comment
// (service.go).

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// AccountChange is one typed change to accounts.
type AccountChange interface {
	// check validates the change itself, before any account is read.
	check(c *changeRun) error
	// selfRule reports whether acting on one's own account is refused.
	selfRule() bool
	// touchesAccess reports whether the change can take away an
	// administrator's way in (role, status, delete, email): such changes
	// hold the administrator-access lock and pass its guard.
	touchesAccess() bool
	// columns lists the users columns plan and audit read beyond the base
	// set (id, public_id, username, role, status).
	columns() []string
	// plan decides for one target: nil effect for a no-op, a
	// *problem.Error for a refusal.
	plan(c *changeRun, u *models.User) (*effect, error)
	// write stores the planned effects, set-based where it can.
	write(ctx context.Context, c *changeRun, tx bun.IDB, planned []*effect) error
	// audit gives the action and details of one target's audit row, and a
	// key under which equal details are encoded once ("" for none).
	audit(p *effect) (action, key string, details map[string]any)
}

// auditKeyer is a change kind whose audit details depend on a key alone
// (a status change's: the old status): auditKey gives the action and key
// that audit would, without building the details, so that a bulk change
// builds and encodes them once per key instead of once per account
// (100,000 maps, 33 MB, in BenchmarkBulkStatusChange).
type auditKeyer interface {
	auditKey(p *effect) (action, key string)
}

// effect is what a change does to one target.
type effect struct {
	u           *models.User // as read, locked, before the change
	role        string       // after
	status      string       // after
	deleted     bool
	endSessions bool
	// ledger is the balance change, when there is one.
	ledger *balanceMove
	// sessions is the number of sessions the change ends (filled by the
	// engine before audit when the kind counts them).
	sessions int64
	extra    map[string]any // kind-specific before/after values
}

type balanceMove struct{ before, after int64 }

// changeRun is one Apply: who acts, why, the settings it sees and the
// transaction (or, in a dry run, the database).
type changeRun struct {
	ctx     context.Context
	db      bun.IDB
	svc     *Services
	actor   Actor
	reason  string
	batch   string
	now     time.Time
	billing BillingSettings
	targets int // how many accounts the change names (1 for a single endpoint)
	single  bool
	lock    models.UserLock // how the targets (and rows planned beside them) are held
	// namesLater: the targets were read without their public IDs and
	// usernames (from an index alone); the write fills them in
	// (updateUsers), refusals look them up.
	namesLater bool
}

// namesFromWrite is a change kind whose write goes through
// changeRun.updateUsers, which fills in the names of the accounts it
// changes: the engine may then read its targets without them.
type namesFromWrite interface {
	namesFromWrite()
}

// updateUsers is models.UpdateUsers for the planned targets; when the
// targets were read without their names it takes them from the rows it
// writes.
func (c *changeRun) updateUsers(ctx context.Context, tx bun.IDB, planned []*effect, set func(q *bun.UpdateQuery) *bun.UpdateQuery) error {
	if !c.namesLater {
		return models.UpdateUsers(ctx, tx, ids(planned), c.now, set)
	}
	return models.UpdateUsersNamed(ctx, tx, ids(planned), c.now, set, func(n models.UserName) { nameEffect(planned, n) })
}

// updateUsersSet is updateUsers for a change that sets columns to values
// (cols[i] = vals[i]): one prepared statement (models.UpdateUsersSet).
func (c *changeRun) updateUsersSet(ctx context.Context, tx bun.IDB, planned []*effect, cols []string, vals ...any) error {
	var named func(models.UserName)
	if c.namesLater {
		named = func(n models.UserName) { nameEffect(planned, n) }
	}
	return models.UpdateUsersSet(ctx, c.svc.Stmts, tx, ids(planned), c.now, cols, vals, named)
}

// nameEffect fills in the names of the planned target n.ID (planned is in
// id order).
func nameEffect(planned []*effect, n models.UserName) {
	if i, ok := slices.BinarySearchFunc(planned, n.ID, func(e *effect, id int64) int { return cmp.Compare(e.u.ID, id) }); ok {
		planned[i].u.PublicID, planned[i].u.Username = n.PublicID, n.Username
	}
}

// ApplyOptions are a bulk run's switches.
type ApplyOptions struct {
	DryRun      bool
	SkipRefused bool
	Reason      string
	// trustActor plans with the actor as given, without reading its row
	// again (rereadActor): for tests that need an actor the database does
	// not count (export_test.go), never for a request.
	trustActor bool
}

// ErrActorRefused answers a change whose acting account, read again under
// the engine's lock, may no longer make changes to accounts: it was
// suspended, deactivated, deleted or demoted below administrator after its
// session was read at the start of the request.
var ErrActorRefused = problem.New(problem.Forbidden, "forbidden", "Your account may no longer make this change: its role or status changed while the request was under way. Nothing was changed.")

// rereadActor reads the acting account's role and status again, inside the
// transaction and after the targets are locked, and plans with them: the
// actor in the request's context is the session's view from before the
// lock, and another administrator may have demoted or suspended the
// account in between. An account that is no longer an active
// administrator is refused as a whole (ErrActorRefused); one whose role
// changed is checked again with its current role (check: may it grant
// super administrator?), and plan then applies the super-administrator
// rules with that role. A service API key is read again too: one revoked
// or expired after the request authenticated answers ErrInvalidAPIKey (as
// it would a moment later) and changes nothing.
//
// On PostgreSQL the read sees every change committed before the targets'
// locks were granted; the actor's own row is locked with the targets when
// it is a super administrator and the change touches administrator
// access, and otherwise read without a lock (a lock taken here, after the
// targets', could cross another change's locks and deadlock).
func (c *changeRun) rereadActor(ch AccountChange) error {
	u := c.actor.User
	if u == nil {
		if k := c.actor.Key; k != nil {
			return keyStillValid(c.ctx, c.db, k.ID, c.now)
		}
		return nil
	}
	role, status, err := models.ActorRoleStatus(c.ctx, c.svc.Stmts, c.db, u.ID)
	if errors.Is(err, models.ErrNotFound) {
		return ErrActorRefused
	}
	if err != nil {
		return err
	}
	if status != models.StatusActive || !models.IsAdminRole(role) {
		return ErrActorRefused
	}
	if role == u.Role && status == u.Status {
		return nil
	}
	fresh := *u
	fresh.Role, fresh.Status = role, status
	c.actor.User = &fresh
	return ch.check(c)
}

// Targets names the accounts of a change: public IDs or a filter.
type Targets struct {
	PublicIDs []string
	Filter    *models.UserFilter
}

// baseColumns are read for every target; nameColumns too, unless the
// change kind names its targets from its write (namesFromWrite) and a
// filter selects them, so that a bulk change by role or status plans from
// the (role, status, ...) index without reading the table.
var (
	baseColumns = []string{"id", "role", "status"}
	nameColumns = []string{"public_id", "username"}
)

// Apply plans and (unless a dry run) applies a change to the targets in one
// transaction: the targets are read under a row lock (PostgreSQL) or
// inside the immediate transaction (SQLite), every rule is checked against
// what was read, and all planned changes are written, or none.
func (s *Users) Apply(ctx context.Context, actor Actor, t Targets, ch AccountChange, o ApplyOptions) (*BulkResult, error) {
	var res *BulkResult
	run := func(ctx context.Context, db bun.IDB) error {
		var err error
		res, _, err = s.apply(ctx, db, actor, t, ch, o, false)
		return err
	}
	var err error
	switch {
	case o.DryRun:
		err = run(ctx, s.svc.DB)
	case t.Filter != nil || len(t.PublicIDs) >= 1000:
		err = models.RunBulkTx(ctx, s.svc.DB, func(ctx context.Context, tx bun.Tx) error { return run(ctx, tx) })
	default:
		err = s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error { return run(ctx, tx) })
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// single applies a change to one account inside tx: a bulk of one whose
// refusal is returned as its error.
func (s *Users) single(ctx context.Context, tx bun.IDB, actor Actor, publicID string, ch AccountChange, reason string) ([]*effect, error) {
	_, planned, err := s.apply(ctx, tx, actor, Targets{PublicIDs: []string{publicID}}, ch, ApplyOptions{Reason: reason}, true)
	return planned, err
}

func (s *Users) apply(ctx context.Context, db bun.IDB, actor Actor, t Targets, ch AccountChange, o ApplyOptions, single bool) (*BulkResult, []*effect, error) {
	c := &changeRun{ctx: ctx, db: db, svc: s.svc, actor: actor, reason: strings.TrimSpace(o.Reason), now: s.svc.Now(), targets: len(t.PublicIDs), single: single}
	if t.Filter != nil {
		c.targets = MaxBulkTargets
	}
	var err error
	if c.billing, _, err = getGroup[BillingSettings](ctx, s.svc.Settings, db, GroupBilling, false); err != nil {
		return nil, nil, err
	}
	if err := ch.check(c); err != nil {
		return nil, nil, err
	}
	var access *adminAccess
	if ch.touchesAccess() {
		if access, err = beginAdminAccess(ctx, db, s.svc.Settings); err != nil {
			return nil, nil, err
		}
	}
	cols := append(slices.Clone(baseColumns), ch.columns()...)
	if _, ok := ch.(namesFromWrite); ok && t.Filter != nil && !single {
		c.namesLater = true
	} else {
		cols = append(cols, nameColumns...)
	}
	c.lock = userLock(db, o.DryRun, access != nil)
	if p, ok := ch.(preLocker); ok && c.lock != models.ReadOnly {
		if err := p.preLock(c, t); err != nil {
			return nil, nil, err
		}
	}
	targets, refused, err := s.lockTargets(ctx, db, t, cols, c.lock)
	if err != nil {
		return nil, nil, err
	}
	if !o.trustActor {
		if err := c.rereadActor(ch); err != nil {
			return nil, nil, err
		}
	}
	if p, ok := ch.(preparer); ok {
		if err := p.prepare(c, targets); err != nil {
			return nil, nil, err
		}
	}
	res := &BulkResult{DryRun: o.DryRun, Matched: len(targets) + len(refused), Refused: refused}
	if single && len(refused) > 0 {
		return nil, nil, errNotFound("The account")
	}
	planned, more, err := s.plan(ctx, db, c, ch, targets, access)
	if err != nil {
		return nil, nil, err
	}
	res.Refused = append(res.Refused, more...)
	res.Changed = len(planned)
	if single && len(more) > 0 {
		return nil, nil, more[0].err
	}
	if o.DryRun {
		return res, planned, nil
	}
	if len(res.Refused) > 0 && !o.SkipRefused {
		e := problem.New(problem.Conflict, "bulk_refused", "Some of the selected accounts cannot be changed; nothing was changed. Review the list, or apply to the others only.")
		e.Extra = map[string]any{"refused": res.Refused, "changed": res.Changed}
		return nil, nil, e
	}
	if len(planned) == 0 {
		return res, planned, nil
	}
	if !single {
		res.BatchID = newBatchID()
		c.batch = res.BatchID
	}
	if err := s.write(ctx, db, c, ch, planned); err != nil {
		return nil, nil, err
	}
	// A change of address (here or, through a release, on another account)
	// can take away the last way in that the plan could not foresee.
	if access != nil {
		if err := access.check(ctx, db); err != nil {
			return nil, nil, err
		}
	}
	return res, planned, nil
}

// lockTargets reads the targets under lock (models.LockUsers: one
// statement, in id order, with the super administrators when the change
// touches administrator access). Unknown public IDs come back as not_found
// refusals.
func (s *Users) lockTargets(ctx context.Context, db bun.IDB, t Targets, cols []string, lock models.UserLock) ([]models.User, []BulkRefusal, error) {
	refused := []BulkRefusal{}
	if t.Filter != nil {
		out, err := s.filterTargets(ctx, db, *t.Filter, cols, lock)
		return out, refused, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, id := range t.PublicIDs {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	// Unlocked reads go in parts; a locking read takes every row at once,
	// so that the rows are locked in one id order.
	chunk := 500
	if lock != models.ReadOnly {
		chunk = max(len(ids), 1)
	}
	var out []models.User
	found := map[string]bool{}
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		var got []models.User
		var err error
		if len(part) == 1 {
			// A single change (and a bulk of one): a prepared statement.
			got, err = models.LockUserPrepared(ctx, s.svc.Stmts, db, part[0], cols, lock)
		} else {
			got, err = models.LockUsers(ctx, db, models.UsersByPublicIDs(db, part), cols, lock, len(part))
		}
		if err != nil {
			return nil, nil, err
		}
		for _, u := range got {
			found[u.PublicID] = true
		}
		out = append(out, got...)
	}
	for _, id := range ids {
		if !found[id] {
			refused = append(refused, BulkRefusal{PublicID: id, Code: "not_found", Message: "No such account."})
		}
	}
	slices.SortFunc(out, func(a, b models.User) int { return cmp.Compare(a.ID, b.ID) })
	return out, refused, nil
}

// filterTargets reads the accounts a filter matches. A filter that matches
// a large share of the accounts reads the table in order on SQLite (the
// planner would otherwise go through an index and fetch each row at
// random).
func (s *Users) filterTargets(ctx context.Context, db bun.IDB, f models.UserFilter, cols []string, lock models.UserLock) ([]models.User, error) {
	now := s.svc.Now()
	expected, estimate, err := models.CountUsersMatching(ctx, db, f, now)
	if err != nil {
		return nil, err
	}
	all, err := models.CountAllUsers(ctx, db)
	if err != nil {
		return nil, err
	}
	q := db.NewSelect().Model((*models.User)(nil))
	plan := models.PlanIndex
	// The targets' rows are read through the (role, status, ...) index
	// when that index holds every column read and the filter tests role
	// and status only; else a filter that matches many accounts reads the
	// table in order.
	covered := !slices.ContainsFunc(cols, func(c string) bool { return !slices.Contains(baseColumns, c) }) &&
		f == models.UserFilter{Role: f.Role, Status: f.Status} && (f.Role != "" || f.Status != "")
	if models.IsSQLite(db) && !covered && (estimate || expected*20 > all) {
		q, plan = q.ModelTableExpr("users AS u NOT INDEXED"), models.PlanDefault
	}
	q = models.ApplyUserFilterPlan(q, f, now, plan)
	out, err := models.LockUsers(ctx, db, q, cols, lock, int(min(expected, MaxBulkTargets))+1)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxBulkTargets {
		return nil, &problem.Error{Kind: problem.TooLarge, Code: "too_many_targets", Message: "The filter matches more than 200000 accounts; narrow it down."}
	}
	slices.SortFunc(out, func(a, b models.User) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// plan sorts targets into effects and refusals. Targets already in the
// requested state are neither.
func (s *Users) plan(ctx context.Context, db bun.IDB, c *changeRun, ch AccountChange, targets []models.User, access *adminAccess) ([]*effect, []BulkRefusal, error) {
	planned := make([]*effect, 0, len(targets))
	refused := []BulkRefusal{}
	refuse := func(u *models.User, err error) error {
		var pe *problem.Error
		if !errors.As(err, &pe) {
			return err
		}
		refused = append(refused, BulkRefusal{PublicID: u.PublicID, Username: u.Username, Code: pe.Code, Message: pe.Message, err: pe, id: u.ID})
		return nil
	}
	for i := range targets {
		u := &targets[i]
		if err := guard(c.actor, u, ch.selfRule()); err != nil {
			_ = refuse(u, err)
			continue
		}
		e, err := ch.plan(c, u)
		if err != nil {
			if err := refuse(u, err); err != nil {
				return nil, nil, err
			}
			continue
		}
		if e == nil {
			continue
		}
		e.u = u
		if e.role == "" {
			e.role = u.Role
		}
		if e.status == "" {
			e.status = u.Status
		}
		planned = append(planned, e)
	}
	// The last active super administrator stays: counted once per batch,
	// so that a batch cannot take out the last two together.
	var leaving []int
	for i, e := range planned {
		if e.u.Role == models.RoleSuperAdmin && e.u.Status == models.StatusActive && (e.deleted || e.role != models.RoleSuperAdmin || e.status != models.StatusActive) {
			leaving = append(leaving, i)
		}
	}
	if len(leaving) > 0 {
		n, err := models.CountActiveSuperAdmins(ctx, db)
		if err != nil {
			return nil, nil, err
		}
		if n-int64(len(leaving)) < 1 {
			planned, refused = dropEffects(planned, refused, leaving, ErrLastSuperAdmin)
		}
	}
	// The last administrators who can sign in stay: when the change would
	// take out every one of them, each of them is refused.
	if access != nil {
		var leaving []int64
		for _, e := range planned {
			if leavesAdmins(e.u, e.role, e.status, e.deleted) {
				leaving = append(leaving, e.u.ID)
			}
		}
		if err := access.noteAble(ctx, db, leaving...); err != nil {
			return nil, nil, err
		}
		var cutOff []int
		var cutOffIDs []int64
		for i, e := range planned {
			if leavesAdmins(e.u, e.role, e.status, e.deleted) && access.canSignIn(e.u.ID) {
				cutOff = append(cutOff, i)
				cutOffIDs = append(cutOffIDs, e.u.ID)
			}
		}
		if len(cutOff) > 0 {
			err := access.check(ctx, db, cutOffIDs...)
			if errors.Is(err, ErrLastAdminAccess) {
				planned, refused = dropEffects(planned, refused, cutOff, ErrLastAdminAccess)
			} else if err != nil {
				return nil, nil, err
			}
		}
	}
	if c.namesLater && len(refused) > 0 {
		// Targets read without their names: the refused ones are looked up.
		at := make(map[int64]int, len(refused))
		list := make([]int64, len(refused))
		for i, r := range refused {
			at[r.id], list[i] = i, r.id
		}
		if err := models.UserNamesOf(ctx, db, list, func(n models.UserName) {
			refused[at[n.ID]].PublicID, refused[at[n.ID]].Username = n.PublicID, n.Username
		}); err != nil {
			return nil, nil, err
		}
	}
	return planned, refused, nil
}

// dropEffects moves the effects at the indexes drop to the refusals, with e.
func dropEffects(planned []*effect, refused []BulkRefusal, drop []int, e *problem.Error) ([]*effect, []BulkRefusal) {
	out := make(map[int]bool, len(drop))
	for _, i := range drop {
		out[i] = true
		u := planned[i].u
		refused = append(refused, BulkRefusal{PublicID: u.PublicID, Username: u.Username, Code: e.Code, Message: e.Message, err: e, id: u.ID})
	}
	kept := planned[:0]
	for i, p := range planned {
		if !out[i] {
			kept = append(kept, p)
		}
	}
	return kept, refused
}

// write stores the planned changes: sessions first, then the kind's own
// writes (with the per-row bookkeeping triggers set aside for large role
// and status changes), the ledger and the audit rows.
func (s *Users) write(ctx context.Context, db bun.IDB, c *changeRun, ch AccountChange, planned []*effect) error {
	var err error
	var endFor []int64
	for _, p := range planned {
		if p.endSessions || p.deleted {
			endFor = append(endFor, p.u.ID)
		}
	}
	if len(endFor) > 0 {
		counts, err := models.EndSessionsOf(ctx, s.svc.Stmts, db, endFor)
		if err != nil {
			return err
		}
		for _, p := range planned {
			if p.endSessions || p.deleted {
				p.sessions = counts[p.u.ID]
			}
		}
	}
	write := func(ctx context.Context) error { return ch.write(ctx, c, db, planned) }
	// A large change of roles or statuses updates the per-role/status
	// counts once per group, and the auth epoch once, instead of through
	// triggers per row.
	if tx, ok := db.(bun.Tx); ok && len(planned) >= 1000 {
		// The update-time log's entries are appended set-based, not
		// moved one by one by its trigger (models.WithBulkUpdatedLog).
		each := write
		after := make(map[int64]string, len(planned))
		for _, p := range planned {
			after[p.u.ID] = p.status
		}
		write = func(ctx context.Context) error {
			return models.WithBulkUpdatedLog(ctx, tx, func(id int64) string { return after[id] }, each)
		}
		deltas := map[models.RoleStatus]int64{}
		moves := false
		for _, p := range planned {
			from, to := models.RoleStatus{Role: p.u.Role, Status: p.u.Status}, models.RoleStatus{Role: p.role, Status: p.status}
			if p.deleted {
				deltas[from]--
				moves = true
			} else if to != from {
				deltas[from]--
				deltas[to]++
				moves = true
			}
		}
		if moves {
			err = models.WithBulkBookkeeping(ctx, tx, deltas, write)
		} else {
			err = write(ctx)
		}
	} else {
		err = write(ctx)
	}
	if err != nil {
		return err
	}
	if c.namesLater {
		// A kind whose write did not name a target (none today): look the
		// names up before the audit rows need them.
		var missing []int64
		for _, p := range planned {
			if p.u.PublicID == "" {
				missing = append(missing, p.u.ID)
			}
		}
		if err := models.UserNamesOf(ctx, db, missing, func(n models.UserName) { nameEffect(planned, n) }); err != nil {
			return err
		}
	}
	if len(planned) == 1 {
		ledger, entries, err := s.records(c, ch, planned, map[string]string{})
		if err != nil {
			return err
		}
		if err := models.InsertLedger(ctx, db, ledger); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, db, entries[0])
	}
	// Ledger and audit rows in chunks, so that memory stays flat however
	// many accounts change; every row of the run has the run's time.
	encoded := map[string]string{}
	for start := 0; start < len(planned); start += recordChunk {
		ledger, entries, err := s.records(c, ch, planned[start:min(start+recordChunk, len(planned))], encoded)
		if err != nil {
			return err
		}
		if err := models.InsertLedger(ctx, db, ledger); err != nil {
			return err
		}
		if err := s.svc.Audit.WriteManyAt(ctx, db, entries, c.now); err != nil {
			return err
		}
	}
	return nil
}

// recordChunk is how many targets' ledger and audit rows are built and
// written at a time.
const recordChunk = 5000

// records builds the ledger and audit rows of planned. Details with the
// same key are encoded once (encoded holds them across chunks).
func (s *Users) records(c *changeRun, ch AccountChange, planned []*effect, encoded map[string]string) ([]models.LedgerEntry, []AuditEntry, error) {
	var ledger []models.LedgerEntry
	entries := make([]AuditEntry, 0, len(planned))
	for _, p := range planned {
		if m := p.ledger; m != nil {
			id := p.u.ID
			l := models.LedgerEntry{UserID: &id, UserPublicID: p.u.PublicID, CreatedAt: c.now, Amount: m.after - m.before, BalanceAfter: m.after, Reason: truncate(c.reason, 500), BatchID: c.batch}
			if c.actor.User != nil {
				l.ActorID, l.ActorUsername = &c.actor.User.ID, c.actor.User.Username
			} else if k := c.actor.Key; k != nil {
				l.ActorKeyID, l.ActorUsername = &k.ID, KeyActorLabel(k)
			}
			ledger = append(ledger, l)
		}
		if k, ok := ch.(auditKeyer); ok {
			// Details already encoded under the target's key: the kind
			// need not build them again.
			action, key := k.auditKey(p)
			if s, ok := encoded[key]; ok && key != "" {
				entries = append(entries, AuditEntry{Action: action, Actor: c.actor, Target: p.u, Reason: c.reason, BatchID: c.batch, DetailsJSON: s})
				continue
			}
		}
		action, key, details := ch.audit(p)
		e := AuditEntry{Action: action, Actor: c.actor, Target: p.u, Reason: c.reason, BatchID: c.batch}
		if key == "" {
			e.Details = details
		} else if s, ok := encoded[key]; ok {
			e.DetailsJSON = s
		} else {
			b, err := json.Marshal(details)
			if err != nil {
				return nil, nil, err
			}
			encoded[key], e.DetailsJSON = string(b), string(b)
		}
		entries = append(entries, e)
	}
	return ledger, entries, nil
}

// userLock says how a change holds its targets: nothing in a dry run or on
// SQLite (its transactions are serial: BEGIN IMMEDIATE); on PostgreSQL the
// targets' rows, and every super administrator's row too when the change
// touches administrator access, so that changes that could take out the
// last super administrator wait for each other.
func userLock(db bun.IDB, dryRun, superAdmins bool) models.UserLock {
	switch {
	case dryRun || models.IsSQLite(db):
		return models.ReadOnly
	case superAdmins:
		return models.LockRowsAndSuperAdmins
	}
	return models.LockRows
}

// ids lists the planned targets' internal IDs.
func ids(planned []*effect) []int64 {
	out := make([]int64, len(planned))
	for i, p := range planned {
		out[i] = p.u.ID
	}
	return out
}
