package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/mail"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Passkey audit actions. A passkey's use is audited as auth.passkey_used
// beside the sign-in row (auth.login_succeeded, method "passkey" or
// "...+passkey"); failures are auth.login_failed / auth.mfa_failed rows
// whose reason starts with "passkey".
const (
	ActionPasskeyAdded   = "account.passkey_added"
	ActionPasskeyRenamed = "account.passkey_renamed"
	ActionPasskeyRemoved = "account.passkey_removed"
	ActionPasskeyUsed    = "auth.passkey_used"
)

// Purposes of a passkey ceremony.
const (
	ceremonyRegister    = "register"
	ceremonyPasswordles = "passwordless"
	ceremonySecondStep  = "mfa"
)

// CeremonyLifetime bounds a passkey ceremony from its options to its answer.
const CeremonyLifetime = 5 * time.Minute

// MaxPasskeys is how many passkeys one account may hold.
const MaxPasskeys = 20

// Answers of the passkey endpoints.
var (
	// ErrPasskeyFailed is the one answer of a passwordless sign-in that
	// fails for any reason: unknown passkey, bad signature, a locked,
	// suspended or deactivated account, a suspected clone.
	ErrPasskeyFailed = problem.New(problem.Unauthenticated, "passkey_invalid", "This passkey could not sign you in. Try again, or sign in with your password.")
	// ErrCeremonyMissing means the options expired, were used, or belong
	// to someone else.
	ErrCeremonyMissing = problem.New(problem.Unauthenticated, "passkey_expired", "The passkey request expired or was already used; try again.")
	// ErrPasskeysUnavailable is answered when --base-url cannot serve as
	// a relying party (an IP address, for example).
	ErrPasskeysUnavailable = problem.New(problem.Unavailable, "passkeys_unavailable", "Passkeys need the server's public address (--base-url) to be a host name such as https://id.example.com or http://localhost:8080.")
	errPasskeyNotFound     = problem.New(problem.NotFound, "passkey_not_found", "No such passkey.")
)

// Passkeys registers, lists and checks WebAuthn credentials.
type Passkeys struct {
	svc *Services
	wa  *webauthn.WebAuthn
	err error
}

// RelyingParty derives the WebAuthn relying party from the public base
// URL: its host is the RP ID and its origin the one allowed origin.
func RelyingParty(baseURL string) (rpID, origin string, err error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", "", fmt.Errorf("base URL %q is not an absolute http(s) URL", baseURL)
	}
	return u.Hostname(), u.Scheme + "://" + u.Host, nil
}

func newPasskeys(s *Services) *Passkeys {
	p := &Passkeys{svc: s}
	rpID, origin, err := RelyingParty(s.BaseURL)
	if err == nil {
		p.wa, err = webauthn.New(&webauthn.Config{
			RPID: rpID, RPDisplayName: "Gatehouse", RPOrigins: []string{origin},
			AttestationPreference: protocol.PreferNoAttestation,
		})
	}
	p.err = err
	return p
}

func (p *Passkeys) ready() error {
	if p.err != nil {
		return ErrPasskeysUnavailable
	}
	return nil
}

// waUser is an account as the library sees it. Its user handle is the
// account's public ID: opaque, stable, and no personal data.
type waUser struct {
	u     *models.User
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte                         { return []byte(w.u.PublicID) }
func (w *waUser) WebAuthnName() string                       { return w.u.Username }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }
func (w *waUser) WebAuthnDisplayName() string {
	if w.u.DisplayName != "" {
		return w.u.DisplayName
	}
	return w.u.Username
}

func (p *Passkeys) userWithCredentials(ctx context.Context, db bun.IDB, u *models.User) (*waUser, []models.Passkey, error) {
	rows, err := models.PasskeysOf(ctx, db, u.ID)
	if err != nil {
		return nil, nil, err
	}
	w := &waUser{u: u}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(r.Data), &c); err != nil {
			return nil, nil, fmt.Errorf("passkey %d: %w", r.ID, err)
		}
		w.creds = append(w.creds, c)
	}
	return w, rows, nil
}

