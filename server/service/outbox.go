package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/mail"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Outbox timing.
const (
	// outboxPoll is how often a sender looks for due mail that another
	// instance queued (its own wake it at once).
	outboxPoll = 2 * time.Second
	// outboxLease is how long a claimed email is this sender's; a sender
	// that dies mid-send leaves it to another after the lease. One SMTP
	// attempt is bounded well below it, as a whole (mail.AttemptTimeout).
	outboxLease = 2 * time.Minute
	// outboxFirstRetry doubles after each failed attempt, up to
	// outboxMaxRetry; after outboxMaxAttempts the email has failed.
	outboxFirstRetry  = 30 * time.Second
	outboxMaxRetry    = time.Hour
	outboxMaxAttempts = 12
	// outboxKeep is how long done rows stay visible in the console.
	outboxKeep = 30 * 24 * time.Hour
)

// Audit actions of the outbox.
const (
	ActionMailFailed    = "mail.failed"
	ActionMailRetried   = "mail.retried"
	ActionMailDiscarded = "mail.discarded"
)

// Outbox is the durable mail queue: every account email is a row in the
// database until the SMTP server has it, so that a server that is down or
// hangs delays mail instead of losing it, and any instance may send it.
// A row is claimed with a lease by one conditional UPDATE, so each email
// goes out once. Temporary failures are retried with exponential backoff;
// permanent ones (5xx refusals), running out of attempts or a link
// expiring mark it failed, audited. The rendered message holds links that
// verify an address or reset a password: it is stored sealed with the
// secret key, and erased as soon as the row is sent or discarded, or its
// link expires (a failed email keeps it until then, for a retry).
type Outbox struct {
	svc   *Services
	log   *slog.Logger
	wake  chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	ownID string
}

func newOutbox(s *Services, log *slog.Logger) *Outbox {
	return &Outbox{svc: s, log: log, wake: make(chan struct{}, 1), stop: make(chan struct{}), ownID: security.NewToken(12)}
}

// Start runs the sender in the background until Close.
func (o *Outbox) Start() {
	o.wg.Add(1)
	go o.run()
}

// NewSender is another sender on the same database (tests use it as a
// second instance).
func (s *Services) NewSender() *Outbox { return newOutbox(s, s.Log) }

// Close stops the sender after the email in flight.
func (o *Outbox) Close() {
	o.once.Do(func() { close(o.stop) })
	o.wg.Wait()
}

func (o *Outbox) run() {
	defer o.wg.Done()
	t := time.NewTicker(outboxPoll)
	defer t.Stop()
	lastSweep := time.Time{}
	for {
		select {
		case <-o.stop:
			return
		case <-o.wake:
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-o.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if _, err := o.SendDue(ctx); err != nil && ctx.Err() == nil {
			o.log.Warn("mail outbox: sending failed", "err", err)
		}
		if time.Since(lastSweep) > 5*time.Minute {
			lastSweep = time.Now()
			if err := o.Sweep(ctx); err != nil && ctx.Err() == nil {
				o.log.Warn("mail outbox: sweep failed", "err", err)
			}
		}
		cancel()
	}
}

// outboxBody is the sealed part of a row.
type outboxBody struct {
	Text string `json:"text"`
	HTML string `json:"html,omitempty"`
}

// OutboxItem is what the caller queues.
type OutboxItem struct {
	Kind    mail.Kind
	Purpose string // the token purpose, so a newer link replaces this email
	User    *models.User
	Message mail.Message
	// ExpiresAt is when the email's link stops working: it is not sent
	// after that.
	ExpiresAt *time.Time
}

// Enqueue stores the email (through db, which may be the transaction that
// made its token) and wakes this instance's sender.
func (o *Outbox) Enqueue(ctx context.Context, db bun.IDB, it OutboxItem) error {
	body, err := json.Marshal(outboxBody{Text: it.Message.Text, HTML: it.Message.HTML})
	if err != nil {
		return err
	}
	sealed, err := o.svc.Box.Seal(string(body))
	if err != nil {
		return err
	}
	now := o.svc.Now()
	row := &models.OutboxMail{
		Kind: string(it.Kind), Purpose: it.Purpose, To: it.Message.To, Subject: truncate(it.Message.Subject, 300), Body: sealed,
		Status: models.OutboxQueued, NextAttemptAt: now, ExpiresAt: it.ExpiresAt, CreatedAt: now, UpdatedAt: now,
	}
	if it.User != nil {
		id := it.User.ID
		row.UserID = &id
	}
	if err := o.svc.storeSealed(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(row).Exec(ctx)
		return err
	}); err != nil {
		return err
	}
	o.Wake()
	return nil
}

