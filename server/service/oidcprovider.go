package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/uptrace/bun"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"gatehouse/models"
	"gatehouse/server/security"
)

// The OpenID Provider's storage: what github.com/zitadel/oidc's op
// package asks of it (op.Storage), on Gatehouse's tables. The op package
// does the protocol (parameters, PKCE check, token and discovery
// documents); this file holds the rules: which accounts may get tokens,
// single-use codes and refresh tokens (each redeemed by one conditional
// write), token families revoked as a whole, consent, and the signing
// keys.
//
// Access tokens are opaque: op seals "tokenID:subject" with AES-GCM under
// a key derived from the secret key. A token ID is "familyID.expiry.random",
// so an access token is valid while it has not expired, its family is not
// revoked and its account may still sign in to the application. ID tokens
// are signed with ES256.

// KeyRotationInterval is how long a signing key signs before the
// scheduled rotation replaces it; KeyRetention is how long a replaced key
// stays published (the longest ID-token lifetime, and a margin).
const (
	KeyRotationInterval = 90 * 24 * time.Hour
	KeyRetention        = MaxIDTokenTTL*time.Second + 10*time.Minute
	// authRequestTTL bounds a sign-in through the provider; codeTTL an
	// issued code.
	authRequestTTL = 30 * time.Minute
	codeTTL        = time.Minute
	// GatehouseClaim is the namespaced claim (scope "gatehouse") with the
	// account's role, status and plan.
	GatehouseClaim = "gatehouse"
	// ScopeGatehouse asks for GatehouseClaim.
	ScopeGatehouse = "gatehouse"
)

// Token-family revocation reasons.
const (
	RevokeCodeReplay   = "code_replay"
	RevokeRefreshReuse = "refresh_reuse"
	RevokeByClient     = "revoked"
	RevokeLogout       = "logout"
	RevokeSessionsEnd  = "sessions_ended"
)

// OIDC is the provider's storage and rules.
type OIDC struct {
	svc *Services

	mu       sync.Mutex
	keysAt   time.Time
	active   *signingKey
	keyset   []op.Key
	keyCache time.Duration
}

func newOIDC(s *Services) *OIDC { return &OIDC{svc: s, keyCache: 30 * time.Second} }

var _ op.Storage = (*OIDC)(nil)

// ---- clients ----

// opClient is an application as op sees it.
type opClient struct {
	app      *models.Application
	redirect []string
	logout   []string
	loginURL string
}

func (c *opClient) GetID() string                    { return c.app.ClientID }
func (c *opClient) RedirectURIs() []string           { return c.redirect }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.logout }

// ApplicationType is web for every client: with DevMode on, op matches
// every redirect URI exactly against the registered ones, whose forms
// (https, http on loopback, private-use schemes) registration checks.
func (c *opClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *opClient) AuthMethod() oidc.AuthMethod {
	if c.app.ClientType == models.ClientPublic {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *opClient) GrantTypes() []oidc.GrantType {
	if c.app.RefreshTokenTTL > 0 {
		return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	}
	return []oidc.GrantType{oidc.GrantTypeCode}
}
func (c *opClient) LoginURL(id string) string           { return c.loginURL + "?id=" + id }
func (c *opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *opClient) IDTokenLifetime() time.Duration {
	return time.Duration(c.app.IDTokenTTL) * time.Second
}
func (c *opClient) DevMode() bool                        { return true }
func (c *opClient) IsScopeAllowed(scope string) bool     { return slices.Contains(SupportedScopes, scope) }
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *opClient) ClockSkew() time.Duration             { return 0 }
func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// ResumePath is where op sends the browser to sign in: the handler that
// checks the Gatehouse session, the account and the consent.
const ResumePath = "/oauth/resume"

// appColumns leaves out the logo (a data: URL may be 64 KB).
var appColumns = []string{"id", "client_id", "name", "redirect_uris", "post_logout_redirect_uris", "client_type", "first_party",
	"allowed_roles", "allowed_statuses", "access_token_ttl", "id_token_ttl", "refresh_token_ttl", "secret_hash",
	"previous_secret_hash", "previous_secret_expires_at", "secret_rotated_at", "created_at", "updated_at"}

func (o *OIDC) app(ctx context.Context, db bun.IDB, clientID string) (*models.Application, error) {
	m, _ := ctx.Value(appMemoKey{}).(*appMemo)
	if a := m.get(func(a *models.Application) bool { return a.ClientID == clientID }); a != nil {
		return a, nil
	}
	a := new(models.Application)
	err := db.NewSelect().Model(a).Column(appColumns...).Where("client_id = ?", clientID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err == nil {
		m.put(a)
	}
	return a, err
}

// appByID loads an application by its row ID (through the request's memo).
func (o *OIDC) appByID(ctx context.Context, id int64) (*models.Application, error) {
	m, _ := ctx.Value(appMemoKey{}).(*appMemo)
	if a := m.get(func(a *models.Application) bool { return a.ID == id }); a != nil {
		return a, nil
	}
	a := new(models.Application)
	if err := o.svc.DB.NewSelect().Model(a).Column(appColumns...).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, err
	}
	m.put(a)
	return a, nil
}

