package service

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
)

// IssueVerifyTokenForTest issues the link token that VerifyEmail consumes
// for u's address email, as the registration mail carries it.
func IssueVerifyTokenForTest(ctx context.Context, f *Flows, u *models.User, email string) (string, error) {
	var token string
	err := f.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		token, err = f.issueToken(ctx, tx, u, TokenVerify, email, verifyTokenTTL)
		return err
	})
	return token, err
}

// IssueResetTokenForTest issues the password-reset link token that
// ResetPassword consumes, mailed to email, as ForgotPassword's mail
// carries it.
func IssueResetTokenForTest(ctx context.Context, f *Flows, u *models.User, email string) (string, error) {
	var token string
	err := f.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		token, err = f.issueToken(ctx, tx, u, TokenReset, email, resetTokenTTL)
		return err
	})
	return token, err
}

// StatusHistoryQueryForTest is the text of the detail's status-history
// statement (a prepared statement; its one argument is the account's id).
func StatusHistoryQueryForTest(s *Services) string {
	return s.Stmts.Text(s.DB, "account_status_history", statusHistory)
}

// DueQueryForTest is the sender's SELECT of due deliveries at now.
func DueQueryForTest(svc *Services, now time.Time) string {
	return dueQuery(svc.DB, now).String()
}

// ApplyTrustingActorForTest is Users.Apply planning with actor as given,
// without reading its row again under the lock: an actor whose row says
// something else (not an active super administrator) is then not counted
// among the active super administrators, which no request can arrange
// (the engine plans with the actor's current row, and the acting super
// administrator is never among the targets).
func ApplyTrustingActorForTest(ctx context.Context, s *Users, actor Actor, t Targets, ch AccountChange, o ApplyOptions) (*BulkResult, error) {
	o.trustActor = true
	return s.Apply(ctx, actor, t, ch, o)
}

// SingleTrustingActorForTest is a single-account endpoint's change (a bulk
// of one whose refusal is its error) planned with actor as given.
func SingleTrustingActorForTest(ctx context.Context, s *Users, actor Actor, publicID string, ch AccountChange) error {
	return s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, _, err := s.apply(ctx, tx, actor, Targets{PublicIDs: []string{publicID}}, ch, ApplyOptions{trustActor: true}, true)
		return err
	})
}