// Wake makes the sender look for due mail now.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// due is the claimable condition: queued and due, or sending with a lease
// that ran out (its sender died).
func due(q *bun.SelectQuery, now time.Time) *bun.SelectQuery {
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("(status = ? AND next_attempt_at <= ?) OR (status = ? AND lease_until < ?)", models.OutboxQueued, now, models.OutboxSending, now)
	})
}

// claim takes one due email for this sender, or nil when none is due.
func (o *Outbox) claim(ctx context.Context) (*models.OutboxMail, string, error) {
	db := o.svc.DB
	for range 20 {
		now := o.svc.Now()
		var ids []int64
		if err := due(db.NewSelect().Model((*models.OutboxMail)(nil)).Column("id"), now).Order("next_attempt_at", "id").Limit(1).Scan(ctx, &ids); err != nil {
			return nil, "", err
		}
		if len(ids) == 0 {
			return nil, "", nil
		}
		owner := o.ownID + "." + security.NewToken(6)
		// The one conditional UPDATE: it repeats the condition, so of two
		// senders that picked the same row only the first changes it.
		res, err := db.NewUpdate().Model((*models.OutboxMail)(nil)).
			Set("status = ?", models.OutboxSending).Set("lease_owner = ?", owner).Set("lease_until = ?", now.Add(outboxLease)).
			Set("attempts = attempts + 1").Set("updated_at = ?", now).
			Where("id = ?", ids[0]).
			Where("((status = ? AND next_attempt_at <= ?) OR (status = ? AND lease_until < ?))", models.OutboxQueued, now, models.OutboxSending, now).
			Exec(ctx)
		if err != nil {
			return nil, "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // another sender won it
		}
		row := new(models.OutboxMail)
		if err := db.NewSelect().Model(row).Where("id = ?", ids[0]).Where("lease_owner = ?", owner).Scan(ctx); err != nil {
			return nil, "", err
		}
		return row, owner, nil
	}
	return nil, "", nil
}

// SendDue sends every email due now, one at a time, and returns how many
// were tried.
func (o *Outbox) SendDue(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		row, owner, err := o.claim(ctx)
		if err != nil || row == nil {
			return n, err
		}
		n++
		if err := o.deliver(ctx, row, owner); err != nil {
			return n, err
		}
	}
	return n, ctx.Err()
}

// deliver tries one claimed email and records the outcome (only while the
// lease is still this sender's).
func (o *Outbox) deliver(ctx context.Context, row *models.OutboxMail, owner string) error {
	now := o.svc.Now()
	if row.ExpiresAt != nil && !now.Before(*row.ExpiresAt) {
		return o.finish(ctx, row, owner, models.OutboxFailed, "expired", "The link in this email expired before it could be sent.", nil)
	}
	// A link used or replaced since the email was queued (or retried) is
	// not sent: the person would get a link that does not work.
	if live, err := o.linkLive(ctx, o.svc.DB, row, now); err != nil {
		return err
	} else if !live {
		return o.finish(ctx, row, owner, models.OutboxDiscarded, outboxSuperseded, "The link in this email no longer works (a newer link was sent, or it was used).", nil)
	}
	plain, err := o.svc.Box.Open(row.Body)
	var body outboxBody
	if err == nil {
		err = json.Unmarshal([]byte(plain), &body)
	}
	var se *mail.SendError
	if err != nil {
		// Most likely the key was rotated under this instance ('gatehouse
		// key rotate' re-seals the outbox): leave the email to an instance
		// with the new key, as a temporary failure.
		se = &mail.SendError{Reason: "unreadable"}
	} else {
		var cfg mail.SMTP
		cfg, err = o.svc.Settings.smtpConfig(ctx)
		if err == nil {
			err = mail.Send(ctx, cfg, mail.Message{To: row.To, Subject: row.Subject, Text: body.Text, HTML: body.HTML})
		}
	}
	if err == nil {
		return o.finish(ctx, row, owner, models.OutboxSent, "", "", nil)
	}
	if se == nil && !errors.As(err, &se) {
		se = &mail.SendError{Reason: mail.NotConfigured}
	}
	o.log.Warn("mail outbox: attempt failed", "id", row.ID, "kind", row.Kind, "attempt", row.Attempts, "reason", se.Reason, "err", err)
	if se.Permanent || row.Attempts >= outboxMaxAttempts {
		return o.finish(ctx, row, owner, models.OutboxFailed, se.Reason, se.Message(), err)
	}
	next := now.Add(backoff(row.Attempts))
	if row.ExpiresAt != nil && next.After(*row.ExpiresAt) {
		next = *row.ExpiresAt
	}
	_, uerr := o.svc.DB.NewUpdate().Model((*models.OutboxMail)(nil)).
		Set("status = ?", models.OutboxQueued).Set("next_attempt_at = ?", next).Set("lease_owner = ''").Set("lease_until = NULL").
		Set("error_reason = ?", se.Reason).Set("last_error = ?", truncate(se.Message(), 500)).Set("updated_at = ?", now).
		Where("id = ?", row.ID).Where("lease_owner = ?", owner).Exec(ctx)
	return uerr
}

