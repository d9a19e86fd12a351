package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"gatehouse/models"
	"gatehouse/server/config"
	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// The OpenID Provider's HTTP side. The protocol endpoints are
// github.com/zitadel/oidc's op handler, mounted in the route table; the
// sign-in step (ResumeAuthorize) and the consent API are Gatehouse's.
//
// Issuer: the base URL. Endpoints (also in the discovery document):
//
//	/.well-known/openid-configuration, /oauth/keys (JWKS),
//	/oauth/authorize (+ /callback), /oauth/token, /oauth/userinfo,
//	/oauth/revoke (RFC 7009), /oauth/introspect (RFC 7662),
//	/oauth/end_session (RP-initiated logout).

// ConsentPath is the console page that asks a person's consent for a
// third-party application (?request=ID).
const ConsentPath = "/consent"

// newOpenIDProvider builds op's handler on the service's storage.
func newOpenIDProvider(cfg *config.Config, svc *service.Services) (*op.Provider, error) {
	m := hmac.New(sha256.New, svc.Box.Key())
	m.Write([]byte("oidc-access-tokens"))
	var key [32]byte
	copy(key[:], m.Sum(nil))
	conf := &op.Config{
		CryptoKey:                key,
		DefaultLogoutRedirectURI: cfg.BaseURL + "/login",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          service.SupportedScopes,
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "at_hash", "azp",
			"email", "email_verified", "name", "preferred_username", "locale", "zoneinfo", "updated_at", service.GatehouseClaim},
		SupportedUILocales: []language.Tag{language.English, language.SimplifiedChinese},
	}
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint("/oauth/authorize"), op.NewEndpoint("/oauth/token"), op.NewEndpoint("/oauth/userinfo"),
			op.NewEndpoint("/oauth/revoke"), op.NewEndpoint("/oauth/end_session"), op.NewEndpoint("/oauth/keys")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint("/oauth/introspect")),
	}
	if strings.HasPrefix(cfg.BaseURL, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	return op.NewOpenIDProvider(cfg.BaseURL, conf, svc.OIDC, opts...)
}

// OpenIDProvider serves op's endpoints.
func (h *Handler) OpenIDProvider(c *gin.Context) {
	h.OP.ServeHTTP(c.Writer, c.Request.WithContext(service.WithAppMemo(c.Request.Context())))
}

// ResponseModes are the response modes every authorization answer (the
// code, and errors from op, the sign-in step and the consent page) comes
// in: query (the default), fragment (op's, and the consent page's denial
// through the callback) and form_post (oidc_formpost.go).
var ResponseModes = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFragment), string(oidc.ResponseModeFormPost)}

// OpenIDDiscovery serves op's discovery document with the response modes
// Gatehouse answers. op leaves response_modes_supported out, which a
// client reads as query and fragment.
func (h *Handler) OpenIDDiscovery(c *gin.Context) {
	ctx := op.ContextWithIssuer(c.Request.Context(), h.OP.IssuerFromRequest(c.Request))
	d := op.CreateDiscoveryConfig(ctx, h.OP, h.OP.Storage())
	d.ResponseModesSupported = ResponseModes
	op.Discover(c.Writer, d)
}

// EndSession is RP-initiated logout: op's endpoint, told who the browser
// is so that the Gatehouse session can end with it.
func (h *Handler) EndSession(c *gin.Context) {
	r := c.Request.WithContext(service.WithActor(c.Request.Context(), middleware.ActorOf(c)))
	h.OP.ServeHTTP(c.Writer, r)
}

// EndSessionByPOST answers RP-initiated logout sent as a form POST
// (RP-Initiated Logout 1.0 §2 asks for GET and POST). A relying party's
// page posts it cross-site, where the browser leaves out Gatehouse's
// SameSite=Lax session cookie, so the request becomes the same GET (303 to
// a path on this origin): that top-level navigation carries the session,
// and EndSession makes every check.
func (h *Handler) EndSessionByPOST(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.Request.ParseForm(); err != nil {
		httpx.Render(c, problem.New(problem.BadRequest, "bad_body", "The request body could not be read."))
		return
	}
	c.Redirect(http.StatusSeeOther, "/oauth/end_session?"+c.Request.Form.Encode())
}