// appMemo keeps the applications one request to the provider loaded: op
// asks for the client two or three times per token request (client
// authentication, the client, the token's family), each a query before.
// It lives as long as the request, so a change is seen by the next one.
type appMemo struct {
	mu   sync.Mutex
	apps []*models.Application
}

type appMemoKey struct{}

// WithAppMemo gives a request to the provider its application memo.
func WithAppMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, appMemoKey{}, &appMemo{})
}

func (m *appMemo) get(match func(*models.Application) bool) *models.Application {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.apps {
		if match(a) {
			return a
		}
	}
	return nil
}

func (m *appMemo) put(a *models.Application) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.apps = append(m.apps, a)
	m.mu.Unlock()
}

// GetClientByClientID answers the application as op's client.
func (o *OIDC) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	a, err := o.app(ctx, o.svc.DB, clientID)
	if err != nil {
		return nil, err
	}
	return &opClient{app: a, redirect: decodeScopes(a.RedirectURIs), logout: decodeScopes(a.PostLogoutRedirectURIs), loginURL: o.svc.BaseURL + ResumePath}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret (the
// current one, or the previous one inside its overlap).
func (o *OIDC) AuthorizeClientIDSecret(ctx context.Context, clientID, clientSecret string) error {
	a, err := o.app(ctx, o.svc.DB, clientID)
	if err != nil {
		return err
	}
	if a.ClientType != models.ClientConfidential || !CheckSecret(a, clientSecret, o.svc.Now()) {
		return oidc.ErrInvalidClient().WithDescription("invalid client_id / client_secret")
	}
	return nil
}

// ---- accounts ----

// mayUse reports whether the account may get tokens for the application
// at now: it exists, is not suspended, deactivated or locked, and its
// role and status are among the application's.
func mayUse(a *models.Application, u *models.User, now time.Time) bool {
	if u == nil || u.Status == models.StatusSuspended || u.Status == models.StatusDeactivated || u.LockedAt(now) {
		return false
	}
	if !slices.Contains(decodeScopes(a.AllowedStatuses), u.Status) {
		return false
	}
	roles := decodeScopes(a.AllowedRoles)
	return len(roles) == 0 || slices.Contains(roles, u.Role)
}

// MayUse is mayUse for the sign-in step.
func (o *OIDC) MayUse(a *models.Application, u *models.User) bool { return mayUse(a, u, o.svc.Now()) }

var errAccountRefused = oidc.ErrInvalidGrant().WithDescription("the account may not sign in to this application")

// ---- authorization requests ----

// storedRequest is what the client asked for, kept with the request.
type storedRequest struct {
	Scopes        []string `json:"scopes"`
	RedirectURI   string   `json:"redirectUri"`
	State         string   `json:"state"`
	Nonce         string   `json:"nonce"`
	ResponseType  string   `json:"responseType"`
	ResponseMode  string   `json:"responseMode"`
	CodeChallenge string   `json:"codeChallenge"`
	Method        string   `json:"codeChallengeMethod"`
	Prompt        []string `json:"prompt"`
	MaxAge        *uint    `json:"maxAge"`
	// Denied: the person declined on the consent page; the callback
	// answers access_denied in the request's response mode.
	Denied bool `json:"denied,omitempty"`
}

// AuthRequest is an authorization request in flight (op.AuthRequest).
type AuthRequest struct {
	ID          string
	App         *models.Application
	Req         storedRequest
	UserID      *int64
	CreatedAt   time.Time
	subject     string
	authTime    time.Time
	amr         []string
	done        bool
	codeHash    string
	user        *models.User
	userChecked bool
}

func (r *AuthRequest) GetID() string          { return r.ID }
func (r *AuthRequest) GetACR() string         { return "" }
func (r *AuthRequest) GetAMR() []string       { return r.amr }
func (r *AuthRequest) GetAudience() []string  { return []string{r.App.ClientID} }
func (r *AuthRequest) GetAuthTime() time.Time { return r.authTime }
func (r *AuthRequest) GetClientID() string    { return r.App.ClientID }
func (r *AuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if r.Req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: r.Req.CodeChallenge, Method: oidc.CodeChallengeMethod(r.Req.Method)}
}
func (r *AuthRequest) GetNonce() string       { return r.Req.Nonce }
func (r *AuthRequest) GetRedirectURI() string { return r.Req.RedirectURI }
func (r *AuthRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(r.Req.ResponseType)
}
func (r *AuthRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(r.Req.ResponseMode)
}
func (r *AuthRequest) GetScopes() []string { return r.Req.Scopes }
func (r *AuthRequest) GetState() string    { return r.Req.State }
func (r *AuthRequest) GetSubject() string  { return r.subject }
func (r *AuthRequest) Done() bool          { return r.done }

// Prompts answers the request's prompt values.
func (r *AuthRequest) Prompts() []string { return r.Req.Prompt }

// NeedsFreshSignIn reports whether a session that signed in at signedIn
// is too old for the request at now: max_age (prompt=login is max_age 0,
// as op sets it) counts from the sign-in, and a sign-in made after the
// request started always satisfies it (the one the request asked for,
// however long the person took).
func (r *AuthRequest) NeedsFreshSignIn(signedIn, now time.Time) bool {
	if r.Req.MaxAge == nil || !signedIn.Before(r.CreatedAt) {
		return false
	}
	maxAge := time.Duration(*r.Req.MaxAge) * time.Second
	return maxAge == 0 || now.Sub(signedIn) > maxAge
}

