package api

import (
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

// webhookEndpointJSON is an endpoint as the console sees it: never its
// secret (that is answered once, on create and rotate).
type webhookEndpointJSON struct {
	ID               string     `json:"id"`
	URL              string     `json:"url"`
	Description      string     `json:"description"`
	Events           []string   `json:"events"`
	BalanceThreshold int64      `json:"balanceThreshold"`
	Enabled          bool       `json:"enabled"`
	DisabledReason   string     `json:"disabledReason"`
	Failures         int        `json:"failures"`
	FailingSince     *time.Time `json:"failingSince"`
	LastSuccessAt    *time.Time `json:"lastSuccessAt"`
	Rotating         bool       `json:"rotating"`
	PreviousUntil    *time.Time `json:"previousSecretUntil"`
	CreatedAt        time.Time  `json:"createdAt"`
	UpdatedAt        time.Time  `json:"updatedAt"`
}

func (h *Handler) webhookJSON(e *models.WebhookEndpoint) webhookEndpointJSON {
	j := webhookEndpointJSON{ID: e.PublicID, URL: e.URL, Description: e.Description, Events: strings.Split(strings.Trim(e.Events, ","), ","),
		BalanceThreshold: e.BalanceThreshold, Enabled: e.Enabled, DisabledReason: e.DisabledReason, Failures: e.Failures,
		FailingSince: e.FailingSince, LastSuccessAt: e.LastSuccessAt, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.PreviousSecret != "" && e.PreviousUntil != nil && h.Svc.Now().Before(*e.PreviousUntil) {
		j.Rotating, j.PreviousUntil = true, e.PreviousUntil
	}
	return j
}

type webhookRequest struct {
	URL              *string   `json:"url"`
	Description      *string   `json:"description"`
	Events           *[]string `json:"events"`
	BalanceThreshold *int64    `json:"balanceThreshold"`
	Enabled          *bool     `json:"enabled"`
}

func (r webhookRequest) input() service.WebhookEndpointInput {
	return service.WebhookEndpointInput{URL: r.URL, Description: r.Description, Events: r.Events, BalanceThreshold: r.BalanceThreshold, Enabled: r.Enabled}
}

// ListWebhooks answers every endpoint and the event types.
func (h *Handler) ListWebhooks(c *gin.Context) {
	list, err := h.Svc.Webhooks.List(c.Request.Context())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]webhookEndpointJSON, len(list))
	for i := range list {
		items[i] = h.webhookJSON(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "eventTypes": service.WebhookEventTypes})
}

// CreateWebhook adds an endpoint; the answer carries its secret, once.
func (h *Handler) CreateWebhook(c *gin.Context) {
	var req webhookRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	e, secret, err := h.Svc.Webhooks.Create(c.Request.Context(), middleware.ActorOf(c), req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"endpoint": h.webhookJSON(e), "secret": secret})
}

// GetWebhook answers one endpoint.
func (h *Handler) GetWebhook(c *gin.Context) {
	e, err := h.Svc.Webhooks.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, h.webhookJSON(e))
}

// UpdateWebhook changes an endpoint.
func (h *Handler) UpdateWebhook(c *gin.Context) {
	var req webhookRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	e, err := h.Svc.Webhooks.Update(c.Request.Context(), middleware.ActorOf(c), c.Param("id"), req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, h.webhookJSON(e))
}

// DeleteWebhook removes an endpoint and its log.
func (h *Handler) DeleteWebhook(c *gin.Context) {
	if err := h.Svc.Webhooks.Delete(c.Request.Context(), middleware.ActorOf(c), c.Param("id")); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// RotateWebhookSecret gives the endpoint a new secret, answered once.
func (h *Handler) RotateWebhookSecret(c *gin.Context) {
	e, secret, err := h.Svc.Webhooks.RotateSecret(c.Request.Context(), middleware.ActorOf(c), c.Param("id"))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"endpoint": h.webhookJSON(e), "secret": secret})
}

type webhookDeliveryJSON struct {
	ID           int64  `json:"id"`
	MessageID    string `json:"messageId"`
	Type         string `json:"type"`
	Status       string `json:"status"`
	Attempts     int    `json:"attempts"`
	ResponseCode int    `json:"responseCode"`
	LastError    string `json:"lastError"`
	// LastErrorCode is the stable reason of LastError ("" when none) and
	// LastErrorParams its parameters (bad_status: the status), for the
	// console to word in the reader's language.
	LastErrorCode   string         `json:"lastErrorCode"`
	LastErrorParams map[string]any `json:"lastErrorParams"`
	DurationMS      int            `json:"durationMs"`
	LastAttemptAt   *time.Time     `json:"lastAttemptAt"`
	NextAttemptAt   *time.Time     `json:"nextAttemptAt"`
	CreatedAt       time.Time      `json:"createdAt"`
	DeliveredAt     *time.Time     `json:"deliveredAt"`
	Payload         string         `json:"payload"`
}

// ListWebhookDeliveries answers a page of an endpoint's delivery log.
func (h *Handler) ListWebhookDeliveries(c *gin.Context) {
	page, err := httpx.ParsePage(c, 25)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	list, err := h.Svc.Webhooks.Deliveries(c.Request.Context(), c.Param("id"), c.Query("status"), page.Page, page.PerPage)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]webhookDeliveryJSON, len(list.Items))
	for i, d := range list.Items {
		j := webhookDeliveryJSON{ID: d.ID, MessageID: d.MessageID, Type: d.Type, Status: d.Status, Attempts: d.Attempts, ResponseCode: d.ResponseCode,
			LastError: d.LastError, LastErrorCode: d.ErrorCode, LastErrorParams: map[string]any{}, DurationMS: d.DurationMS, LastAttemptAt: d.LastAttemptAt, CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt, Payload: d.Payload}
		if d.ErrorCode == service.WebhookErrBadStatus {
			j.LastErrorParams["status"] = d.ResponseCode
		}
		if d.Status == models.WebhookPending {
			t := d.NextAttemptAt
			j.NextAttemptAt = &t
		}
		items[i] = j
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": list.Total, "page": page.Page, "perPage": page.PerPage})
}

// ResendWebhookDelivery queues a delivery's event again.
func (h *Handler) ResendWebhookDelivery(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("deliveryId"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Render(c, problem.New(problem.NotFound, "not_found", "The delivery was not found."))
		return
	}
	d, err := h.Svc.Webhooks.Resend(c.Request.Context(), middleware.ActorOf(c), c.Param("id"), id)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"id": d.ID, "status": d.Status})
}
