package api_test

import (
	"context"
	"net/http"
	"testing"

	"gatehouse/models"
	"gatehouse/server"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Authenticated requests use a cached session and account only while no
// session has ended and no account or plan has changed anywhere: a change
// made through another connection (another instance, the shell) must show
// on the very next request.
func TestSessionCacheSeesChangesFromElsewhereAtOnce(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	alice, bob := app.Member("alice"), app.Member("bob")
	ac, bc := app.LoginAs(alice), app.LoginAs(bob)
	for i := 0; i < 3; i++ { // the cache is warm
		ac.GET("/api/me").Expect(http.StatusOK)
		bc.GET("/api/me").Expect(http.StatusOK)
	}
	other, _, err := server.Open(ctx, app.Cfg) // "another process"
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	if _, err := other.NewUpdate().Model((*models.User)(nil)).Set("display_name = 'Alice Elsewhere'").Where("id = ?", alice.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	var me struct {
		DisplayName string `json:"displayName"`
	}
	ac.GET("/api/me").Expect(http.StatusOK).JSON(&me)
	if me.DisplayName != "Alice Elsewhere" {
		t.Fatalf("display name after a change elsewhere: %q", me.DisplayName)
	}
	if _, err := other.NewUpdate().Model((*models.User)(nil)).Set("status = 'suspended'").Where("id = ?", alice.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	ac.GET("/api/me").Expect(http.StatusUnauthorized)

	bc.GET("/api/me").Expect(http.StatusOK)
	if _, err := other.NewDelete().Model((*models.Session)(nil)).Where("user_id = ?", bob.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	bc.GET("/api/me").Expect(http.StatusUnauthorized)
}

// A bulk suspension large enough to set the per-row triggers aside still
// ends the cached sessions of the accounts it suspends.
func TestLargeBulkSuspensionEndsCachedSessions(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	if err := app.Svc.Seed(ctx, 1100, nil); err != nil {
		t.Fatal(err)
	}
	carol := app.Member("carol")
	cc := app.LoginAs(carol)
	cc.GET("/api/me").Expect(http.StatusOK)
	cc.GET("/api/me").Expect(http.StatusOK)
	root := app.SuperAdmin("root")
	res, err := app.Svc.Users.Bulk(ctx, service.Actor{User: root.User}, service.BulkRequest{Action: service.BulkSetStatus, Filter: &models.UserFilter{Role: models.RoleUser}, Status: models.StatusSuspended, Reason: "test", SkipRefused: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed < 1000 {
		t.Fatalf("changed %d: the bulk path under test needs 1000 or more", res.Changed)
	}
	cc.GET("/api/me").Expect(http.StatusUnauthorized)
}