// backoff is the wait after the attempts-th failed attempt.
func backoff(attempts int) time.Duration {
	d := outboxFirstRetry
	for i := 1; i < attempts && d < outboxMaxRetry; i++ {
		d *= 2
	}
	return min(d, outboxMaxRetry)
}

// finish ends a claimed row: sent (the message is erased), or failed
// (audited; the message is erased now when it has no link, else at the
// link's expiry).
func (o *Outbox) finish(ctx context.Context, row *models.OutboxMail, owner, status, reason, message string, cause error) error {
	now := o.svc.Now()
	return o.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model((*models.OutboxMail)(nil)).
			Set("status = ?", status).Set("lease_owner = ''").Set("lease_until = NULL").Set("updated_at = ?", now).
			Where("id = ?", row.ID).Where("lease_owner = ?", owner)
		if status != models.OutboxFailed || reason == "expired" || row.ExpiresAt == nil {
			// A failed email keeps its message while its link works, so
			// that an administrator can retry it once the cause is fixed;
			// the sweep erases it at the expiry.
			q = q.Set("body = ''")
		}
		if status == models.OutboxSent {
			q = q.Set("sent_at = ?", now)
		} else {
			q = q.Set("error_reason = ?", reason).Set("last_error = ?", truncate(message, 500))
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || status != models.OutboxFailed {
			return nil
		}
		if cause != nil {
			o.log.Error("mail outbox: email failed for good", "id", row.ID, "kind", row.Kind, "reason", reason, "err", cause)
		}
		return o.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionMailFailed, ActorLabel: "outbox", Target: o.target(ctx, tx, row),
			Details: map[string]any{"mail": row.ID, "kind": row.Kind, "to": row.To, "reason": reason, "attempts": row.Attempts}})
	})
}

func (o *Outbox) target(ctx context.Context, db bun.IDB, row *models.OutboxMail) *models.User {
	if row.UserID == nil {
		return nil
	}
	u, err := models.UserByID(ctx, db, *row.UserID)
	if err != nil {
		return nil
	}
	return u
}

// Sweep blanks and fails queued emails whose link expired, and deletes
// done rows older than outboxKeep.
func (o *Outbox) Sweep(ctx context.Context) error {
	now := o.svc.Now()
	var expired []models.OutboxMail
	if err := o.svc.DB.NewSelect().Model(&expired).Where("status = ?", models.OutboxQueued).Where("expires_at <= ?", now).Limit(500).Scan(ctx); err != nil {
		return err
	}
	for i := range expired {
		row := &expired[i]
		// Claim it like a sender would, so a sender does not send it meanwhile.
		owner := o.ownID + ".sweep"
		res, err := o.svc.DB.NewUpdate().Model((*models.OutboxMail)(nil)).Set("lease_owner = ?", owner).Set("status = ?", models.OutboxSending).
			Set("lease_until = ?", now.Add(outboxLease)).Where("id = ?", row.ID).Where("status = ?", models.OutboxQueued).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if err := o.finish(ctx, row, owner, models.OutboxFailed, "expired", "The link in this email expired before it could be sent.", nil); err != nil {
				return err
			}
		}
	}
	// Failed emails keep their message only while the link works.
	if _, err := o.svc.DB.NewUpdate().Model((*models.OutboxMail)(nil)).Set("body = ''").
		Where("status = ?", models.OutboxFailed).Where("body <> ''").Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return err
	}
	_, err := o.svc.DB.NewDelete().Model((*models.OutboxMail)(nil)).
		Where("status IN (?)", bun.In([]string{models.OutboxSent, models.OutboxFailed, models.OutboxDiscarded})).
		Where("updated_at < ?", now.Add(-outboxKeep)).Exec(ctx)
	return err
}

