package service

// Entitlements and metered usage for service API keys.
//
// A usage event (charge, credit or refund) names an account, an amount in
// minor units and an idempotency key that is unique per API key. A single
// charge is one transaction of four prepared statements (Charge). A batch
// is one transaction that
//
//   - reads the stored answers of the events' idempotency keys, before the
//     transaction (a key seen before answers its first result again,
//     never charging twice; a repeat costs no write);
//   - reads the named accounts in one statement (public ID, username or
//     address) and, on PostgreSQL, locks their rows in id order
//     (models.LockUsers, as the account-change engine does);
//   - applies the events in order in memory, refusing a charge that would
//     take the balance below zero unless the event allows it;
//   - stores every answer with one conditional insert (INSERT ... ON
//     CONFLICT DO NOTHING): when a concurrent copy of an event got there
//     first, the transaction rolls back and runs again, and then answers
//     the stored result;
//   - adds to the balances in one UPDATE, writes one ledger row per applied
//     event (the key as actor, with the event's metadata) and one audit row
//     for the batch.
//
// The rule for going below zero: a charge is refused (insufficient_balance,
// stored like a success, so that a retry of the same key answers the same)
// when it would leave the balance negative, unless the event says
// allowNegative — the service's explicit decision to extend credit, which
// the ledger records. Credits and refunds add to the balance.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// Usage event kinds.
const (
	UsageCharge = "charge"
	UsageCredit = "credit"
	UsageRefund = "refund"
)

// Usage answer statuses.
const (
	UsageApplied  = "applied"
	UsageReplayed = "replayed"
	UsageRefused  = "refused"
)

// ActionUsageBatch is the audit action of a batch of usage events. A
// single charge has no audit row: its ledger row records it (key, amount,
// reason, metadata), as a batch's ledger rows record each event.
const ActionUsageBatch = "usage.batch"

const (
	// MaxUsageBatch is how many events one batch may hold.
	MaxUsageBatch = 1000
	// UsageKeyRetention is how long an idempotency key is remembered.
	UsageKeyRetention = 7 * 24 * time.Hour
	maxUsageMetadata  = 4096
	maxIdempotencyKey = 200
	usageRetries      = 5
)

// Usage refusals.
var (
	ErrInsufficientBalance = problem.New(problem.Conflict, "insufficient_balance", "The charge would take the balance below zero.")
	ErrIdempotencyReused   = problem.New(problem.Conflict, "idempotency_key_reused", "This idempotency key was used for a different event (type or amount); use a new key.")
	ErrUsageBillingOff     = problem.New(problem.Conflict, "usage_billing_off", "Usage charges need the usage billing mode (Settings, Billing).")
	errUsageRace           = errors.New("usage: a concurrent request stored an idempotency key first")
)

// Usage reads entitlements and applies usage events.
type Usage struct {
	svc *Services
	// writer lets one usage transaction at a time at SQLite's write lock
	// (see writeTx).
	writer chan struct{}
}

// writeTx runs fn in a transaction. On SQLite, usage transactions of this
// instance queue here for the database's one write lock: a transaction
// that found the lock taken waited in SQLite's busy handler, which sleeps
// 1, 2, 5, … up to 100 ms between tries, and the lock stood idle while its
// waiters slept (batches of 1,000 events reached a third of the rate the
// CPU allowed, with p99 above 2 s). Here the next one starts as soon as
// the previous commits. Other writers still meet the lock in SQLite.
func (u *Usage) writeTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	if u.writer != nil {
		select {
		case u.writer <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-u.writer }()
	}
	return u.svc.inTx(ctx, fn)
}

// UsageEvent is one charge, credit or refund.
type UsageEvent struct {
	Account        string
	Amount         int64
	IdempotencyKey string
	Type           string
	Reason         string
	Metadata       json.RawMessage
	AllowNegative  bool
}

// UsageResult is one event's answer.
type UsageResult struct {
	Status string // applied, replayed, refused
	Charge *models.UsageCharge
	Err    *problem.Error
}

// Entitlement is an account as a service sees it.
type Entitlement struct {
	models.Entitlement
	BillingMode string
	Currency    string
}

// Entitlement reads the account name names (public ID, username or
// address) in one indexed statement.
func (u *Usage) Entitlement(ctx context.Context, name string) (*Entitlement, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 320 {
		return nil, errNotFound("The account")
	}
	rows, err := models.EntitlementOf(ctx, u.svc.Stmts, u.svc.DB, name)
	if err != nil {
		return nil, err
	}
	e := models.ResolveEntitlement(rows, name)
	if e == nil {
		return nil, errNotFound("The account")
	}
	b, err := u.svc.Settings.Billing(ctx)
	if err != nil {
		return nil, err
	}
	return &Entitlement{Entitlement: *e, BillingMode: b.Mode, Currency: b.Currency}, nil
}

