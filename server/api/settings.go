package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

var errUnknownGroup = problem.New(problem.NotFound, "unknown_settings_group", "There is no such settings group.")

func renderSettings(c *gin.Context, v *service.SettingsView) {
	out := gin.H{}
	if m, ok := v.Value.(map[string]any); ok {
		for k, val := range m {
			out[k] = val
		}
	}
	out["version"] = v.Version
	if v.AdminSignIn != nil {
		out["adminSignInPaths"] = v.AdminSignIn
	}
	c.JSON(http.StatusOK, out)
}

// GetSettings answers one settings group with its version.
func (h *Handler) GetSettings(c *gin.Context) {
	group := c.Param("group")
	if !service.ValidGroup(group) {
		httpx.Render(c, errUnknownGroup)
		return
	}
	v, err := h.Svc.Settings.View(c.Request.Context(), group)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderSettings(c, v)
}

// PutSettings replaces one settings group. The body is the whole group
// plus the version it was read at; a stale version is a 409. Each group's
// body type, validation and view live with the group in the service
// (server/service/settings_<group>.go).
func (h *Handler) PutSettings(c *gin.Context) {
	group := c.Param("group")
	body, ok := service.SettingsInput(group)
	if !ok {
		httpx.Render(c, errUnknownGroup)
		return
	}
	dryRun, err := dryRunParam(c)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	if err := httpx.BindJSON(c, body); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := httpx.RequireAll(body).Err(); err != nil {
		httpx.Render(c, err)
		return
	}
	v, err := h.Svc.Settings.Update(c.Request.Context(), middleware.ActorOf(c), h.Svc.Audit, service.SettingsChange{Group: group, Input: body, DryRun: dryRun})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderSettings(c, v)
}

var errDryRunParam = problem.New(problem.BadRequest, "invalid_query", "The dryRun parameter must be true or false.")

// dryRunParam reads ?dryRun=true|false (absent: false).
func dryRunParam(c *gin.Context) (bool, error) {
	v, ok := c.GetQuery("dryRun")
	switch {
	case !ok || v == "false":
		return false, nil
	case v == "true":
		return true, nil
	}
	return false, errDryRunParam
}

type testEmailRequest struct {
	To string `json:"to"`
}

// SendTestEmail sends a test message with the stored SMTP settings.
func (h *Handler) SendTestEmail(c *gin.Context) {
	var req testEmailRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Settings.SendTestEmail(c.Request.Context(), middleware.ActorOf(c), h.Svc.Audit, req.To); err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"sent": true})
}
