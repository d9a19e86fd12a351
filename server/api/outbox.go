package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// outboxMailJSON is an outbox row as the console sees it: never the
// message itself.
type outboxMailJSON struct {
	ID            int64      `json:"id"`
	Kind          string     `json:"kind"`
	To            string     `json:"to"`
	Subject       string     `json:"subject"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"nextAttemptAt"`
	ErrorReason   string     `json:"errorReason"`
	LastError     string     `json:"lastError"`
	ExpiresAt     *time.Time `json:"expiresAt"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	SentAt        *time.Time `json:"sentAt"`
}

func outboxJSON(m *models.OutboxMail) outboxMailJSON {
	j := outboxMailJSON{ID: m.ID, Kind: m.Kind, To: m.To, Subject: m.Subject, Status: m.Status, Attempts: m.Attempts,
		ErrorReason: m.ErrorReason, LastError: m.LastError, ExpiresAt: m.ExpiresAt, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, SentAt: m.SentAt}
	if m.Status == models.OutboxQueued {
		t := m.NextAttemptAt
		j.NextAttemptAt = &t
	}
	return j
}

// ListOutbox answers one page of the mail outbox, newest first.
func (h *Handler) ListOutbox(c *gin.Context) {
	page, err := httpx.ParsePage(c, 25)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	list, err := h.Svc.Outbox.List(c.Request.Context(), service.OutboxFilter{Status: c.Query("status"), Page: page.Page, PerPage: page.PerPage})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]outboxMailJSON, len(list.Items))
	for i := range list.Items {
		items[i] = outboxJSON(&list.Items[i])
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": list.Total, "page": page.Page, "perPage": page.PerPage})
}

func outboxID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Render(c, problem.New(problem.NotFound, "not_found", "The email was not found."))
		return 0, false
	}
	return id, true
}

// RetryOutboxMail queues a failed or waiting email for an attempt now.
func (h *Handler) RetryOutboxMail(c *gin.Context) {
	id, ok := outboxID(c)
	if !ok {
		return
	}
	m, err := h.Svc.Outbox.Retry(c.Request.Context(), middleware.ActorOf(c), id)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, outboxJSON(m))
}

// DiscardOutboxMail drops a queued or failed email.
func (h *Handler) DiscardOutboxMail(c *gin.Context) {
	id, ok := outboxID(c)
	if !ok {
		return
	}
	m, err := h.Svc.Outbox.Discard(c.Request.Context(), middleware.ActorOf(c), id)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, outboxJSON(m))
}
