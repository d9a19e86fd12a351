package service

import (
	"context"

	"github.com/uptrace/bun"

	"gatehouse/models"
)

// The single-account changes of the admin console, each a bulk of one
// (see accounts.go): the same plan, write and audit as the bulk action,
// with a refusal returned as the error and the account's detail as the
// answer.

// change applies ch to one account and reads its detail in the same
// transaction. A deleted account has no detail (nil).
func (s *Users) change(ctx context.Context, actor Actor, publicID string, ch AccountChange, reason string) (*UserDetail, []*effect, error) {
	var out *UserDetail
	var planned []*effect
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if planned, err = s.single(ctx, tx, actor, publicID, ch, reason); err != nil {
			return err
		}
		if len(planned) == 1 && planned[0].deleted {
			return nil
		}
		out, err = s.detail(ctx, tx, publicID)
		return err
	})
	return out, planned, err
}

// Update applies a patch of profile fields, role and subscription.
func (s *Users) Update(ctx context.Context, actor Actor, publicID string, p UserPatch) (*UserDetail, error) {
	d, _, err := s.change(ctx, actor, publicID, &p, p.Reason)
	return d, err
}

// SetStatus changes an account's status with a reason. Leaving active ends
// every session and token of the account.
func (s *Users) SetStatus(ctx context.Context, actor Actor, publicID, status, reason string) (*UserDetail, error) {
	d, _, err := s.change(ctx, actor, publicID, StatusChange{Status: status}, reason)
	return d, err
}

// Delete removes an account permanently. confirm must equal its username.
func (s *Users) Delete(ctx context.Context, actor Actor, publicID, confirm, reason string) error {
	_, _, err := s.change(ctx, actor, publicID, DeleteChange{Confirm: &confirm}, reason)
	return err
}

// ChangeBalance records a ledger row and updates the balance in one transaction.
func (s *Users) ChangeBalance(ctx context.Context, actor Actor, publicID string, ch BalanceChange) (*UserDetail, error) {
	d, _, err := s.change(ctx, actor, publicID, ch, ch.Reason)
	return d, err
}

// Unlock clears an account's failed-sign-in lock.
func (s *Users) Unlock(ctx context.Context, actor Actor, publicID, reason string) (*UserDetail, error) {
	d, _, err := s.change(ctx, actor, publicID, UnlockChange{}, reason)
	return d, err
}

// ResetTwoFactor clears the account's two-factor setup and ends every
// session and token of it.
func (s *Users) ResetTwoFactor(ctx context.Context, actor Actor, publicID, reason string) (*UserDetail, error) {
	d, _, err := s.change(ctx, actor, publicID, ResetTwoFactorChange{}, reason)
	return d, err
}

// RevokeSessions ends all of an account's sessions, or the one named, and
// returns how many ended.
func (s *Users) RevokeSessions(ctx context.Context, actor Actor, publicID, sessionID, reason string) (int64, error) {
	_, planned, err := s.change(ctx, actor, publicID, &RevokeSessionsChange{SessionID: sessionID}, reason)
	if err != nil || len(planned) == 0 {
		return 0, err
	}
	return planned[0].sessions, nil
}

// Ledger lists an account's balance changes.
func (s *Users) Ledger(ctx context.Context, publicID string, limit, offset int) ([]models.LedgerEntry, int64, error) {
	u, err := loadTarget(ctx, s.svc.DB, publicID)
	if err != nil {
		return nil, 0, err
	}
	return models.LedgerOfUser(ctx, s.svc.DB, u.ID, limit, offset)
}

// Sessions lists an account's sessions.
func (s *Users) Sessions(ctx context.Context, publicID string) ([]models.Session, error) {
	u, err := loadTarget(ctx, s.svc.DB, publicID)
	if err != nil {
		return nil, err
	}
	return models.SessionsOfUser(ctx, s.svc.DB, u.ID)
}