// supersede discards the emails of an older link of purpose that could
// still go out: a new link voids it, so its email must not go out later,
// neither by itself (queued) nor by an administrator's Retry (failed, its
// message kept for that while the link worked). They are marked
// superseded and their message erased; Retry answers outbox_superseded.
func (o *Outbox) supersede(ctx context.Context, db bun.IDB, userID int64, purpose string) error {
	_, err := db.NewUpdate().Model((*models.OutboxMail)(nil)).
		Set("status = ?", models.OutboxDiscarded).Set("body = ''").Set("error_reason = ?", outboxSuperseded).
		Set("last_error = ?", "A newer link was sent instead.").Set("updated_at = ?", o.svc.Now()).
		Where("user_id = ?", userID).Where("purpose = ?", purpose).
		Where("status = ? OR (status = ? AND body <> '')", models.OutboxQueued, models.OutboxFailed).Exec(ctx)
	return err
}

// outboxSuperseded is the error reason of an email whose link no longer
// works because a newer link replaced it or the link was used.
const outboxSuperseded = "superseded"

// errOutboxSuperseded refuses to send again an email whose link no longer
// works.
var errOutboxSuperseded = problem.New(problem.Conflict, "outbox_superseded", "This email's link no longer works: a newer link was sent since, or the link was used. It is not sent again; the person can ask for a new link.")

// linkLive reports whether the link of row (an email with a token
// purpose) still works: its account holds a token of that purpose that has
// not expired. Issuing a new link deletes the older token, and using a
// link, changing the password or resetting two-factor deletes it too.
func (o *Outbox) linkLive(ctx context.Context, db bun.IDB, row *models.OutboxMail, now time.Time) (bool, error) {
	if row.Purpose == "" || row.UserID == nil {
		return true, nil
	}
	return db.NewSelect().Model((*models.OneTimeToken)(nil)).
		Where("user_id = ?", *row.UserID).Where("purpose = ?", row.Purpose).Where("expires_at > ?", now).Exists(ctx)
}

// failedRecently reports whether the newest email of purpose to the user,
// queued since since, has failed at least once: a resend then is not
// held back by the one-a-minute rule.
func (o *Outbox) failedRecently(ctx context.Context, db bun.IDB, userID int64, purpose string, since time.Time) (bool, error) {
	var rows []models.OutboxMail
	err := db.NewSelect().Model(&rows).Column("status", "attempts", "error_reason").
		Where("user_id = ?", userID).Where("purpose = ?", purpose).Where("created_at > ?", since).
		OrderExpr("id DESC").Limit(1).Scan(ctx)
	if err != nil || len(rows) == 0 {
		return false, err
	}
	r := rows[0]
	return r.Status == models.OutboxFailed || (r.Status == models.OutboxQueued && r.Attempts > 0), nil
}

// Pending reports whether any email is due now or being sent (tests wait
// on it).
func (o *Outbox) Pending(ctx context.Context) (bool, error) {
	return o.svc.DB.NewSelect().Model((*models.OutboxMail)(nil)).
		Where("status = ? OR (status = ? AND next_attempt_at <= ?)", models.OutboxSending, models.OutboxQueued, o.svc.Now()).Exists(ctx)
}

// OutboxFilter selects the console's list.
type OutboxFilter struct {
	Status  string
	Page    int
	PerPage int
}

// OutboxList is one page of the outbox, newest first.
type OutboxList struct {
	Items []models.OutboxMail
	Total int
}

