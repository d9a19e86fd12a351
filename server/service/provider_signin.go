package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/oauth2"

	"gatehouse/models"
	"gatehouse/server/oidc"
	"gatehouse/server/outbound"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Provider sign-in audit actions. A provider sign-in itself is recorded
// by the session start (auth.login_succeeded, method "provider:<slug>"),
// a refusal as auth.login_failed with the provider named.
const (
	ActionIdentityLinked      = "account.identity_linked"
	ActionIdentityUnlinked    = "account.identity_unlinked"
	ActionRegisteredWithIdP   = "user.registered_via_provider"
	ActionProviderFlowRefused = ActionLoginFailed
)

// StateLifetime bounds the round trip to a provider.
const StateLifetime = 10 * time.Minute

// LinkReturnPath is where a link flow brings the browser back.
const LinkReturnPath = "/account/providers"

// FlowError refuses a provider flow. Code is shown by the console
// (/login?error=<code>); Link says it was a link flow, which returns to
// the account page instead of the sign-in page.
type FlowError struct {
	Code    string
	Message string
	Link    bool
}

func (e *FlowError) Error() string { return e.Code + ": " + e.Message }

func flowErr(code, msg string) *FlowError { return &FlowError{Code: code, Message: msg} }

// FlowStart is the beginning of a provider round trip: where to send the
// browser, and the random value to keep in its short-lived cookie (the
// state works only together with it).
type FlowStart struct {
	RedirectURL  string
	BrowserToken string
}

// providerUsable reports whether people may use p at all right now.
func (s *Providers) usable(ctx context.Context, slug string) (*models.IdentityProvider, error) {
	signin, err := s.svc.Settings.Signin(ctx)
	if err != nil {
		return nil, err
	}
	p, err := models.ProviderBySlug(ctx, s.svc.DB, slug)
	if errors.Is(err, models.ErrNotFound) || (err == nil && (!signin.ThirdPartyEnabled || !(p.LoginEnabled || p.RegistrationEnabled))) {
		return nil, flowErr("provider_unavailable", "This sign-in provider is not available.")
	}
	return p, err
}

// StartSignIn begins signing in with a provider; next is where to go after.
func (s *Providers) StartSignIn(ctx context.Context, slug, next string) (*FlowStart, error) {
	p, err := s.usable(ctx, slug)
	if err != nil {
		return nil, err
	}
	return s.begin(ctx, p, security.SafeNext(next), nil, "")
}

// StartLink begins linking a provider to the signed-in account. The flow is
// bound to this session: the callback must arrive with it. A link is a new
// way in, so it needs the current password (or a recent sign-in).
func (s *Providers) StartLink(ctx context.Context, actor Actor, slug, password string) (*FlowStart, error) {
	p, err := s.usable(ctx, slug)
	var fe *FlowError
	if errors.As(err, &fe) || (err == nil && !p.LoginEnabled) {
		return nil, problem.New(problem.NotFound, "provider_unavailable", "This provider cannot be linked.")
	}
	if err != nil {
		return nil, err
	}
	if actor.User == nil || actor.SessionID == "" {
		return nil, problem.New(problem.Forbidden, "session_required", "Linking needs a signed-in browser session.")
	}
	n, err := s.svc.DB.NewSelect().Model((*models.Identity)(nil)).Where("user_id = ?", actor.User.ID).Where("provider_id = ?", p.ID).Count(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, problem.New(problem.Conflict, "already_linked", "Your account is already linked to "+p.Name+".").With("provider", p.Name)
	}
	if _, err := s.svc.Auth.Reauthenticate(ctx, actor, Reauth{Purpose: ReauthIdentityLink, Password: password, PasswordField: "password", AllowRecentSignIn: true}); err != nil {
		return nil, err
	}
	id := actor.User.ID
	return s.begin(ctx, p, LinkReturnPath, &id, actor.SessionID)
}

