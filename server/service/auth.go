package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// ErrInvalidCredentials is the one answer for every failed sign-in: unknown
// account, wrong password, locked account, sign-in method turned off. The
// same text, status and time for all of them keeps accounts from being
// probed. Only after a right password does an inactive account hear its
// state (ErrAccountState).
var ErrInvalidCredentials = problem.New(problem.Unauthenticated, "invalid_credentials", "The sign-in name or password is incorrect.")

// ErrSessionInvalid is answered for a missing, expired or revoked session.
var ErrSessionInvalid = problem.New(problem.Unauthenticated, "unauthenticated", "Sign in to continue.")

// errHasherBusy maps an overloaded password hasher to a 503.
var errHasherBusy = &problem.Error{Kind: problem.Unavailable, Code: "busy", Message: "The server is busy signing other people in; try again in a moment.", RetryAfter: 2}

// Auth signs people in and out and authenticates requests.
type Auth struct {
	deps     Deps
	settings *Settings
	audit    *Audit
	sessions *models.SessionLookup
	alerts   *Alerts
}

// LoginResult is the outcome of a successful password step.
type LoginResult struct {
	User    *models.User
	Session *models.Session
	// Token is the session's secret, for the cookie; it is stored only hashed.
	Token string
	// Device is the browser's device-cookie token (the one it sent, or a
	// new one), renewed at every sign-in.
	Device string
}

// SessionTouchInterval is how stale last_seen_at may get before a request
// writes it again; it keeps reads from turning into writes. With an idle
// timeout the interval is also at most a tenth of it (see touchInterval).
const SessionTouchInterval = time.Minute

// touchInterval is how stale last_seen_at may get under these settings.
// The stored value lags the last request by at most this much, so a
// session used at least every idle-timeout minus this interval never idles
// out: with the shortest allowed timeout (60 s) it is written at most every
// 6 s, and a session used every 54 s lives on.
func touchInterval(sec SecuritySettings) time.Duration {
	d := SessionTouchInterval
	if sec.SessionIdleTimeoutSeconds > 0 {
		d = min(d, time.Duration(sec.SessionIdleTimeoutSeconds)*time.Second/10)
	}
	return max(d, time.Second)
}

func hasherErr(err error) error {
	if errors.Is(err, security.ErrHasherBusy) {
		return errHasherBusy
	}
	return err
}

// Login checks an identifier (username or email, as the sign-in settings
// allow) and a password. Every failure returns ErrInvalidCredentials after
// about the same amount of work: a password hash is always computed.
//
// With two-factor authentication on, the answer is a challenge token
// instead of a session (see StartOrChallenge).
func (a *Auth) Login(ctx context.Context, actor Actor, identifier, password string) (*LoginResult, string, error) {
	identifier = strings.TrimSpace(identifier)
	signin, err := a.settings.Signin(ctx)
	if err != nil {
		return nil, "", err
	}
	sec, err := a.settings.Security(ctx)
	if err != nil {
		return nil, "", err
	}
	var user *models.User
	isEmail := strings.Contains(identifier, "@")
	methodOn := isEmail && signin.EmailEnabled || !isEmail && signin.UsernameEnabled
	if isEmail {
		user, err = models.UserByEmail(ctx, a.deps.DB, identifier)
	} else {
		user, err = models.UserByUsername(ctx, a.deps.DB, identifier)
	}
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, "", err
	}
	if user == nil || err != nil || !methodOn {
		// Hash anyway so that an unknown account costs as much as a known one.
		if _, herr := a.deps.Hasher.Verify(ctx, password, ""); herr != nil {
			return nil, "", hasherErr(herr)
		}
		// The answer is the same; the audit log has the true reason.
		if user != nil && err == nil {
			a.auditFailure(ctx, actor, user, identifier, "method_disabled")
		} else {
			a.auditFailure(ctx, actor, nil, identifier, "unknown_account")
		}
		return nil, "", ErrInvalidCredentials
	}

	// For a 2FA account the password is only half of the sign-in: a right
	// password must not clear the count that wrong codes built up.
	ok, err := a.checkSecret(ctx, user, sec, !user.TwoFactorEnabled(), func() (bool, error) {
		return a.checkPassword(ctx, user, password)
	})
	if errors.Is(err, errAttemptsInFlight) {
		a.auditFailure(ctx, actor, user, identifier, "attempts_in_flight")
		return nil, "", ErrInvalidCredentials
	}
	if errors.Is(err, errLocked) {
		a.auditFailure(ctx, actor, user, identifier, "locked")
		return nil, "", ErrInvalidCredentials
	}
	if err != nil {
		return nil, "", err
	}
	if !ok {
		a.auditFailure(ctx, actor, user, identifier, "wrong_password")
		return nil, "", ErrInvalidCredentials
	}
	if user.Status != models.StatusActive {
		// Only someone who knows the password learns the account's state
		// (as Keycloak says "Account is disabled" only after correct
		// credentials): they can act on it, an attacker gains nothing.
		a.auditFailure(ctx, actor, user, identifier, "status_"+user.Status)
		return nil, "", ErrAccountState(user.Status)
	}
	return a.StartOrChallenge(ctx, actor, user, "password")
}

