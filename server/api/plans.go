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

// Plan is a subscription plan with its account count.
type Plan struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	PeriodDays int       `json:"periodDays"`
	PriceMinor int64     `json:"priceMinor"`
	Active     bool      `json:"active"`
	UserCount  int64     `json:"userCount"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func newPlan(p *service.PlanWithCount) Plan {
	return Plan{ID: p.ID, Name: p.Name, PeriodDays: p.PeriodDays, PriceMinor: p.PriceMinor, Active: p.Active, UserCount: p.UserCount, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// ListPlans answers every plan.
func (h *Handler) ListPlans(c *gin.Context) {
	list, err := h.Svc.Plans.List(c.Request.Context())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]Plan, len(list))
	for i := range list {
		items[i] = newPlan(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

type planRequest struct {
	Name       *string `json:"name"`
	PeriodDays *int    `json:"periodDays"`
	PriceMinor *int64  `json:"priceMinor"`
	Active     *bool   `json:"active"`
}

func (r planRequest) input() service.PlanInput {
	return service.PlanInput{Name: r.Name, PeriodDays: r.PeriodDays, PriceMinor: r.PriceMinor, Active: r.Active}
}

// CreatePlan adds a plan.
func (h *Handler) CreatePlan(c *gin.Context) {
	var req planRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	p, err := h.Svc.Plans.Create(c.Request.Context(), middleware.ActorOf(c), req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusCreated, newPlan(p))
}

func planID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, problem.New(problem.NotFound, "not_found", "The plan was not found.")
	}
	return id, nil
}

// UpdatePlan changes a plan.
func (h *Handler) UpdatePlan(c *gin.Context) {
	id, err := planID(c)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	var req planRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	p, err := h.Svc.Plans.Update(c.Request.Context(), middleware.ActorOf(c), id, req.input())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, newPlan(p))
}

// DeletePlan removes an unused plan.
func (h *Handler) DeletePlan(c *gin.Context) {
	id, err := planID(c)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Plans.Delete(c.Request.Context(), middleware.ActorOf(c), id); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