func credentialKey(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// Ceremony is a begun passkey ceremony: the options for the browser's
// navigator.credentials call and the token that names it in the answer.
type Ceremony struct {
	Token   string
	Options any
}

// newCeremony stores the library's session data under a new token.
func (p *Passkeys) newCeremony(ctx context.Context, purpose string, userID *int64, loginChallenge string, data *webauthn.SessionData, options any) (*Ceremony, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	now := p.svc.Now()
	token := security.NewToken(32)
	row := &models.WebAuthnChallenge{TokenHash: security.HashToken(token), Purpose: purpose, UserID: userID, LoginChallenge: loginChallenge, Data: string(raw), CreatedAt: now, ExpiresAt: now.Add(CeremonyLifetime)}
	if _, err := p.svc.DB.NewDelete().Model((*models.WebAuthnChallenge)(nil)).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return nil, err
	}
	if _, err := p.svc.DB.NewInsert().Model(row).Exec(ctx); err != nil {
		return nil, err
	}
	return &Ceremony{Token: token, Options: options}, nil
}

// consumeCeremony takes a ceremony for one use: it is read, then deleted
// by one conditional write (unexpired, of this purpose); of parallel
// answers only the one whose delete removed the row goes on.
func (p *Passkeys) consumeCeremony(ctx context.Context, token, purpose string) (*models.WebAuthnChallenge, *webauthn.SessionData, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, ErrCeremonyMissing
	}
	hash := security.HashToken(token)
	row := new(models.WebAuthnChallenge)
	if err := p.svc.DB.NewSelect().Model(row).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		if errors.Is(models.NotFound(err), models.ErrNotFound) {
			return nil, nil, ErrCeremonyMissing
		}
		return nil, nil, err
	}
	now := p.svc.Now()
	res, err := p.svc.DB.NewDelete().Model((*models.WebAuthnChallenge)(nil)).
		Where("token_hash = ?", hash).Where("purpose = ?", purpose).Where("expires_at > ?", now).Exec(ctx)
	if err != nil {
		return nil, nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 || row.Purpose != purpose {
		return nil, nil, ErrCeremonyMissing
	}
	var data webauthn.SessionData
	if err := json.Unmarshal([]byte(row.Data), &data); err != nil {
		return nil, nil, err
	}
	// The expiry is the row's, on the server's clock; the library would
	// compare with the wall clock.
	data.Expires = time.Time{}
	return row, &data, nil
}

// PasskeyView is one passkey as its owner sees it.
type PasskeyView struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	CreatedAt    time.Time  `json:"createdAt"`
	LastUsedAt   *time.Time `json:"lastUsedAt"`
	CloneWarning bool       `json:"cloneWarning"`
	// Discoverable says whether the passkey can sign in without a name
	// (a resident key), as the authenticator reported it at registration.
	Discoverable bool `json:"discoverable"`
}

func passkeyView(r models.Passkey) PasskeyView {
	v := PasskeyView{ID: r.PublicID, Name: r.Name, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, CloneWarning: r.CloneWarning}
	var c webauthn.Credential
	if json.Unmarshal([]byte(r.Data), &c) == nil && c.Extensions.RK != nil {
		v.Discoverable = *c.Extensions.RK
	}
	return v
}

// List answers the caller's passkeys.
func (p *Passkeys) List(ctx context.Context, actor Actor) ([]PasskeyView, error) {
	return p.ListOf(ctx, actor.User.ID)
}

// ListOf answers an account's passkeys.
func (p *Passkeys) ListOf(ctx context.Context, userID int64) ([]PasskeyView, error) {
	rows, err := models.PasskeysOf(ctx, p.svc.DB, userID)
	if err != nil {
		return nil, err
	}
	out := make([]PasskeyView, 0, len(rows))
	for _, r := range rows {
		out = append(out, passkeyView(r))
	}
	return out, nil
}