// Answers for a right password on an account that may not sign in.
var (
	ErrAccountSuspended   = problem.New(problem.Forbidden, "account_suspended", "This account is suspended. Contact an administrator.")
	ErrAccountDeactivated = problem.New(problem.Forbidden, "account_deactivated", "This account is deactivated. Contact an administrator.")
	ErrEmailUnverified    = problem.New(problem.Forbidden, "email_unverified", "Confirm your email address first: open the link we sent you, or ask for a new one.")
)

// ErrAccountState is the answer for an account in status that cannot sign
// in, given only after its password (or provider) proved who is asking.
func ErrAccountState(status string) *problem.Error {
	switch status {
	case models.StatusSuspended:
		return ErrAccountSuspended
	case models.StatusPending:
		return ErrEmailUnverified
	default:
		return ErrAccountDeactivated
	}
}

// checkPassword verifies a password of u. A match against a hash made
// before passwords were NFKC-normalised (or with older hash parameters) is
// hashed again, so that the old form stops being needed.
func (a *Auth) checkPassword(ctx context.Context, u *models.User, password string) (bool, error) {
	stored := derefString(u.PasswordHash)
	ok, legacy, err := a.deps.Hasher.VerifyLegacy(ctx, password, stored)
	if err != nil || !ok {
		return false, err
	}
	if legacy || a.deps.Hasher.NeedsRehash(stored) {
		hash, err := a.deps.Hasher.Hash(ctx, password)
		if err == nil {
			err = models.RehashPassword(ctx, a.deps.DB, u.ID, stored, hash)
		}
		if err != nil {
			a.deps.Log.WarnContext(ctx, "password rehash failed", "err", err)
		}
	}
	return true, nil
}

// errLocked is an internal signal: the account's lock holds.
var errLocked = errors.New("account locked")

