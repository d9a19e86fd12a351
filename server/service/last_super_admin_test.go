package service_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestAccountChanges_LastSuperAdminCountedOncePerBatch: a bulk change
// whose targets are every active super administrator is refused for all
// of them with last_super_admin (bulk_refused naming each; with
// skipRefused, nothing changed and the same refusals), for status, role
// and delete: each target alone would leave one, the batch none. Two of
// three leave exactly one. A single-account change answers
// last_super_admin for the last one.
//
// The acting super administrator counts among the active ones and is never
// a target (self_change), and the engine plans with the actor's row as it
// is under the lock, so no request reaches this rule: the test acts as a
// super administrator whose row is deactivated (not counted), with the
// engine told to trust the actor as given. (It was an API test that
// demoted the actor while the request waited for the lock, the window the
// engine closed.) Mutations that made it fail: the rule counting each
// leaving target alone (n-1 < 1), and the rule removed.
func TestAccountChanges_LastSuperAdminCountedOncePerBatch(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	users := app.Svc.Users
	rootU := app.SuperAdmin("root")
	if err := models.SetUserStatusRaw(ctx, app.Svc.DB, rootU.ID, models.StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	root := *rootU.User
	root.Role, root.Status = models.RoleSuperAdmin, models.StatusActive
	actor := service.Actor{User: &root}
	s1, s2 := app.SuperAdmin("sam"), app.SuperAdmin("sue")
	pair := service.Targets{PublicIDs: []string{s1.PublicID, s2.PublicID}}
	bothRefused := func(what string, refused []service.BulkRefusal) {
		t.Helper()
		codes := map[string]string{}
		for _, r := range refused {
			codes[r.PublicID] = r.Code
		}
		if len(refused) != 2 || codes[s1.PublicID] != "last_super_admin" || codes[s2.PublicID] != "last_super_admin" {
			t.Fatalf("%s: refused %+v, want both last_super_admin", what, refused)
		}
	}
	intact := func(what string, us ...*testkit.User) {
		t.Helper()
		for _, s := range us {
			if u := app.Reload(s); u.Role != models.RoleSuperAdmin || u.Status != models.StatusActive {
				t.Fatalf("%s: %s is %s/%s", what, s.Username, u.Role, u.Status)
			}
		}
	}
	var since int64
	if err := app.Svc.DB.NewRaw("SELECT COALESCE(MAX(id), 0) FROM audit_events").Scan(ctx, &since); err != nil {
		t.Fatal(err)
	}
	history := func() int64 {
		t.Helper()
		n, err := app.Svc.DB.NewSelect().Model((*models.AuditEvent)(nil)).Where("target_public_id IN (?, ?)", s1.PublicID, s2.PublicID).Where("id > ?", since).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The preview says so too.
	res, err := service.ApplyTrustingActorForTest(ctx, users, actor, pair, service.StatusChange{Status: models.StatusSuspended}, service.ApplyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 0 {
		t.Fatalf("preview: %+v", res)
	}
	bothRefused("preview", res.Refused)
	admin := models.RoleAdmin
	for _, c := range []struct {
		ch   service.AccountChange
		skip bool
	}{
		{service.StatusChange{Status: models.StatusSuspended}, false},
		{service.StatusChange{Status: models.StatusDeactivated}, true},
		{&service.UserPatch{Role: &admin}, true},
		{service.DeleteChange{}, false},
	} {
		what := fmt.Sprintf("%T skipRefused=%v", c.ch, c.skip)
		res, err := service.ApplyTrustingActorForTest(ctx, users, actor, pair, c.ch, service.ApplyOptions{SkipRefused: c.skip, Reason: "all of them"})
		if c.skip {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if res.Changed != 0 {
				t.Fatalf("%s: changed %d", what, res.Changed)
			}
			bothRefused(what, res.Refused)
		} else {
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Code != "bulk_refused" || pe.Extra["changed"] != 0 {
				t.Fatalf("%s: %v", what, err)
			}
			bothRefused(what, pe.Extra["refused"].([]service.BulkRefusal))
		}
		intact(what, s1, s2)
	}
	if n := history(); n != 0 {
		t.Fatalf("refused changes wrote %d history rows", n)
	}
	// A third super administrator: the batch of two leaves exactly one.
	s3 := app.SuperAdmin("sid")
	res, err = service.ApplyTrustingActorForTest(ctx, users, actor, pair, service.StatusChange{Status: models.StatusSuspended}, service.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 2 || len(res.Refused) != 0 {
		t.Fatalf("two of three: %+v", res)
	}
	n, err := models.CountActiveSuperAdmins(ctx, app.Svc.DB)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("after two of three: %d active super administrators", n)
	}
	intact("two of three", s3)
	// A single-account change, for the last one (s3).
	confirm := "sid"
	for _, ch := range []service.AccountChange{
		service.StatusChange{Status: models.StatusSuspended},
		&service.UserPatch{Role: &admin},
		service.DeleteChange{Confirm: &confirm},
	} {
		err := service.SingleTrustingActorForTest(ctx, users, actor, s3.PublicID, ch)
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.Code != "last_super_admin" {
			t.Fatalf("single %T: %v", ch, err)
		}
		intact(fmt.Sprintf("single %T", ch), s3)
	}
}