// BeginRegistration starts adding a passkey. Like TOTP enrolment it needs
// the current password (or, for an account without one, a recent
// sign-in): a stolen cookie cannot add its own way in.
func (p *Passkeys) BeginRegistration(ctx context.Context, actor Actor, password string) (*Ceremony, error) {
	if err := p.ready(); err != nil {
		return nil, err
	}
	u, err := p.svc.Auth.Reauthenticate(ctx, actor, Reauth{Purpose: ReauthPasskeyAdd, Password: password, PasswordField: "password", AllowRecentSignIn: true})
	if err != nil {
		return nil, err
	}
	w, rows, err := p.userWithCredentials(ctx, p.svc.DB, u)
	if err != nil {
		return nil, err
	}
	if len(rows) >= MaxPasskeys {
		return nil, problem.New(problem.Conflict, "too_many_passkeys", fmt.Sprintf("An account holds at most %d passkeys; remove one first.", MaxPasskeys)).With("max", MaxPasskeys)
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(w.creds))
	for _, c := range w.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, data, err := p.wa.BeginRegistration(w,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred}),
		webauthn.WithExclusions(exclude),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return nil, err
	}
	id := u.ID
	return p.newCeremony(ctx, ceremonyRegister, &id, "", data, creation.Response)
}

// CleanPasskeyName trims a passkey's name and checks its length.
func CleanPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", problem.Fields{"name": "is required"}.Err()
	}
	if utf8.RuneCountInString(name) > 60 {
		return "", problem.Fields{"name": "must be at most 60 characters"}.Err()
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", problem.Fields{"name": "must not contain control characters"}.Err()
		}
	}
	return name, nil
}

// FinishRegistration checks the authenticator's answer to the caller's
// ceremony and stores the passkey. Other sessions of the account end, as
// when TOTP is turned on.
func (p *Passkeys) FinishRegistration(ctx context.Context, actor Actor, token, name string, response []byte) (*PasskeyView, error) {
	if err := p.ready(); err != nil {
		return nil, err
	}
	name, err := CleanPasskeyName(name)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, problem.Fields{"credential": "is not a WebAuthn registration answer"}.Err()
	}
	row, data, err := p.consumeCeremony(ctx, token, ceremonyRegister)
	if err != nil {
		return nil, err
	}
	if row.UserID == nil || *row.UserID != actor.User.ID {
		return nil, ErrCeremonyMissing
	}
	u, err := models.UserByID(ctx, p.svc.DB, actor.User.ID)
	if err != nil {
		return nil, err
	}
	w, rows, err := p.userWithCredentials(ctx, p.svc.DB, u)
	if err != nil {
		return nil, err
	}
	cred, err := p.wa.CreateCredential(w, *data, parsed)
	if err != nil {
		p.svc.Log.InfoContext(ctx, "passkey registration refused", "user", u.PublicID, "err", protocolDetail(err))
		return nil, (&problem.Error{Kind: problem.Invalid, Code: "passkey_not_added", Message: "The passkey could not be added: " + protocolDetail(err)}).WithField("credential", "was refused")
	}
	if len(rows) >= MaxPasskeys {
		return nil, problem.New(problem.Conflict, "too_many_passkeys", fmt.Sprintf("An account holds at most %d passkeys; remove one first.", MaxPasskeys)).With("max", MaxPasskeys)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	now := p.svc.Now()
	pk := &models.Passkey{PublicID: "pk_" + security.NewToken(12), UserID: u.ID, CredentialID: credentialKey(cred.ID), Name: name, Data: string(raw), SignCount: int64(cred.Authenticator.SignCount), CreatedAt: now}
	err = models.RunInTx(ctx, p.svc.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := models.PasskeyByCredentialID(ctx, tx, pk.CredentialID); err == nil {
			return problem.New(problem.Conflict, "passkey_exists", "This passkey is already registered.")
		} else if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if _, err := tx.NewInsert().Model(pk).Exec(ctx); err != nil {
			return err
		}
		if err := models.SyncPasskeyCount(ctx, tx, []int64{u.ID}); err != nil {
			return err
		}
		if _, err := models.DeleteSessionsOfUser(ctx, tx, u.ID, actor.SessionID); err != nil {
			return err
		}
		if err := p.svc.Alerts.FactorChanged(ctx, tx, mail.KindPasskeyAdded, u, name); err != nil {
			return err
		}
		return p.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionPasskeyAdded, Actor: actor, Target: u, Details: map[string]any{"passkeyId": pk.PublicID, "name": name, "discoverable": cred.Extensions.RK != nil && *cred.Extensions.RK}})
	})
	if err != nil {
		return nil, err
	}
	v := passkeyView(*pk)
	return &v, nil
}

