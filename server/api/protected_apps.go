package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// ProtectedApp is an app behind a reverse proxy that forward auth guards.
type ProtectedApp struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Hosts        []string  `json:"hosts"`
	AllowedRoles []string  `json:"allowedRoles"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

func newProtectedApp(a *service.ProtectedApp) ProtectedApp {
	return ProtectedApp{ID: a.ID, Name: a.Name, Hosts: a.Hosts, AllowedRoles: a.AllowedRoles, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// ListProtectedApps answers every protected app, with what a proxy
// configuration needs: the forward-auth URL and the cookie domain.
func (h *Handler) ListProtectedApps(c *gin.Context) {
	list, err := h.Svc.ProtectedApps.List(c.Request.Context())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]ProtectedApp, len(list))
	for i := range list {
		items[i] = newProtectedApp(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "forwardAuthUrl": h.Cfg.BaseURL + "/api/forward-auth", "cookieDomain": h.Cfg.CookieDomain})
}

type protectedAppRequest struct {
	Name         *string   `json:"name"`
	Hosts        *[]string `json:"hosts"`
	AllowedRoles *[]string `json:"allowedRoles"`
}

func (r protectedAppRequest) input() service.ProtectedAppInput {
	return service.ProtectedAppInput{Name: r.Name, Hosts: r.Hosts, AllowedRoles: r.AllowedRoles}
}

func protectedAppID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, problem.New(problem.NotFound, "not_found", "The protected app was not found.")
	}
	return id, nil
}

// GetProtectedApp answers one protected app.
func (h *Handler) GetProtectedApp(c *gin.Context) {
	id, err := protectedAppID(c)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	a, err := h.Svc.ProtectedApps.Get(c.Request.Context(), id)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, newProtectedApp(a))
}

// CreateProtectedApp adds a protected app.
func (h *Handler) CreateProtectedApp(c *gin.Context) {
	var req protectedAppRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	a, err := h.Svc.ProtectedApps.Create(c.Request.Context(), middleware.ActorOf(c), req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusCreated, newProtectedApp(a))
}

// UpdateProtectedApp changes a protected app.
func (h *Handler) UpdateProtectedApp(c *gin.Context) {
	id, err := protectedAppID(c)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	var req protectedAppRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	a, err := h.Svc.ProtectedApps.Update(c.Request.Context(), middleware.ActorOf(c), id, req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, newProtectedApp(a))
}

// DeleteProtectedApp removes a protected app.
func (h *Handler) DeleteProtectedApp(c *gin.Context) {
	id, err := protectedAppID(c)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.ProtectedApps.Delete(c.Request.Context(), middleware.ActorOf(c), id); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