func (s *Providers) begin(ctx context.Context, p *models.IdentityProvider, next string, linkUser *int64, linkSession string) (*FlowStart, error) {
	state, browser, nonce := security.NewToken(32), security.NewToken(32), security.NewToken(32)
	verifier := oauth2.GenerateVerifier()
	sealed, err := s.svc.Box.Seal(verifier)
	if err != nil {
		return nil, err
	}
	now := s.svc.Now()
	row := &models.OIDCState{
		StateHash: security.HashToken(state), BrowserHash: security.HashToken(browser), ProviderID: p.ID,
		Nonce: nonce, VerifierSealed: sealed, NextPath: next, LinkUserID: linkUser, LinkSessionID: linkSession,
		CreatedAt: now, ExpiresAt: now.Add(StateLifetime),
	}
	if err := s.svc.storeSealed(ctx, s.svc.DB, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(row).Exec(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	// Abandoned round trips are cleared as new ones start.
	if err := models.DeleteExpiredOIDCStates(ctx, s.svc.DB, now); err != nil {
		s.svc.Log.WarnContext(ctx, "expired OIDC state sweep failed", "err", err)
	}
	rp, err := s.relyingParty(ctx, p)
	if err != nil {
		return nil, err
	}
	return &FlowStart{RedirectURL: s.client.AuthCodeURL(rp, state, nonce, verifier), BrowserToken: browser}, nil
}

func (s *Providers) relyingParty(ctx context.Context, p *models.IdentityProvider) (*oidc.Provider, error) {
	secret := ""
	if p.ClientSecretSealed != "" {
		var err error
		if secret, err = s.svc.openSealed(ctx, nil, p.ClientSecretSealed); err != nil {
			return nil, err
		}
	}
	return &oidc.Provider{
		Type: p.Type, ClientID: p.ClientID, ClientSecret: secret, IssuerURL: p.IssuerURL,
		AuthorizationURL: p.AuthorizationURL, TokenURL: p.TokenURL, UserinfoURL: p.UserinfoURL, JWKSURL: p.JWKSURL,
		Scopes: decodeScopes(p.Scopes), RedirectURL: s.CallbackURL(p.Slug),
	}, nil
}

// Callback is what the provider sent back to /callback.
type Callback struct {
	Slug         string
	State        string
	Code         string
	Error        string // the provider's error parameter (access_denied...)
	BrowserToken string // from the flow cookie
}

// FlowResult is a finished provider round trip: a started session, or a
// pending second factor (Challenge), or a finished link; Next is where
// the browser goes.
type FlowResult struct {
	Login     *LoginResult
	Challenge string
	Linked    bool
	Next      string
}

// Finish completes a round trip. The state is consumed first, by one
// conditional delete that also checks the browser binding, the provider
// and the expiry, so it works once, in the browser that started it, for
// ten minutes.
func (s *Providers) Finish(ctx context.Context, actor Actor, cb Callback) (*FlowResult, error) {
	st, p, err := s.consumeState(ctx, cb)
	if err != nil {
		s.auditRefusal(ctx, actor, nil, cb.Slug, "state_invalid", nil)
		return nil, err
	}
	link := st.LinkUserID != nil
	refuse := func(user *models.User, code, msg string, detail error) (*FlowResult, error) {
		s.auditRefusal(ctx, actor, user, p.Slug, code, detail)
		return nil, &FlowError{Code: code, Message: msg, Link: link}
	}
	if cb.Error != "" || cb.Code == "" {
		return refuse(nil, "provider_denied", p.Name+" did not sign you in.", newProviderDenied(cb.Error))
	}
	verifier, err := s.svc.openSealed(ctx, nil, st.VerifierSealed)
	if err != nil {
		return nil, err
	}
	rp, err := s.relyingParty(ctx, p)
	if err != nil {
		return nil, err
	}
	claims, err := s.client.Exchange(ctx, rp, cb.Code, verifier, st.Nonce)
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return refuse(nil, oe.Code, "The answer from "+p.Name+" could not be verified.", oe.Err)
	} else if err != nil {
		return nil, err
	}
	prof, err := oidc.MapClaims(claims, decodeMapping(p.FieldMapping))
	if errors.As(err, &oe) {
		return refuse(nil, oe.Code, p.Name+" did not say who you are.", oe.Err)
	} else if err != nil {
		return nil, err
	}
	signin, err := s.svc.Settings.Signin(ctx)
	if err != nil {
		return nil, err
	}
	if !signin.ThirdPartyEnabled {
		return refuse(nil, "third_party_disabled", "Sign-in with other providers is turned off.", nil)
	}
	if link {
		return s.finishLink(ctx, actor, st, p, prof, refuse)
	}
	user, fe, err := s.matchOrRegister(ctx, actor, p, prof)
	if err != nil {
		return nil, err
	}
	if fe != nil {
		return refuse(user, fe.Code, fe.Message, nil)
	}
	res, challenge, err := s.svc.Auth.StartOrChallenge(ctx, actor, user, "provider:"+p.Slug)
	if err != nil {
		return nil, err
	}
	return &FlowResult{Login: res, Challenge: challenge, Next: security.SafeNext(st.NextPath)}, nil
}

var errStateInvalid = flowErr("state_invalid", "This sign-in link has expired or was already used, or it was started in another browser. Start again.")

func (s *Providers) consumeState(ctx context.Context, cb Callback) (*models.OIDCState, *models.IdentityProvider, error) {
	if cb.State == "" || cb.BrowserToken == "" {
		return nil, nil, errStateInvalid
	}
	st := new(models.OIDCState)
	err := s.svc.DB.NewDelete().Model(st).
		Where("state_hash = ?", security.HashToken(cb.State)).
		Where("browser_hash = ?", security.HashToken(cb.BrowserToken)).
		Where("expires_at > ?", s.svc.Now()).
		Returning("*").Scan(ctx)
	if errors.Is(models.NotFound(err), models.ErrNotFound) {
		return nil, nil, errStateInvalid
	} else if err != nil {
		return nil, nil, err
	}
	if st.StateHash == "" {
		return nil, nil, errStateInvalid
	}
	p, err := models.ProviderByID(ctx, s.svc.DB, st.ProviderID)
	if errors.Is(err, models.ErrNotFound) || (err == nil && subtle.ConstantTimeCompare([]byte(p.Slug), []byte(cb.Slug)) != 1) {
		// One callback per provider: a state started for another provider is void here.
		return nil, nil, errStateInvalid
	}
	return st, p, err
}

var errAccountUnavailable = flowErr("account_unavailable", "This account cannot sign in right now.")

// signInAllowed is the status gate of every provider sign-in. The
// provider has proved who is asking, so an inactive account hears its
// state (as after a right password); a locked one hears only that it
// cannot sign in now, as at the password form.
func (s *Providers) signInAllowed(u *models.User) *FlowError {
	switch {
	case u.LockedAt(s.svc.Now()):
		return errAccountUnavailable
	case u.Status != models.StatusActive:
		pe := ErrAccountState(u.Status)
		return flowErr(pe.Code, pe.Message)
	}
	return nil
}

// matchOrRegister finds the account of a provider identity, in one
// transaction: by (provider, subject); else by verified email when the
// provider auto-links and both sides verified it; else a new account when
// the provider registers. Never by username.
func (s *Providers) matchOrRegister(ctx context.Context, actor Actor, p *models.IdentityProvider, prof oidc.Profile) (*models.User, *FlowError, error) {
	var (
		user    *models.User
		refusal *FlowError
		fresh   *models.User
	)
	if p.RegistrationEnabled {
		var err error
		if fresh, err = s.prepareProviderUser(ctx, p, prof); err != nil {
			return nil, nil, err
		}
	}
	now := s.svc.Now()
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		ident, err := models.IdentityBySubject(ctx, tx, p.ID, prof.Subject)
		switch {
		case err == nil:
			if user, err = models.UserByID(ctx, tx, ident.UserID); err != nil {
				return err
			}
			if !p.LoginEnabled {
				refusal = flowErr("login_disabled", "Sign-in with "+p.Name+" is turned off for existing accounts.")
				return nil
			}
			if refusal = s.signInAllowed(user); refusal != nil {
				return nil
			}
			_, err = tx.NewUpdate().Model(ident).Set("last_used_at = ?", now).Set("email = ?", truncate(prof.Email, 254)).WherePK().Exec(ctx)
			return err
		case !errors.Is(err, models.ErrNotFound):
			return err
		}

		if p.AutoLinkByEmail && prof.EmailVerified && prof.Email != "" {
			u, err := models.UserByEmail(ctx, tx, prof.Email)
			if err != nil && !errors.Is(err, models.ErrNotFound) {
				return err
			}
			if err == nil && u.EmailVerifiedAt != nil {
				user = u
				// An email is not enough to open an administrator's account:
				// whoever controls a provider (or its mail) would hold the
				// console. Privileged accounts link from their account page.
				if models.IsAdminRole(u.Role) {
					refusal = flowErr("privileged_account_link", "An administrator's account is never linked by email. Sign in to that account and link "+p.Name+" from your account page.")
					return nil
				}
				if !p.LoginEnabled {
					refusal = flowErr("login_disabled", "Sign-in with "+p.Name+" is turned off for existing accounts.")
					return nil
				}
				if refusal = s.signInAllowed(user); refusal != nil {
					return nil
				}
				return s.insertIdentity(ctx, tx, actor, user, p, prof, "verified_email")
			}
		}

		if fresh == nil {
			refusal = flowErr("registration_disabled", "No account is linked to this "+p.Name+" account, and "+p.Name+" cannot create new accounts here.")
			return nil
		}
		if fresh.Email != nil {
			// Only an address that names an account (verified, or vouched
			// for by an administrator) is in use; unconfirmed holders
			// (another provider's unverified claim, a pending
			// registration) do not block anyone.
			taken, err := models.EmailTaken(ctx, tx, *fresh.Email, 0)
			if err != nil {
				return err
			}
			if taken {
				refusal = flowErr("email_in_use", "An account already uses the email address that "+p.Name+" gave. Sign in to that account and link "+p.Name+" from your account page.")
				return nil
			}
		}
		if err := uniqueUsername(ctx, tx, fresh); err != nil {
			return err
		}
		var holders []models.User
		if fresh.EmailVerifiedAt != nil {
			// The provider proved the address: unconfirmed holders lose
			// it (locked before anything is written).
			if holders, err = s.svc.addressHolders(ctx, tx, *fresh.Email, 0); err != nil {
				return err
			}
		}
		if err := insertUser(ctx, tx, fresh); err != nil {
			return err
		}
		if fresh.EmailVerifiedAt != nil {
			if err := s.svc.releaseEmail(ctx, tx, Actor{User: fresh, IP: actor.IP, UserAgent: actor.UserAgent}, fresh, holders); err != nil {
				return err
			}
		}
		user = fresh
		if err := s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionRegisteredWithIdP, Actor: Actor{IP: actor.IP, UserAgent: actor.UserAgent}, ActorLabel: "provider:" + p.Slug, Target: user,
			Details: map[string]any{"provider": p.Slug, "role": user.Role, "emailVerified": user.EmailVerifiedAt != nil}}); err != nil {
			return err
		}
		return s.insertIdentity(ctx, tx, actor, user, p, prof, "registration")
	})
	if err != nil {
		return nil, nil, err
	}
	return user, refusal, nil
}

