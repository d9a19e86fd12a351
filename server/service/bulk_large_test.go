package service_test

import (
	"context"
	"encoding/json"
	"testing"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Bulk runs of 1,000 accounts and more take the fast paths: per-group
// count updates instead of the per-row triggers (SQLite), targets scanned
// by hand, audit rows through one prepared statement. The results must be
// the same as the slow paths': exact counts, one complete audit row per
// changed account, and the triggers back in place afterwards.
func TestLargeBulkRunsKeepCountsAuditAndTriggers(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	db := app.Svc.DB
	if err := app.Svc.Seed(ctx, 3000, nil); err != nil {
		t.Fatal(err)
	}
	root := app.SuperAdmin("root")
	actor := service.Actor{User: root.User, IP: "192.0.2.7", UserAgent: "BulkTest/1"}
	checkCounts := func(step string) {
		t.Helper()
		var got []struct {
			Role   string `bun:"role"`
			Status string `bun:"status"`
			N      int64  `bun:"n"`
		}
		if err := db.NewRaw("SELECT role, status, n FROM user_counts WHERE n <> 0 ORDER BY role, status").Scan(ctx, &got); err != nil {
			t.Fatal(err)
		}
		var want []struct {
			Role   string `bun:"role"`
			Status string `bun:"status"`
			N      int64  `bun:"n"`
		}
		if err := db.NewRaw("SELECT role, status, count(*) AS n FROM users GROUP BY role, status ORDER BY role, status").Scan(ctx, &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: counts %+v, real %+v", step, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: counts %+v, real %+v", step, got, want)
			}
		}
	}
	checkAudit := func(step, batch string, changed int, action string) {
		t.Helper()
		var rows []models.AuditEvent
		if err := db.NewSelect().Model(&rows).Where("batch_id = ?", batch).Order("id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rows) != changed {
			t.Fatalf("%s: %d audit rows for %d changes", step, len(rows), changed)
		}
		seen := map[int64]bool{}
		for _, r := range rows {
			var details map[string]any
			if r.Action != action || r.ActorID == nil || *r.ActorID != root.ID || r.ActorPublicID != root.PublicID || r.ActorUsername != "root" ||
				r.Reason != "cleanup" || r.IP != "192.0.2.7" || r.UserAgent != "BulkTest/1" || r.TargetType != "user" || r.TargetID == nil ||
				r.TargetPublicID == "" || r.TargetLabel == "" || json.Unmarshal([]byte(r.Details), &details) != nil || len(details) == 0 ||
				!r.CreatedAt.Equal(rows[0].CreatedAt) || seen[*r.TargetID] {
				t.Fatalf("%s: audit row %+v", step, r)
			}
			seen[*r.TargetID] = true
		}
	}
	triggers := func() int {
		var n int
		if err := db.NewRaw("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'users'").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	sqlite := models.IsSQLite(db)
	before := 0
	if sqlite {
		before = triggers()
	}

	res, err := app.Svc.Users.Bulk(ctx, actor, service.BulkRequest{Action: service.BulkSetStatus, Filter: &models.UserFilter{Role: models.RoleUser}, Status: models.StatusSuspended, Reason: "cleanup", SkipRefused: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed < 2000 {
		t.Fatalf("set_status changed %d", res.Changed)
	}
	checkCounts("set_status")
	checkAudit("set_status", res.BatchID, res.Changed, service.ActionUserStatusChanged)
	var details map[string]any
	var first models.AuditEvent
	if err := db.NewSelect().Model(&first).Where("batch_id = ?", res.BatchID).Where("details LIKE '%active%'").Limit(1).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if json.Unmarshal([]byte(first.Details), &details); details["before"] != "active" || details["after"] != "suspended" {
		t.Fatalf("details %s", first.Details)
	}

	res, err = app.Svc.Users.Bulk(ctx, actor, service.BulkRequest{Action: service.BulkSetRole, Filter: &models.UserFilter{Status: models.StatusSuspended, Role: models.RoleUser}, Role: models.RoleAdmin, Reason: "cleanup", SkipRefused: true})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts("set_role")
	checkAudit("set_role", res.BatchID, res.Changed, service.ActionUserRoleChanged)

	res, err = app.Svc.Users.Bulk(ctx, actor, service.BulkRequest{Action: service.BulkDelete, Filter: &models.UserFilter{Role: models.RoleAdmin}, Reason: "cleanup", SkipRefused: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed < 2000 {
		t.Fatalf("delete changed %d", res.Changed)
	}
	checkCounts("delete")
	checkAudit("delete", res.BatchID, res.Changed, service.ActionUserDeleted)
	if sqlite && triggers() != before {
		t.Fatalf("triggers on users: %d after, %d before", triggers(), before)
	}
	// The triggers work again: a new account is counted.
	app.Member("afterbulk")
	checkCounts("insert after bulk")
}
