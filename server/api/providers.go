package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/oidc"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// IdentityProvider is a provider as administrators see it. The client
// secret never leaves the server; clientSecretSet says whether one is
// stored.
type IdentityProvider struct {
	ID                  int64        `json:"id"`
	Slug                string       `json:"slug"`
	Name                string       `json:"name"`
	Type                string       `json:"type"`
	LogoURL             string       `json:"logoUrl"`
	ClientID            string       `json:"clientId"`
	ClientSecretSet     bool         `json:"clientSecretSet"`
	IssuerURL           string       `json:"issuerUrl"`
	AuthorizationURL    string       `json:"authorizationUrl"`
	TokenURL            string       `json:"tokenUrl"`
	UserinfoURL         string       `json:"userinfoUrl"`
	JWKSURL             string       `json:"jwksUrl"`
	Scopes              []string     `json:"scopes"`
	FieldMapping        oidc.Mapping `json:"fieldMapping"`
	LoginEnabled        bool         `json:"loginEnabled"`
	RegistrationEnabled bool         `json:"registrationEnabled"`
	DefaultRole         string       `json:"defaultRole"`
	AutoLinkByEmail     bool         `json:"autoLinkByEmail"`
	SortOrder           int          `json:"sortOrder"`
	CallbackURL         string       `json:"callbackUrl"`
	LinkedAccounts      int64        `json:"linkedAccounts"`
	CreatedAt           time.Time    `json:"createdAt"`
	UpdatedAt           time.Time    `json:"updatedAt"`
}

func newIdentityProvider(d *service.ProviderDetail) IdentityProvider {
	p := d.IdentityProvider
	return IdentityProvider{
		ID: p.ID, Slug: p.Slug, Name: p.Name, Type: p.Type, LogoURL: p.LogoURL, ClientID: p.ClientID, ClientSecretSet: p.ClientSecretSealed != "",
		IssuerURL: p.IssuerURL, AuthorizationURL: p.AuthorizationURL, TokenURL: p.TokenURL, UserinfoURL: p.UserinfoURL, JWKSURL: p.JWKSURL,
		Scopes: d.ScopeList, FieldMapping: d.Mapping, LoginEnabled: p.LoginEnabled, RegistrationEnabled: p.RegistrationEnabled,
		DefaultRole: p.DefaultRole, AutoLinkByEmail: p.AutoLinkByEmail, SortOrder: p.SortOrder, CallbackURL: d.CallbackURL,
		LinkedAccounts: d.LinkedAccounts, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

// ProviderButton is a provider as the sign-in page and the account page show it.
type ProviderButton struct {
	Slug    string `json:"slug"`
	Name    string `json:"name"`
	LogoURL string `json:"logoUrl"`
}

func newProviderButtons(list []models.IdentityProvider) []ProviderButton {
	out := make([]ProviderButton, len(list))
	for i, p := range list {
		out[i] = ProviderButton{Slug: p.Slug, Name: p.Name, LogoURL: p.LogoURL}
	}
	return out
}

// providerRequest is a create (POST) or change (PATCH) body; absent fields
// take defaults on create and stay as they are on change.
type providerRequest struct {
	Slug                *string       `json:"slug"`
	Name                *string       `json:"name"`
	Type                *string       `json:"type"`
	LogoURL             *string       `json:"logoUrl"`
	ClientID            *string       `json:"clientId"`
	ClientSecret        *string       `json:"clientSecret"`
	IssuerURL           *string       `json:"issuerUrl"`
	AuthorizationURL    *string       `json:"authorizationUrl"`
	TokenURL            *string       `json:"tokenUrl"`
	UserinfoURL         *string       `json:"userinfoUrl"`
	JWKSURL             *string       `json:"jwksUrl"`
	Scopes              *[]string     `json:"scopes"`
	FieldMapping        *oidc.Mapping `json:"fieldMapping"`
	LoginEnabled        *bool         `json:"loginEnabled"`
	RegistrationEnabled *bool         `json:"registrationEnabled"`
	DefaultRole         *string       `json:"defaultRole"`
	AutoLinkByEmail     *bool         `json:"autoLinkByEmail"`
	SortOrder           *int          `json:"sortOrder"`
}

func (r *providerRequest) input() service.ProviderInput {
	return service.ProviderInput{
		Slug: r.Slug, Name: r.Name, Type: r.Type, LogoURL: r.LogoURL, ClientID: r.ClientID, ClientSecret: r.ClientSecret,
		IssuerURL: r.IssuerURL, AuthorizationURL: r.AuthorizationURL, TokenURL: r.TokenURL, UserinfoURL: r.UserinfoURL, JWKSURL: r.JWKSURL,
		Scopes: r.Scopes, FieldMapping: r.FieldMapping, LoginEnabled: r.LoginEnabled, RegistrationEnabled: r.RegistrationEnabled,
		DefaultRole: r.DefaultRole, AutoLinkByEmail: r.AutoLinkByEmail, SortOrder: r.SortOrder,
	}
}

var errNoSuchProvider = problem.New(problem.NotFound, "not_found", "The identity provider was not found.")

func providerID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Render(c, errNoSuchProvider)
		return 0, false
	}
	return id, true
}