// CreateAuthRequest stores a validated authorization request. PKCE with
// S256 is required of public clients; a confidential client may send it,
// and then only S256.
func (o *OIDC) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	a, err := o.app(ctx, o.svc.DB, req.ClientID)
	if err != nil {
		return nil, err
	}
	method := string(req.CodeChallengeMethod)
	if req.CodeChallenge != "" && method != string(oidc.CodeChallengeMethodS256) {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if a.ClientType == models.ClientPublic && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for this client")
	}
	sr := storedRequest{Scopes: req.Scopes, RedirectURI: req.RedirectURI, State: req.State, Nonce: req.Nonce, ResponseType: string(req.ResponseType),
		ResponseMode: string(req.ResponseMode), CodeChallenge: req.CodeChallenge, Method: method, Prompt: req.Prompt}
	if req.MaxAge != nil {
		v := *req.MaxAge
		sr.MaxAge = &v
	}
	raw, err := json.Marshal(sr)
	if err != nil {
		return nil, err
	}
	now := o.svc.Now().UTC()
	row := &models.OAuthAuthRequest{ID: security.NewToken(24), ApplicationID: a.ID, Request: string(raw), CreatedAt: now, ExpiresAt: now.Add(authRequestTTL)}
	if _, err := o.svc.DB.NewInsert().Model(row).Exec(ctx); err != nil {
		return nil, err
	}
	return &AuthRequest{ID: row.ID, App: a, Req: sr, CreatedAt: row.CreatedAt}, nil
}

func (o *OIDC) loadRequest(ctx context.Context, db bun.IDB, row *models.OAuthAuthRequest) (*AuthRequest, error) {
	a := new(models.Application)
	if err := db.NewSelect().Model(a).Column(appColumns...).Where("id = ?", row.ApplicationID).Scan(ctx); err != nil {
		return nil, models.NotFound(err)
	}
	r := &AuthRequest{ID: row.ID, App: a, UserID: row.UserID, done: row.Done, CreatedAt: row.CreatedAt}
	if err := json.Unmarshal([]byte(row.Request), &r.Req); err != nil {
		return nil, err
	}
	if row.AuthTime != nil {
		r.authTime = *row.AuthTime
	}
	if row.AMR != "" {
		r.amr = strings.Split(row.AMR, " ")
	}
	if row.CodeHash != nil {
		r.codeHash = *row.CodeHash
	}
	if row.UserID != nil {
		u, err := models.UserByID(ctx, db, *row.UserID)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			r.user, r.subject = u, u.PublicID
		}
	}
	return r, nil
}

var errRequestGone = errors.New("the authorization request is unknown or expired")

// AuthRequestByID answers an unexpired request.
func (o *OIDC) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return o.RequestByID(ctx, id)
}

// RequestByID is AuthRequestByID with the concrete type.
func (o *OIDC) RequestByID(ctx context.Context, id string) (*AuthRequest, error) {
	row := new(models.OAuthAuthRequest)
	err := o.svc.DB.NewSelect().Model(row).Where("id = ?", id).Where("expires_at > ?", o.svc.Now().UTC()).Where("code_hash IS NULL").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errRequestGone
	} else if err != nil {
		return nil, err
	}
	return o.loadRequest(ctx, o.svc.DB, row)
}

// AuthRequestByCode redeems a code: one conditional write marks it used,
// so that of two exchanges of the same code only one gets a request. A
// code presented again revokes every token issued from it.
func (o *OIDC) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	hash := security.HashToken(code)
	now := o.svc.Now().UTC()
	res, err := o.svc.DB.NewUpdate().Model((*models.OAuthAuthRequest)(nil)).Set("code_used_at = ?", now).
		Where("code_hash = ?", hash).Where("code_used_at IS NULL").Where("expires_at > ?", now).Exec(ctx)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		// Replayed (or expired, or never issued): whatever was issued
		// from this code is revoked.
		if _, err := models.RevokeFamilies(ctx, o.svc.DB, now, RevokeCodeReplay, func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Where("code_hash = ?", hash)
		}); err != nil {
			return nil, err
		}
		return nil, errors.New("the code was already used or has expired")
	}
	row := new(models.OAuthAuthRequest)
	if err := o.svc.DB.NewSelect().Model(row).Where("code_hash = ?", hash).Scan(ctx); err != nil {
		return nil, err
	}
	return o.loadRequest(ctx, o.svc.DB, row)
}

// SaveAuthCode stores the hash of the code issued for a finished request;
// the code is good for a minute.
func (o *OIDC) SaveAuthCode(ctx context.Context, id, code string) error {
	now := o.svc.Now().UTC()
	res, err := o.svc.DB.NewUpdate().Model((*models.OAuthAuthRequest)(nil)).Set("code_hash = ?", security.HashToken(code)).Set("expires_at = ?", now.Add(codeTTL)).
		Where("id = ?", id).Where("done").Where("code_hash IS NULL").Where("expires_at > ?", now).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errRequestGone
	}
	return nil
}

// DeleteAuthRequest keeps the row: a redeemed code stays known until it
// expires, and the sweep removes it.
func (o *OIDC) DeleteAuthRequest(context.Context, string) error { return nil }