// Rename gives one of the caller's passkeys a new name.
func (p *Passkeys) Rename(ctx context.Context, actor Actor, id, name string) (*PasskeyView, error) {
	name, err := CleanPasskeyName(name)
	if err != nil {
		return nil, err
	}
	var out PasskeyView
	err = models.RunInTx(ctx, p.svc.DB, func(ctx context.Context, tx bun.Tx) error {
		pk, err := models.PasskeyOf(ctx, tx, actor.User.ID, id)
		if errors.Is(err, models.ErrNotFound) {
			return errPasskeyNotFound
		} else if err != nil {
			return err
		}
		before := pk.Name
		if _, err := tx.NewUpdate().Model((*models.Passkey)(nil)).Set("name = ?", name).Where("id = ?", pk.ID).Exec(ctx); err != nil {
			return err
		}
		pk.Name = name
		out = passkeyView(*pk)
		return p.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionPasskeyRenamed, Actor: actor, Target: actor.User, Details: map[string]any{"passkeyId": pk.PublicID, "name": map[string]any{"before": before, "after": name}}})
	})
	return &out, err
}

// Remove deletes one of the caller's passkeys after the current password
// (or, without one, a recent sign-in): taking a way in away is as
// sensitive as adding one.
func (p *Passkeys) Remove(ctx context.Context, actor Actor, id, password string) error {
	u, err := p.svc.Auth.Reauthenticate(ctx, actor, Reauth{Purpose: ReauthPasskeyRemove, Password: password, PasswordField: "password", AllowRecentSignIn: true})
	if err != nil {
		return err
	}
	signin, err := p.svc.Settings.Signin(ctx)
	if err != nil {
		return err
	}
	return models.RunInTx(ctx, p.svc.DB, func(ctx context.Context, tx bun.Tx) error {
		// A super administrator's passkey may be their only way in.
		var before []DependentAccount
		if u.Role == models.RoleSuperAdmin {
			if before, err = SuperAdminsWithoutWayIn(ctx, tx, signin); err != nil {
				return err
			}
		}
		pk, err := models.PasskeyOf(ctx, tx, u.ID, id)
		if errors.Is(err, models.ErrNotFound) {
			return errPasskeyNotFound
		} else if err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*models.Passkey)(nil)).Where("id = ?", pk.ID).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errPasskeyNotFound
		}
		if err := models.SyncPasskeyCount(ctx, tx, []int64{u.ID}); err != nil {
			return err
		}
		if u.Role == models.RoleSuperAdmin {
			if err := GuardSuperAdminsWayIn(ctx, tx, signin, before); err != nil {
				return err
			}
		}
		if err := p.svc.Alerts.FactorChanged(ctx, tx, mail.KindPasskeyRemoved, u, pk.Name); err != nil {
			return err
		}
		return p.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionPasskeyRemoved, Actor: actor, Target: u, Details: map[string]any{"passkeyId": pk.PublicID, "name": pk.Name}})
	})
}