func (s *Providers) insertIdentity(ctx context.Context, tx bun.IDB, actor Actor, user *models.User, p *models.IdentityProvider, prof oidc.Profile, via string) error {
	now := s.svc.Now()
	ident := &models.Identity{ProviderID: p.ID, UserID: user.ID, Subject: prof.Subject, Email: truncate(prof.Email, 254), EmailVerified: prof.EmailVerified && prof.Email != "",
		CreatedAt: now, LastUsedAt: &now}
	if _, err := tx.NewInsert().Model(ident).Exec(ctx); err != nil {
		return err
	}
	a := actor
	if a.User == nil || a.User.ID != user.ID {
		a = Actor{User: user, IP: actor.IP, UserAgent: actor.UserAgent}
	}
	return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionIdentityLinked, Actor: a, Target: user,
		Details: map[string]any{"provider": p.Slug, "providerName": p.Name, "subject": truncate(prof.Subject, 100), "via": via}})
}

var usernameJunk = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// prepareProviderUser builds (without storing) the account a provider
// registration would create: no password, the provider's default role,
// the email marked verified only when the provider said so. An address
// the provider did not verify is kept unverified and unvouched: it names
// the account for nothing (uniqueness, password reset, notices, auto-link,
// email sign-in) until confirmed through our own link.
func (s *Providers) prepareProviderUser(ctx context.Context, p *models.IdentityProvider, prof oidc.Profile) (*models.User, error) {
	base := prof.Username
	if base == "" && prof.Email != "" {
		base, _, _ = strings.Cut(prof.Email, "@")
	}
	if base == "" {
		base = prof.DisplayName
	}
	base = strings.Trim(usernameJunk.ReplaceAllString(base, "-"), "._-")
	if len(base) > 56 {
		base = strings.TrimRight(base[:56], "._-")
	}
	if len(base) < 3 {
		base = strings.TrimLeft(base+"-user", "-")
	}
	email := prof.Email
	if email != "" {
		f := problem.Fields{}
		validateEmail(f, "email", email)
		if len(f) > 0 {
			email = "" // an address we cannot use is left out, not fatal
		}
	}
	display := strings.Map(func(r rune) rune {
		if r < 0x20 {
			return -1
		}
		return r
	}, prof.DisplayName)
	display = truncate(strings.TrimSpace(display), maxDisplayName)
	in := NewUser{Username: base, DisplayName: display, Email: email, Role: p.DefaultRole, EmailVerified: prof.EmailVerified && email != "",
		EmailUnvouched: !prof.EmailVerified}
	u, err := s.svc.prepareUser(ctx, in, false)
	var pe *problem.Error
	if errors.As(err, &pe) {
		// Should not happen with the cleaning above; fall back to a plain name.
		in.Username, in.DisplayName = "user-"+strings.ToLower(security.NewPublicID()[:8]), ""
		u, err = s.svc.prepareUser(ctx, in, false)
	}
	return u, err
}