// Complete marks a request signed in by u through the session sess.
func (o *OIDC) Complete(ctx context.Context, id string, u *models.User, sess *models.Session) error {
	now := o.svc.Now().UTC()
	res, err := o.svc.DB.NewUpdate().Model((*models.OAuthAuthRequest)(nil)).Set("user_id = ?", u.ID).Set("session_id = ?", sess.ID).
		Set("auth_time = ?", sess.CreatedAt.UTC()).Set("amr = ?", strings.Join(amrOf(sess.Method), " ")).Set("done = ?", true).
		Where("id = ?", id).Where("code_hash IS NULL").Where("expires_at > ?", now).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errRequestGone
	}
	return nil
}

// BindUser records who is answering a consent request (before consent).
func (o *OIDC) BindUser(ctx context.Context, id string, u *models.User) error {
	_, err := o.svc.DB.NewUpdate().Model((*models.OAuthAuthRequest)(nil)).Set("user_id = ?", u.ID).
		Where("id = ?", id).Where("code_hash IS NULL").Where("NOT done").Exec(ctx)
	return err
}

// Deny records that the person declined the request on the consent
// page; the callback then answers access_denied (and cancels it).
func (o *OIDC) Deny(ctx context.Context, r *AuthRequest) error {
	r.Req.Denied = true
	raw, err := json.Marshal(r.Req)
	if err != nil {
		return err
	}
	res, err := o.svc.DB.NewUpdate().Model((*models.OAuthAuthRequest)(nil)).Set("request = ?", string(raw)).
		Where("id = ?", r.ID).Where("code_hash IS NULL").Where("NOT done").Where("expires_at > ?", o.svc.Now().UTC()).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errRequestGone
	}
	return nil
}

// Cancel ends a request (consent denied, and answered).
func (o *OIDC) Cancel(ctx context.Context, id string) error {
	_, err := o.svc.DB.NewUpdate().Model((*models.OAuthAuthRequest)(nil)).Set("expires_at = ?", o.svc.Now().UTC()).
		Where("id = ?", id).Where("code_hash IS NULL").Exec(ctx)
	return err
}

// amrOf maps a Gatehouse session method to RFC 8176 values.
func amrOf(method string) []string {
	var out []string
	for _, part := range strings.Split(method, "+") {
		switch {
		case part == "password":
			out = append(out, "pwd")
		case part == "totp":
			out = append(out, "otp")
		case part == "recovery_code":
			out = append(out, "otp")
		case part == "passkey":
			out = append(out, "hwk")
		case strings.HasPrefix(part, "provider"):
			out = append(out, "fed")
		}
	}
	if len(out) > 1 {
		out = append(out, "mfa")
	}
	return out
}

// ---- consent ----

// ConsentCovered reports whether the account's remembered consent to the
// application covers scopes.
func (o *OIDC) ConsentCovered(ctx context.Context, userID, appID int64, scopes []string) (bool, error) {
	g, err := models.GrantOf(ctx, o.svc.DB, userID, appID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	have := decodeScopes(g.Scopes)
	for _, s := range scopes {
		if !slices.Contains(have, s) {
			return false, nil
		}
	}
	return true, nil
}

// ConsentRequest answers the request the account is asked to consent to;
// not found unless it is the account's and still open.
func (o *OIDC) ConsentRequest(ctx context.Context, actor Actor, id string) (*AuthRequest, error) {
	r, err := o.RequestByID(ctx, id)
	if err != nil || r.UserID == nil || *r.UserID != actor.User.ID || r.done {
		if err != nil && !errors.Is(err, errRequestGone) {
			return nil, err
		}
		return nil, errNotFound("The consent request")
	}
	return r, nil
}

// AnswerConsent records the account's answer: approval remembers the
// scopes and finishes the request; either way it is audited.
func (o *OIDC) AnswerConsent(ctx context.Context, actor Actor, r *AuthRequest, approve bool) error {
	now := o.svc.Now().UTC()
	return o.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if approve {
			scopes := append([]string{}, r.Req.Scopes...)
			if g, err := models.GrantOf(ctx, tx, actor.User.ID, r.App.ID); err == nil {
				for _, s := range decodeScopes(g.Scopes) {
					if !slices.Contains(scopes, s) {
						scopes = append(scopes, s)
					}
				}
			}
			b, _ := json.Marshal(scopes)
			if err := models.SaveGrant(ctx, tx, actor.User.ID, r.App.ID, string(b), now); err != nil {
				return err
			}
		}
		return o.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAppConsent, Actor: actor, Object: appObject(r.App),
			Details: map[string]any{"approved": approve, "scopes": r.Req.Scopes}})
	})
}

// ---- tokens ----

// refreshRequest is a refresh token's grant (op.RefreshTokenRequest).
type refreshRequest struct {
	family *models.OAuthFamily
	app    *models.Application
	user   *models.User
	scopes []string
	hash   string
}