// check validates one event; the field names are prefixed.
func (e *UsageEvent) check(f problem.Fields, prefix string) {
	e.Account = strings.TrimSpace(e.Account)
	if e.Account == "" || len(e.Account) > 320 {
		f.Add(prefix+"account", "must be 1 to 320 characters")
	}
	if e.Amount < 1 || e.Amount > maxBalance {
		f.Add(prefix+"amount", "must be a whole number from 1 to 9007199254740992")
	}
	if e.IdempotencyKey == "" || len(e.IdempotencyKey) > maxIdempotencyKey || !utf8.ValidString(e.IdempotencyKey) {
		f.Add(prefix+"idempotencyKey", "must be 1 to 200 characters")
	}
	if e.Type == "" {
		e.Type = UsageCharge
	}
	if e.Type != UsageCharge && e.Type != UsageCredit && e.Type != UsageRefund {
		f.Add(prefix+"type", "must be charge, credit or refund")
	}
	if utf8.RuneCountInString(e.Reason) > 500 {
		f.Add(prefix+"reason", "must be at most 500 characters")
	}
	if len(e.Metadata) > 0 && string(e.Metadata) != "null" {
		if len(e.Metadata) > maxUsageMetadata {
			f.Add(prefix+"metadata", "must be at most 4 KiB of JSON")
		} else if t := strings.TrimSpace(string(e.Metadata)); !strings.HasPrefix(t, "{") || !json.Valid(e.Metadata) {
			f.Add(prefix+"metadata", "must be a JSON object")
		}
	} else {
		e.Metadata = nil
	}
}

func (e *UsageEvent) delta() int64 {
	if e.Type == UsageCharge {
		return -e.Amount
	}
	return e.Amount
}

// Charge applies one event. The answer's status tells a first answer
// (applied) from a repeat (replayed); a refusal is the error (stored
// refusals are replayed as the same error).
//
// One immediate transaction of four statements, all prepared: the account
// read (chargeAccount), one conditional UPDATE ... RETURNING of its
// balance (models.ChargeBalance: the check and the change in one step),
// the conditional insert of the answer (INSERT ... ON CONFLICT DO
// NOTHING: when the idempotency key is taken, by an earlier or a
// concurrent copy, the transaction rolls back and the stored answer is
// replayed) and the ledger row, which is the charge's record: the key as
// actor, the reason and the metadata (no audit row per charge; batches
// write one).
func (u *Usage) Charge(ctx context.Context, actor Actor, e UsageEvent) (*UsageResult, error) {
	f := problem.Fields{}
	e.check(f, "")
	if err := f.Err(); err != nil {
		return nil, err
	}
	if err := u.usable(ctx, actor); err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		var res UsageResult
		err := u.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			var err error
			res, err = u.chargeTx(ctx, tx, actor, &e)
			return err
		})
		if errors.Is(err, errUsageRace) {
			stored, err := models.UsageChargesByKeys(ctx, u.svc.DB, actor.Key.ID, []string{e.IdempotencyKey})
			if err != nil {
				return nil, err
			}
			if len(stored) == 0 && try < usageRetries {
				continue // forgotten meanwhile (the sweep): charge again
			}
			if len(stored) == 0 {
				return nil, errUsageRace
			}
			res = replay(&e, &stored[0])
		} else if err != nil {
			return nil, err
		}
		if res.Err != nil {
			return nil, res.Err
		}
		return &res, nil
	}
}

// storedOr answers errUsageRace when the idempotency key is stored (a
// repeat answers the stored result, whatever happened since), else refusal.
func (u *Usage) storedOr(ctx context.Context, tx bun.Tx, keyID int64, idem string, refusal error) error {
	stored, err := models.UsageChargesByKeys(ctx, tx, keyID, []string{idem})
	if err != nil {
		return err
	}
	if len(stored) > 0 {
		return errUsageRace
	}
	return refusal
}

// usable refuses a caller without a key and the usage API while the
// billing mode is not usage.
func (u *Usage) usable(ctx context.Context, actor Actor) error {
	if actor.Key == nil {
		return ErrKeyNotAllowed
	}
	b, err := u.svc.Settings.Billing(ctx)
	if err != nil {
		return err
	}
	if b.Mode != "usage" {
		return ErrUsageBillingOff
	}
	return nil
}