// uniqueUsername makes u's username unique (name, name-2, ... then a
// random suffix) inside tx.
func uniqueUsername(ctx context.Context, tx bun.IDB, u *models.User) error {
	base := u.Username
	for i := 1; i <= 30; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		if i == 30 {
			name = base + "-" + security.NewPublicID()[:6]
		}
		taken, err := models.UsernameTaken(ctx, tx, name, 0)
		if err != nil {
			return err
		}
		if !taken {
			u.SetUsername(name)
			return nil
		}
	}
	return nil
}

// finishLink adds the identity to the account that started the link, in
// the same browser session.
func (s *Providers) finishLink(ctx context.Context, actor Actor, st *models.OIDCState, p *models.IdentityProvider, prof oidc.Profile,
	refuse func(*models.User, string, string, error) (*FlowResult, error)) (*FlowResult, error) {
	if actor.User == nil || actor.User.ID != *st.LinkUserID || subtle.ConstantTimeCompare([]byte(actor.SessionID), []byte(st.LinkSessionID)) != 1 {
		return refuse(actor.User, "link_session_mismatch", "Linking must finish in the session that started it. Sign in and try again.", nil)
	}
	if !p.LoginEnabled {
		return refuse(actor.User, "login_disabled", "Sign-in with "+p.Name+" is turned off.", nil)
	}
	var refusal *FlowError
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		ident, err := models.IdentityBySubject(ctx, tx, p.ID, prof.Subject)
		if err == nil {
			if ident.UserID != actor.User.ID {
				refusal = flowErr("identity_in_use", "This "+p.Name+" account is already linked to another account.")
			} else {
				refusal = flowErr("already_linked", "Your account is already linked to this "+p.Name+" account.")
			}
			return nil
		} else if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		n, err := tx.NewSelect().Model((*models.Identity)(nil)).Where("user_id = ?", actor.User.ID).Where("provider_id = ?", p.ID).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			refusal = flowErr("already_linked", "Your account is already linked to another "+p.Name+" account; unlink it first.")
			return nil
		}
		return s.insertIdentity(ctx, tx, actor, actor.User, p, prof, "link")
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return refuse(actor.User, refusal.Code, refusal.Message, nil)
	}
	return &FlowResult{Linked: true, Next: LinkReturnPath + "?linked=" + p.Slug}, nil
}

