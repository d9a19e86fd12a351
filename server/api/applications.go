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

// Application is an OAuth client as administrators see it. The client
// secret is answered once, when it is made (ApplicationWithSecret).
type Application struct {
	ID                      int64      `json:"id"`
	ClientID                string     `json:"clientId"`
	Name                    string     `json:"name"`
	LogoURL                 string     `json:"logoUrl"`
	ClientType              string     `json:"clientType"`
	FirstParty              bool       `json:"firstParty"`
	RedirectURIs            []string   `json:"redirectUris"`
	PostLogoutRedirectURIs  []string   `json:"postLogoutRedirectUris"`
	AllowedRoles            []string   `json:"allowedRoles"`
	AllowedStatuses         []string   `json:"allowedStatuses"`
	AccessTokenLifetime     int        `json:"accessTokenLifetime"`
	IDTokenLifetime         int        `json:"idTokenLifetime"`
	RefreshTokenLifetime    int        `json:"refreshTokenLifetime"`
	ClientSecretSet         bool       `json:"clientSecretSet"`
	SecretRotatedAt         *time.Time `json:"secretRotatedAt"`
	PreviousSecretExpiresAt *time.Time `json:"previousSecretExpiresAt"`
	CreatedAt               time.Time  `json:"createdAt"`
	UpdatedAt               time.Time  `json:"updatedAt"`
}

func newApplication(d *service.ApplicationDetail) Application {
	a := d.Application
	return Application{
		ID: a.ID, ClientID: a.ClientID, Name: a.Name, LogoURL: a.LogoURL, ClientType: a.ClientType, FirstParty: a.FirstParty,
		RedirectURIs: d.RedirectURIList, PostLogoutRedirectURIs: d.PostLogoutList, AllowedRoles: d.AllowedRoleList, AllowedStatuses: d.AllowedStatusList,
		AccessTokenLifetime: a.AccessTokenTTL, IDTokenLifetime: a.IDTokenTTL, RefreshTokenLifetime: a.RefreshTokenTTL,
		ClientSecretSet: a.SecretHash != "", SecretRotatedAt: a.SecretRotatedAt, PreviousSecretExpiresAt: a.PreviousSecretExpiresAt,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

// applicationWithSecret answers a created or rotated application with
// its secret (null for a public client), shown this once.
type applicationWithSecret struct {
	Application  Application `json:"application"`
	ClientSecret *string     `json:"clientSecret"`
}

type applicationRequest struct {
	Name                   *string   `json:"name"`
	LogoURL                *string   `json:"logoUrl"`
	ClientType             *string   `json:"clientType"`
	FirstParty             *bool     `json:"firstParty"`
	RedirectURIs           *[]string `json:"redirectUris"`
	PostLogoutRedirectURIs *[]string `json:"postLogoutRedirectUris"`
	AllowedRoles           *[]string `json:"allowedRoles"`
	AllowedStatuses        *[]string `json:"allowedStatuses"`
	AccessTokenLifetime    *int      `json:"accessTokenLifetime"`
	IDTokenLifetime        *int      `json:"idTokenLifetime"`
	RefreshTokenLifetime   *int      `json:"refreshTokenLifetime"`
}

func (r *applicationRequest) input() service.ApplicationInput {
	return service.ApplicationInput{
		Name: r.Name, LogoURL: r.LogoURL, ClientType: r.ClientType, FirstParty: r.FirstParty, RedirectURIs: r.RedirectURIs,
		PostLogoutRedirectURIs: r.PostLogoutRedirectURIs, AllowedRoles: r.AllowedRoles, AllowedStatuses: r.AllowedStatuses,
		AccessTokenTTL: r.AccessTokenLifetime, IDTokenTTL: r.IDTokenLifetime, RefreshTokenTTL: r.RefreshTokenLifetime,
	}
}

var errNoSuchApplication = problem.New(problem.NotFound, "not_found", "The application was not found.")

func applicationID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Render(c, errNoSuchApplication)
		return 0, false
	}
	return id, true
}

// ListApplications answers every application and the issuer they use.
func (h *Handler) ListApplications(c *gin.Context) {
	list, err := h.Svc.Applications.List(c.Request.Context())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]Application, len(list))
	for i, d := range list {
		items[i] = newApplication(d)
	}
	issuer := h.Cfg.BaseURL
	c.JSON(http.StatusOK, gin.H{"items": items, "issuer": issuer, "discoveryUrl": issuer + "/.well-known/openid-configuration"})
}

// CreateApplication adds an application.
func (h *Handler) CreateApplication(c *gin.Context) {
	var req applicationRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	d, secret, err := h.Svc.Applications.Create(c.Request.Context(), middleware.ActorOf(c), req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	out := applicationWithSecret{Application: newApplication(d)}
	if secret != nil {
		out.ClientSecret = &secret.ClientSecret
	}
	c.JSON(http.StatusCreated, out)
}

// GetApplication answers one application.
func (h *Handler) GetApplication(c *gin.Context) {
	id, ok := applicationID(c)
	if !ok {
		return
	}
	d, err := h.Svc.Applications.Get(c.Request.Context(), id)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, newApplication(d))
}

// UpdateApplication changes an application.
func (h *Handler) UpdateApplication(c *gin.Context) {
	id, ok := applicationID(c)
	if !ok {
		return
	}
	var req applicationRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	d, err := h.Svc.Applications.Update(c.Request.Context(), middleware.ActorOf(c), id, req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, newApplication(d))
}

// DeleteApplication removes an application, its grants and its tokens.
func (h *Handler) DeleteApplication(c *gin.Context) {
	id, ok := applicationID(c)
	if !ok {
		return
	}
	if err := h.Svc.Applications.Delete(c.Request.Context(), middleware.ActorOf(c), id); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type rotateSecretRequest struct {
	OverlapSeconds *int `json:"overlapSeconds"`
}

// RotateApplicationSecret gives a confidential application a new secret.
func (h *Handler) RotateApplicationSecret(c *gin.Context) {
	id, ok := applicationID(c)
	if !ok {
		return
	}
	var req rotateSecretRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	d, secret, err := h.Svc.Applications.RotateSecret(c.Request.Context(), middleware.ActorOf(c), id, req.OverlapSeconds)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, applicationWithSecret{Application: newApplication(d), ClientSecret: &secret.ClientSecret})
}

// AppGrant is a person's consent to an application.
type AppGrant struct {
	ClientID  string    `json:"clientId"`
	Name      string    `json:"name"`
	LogoURL   string    `json:"logoUrl"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// MyAppGrants lists the applications the caller consented to.
func (h *Handler) MyAppGrants(c *gin.Context) {
	list, err := h.Svc.Applications.MyGrants(c.Request.Context(), middleware.ActorOf(c))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]AppGrant, len(list))
	for i, g := range list {
		items[i] = AppGrant{ClientID: g.ClientID, Name: g.Name, LogoURL: g.LogoURL, Scopes: g.Scopes, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// RevokeMyAppGrant withdraws the caller's consent to an application and
// revokes its tokens.
func (h *Handler) RevokeMyAppGrant(c *gin.Context) {
	if err := h.Svc.Applications.RevokeMyGrant(c.Request.Context(), middleware.ActorOf(c), c.Param("clientId")); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
