package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// Me answers the signed-in account.
func (h *Handler) Me(c *gin.Context) {
	out := NewUser(middleware.ActorOf(c).User, h.Svc.Now())
	out.SecondFactorRequired, out.SecondFactorDeadline = h.secondFactorState(c)
	c.JSON(http.StatusOK, out)
}

// updateMeRequest lists every field a user may change on their own
// account. Unknown fields (role, status, balance...) are refused by the
// strict decoder, so mass assignment cannot happen.
type updateMeRequest struct {
	DisplayName *string         `json:"displayName"`
	Phone       *string         `json:"phone"`
	Language    *string         `json:"language"`
	Timezone    *string         `json:"timezone"`
	Preferences *map[string]any `json:"preferences"`
}

// UpdateMe changes own profile fields.
func (h *Handler) UpdateMe(c *gin.Context) {
	var req updateMeRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if req.Preferences != nil && *req.Preferences == nil {
		httpx.Render(c, problem.Fields{"preferences": "must be a JSON object"}.Err())
		return
	}
	u, err := h.Svc.Account.UpdateProfile(c.Request.Context(), middleware.ActorOf(c), service.ProfilePatch{
		DisplayName: req.DisplayName, Phone: req.Phone, Language: req.Language, Timezone: req.Timezone, Preferences: req.Preferences,
	})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, NewUser(u, h.Svc.Now()))
}

type changePasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

func (r *changePasswordRequest) Validate() error {
	f := problem.Fields{}
	if r.CurrentPassword == "" {
		f.Add("currentPassword", "is required")
	}
	if r.NewPassword == "" {
		f.Add("newPassword", "is required")
	}
	return f.Err()
}

// ChangePassword changes own password; other sessions end.
func (h *Handler) ChangePassword(c *gin.Context) {
	var req changePasswordRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Account.ChangePassword(c.Request.Context(), middleware.ActorOf(c), req.CurrentPassword, req.NewPassword); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// MySessions lists own sessions.
func (h *Handler) MySessions(c *gin.Context) {
	actor := middleware.ActorOf(c)
	list, err := h.Svc.Account.Sessions(c.Request.Context(), actor)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]Session, 0, len(list))
	for i := range list {
		items = append(items, NewSession(&list[i], actor.SessionID))
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// RevokeMySession ends one own session. Ending the current one also clears
// the cookie.
func (h *Handler) RevokeMySession(c *gin.Context) {
	actor := middleware.ActorOf(c)
	id := c.Param("id")
	if err := h.Svc.Account.RevokeSession(c.Request.Context(), actor, id); err != nil {
		httpx.Render(c, err)
		return
	}
	if id == actor.SessionID && !middleware.ViaBearer(c) {
		h.Cookie.Clear(c.Writer, c.Request)
	}
	c.Status(http.StatusNoContent)
}

// RevokeMyOtherSessions signs out every other device.
func (h *Handler) RevokeMyOtherSessions(c *gin.Context) {
	n, err := h.Svc.Account.RevokeOtherSessions(c.Request.Context(), middleware.ActorOf(c))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"revoked": n})
}
