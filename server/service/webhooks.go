package service

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/outbound"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Webhook event types (Standard Webhooks: "type" of the payload).
const (
	EventAccountCreated         = "account.created"
	EventAccountUpdated         = "account.updated"
	EventAccountRoleChanged     = "account.role_changed"
	EventAccountStatusChanged   = "account.status_changed"
	EventAccountDeleted         = "account.deleted"
	EventAccountBalanceLow      = "account.balance_low"
	EventAccountSessionsRevoked = "account.sessions_revoked"
	EventAccountSignedIn        = "account.signed_in"
	EventAccountLocked          = "account.locked"
)

// WebhookEventTypes lists every event type, in the console's order.
var WebhookEventTypes = []string{EventAccountCreated, EventAccountUpdated, EventAccountRoleChanged, EventAccountStatusChanged,
	EventAccountDeleted, EventAccountBalanceLow, EventAccountSessionsRevoked, EventAccountSignedIn, EventAccountLocked}

// webhookEventOf maps the audit actions that describe an account's change
// to the webhook event they raise: events are a projection of the audit
// rows, written by the same statement group in the same transaction.
var webhookEventOf = map[string]string{
	ActionUserCreated:        EventAccountCreated,
	ActionUserCreatedByShell: EventAccountCreated,
	ActionUserUpdated:        EventAccountUpdated,
	ActionProfileUpdated:     EventAccountUpdated,
	ActionUserRoleChanged:    EventAccountRoleChanged,
	ActionUserStatusChanged:  EventAccountStatusChanged,
	ActionUserDeleted:        EventAccountDeleted,
	ActionUserBalanceChanged: EventAccountBalanceLow,
	ActionUserSessionRevoked: EventAccountSessionsRevoked,
	ActionSessionsRevoked:    EventAccountSessionsRevoked,
	ActionLoginSucceeded:     EventAccountSignedIn,
	ActionAccountLocked:      EventAccountLocked,
}

// Audit actions of webhooks.
const (
	ActionWebhookCreated  = "webhook.created"
	ActionWebhookUpdated  = "webhook.updated"
	ActionWebhookDeleted  = "webhook.deleted"
	ActionWebhookRotated  = "webhook.secret_rotated"
	ActionWebhookDisabled = "webhook.disabled"
	ActionWebhookResent   = "webhook.resent"
)

// Webhook delivery timing.
const (
	webhookPoll = time.Second
	// webhookLease covers one HTTP exchange (outbound.HTTPTimeout) with
	// room to record it.
	webhookLease = time.Minute
	// webhookFirstRetry doubles after each failed attempt up to
	// webhookMaxRetry; a delivery still refused webhookRetryFor after it was
	// queued has failed.
	webhookFirstRetry = 10 * time.Second
	webhookMaxRetry   = 2 * time.Hour
	webhookRetryFor   = 72 * time.Hour
	// An endpoint whose attempts have all failed for webhookDisableAfter,
	// and at least webhookDisableFailures times, is disabled.
	webhookDisableAfter    = 24 * time.Hour
	webhookDisableFailures = 10
	// webhookPreviousSecretFor is how long a rotated-out secret still signs.
	webhookPreviousSecretFor = 24 * time.Hour
	// webhookBatch is how many deliveries one claim takes; webhookParallel
	// how many are in flight at once.
	webhookBatch    = 64
	webhookParallel = 16
	// webhookKeep is how long finished deliveries stay in the log.
	webhookKeep = 30 * 24 * time.Hour
	// webhookEndpointsTTL bounds how stale another instance's view of the
	// endpoints may be (its own changes are seen at once).
	webhookEndpointsTTL = 2 * time.Second
)

// Webhooks keeps the endpoints, records events inside the transactions of
// the changes they describe and delivers them: any instance claims due
// deliveries with a lease (one conditional UPDATE, as the mail outbox), in
// order per endpoint and account, signs them per Standard Webhooks and
// retries with exponential backoff for three days.
type Webhooks struct {
	svc       *Services
	log       *slog.Logger
	client    *http.Client
	allowHTTP bool

	wake  chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	ownID string

	mu       sync.Mutex
	cached   []webhookTarget
	cachedAt time.Time
}

// webhookTarget is what event recording needs of an enabled endpoint.
type webhookTarget struct {
	id        int64
	events    string
	threshold int64
}

func (t webhookTarget) wants(typ string) bool { return strings.Contains(t.events, ","+typ+",") }

func newWebhooks(s *Services, allowHTTP bool) *Webhooks {
	client := outbound.NewHTTPClient()
	// Up to webhookParallel deliveries go to one receiver at once: keep
	// that many connections to it between batches (net/http keeps two per
	// host by default, and dials the rest anew for every batch).
	if tr, ok := client.Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = webhookParallel
		tr.MaxIdleConns = max(tr.MaxIdleConns, 4*webhookParallel)
	}
	return &Webhooks{svc: s, log: s.Log, client: client, allowHTTP: allowHTTP,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), ownID: security.NewToken(12)}
}

// Start runs the sender in the background until Close.
func (w *Webhooks) Start() {
	w.wg.Add(1)
	go w.run()
}

// Close stops the sender after the deliveries in flight are recorded.
func (w *Webhooks) Close() {
	w.once.Do(func() { close(w.stop) })
	w.wg.Wait()
}

// Wake makes the sender look for due deliveries now.
func (w *Webhooks) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Webhooks) run() {
	defer w.wg.Done()
	t := time.NewTicker(webhookPoll)
	defer t.Stop()
	lastSweep := time.Time{}
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
		case <-t.C:
		}
		// In-flight requests finish (they are bounded by the outbound
		// timeout) so that their outcome is recorded before Close returns.
		for {
			n, err := w.DeliverDue(context.Background())
			if err != nil {
				w.log.Warn("webhooks: delivering failed", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
			select {
			case <-w.stop:
				return
			default:
			}
		}
		if time.Since(lastSweep) > 5*time.Minute {
			lastSweep = time.Now()
			if err := w.Sweep(context.Background()); err != nil {
				w.log.Warn("webhooks: sweep failed", "err", err)
			}
		}
	}
}

