package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// APIKey is a service API key as the console lists it (never its secret).
type APIKey struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	AllowedIPs []string   `json:"allowedIps"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	RevokedBy  string     `json:"revokedBy"`
}

func newAPIKey(k *models.APIKey) APIKey {
	ips := []string{}
	if k.AllowedIPs != "" {
		ips = strings.Split(k.AllowedIPs, ",")
	}
	return APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: strings.Fields(k.Scopes), AllowedIPs: ips, ExpiresAt: k.ExpiresAt,
		CreatedBy: k.CreatedByUsername, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, RevokedBy: k.RevokedByUsername}
}

// ListAPIKeys answers every service API key.
func (h *Handler) ListAPIKeys(c *gin.Context) {
	list, err := h.Svc.APIKeys.List(c.Request.Context())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]APIKey, len(list))
	for i := range list {
		items[i] = newAPIKey(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

type createAPIKeyRequest struct {
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	AllowedIPs []string   `json:"allowedIps"`
}

// CreateAPIKey makes a key and answers its secret, once.
func (h *Handler) CreateAPIKey(c *gin.Context) {
	var req createAPIKeyRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	out, err := h.Svc.APIKeys.Create(c.Request.Context(), middleware.ActorOf(c), service.NewAPIKey{Name: req.Name, Scopes: req.Scopes, ExpiresAt: req.ExpiresAt, AllowedIPs: req.AllowedIPs})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"key": newAPIKey(out.Key), "secret": out.Secret})
}

type revokeAPIKeyRequest struct {
	Reason string `json:"reason"`
}

// RevokeAPIKey ends a key at once.
func (h *Handler) RevokeAPIKey(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Render(c, problem.New(problem.NotFound, "not_found", "The API key does not exist."))
		return
	}
	var req revokeAPIKeyRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	k, err := h.Svc.APIKeys.Revoke(c.Request.Context(), middleware.ActorOf(c), id, req.Reason)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, newAPIKey(k))
}

// Entitlement is what a service needs to know about an account.
type Entitlement struct {
	Account               string           `json:"account"`
	Username              string           `json:"username"`
	Email                 *string          `json:"email"`
	Status                string           `json:"status"`
	Role                  string           `json:"role"`
	BillingMode           string           `json:"billingMode"`
	Currency              string           `json:"currency"`
	Plan                  *EntitlementPlan `json:"plan"`
	SubscriptionExpiresAt *time.Time       `json:"subscriptionExpiresAt"`
	Balance               int64            `json:"balance"`
}

// EntitlementPlan names an account's plan.
type EntitlementPlan struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// GetEntitlement answers an account's entitlement by public ID, username
// or email.
func (h *Handler) GetEntitlement(c *gin.Context) {
	e, err := h.Svc.Usage.Entitlement(c.Request.Context(), c.Param("account"))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	out := Entitlement{Account: e.PublicID, Username: e.Username, Email: e.Email, Status: e.Status, Role: e.Role, BillingMode: e.BillingMode,
		Currency: e.Currency, SubscriptionExpiresAt: e.SubscriptionExpiresAt, Balance: e.Balance}
	if e.PlanID != nil && e.PlanName != nil {
		out.Plan = &EntitlementPlan{ID: *e.PlanID, Name: *e.PlanName}
	}
	c.JSON(http.StatusOK, out)
}

type usageEventRequest struct {
	Account        string          `json:"account"`
	Amount         *int64          `json:"amount"`
	IdempotencyKey string          `json:"idempotencyKey"`
	Type           string          `json:"type"`
	Reason         string          `json:"reason"`
	Metadata       json.RawMessage `json:"metadata"`
	AllowNegative  bool            `json:"allowNegative"`
}

func (r *usageEventRequest) event() service.UsageEvent {
	e := service.UsageEvent{Account: r.Account, IdempotencyKey: r.IdempotencyKey, Type: r.Type, Reason: r.Reason, Metadata: r.Metadata, AllowNegative: r.AllowNegative}
	if r.Amount != nil {
		e.Amount = *r.Amount
	}
	return e
}

// UsageCharge is one applied (or refused and remembered) usage event.
type UsageCharge struct {
	ID             int64     `json:"id"`
	IdempotencyKey string    `json:"idempotencyKey"`
	Account        string    `json:"account"`
	Type           string    `json:"type"`
	Amount         int64     `json:"amount"`
	Balance        int64     `json:"balance"`
	CreatedAt      time.Time `json:"createdAt"`
	Replayed       bool      `json:"replayed"`
}

func newUsageCharge(r *service.UsageResult) *UsageCharge {
	ch := r.Charge
	if ch == nil {
		return nil
	}
	return &UsageCharge{ID: ch.ID, IdempotencyKey: ch.IdempotencyKey, Account: ch.UserPublicID, Type: ch.Kind, Amount: ch.Amount,
		Balance: ch.BalanceAfter, CreatedAt: ch.CreatedAt, Replayed: r.Status == service.UsageReplayed}
}

// ChargeUsage applies one usage event (charge, credit or refund). A
// repeat of an idempotency key answers the first result again, with
// Idempotent-Replayed: true.
func (h *Handler) ChargeUsage(c *gin.Context) {
	var req usageEventRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	r, err := h.Svc.Usage.Charge(c.Request.Context(), middleware.ActorOf(c), req.event())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	if r.Status == service.UsageReplayed {
		c.Header("Idempotent-Replayed", "true")
	}
	c.JSON(service.UsageStatus(r), newUsageCharge(r))
}

type usageBatchRequest struct {
	Events []usageEventRequest `json:"events"`
}

// UsageResult is one batch event's answer.
type UsageResult struct {
	IdempotencyKey string       `json:"idempotencyKey"`
	Status         string       `json:"status"`
	Charge         *UsageCharge `json:"charge,omitempty"`
	Error          *UsageError  `json:"error,omitempty"`
}

// UsageError is why a batch event was refused.
type UsageError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// maxUsageBatchBody bounds a batch body: 1,000 events of up to 4 KiB of
// metadata each, with room for the rest.
const maxUsageBatchBody = 6 << 20

// ChargeUsageBatch applies up to 1,000 usage events in one transaction,
// each with its own answer.
func (h *Handler) ChargeUsageBatch(c *gin.Context) {
	var req usageBatchRequest
	if err := httpx.BindLargeJSON(c, &req, maxUsageBatchBody); err != nil {
		httpx.Render(c, err)
		return
	}
	events := make([]service.UsageEvent, len(req.Events))
	for i := range req.Events {
		events[i] = req.Events[i].event()
	}
	res, err := h.Svc.Usage.Batch(c.Request.Context(), middleware.ActorOf(c), events)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	out := make([]UsageResult, len(res))
	applied, refused := 0, 0
	for i := range res {
		r := &res[i]
		out[i] = UsageResult{IdempotencyKey: events[i].IdempotencyKey, Status: r.Status, Charge: newUsageCharge(r)}
		if r.Err != nil {
			out[i].Status = service.UsageRefused
			out[i].Error = &UsageError{Code: r.Err.Code, Message: r.Err.Message, Fields: r.Err.Fields}
			refused++
		} else if r.Status == service.UsageApplied {
			applied++
		}
	}
	c.JSON(http.StatusOK, gin.H{"results": out, "applied": applied, "refused": refused})
}