func (s *Providers) auditRefusal(ctx context.Context, actor Actor, user *models.User, slug, code string, detail error) {
	d := map[string]any{"reason": "provider_" + code, "method": "provider", "provider": slug}
	var denied providerDenied
	switch {
	case errors.As(detail, &denied):
		d["providerError"] = string(denied)
	case detail != nil:
		// The audit log keeps the failure class only: what a remote server
		// answered (or an internal error text) goes to the server log.
		d["failure"] = outbound.Classify(detail)
		s.svc.Log.WarnContext(ctx, "provider sign-in refused", "provider", slug, "code", code, "err", detail)
	}
	e := AuditEntry{Action: ActionProviderFlowRefused, Actor: actor, Target: user, Details: d}
	e.Actor.User = nil
	if user == nil {
		e.ActorLabel = "provider:" + slug
	}
	if err := s.svc.Audit.Write(ctx, s.svc.DB, e); err != nil {
		s.svc.Log.ErrorContext(ctx, "audit write failed", "err", err)
	}
}

// providerDenied is the error parameter a provider sent back (RFC 6749
// 4.1.2.1: an ASCII error code such as access_denied); anything else is
// recorded as "other".
type providerDenied string

var oauthErrorCode = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (p providerDenied) Error() string { return "provider error: " + string(p) }

