package service

import (
	"context"
	"crypto/subtle"
	"sync"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Setup is first-run setup: while the database has no accounts, a one-time
// token (printed at start, kept only in memory) lets one person create the
// first super administrator.
type Setup struct {
	deps     Deps
	settings *Settings
	audit    *Audit
	svc      *Services

	mu    sync.Mutex
	token string
}

// Errors of the setup flow.
var (
	ErrSetupDone     = problem.New(problem.Conflict, "setup_done", "Setup is already complete; sign in instead.")
	ErrSetupBadToken = problem.New(problem.Forbidden, "setup_token_invalid", "This setup link is not valid. Use the link printed in the server log at start.")
)

// Begin returns a fresh setup token when the database has no accounts, or
// "" when setup is not needed.
func (s *Setup) Begin(ctx context.Context) (string, error) {
	n, err := models.CountUsers(ctx, s.deps.DB)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 {
		s.token = ""
		return "", nil
	}
	s.token = security.NewToken(24)
	return s.token, nil
}

// Pending reports whether setup still waits for its first administrator.
func (s *Setup) Pending(ctx context.Context) (bool, error) {
	n, err := models.CountUsers(ctx, s.deps.DB)
	return n == 0, err
}

// Complete creates the first super administrator. The token is consumed
// under a lock and the empty-database check runs in the insert's
// transaction, so at most one administrator is ever created this way.
func (s *Setup) Complete(ctx context.Context, actor Actor, token string, in NewUser) (*models.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		if pending, err := s.Pending(ctx); err != nil {
			return nil, err
		} else if !pending {
			return nil, ErrSetupDone
		}
		return nil, ErrSetupBadToken
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
		return nil, ErrSetupBadToken
	}
	in.Role, in.Status = models.RoleSuperAdmin, models.StatusActive
	u, err := s.svc.prepareUser(ctx, in, true)
	if err != nil {
		return nil, err
	}
	err = models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		if n, err := models.CountUsers(ctx, tx); err != nil {
			return err
		} else if n > 0 {
			return ErrSetupDone
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: ActionSetupCompleted, Actor: Actor{User: u, IP: actor.IP, UserAgent: actor.UserAgent}, Target: u})
	})
	if err != nil {
		return nil, err
	}
	s.token = ""
	return u, nil
}
