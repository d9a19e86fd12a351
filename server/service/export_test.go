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