func newProviderDenied(code string) providerDenied {
	if !oauthErrorCode.MatchString(code) {
		return "other"
	}
	return providerDenied(code)
}

// LinkedIdentity is one provider linked to the caller's account.
type LinkedIdentity struct {
	models.Identity
	CanUnlink bool
}

// MyIdentities lists the caller's identities and the providers they could
// still link.
func (s *Providers) MyIdentities(ctx context.Context, actor Actor) ([]LinkedIdentity, []models.IdentityProvider, error) {
	idents, err := models.IdentitiesOfUser(ctx, s.svc.DB, actor.User.ID)
	if err != nil {
		return nil, nil, err
	}
	signin, err := s.svc.Settings.Signin(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]LinkedIdentity, len(idents))
	linked := map[int64]bool{}
	for i := range idents {
		linked[idents[i].ProviderID] = true
		out[i] = LinkedIdentity{Identity: idents[i], CanUnlink: otherWayIn(actor.User, idents, idents[i].ID, signin)}
	}
	available := []models.IdentityProvider{}
	if signin.ThirdPartyEnabled {
		all, err := models.Providers(ctx, s.svc.DB)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range all {
			if p.LoginEnabled && !linked[p.ID] {
				available = append(available, p)
			}
		}
	}
	return out, available, nil
}

// otherWayIn reports whether u could still sign in without the identity
// except: by password on an enabled path, or by another identity at a
// provider whose login is on.
func otherWayIn(u *models.User, idents []models.Identity, except int64, signin SigninSettings) bool {
	if u.HasPassword() && (signin.UsernameEnabled || (signin.EmailEnabled && u.Email != nil && (u.EmailVerifiedAt != nil || u.EmailVouched))) {
		return true
	}
	for _, i := range idents {
		if i.ID != except && signin.ThirdPartyEnabled && i.Provider != nil && i.Provider.LoginEnabled {
			return true
		}
	}
	return false
}