// ListProviders answers every provider in display order.
func (h *Handler) ListProviders(c *gin.Context) {
	list, err := h.Svc.Providers.List(c.Request.Context())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderProviderList(c, list)
}

func renderProviderList(c *gin.Context, list []service.ProviderDetail) {
	items := make([]IdentityProvider, len(list))
	for i := range list {
		items[i] = newIdentityProvider(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// CreateProvider adds a provider.
func (h *Handler) CreateProvider(c *gin.Context) {
	var req providerRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	p, err := h.Svc.Providers.Create(c.Request.Context(), middleware.ActorOf(c), req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusCreated, newIdentityProvider(p))
}

// GetProvider answers one provider.
func (h *Handler) GetProvider(c *gin.Context) {
	id, ok := providerID(c)
	if !ok {
		return
	}
	p, err := h.Svc.Providers.Get(c.Request.Context(), id)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, newIdentityProvider(p))
}

// UpdateProvider changes a provider.
func (h *Handler) UpdateProvider(c *gin.Context) {
	id, ok := providerID(c)
	if !ok {
		return
	}
	var req providerRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	p, err := h.Svc.Providers.Update(c.Request.Context(), middleware.ActorOf(c), id, req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, newIdentityProvider(p))
}

// DeleteProvider removes a provider; with linked accounts it needs
// ?confirm=true and otherwise answers the impact report (409).
func (h *Handler) DeleteProvider(c *gin.Context) {
	id, ok := providerID(c)
	if !ok {
		return
	}
	confirm := false
	switch c.Query("confirm") {
	case "", "false":
	case "true":
		confirm = true
	default:
		httpx.Render(c, problem.New(problem.BadRequest, "invalid_query", "The confirm parameter must be true or false."))
		return
	}
	if err := h.Svc.Providers.Delete(c.Request.Context(), middleware.ActorOf(c), id, confirm); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type reorderRequest struct {
	IDs []int64 `json:"ids"`
}

func (r *reorderRequest) Validate() error {
	if r.IDs == nil || len(r.IDs) > 1000 {
		return problem.Fields{"ids": "must list every provider exactly once"}.Err()
	}
	return nil
}

// ReorderProviders sets the display order.
func (h *Handler) ReorderProviders(c *gin.Context) {
	var req reorderRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	list, err := h.Svc.Providers.Reorder(c.Request.Context(), middleware.ActorOf(c), req.IDs)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderProviderList(c, list)
}

type discoverRequest struct {
	IssuerURL string `json:"issuerUrl"`
}

func (r *discoverRequest) Validate() error {
	if r.IssuerURL == "" {
		return problem.Fields{"issuerUrl": "is required"}.Err()
	}
	return nil
}

// DiscoverProvider fetches an issuer's discovery document and answers its
// endpoints, or says in words what is wrong.
func (h *Handler) DiscoverProvider(c *gin.Context) {
	var req discoverRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	ep, err := h.Svc.Providers.Discover(c.Request.Context(), middleware.ActorOf(c), req.IssuerURL)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, ep)
}