// BeginPasswordless starts a sign-in with a discoverable passkey: no name
// is asked, the authenticator offers its passkeys for this site. The
// authenticator must verify the person (PIN, biometrics), which makes the
// passkey a complete sign-in on its own.
func (p *Passkeys) BeginPasswordless(ctx context.Context, conditional bool) (*Ceremony, error) {
	if err := p.ready(); err != nil {
		return nil, err
	}
	mediation := protocol.MediationDefault
	if conditional {
		mediation = protocol.MediationConditional
	}
	assertion, data, err := p.wa.BeginDiscoverableMediatedLogin(mediation, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	return p.newCeremony(ctx, ceremonyPasswordles, nil, "", data, assertion.Response)
}

// FinishPasswordless checks a discoverable passkey's assertion and starts
// a session. It goes through the failed-sign-in lock like a password, and
// every failure (unknown passkey, wrong signature, locked or inactive
// account, a suspected clone) has the one answer ErrPasskeyFailed; the
// audit log has the true reason.
func (p *Passkeys) FinishPasswordless(ctx context.Context, actor Actor, token string, response []byte) (*LoginResult, error) {
	if err := p.ready(); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, problem.Fields{"credential": "is not a WebAuthn sign-in answer"}.Err()
	}
	_, data, err := p.consumeCeremony(ctx, token, ceremonyPasswordles)
	if err != nil {
		return nil, err
	}
	a := p.svc.Auth
	pk, err := models.PasskeyByCredentialID(ctx, p.svc.DB, credentialKey(parsed.RawID))
	if errors.Is(err, models.ErrNotFound) {
		a.auditFailure(ctx, actor, nil, "passkey "+truncate(credentialKey(parsed.RawID), 20), "unknown_passkey")
		return nil, ErrPasskeyFailed
	} else if err != nil {
		return nil, err
	}
	user, err := models.UserByID(ctx, p.svc.DB, pk.UserID)
	if err != nil {
		return nil, err
	}
	sec, err := p.svc.Settings.Security(ctx)
	if err != nil {
		return nil, err
	}
	var cred *webauthn.Credential
	var verr error
	ok, err := a.checkSecret(ctx, user, sec, true, func() (bool, error) {
		w, _, err := p.userWithCredentials(ctx, p.svc.DB, user)
		if err != nil {
			return false, err
		}
		_, cred, verr = p.wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if string(userHandle) != user.PublicID {
				return nil, errors.New("user handle names another account")
			}
			return w, nil
		}, *data, parsed)
		if verr == nil && cred.Authenticator.CloneWarning {
			verr = errCloneWarning
		}
		return verr == nil, nil
	})
	if errors.Is(err, errLocked) {
		a.auditFailure(ctx, actor, user, user.Username, "locked")
		return nil, ErrPasskeyFailed
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		a.auditFailure(ctx, actor, user, user.Username, p.failureReason(ctx, pk, verr))
		return nil, ErrPasskeyFailed
	}
	if user.Status != models.StatusActive {
		a.auditFailure(ctx, actor, user, user.Username, "status_"+user.Status)
		return nil, ErrPasskeyFailed
	}
	if err := p.recordUse(ctx, actor, user, pk, cred); err != nil {
		return nil, err
	}
	return a.startSession(ctx, actor, user, "passkey", sec)
}

var errCloneWarning = errors.New("sign counter did not increase")

// failureReason names a failed assertion in the audit log; a suspected
// clone also marks the passkey, which its owner then sees.
func (p *Passkeys) failureReason(ctx context.Context, pk *models.Passkey, verr error) string {
	if errors.Is(verr, errCloneWarning) {
		if _, err := p.svc.DB.NewUpdate().Model((*models.Passkey)(nil)).Set("clone_warning = ?", true).Where("id = ?", pk.ID).Exec(ctx); err != nil {
			p.svc.Log.WarnContext(ctx, "passkey clone mark failed", "err", err)
		}
		return "passkey_clone_warning"
	}
	p.svc.Log.InfoContext(ctx, "passkey assertion refused", "passkey", pk.PublicID, "err", protocolDetail(verr))
	return "passkey_invalid"
}

// recordUse stores the counter the authenticator reported and the time,
// and audits the use.
func (p *Passkeys) recordUse(ctx context.Context, actor Actor, user *models.User, pk *models.Passkey, cred *webauthn.Credential) error {
	raw, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	now := p.svc.Now()
	return models.RunInTx(ctx, p.svc.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*models.Passkey)(nil)).Set("data = ?", string(raw)).
			Set("sign_count = ?", int64(cred.Authenticator.SignCount)).Set("last_used_at = ?", now).
			Where("id = ?", pk.ID).Exec(ctx); err != nil {
			return err
		}
		e := AuditEntry{Action: ActionPasskeyUsed, Actor: Actor{User: user, IP: actor.IP, UserAgent: actor.UserAgent}, Target: user, Details: map[string]any{"passkeyId": pk.PublicID, "name": pk.Name, "signCount": cred.Authenticator.SignCount}}
		return p.svc.Audit.Write(ctx, tx, e)
	})
}