// Unlink removes one of the caller's identities, unless it is their last
// way to sign in or the last way in for every administrator.
func (s *Providers) Unlink(ctx context.Context, actor Actor, id int64) error {
	return s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		user, err := models.UserByID(ctx, tx, actor.User.ID)
		if err != nil {
			return err
		}
		return s.unlink(ctx, tx, actor, user, id, "", "This is your only way to sign in. Set a password or link another provider first.")
	})
}

// UserIdentities lists the identities linked to an account, for an
// administrator: which provider, the subject it is keyed by, and whether
// unlinking it would leave the account a way to sign in.
func (s *Providers) UserIdentities(ctx context.Context, publicID string) ([]LinkedIdentity, error) {
	user, err := loadTarget(ctx, s.svc.DB, publicID)
	if err != nil {
		return nil, err
	}
	idents, err := models.IdentitiesOfUser(ctx, s.svc.DB, user.ID)
	if err != nil {
		return nil, err
	}
	signin, err := s.svc.Settings.Signin(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]LinkedIdentity, len(idents))
	for i := range idents {
		out[i] = LinkedIdentity{Identity: idents[i], CanUnlink: otherWayIn(user, idents, idents[i].ID, signin)}
	}
	return out, nil
}

// AdminUnlink removes an identity from an account (for example one linked
// by mistake or by someone else), under the same rules as the account
// owner's unlink plus the admin rules: a super administrator's identities
// only by a super administrator, and not one's own (use the account page).
// The account's sessions are left as they are; ending them is its own
// action.
func (s *Providers) AdminUnlink(ctx context.Context, actor Actor, publicID string, id int64, reason string) error {
	return s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		user, err := loadTarget(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if err := guard(actor, user, true); err != nil {
			return err
		}
		return s.unlink(ctx, tx, actor, user, id, reason, "This is the account's only way to sign in. Set a password for it first (reset password), then unlink.")
	})
}

func (s *Providers) unlink(ctx context.Context, tx bun.Tx, actor Actor, user *models.User, id int64, reason, lastMessage string) error {
	access, err := beginAdminAccess(ctx, tx, s.svc.Settings)
	if err != nil {
		return err
	}
	if err := access.noteAble(ctx, tx, user.ID); err != nil {
		return err
	}
	idents, err := models.IdentitiesOfUser(ctx, tx, user.ID)
	if err != nil {
		return err
	}
	var ident *models.Identity
	for i := range idents {
		if idents[i].ID == id {
			ident = &idents[i]
		}
	}
	if ident == nil {
		return errNotFound("The linked provider")
	}
	signin, _, err := getGroup[SigninSettings](ctx, s.svc.Settings, tx, GroupSignin, false)
	if err != nil {
		return err
	}
	if !otherWayIn(user, idents, id, signin) {
		return problem.New(problem.Conflict, "last_signin_method", lastMessage)
	}
	if _, err := tx.NewDelete().Model((*models.Identity)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return err
	}
	if access.canSignIn(user.ID) {
		if err := access.check(ctx, tx); err != nil {
			return err
		}
	}
	slug := ""
	if ident.Provider != nil {
		slug = ident.Provider.Slug
	}
	return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionIdentityUnlinked, Actor: actor, Target: user, Reason: reason,
		Details: map[string]any{"provider": slug, "subject": truncate(ident.Subject, 100)}})
}

// EnabledProviders lists the providers the sign-in page offers, in order:
// none while third-party sign-in is off.
func (s *Providers) EnabledProviders(ctx context.Context) ([]models.IdentityProvider, error) {
	out := []models.IdentityProvider{}
	signin, err := s.svc.Settings.Signin(ctx)
	if err != nil || !signin.ThirdPartyEnabled {
		return out, err
	}
	err = s.svc.DB.NewSelect().Model(&out).Where("login_enabled = ?", true).Order("sort_order", "id").Scan(ctx)
	return out, err
}