var errRequestExpired = problem.New(problem.NotFound, "not_found", "The sign-in request was not found or has expired; start again from the application.")

// ResumeAuthorize is where op sends the browser for sign-in: without a
// session, or with one older than the request's max_age (prompt=login is
// max_age 0), to the sign-in page (coming back here); a session held by a
// required password change or second factor to the console, which asks
// for them first; an account the application does not admit back to the
// application with access_denied; a third-party application without
// remembered consent to the consent page; otherwise on to the code. With
// prompt=none no page is shown: the answer is login_required,
// interaction_required or consent_required instead.
func (h *Handler) ResumeAuthorize(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Query("id")
	r, err := h.Svc.OIDC.RequestByID(ctx, id)
	if err != nil {
		httpx.Render(c, errRequestExpired)
		return
	}
	promptNone := slices.Contains(r.Prompts(), oidc.PromptNone)
	actor := middleware.ActorOf(c)
	back := service.ResumePath + "?id=" + url.QueryEscape(id)
	var sess *models.Session
	if actor.User != nil && actor.SessionID != "" {
		if sess, err = models.SessionByID(ctx, h.Svc.DB, actor.SessionID); err != nil && !errors.Is(err, models.ErrNotFound) {
			httpx.Render(c, err)
			return
		}
	}
	if sess == nil {
		if promptNone {
			h.authError(c, r, oidc.ErrLoginRequired())
			return
		}
		c.Redirect(http.StatusFound, "/login?next="+url.QueryEscape(back))
		return
	}
	if r.NeedsFreshSignIn(sess.CreatedAt, h.Svc.Now()) {
		if promptNone {
			h.authError(c, r, oidc.ErrLoginRequired().WithDescription("The session is older than max_age."))
			return
		}
		// The sign-in page shows its form although a session exists.
		c.Redirect(http.StatusFound, "/login?prompt=login&next="+url.QueryEscape(back))
		return
	}
	u := actor.User
	held, err := h.heldSession(c, u)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	if held {
		if promptNone {
			h.authError(c, r, oidc.ErrInteractionRequired().WithDescription("The account must change its password or add a second factor first."))
			return
		}
		// The console asks for the new password or the second factor
		// first; the application sign-in starts again afterwards.
		c.Redirect(http.StatusFound, "/")
		return
	}
	if !h.Svc.OIDC.MayUse(r.App, u) {
		h.authError(c, r, oidc.ErrAccessDenied().WithDescription("This account may not sign in to this application."))
		return
	}
	if !r.App.FirstParty {
		covered, err := h.Svc.OIDC.ConsentCovered(ctx, u.ID, r.App.ID, r.GetScopes())
		if err != nil {
			httpx.Render(c, err)
			return
		}
		if !covered || slices.Contains(r.Prompts(), oidc.PromptConsent) {
			if promptNone {
				e := oidc.ErrInteractionRequired().WithDescription("The person has not consented to these scopes.")
				e.ErrorType = "consent_required"
				h.authError(c, r, e)
				return
			}
			if err := h.Svc.OIDC.BindUser(ctx, id, u); err != nil {
				httpx.Render(c, err)
				return
			}
			c.Redirect(http.StatusFound, ConsentPath+"?request="+url.QueryEscape(id))
			return
		}
	}
	if err := h.Svc.OIDC.Complete(ctx, id, u, sess); err != nil {
		httpx.Render(c, errRequestExpired)
		return
	}
	c.Redirect(http.StatusFound, callbackPath(id))
}

// heldSession reports whether u's session may do nothing but change the
// password or add a required second factor (as forward auth refuses it).
func (h *Handler) heldSession(c *gin.Context, u *models.User) (bool, error) {
	if u.MustChangePassword {
		return true, nil
	}
	if u.TwoFactorEnabled() {
		return false, nil
	}
	sec, err := h.Svc.Settings.Security(c.Request.Context())
	if err != nil {
		return false, err
	}
	due, _ := sec.SecondFactorDue(u, h.Svc.Now())
	return due, nil
}

