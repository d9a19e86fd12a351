package service

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// Bulk actions.
const (
	BulkSetRole     = "set_role"
	BulkSetStatus   = "set_status"
	BulkSetTimezone = "set_timezone"
	BulkSetBalance  = "set_balance"
	BulkAddBalance  = "add_balance"
	BulkDelete      = "delete"
)

// Bulk size caps: explicit ID lists, and accounts matched by a filter.
const (
	MaxBulkIDs     = 10_000
	MaxBulkTargets = 200_000
)

// BulkRequest is one bulk action over selected accounts or a filter.
type BulkRequest struct {
	Action      string
	PublicIDs   []string
	Filter      *models.UserFilter
	Role        string
	Status      string
	Timezone    string
	Amount      int64
	AllowNeg    bool
	Reason      string
	DryRun      bool
	SkipRefused bool
}

// BulkRefusal names a target a rule refuses, and why.
type BulkRefusal struct {
	PublicID string `json:"publicId"`
	Username string `json:"username"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// BulkResult is the outcome (or, in a dry run, the preview) of a bulk action.
type BulkResult struct {
	DryRun  bool          `json:"dryRun"`
	BatchID string        `json:"batchId"`
	Matched int           `json:"matched"`
	Changed int           `json:"changed"`
	Refused []BulkRefusal `json:"refused"`
}

func (r *BulkRequest) validate(actor Actor) error {
	f := problem.Fields{}
	switch r.Action {
	case BulkSetRole:
		if !models.ValidRole(r.Role) {
			f.Add("params.role", "must be user, admin or super_admin")
		} else if r.Role == models.RoleSuperAdmin && actor.User.Role != models.RoleSuperAdmin {
			return ErrGrantSuperAdmin
		}
	case BulkSetStatus:
		if !models.ValidStatus(r.Status) {
			f.Add("params.status", "must be active, pending, suspended or deactivated")
		}
	case BulkSetTimezone:
		validateTimezone(f, "params.timezone", r.Timezone)
	case BulkSetBalance, BulkAddBalance:
		if r.Amount > maxBalance || r.Amount < -maxBalance {
			f.Add("params.amount", "is out of range")
		}
	case BulkDelete:
	default:
		f.Add("action", "must be set_role, set_status, set_timezone, set_balance, add_balance or delete")
	}
	if (len(r.PublicIDs) == 0) == (r.Filter == nil) {
		f.Add("publicIds", "give either publicIds or a filter")
	}
	if len(r.PublicIDs) > MaxBulkIDs {
		return &problem.Error{Kind: problem.TooLarge, Code: "too_many_targets", Message: "A bulk request may name at most 10000 accounts; use a filter for more."}
	}
	if len(r.Reason) > 500 {
		f.Add("reason", "must be at most 500 characters")
	}
	return f.Err()
}

// Bulk runs (or previews) a bulk action. The real run re-reads its targets
// and re-checks every rule inside one transaction, and changes all of them
// or none.
func (s *Users) Bulk(ctx context.Context, actor Actor, r BulkRequest) (*BulkResult, error) {
	if err := r.validate(actor); err != nil {
		return nil, err
	}
	res := &BulkResult{DryRun: r.DryRun, Refused: []BulkRefusal{}}
	run := func(ctx context.Context, tx bun.IDB) error {
		access, err := beginAdminAccess(ctx, tx, s.svc.Settings)
		if err != nil {
			return err
		}
		if err := lockSuperAdmins(ctx, tx); err != nil {
			return err
		}
		targets, refused, err := s.bulkTargets(ctx, tx, r)
		if err != nil {
			return err
		}
		res.Matched = len(targets) + len(refused)
		changes, more, err := s.bulkRules(ctx, tx, actor, r, targets, access)
		if err != nil {
			return err
		}
		res.Refused = append(refused, more...)
		res.Changed = len(changes)
		if r.DryRun {
			return nil
		}
		if len(res.Refused) > 0 && !r.SkipRefused {
			e := problem.New(problem.Conflict, "bulk_refused", "Some of the selected accounts cannot be changed; nothing was changed. Review the list, or apply to the others only.")
			e.Extra = map[string]any{"refused": res.Refused, "changed": res.Changed}
			return e
		}
		res.BatchID = newBatchID()
		return s.bulkApply(ctx, tx, actor, r, changes, res.BatchID)
	}
	var err error
	if r.DryRun {
		err = run(ctx, s.svc.DB)
	} else {
		err = s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error { return run(ctx, tx) })
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Users) bulkTargets(ctx context.Context, tx bun.IDB, r BulkRequest) ([]models.User, []BulkRefusal, error) {
	cols := []string{"id", "public_id", "username", "role", "status", "status_reason", "balance", "timezone"}
	var out []models.User
	refused := []BulkRefusal{}
	if r.Filter != nil {
		out, err := s.bulkFilterTargets(ctx, tx, *r.Filter)
		return out, refused, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, id := range r.PublicIDs {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	found := map[string]bool{}
	for start := 0; start < len(ids); start += 500 {
		var part []models.User
		if err := tx.NewSelect().Model(&part).Column(cols...).Where("u.public_id IN (?)", bun.List(ids[start:min(start+500, len(ids))])).Scan(ctx); err != nil {
			return nil, nil, err
		}
		for _, u := range part {
			found[u.PublicID] = true
		}
		out = append(out, part...)
	}
	for _, id := range ids {
		if !found[id] {
			refused = append(refused, BulkRefusal{PublicID: id, Code: "not_found", Message: "No such account."})
		}
	}
	return out, refused, nil
}

// bulkFilterTargets reads the accounts a filter matches, in id order. A
// filter that matches a large share of the accounts reads the table in
// order (the planner would otherwise go through an index and fetch each
// row at random); rows are scanned by hand into the few fields the rules
// and the audit need, which costs a fraction of mapping whole accounts.
func (s *Users) bulkFilterTargets(ctx context.Context, tx bun.IDB, f models.UserFilter) ([]models.User, error) {
	now := s.svc.Now()
	expected, estimate, err := models.CountUsersMatching(ctx, tx, f, now)
	if err != nil {
		return nil, err
	}
	all, err := models.CountAllUsers(ctx, tx)
	if err != nil {
		return nil, err
	}
	q := tx.NewSelect().Model((*models.User)(nil)).Column("id", "public_id", "username", "role", "status", "status_reason", "balance", "timezone")
	plan := models.PlanIndex
	if models.IsSQLite(tx) && (estimate || expected*20 > all) {
		q, plan = q.ModelTableExpr("users AS u NOT INDEXED"), models.PlanDefault
	}
	q = models.ApplyUserFilterPlan(q, f, now, plan).Limit(MaxBulkTargets + 1)
	rows, err := tx.QueryContext(ctx, q.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]models.User, 0, min(expected, MaxBulkTargets)+1)
	for rows.Next() {
		out = append(out, models.User{})
		u := &out[len(out)-1]
		if err := rows.Scan(&u.ID, &u.PublicID, &u.Username, &u.Role, &u.Status, &u.StatusReason, &u.Balance, &u.Timezone); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) > MaxBulkTargets {
		return nil, &problem.Error{Kind: problem.TooLarge, Code: "too_many_targets", Message: "The filter matches more than 200000 accounts; narrow it down."}
	}
	slices.SortFunc(out, func(a, b models.User) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// bulkChange is one target that will change.
type bulkChange struct {
	user       *models.User // into the targets slice
	newBalance int64
}

func refusal(u *models.User, e *problem.Error) BulkRefusal {
	return BulkRefusal{PublicID: u.PublicID, Username: u.Username, Code: e.Code, Message: e.Message}
}

// bulkRules sorts targets into changes and refusals. Targets already in the
// requested state are neither.
func (s *Users) bulkRules(ctx context.Context, tx bun.IDB, actor Actor, r BulkRequest, targets []models.User, access *adminAccess) ([]bulkChange, []BulkRefusal, error) {
	changes := make([]bulkChange, 0, len(targets))
	refused := []BulkRefusal{}
	selfRule := r.Action == BulkSetRole || r.Action == BulkSetStatus || r.Action == BulkDelete
	var leavingSupers []int // indexes into changes
	for i := range targets {
		u := &targets[i]
		if err := guard(actor, u, selfRule); err != nil {
			refused = append(refused, refusal(u, err.(*problem.Error)))
			continue
		}
		c := bulkChange{user: u}
		switch r.Action {
		case BulkSetRole:
			if u.Role == r.Role {
				continue
			}
		case BulkSetStatus:
			if u.Status == r.Status && u.StatusReason == r.Reason {
				continue
			}
		case BulkSetTimezone:
			if u.Timezone == r.Timezone {
				continue
			}
		case BulkSetBalance, BulkAddBalance:
			c.newBalance = r.Amount
			if r.Action == BulkAddBalance {
				c.newBalance = u.Balance + r.Amount
			}
			if c.newBalance == u.Balance {
				continue
			}
			if c.newBalance < 0 && !r.AllowNeg {
				refused = append(refused, refusal(u, ErrNegativeBalance))
				continue
			}
		}
		leaving := u.Role == models.RoleSuperAdmin && u.Status == models.StatusActive &&
			(r.Action == BulkDelete || (r.Action == BulkSetRole && r.Role != models.RoleSuperAdmin) || (r.Action == BulkSetStatus && r.Status != models.StatusActive))
		if leaving {
			leavingSupers = append(leavingSupers, len(changes))
		}
		changes = append(changes, c)
	}
	if len(leavingSupers) > 0 {
		n, err := models.CountActiveSuperAdmins(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		if n-int64(len(leavingSupers)) < 1 {
			drop := map[int]bool{}
			for _, i := range leavingSupers {
				drop[i] = true
				refused = append(refused, refusal(changes[i].user, ErrLastSuperAdmin))
			}
			kept := changes[:0]
			for i, c := range changes {
				if !drop[i] {
					kept = append(kept, c)
				}
			}
			changes = kept
		}
	}
	// The last administrators who can sign in stay: when the change would
	// take out every one of them, each of them is refused.
	var cutOff []int // indexes into changes
	var cutOffIDs []int64
	for i, c := range changes {
		newRole, newStatus := c.user.Role, c.user.Status
		switch r.Action {
		case BulkSetRole:
			newRole = r.Role
		case BulkSetStatus:
			newStatus = r.Status
		}
		if leavesAdmins(c.user, newRole, newStatus, r.Action == BulkDelete) && access.canSignIn(c.user.ID) {
			cutOff = append(cutOff, i)
			cutOffIDs = append(cutOffIDs, c.user.ID)
		}
	}
	if len(cutOff) > 0 {
		err := access.check(ctx, tx, cutOffIDs...)
		if errors.Is(err, ErrLastAdminAccess) {
			changes, refused = dropChanges(changes, refused, cutOff, ErrLastAdminAccess)
		} else if err != nil {
			return nil, nil, err
		}
	}
	return changes, refused, nil
}

// dropChanges moves the changes at the indexes drop to the refusals, with e.
func dropChanges(changes []bulkChange, refused []BulkRefusal, drop []int, e *problem.Error) ([]bulkChange, []BulkRefusal) {
	out := map[int]bool{}
	for _, i := range drop {
		out[i] = true
		refused = append(refused, refusal(changes[i].user, e))
	}
	kept := changes[:0]
	for i, c := range changes {
		if !out[i] {
			kept = append(kept, c)
		}
	}
	return kept, refused
}

func (s *Users) bulkApply(ctx context.Context, tx bun.IDB, actor Actor, r BulkRequest, changes []bulkChange, batch string) error {
	now := s.svc.Now()
	restore, err := models.WithLargeCache(ctx, tx)
	if err != nil {
		return err
	}
	defer restore()
	// One statement per table for the whole batch: SQLite journals each
	// page a statement touches once per statement, so a few large
	// statements write far less than many small ones.
	ids := make([]int64, len(changes))
	for i, c := range changes {
		ids[i] = c.user.ID
	}
	upd := tx.NewUpdate().Model((*models.User)(nil)).Where("id IN (?)", bun.List(ids)).Set("updated_at = ?", now)
	// endFor lists the accounts whose sessions end: everyone leaving
	// active or deleted, and demoted accounts.
	var endFor []int64
	switch r.Action {
	case BulkSetRole:
		upd = upd.Set("role = ?", r.Role)
		for _, c := range changes {
			if models.RoleRank(r.Role) < models.RoleRank(c.user.Role) {
				endFor = append(endFor, c.user.ID)
			}
		}
	case BulkSetStatus:
		upd = upd.Set("status = ?", r.Status).Set("status_reason = ?", truncate(r.Reason, 500))
		if r.Status != models.StatusActive {
			endFor = ids
		}
	case BulkSetTimezone:
		upd = upd.Set("timezone = ?", r.Timezone)
	case BulkSetBalance:
		upd = upd.Set("balance = ?", r.Amount)
	case BulkAddBalance:
		upd = upd.Set("balance = balance + ?", r.Amount)
	case BulkDelete:
		upd = nil
		endFor = ids
	}
	write := func(ctx context.Context) error {
		if len(endFor) > 0 {
			if _, err := tx.NewDelete().Model((*models.AccessToken)(nil)).Where("user_id IN (?)", bun.List(endFor)).Exec(ctx); err != nil {
				return err
			}
			if _, err := tx.NewDelete().Model((*models.Session)(nil)).Where("user_id IN (?)", bun.List(endFor)).Exec(ctx); err != nil {
				return err
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if upd != nil {
			_, err := upd.Exec(ctx)
			return err
		}
		_, err := tx.NewDelete().Model((*models.User)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx)
		return err
	}
	// A large change of roles or statuses updates the per-role/status
	// counts once per group, and the auth epoch once, instead of through
	// triggers per row.
	if btx, ok := tx.(bun.Tx); ok && len(changes) >= 1000 && (r.Action == BulkSetRole || r.Action == BulkSetStatus || r.Action == BulkDelete) {
		deltas := map[models.RoleStatus]int64{}
		for _, c := range changes {
			from := models.RoleStatus{Role: c.user.Role, Status: c.user.Status}
			to := from
			switch r.Action {
			case BulkSetRole:
				to.Role = r.Role
			case BulkSetStatus:
				to.Status = r.Status
			}
			if r.Action == BulkDelete {
				deltas[from]--
			} else if to != from {
				deltas[from]--
				deltas[to]++
			}
		}
		if err := models.WithBulkBookkeeping(ctx, btx, deltas, write); err != nil {
			return err
		}
	} else if err := write(ctx); err != nil {
		return err
	}
	entries := make([]AuditEntry, 0, len(changes))
	var ledger []models.LedgerEntry
	// Details that depend on one earlier value are encoded once per value.
	encoded := map[string]string{}
	once := func(key string, details map[string]any) (string, error) {
		if s, ok := encoded[key]; ok {
			return s, nil
		}
		b, err := json.Marshal(details)
		encoded[key] = string(b)
		return string(b), err
	}
	for _, c := range changes {
		u := c.user
		e := AuditEntry{Actor: actor, Target: u, Reason: r.Reason, BatchID: batch}
		var err error
		switch r.Action {
		case BulkSetRole:
			e.Action = ActionUserRoleChanged
			e.DetailsJSON, err = once(u.Role, map[string]any{"before": map[string]any{"role": u.Role}, "after": map[string]any{"role": r.Role}})
		case BulkSetStatus:
			e.Action = ActionUserStatusChanged
			e.DetailsJSON, err = once(u.Status, map[string]any{"before": u.Status, "after": r.Status})
		case BulkSetTimezone:
			e.Action = ActionUserUpdated
			e.DetailsJSON, err = once(u.Timezone, map[string]any{"before": map[string]any{"timezone": u.Timezone}, "after": map[string]any{"timezone": r.Timezone}})
		case BulkSetBalance, BulkAddBalance:
			e.Action, e.Details = ActionUserBalanceChanged, map[string]any{"before": u.Balance, "after": c.newBalance, "amount": c.newBalance - u.Balance}
			id := u.ID
			l := models.LedgerEntry{UserID: &id, UserPublicID: u.PublicID, CreatedAt: now, Amount: c.newBalance - u.Balance, BalanceAfter: c.newBalance, Reason: truncate(r.Reason, 500), BatchID: batch}
			if actor.User != nil {
				l.ActorID, l.ActorUsername = &actor.User.ID, actor.User.Username
			}
			ledger = append(ledger, l)
		case BulkDelete:
			e.Action = ActionUserDeleted
			e.DetailsJSON, err = once(u.Role, map[string]any{"role": u.Role})
		}
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	for start := 0; start < len(ledger); start += 500 {
		part := ledger[start:min(start+500, len(ledger))]
		if _, err := tx.NewInsert().Model(&part).Returning("NULL").Exec(ctx); err != nil {
			return err
		}
	}
	return s.svc.Audit.WriteMany(ctx, tx, entries)
}
