package service

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Setup is first-run setup: while the database has no accounts, a one-time
// token (printed at start) lets one person create the first super
// administrator. The token is kept hashed in the database with an expiry,
// so any instance accepts it and a restart does not void it; it is
// consumed with one conditional delete, so it works once even when it is
// replayed in parallel on several instances.
type Setup struct {
	deps     Deps
	settings *Settings
	audit    *Audit
	svc      *Services
}

// SetupTokenLifetime is how long a printed setup link works.
const SetupTokenLifetime = 24 * time.Hour

// SetupToken is a stored setup token (its hash).
type SetupToken struct {
	bun.BaseModel `bun:"table:setup_tokens,alias:stk"`

	TokenHash string    `bun:"token_hash,pk"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
}

// Errors of the setup flow.
var (
	ErrSetupDone     = problem.New(problem.Conflict, "setup_done", "Setup is already complete; sign in instead.")
	ErrSetupBadToken = problem.New(problem.Forbidden, "setup_token_invalid", "This setup link is not valid or has expired. Use the link printed in the server log at the last start.")
)

// Begin returns a fresh setup token when the database has no accounts, or
// "" when setup is not needed. Expired tokens are swept; tokens printed
// earlier (by this or another instance) keep working until they expire.
func (s *Setup) Begin(ctx context.Context) (string, error) {
	n, err := models.CountUsers(ctx, s.deps.DB)
	if err != nil {
		return "", err
	}
	if n > 0 {
		_, err := s.deps.DB.NewDelete().Model((*SetupToken)(nil)).Where("1 = 1").Exec(ctx)
		return "", err
	}
	now := s.deps.Now()
	if _, err := s.deps.DB.NewDelete().Model((*SetupToken)(nil)).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return "", err
	}
	token := security.NewToken(24)
	row := &SetupToken{TokenHash: security.HashToken(token), CreatedAt: now, ExpiresAt: now.Add(SetupTokenLifetime)}
	if _, err := s.deps.DB.NewInsert().Model(row).Exec(ctx); err != nil {
		return "", err
	}
	return token, nil
}

// Pending reports whether setup still waits for its first administrator.
func (s *Setup) Pending(ctx context.Context) (bool, error) {
	n, err := models.CountUsers(ctx, s.deps.DB)
	return n == 0, err
}

// Complete creates the first super administrator. The token is consumed
// by a conditional delete and the empty-database check runs in the same
// transaction as the insert, so at most one administrator is ever created
// this way; a failed insert rolls the delete back and the link still works.
func (s *Setup) Complete(ctx context.Context, actor Actor, token string, in NewUser) (*models.User, error) {
	if pending, err := s.Pending(ctx); err != nil {
		return nil, err
	} else if !pending {
		return nil, ErrSetupDone
	}
	if token == "" || len(token) > 200 {
		return nil, ErrSetupBadToken
	}
	in.Role, in.Status = models.RoleSuperAdmin, models.StatusActive
	u, err := s.svc.prepareUser(ctx, in, true)
	if err != nil {
		return nil, err
	}
	err = models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*SetupToken)(nil)).
			Where("token_hash = ?", security.HashToken(token)).Where("expires_at > ?", s.deps.Now()).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			if n, err := models.CountUsers(ctx, tx); err == nil && n > 0 {
				return ErrSetupDone
			}
			return ErrSetupBadToken
		}
		if n, err := models.CountUsers(ctx, tx); err != nil {
			return err
		} else if n > 0 {
			return ErrSetupDone
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		// Setup is done: every other printed link is void.
		if _, err := tx.NewDelete().Model((*SetupToken)(nil)).Where("1 = 1").Exec(ctx); err != nil {
			return err
		}
		return s.audit.Write(ctx, tx, AuditEntry{Action: ActionSetupCompleted, Actor: Actor{User: u, IP: actor.IP, UserAgent: actor.UserAgent}, Target: u})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