// authError answers the application an authorization error: op's
// redirect, or in response_mode=form_post the posted form.
func (h *Handler) authError(c *gin.Context, r *service.AuthRequest, e *oidc.Error) {
	if r.GetResponseMode() == oidc.ResponseModeFormPost {
		v := url.Values{"error": {string(e.ErrorType)}}
		if e.Description != "" {
			v.Set("error_description", e.Description)
		}
		if s := r.GetState(); s != "" {
			v.Set("state", s)
		}
		formPostPage(c, r.GetRedirectURI(), v)
		return
	}
	op.AuthRequestError(c.Writer, c.Request, r, e, h.OP)
}

func callbackPath(id string) string { return "/oauth/authorize/callback?id=" + url.QueryEscape(id) }

// complete marks the request signed in through the caller's session.
func (h *Handler) complete(c *gin.Context, id string, actor service.Actor) error {
	sess, err := models.SessionByID(c.Request.Context(), h.Svc.DB, actor.SessionID)
	if err != nil {
		return errRequestExpired
	}
	if err := h.Svc.OIDC.Complete(c.Request.Context(), id, actor.User, sess); err != nil {
		return errRequestExpired
	}
	return nil
}

// ConsentApp is the application a consent request is for.
type ConsentApp struct {
	ClientID string `json:"clientId"`
	Name     string `json:"name"`
	LogoURL  string `json:"logoUrl"`
}

// ConsentRequest is what the consent page shows.
type ConsentRequest struct {
	RequestID    string     `json:"requestId"`
	Application  ConsentApp `json:"application"`
	Scopes       []string   `json:"scopes"`
	RedirectHost string     `json:"redirectHost"`
}

func (h *Handler) consentRequest(c *gin.Context) (*service.AuthRequest, bool) {
	r, err := h.Svc.OIDC.ConsentRequest(c.Request.Context(), middleware.ActorOf(c), c.Param("requestId"))
	if err != nil {
		httpx.Render(c, err)
		return nil, false
	}
	return r, true
}

// GetConsentRequest answers what a third-party application asks of the
// signed-in person.
func (h *Handler) GetConsentRequest(c *gin.Context) {
	r, ok := h.consentRequest(c)
	if !ok {
		return
	}
	logo := ""
	if a, err := models.ApplicationByID(c.Request.Context(), h.Svc.DB, r.App.ID); err == nil {
		logo = a.LogoURL
	}
	host := ""
	if u, err := url.Parse(r.GetRedirectURI()); err == nil {
		host = u.Host
		if host == "" {
			host = u.Scheme + ":"
		}
	}
	c.JSON(http.StatusOK, ConsentRequest{RequestID: r.ID, Application: ConsentApp{ClientID: r.App.ClientID, Name: r.App.Name, LogoURL: logo},
		Scopes: r.GetScopes(), RedirectHost: host})
}

type consentAnswer struct {
	Approve *bool `json:"approve"`
}

func (a *consentAnswer) Validate() error {
	if a.Approve == nil {
		return problem.Fields{"approve": "is required"}.Err()
	}
	return nil
}

// AnswerConsentRequest approves (remembered) or denies; the page then
// sends the browser to redirectUrl.
func (h *Handler) AnswerConsentRequest(c *gin.Context) {
	var req consentAnswer
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	r, ok := h.consentRequest(c)
	if !ok {
		return
	}
	actor := middleware.ActorOf(c)
	ctx := c.Request.Context()
	if err := h.Svc.OIDC.AnswerConsent(ctx, actor, r, *req.Approve); err != nil {
		httpx.Render(c, err)
		return
	}
	if !*req.Approve {
		// The callback answers access_denied in the request's response
		// mode (query, fragment or the form_post page).
		if err := h.Svc.OIDC.Deny(ctx, r); err != nil {
			httpx.Render(c, errRequestExpired)
			return
		}
		c.JSON(http.StatusOK, gin.H{"redirectUrl": callbackPath(r.ID)})
		return
	}
	if err := h.complete(c, r.ID, actor); err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"redirectUrl": callbackPath(r.ID)})
}