// checkSecret runs verify (a password, TOTP or recovery-code check) under
// the failed-sign-in lock: an attempt is reserved atomically before the
// secret is checked, so parallel guesses can never verify more than
// LockThreshold secrets before the lock; a locked account still costs a
// dummy hash so that its answer takes as long as any other. It reports
// false for a wrong secret, and errLocked while the lock holds.
//
// complete says whether a right secret proves everything the account asks
// for (the password of an account without 2FA, a second factor): only then
// does success clear the count. Otherwise (the password step of a 2FA
// account) success only gives back its own reservation, so "right
// password, wrong codes" rounds add up to the lock.
func (a *Auth) checkSecret(ctx context.Context, user *models.User, sec SecuritySettings, complete bool, verify func() (bool, error)) (bool, error) {
	if sec.LockThreshold <= 0 {
		ok, err := verify()
		return ok, hasherErr(err)
	}
	if err := a.reserveAttempt(ctx, user, sec); err != nil {
		if !errors.Is(err, errLocked) {
			return false, err
		}
		if _, herr := a.deps.Hasher.Verify(ctx, "", ""); herr != nil {
			return false, hasherErr(herr)
		}
		return false, errLocked
	}
	ok, err := verify()
	if err != nil {
		return false, hasherErr(err)
	}
	if ok && !complete {
		return true, models.ReturnSignInAttempt(ctx, a.deps.DB, user.ID)
	}
	if ok {
		// Success clears the counter (and with it any in-flight reservations).
		return true, models.ClearFailedSignIns(ctx, a.deps.DB, user.ID)
	}
	// The reservation already counted this failure; lock when it reached
	// the threshold. Only one of several parallel failures sets the lock.
	until := a.deps.Now().Add(time.Duration(sec.LockDurationSeconds) * time.Second)
	err = a.lock(ctx, user, sec, until, func(ctx context.Context, tx bun.Tx) (bool, error) {
		return models.LockAfterFailures(ctx, tx, user.ID, until, sec.LockThreshold)
	})
	return false, err
}

// lock runs set (a conditional UPDATE that reports whether it locked) and,
// when it locked, the audit row and its account.locked webhook event in
// one transaction: a lock is never without its event, nor an event
// without its lock. Only one of several parallel setters locks.
func (a *Auth) lock(ctx context.Context, user *models.User, sec SecuritySettings, until time.Time, set func(ctx context.Context, tx bun.Tx) (bool, error)) error {
	return models.RunInTx(ctx, a.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		locked, err := set(ctx, tx)
		if err != nil || !locked {
			return err
		}
		return a.audit.Write(ctx, tx, AuditEntry{Action: ActionAccountLocked, Target: user, Details: map[string]any{"lockedUntil": until, "threshold": sec.LockThreshold}})
	})
}

// stuckAttemptAge is how long a count may stay at the threshold without a
// lock, with no attempt counted, before it is judged stuck: left by checks
// that never ended (a process that died mid-check, a lock whose
// transaction failed, a threshold lowered below the count). No check of a
// secret runs this long (the hasher's queue, one hash, the database's busy
// timeout).
const stuckAttemptAge = time.Minute

// errAttemptsInFlight: threshold attempts were still being checked when
// the wait for them ended. The attempt is refused as a locked one is (the
// same answer), but nothing is locked: they may all be right.
var errAttemptsInFlight = fmt.Errorf("%w: the attempts in flight did not end", errLocked)

// reserveAttempt counts one attempt before the secret is checked. It fails
// with errLocked while the lock holds. An expired lock starts a new count.
// When threshold attempts are already in flight (not yet known to have
// failed), it waits briefly for them to finish, and refuses with
// errAttemptsInFlight when they do not. A count that has stayed full for
// stuckAttemptAge becomes a lock, which expires like any other.
func (a *Auth) reserveAttempt(ctx context.Context, user *models.User, sec SecuritySettings) error {
	userID := user.ID
	threshold := sec.LockThreshold
	deadline := time.Now().Add(3 * time.Second)
	for {
		now := a.deps.Now()
		counted, err := models.ReserveSignInAttempt(ctx, a.deps.DB, userID, threshold, now)
		if err != nil {
			return err
		}
		if counted {
			return nil
		}
		lockedUntil, attemptAt, err := models.SignInCountState(ctx, a.deps.DB, userID)
		if err != nil {
			return err
		}
		if lockedUntil != nil && lockedUntil.After(now) {
			return errLocked
		}
		if stuckBefore := now.Add(-stuckAttemptAge); attemptAt == nil || !attemptAt.After(stuckBefore) {
			until := now.Add(time.Duration(sec.LockDurationSeconds) * time.Second)
			var locked bool
			if err := a.lock(ctx, user, sec, until, func(ctx context.Context, tx bun.Tx) (bool, error) {
				var err error
				locked, err = models.LockStuckCount(ctx, tx, user.ID, until, stuckBefore, threshold)
				return locked, err
			}); err != nil {
				return err
			}
			if locked {
				return errLocked
			}
			// The count moved meanwhile: look again.
		}
		if time.Now().After(deadline) {
			return errAttemptsInFlight
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(15 * time.Millisecond):
		}
	}
}