// ---- endpoints ----

// WebhookEndpointInput is a create or update.
type WebhookEndpointInput struct {
	URL              *string
	Description      *string
	Events           *[]string
	BalanceThreshold *int64
	Enabled          *bool
}

// ErrWebhookNotFound answers an unknown endpoint.
var ErrWebhookNotFound = errNotFound("The webhook endpoint")

func (w *Webhooks) validate(in WebhookEndpointInput, create bool) (problem.Fields, string) {
	f := problem.Fields{}
	events := ""
	if in.URL != nil {
		if msg := w.checkURL(*in.URL); msg != "" {
			f.Add("url", msg)
		}
	} else if create {
		f.Add("url", "is required")
	}
	if in.Description != nil && len(*in.Description) > 200 {
		f.Add("description", "must be at most 200 characters")
	}
	if in.Events != nil {
		if len(*in.Events) == 0 {
			f.Add("events", "must not be empty")
		}
		var list []string
		for _, e := range *in.Events {
			if !slices.Contains(WebhookEventTypes, e) {
				f.Add("events", "is not valid")
				break
			}
			if !slices.Contains(list, e) {
				list = append(list, e)
			}
		}
		events = "," + strings.Join(list, ",") + ","
	} else if create {
		f.Add("events", "is required")
	}
	if in.BalanceThreshold != nil && (*in.BalanceThreshold > maxBalance || *in.BalanceThreshold < -maxBalance) {
		f.Add("balanceThreshold", "is out of range")
	}
	return f, events
}

// checkURL answers why a receiver URL is refused, or "". Only https, except
// http to a loopback address when the server allows it (development:
// --webhooks-allow-http-loopback). No credentials in the URL, no fragment
// (those answer "is not valid"). The messages are problem/codes.go's.
func (w *Webhooks) checkURL(raw string) string {
	if len(raw) > 2000 {
		return "must be at most 2000 characters"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "must be an absolute https URL"
	}
	if u.User != nil {
		return "is not valid"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "is not valid"
	}
	host := u.Hostname()
	if host == "" || strings.ContainsAny(host, " %") {
		return "is not valid"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "is not valid"
		}
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if !w.allowHTTP {
			return "must be an absolute https URL"
		}
		if !isLoopback(host) {
			return "must be an https URL (plain http only for localhost)"
		}
		return ""
	}
	return "must be an absolute https URL"
}

// newWebhookSecret answers a fresh secret: "whsec_" and 32 random bytes in
// base64 (the HMAC key is the decoded bytes).
func newWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func (w *Webhooks) requireSuper(actor Actor) error {
	if actor.User == nil || actor.User.Role != models.RoleSuperAdmin {
		return problem.New(problem.Forbidden, "forbidden", "Only a super administrator may change webhooks; administrators may read them.")
	}
	return nil
}

// List answers every endpoint, oldest first.
func (w *Webhooks) List(ctx context.Context) ([]models.WebhookEndpoint, error) {
	var out []models.WebhookEndpoint
	err := w.svc.DB.NewSelect().Model(&out).Order("id").Scan(ctx)
	return out, err
}

// Get answers one endpoint by its public ID.
func (w *Webhooks) Get(ctx context.Context, publicID string) (*models.WebhookEndpoint, error) {
	return w.get(ctx, w.svc.DB, publicID)
}

func (w *Webhooks) get(ctx context.Context, db bun.IDB, publicID string) (*models.WebhookEndpoint, error) {
	e := new(models.WebhookEndpoint)
	err := db.NewSelect().Model(e).Where("public_id = ?", publicID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrWebhookNotFound
	}
	return e, err
}

func webhookObject(e *models.WebhookEndpoint) *AuditObject {
	return &AuditObject{Type: "webhook_endpoint", Ref: e.PublicID, Label: truncate(e.URL, 200)}
}

// Create adds an endpoint and answers it with its secret (shown once).
func (w *Webhooks) Create(ctx context.Context, actor Actor, in WebhookEndpointInput) (*models.WebhookEndpoint, string, error) {
	if err := w.requireSuper(actor); err != nil {
		return nil, "", err
	}
	f, events := w.validate(in, true)
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	secret := newWebhookSecret()
	sealed, err := w.svc.Box.Seal(secret)
	if err != nil {
		return nil, "", err
	}
	now := w.svc.Now()
	e := &models.WebhookEndpoint{PublicID: "wh_" + security.NewToken(12), URL: *in.URL, Events: events, Secret: sealed, Enabled: true, CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		e.Description = strings.TrimSpace(*in.Description)
	}
	if in.BalanceThreshold != nil {
		e.BalanceThreshold = *in.BalanceThreshold
	}
	if in.Enabled != nil {
		e.Enabled = *in.Enabled
	}
	err = w.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(e).Exec(ctx); err != nil {
			return err
		}
		if err := w.svc.sealedStored(ctx, tx); err != nil {
			return err
		}
		return w.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionWebhookCreated, Actor: actor, Object: webhookObject(e),
			Details: map[string]any{"url": e.URL, "events": strings.Trim(e.Events, ","), "enabled": e.Enabled}})
	})
	if err != nil {
		return nil, "", err
	}
	w.forget()
	return e, secret, nil
}

