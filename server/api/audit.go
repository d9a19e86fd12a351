package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/problem"
)

// ListAudit answers one page of the audit log.
func (h *Handler) ListAudit(c *gin.Context) {
	page, err := httpx.ParsePage(c, 50)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	f := models.AuditFilter{
		Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")),
		Target: strings.TrimSpace(c.Query("target")), Limit: page.PerPage, Offset: page.Offset(),
	}
	fields := problem.Fields{}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := c.Query(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				fields.Add(p.name, "must be a time like 2026-01-31T12:00:00Z")
				continue
			}
			*p.dst = &t
		}
	}
	for name, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target} {
		if len(v) > 200 {
			fields.Add(name, "is too long")
		} else if msg := httpx.ControlText(v, false); msg != "" {
			fields.Add(name, msg)
		}
	}
	for _, p := range []struct {
		name string
		dst  **models.AuditKey
	}{{"after", &f.After}, {"before", &f.Before}} {
		if v, ok := c.GetQuery(p.name); ok {
			k, err := models.DecodeAuditKey(v)
			if err != nil {
				fields.Add(p.name, "is not a cursor of the audit log; start again from the first page")
				continue
			}
			*p.dst = &k
		}
	}
	if f.After != nil && f.Before != nil {
		fields.Add("before", "give after or before, not both")
	}
	if len(fields) > 0 {
		httpx.Render(c, &problem.Error{Kind: problem.BadRequest, Code: "invalid_query", Message: "Some query parameters are not valid.", Fields: fields})
		return
	}
	p, err := models.PageAudit(c.Request.Context(), h.Svc.DB, f)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]AuditEvent, 0, len(p.Rows))
	for i := range p.Rows {
		items = append(items, NewAuditEvent(&p.Rows[i]))
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": p.Total, "totalIsEstimate": p.Estimate, "page": page.Page, "perPage": page.PerPage,
		"nextCursor": auditCursor(p.Next), "prevCursor": auditCursor(p.Prev)})
}

func auditCursor(k *models.AuditKey) *string {
	if k == nil {
		return nil
	}
	s := k.Encode()
	return &s
}