func (a *Auth) auditFailure(ctx context.Context, actor Actor, user *models.User, identifier, reason string) {
	e := AuditEntry{Action: ActionLoginFailed, Actor: actor, Target: user, Details: map[string]any{"reason": reason}}
	e.Actor.User = nil
	if user == nil {
		e.ActorLabel = identifier
		e.Details["identifier"] = truncate(identifier, 100)
	}
	if err := a.audit.Write(ctx, a.deps.DB, e); err != nil {
		a.deps.Log.ErrorContext(ctx, "audit write failed", "err", err)
	}
}

// startSession creates a new session row (a new identifier every time:
// sign-in always rotates the session) and records the sign-in.
func (a *Auth) startSession(ctx context.Context, actor Actor, user *models.User, method string, sec SecuritySettings) (*LoginResult, error) {
	now := a.deps.Now()
	token := security.NewToken(32)
	sess := &models.Session{
		ID: security.NewToken(12), TokenHash: security.HashToken(token), UserID: user.ID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Duration(sec.SessionLifetimeSeconds) * time.Second),
		IP: truncate(actor.IP, 64), UserAgent: truncate(actor.UserAgent, 500), Method: method,
	}
	var device string
	err := models.RunInTx(ctx, a.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		// The account's row first, then the sessions: both writes move
		// the auth_epoch row (PostgreSQL: a statement trigger), and two
		// sign-ins of one account that took the epoch and the account in
		// opposite orders deadlocked (a 500 for one of them).
		if err := models.RecordSignIn(ctx, tx, user.ID, now, sess.IP); err != nil {
			return err
		}
		if actor.SessionID != "" { // the browser's previous session ends here
			if _, err := models.DeleteSession(ctx, tx, actor.SessionID); err != nil {
				return err
			}
		}
		if _, err := tx.NewInsert().Model(sess).Exec(ctx); err != nil {
			return err
		}
		user.LastLoginAt, user.LastLoginIP = &now, sess.IP
		var err error
		if device, err = a.alerts.SignedIn(ctx, tx, actor, user, now); err != nil {
			return err
		}
		return a.audit.Write(ctx, tx, AuditEntry{Action: ActionLoginSucceeded, Actor: Actor{User: user, IP: actor.IP, UserAgent: actor.UserAgent}, Target: user, Details: map[string]any{"method": method, "sessionId": sess.ID}})
	})
	if err != nil {
		return nil, err
	}
	return &LoginResult{User: user, Session: sess, Token: token, Device: device}, nil
}

// Authenticate resolves a session token to its session and active user.
// Expired, idle, revoked and inactive-user sessions are refused.
func (a *Auth) Authenticate(ctx context.Context, token string) (*models.Session, *models.User, error) {
	if token == "" {
		return nil, nil, ErrSessionInvalid
	}
	hash := security.HashToken(token)
	sess, err := a.sessions.Find(ctx, hash)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, ErrSessionInvalid
	} else if err != nil {
		return nil, nil, err
	}
	sec, err := a.settings.Security(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := a.deps.Now()
	if !sessionAlive(sess, sec, now) {
		// The cached last-seen time may be older than the database's
		// (another instance served the session since): decide on the row.
		if sess, err = a.sessions.Fresh(ctx, hash); err != nil || !sessionAlive(sess, sec, now) {
			if err == nil {
				_, _ = models.DeleteSession(ctx, a.deps.DB, sess.ID)
			}
			return nil, nil, ErrSessionInvalid
		}
	}
	user := sess.User
	if user.Status != models.StatusActive {
		return nil, nil, ErrSessionInvalid
	}
	if now.Sub(sess.LastSeenAt) > touchInterval(sec) {
		if _, err := a.deps.DB.NewUpdate().Model(sess).Set("last_seen_at = ?", now).WherePK().Exec(ctx); err != nil {
			a.deps.Log.WarnContext(ctx, "session touch failed", "err", err)
		}
		sess.LastSeenAt = now
		a.sessions.Touched(hash, now)
	}
	return sess, user, nil
}

