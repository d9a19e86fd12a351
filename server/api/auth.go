package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// AuthOptions tells the sign-in page what to offer.
func (h *Handler) AuthOptions(c *gin.Context) {
	ctx := c.Request.Context()
	signin, err := h.Svc.Settings.Signin(ctx)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	reg, err := h.Svc.Settings.Registration(ctx)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	hv, err := h.Svc.Settings.HumanVerification(ctx)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	siteKey := ""
	if hv.TurnstileEnabled && reg.EmailRegistrationEnabled {
		siteKey = hv.SiteKey
	}
	providers, err := h.Svc.Providers.EnabledProviders(ctx)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	policy, err := h.Svc.Settings.PasswordPolicy(ctx)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		// Shown beside every new-password field before the first error.
		"passwordPolicy": gin.H{"minLength": policy.MinLength, "maxLength": service.MaxPasswordLength,
			"blockCommon": policy.BlockCommon, "blockPersonalInfo": policy.BlockPersonalInfo},
		// The sign-in page's static hint (the same for everyone) for people
		// who registered and have not confirmed their address yet.
		"emailVerificationRequired": reg.RequireEmailVerification,
		"turnstileSiteKey":          siteKey,
		"usernameEnabled":           signin.UsernameEnabled,
		"emailEnabled":              signin.EmailEnabled,
		"thirdPartyEnabled":         signin.ThirdPartyEnabled,
		"registrationEnabled":       reg.EmailRegistrationEnabled,
		"providers":                 newProviderButtons(providers),
	})
}

type loginRequest struct {
	Identifier string `json:"identifier"`
	Password   string `json:"password"`
}

func (r *loginRequest) Validate() error {
	f := problem.Fields{}
	if strings.TrimSpace(r.Identifier) == "" {
		f.Add("identifier", "is required")
	} else if len(r.Identifier) > 254 {
		f.Add("identifier", "is too long")
	}
	if r.Password == "" {
		f.Add("password", "is required")
	} else if len(r.Password) > 4*128 { // 128 characters of up to 4 bytes each
		f.Add("password", "is too long")
	}
	return f.Err()
}

// Login checks a password and starts a new session (the old one, if any,
// ends: sign-in always rotates the session).
func (h *Handler) Login(c *gin.Context) {
	var req loginRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Limiter.CheckIdentifier(c, req.Identifier); err != nil {
		httpx.Render(c, err)
		return
	}
	res, challenge, err := h.Svc.Auth.Login(c.Request.Context(), middleware.ActorOf(c), req.Identifier, req.Password)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.finishSignIn(c, res, challenge)
}

// finishSignIn sets the session cookie and answers the user, or, when a
// second factor is due, sets the challenge cookie and answers mfaRequired.
func (h *Handler) finishSignIn(c *gin.Context, res *service.LoginResult, challenge string) {
	if challenge != "" {
		if err := h.Challenge.Set(c.Writer, c.Request, challenge, int(service.ChallengeLifetime.Seconds())); err != nil {
			httpx.Render(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"mfaRequired": true})
		return
	}
	if !h.setSessionCookie(c, res) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": h.signedInUser(c, res.User)})
}

func (h *Handler) setSessionCookie(c *gin.Context, res *service.LoginResult) bool {
	// The session's clock, not the wall clock: they differ under a test clock.
	maxAge := int(res.Session.ExpiresAt.Sub(h.Svc.Now()).Seconds())
	if err := h.Cookie.Set(c.Writer, c.Request, res.Token, max(maxAge, 1)); err != nil {
		httpx.Render(c, err)
		return false
	}
	h.Device.Set(c.Writer, res.Device)
	return true
}

type mfaRequest struct {
	Code string `json:"code"`
}

func (r *mfaRequest) Validate() error {
	if r.Code == "" || len(r.Code) > 64 {
		return problem.Fields{"code": "is required"}.Err()
	}
	return nil
}

// CompleteMFA is the second sign-in step. Success starts a new session
// (a new session ID) and ends the challenge.
func (h *Handler) CompleteMFA(c *gin.Context) {
	var req mfaRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	res, err := h.Svc.Auth.CompleteMFA(c.Request.Context(), middleware.ActorOf(c), h.Challenge.Token(c.Request), req.Code)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.Challenge.Clear(c.Writer, c.Request)
	if !h.setSessionCookie(c, res) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": h.signedInUser(c, res.User)})
}

// Logout ends the current session and clears the cookie.
func (h *Handler) Logout(c *gin.Context) {
	if err := h.Svc.Auth.Logout(c.Request.Context(), middleware.ActorOf(c)); err != nil {
		httpx.Render(c, err)
		return
	}
	h.Cookie.Clear(c.Writer, c.Request)
	c.Status(http.StatusNoContent)
}

type tokenRequest struct {
	Name string `json:"name"`
}

func (r *tokenRequest) Validate() error {
	if len(r.Name) > 100 {
		return problem.Fields{"name": "must be at most 100 characters"}.Err()
	}
	return nil
}

// IssueToken hands out a short-lived bearer token bound to the caller's
// browser session. A token cannot mint further tokens.
func (h *Handler) IssueToken(c *gin.Context) {
	if middleware.ViaBearer(c) {
		httpx.Render(c, problem.New(problem.Forbidden, "session_required", "Access tokens are issued only to a signed-in session."))
		return
	}
	var req tokenRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	token, expires, err := h.Svc.Auth.IssueAccessToken(c.Request.Context(), middleware.ActorOf(c), middleware.SessionOf(c), req.Name)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"token": token, "tokenType": "Bearer", "expiresAt": expires})
}
