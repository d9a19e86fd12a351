package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// seeded3000 is an app with 3,000 seeded accounts and a super
// administrator "root": enough for the bulk paths of 1,000 accounts and
// more.
func seeded3000(t *testing.T) (*testkit.App, *testkit.User) {
	t.Helper()
	app := testkit.NewApp(t)
	if err := app.Svc.Seed(context.Background(), 3000, nil); err != nil {
		t.Fatal(err)
	}
	return app, app.SuperAdmin("root")
}

// Bulk runs of 1,000 accounts and more take the fast paths: per-group
// count updates instead of the per-row triggers (SQLite), targets scanned
// by hand, audit rows through one prepared statement. The results must be
// the same as the slow paths': exact counts, one complete audit row per
// changed account, and the triggers back in place afterwards.
func TestLargeBulkRunsKeepCountsAuditAndTriggers(t *testing.T) {
	t.Parallel()
	app, root := seeded3000(t)
	ctx := context.Background()
	db := app.Svc.DB
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

// A large bulk change that ends sessions (here a reset of 2FA) ends the
// sessions, access tokens and application token families of its targets,
// and of nobody else, whether those tables hold fewer rows than half the
// change's targets (the accounts holding them are read first:
// models.EndSessionsOf) or more; the audit row of each target counts its
// sessions.
func TestLargeBulkEndsTheSessionsOfItsTargetsOnly(t *testing.T) {
	t.Parallel()
	on := true
	for _, many := range []bool{false, true} {
		app, root := seeded3000(t)
		ctx := context.Background()
		db := app.Svc.DB
		var ids []int64
		if err := db.NewRaw("SELECT id FROM users WHERE role = 'user' AND status = 'active' ORDER BY id").Scan(ctx, &ids); err != nil {
			t.Fatal(err)
		}
		// Targets: the accounts with an odd id; each of the first holders
		// of each kind gets rows (and so does an account the change leaves).
		var targets, others []int64
		for _, id := range ids {
			if id%2 == 1 {
				targets = append(targets, id)
			} else {
				others = append(others, id)
			}
		}
		if _, err := db.NewRaw("UPDATE users SET totp_enabled_at = ? WHERE id IN (?)", time.Now().UTC(), bun.List(targets)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		holders := []int64{targets[3], targets[10], targets[len(targets)-1], others[0], others[5]}
		if many {
			// More rows than half the targets: every account's look-up.
			holders = append(holders, targets[:len(targets)*3/4]...)
		}
		now := time.Now().UTC()
		app1 := &models.Application{ClientID: "bulk-app", Name: "Bulk app", RedirectURIs: "[]", PostLogoutRedirectURIs: "[]", ClientType: "confidential", AllowedRoles: "[]", AllowedStatuses: "[]", CreatedAt: now, UpdatedAt: now}
		if _, err := db.NewInsert().Model(app1).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		var sessions []models.Session
		var tokens []models.AccessToken
		var families []models.OAuthFamily
		for i, id := range holders {
			sid := fmt.Sprintf("s%d", i)
			sessions = append(sessions, models.Session{ID: sid, TokenHash: "h" + sid, UserID: id, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
			if i%3 != 2 {
				// Two sessions for some.
				sessions = append(sessions, models.Session{ID: sid + "b", TokenHash: "h" + sid + "b", UserID: id, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
			}
			tokens = append(tokens, models.AccessToken{ID: "t" + sid, TokenHash: "th" + sid, SessionID: sid, UserID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
			families = append(families, models.OAuthFamily{ID: "f" + sid, ApplicationID: app1.ID, UserID: id, Scopes: "openid", AuthTime: now, CodeHash: "c" + sid, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		}
		for _, rows := range []any{&sessions, &tokens, &families} {
			if _, err := db.NewInsert().Model(rows).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		want := map[int64]int64{} // sessions per target
		for _, s := range sessions {
			if s.UserID%2 == 1 {
				want[s.UserID]++
			}
		}

		res, err := app.Svc.Users.Bulk(ctx, service.Actor{User: root.User}, service.BulkRequest{Action: service.BulkReset2FA, Filter: &models.UserFilter{TwoFactor: &on, Role: models.RoleUser}, Reason: "cleanup", SkipRefused: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed != len(targets) || len(targets) < 1000 {
			t.Fatalf("many=%v: changed %d of %d targets", many, res.Changed, len(targets))
		}
		type left struct {
			UserID int64 `bun:"user_id"`
			N      int64 `bun:"n"`
		}
		for _, table := range []string{"sessions", "access_tokens", "oauth_token_families WHERE revoked_at IS NULL"} {
			var rows []left
			if err := db.NewRaw("SELECT user_id, count(*) AS n FROM "+table+" GROUP BY user_id ORDER BY user_id").Scan(ctx, &rows); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].UserID != others[0] || rows[1].UserID != others[5] {
				t.Fatalf("many=%v: %s left for %+v; want the two accounts the change left (%d, %d)", many, table, rows, others[0], others[5])
			}
		}
		var revoked int
		if err := db.NewRaw("SELECT count(*) FROM oauth_token_families WHERE revoked_at IS NOT NULL AND revoke_reason = 'sessions_ended'").Scan(ctx, &revoked); err != nil {
			t.Fatal(err)
		}
		if revoked != len(holders)-2 {
			t.Fatalf("many=%v: %d families revoked; want %d", many, revoked, len(holders)-2)
		}
		var audit []models.AuditEvent
		if err := db.NewSelect().Model(&audit).Where("batch_id = ?", res.BatchID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		ended := 0
		for _, a := range audit {
			var d struct {
				SessionsEnded int64 `json:"sessionsEnded"`
			}
			if err := json.Unmarshal([]byte(a.Details), &d); err != nil {
				t.Fatal(err)
			}
			if d.SessionsEnded != want[*a.TargetID] {
				t.Fatalf("many=%v: account %d: audit says %d sessions ended; it had %d (%s)", many, *a.TargetID, d.SessionsEnded, want[*a.TargetID], a.Details)
			}
			ended += int(d.SessionsEnded)
		}
		if len(audit) != len(targets) || ended == 0 {
			t.Fatalf("many=%v: %d audit rows, %d sessions ended in them", many, len(audit), ended)
		}
	}
}
