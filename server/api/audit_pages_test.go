package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

type auditCursorPage struct {
	Items []struct {
		ID int64 `json:"id"`
	} `json:"items"`
	Total           int64   `json:"total"`
	TotalIsEstimate bool    `json:"totalIsEstimate"`
	NextCursor      *string `json:"nextCursor"`
	PrevCursor      *string `json:"prevCursor"`
}

func (p auditCursorPage) ids() string {
	var b strings.Builder
	for _, it := range p.Items {
		fmt.Fprint(&b, it.ID, " ")
	}
	return b.String()
}

// seedAudit adds n audit rows, one a minute back from now, with actions
// that are common (user.updated), rarer (auth.*) and rare (settings.*).
func seedAudit(t *testing.T, app *testkit.App, n int) time.Time {
	t.Helper()
	base := time.Now().UTC().Add(-time.Duration(n) * time.Minute).Truncate(time.Second)
	rows := make([]models.AuditEvent, 0, n)
	for i := 0; i < n; i++ {
		action := "user.updated"
		switch {
		case i%50 == 7:
			action = "settings.updated"
		case i%5 == 1:
			action = "auth.password_reset"
		case i%5 == 2:
			action = "auth.password_reset_requested"
		}
		at := base.Add(time.Duration(i) * time.Minute)
		if i%9 == 0 {
			at = base.Add(time.Duration(i-1) * time.Minute) // ties on time
		}
		rows = append(rows, models.AuditEvent{CreatedAt: at, ActorPublicID: "actor", ActorUsername: "seed", Action: action, TargetType: "user",
			TargetPublicID: fmt.Sprint("t", i%40), TargetLabel: fmt.Sprint("label", i%40), Details: "{}"})
	}
	if err := models.InsertAuditEvents(context.Background(), app.Svc.DB, rows); err != nil {
		t.Fatal(err)
	}
	return base
}

// TestAudit_CursorPagesWalkTheLog: following nextCursor through the audit
// log, with and without filters (action prefix, exact action, time
// window, both), visits every matching row once, newest first (ties on
// time by id), prevCursor walks back to the same pages, and a malformed
// cursor is a 400.
func TestAudit_CursorPagesWalkTheLog(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ac := app.LoginAs(app.SuperAdmin("auditor"))
	base := seedAudit(t, app, 400)
	from, to := base.Add(100*time.Minute).Format(time.RFC3339), base.Add(300*time.Minute).Format(time.RFC3339)
	for _, filter := range []string{"", "action=auth.", "action=settings.", "action=auth.password_reset", "from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to),
		"action=settings.&from=" + url.QueryEscape(from), "action=user.&to=" + url.QueryEscape(to)} {
		var all auditCursorPage
		ac.GET("/api/admin/audit?perPage=100&" + filter).Expect(200).JSON(&all)
		// The reference: every row in one plain query.
		var want []models.AuditEvent
		q := app.Svc.DB.NewSelect().Model(&want).OrderExpr("a.created_at DESC, a.id DESC")
		if strings.Contains(filter, "action=auth.password_reset") {
			q = q.Where("a.action = 'auth.password_reset'")
		} else if i := strings.Index(filter, "action="); i >= 0 {
			prefix := strings.SplitN(filter[i+len("action="):], "&", 2)[0]
			q = q.Where("a.action LIKE ?", prefix+"%")
		}
		if strings.Contains(filter, "from=") {
			q = q.Where("a.created_at >= ?", base.Add(100*time.Minute))
		}
		if strings.Contains(filter, "to=") {
			q = q.Where("a.created_at < ?", base.Add(300*time.Minute))
		}
		if err := q.Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
		var wantIDs strings.Builder
		for _, r := range want {
			fmt.Fprint(&wantIDs, r.ID, " ")
		}
		var pages []auditCursorPage
		var p auditCursorPage
		ac.GET("/api/admin/audit?perPage=30&" + filter).Expect(200).JSON(&p)
		if p.PrevCursor != nil || p.TotalIsEstimate || p.Total != int64(len(want)) {
			t.Fatalf("%s: first page prev %v total %d (estimate %v), want %d", filter, p.PrevCursor, p.Total, p.TotalIsEstimate, len(want))
		}
		for {
			pages = append(pages, p)
			if p.NextCursor == nil {
				break
			}
			var next auditCursorPage
			ac.GET("/api/admin/audit?perPage=30&" + filter + "&after=" + url.QueryEscape(*p.NextCursor)).Expect(200).JSON(&next)
			p = next
		}
		var got strings.Builder
		for _, pg := range pages {
			got.WriteString(pg.ids())
		}
		if got.String() != wantIDs.String() {
			t.Fatalf("%s: walk\n%s\nwant\n%s", filter, got.String(), wantIDs.String())
		}
		for i := len(pages) - 2; i >= 0; i-- {
			var prev auditCursorPage
			ac.GET("/api/admin/audit?perPage=30&" + filter + "&before=" + url.QueryEscape(*p.PrevCursor)).Expect(200).JSON(&prev)
			if prev.ids() != pages[i].ids() || (i == 0) != (prev.PrevCursor == nil) {
				t.Fatalf("%s: back to page %d: %s, want %s", filter, i+1, prev.ids(), pages[i].ids())
			}
			p = prev
		}
	}
	for _, bad := range []string{"after=garbage", "before=e30", "after=", "after=eyJ2IjoxLCJ0IjoieCIsImEiOjF9"} {
		r := ac.GET("/api/admin/audit?" + bad).Expect(400)
		if len(r.Fields()) == 0 {
			t.Fatal(bad, r.Fields())
		}
	}
}

// TestAudit_TotalIsEstimatedPastTheCap: a filter matching more than
// 10,000 rows answers the lower bound 10,000 with totalIsEstimate, instead
// of counting every row (0.5 s at 1M).
func TestAudit_TotalIsEstimatedPastTheCap(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ac := app.LoginAs(app.SuperAdmin("auditor"))
	seedAudit(t, app, models.AuditCountCap+200)
	var p auditCursorPage
	ac.GET("/api/admin/audit?perPage=5").Expect(200).JSON(&p)
	if !p.TotalIsEstimate || p.Total != models.AuditCountCap {
		t.Fatalf("total %d estimate %v", p.Total, p.TotalIsEstimate)
	}
	ac.GET("/api/admin/audit?perPage=5&action=settings.").Expect(200).JSON(&p)
	if p.TotalIsEstimate || p.Total != int64((models.AuditCountCap+200)/50) {
		t.Fatalf("settings total %d estimate %v", p.Total, p.TotalIsEstimate)
	}
}
