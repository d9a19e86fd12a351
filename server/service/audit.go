package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
)

// Audit actions. Names are "area.verb" so that a prefix filter ("auth.")
// selects an area.
const (
	ActionSetupCompleted     = "setup.completed"
	ActionLoginSucceeded     = "auth.login_succeeded"
	ActionLoginFailed        = "auth.login_failed"
	ActionAccountLocked      = "auth.account_locked"
	ActionLogout             = "auth.logout"
	ActionTokenIssued        = "auth.token_issued"
	ActionPasswordChanged    = "account.password_changed"
	ActionProfileUpdated     = "account.profile_updated"
	ActionSessionRevoked     = "session.revoked"
	ActionSessionsRevoked    = "session.revoked_others"
	ActionUserCreatedByShell = "user.created_by_cli"
	ActionPasswordResetShell = "user.password_reset_by_cli"
	ActionUnlockedByShell    = "user.unlocked_by_cli"
)

// AuditEntry is what a caller knows about an event.
type AuditEntry struct {
	Action  string
	Actor   Actor
	Target  *models.User // the account acted on, if any
	Reason  string
	Details map[string]any // before/after values; never secrets
	// DetailsJSON, when set, is Details already encoded (bulk actions
	// write the same few details on many rows and encode each once).
	DetailsJSON string
	BatchID     string
	// ActorLabel names a non-user actor (for example "cli") or, for a
	// failed sign-in of an unknown account, the identifier tried.
	ActorLabel string
	// Object names a target that is not an account (for example an
	// identity provider); used when Target is nil.
	Object *AuditObject
}

// AuditObject is a non-account audit target.
type AuditObject struct {
	Type  string // "identity_provider"
	Ref   string // a stable reference such as a slug
	Label string
}

// Audit is the one writer of audit rows. It writes inside the caller's
// transaction so that an action and its record commit together.
type Audit struct {
	now Clock
	// stmts runs the one-row insert as a prepared statement (nil: bun).
	stmts *models.Stmts
	// hook sees every written entry in the same transaction (webhook
	// events are a projection of the account rows).
	hook func(ctx context.Context, db bun.IDB, entries []AuditEntry, now time.Time) error
}

// Write stores one audit row through db (a transaction or the DB).
func (a *Audit) Write(ctx context.Context, db bun.IDB, e AuditEntry) error {
	row, err := a.row(e)
	if err != nil {
		return err
	}
	if a.stmts != nil {
		_, err = a.stmts.Exec(ctx, db, insertAuditQuery, row.CreatedAt, row.ActorID, row.ActorPublicID, row.ActorUsername, row.Action,
			row.TargetType, row.TargetID, row.TargetPublicID, row.TargetLabel, row.Reason, row.IP, row.UserAgent, row.Details, row.BatchID)
	} else {
		_, err = db.NewInsert().Model(row).Exec(ctx)
	}
	if err != nil || a.hook == nil {
		return err
	}
	return a.hook(ctx, db, []AuditEntry{e}, row.CreatedAt)
}

// insertAuditQuery is Write's insert (every account change, sign-in and
// failed sign-in writes one row).
const insertAuditQuery = `INSERT INTO audit_events (created_at, actor_id, actor_public_id, actor_username, action, target_type, target_id, target_public_id, target_label, reason, ip, user_agent, details, batch_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (a *Audit) row(e AuditEntry) (*models.AuditEvent, error) {
	row := &models.AuditEvent{}
	if err := a.fill(row, &e); err != nil {
		return nil, err
	}
	return row, nil
}

// fill sets row to the audit row of e, in place (WriteManyAt writes
// thousands at a time).
func (a *Audit) fill(row *models.AuditEvent, e *AuditEntry) error {
	details := "{}"
	if e.DetailsJSON != "" {
		details = e.DetailsJSON
	} else if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return err
		}
		details = string(b)
	}
	*row = models.AuditEvent{
		CreatedAt: a.now(),
		Action:    e.Action,
		Reason:    truncate(e.Reason, 500),
		IP:        truncate(e.Actor.IP, 64),
		UserAgent: truncate(e.Actor.UserAgent, 500),
		Details:   details,
		BatchID:   e.BatchID,
	}
	if u := e.Actor.User; u != nil {
		row.ActorID, row.ActorPublicID, row.ActorUsername = &u.ID, u.PublicID, u.Username
	} else if k := e.Actor.Key; k != nil {
		row.ActorPublicID, row.ActorUsername = k.Prefix, KeyActorLabel(k)
	} else {
		row.ActorUsername = truncate(e.ActorLabel, 64)
	}
	if t := e.Target; t != nil {
		row.TargetType, row.TargetID, row.TargetPublicID, row.TargetLabel = "user", &t.ID, t.PublicID, t.Username
	} else if o := e.Object; o != nil {
		row.TargetType, row.TargetPublicID, row.TargetLabel = o.Type, truncate(o.Ref, 64), truncate(o.Label, 200)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// WriteMany stores many audit rows through db in batches (bulk actions).
func (a *Audit) WriteMany(ctx context.Context, db bun.IDB, entries []AuditEntry) error {
	return a.WriteManyAt(ctx, db, entries, a.now()) // one action, one time
}

// WriteManyAt is WriteMany with the rows' time given: a bulk action that
// writes its rows in parts gives each part the action's time.
func (a *Audit) WriteManyAt(ctx context.Context, db bun.IDB, entries []AuditEntry, now time.Time) error {
	rows := make([]models.AuditEvent, len(entries))
	for i := range entries {
		if err := a.fill(&rows[i], &entries[i]); err != nil {
			return err
		}
		rows[i].CreatedAt = now
	}
	if err := models.InsertAuditEvents(ctx, db, rows); err != nil || a.hook == nil {
		return err
	}
	return a.hook(ctx, db, entries, now)
}