// chargeTx is Charge's transaction; errUsageRace when the idempotency key
// is taken (nothing written then).
func (u *Usage) chargeTx(ctx context.Context, tx bun.Tx, actor Actor, e *UsageEvent) (UsageResult, error) {
	key, st := actor.Key, u.svc.Stmts
	rows, err := models.EntitlementOf(ctx, st, tx, e.Account)
	if err != nil {
		return UsageResult{}, err
	}
	acc := models.ResolveEntitlement(rows, e.Account)
	if acc == nil {
		// Not stored; a repeat of a key whose account has gone since
		// answers the stored result.
		return UsageResult{}, u.storedOr(ctx, tx, key.ID, e.IdempotencyKey, errNotFound("The account"))
	}
	now := u.svc.Now()
	d := e.delta()
	lo := -maxBalance
	if d < 0 && !e.AllowNegative {
		lo = 0
	}
	row := models.UsageCharge{KeyID: key.ID, IdempotencyKey: e.IdempotencyKey, UserID: &acc.ID, UserPublicID: acc.PublicID,
		Kind: e.Type, Amount: e.Amount, Status: UsageApplied, CreatedAt: now}
	balance, changed, err := models.ChargeBalance(ctx, st, tx, acc.ID, d, lo, maxBalance, now)
	if err != nil {
		return UsageResult{}, err
	}
	res := UsageResult{Status: UsageApplied, Charge: &row}
	if !changed {
		cur, err := models.BalanceOf(ctx, st, tx, acc.ID)
		if errors.Is(err, models.ErrNotFound) {
			return UsageResult{}, u.storedOr(ctx, tx, key.ID, e.IdempotencyKey, errNotFound("The account"))
		} else if err != nil {
			return UsageResult{}, err
		}
		if next := cur + d; next > maxBalance || next < -maxBalance {
			// Out of range: not stored, like a field error.
			return UsageResult{}, u.storedOr(ctx, tx, key.ID, e.IdempotencyKey, ErrBalanceRange)
		}
		balance = cur
		row.Status = ErrInsufficientBalance.Code
		res = UsageResult{Status: UsageRefused, Err: ErrInsufficientBalance, Charge: &row}
	}
	row.BalanceAfter = balance
	stored, err := models.InsertUsageCharge(ctx, st, tx, &row)
	if err != nil {
		return UsageResult{}, err
	}
	if !stored {
		return UsageResult{}, errUsageRace
	}
	if !changed {
		return res, nil
	}
	meta := ""
	if e.Metadata != nil {
		meta = string(e.Metadata)
	}
	ledger := []models.LedgerEntry{{UserID: &acc.ID, UserPublicID: acc.PublicID, CreatedAt: now, Amount: d, BalanceAfter: balance,
		ActorKeyID: &key.ID, ActorUsername: KeyActorLabel(key), Reason: truncate(e.Reason, 500), Metadata: meta,
		ActorKeyPrefix: key.Prefix, IdempotencyKey: e.IdempotencyKey, UsageType: e.Type}}
	if err := models.InsertLedgerEntry(ctx, st, tx, &ledger[0]); err != nil {
		return UsageResult{}, err
	}
	// account.balance_low when the charge crosses an endpoint's threshold.
	return res, u.svc.Webhooks.recordUsage(ctx, tx, ledger, map[string]*models.Entitlement{e.Account: acc}, now)
}

// Batch applies up to MaxUsageBatch events in one transaction, each with
// its own answer. An event that is not valid is refused alone.
func (u *Usage) Batch(ctx context.Context, actor Actor, events []UsageEvent) ([]UsageResult, error) {
	if len(events) == 0 {
		return nil, problem.Fields{"events": "is required"}.Err()
	}
	if len(events) > MaxUsageBatch {
		return nil, problem.Fields{"events": "may list at most 1000 events"}.Err()
	}
	out := make([]UsageResult, len(events))
	var valid []UsageEvent
	var at []int
	for i := range events {
		f := problem.Fields{}
		events[i].check(f, "")
		if len(f) > 0 {
			pe := f.Err().(*problem.Error)
			out[i] = UsageResult{Status: UsageRefused, Err: pe}
			continue
		}
		valid = append(valid, events[i])
		at = append(at, i)
	}
	if len(valid) > 0 {
		res, err := u.apply(ctx, actor, valid)
		if err != nil {
			return nil, err
		}
		for j, i := range at {
			out[i] = res[j]
		}
	}
	return out, nil
}