// ListOutbox answers a page of the outbox, newest first.
func (o *Outbox) List(ctx context.Context, f OutboxFilter) (OutboxList, error) {
	var out OutboxList
	if f.Status != "" {
		switch f.Status {
		case models.OutboxQueued, models.OutboxSending, models.OutboxSent, models.OutboxFailed, models.OutboxDiscarded:
		default:
			return out, (&problem.Error{Kind: problem.BadRequest, Code: "invalid_query", Message: "Some query parameters are not valid."}).WithField("status", "must be queued, sending, sent, failed or discarded")
		}
	}
	q := o.svc.DB.NewSelect().Model(&out.Items).ExcludeColumn("body")
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	n, err := q.OrderExpr("id DESC").Limit(int64(f.PerPage)).Offset(int64((f.Page - 1) * f.PerPage)).ScanAndCount(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return out, err
	}
	out.Total = int(n)
	return out, nil
}

var errOutboxNotFound = errNotFound("The email")

// Retry queues a failed (or waiting) email for an attempt now. An email
// whose message was already blanked (sent, expired, discarded) cannot be
// sent again: 409.
//
// An email whose link no longer works (a newer link replaced it: the
// resend superseded it; or the link was used) is refused with 409
// outbox_superseded: sending it would give the person a dead link, and
// issuing a fresh link here would void the newer one they may be using.
func (o *Outbox) Retry(ctx context.Context, actor Actor, id int64) (*models.OutboxMail, error) {
	return o.adminChange(ctx, actor, id, ActionMailRetried, func(ctx context.Context, tx bun.IDB, row *models.OutboxMail, q *bun.UpdateQuery, now time.Time) (*bun.UpdateQuery, error) {
		if row.ErrorReason == outboxSuperseded {
			return nil, errOutboxSuperseded
		}
		if row.Status != models.OutboxFailed && row.Status != models.OutboxQueued {
			return nil, problem.New(problem.Conflict, "outbox_not_retryable", "Only a queued or failed email can be retried.")
		}
		if row.Body == "" || (row.ExpiresAt != nil && !now.Before(*row.ExpiresAt)) {
			return nil, problem.New(problem.Conflict, "outbox_not_retryable", "This email's message is gone (its link expired, or it was replaced by a newer one); the person can ask for a new link.")
		}
		if live, err := o.linkLive(ctx, tx, row, now); err != nil {
			return nil, err
		} else if !live {
			return nil, errOutboxSuperseded
		}
		return q.Set("status = ?", models.OutboxQueued).Set("next_attempt_at = ?", now), nil
	})
}

// Discard drops a queued or failed email.
func (o *Outbox) Discard(ctx context.Context, actor Actor, id int64) (*models.OutboxMail, error) {
	return o.adminChange(ctx, actor, id, ActionMailDiscarded, func(_ context.Context, _ bun.IDB, row *models.OutboxMail, q *bun.UpdateQuery, now time.Time) (*bun.UpdateQuery, error) {
		if row.Status != models.OutboxFailed && row.Status != models.OutboxQueued {
			return nil, problem.New(problem.Conflict, "outbox_not_discardable", "Only a queued or failed email can be discarded.")
		}
		return q.Set("status = ?", models.OutboxDiscarded).Set("body = ''"), nil
	})
}

func (o *Outbox) adminChange(ctx context.Context, actor Actor, id int64, action string, change func(context.Context, bun.IDB, *models.OutboxMail, *bun.UpdateQuery, time.Time) (*bun.UpdateQuery, error)) (*models.OutboxMail, error) {
	row := new(models.OutboxMail)
	err := o.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
			if errors.Is(models.NotFound(err), models.ErrNotFound) {
				return errOutboxNotFound
			}
			return err
		}
		now := o.svc.Now()
		q, err := change(ctx, tx, row, tx.NewUpdate().Model((*models.OutboxMail)(nil)).Set("updated_at = ?", now), now)
		if err != nil {
			return err
		}
		// Only from the state just read: a sender claiming it meanwhile wins.
		res, err := q.Where("id = ?", id).Where("status = ?", row.Status).Where("attempts = ?", row.Attempts).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.New(problem.Conflict, "outbox_changed", "The email changed meanwhile; reload.")
		}
		if err := o.svc.Audit.Write(ctx, tx, AuditEntry{Action: action, Actor: actor, Target: o.target(ctx, tx, row),
			Details: map[string]any{"mail": row.ID, "kind": row.Kind, "to": row.To, "statusBefore": row.Status}}); err != nil {
			return err
		}
		return tx.NewSelect().Model(row).ExcludeColumn("body").Where("id = ?", id).Scan(ctx)
	})
	if err == nil && row.Status == models.OutboxQueued {
		o.Wake()
	}
	return row, err
}
