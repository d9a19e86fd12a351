package service

import (
	"context"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// NewUser is the input for creating an account.
type NewUser struct {
	Username    string
	DisplayName string
	Email       string
	Password    string // empty for accounts without a password (identity providers)
	Phone       string
	Language    string
	Timezone    string
	Preferences map[string]any
	Role        string
	Status      string
	// EmailVerified marks the email as verified at creation.
	EmailVerified bool
	// EmailUnvouched stores an unverified address that nobody vouched for
	// (a provider did not verify it; a registration awaits confirmation):
	// it names the account for nothing until confirmed by our own link.
	// Otherwise an unverified address is vouched: an administrator, the
	// shell, or registration without verification set it.
	EmailUnvouched bool
}

// validate checks the fields that need no database and fills defaults.
func (in *NewUser) validate(policy PasswordPolicy, requirePassword bool) (problem.Fields, string) {
	f := problem.Fields{}
	in.Username = strings.TrimSpace(in.Username)
	in.Email = strings.TrimSpace(in.Email)
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	validateUsername(f, "username", in.Username)
	if in.Email != "" {
		validateEmail(f, "email", in.Email)
	}
	validateDisplayName(f, "displayName", in.DisplayName)
	if in.DisplayName == "" {
		in.DisplayName = in.Username
	}
	validatePhone(f, "phone", in.Phone)
	if in.Language == "" {
		in.Language = "en"
	}
	validateLanguage(f, "language", in.Language)
	if in.Timezone == "" {
		in.Timezone = "UTC"
	}
	validateTimezone(f, "timezone", in.Timezone)
	prefs := validatePreferences(f, "preferences", in.Preferences)
	if in.Role == "" {
		in.Role = models.RoleUser
	}
	if !models.ValidRole(in.Role) {
		f.Add("role", "must be user, admin or super_admin")
	}
	if in.Status == "" {
		in.Status = models.StatusActive
	}
	if !models.ValidStatus(in.Status) {
		f.Add("status", "must be active, pending, suspended or deactivated")
	}
	if in.Password != "" || requirePassword {
		if msg := CheckPassword(policy, in.Password, in.Username, in.Email); msg != "" {
			f.Add("password", msg)
		}
	}
	return f, prefs
}

// prepareUser validates the fields that need no database and hashes the
// password, outside any transaction so that the write lock is not held
// while argon2id runs.
func (s *Services) prepareUser(ctx context.Context, in NewUser, requirePassword bool) (*models.User, error) {
	policy, err := s.Settings.PasswordPolicy(ctx)
	if err != nil {
		return nil, err
	}
	f, prefs := in.validate(policy, requirePassword)
	if err := f.Err(); err != nil {
		return nil, err
	}
	now := s.Now()
	u := &models.User{
		PublicID: security.NewPublicID(), DisplayName: in.DisplayName, Phone: in.Phone,
		Language: in.Language, Timezone: in.Timezone, Preferences: prefs,
		Role: in.Role, Status: in.Status, CreatedAt: now, UpdatedAt: now,
	}
	u.SetUsername(in.Username)
	u.SetEmail(in.Email)
	if in.EmailVerified && u.Email != nil {
		u.EmailVerifiedAt = &now
	}
	u.EmailVouched = u.Email != nil && !in.EmailUnvouched
	if in.Password != "" {
		hash, err := s.Hasher.Hash(ctx, in.Password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash, u.PasswordChangedAt = &hash, &now
	}
	return u, nil
}

// insertUser checks uniqueness inside tx (reported as field errors) and
// inserts the prepared account. An address that is neither verified nor
// vouched takes no part in uniqueness.
func insertUser(ctx context.Context, tx bun.IDB, u *models.User) error {
	f := problem.Fields{}
	if taken, err := models.UsernameTaken(ctx, tx, u.Username, 0); err != nil {
		return err
	} else if taken {
		f.Add("username", "is already taken")
	}
	if u.Email != nil && (u.EmailVerifiedAt != nil || u.EmailVouched) {
		if taken, err := models.EmailTaken(ctx, tx, *u.Email, 0); err != nil {
			return err
		} else if taken {
			f.Add("email", "is already used by another account")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	return models.InsertUser(ctx, tx, u)
}

// CreateUserFromShell creates an account from the command line (no actor,
// no protections: whoever runs the binary owns the data directory).
func (s *Services) CreateUserFromShell(ctx context.Context, in NewUser) (*models.User, error) {
	u, err := s.prepareUser(ctx, in, true)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, AuditEntry{Action: ActionUserCreatedByShell, ActorLabel: "cli", Target: u, Details: map[string]any{"role": u.Role}})
	})
	return u, err
}

// findUserForShell finds an account by username, email or public ID.
func findUserForShell(ctx context.Context, db bun.IDB, ident string) (*models.User, error) {
	u, err := models.UserByUsername(ctx, db, ident)
	if errors.Is(err, models.ErrNotFound) && strings.Contains(ident, "@") {
		u, err = models.UserByEmail(ctx, db, ident)
	}
	if errors.Is(err, models.ErrNotFound) {
		u, err = models.UserByPublicID(ctx, db, ident)
	}
	if errors.Is(err, models.ErrNotFound) {
		return nil, errNotFound("The account " + ident)
	}
	return u, err
}

// ResetPasswordFromShell sets a new password, clears the lock and ends
// every session of the account.
func (s *Services) ResetPasswordFromShell(ctx context.Context, ident, password string) (*models.User, error) {
	policy, err := s.Settings.PasswordPolicy(ctx)
	if err != nil {
		return nil, err
	}
	var u *models.User
	err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if u, err = findUserForShell(ctx, tx, ident); err != nil {
			return err
		}
		email := ""
		if u.Email != nil {
			email = *u.Email
		}
		if msg := CheckPassword(policy, password, u.Username, email); msg != "" {
			return problem.Fields{"password": msg}.Err()
		}
		hash, err := s.Hasher.Hash(ctx, password)
		if err != nil {
			return err
		}
		now := s.Now()
		if err := models.SetPassword(ctx, tx, u.ID, hash, now, models.PasswordWrite{ClearLock: true}); err != nil {
			return err
		}
		if _, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, ""); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, AuditEntry{Action: ActionPasswordResetShell, ActorLabel: "cli", Target: u})
	})
	return u, err
}

// UnlockFromShell clears the failed-sign-in lock of an account.
func (s *Services) UnlockFromShell(ctx context.Context, ident string) (*models.User, error) {
	var u *models.User
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if u, err = findUserForShell(ctx, tx, ident); err != nil {
			return err
		}
		if err := models.ClearFailedSignIns(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, AuditEntry{Action: ActionUnlockedByShell, ActorLabel: "cli", Target: u, Details: map[string]any{"lockedUntil": u.LockedUntil}})
	})
	return u, err
}