// apply runs the events (all valid) in one transaction, again when a
// concurrent copy of one of them was stored first.
func (u *Usage) apply(ctx context.Context, actor Actor, events []UsageEvent) ([]UsageResult, error) {
	key := actor.Key
	if err := u.usable(ctx, actor); err != nil {
		return nil, err
	}
	idem := make([]string, 0, len(events))
	for i := range events {
		idem = append(idem, events[i].IdempotencyKey)
	}
	for try := 0; ; try++ {
		// A repeat answers without a transaction. A copy that is stored
		// after this read makes the conditional insert below store less
		// than it was given: the transaction rolls back and this runs again.
		stored, err := models.UsageChargesByKeys(ctx, u.svc.DB, key.ID, idem)
		if err != nil {
			return nil, err
		}
		if len(stored) > 0 {
			if out, ok := replayAll(events, stored); ok {
				return out, nil
			}
		}
		var out []UsageResult
		err = u.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			var err error
			out, err = u.applyTx(ctx, tx, actor, events, stored)
			return err
		})
		if errors.Is(err, errUsageRace) && try < usageRetries {
			continue
		}
		return out, err
	}
}

// replayAll answers events from stored when every one of them is there.
func replayAll(events []UsageEvent, stored []models.UsageCharge) ([]UsageResult, bool) {
	if len(stored) < len(events) {
		// Duplicates inside one batch are answered by applyTx.
		return nil, false
	}
	by := make(map[string]*models.UsageCharge, len(stored))
	for i := range stored {
		by[stored[i].IdempotencyKey] = &stored[i]
	}
	out := make([]UsageResult, len(events))
	for i := range events {
		s := by[events[i].IdempotencyKey]
		if s == nil {
			return nil, false
		}
		out[i] = replay(&events[i], s)
	}
	return out, true
}

func replay(e *UsageEvent, s *models.UsageCharge) UsageResult {
	if s.Kind != e.Type || s.Amount != e.Amount {
		return UsageResult{Status: UsageRefused, Err: ErrIdempotencyReused}
	}
	r := UsageResult{Status: UsageReplayed, Charge: s}
	if s.Status == ErrInsufficientBalance.Code {
		r.Err = ErrInsufficientBalance
	}
	return r
}