// Update changes an endpoint. Enabling it clears an automatic disable and
// its failure count.
func (w *Webhooks) Update(ctx context.Context, actor Actor, publicID string, in WebhookEndpointInput) (*models.WebhookEndpoint, error) {
	if err := w.requireSuper(actor); err != nil {
		return nil, err
	}
	f, events := w.validate(in, false)
	if err := f.Err(); err != nil {
		return nil, err
	}
	var e *models.WebhookEndpoint
	err := w.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if e, err = w.get(ctx, tx, publicID); err != nil {
			return err
		}
		changes := map[string]any{}
		if in.URL != nil && *in.URL != e.URL {
			changes["url"], e.URL = *in.URL, *in.URL
		}
		if in.Description != nil && strings.TrimSpace(*in.Description) != e.Description {
			e.Description = strings.TrimSpace(*in.Description)
			changes["description"] = e.Description
		}
		if in.Events != nil && events != e.Events {
			e.Events = events
			changes["events"] = strings.Trim(events, ",")
		}
		if in.BalanceThreshold != nil && *in.BalanceThreshold != e.BalanceThreshold {
			changes["balanceThreshold"], e.BalanceThreshold = *in.BalanceThreshold, *in.BalanceThreshold
		}
		if in.Enabled != nil && *in.Enabled != e.Enabled {
			changes["enabled"], e.Enabled = *in.Enabled, *in.Enabled
			if e.Enabled {
				e.DisabledReason, e.Failures, e.FailingSince = "", 0, nil
			}
		}
		if len(changes) == 0 {
			return nil
		}
		e.UpdatedAt = w.svc.Now()
		if _, err := tx.NewUpdate().Model(e).WherePK().Exec(ctx); err != nil {
			return err
		}
		// The row's secrets were read before and written back.
		if err := w.svc.sealedStored(ctx, tx); err != nil {
			return err
		}
		return w.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionWebhookUpdated, Actor: actor, Object: webhookObject(e), Details: changes})
	})
	if err != nil {
		return nil, err
	}
	w.forget()
	w.Wake()
	return e, nil
}

// Delete removes an endpoint with its queued and logged deliveries.
func (w *Webhooks) Delete(ctx context.Context, actor Actor, publicID string) error {
	if err := w.requireSuper(actor); err != nil {
		return err
	}
	err := w.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		e, err := w.get(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*models.WebhookDelivery)(nil)).Where("endpoint_id = ?", e.ID).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(e).WherePK().Exec(ctx); err != nil {
			return err
		}
		return w.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionWebhookDeleted, Actor: actor, Object: webhookObject(e)})
	})
	if err == nil {
		w.forget()
	}
	return err
}

// RotateSecret gives the endpoint a new secret (answered once). The old
// one keeps signing beside it for webhookPreviousSecretFor, so that the
// receiver can switch without losing a message.
func (w *Webhooks) RotateSecret(ctx context.Context, actor Actor, publicID string) (*models.WebhookEndpoint, string, error) {
	if err := w.requireSuper(actor); err != nil {
		return nil, "", err
	}
	secret := newWebhookSecret()
	sealed, err := w.svc.Box.Seal(secret)
	if err != nil {
		return nil, "", err
	}
	var e *models.WebhookEndpoint
	err = w.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if e, err = w.get(ctx, tx, publicID); err != nil {
			return err
		}
		now := w.svc.Now()
		until := now.Add(webhookPreviousSecretFor)
		e.PreviousSecret, e.PreviousUntil, e.Secret, e.UpdatedAt = e.Secret, &until, sealed, now
		if _, err := tx.NewUpdate().Model(e).Column("secret", "previous_secret", "previous_until", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := w.svc.sealedStored(ctx, tx); err != nil {
			return err
		}
		return w.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionWebhookRotated, Actor: actor, Object: webhookObject(e), Details: map[string]any{"previousUntil": until}})
	})
	if err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

// ---- recording ----

// forget drops the cached endpoint list (after a change on this instance).
func (w *Webhooks) forget() {
	w.mu.Lock()
	w.cached, w.cachedAt = nil, time.Time{}
	w.mu.Unlock()
}

// targets answers the enabled endpoints (cached for webhookEndpointsTTL).
func (w *Webhooks) targets(ctx context.Context, db bun.IDB) ([]webhookTarget, error) {
	w.mu.Lock()
	if !w.cachedAt.IsZero() && time.Since(w.cachedAt) < webhookEndpointsTTL {
		t := w.cached
		w.mu.Unlock()
		return t, nil
	}
	w.mu.Unlock()
	var rows []models.WebhookEndpoint
	if err := db.NewSelect().Model(&rows).Column("id", "events", "balance_threshold").Where("enabled = ?", true).Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	t := make([]webhookTarget, len(rows))
	for i, r := range rows {
		t[i] = webhookTarget{id: r.ID, events: r.Events, threshold: r.BalanceThreshold}
	}
	w.mu.Lock()
	w.cached, w.cachedAt = t, time.Now()
	w.mu.Unlock()
	return t, nil
}

// webhookPayload is the JSON body of a delivery (Standard Webhooks shape).
type webhookPayload struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// eventChunk is how many event rows one INSERT writes.
const eventChunk = 500