// BeginSecondStep starts a passkey ceremony for the account waiting at the
// password step's challenge (the challenge cookie): only its passkeys are
// allowed.
func (p *Passkeys) BeginSecondStep(ctx context.Context, challengeToken string) (*Ceremony, error) {
	if err := p.ready(); err != nil {
		return nil, err
	}
	ch, err := p.svc.Auth.openChallenge(ctx, challengeToken)
	if err != nil {
		return nil, err
	}
	user, err := models.UserByID(ctx, p.svc.DB, ch.UserID)
	if err != nil {
		return nil, ErrChallengeMissing
	}
	w, _, err := p.userWithCredentials(ctx, p.svc.DB, user)
	if err != nil {
		return nil, err
	}
	if len(w.creds) == 0 {
		return nil, problem.New(problem.Conflict, "no_passkeys", "This account has no passkey; use a code from the authenticator app.")
	}
	assertion, data, err := p.wa.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, err
	}
	id := user.ID
	return p.newCeremony(ctx, ceremonySecondStep, &id, ch.TokenHash, data, assertion.Response)
}

// FinishSecondStep checks a passkey as the second factor of the password
// step named by the challenge cookie, under the same attempt claim, lock
// and single-use challenge as a code (CompleteMFA).
func (p *Passkeys) FinishSecondStep(ctx context.Context, actor Actor, challengeToken, token string, response []byte) (*LoginResult, error) {
	if err := p.ready(); err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, problem.Fields{"credential": "is not a WebAuthn sign-in answer"}.Err()
	}
	a := p.svc.Auth
	ch, err := a.openChallenge(ctx, challengeToken)
	if err != nil {
		return nil, err
	}
	row, data, err := p.consumeCeremony(ctx, token, ceremonySecondStep)
	if err != nil {
		return nil, err
	}
	if row.LoginChallenge != ch.TokenHash || row.UserID == nil || *row.UserID != ch.UserID {
		return nil, ErrCeremonyMissing
	}
	if err := a.claimChallengeAttempt(ctx, ch); err != nil {
		return nil, err
	}
	user, err := models.UserByID(ctx, p.svc.DB, ch.UserID)
	if err != nil {
		return nil, ErrChallengeMissing
	}
	sec, err := p.svc.Settings.Security(ctx)
	if err != nil {
		return nil, err
	}
	var cred *webauthn.Credential
	var verr error
	var pk *models.Passkey
	ok, err := a.checkSecret(ctx, user, sec, true, func() (bool, error) {
		w, _, err := p.userWithCredentials(ctx, p.svc.DB, user)
		if err != nil {
			return false, err
		}
		if pk, err = models.PasskeyByCredentialID(ctx, p.svc.DB, credentialKey(parsed.RawID)); err != nil || pk.UserID != user.ID {
			verr = errors.New("not a passkey of this account")
			return false, nil
		}
		cred, verr = p.wa.ValidateLogin(w, *data, parsed)
		if verr == nil && cred.Authenticator.CloneWarning {
			verr = errCloneWarning
		}
		return verr == nil, nil
	})
	if errors.Is(err, errLocked) {
		a.auditMFAFailure(ctx, actor, user, "locked")
		return nil, ErrPasskeyFailed
	}
	if err != nil {
		return nil, err
	}
	if !ok || user.Status != models.StatusActive {
		reason := "passkey_invalid"
		if pk != nil && pk.UserID == user.ID {
			reason = p.failureReason(ctx, pk, verr)
		}
		if ok {
			reason = "status_" + user.Status
		}
		a.auditMFAFailure(ctx, actor, user, reason)
		return nil, ErrPasskeyFailed
	}
	if err := a.consumeChallenge(ctx, ch); err != nil {
		return nil, err
	}
	if err := p.recordUse(ctx, actor, user, pk, cred); err != nil {
		return nil, err
	}
	return a.startSession(ctx, actor, user, ch.Method+"+passkey", sec)
}

// protocolDetail is the library's reason for a refusal, for logs and the
// registration answer.
func protocolDetail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if pe.Details != "" {
			return pe.Details
		}
		return pe.Type
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
