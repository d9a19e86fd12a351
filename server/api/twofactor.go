package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// reauthRequest carries the current password that confirms adding a way
// into the account; accounts without a password send none.
type reauthRequest struct {
	Password string `json:"password"`
}

func (r *reauthRequest) Validate() error {
	if len(r.Password) > maxPasswordBytes {
		return problem.Fields{"password": "is too long"}.Err()
	}
	return nil
}

// maxPasswordBytes is 128 characters of up to 4 bytes each.
const maxPasswordBytes = 4 * 128

// SetupTwoFactor starts enrolment: a new secret, not active until enabled.
func (h *Handler) SetupTwoFactor(c *gin.Context) {
	var req reauthRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	setup, err := h.Svc.Account.SetupTwoFactor(c.Request.Context(), middleware.ActorOf(c), req.Password)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"secret": setup.Secret, "otpauthUrl": setup.URL, "qrCode": setup.QRCode})
}

type enableTwoFactorRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

func (r *enableTwoFactorRequest) Validate() error {
	f := problem.Fields{}
	if r.Code == "" || len(r.Code) > 16 {
		f.Add("code", "is required")
	}
	if len(r.Password) > maxPasswordBytes {
		f.Add("password", "is too long")
	}
	return f.Err()
}

// EnableTwoFactor confirms enrolment and answers the recovery codes once.
func (h *Handler) EnableTwoFactor(c *gin.Context) {
	var req enableTwoFactorRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	codes, err := h.Svc.Account.EnableTwoFactor(c.Request.Context(), middleware.ActorOf(c), req.Password, req.Code)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"recoveryCodes": codes})
}

type passwordCodeRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

func (r *passwordCodeRequest) Validate() error {
	f := problem.Fields{}
	if len(r.Password) > maxPasswordBytes {
		f.Add("password", "is too long")
	}
	if r.Code == "" || len(r.Code) > 64 {
		f.Add("code", "is required")
	}
	return f.Err()
}

// DisableTwoFactor turns two-factor authentication off.
func (h *Handler) DisableTwoFactor(c *gin.Context) {
	var req passwordCodeRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Account.DisableTwoFactor(c.Request.Context(), middleware.ActorOf(c), req.Password, req.Code); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// RegenerateRecoveryCodes replaces the recovery codes.
func (h *Handler) RegenerateRecoveryCodes(c *gin.Context) {
	var req passwordCodeRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	codes, err := h.Svc.Account.RegenerateRecoveryCodes(c.Request.Context(), middleware.ActorOf(c), req.Password, req.Code)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"recoveryCodes": codes})
}

type adminResetPasswordRequest struct {
	Password      string `json:"password"`
	Generate      bool   `json:"generate"`
	RequireChange bool   `json:"requireChange"`
	Reason        string `json:"reason"`
}

func (r *adminResetPasswordRequest) Validate() error {
	if len(r.Reason) > 500 {
		return problem.Fields{"reason": "must be at most 500 characters"}.Err()
	}
	return nil
}

// AdminResetPassword sets or generates a user's password.
func (h *Handler) AdminResetPassword(c *gin.Context) {
	var req adminResetPasswordRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	generated, n, err := h.Svc.Users.ResetPassword(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), service.AdminPasswordReset{
		Password: req.Password, Generate: req.Generate, RequireChange: req.RequireChange, Reason: req.Reason,
	})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	out := gin.H{"revoked": n}
	if generated != "" {
		out["generatedPassword"] = generated
	}
	c.JSON(http.StatusOK, out)
}

// AdminResetTwoFactor clears a user's two-factor setup.
func (h *Handler) AdminResetTwoFactor(c *gin.Context) {
	var req reasonRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	d, err := h.Svc.Users.ResetTwoFactor(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), req.Reason)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.renderDetail(c, d)
}
