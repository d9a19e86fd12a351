package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
)

// Health answers while the process runs.
// It names the build (version, commit, build date), as `gatehouse version`
// does and the console footer shows.
func (h *Handler) Health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": h.Version, "commit": orUnknown(h.Commit), "built": orUnknown(h.Built)})
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Ready answers 200 when the database answers a query: the instance can
// serve. A Redis that fails does not make it unready (Kubernetes would
// take every instance out of the balancer at once for an outage they all
// survive, counting limits in memory): the answer then says "degraded"
// and names the component, for monitoring.
func (h *Handler) Ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	var one int
	if err := h.Svc.DB.NewRaw("SELECT 1").Scan(ctx, &one); err != nil || one != 1 {
		httpx.Render(c, problem.New(problem.Unavailable, "database_unavailable", "The database does not answer."))
		return
	}
	// Not ready either once another process rotated the secret key.
	if err := h.Svc.Settings.Sync(ctx); err != nil {
		httpx.Render(c, err)
		return
	}
	status, components := "ok", gin.H{"database": "ok"}
	if redis := h.Limiter.RedisState(); redis != middleware.RedisNotConfigured {
		components["redis"] = redis
		if redis != middleware.RedisOK {
			status = "degraded"
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": status, "components": components})
}

// OpenAPI serves the API description as JSON.
func (h *Handler) OpenAPI(c *gin.Context) {
	doc, err := h.openapi()
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", doc)
}

// FreshSettings runs before everything else of an API request: it makes
// this instance's settings cache follow changes made anywhere (see
// service.Settings.Sync), so the request sees the settings as they are.
func (h *Handler) FreshSettings(c *gin.Context) {
	if err := h.Svc.Settings.Sync(c.Request.Context()); err != nil {
		httpx.Render(c, err)
		c.Abort()
		return
	}
	c.Next()
}