// record turns the audit entries that describe account changes into
// webhook events and deliveries, through db (the change's transaction).
// Nothing is written, and nothing but a cached lookup done, when no
// enabled endpoint wants the event. Deliveries are inserted set-based: one
// INSERT … SELECT per event type, however many accounts changed.
func (w *Webhooks) record(ctx context.Context, db bun.IDB, entries []AuditEntry, now time.Time) error {
	if len(entries) == 0 {
		return nil
	}
	mapped := false
	for _, e := range entries {
		if _, ok := webhookEventOf[e.Action]; ok {
			mapped = true
			break
		}
	}
	if !mapped {
		return nil
	}
	targets, err := w.targets(ctx, db)
	if err != nil || len(targets) == 0 {
		return err
	}
	runKey := security.NewToken(12)
	var rows []models.WebhookEvent
	wanted := map[string][]int64{} // type → endpoints for events without an endpoint of their own
	decoded := map[string]map[string]any{}
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		err := models.InsertWebhookEvents(ctx, db, rows)
		rows = rows[:0]
		return err
	}
	templates := map[payloadKey]*payloadTemplate{}
	ownEndpoint := false // some event row names its endpoint
	for _, e := range entries {
		typ, ok := webhookEventOf[e.Action]
		if !ok || e.Target == nil {
			continue
		}
		var want []webhookTarget
		for _, t := range targets {
			if t.wants(typ) {
				want = append(want, t)
			}
		}
		if len(want) == 0 {
			continue
		}
		details := e.Details
		if details == nil && e.DetailsJSON != "" {
			if d, ok := decoded[e.DetailsJSON]; ok {
				details = d
			} else {
				_ = json.Unmarshal([]byte(e.DetailsJSON), &details)
				decoded[e.DetailsJSON] = details
			}
		}
		if typ == EventAccountBalanceLow {
			data := webhookData(typ, e, details)
			before, _ := toInt64(details["before"])
			after, _ := toInt64(details["after"])
			for _, t := range want {
				if before >= t.threshold && after < t.threshold {
					d := map[string]any{"account": data["account"], "balance": after, "previousBalance": before, "threshold": t.threshold}
					if e.Reason != "" {
						d["reason"] = e.Reason
					}
					id := t.id
					row, err := eventRow(typ, e.Target.ID, &id, runKey, now, d)
					if err != nil {
						return err
					}
					rows = append(rows, row)
					ownEndpoint = true
				}
			}
		} else {
			var row models.WebhookEvent
			var err error
			var t *payloadTemplate
			if key, ok := templateKey(typ, e); ok {
				// A bulk change: one payload encoded per kind of entry,
				// the account spliced into it per row.
				if t, ok = templates[key]; !ok {
					if t, err = newPayloadTemplate(typ, e, details, now); err != nil {
						return err
					}
					templates[key] = t
				}
			}
			if t != nil {
				row, err = t.event(typ, e.Target, runKey, now)
			} else {
				row, err = eventRow(typ, e.Target.ID, nil, runKey, now, webhookData(typ, e, details))
			}
			if err != nil {
				return err
			}
			rows = append(rows, row)
			if _, ok := wanted[typ]; !ok {
				for _, t := range want {
					wanted[typ] = append(wanted[typ], t.id)
				}
			}
		}
		if len(rows) >= eventChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(rows) == 1 && !ownEndpoint && len(wanted) == 1 {
		// One account changed (every single-account change): the event
		// and its deliveries by prepared statements.
		err := w.recordOne(ctx, db, &rows[0], wanted[rows[0].Type], now)
		if err == nil {
			w.Wake()
		}
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	insert := func(cond string, args ...any) error {
		_, err := db.NewRaw(`INSERT INTO webhook_deliveries (endpoint_id, event_id, account_id, status, attempts, next_attempt_at, lease_owner, response_code, last_error, duration_ms, created_at, updated_at)
SELECT e.id, ev.id, ev.account_id, ?, 0, ?, '', 0, '', 0, ?, ?
FROM webhook_events ev JOIN webhook_endpoints e ON `+cond+`
WHERE ev.run_key = ?
ORDER BY ev.id, e.id`, append([]any{models.WebhookPending, now, now, now}, append(args, runKey)...)...).Exec(ctx)
		return err
	}
	// Events of one endpoint (a balance threshold crossed) only.
	if ownEndpoint {
		if err := insert("e.id = ev.endpoint_id"); err != nil {
			return err
		}
	}
	for typ, ids := range wanted {
		if err := insert("ev.endpoint_id IS NULL AND ev.type = ? AND e.id IN (?)", typ, bun.In(ids)); err != nil {
			return err
		}
	}
	w.Wake()
	return nil
}

// recordOne writes one event (of no endpoint of its own) and its
// deliveries to endpoints, in endpoint order, as prepared statements.
func (w *Webhooks) recordOne(ctx context.Context, db bun.IDB, ev *models.WebhookEvent, endpoints []int64, now time.Time) error {
	st := w.svc.Stmts
	var id int64
	if err := st.QueryRow(ctx, db, insertEventQuery, []any{ev.Type, ev.AccountID, ev.RunKey, ev.Payload, ev.CreatedAt}, &id); err != nil {
		return err
	}
	if len(endpoints) == 0 {
		return nil
	}
	const row = "(?, ?, ?, ?, 0, ?, '', 0, '', 0, ?, ?)"
	args := make([]any, 0, 7*len(endpoints))
	for _, e := range endpoints {
		args = append(args, e, id, ev.AccountID, models.WebhookPending, now, now, now)
	}
	_, err := st.Exec(ctx, db, insertDeliveriesQuery+strings.Repeat(row+", ", len(endpoints)-1)+row, args...)
	return err
}

const (
	insertEventQuery      = "INSERT INTO webhook_events (type, account_id, endpoint_id, run_key, payload, created_at) VALUES (?, ?, NULL, ?, ?, ?) RETURNING id"
	insertDeliveriesQuery = "INSERT INTO webhook_deliveries (endpoint_id, event_id, account_id, status, attempts, next_attempt_at, lease_owner, response_code, last_error, duration_ms, created_at, updated_at) VALUES "
)

// recordUsage raises account.balance_low for the ledger rows of service
// usage events (in the order they were applied) that take a balance from
// at or above an endpoint's threshold to below it: once per crossing,
// through db, the usage transaction. Without an endpoint that wants the
// event it costs a cached lookup.
func (w *Webhooks) recordUsage(ctx context.Context, db bun.IDB, rows []models.LedgerEntry, accounts map[string]*models.Entitlement, now time.Time) error {
	targets, err := w.targets(ctx, db)
	if err != nil {
		return err
	}
	var want []webhookTarget
	for _, t := range targets {
		if t.wants(EventAccountBalanceLow) {
			want = append(want, t)
		}
	}
	if len(want) == 0 {
		return nil
	}
	var entries []AuditEntry
	var users map[int64]*models.User
	for _, r := range rows {
		before := r.BalanceAfter - r.Amount
		if r.UserID == nil || !slices.ContainsFunc(want, func(t webhookTarget) bool { return before >= t.threshold && r.BalanceAfter < t.threshold }) {
			continue
		}
		if users == nil {
			users = make(map[int64]*models.User, len(accounts))
			for _, a := range accounts {
				users[a.ID] = &models.User{ID: a.ID, PublicID: a.PublicID, Username: a.Username}
			}
		}
		if u := users[*r.UserID]; u != nil {
			entries = append(entries, AuditEntry{Action: ActionUserBalanceChanged, Target: u, Reason: r.Reason,
				Details: map[string]any{"before": before, "after": r.BalanceAfter}})
		}
	}
	return w.record(ctx, db, entries, now)
}

// payloadKey is what an event's payload depends on besides its account,
// for the types whose account object is the account's names alone.
type payloadKey struct {
	typ, details, actorPublicID, actorUsername, reason string
}

// templateKey answers the payload key of an entry whose details were
// encoded once for many entries (DetailsJSON: a bulk change), and false
// for anything else.
func templateKey(typ string, e AuditEntry) (payloadKey, bool) {
	if e.DetailsJSON == "" || e.Details != nil || typ == EventAccountCreated || typ == EventAccountSignedIn || typ == EventAccountBalanceLow {
		return payloadKey{}, false
	}
	k := payloadKey{typ: typ, details: e.DetailsJSON, reason: e.Reason}
	if u := e.Actor.User; u != nil {
		k.actorPublicID, k.actorUsername = u.PublicID, u.Username
	}
	return k, true
}

// payloadTemplate is an event's payload encoded once with a placeholder
// for the account object: head + account + tail.
type payloadTemplate struct{ head, tail string }

// accountPlaceholder stands for the account in a template's encoding.
const accountPlaceholder = "gatehouse-webhook-account-placeholder"

func newPayloadTemplate(typ string, e AuditEntry, details map[string]any, now time.Time) (*payloadTemplate, error) {
	data := webhookData(typ, e, details)
	data["account"] = accountPlaceholder
	b, err := json.Marshal(webhookPayload{Type: typ, Timestamp: now.UTC(), Data: data})
	if err != nil {
		return nil, err
	}
	s, q := string(b), `"`+accountPlaceholder+`"`
	if strings.Count(s, q) != 1 {
		return nil, nil // the placeholder appears elsewhere (in a reason): each row encoded whole
	}
	head, tail, _ := strings.Cut(s, q)
	return &payloadTemplate{head: head, tail: tail}, nil
}

// webhookAccount is the account object of an event whose account carries
// its names only; its encoding is the same as that of the map
// webhookData builds (keys in the same order).
type webhookAccount struct {
	PublicID string `json:"publicId"`
	Username string `json:"username"`
}

// event is the event row of one account from the template.
func (t *payloadTemplate) event(typ string, target *models.User, runKey string, now time.Time) (models.WebhookEvent, error) {
	acct, err := json.Marshal(webhookAccount{PublicID: target.PublicID, Username: target.Username})
	if err != nil {
		return models.WebhookEvent{}, err
	}
	return models.WebhookEvent{Type: typ, AccountID: target.ID, RunKey: runKey, Payload: t.head + string(acct) + t.tail, CreatedAt: now}, nil
}

func eventRow(typ string, accountID int64, endpointID *int64, runKey string, now time.Time, data map[string]any) (models.WebhookEvent, error) {
	b, err := json.Marshal(webhookPayload{Type: typ, Timestamp: now.UTC(), Data: data})
	if err != nil {
		return models.WebhookEvent{}, err
	}
	return models.WebhookEvent{Type: typ, AccountID: accountID, EndpointID: endpointID, RunKey: runKey, Payload: string(b), CreatedAt: now}, nil
}

// webhookData is an event's data: the account, who acted and why, and the
// type's own fields (never secrets: session IDs and tokens stay out).
func webhookData(typ string, e AuditEntry, details map[string]any) map[string]any {
	acct := map[string]any{"publicId": e.Target.PublicID, "username": e.Target.Username}
	d := map[string]any{"account": acct}
	switch typ {
	case EventAccountCreated:
		acct["role"], acct["status"] = details["role"], details["status"]
	case EventAccountUpdated:
		if before, ok := details["before"]; ok {
			d["before"], d["after"] = before, details["after"]
		}
	case EventAccountRoleChanged:
		before, _ := details["before"].(map[string]any)
		after, _ := details["after"].(map[string]any)
		d["before"], d["after"] = before["role"], after["role"]
	case EventAccountStatusChanged:
		d["before"], d["after"] = details["before"], details["after"]
	case EventAccountSessionsRevoked:
		if n, ok := details["revoked"]; ok {
			d["revoked"] = n
		}
	case EventAccountSignedIn:
		d["method"] = details["method"]
		if e.Actor.IP != "" {
			d["ip"] = e.Actor.IP
		}
	case EventAccountLocked:
		d["lockedUntil"] = details["lockedUntil"]
	}
	if u := e.Actor.User; u != nil && typ != EventAccountSignedIn {
		d["actor"] = map[string]any{"publicId": u.PublicID, "username": u.Username}
	}
	if e.Reason != "" {
		d["reason"] = e.Reason
	}
	return d
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// ---- delivery ----

// dueWhere is the claimable condition: pending and due, or sending with a
// lease that ran out (its sender died), of an enabled endpoint, and the
// oldest open delivery of its endpoint and account (order per account).
const dueWhere = `((wd.status = ? AND wd.next_attempt_at <= ?) OR (wd.status = ? AND wd.lease_until < ?))
AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = wd.endpoint_id AND e.enabled = ?)
AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = wd.endpoint_id AND p.account_id = wd.account_id AND p.id < wd.id AND p.status IN (?, ?))`

func dueArgs(now time.Time) []any {
	return []any{models.WebhookPending, now, models.WebhookSending, now, true, models.WebhookPending, models.WebhookSending}
}

// dueQuery selects the ids of the next batch of due deliveries.
func dueQuery(db bun.IDB, now time.Time) *bun.SelectQuery {
	return db.NewSelect().TableExpr("webhook_deliveries AS wd").Column("wd.id").Where(dueWhere, dueArgs(now)...).
		OrderExpr("wd.id").Limit(webhookBatch)
}

// DeliverDue claims and delivers one batch of due deliveries and answers
// how many it tried.
func (w *Webhooks) DeliverDue(ctx context.Context) (int, error) {
	now := w.svc.Now()
	db := w.svc.DB
	var ids []int64
	if err := dueQuery(db, now).Scan(ctx, &ids); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	owner := w.ownID + "." + security.NewToken(6)
	// The conditional UPDATE repeats the condition: of two senders that
	// picked the same rows, each row goes to one. It answers the rows it
	// claimed (RETURNING), so no SELECT of them follows.
	var rows []models.WebhookDelivery
	if _, err := db.NewUpdate().TableExpr("webhook_deliveries AS wd").
		Set("status = ?", models.WebhookSending).Set("lease_owner = ?", owner).Set("lease_until = ?", now.Add(webhookLease)).
		Set("attempts = attempts + 1").Set("updated_at = ?", now).
		Where("wd.id IN (?)", bun.In(ids)).Where(dueWhere, dueArgs(now)...).Returning("*").Exec(ctx, &rows); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	slices.SortFunc(rows, func(a, b models.WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	eventIDs := make([]int64, 0, len(rows))
	endpointIDs := []int64{}
	for _, r := range rows {
		eventIDs = append(eventIDs, r.EventID)
		if !slices.Contains(endpointIDs, r.EndpointID) {
			endpointIDs = append(endpointIDs, r.EndpointID)
		}
	}
	var events []models.WebhookEvent
	if err := db.NewSelect().Model(&events).Where("id IN (?)", bun.In(eventIDs)).Scan(ctx); err != nil {
		return 0, err
	}
	var endpoints []models.WebhookEndpoint
	if err := db.NewSelect().Model(&endpoints).Where("id IN (?)", bun.In(endpointIDs)).Scan(ctx); err != nil {
		return 0, err
	}
	eventByID := map[int64]*models.WebhookEvent{}
	for i := range events {
		eventByID[events[i].ID] = &events[i]
	}
	keys := map[int64][][]byte{}
	endpointByID := map[int64]*models.WebhookEndpoint{}
	for i := range endpoints {
		e := &endpoints[i]
		endpointByID[e.ID] = e
		keys[e.ID] = w.signingKeys(e, now)
	}
	outcomes := make([]deliveryOutcome, len(rows))
	sem := make(chan struct{}, webhookParallel)
	var wg sync.WaitGroup
	for i := range rows {
		r := &rows[i]
		ev, ep := eventByID[r.EventID], endpointByID[r.EndpointID]
		if ev == nil || ep == nil {
			outcomes[i] = deliveryOutcome{reason: WebhookErrGone, err: "The event or its endpoint no longer exists."}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outcomes[i] = w.send(ep, ev, keys[ep.ID])
		}()
	}
	wg.Wait()
	if err := w.finishDelivered(ctx, rows, owner, outcomes); err != nil {
		return len(rows), err
	}
	for i := range rows {
		if outcomes[i].ok() {
			continue
		}
		if err := w.finishFailed(ctx, &rows[i], owner, outcomes[i]); err != nil {
			return len(rows), err
		}
	}
	return len(rows), nil
}

// finishDelivered records the batch's successful attempts in one UPDATE
// (each row's response code and duration by a CASE on its id, only while
// the lease is still this sender's) and each of their endpoints' health
// once: a batch of 64 deliveries to two endpoints is three statements, not
// 128.
func (w *Webhooks) finishDelivered(ctx context.Context, rows []models.WebhookDelivery, owner string, outcomes []deliveryOutcome) error {
	var ids, endpoints []int64
	var codes, durations strings.Builder
	for i := range rows {
		o := outcomes[i]
		if !o.ok() {
			continue
		}
		id := strconv.FormatInt(rows[i].ID, 10)
		ids = append(ids, rows[i].ID)
		codes.WriteString(" WHEN " + id + " THEN " + strconv.Itoa(o.code))
		durations.WriteString(" WHEN " + id + " THEN " + strconv.FormatInt(int64(o.duration/time.Millisecond), 10))
		if !slices.Contains(endpoints, rows[i].EndpointID) {
			endpoints = append(endpoints, rows[i].EndpointID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	now := w.svc.Now()
	if _, err := w.svc.DB.NewUpdate().Model((*models.WebhookDelivery)(nil)).
		Set("status = ?", models.WebhookDelivered).Set("delivered_at = ?", now).
		Set("lease_owner = ''").Set("lease_until = NULL").Set("updated_at = ?", now).Set("last_attempt_at = ?", now).
		Set("response_code = CASE id"+codes.String()+" ELSE response_code END").Set("last_error = ''").Set("error_code = ''").
		Set("duration_ms = CASE id"+durations.String()+" ELSE duration_ms END").
		Where("id IN (?)", bun.In(ids)).Where("lease_owner = ?", owner).Exec(ctx); err != nil {
		return err
	}
	_, err := w.svc.DB.NewUpdate().Model((*models.WebhookEndpoint)(nil)).
		Set("failures = 0").Set("failing_since = NULL").Set("last_success_at = ?", now).
		Where("id IN (?)", bun.In(endpoints)).Where("failures <> 0 OR last_success_at IS NULL OR last_success_at < ?", now.Add(-time.Minute)).Exec(ctx)
	return err
}

// Reason codes of a failed delivery attempt (webhook_deliveries.error_code,
// the delivery log's lastErrorCode) besides outbound's timeout,
// connection_refused, dns, unreachable, tls, redirect_refused and
// bad_response. bad_status has the receiver's status as its parameter.
const (
	WebhookErrBadStatus        = "bad_status"
	WebhookErrSecretUnreadable = "secret_unreadable"
	WebhookErrURLNotAllowed    = "url_not_allowed"
	WebhookErrGone             = "gone"
	WebhookErrExpired          = "expired"
)

// deliveryOutcome is one attempt's result.
type deliveryOutcome struct {
	code     int
	reason   string // the stable code of err
	err      string
	duration time.Duration
}

func (o deliveryOutcome) ok() bool { return o.err == "" && o.code >= 200 && o.code < 300 }

// signingKeys answers the endpoint's HMAC keys: the current secret's, and
// the previous one's while a rotation lasts.
func (w *Webhooks) signingKeys(e *models.WebhookEndpoint, now time.Time) [][]byte {
	var keys [][]byte
	for _, sealed := range []string{e.Secret, e.PreviousSecret} {
		if sealed == "" || (sealed == e.PreviousSecret && (e.PreviousUntil == nil || !now.Before(*e.PreviousUntil))) {
			continue
		}
		plain, err := w.svc.Box.Open(sealed)
		if err != nil {
			continue
		}
		if k, err := WebhookKey(plain); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// WebhookKey decodes a "whsec_" secret into its HMAC key.
func WebhookKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
}

// WebhookMessageID is the webhook-id of an event: the same on every
// attempt and every resend, so that receivers can drop repeats.
func WebhookMessageID(eventID int64) string { return "msg_" + strconv.FormatInt(eventID, 10) }

// SignWebhook answers the webhook-signature header value: "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" per key, space-separated.
func SignWebhook(keys [][]byte, id string, ts int64, body []byte) string {
	var sigs []string
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		fmt.Fprintf(m, "%s.%d.", id, ts)
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

func (w *Webhooks) send(ep *models.WebhookEndpoint, ev *models.WebhookEvent, keys [][]byte) deliveryOutcome {
	if len(keys) == 0 {
		return deliveryOutcome{reason: WebhookErrSecretUnreadable, err: "The signing secret cannot be read (was the secret key changed?)."}
	}
	if msg := w.checkURL(ep.URL); msg != "" {
		return deliveryOutcome{reason: WebhookErrURLNotAllowed, err: "The endpoint URL is no longer allowed: " + msg + "."}
	}
	id := WebhookMessageID(ev.ID)
	ts := time.Now().Unix()
	body := []byte(ev.Payload)
	ctx, cancel := context.WithTimeout(context.Background(), outbound.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, strings.NewReader(ev.Payload))
	if err != nil {
		return deliveryOutcome{reason: outbound.BadResponse, err: outbound.Message(outbound.BadResponse)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", SignWebhook(keys, id, ts, body))
	start := time.Now()
	res, err := w.client.Do(req)
	took := time.Since(start)
	if err != nil {
		return deliveryOutcome{reason: outbound.Reason(err), err: outbound.Message(outbound.Classify(err)), duration: took}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	o := deliveryOutcome{code: res.StatusCode, duration: took}
	if !o.ok() {
		o.reason = WebhookErrBadStatus
		o.err = fmt.Sprintf("The receiver answered HTTP %d.", res.StatusCode)
	}
	return o
}

// webhookBackoff is the wait after the attempts-th failed attempt.
func webhookBackoff(attempts int) time.Duration {
	d := webhookFirstRetry
	for i := 1; i < attempts && d < webhookMaxRetry; i++ {
		d *= 2
	}
	return min(d, webhookMaxRetry)
}

// finishFailed records a failed attempt (only while the lease is still
// this sender's): retried with backoff, or failed after webhookRetryFor;
// the endpoint's failure count grows, and an endpoint failing for long is
// disabled. Successful attempts are recorded by finishDelivered.
func (w *Webhooks) finishFailed(ctx context.Context, r *models.WebhookDelivery, owner string, o deliveryOutcome) error {
	now := w.svc.Now()
	q := w.svc.DB.NewUpdate().Model((*models.WebhookDelivery)(nil)).
		Set("lease_owner = ''").Set("lease_until = NULL").Set("updated_at = ?", now).Set("last_attempt_at = ?", now).
		Set("response_code = ?", o.code).Set("last_error = ?", truncate(o.err, 500)).Set("error_code = ?", o.reason).Set("duration_ms = ?", int(o.duration/time.Millisecond)).
		Where("id = ?", r.ID).Where("lease_owner = ?", owner)
	if now.Sub(r.CreatedAt) >= webhookRetryFor {
		q = q.Set("status = ?", models.WebhookFailed)
	} else {
		q = q.Set("status = ?", models.WebhookPending).Set("next_attempt_at = ?", now.Add(webhookBackoff(r.Attempts)))
	}
	if _, err := q.Exec(ctx); err != nil {
		return err
	}
	w.log.Warn("webhooks: delivery failed", "delivery", r.ID, "attempt", r.Attempts, "code", o.code, "err", o.err)
	if _, err := w.svc.DB.NewUpdate().Model((*models.WebhookEndpoint)(nil)).
		Set("failures = failures + 1").Set("failing_since = COALESCE(failing_since, ?)", now).
		Where("id = ?", r.EndpointID).Exec(ctx); err != nil {
		return err
	}
	return w.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*models.WebhookEndpoint)(nil)).
			Set("enabled = ?", false).Set("disabled_reason = 'failing'").Set("updated_at = ?", now).
			Where("id = ?", r.EndpointID).Where("enabled = ?", true).
			Where("failures >= ?", webhookDisableFailures).Where("failing_since <= ?", now.Add(-webhookDisableAfter)).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		w.forget()
		e := new(models.WebhookEndpoint)
		if err := tx.NewSelect().Model(e).Where("id = ?", r.EndpointID).Scan(ctx); err != nil {
			return err
		}
		w.log.Error("webhooks: endpoint disabled after failing", "endpoint", e.PublicID, "failures", e.Failures)
		return w.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionWebhookDisabled, ActorLabel: "webhooks", Object: webhookObject(e),
			Details: map[string]any{"failures": e.Failures, "failingSince": e.FailingSince}})
	})
}

// Sweep fails deliveries out of retry time (those of disabled endpoints
// too) and deletes finished ones older than webhookKeep with their events.
func (w *Webhooks) Sweep(ctx context.Context) error {
	now := w.svc.Now()
	db := w.svc.DB
	if _, err := db.NewUpdate().Model((*models.WebhookDelivery)(nil)).Set("status = ?", models.WebhookFailed).Set("updated_at = ?", now).
		Set("last_error = CASE WHEN last_error = '' THEN ? ELSE last_error END", "Not delivered within the retry period.").
		Set("error_code = CASE WHEN error_code = '' THEN ? ELSE error_code END", WebhookErrExpired).
		Where("status = ?", models.WebhookPending).Where("created_at <= ?", now.Add(-webhookRetryFor)).Exec(ctx); err != nil {
		return err
	}
	if _, err := db.NewDelete().Model((*models.WebhookDelivery)(nil)).
		Where("status IN (?)", bun.In([]string{models.WebhookDelivered, models.WebhookFailed})).Where("updated_at < ?", now.Add(-webhookKeep)).Exec(ctx); err != nil {
		return err
	}
	_, err := db.NewRaw("DELETE FROM webhook_events WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)", now.Add(-webhookKeep)).Exec(ctx)
	return err
}

// WebhookDeliveryView is a delivery with its event, for the log.
type WebhookDeliveryView struct {
	models.WebhookDelivery
	Type      string
	MessageID string
	Payload   string
}

// DeliveryList is one page of an endpoint's log, newest first.
type DeliveryList struct {
	Items []WebhookDeliveryView
	Total int
}

// Deliveries answers a page of an endpoint's delivery log.
func (w *Webhooks) Deliveries(ctx context.Context, publicID, status string, page, perPage int) (DeliveryList, error) {
	var out DeliveryList
	if status != "" && !slices.Contains([]string{models.WebhookPending, models.WebhookSending, models.WebhookDelivered, models.WebhookFailed}, status) {
		return out, (&problem.Error{Kind: problem.BadRequest, Code: "invalid_query", Message: "Some query parameters are not valid."}).WithField("status", "must be pending, sending, delivered or failed")
	}
	e, err := w.Get(ctx, publicID)
	if err != nil {
		return out, err
	}
	var rows []models.WebhookDelivery
	q := w.svc.DB.NewSelect().Model(&rows).Where("endpoint_id = ?", e.ID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	n, err := q.OrderExpr("id DESC").Limit(int64(perPage)).Offset(int64((page - 1) * perPage)).ScanAndCount(ctx)
	if err != nil {
		return out, err
	}
	out.Total = int(n)
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.EventID
	}
	var events []models.WebhookEvent
	if err := w.svc.DB.NewSelect().Model(&events).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return out, err
	}
	byID := map[int64]models.WebhookEvent{}
	for _, ev := range events {
		byID[ev.ID] = ev
	}
	for _, r := range rows {
		ev := byID[r.EventID]
		out.Items = append(out.Items, WebhookDeliveryView{WebhookDelivery: r, Type: ev.Type, MessageID: WebhookMessageID(r.EventID), Payload: ev.Payload})
	}
	return out, nil
}

// Resend queues the delivery's event to its endpoint again (a new
// delivery with the same webhook-id).
func (w *Webhooks) Resend(ctx context.Context, actor Actor, publicID string, deliveryID int64) (*models.WebhookDelivery, error) {
	if err := w.requireSuper(actor); err != nil {
		return nil, err
	}
	var d *models.WebhookDelivery
	err := w.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		e, err := w.get(ctx, tx, publicID)
		if err != nil {
			return err
		}
		old := new(models.WebhookDelivery)
		if err := tx.NewSelect().Model(old).Where("id = ?", deliveryID).Where("endpoint_id = ?", e.ID).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errNotFound("The delivery")
			}
			return err
		}
		now := w.svc.Now()
		d = &models.WebhookDelivery{EndpointID: e.ID, EventID: old.EventID, AccountID: old.AccountID, Status: models.WebhookPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
			return err
		}
		return w.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionWebhookResent, Actor: actor, Object: webhookObject(e), Details: map[string]any{"delivery": old.ID, "event": WebhookMessageID(old.EventID)}})
	})
	if err != nil {
		return nil, err
	}
	w.Wake()
	return d, nil
}

// Pending reports whether any delivery of an enabled endpoint is open
// (tests wait on it).
func (w *Webhooks) Pending(ctx context.Context) (bool, error) {
	return w.svc.DB.NewSelect().TableExpr("webhook_deliveries AS wd").
		Where("wd.status IN (?)", bun.In([]string{models.WebhookPending, models.WebhookSending})).
		Where("EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = wd.endpoint_id AND e.enabled = ?)", true).Exists(ctx)
}