func (u *Usage) applyTx(ctx context.Context, tx bun.Tx, actor Actor, events []UsageEvent, stored []models.UsageCharge) ([]UsageResult, error) {
	key := actor.Key
	now := u.svc.Now()
	out := make([]UsageResult, len(events))
	seen := make(map[string]*models.UsageCharge, len(stored)+len(events))
	for i := range stored {
		seen[stored[i].IdempotencyKey] = &stored[i]
	}
	// The accounts, read once; on PostgreSQL their rows locked in id order.
	var names []string
	named := map[string]bool{}
	for i := range events {
		if seen[events[i].IdempotencyKey] == nil && !named[events[i].Account] {
			named[events[i].Account] = true
			names = append(names, events[i].Account)
		}
	}
	accounts := map[string]*models.Entitlement{}
	balance := map[int64]int64{}
	if len(names) > 0 {
		rows, err := models.EntitlementsOf(ctx, tx, names)
		if err != nil {
			return nil, err
		}
		var ids []int64
		for _, n := range names {
			if e := models.ResolveEntitlement(rows, n); e != nil {
				accounts[n] = e
				if _, ok := balance[e.ID]; !ok {
					balance[e.ID] = e.Balance
					ids = append(ids, e.ID)
				}
			}
		}
		if !models.IsSQLite(tx) && len(ids) > 0 {
			slices.Sort(ids)
			locked, err := models.LockUsers(ctx, tx, tx.NewSelect().Model((*models.User)(nil)).Where("u.id IN (?)", bun.List(ids)), []string{"id", "balance"}, models.LockRows, len(ids))
			if err != nil {
				return nil, err
			}
			fresh := make(map[int64]int64, len(locked))
			for _, l := range locked {
				fresh[l.ID] = l.Balance
			}
			for id := range balance {
				if v, ok := fresh[id]; ok {
					balance[id] = v
				} else {
					delete(balance, id) // deleted meanwhile
				}
			}
		}
	}
	var rows []models.UsageCharge
	var ledger []models.LedgerEntry
	deltas := map[int64]int64{}
	var changed []int64
	batchID := newBatchID()
	applied, total := 0, int64(0)
	pending := map[string]int{} // idempotency key → index in rows
	for i := range events {
		e := &events[i]
		if s := seen[e.IdempotencyKey]; s != nil {
			out[i] = replay(e, s)
			continue
		}
		if j, ok := pending[e.IdempotencyKey]; ok {
			out[i] = replay(e, &rows[j]) // the same key twice in one batch
			continue
		}
		acc := accounts[e.Account]
		if acc == nil {
			out[i] = UsageResult{Status: UsageRefused, Err: errNotFound("The account")}
			continue
		}
		cur, ok := balance[acc.ID]
		if !ok {
			out[i] = UsageResult{Status: UsageRefused, Err: errNotFound("The account")}
			continue
		}
		next := cur + e.delta()
		row := models.UsageCharge{KeyID: key.ID, IdempotencyKey: e.IdempotencyKey, UserID: &acc.ID, UserPublicID: acc.PublicID,
			Kind: e.Type, Amount: e.Amount, Status: UsageApplied, BalanceAfter: next, CreatedAt: now}
		switch {
		case next > maxBalance || next < -maxBalance:
			out[i] = UsageResult{Status: UsageRefused, Err: ErrBalanceRange}
			continue // out of range: not stored, like a field error
		case next < 0 && e.delta() < 0 && !e.AllowNegative:
			row.Status, row.BalanceAfter = ErrInsufficientBalance.Code, cur
			out[i] = UsageResult{Status: UsageRefused, Err: ErrInsufficientBalance}
		default:
			balance[acc.ID] = next
			if _, ok := deltas[acc.ID]; !ok {
				changed = append(changed, acc.ID)
			}
			deltas[acc.ID] += e.delta()
			id := acc.ID
			meta := ""
			if e.Metadata != nil {
				meta = string(e.Metadata)
			}
			ledger = append(ledger, models.LedgerEntry{UserID: &id, UserPublicID: acc.PublicID, CreatedAt: now, Amount: e.delta(), BalanceAfter: next,
				ActorKeyID: &key.ID, ActorUsername: KeyActorLabel(key), Reason: truncate(e.Reason, 500), BatchID: batchID, Metadata: meta,
				ActorKeyPrefix: key.Prefix, IdempotencyKey: e.IdempotencyKey, UsageType: e.Type})
			out[i] = UsageResult{Status: UsageApplied}
			applied++
			total += e.delta()
		}
		pending[e.IdempotencyKey] = len(rows)
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return out, nil
	}
	// One conditional insert, in key order (two batches sharing keys take
	// them in the same order and cannot deadlock on PostgreSQL).
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(rows[a].IdempotencyKey, rows[b].IdempotencyKey) })
	sorted := make([]models.UsageCharge, len(rows))
	for i, j := range order {
		sorted[i] = rows[j]
	}
	n, err := models.InsertUsageCharges(ctx, tx, sorted)
	if err != nil {
		return nil, err
	}
	if n < len(sorted) {
		return nil, errUsageRace
	}
	for i, j := range order {
		rows[j].ID = sorted[i].ID
	}
	for i := range events {
		if out[i].Charge == nil && (out[i].Status == UsageApplied || out[i].Err == ErrInsufficientBalance) {
			if j, ok := pending[events[i].IdempotencyKey]; ok {
				out[i].Charge = &rows[j]
			}
		}
	}
	if applied == 0 {
		return out, nil
	}
	slices.Sort(changed)
	if err := models.AddBalances(ctx, tx, changed, deltas, now); err != nil {
		return nil, err
	}
	if err := models.InsertLedger(ctx, tx, ledger); err != nil {
		return nil, err
	}
	if err := u.svc.Webhooks.recordUsage(ctx, tx, ledger, accounts, now); err != nil {
		return nil, err
	}
	return out, u.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionUsageBatch, Actor: actor, BatchID: batchID,
		Object:  &AuditObject{Type: "usage_batch", Ref: batchID, Label: KeyActorLabel(key)},
		Details: map[string]any{"events": len(events), "applied": applied, "accounts": len(changed), "net": total}})
}

// Sweep forgets idempotency keys older than UsageKeyRetention.
func (u *Usage) Sweep(ctx context.Context) (int64, error) {
	return models.DeleteUsageChargesBefore(ctx, u.svc.DB, u.svc.Now().Add(-UsageKeyRetention))
}

// UsageStatus is the HTTP status of a single event's answer.
func UsageStatus(r *UsageResult) int {
	if r.Status == UsageReplayed {
		return http.StatusOK
	}
	return http.StatusCreated
}

func newUsage(s *Services) *Usage {
	u := &Usage{svc: s}
	if models.IsSQLite(s.DB) {
		u.writer = make(chan struct{}, 1)
	}
	return u
}