// sessionAlive applies the absolute lifetime (as stored, and as the current
// setting allows: shortening the setting cuts existing sessions) and the
// idle timeout.
func sessionAlive(s *models.Session, sec SecuritySettings, now time.Time) bool {
	if !now.Before(s.ExpiresAt) {
		return false
	}
	if !now.Before(s.CreatedAt.Add(time.Duration(sec.SessionLifetimeSeconds) * time.Second)) {
		return false
	}
	if sec.SessionIdleTimeoutSeconds > 0 && !now.Before(s.LastSeenAt.Add(time.Duration(sec.SessionIdleTimeoutSeconds)*time.Second)) {
		return false
	}
	return true
}

// AccessTokenPrefix marks Gatehouse bearer tokens (helps secret scanners).
const AccessTokenPrefix = "gha_"

// IssueAccessToken creates a bearer token bound to the caller's session.
func (a *Auth) IssueAccessToken(ctx context.Context, actor Actor, sess *models.Session, name string) (string, time.Time, error) {
	sec, err := a.settings.Security(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	now := a.deps.Now()
	expires := now.Add(time.Duration(sec.AccessTokenLifetimeSeconds) * time.Second)
	if sess.ExpiresAt.Before(expires) {
		expires = sess.ExpiresAt
	}
	token := AccessTokenPrefix + security.NewToken(32)
	row := &models.AccessToken{ID: security.NewToken(12), TokenHash: security.HashToken(token), SessionID: sess.ID, UserID: sess.UserID, Name: name, CreatedAt: now, ExpiresAt: expires}
	err = models.RunInTx(ctx, a.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return err
		}
		return a.audit.Write(ctx, tx, AuditEntry{Action: ActionTokenIssued, Actor: actor, Target: actor.User, Details: map[string]any{"tokenId": row.ID, "name": name, "expiresAt": expires}})
	})
	return token, expires, err
}

// AuthenticateBearer resolves an access token to its session and user; the
// token dies with its session.
func (a *Auth) AuthenticateBearer(ctx context.Context, token string) (*models.Session, *models.User, error) {
	if !strings.HasPrefix(token, AccessTokenPrefix) {
		return nil, nil, ErrSessionInvalid
	}
	t, err := models.AccessTokenByHash(ctx, a.deps.DB, security.HashToken(token))
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, ErrSessionInvalid
	} else if err != nil {
		return nil, nil, err
	}
	now := a.deps.Now()
	if !now.Before(t.ExpiresAt) {
		return nil, nil, ErrSessionInvalid
	}
	sess, err := models.SessionByID(ctx, a.deps.DB, t.SessionID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, ErrSessionInvalid
	} else if err != nil {
		return nil, nil, err
	}
	sec, err := a.settings.Security(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Token use does not keep the session from idling out, but the
	// absolute lifetime applies.
	sec.SessionIdleTimeoutSeconds = 0
	if !sessionAlive(sess, sec, now) {
		return nil, nil, ErrSessionInvalid
	}
	user, err := models.UserByID(ctx, a.deps.DB, sess.UserID)
	if err != nil || user.Status != models.StatusActive {
		return nil, nil, ErrSessionInvalid
	}
	return sess, user, nil
}

// Logout ends the caller's session.
func (a *Auth) Logout(ctx context.Context, actor Actor) error {
	if actor.SessionID == "" {
		return nil
	}
	return models.RunInTx(ctx, a.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := models.DeleteSession(ctx, tx, actor.SessionID); err != nil {
			return err
		}
		return a.audit.Write(ctx, tx, AuditEntry{Action: ActionLogout, Actor: actor, Target: actor.User, Details: map[string]any{"sessionId": actor.SessionID}})
	})
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
