package api

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// flowCookie names the short-lived cookie that binds a provider round trip
// to the browser that started it (the state works only with it).
func (h *Handler) flowCookie() string {
	if h.Cfg.SecureCookies() {
		return "__Host-gatehouse_oidc"
	}
	return "gatehouse_oidc"
}

func (h *Handler) setFlowCookie(c *gin.Context, value string, maxAge int) {
	// SameSite=Lax: the provider sends the browser back with a top-level
	// GET, which carries Lax cookies.
	http.SetCookie(c.Writer, &http.Cookie{Name: h.flowCookie(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.Cfg.SecureCookies(), SameSite: http.SameSiteLaxMode})
}

// ProviderStart sends the browser to a provider to sign in. Failures come
// back to the sign-in page as /login?error=<code>.
func (h *Handler) ProviderStart(c *gin.Context) {
	start, err := h.Svc.Providers.StartSignIn(c.Request.Context(), c.Param("slug"), c.Query("next"))
	if err != nil {
		h.flowFailed(c, err, false)
		return
	}
	h.setFlowCookie(c, start.BrowserToken, int(service.StateLifetime.Seconds()))
	c.Redirect(http.StatusFound, start.RedirectURL)
}

// ProviderCallback finishes a round trip: it signs in (or asks for the
// second factor on the sign-in page), or finishes a link, and redirects.
func (h *Handler) ProviderCallback(c *gin.Context) {
	browser := ""
	if ck, err := c.Request.Cookie(h.flowCookie()); err == nil {
		browser = ck.Value
	}
	// The cookie has served its purpose whatever happens next.
	h.setFlowCookie(c, "", -1)
	res, err := h.Svc.Providers.Finish(c.Request.Context(), middleware.ActorOf(c), service.Callback{
		Slug: c.Param("slug"), State: c.Query("state"), Code: c.Query("code"), Error: c.Query("error"), BrowserToken: browser,
	})
	if err != nil {
		h.flowFailed(c, err, false)
		return
	}
	switch {
	case res.Linked:
		c.Redirect(http.StatusFound, res.Next)
	case res.Challenge != "":
		if err := h.Challenge.Set(c.Writer, c.Request, res.Challenge, int(service.ChallengeLifetime.Seconds())); err != nil {
			h.flowFailed(c, err, false)
			return
		}
		c.Redirect(http.StatusFound, "/login?mfa=1&next="+url.QueryEscape(res.Next))
	default:
		maxAge := int(res.Login.Session.ExpiresAt.Sub(h.Svc.Now()).Seconds())
		if err := h.Cookie.Set(c.Writer, c.Request, res.Login.Token, max(maxAge, 1)); err != nil {
			h.flowFailed(c, err, false)
			return
		}
		h.Device.Set(c.Writer, res.Login.Device)
		c.Redirect(http.StatusFound, res.Next)
	}
}

// flowFailed redirects a browser navigation to the page that explains a
// refusal; internal failures are logged and shown as server_error. An
// instance that cannot serve now (the secret key was rotated under it,
// storage unavailable) answers 503 with Retry-After, as every other request
// to it does, so that a load balancer sends the browser elsewhere.
func (h *Handler) flowFailed(c *gin.Context, err error, link bool) {
	code := "server_error"
	var fe *service.FlowError
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Kind == problem.Unavailable {
		httpx.Render(c, err)
		return
	}
	if errors.As(err, &fe) {
		code, link = fe.Code, link || fe.Link
	} else {
		log, ok := c.Value(httpx.LoggerKey).(*slog.Logger)
		if !ok {
			log = slog.Default()
		}
		log.ErrorContext(c.Request.Context(), "provider flow failed", "err", err, "request_id", c.GetString(httpx.RequestIDKey), "path", c.Request.URL.Path)
	}
	target := "/login?error="
	if link {
		target = service.LinkReturnPath + "?error="
	}
	c.Redirect(http.StatusFound, target+url.QueryEscape(code))
}

// LinkedIdentity is one provider linked to the caller's account.
type LinkedIdentity struct {
	ID         int64          `json:"id"`
	Provider   ProviderButton `json:"provider"`
	Email      string         `json:"email"`
	CreatedAt  time.Time      `json:"createdAt"`
	LastUsedAt *time.Time     `json:"lastUsedAt"`
	// CanUnlink is false when this is the account's last way to sign in.
	CanUnlink bool `json:"canUnlink"`
}

// MyIdentities lists the caller's linked providers and those they may link.
func (h *Handler) MyIdentities(c *gin.Context) {
	linked, available, err := h.Svc.Providers.MyIdentities(c.Request.Context(), middleware.ActorOf(c))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]LinkedIdentity, len(linked))
	for i, l := range linked {
		items[i] = newLinkedIdentity(l)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "available": newProviderButtons(available)})
}

func newLinkedIdentity(l service.LinkedIdentity) LinkedIdentity {
	out := LinkedIdentity{ID: l.ID, Email: l.Email, CreatedAt: l.CreatedAt, LastUsedAt: l.LastUsedAt, CanUnlink: l.CanUnlink}
	if p := l.Provider; p != nil {
		out.Provider = ProviderButton{Slug: p.Slug, Name: p.Name, LogoURL: p.LogoURL}
	}
	return out
}

// LinkIdentity starts linking a provider to the caller's account. It is a
// POST (cross-site protected) bound to the browser session; the answer is
// the provider URL to navigate to, and a flow cookie. The body carries the
// current password (accounts without one must have signed in recently).
func (h *Handler) LinkIdentity(c *gin.Context) {
	if middleware.ViaBearer(c) {
		httpx.Render(c, problem.New(problem.Forbidden, "session_required", "Providers are linked from a signed-in browser session."))
		return
	}
	var req reauthRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	start, err := h.Svc.Providers.StartLink(c.Request.Context(), middleware.ActorOf(c), c.Param("slug"), req.Password)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.setFlowCookie(c, start.BrowserToken, int(service.StateLifetime.Seconds()))
	c.JSON(http.StatusOK, gin.H{"redirectUrl": start.RedirectURL})
}

// UnlinkIdentity removes one of the caller's linked providers.
func (h *Handler) UnlinkIdentity(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Render(c, problem.New(problem.NotFound, "not_found", "The linked provider was not found."))
		return
	}
	if err := h.Svc.Providers.Unlink(c.Request.Context(), middleware.ActorOf(c), id); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// AdminLinkedIdentity is a linked identity as an administrator sees it,
// with the provider subject the identity is keyed by.
type AdminLinkedIdentity struct {
	LinkedIdentity
	Subject string `json:"subject"`
}

// UserIdentities lists the providers linked to an account.
func (h *Handler) UserIdentities(c *gin.Context) {
	linked, err := h.Svc.Providers.UserIdentities(c.Request.Context(), c.Param("publicId"))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]AdminLinkedIdentity, len(linked))
	for i, l := range linked {
		items[i] = AdminLinkedIdentity{LinkedIdentity: newLinkedIdentity(l), Subject: l.Subject}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// AdminUnlinkIdentity removes a linked provider from an account.
func (h *Handler) AdminUnlinkIdentity(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Render(c, problem.New(problem.NotFound, "not_found", "The linked provider was not found."))
		return
	}
	var req reasonRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Providers.AdminUnlink(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), id, req.Reason); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
