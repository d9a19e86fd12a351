package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// SetupStatus tells the console whether first-run setup is pending.
func (h *Handler) SetupStatus(c *gin.Context) {
	pending, err := h.Svc.Setup.Pending(c.Request.Context())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"pending": pending})
}

type setupRequest struct {
	Token       string `json:"token"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	Email       string `json:"email"`
	DisplayName string `json:"displayName"`
	// Language is the console's language during setup (en when absent):
	// the administrator's emails follow it.
	Language string `json:"language"`
}

func (r *setupRequest) Validate() error {
	f := problem.Fields{}
	if r.Token == "" {
		f.Add("token", "is required")
	}
	if r.Username == "" {
		f.Add("username", "is required")
	}
	if r.Password == "" {
		f.Add("password", "is required")
	}
	return f.Err()
}

// Setup creates the first super administrator and signs them in the way
// sign-in does (a new session, its cookie; the identifier the browser came
// with, if any, ends), so that setup lands in the console. When the account
// was created but the session could not be started, the answer still says
// Created, with signedIn false: the console sends the administrator to sign in.
func (h *Handler) Setup(c *gin.Context) {
	var req setupRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	ctx, actor := c.Request.Context(), middleware.ActorOf(c)
	u, err := h.Svc.Setup.Complete(ctx, actor, req.Token, service.NewUser{
		Username: req.Username, Password: req.Password, Email: req.Email, DisplayName: req.DisplayName, Language: req.Language,
	})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	signedIn := false
	// A new account has no second factor: StartOrChallenge starts the session.
	if res, challenge, err := h.Svc.Auth.StartOrChallenge(ctx, actor, u, "password"); err != nil || challenge != "" {
		h.Svc.Log.ErrorContext(ctx, "setup: the new super administrator could not be signed in", "err", err)
	} else if err := h.Cookie.Set(c.Writer, c.Request, res.Token, max(int(res.Session.ExpiresAt.Sub(h.Svc.Now()).Seconds()), 1)); err != nil {
		h.Svc.Log.ErrorContext(ctx, "setup: the session cookie could not be set", "err", err)
	} else {
		h.Device.Set(c.Writer, res.Device)
		signedIn = true
	}
	c.JSON(http.StatusCreated, gin.H{"user": NewUser(u, h.Svc.Now()), "signedIn": signedIn})
}
