package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

type registerRequest struct {
	Username       string `json:"username"`
	Email          string `json:"email"`
	Password       string `json:"password"`
	DisplayName    string `json:"displayName"`
	Language       string `json:"language"`
	TurnstileToken string `json:"turnstileToken"`
}

// Register creates an account from the public registration page.
func (h *Handler) Register(c *gin.Context) {
	var req registerRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	verify, err := h.Svc.Flows.Register(c.Request.Context(), middleware.ActorOf(c), service.RegisterInput{
		Username: req.Username, Email: req.Email, Password: req.Password, DisplayName: req.DisplayName, Language: req.Language, TurnstileToken: req.TurnstileToken,
	})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"verificationRequired": verify})
}

type tokenOnlyRequest struct {
	Token string `json:"token"`
}

func (r *tokenOnlyRequest) Validate() error {
	if r.Token == "" {
		return problem.Fields{"token": "is required"}.Err()
	}
	return nil
}

// VerifyEmail confirms an address with an emailed token.
func (h *Handler) VerifyEmail(c *gin.Context) {
	var req tokenOnlyRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	email, err := h.Svc.Flows.VerifyEmail(c.Request.Context(), middleware.ActorOf(c), req.Token)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"verified": true, "email": email})
}

type emailOnlyRequest struct {
	Email string `json:"email"`
}

func (r *emailOnlyRequest) Validate() error {
	if r.Email == "" || len(r.Email) > 254 {
		return problem.Fields{"email": "is required"}.Err()
	}
	return nil
}

// ResendVerification mails a new verification link; the answer is the
// same for every address.
func (h *Handler) ResendVerification(c *gin.Context) {
	var req emailOnlyRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	answered, done := context.WithCancel(c.Request.Context())
	defer done()
	if err := h.Svc.Flows.ResendVerification(answered, req.Email); err != nil {
		httpx.Render(c, err)
		return
	}
	acceptNow(c, done)
}

// acceptNow answers 202 and puts it on the wire before the background
// work of the request (which waits for answered) may start, so that the
// work never competes with the answer it must not show in.
func acceptNow(c *gin.Context, answered context.CancelFunc) {
	c.JSON(http.StatusAccepted, gin.H{"accepted": true})
	c.Writer.Flush()
	answered()
}

// ForgotPassword mails a reset link; the answer is the same for every address.
func (h *Handler) ForgotPassword(c *gin.Context) {
	var req emailOnlyRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	answered, done := context.WithCancel(c.Request.Context())
	defer done()
	if err := h.Svc.Flows.ForgotPassword(answered, middleware.ActorOf(c), req.Email); err != nil {
		httpx.Render(c, err)
		return
	}
	acceptNow(c, done)
}

type resetPasswordRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (r *resetPasswordRequest) Validate() error {
	f := problem.Fields{}
	if r.Token == "" {
		f.Add("token", "is required")
	}
	if r.Password == "" {
		f.Add("password", "is required")
	}
	return f.Err()
}

// ResetPassword sets a new password with an emailed token; it does not sign in.
func (h *Handler) ResetPassword(c *gin.Context) {
	var req resetPasswordRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Flows.ResetPassword(c.Request.Context(), middleware.ActorOf(c), req.Token, req.Password); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type changeEmailRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// ChangeMyEmail mails a confirmation link to a new address.
func (h *Handler) ChangeMyEmail(c *gin.Context) {
	var req changeEmailRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Flows.RequestEmailChange(c.Request.Context(), middleware.ActorOf(c), req.Email, req.Password); err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"accepted": true})
}