func (r *refreshRequest) GetAMR() []string {
	if r.family.AMR == "" {
		return nil
	}
	return strings.Split(r.family.AMR, " ")
}
func (r *refreshRequest) GetAudience() []string            { return []string{r.app.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.family.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.app.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.user.PublicID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// accessTokenID names a token of family valid until exp.
func accessTokenID(family string, exp time.Time) string {
	return family + "." + strconv.FormatInt(exp.Unix(), 10) + "." + security.NewToken(6)
}

func parseAccessTokenID(id string) (family string, exp time.Time, ok bool) {
	parts := strings.Split(id, ".")
	if len(parts) != 3 {
		return "", time.Time{}, false
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return parts[0], time.Unix(n, 0).UTC(), true
}

// opExpiry is exp as op needs it for expires_in: op measures it against
// the wall clock, Gatehouse's rules against svc.Now (a test clock).
func (o *OIDC) opExpiry(ttl int) time.Time {
	return time.Now().UTC().Add(time.Duration(ttl) * time.Second)
}

// newFamily starts the token family of a redeemed code.
func (o *OIDC) newFamily(ctx context.Context, db bun.IDB, r *AuthRequest, refresh bool) (*models.OAuthFamily, error) {
	if r.user == nil || !mayUse(r.App, r.user, o.svc.Now()) {
		return nil, errAccountRefused
	}
	now := o.svc.Now().UTC()
	ttl := r.App.AccessTokenTTL
	if refresh {
		ttl = r.App.RefreshTokenTTL
	}
	b, _ := json.Marshal(r.Req.Scopes)
	f := &models.OAuthFamily{ID: security.NewToken(16), ApplicationID: r.App.ID, UserID: r.user.ID, Scopes: string(b), AMR: strings.Join(r.amr, " "),
		AuthTime: r.authTime, CodeHash: r.codeHash, CreatedAt: now, ExpiresAt: now.Add(time.Duration(ttl) * time.Second)}
	if _, err := db.NewInsert().Model(f).Exec(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// CreateAccessToken issues an access token for a redeemed code without
// offline_access.
func (o *OIDC) CreateAccessToken(ctx context.Context, request op.TokenRequest) (string, time.Time, error) {
	r, ok := request.(*AuthRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	f, err := o.newFamily(ctx, o.svc.DB, r, false)
	if err != nil {
		return "", time.Time{}, err
	}
	return accessTokenID(f.ID, o.svc.Now().Add(time.Duration(r.App.AccessTokenTTL)*time.Second)), o.opExpiry(r.App.AccessTokenTTL), nil
}

func newRefreshToken() (string, string) {
	t := "ghr_" + security.NewToken(32)
	return t, security.HashToken(t)
}

// CreateAccessAndRefreshTokens issues an access and a refresh token: for
// a redeemed code (a new family), or for a refresh token, which one
// conditional write retires; a refresh token already retired revokes its
// whole family.
func (o *OIDC) CreateAccessAndRefreshTokens(ctx context.Context, request op.TokenRequest, current string) (string, string, time.Time, error) {
	now := o.svc.Now().UTC()
	token, hash := newRefreshToken()
	switch r := request.(type) {
	case *AuthRequest:
		var f *models.OAuthFamily
		err := o.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			var err error
			if f, err = o.newFamily(ctx, tx, r, true); err != nil {
				return err
			}
			_, err = tx.NewInsert().Model(&models.OAuthRefreshToken{TokenHash: hash, FamilyID: f.ID, CreatedAt: now, ExpiresAt: f.ExpiresAt}).Exec(ctx)
			return err
		})
		if err != nil {
			return "", "", time.Time{}, err
		}
		return accessTokenID(f.ID, now.Add(time.Duration(r.App.AccessTokenTTL)*time.Second)), token, o.opExpiry(r.App.AccessTokenTTL), nil
	case *refreshRequest:
		exp := now.Add(time.Duration(r.app.RefreshTokenTTL) * time.Second)
		reused := false
		err := o.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			res, err := tx.NewUpdate().Model((*models.OAuthRefreshToken)(nil)).Set("used_at = ?", now).
				Where("token_hash = ?", r.hash).Where("used_at IS NULL").Exec(ctx)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				reused = true
				return nil
			}
			if _, err := tx.NewInsert().Model(&models.OAuthRefreshToken{TokenHash: hash, FamilyID: r.family.ID, CreatedAt: now, ExpiresAt: exp}).Exec(ctx); err != nil {
				return err
			}
			// Refresh tokens slide: the family lives as long as its newest.
			_, err = tx.NewUpdate().Model((*models.OAuthFamily)(nil)).Set("expires_at = ?", exp).Where("id = ?", r.family.ID).Exec(ctx)
			return err
		})
		if err != nil {
			return "", "", time.Time{}, err
		}
		if reused {
			if err := o.revokeFamily(ctx, r.family.ID, RevokeRefreshReuse); err != nil {
				return "", "", time.Time{}, err
			}
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
		}
		return accessTokenID(r.family.ID, now.Add(time.Duration(r.app.AccessTokenTTL)*time.Second)), token, o.opExpiry(r.app.AccessTokenTTL), nil
	}
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

func (o *OIDC) revokeFamily(ctx context.Context, id, reason string) error {
	_, err := models.RevokeFamilies(ctx, o.svc.DB, o.svc.Now().UTC(), reason, func(q *bun.UpdateQuery) *bun.UpdateQuery { return q.Where("id = ?", id) })
	return err
}

// refreshRow is a refresh token with its family, application and account.
type refreshRow struct {
	UsedAt    *time.Time `bun:"used_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	FamilyID  string     `bun:"family_id"`
}

// TokenRequestByRefreshToken answers a refresh token's grant. A token
// already rotated is a reuse: its family is revoked.
func (o *OIDC) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	hash := security.HashToken(token)
	now := o.svc.Now().UTC()
	var rt models.OAuthRefreshToken
	if err := o.svc.DB.NewSelect().Model(&rt).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errors.New("unknown refresh token")
		}
		return nil, err
	}
	if rt.UsedAt != nil {
		if err := o.revokeFamily(ctx, rt.FamilyID, RevokeRefreshReuse); err != nil {
			return nil, err
		}
		return nil, errors.New("refresh token reused; its family is revoked")
	}
	if !now.Before(rt.ExpiresAt) {
		return nil, errors.New("refresh token expired")
	}
	f, a, u, err := o.family(ctx, rt.FamilyID)
	if err != nil {
		return nil, err
	}
	if a.RefreshTokenTTL == 0 || !mayUse(a, u, now) {
		return nil, errAccountRefused
	}
	return &refreshRequest{family: f, app: a, user: u, scopes: decodeScopes(f.Scopes), hash: hash}, nil
}

// family loads a live family with its application and account.
func (o *OIDC) family(ctx context.Context, id string) (*models.OAuthFamily, *models.Application, *models.User, error) {
	f := new(models.OAuthFamily)
	if err := o.svc.DB.NewSelect().Model(f).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, nil, nil, errors.New("unknown token")
	}
	if f.RevokedAt != nil || !o.svc.Now().Before(f.ExpiresAt) {
		return nil, nil, nil, errors.New("token revoked or expired")
	}
	a, err := o.appByID(ctx, f.ApplicationID)
	if err != nil {
		return nil, nil, nil, errors.New("unknown application")
	}
	u, err := o.svc.Auth.sessions.User(ctx, f.UserID)
	if err != nil {
		return nil, nil, nil, errors.New("unknown account")
	}
	return f, a, u, nil
}

// accessToken checks an access token's ID: unexpired, family live,
// account still allowed.
func (o *OIDC) accessToken(ctx context.Context, tokenID, subject string) (*models.OAuthFamily, *models.Application, *models.User, time.Time, error) {
	famID, exp, ok := parseAccessTokenID(tokenID)
	if !ok || !o.svc.Now().Before(exp) {
		return nil, nil, nil, exp, errors.New("invalid or expired token")
	}
	f, a, u, err := o.family(ctx, famID)
	if err != nil {
		return nil, nil, nil, exp, err
	}
	if u.PublicID != subject || !mayUse(a, u, o.svc.Now()) {
		return nil, nil, nil, exp, errors.New("the account may not use this token")
	}
	return f, a, u, exp, nil
}

// TerminateSession is not used: TerminateSessionFromRequest ends sessions.
func (o *OIDC) TerminateSession(ctx context.Context, userID, clientID string) error { return nil }

// RevokeToken revokes (RFC 7009) a refresh or access token; either ends
// its whole family. A token of another client, or an unknown one, is
// left alone and answered with success, as the RFC asks.
func (o *OIDC) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	var famID string
	if h, ok := strings.CutPrefix(tokenOrID, "r:"); ok {
		var rt models.OAuthRefreshToken
		if err := o.svc.DB.NewSelect().Model(&rt).Where("token_hash = ?", h).Scan(ctx); err != nil {
			return nil
		}
		famID = rt.FamilyID
	} else if id, _, ok := parseAccessTokenID(tokenOrID); ok {
		famID = id
	} else {
		return nil
	}
	f := new(models.OAuthFamily)
	if err := o.svc.DB.NewSelect().Model(f).Where("id = ?", famID).Scan(ctx); err != nil {
		return nil
	}
	a := new(models.Application)
	if err := o.svc.DB.NewSelect().Model(a).Column("id", "client_id").Where("id = ?", f.ApplicationID).Scan(ctx); err != nil || a.ClientID != clientID {
		return nil
	}
	if err := o.revokeFamily(ctx, famID, RevokeByClient); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo answers a refresh token's account and ID ("r:" and
// its hash) for revocation.
func (o *OIDC) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	if !strings.HasPrefix(token, "ghr_") {
		return "", "", op.ErrInvalidRefreshToken
	}
	hash := security.HashToken(token)
	var row struct {
		PublicID string `bun:"public_id"`
	}
	err := o.svc.DB.NewSelect().TableExpr("oauth_refresh_tokens AS rt").Join("JOIN oauth_token_families AS f ON f.id = rt.family_id").
		Join("JOIN applications AS a ON a.id = f.application_id").Join("JOIN users AS u ON u.id = f.user_id").
		ColumnExpr("u.public_id").Where("rt.token_hash = ?", hash).Where("a.client_id = ?", clientID).Scan(ctx, &row)
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return row.PublicID, "r:" + hash, nil
}

// TerminateSessionFromRequest ends, for RP-initiated logout with an
// id_token_hint, the browser's Gatehouse session when it is the hinted
// account's, and every token of that account at the application. Without
// a hint nothing ends (a cross-site link must not sign people out).
func (o *OIDC) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if req.UserID == "" || req.ClientID == "" {
		return req.RedirectURI, nil
	}
	u, err := models.UserByPublicID(ctx, o.svc.DB, req.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return req.RedirectURI, nil
	} else if err != nil {
		return "", err
	}
	a, err := o.app(ctx, o.svc.DB, req.ClientID)
	if err != nil {
		return "", err
	}
	if _, err := models.RevokeFamilies(ctx, o.svc.DB, o.svc.Now().UTC(), RevokeLogout, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Where("user_id = ?", u.ID).Where("application_id = ?", a.ID)
	}); err != nil {
		return "", err
	}
	if actor, ok := ctx.Value(actorKey{}).(Actor); ok && actor.User != nil && actor.User.ID == u.ID && actor.SessionID != "" {
		if err := o.svc.Auth.Logout(ctx, actor); err != nil {
			return "", err
		}
	}
	return req.RedirectURI, nil
}

type actorKey struct{}

// WithActor carries the browser's actor to TerminateSessionFromRequest.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ---- claims ----

// userinfo fills claims of u for scopes.
func userinfo(info *oidc.UserInfo, u *models.User, scopes []string) {
	info.Subject = u.PublicID
	for _, s := range scopes {
		switch s {
		case oidc.ScopeEmail:
			if u.Email != nil {
				info.Email = *u.Email
				info.EmailVerified = oidc.Bool(u.EmailVerifiedAt != nil)
				if u.EmailVerifiedAt == nil {
					// op leaves a false email_verified out (omitempty);
					// the claim is said either way.
					info.AppendClaims("email_verified", false)
				}
			}
		case oidc.ScopeProfile:
			info.Name = u.DisplayName
			if info.Name == "" {
				info.Name = u.Username
			}
			info.PreferredUsername = u.Username
			if u.Language != "" {
				info.Locale = oidc.NewLocale(parseLang(u.Language))
			}
			info.Zoneinfo = u.Timezone
			info.UpdatedAt = oidc.FromTime(u.UpdatedAt)
		case ScopeGatehouse:
			claim := map[string]any{"role": u.Role, "status": u.Status, "plan": nil}
			if u.Plan != nil {
				claim["plan"] = u.Plan.Name
				if u.SubscriptionExpiresAt != nil {
					claim["planExpiresAt"] = u.SubscriptionExpiresAt.UTC().Format(time.RFC3339)
				}
			}
			info.AppendClaims(GatehouseClaim, claim)
		}
	}
}

// SetUserinfoFromScopes is not used: SetUserinfoFromRequest has the
// account already loaded.
func (o *OIDC) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (o *OIDC) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, request op.IDTokenRequest, scopes []string) error {
	var u *models.User
	switch r := request.(type) {
	case *AuthRequest:
		u = r.user
	case *refreshRequest:
		u = r.user
	}
	if u == nil {
		return errAccountRefused
	}
	userinfo(info, u, scopes)
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (o *OIDC) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	f, _, u, _, err := o.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	userinfo(info, u, decodeScopes(f.Scopes))
	return nil
}

// SetIntrospectionFromToken answers introspection (RFC 7662) to a
// confidential client (op authenticates it) about its own tokens.
func (o *OIDC) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	f, a, u, exp, err := o.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if a.ClientID != clientID {
		// Another application's token: inactive to this client (it
		// would otherwise learn who signed in elsewhere).
		return errors.New("the token was issued to another application")
	}
	scopes := decodeScopes(f.Scopes)
	info := new(oidc.UserInfo)
	userinfo(info, u, scopes)
	resp.SetUserInfo(info)
	resp.Scope = scopes
	resp.ClientID = a.ClientID
	resp.Audience = []string{a.ClientID}
	resp.Expiration = oidc.FromTime(exp)
	resp.TokenType = oidc.BearerToken
	return nil
}

// GetPrivateClaimsFromScopes adds nothing: access tokens are opaque.
func (o *OIDC) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID: the JWT profile grant is not offered.
func (o *OIDC) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("not supported")
}

// ValidateJWTProfileScopes: the JWT profile grant is not offered.
func (o *OIDC) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("not supported")
}

// Health answers whether the database answers.
func (o *OIDC) Health(ctx context.Context) error { return o.svc.DB.PingContext(ctx) }

// ---- signing keys ----

type signingKey struct {
	id  string
	key *ecdsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	key any
}

func (k *publicKey) ID() string                         { return k.id }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.key }

// newSigningKey makes a P-256 key row, its private half sealed.
func (o *OIDC) newSigningKey(now time.Time) (*models.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	sealed, err := o.svc.Box.Seal(base64.StdEncoding.EncodeToString(der))
	if err != nil {
		return nil, err
	}
	id := security.NewToken(12)
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: id, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return nil, err
	}
	return &models.SigningKey{ID: id, Algorithm: string(jose.ES256), PrivateKeySealed: sealed, PublicJWK: string(pub), CreatedAt: now}, nil
}

// EnsureSigningKey makes the first signing key when there is none (the
// first start; of several starting instances one key wins).
func (o *OIDC) EnsureSigningKey(ctx context.Context) error {
	return o.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Model((*models.SigningKey)(nil)).Where("retired_at IS NULL").Count(ctx)
		if err != nil || n > 0 {
			return err
		}
		k, err := o.newSigningKey(o.svc.Now().UTC())
		if err != nil {
			return err
		}
		if _, err = tx.NewInsert().Model(k).Exec(ctx); err != nil {
			return err
		}
		return o.svc.sealedStored(ctx, tx)
	})
}

// RotatedSigningKey is what a rotation did.
type RotatedSigningKey struct {
	NewKeyID, OldKeyID string
	OldPublishedUntil  time.Time
}

// RotateSigningKey replaces the active signing key; the old one stays in
// the JWKS for KeyRetention, past every ID token it signed. Keys retired
// long ago are deleted.
func (o *OIDC) RotateSigningKey(ctx context.Context) (*RotatedSigningKey, error) {
	now := o.svc.Now().UTC()
	out := &RotatedSigningKey{OldPublishedUntil: now.Add(KeyRetention)}
	err := o.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var old []models.SigningKey
		if err := tx.NewSelect().Model(&old).Where("retired_at IS NULL").Scan(ctx); err != nil {
			return err
		}
		for _, k := range old {
			res, err := tx.NewUpdate().Model((*models.SigningKey)(nil)).Set("retired_at = ?", now).Set("expires_at = ?", out.OldPublishedUntil).
				Where("id = ?", k.ID).Where("retired_at IS NULL").Exec(ctx)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errors.New("another instance rotated the signing key meanwhile")
			}
			out.OldKeyID = k.ID
		}
		k, err := o.newSigningKey(now)
		if err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(k).Exec(ctx); err != nil {
			return err
		}
		if err := o.svc.sealedStored(ctx, tx); err != nil {
			return err
		}
		out.NewKeyID = k.ID
		_, err = tx.NewDelete().Model((*models.SigningKey)(nil)).Where("expires_at < ?", now.Add(-24*time.Hour)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.keysAt = time.Time{}
	o.mu.Unlock()
	o.svc.Log.Info("signing key rotated", "new", out.NewKeyID, "old", out.OldKeyID, "oldPublishedUntil", out.OldPublishedUntil)
	return out, nil
}

// RotateIfDue rotates the signing key once it has signed for
// KeyRotationInterval (the schedule; every instance checks, one wins).
func (o *OIDC) RotateIfDue(ctx context.Context) error {
	var active []models.SigningKey
	if err := o.svc.DB.NewSelect().Model(&active).Where("retired_at IS NULL").Scan(ctx); err != nil {
		return err
	}
	if len(active) == 0 {
		return o.EnsureSigningKey(ctx)
	}
	if o.svc.Now().Sub(active[0].CreatedAt) < KeyRotationInterval {
		return nil
	}
	_, err := o.RotateSigningKey(ctx)
	return err
}

// keys answers the active key and the published ones, cached for a few
// seconds (another instance's rotation is seen within keyCache; both keys
// are published meanwhile).
func (o *OIDC) keys(ctx context.Context) (*signingKey, []op.Key, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if o.active != nil && now.Sub(o.keysAt) < o.keyCache {
		return o.active, o.keyset, nil
	}
	list, err := models.PublishedKeys(ctx, o.svc.DB, o.svc.Now().UTC())
	if err != nil {
		return nil, nil, err
	}
	var active *signingKey
	var set []op.Key
	for _, k := range list {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(k.PublicJWK), &jwk); err != nil {
			return nil, nil, fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		set = append(set, &publicKey{id: k.ID, key: jwk.Key})
		if k.RetiredAt == nil && active == nil {
			plain, err := o.svc.openSealed(ctx, nil, k.PrivateKeySealed)
			if err != nil {
				return nil, nil, fmt.Errorf("signing key %s: %w", k.ID, err)
			}
			der, err := base64.StdEncoding.DecodeString(plain)
			if err != nil {
				return nil, nil, err
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return nil, nil, err
			}
			ec, ok := priv.(*ecdsa.PrivateKey)
			if !ok {
				return nil, nil, fmt.Errorf("signing key %s is not ECDSA", k.ID)
			}
			active = &signingKey{id: k.ID, key: ec}
		}
	}
	if active == nil {
		return nil, nil, errors.New("no active signing key")
	}
	o.active, o.keyset, o.keysAt = active, set, now
	return active, set, nil
}

// SigningKey answers the active key.
func (o *OIDC) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k, _, err := o.keys(ctx)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// SignatureAlgorithms answers ES256.
func (o *OIDC) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

// KeySet answers the published public keys.
func (o *OIDC) KeySet(ctx context.Context) ([]op.Key, error) {
	_, set, err := o.keys(ctx)
	return set, err
}

// Sweep deletes expired requests, families and refresh tokens.
func (o *OIDC) Sweep(ctx context.Context) error {
	now := o.svc.Now().UTC()
	if _, err := o.svc.DB.NewDelete().Model((*models.OAuthAuthRequest)(nil)).Where("expires_at < ?", now.Add(-time.Hour)).Exec(ctx); err != nil {
		return err
	}
	// A family outlives its expiry by a day so that a replayed code or
	// refresh token still finds it (and its revocation is reported).
	if _, err := o.svc.DB.NewDelete().Model((*models.OAuthFamily)(nil)).Where("expires_at < ?", now.Add(-24*time.Hour)).Exec(ctx); err != nil {
		return err
	}
	return nil
}

// parseLang reads an account's language tag; an unknown one is und.
func parseLang(s string) language.Tag {
	t, err := language.Parse(s)
	if err != nil {
		return language.Und
	}
	return t
}
