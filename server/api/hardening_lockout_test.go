package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// providerOnlyAdmin sets up the platform of item 6: username and email
// sign-in off, third-party sign-in on, and "ana" (an admin) the only
// administrator with a linked identity; root (super administrator, no
// link) keeps the session it opened while passwords still worked.
func providerOnlyAdmin(t *testing.T) (*idp, *testkit.User) {
	t.Helper()
	w := newIdP(t, nil)
	ana := w.app.Admin("ana")
	ac := w.app.LoginAs(ana)
	link := ac.POST("/api/me/identities/mock/link", map[string]string{"password": ana.Password}).Expect(200).Map()
	location(t, w.fromProvider(ac, verified("p-ana", "ana", "ana@example.com"), link["redirectUrl"].(string)))
	w.setSignin(false, false, true).Expect(200)
	return w, ana
}

// bulkBody is a bulk request over explicit accounts.
func bulkBody(action string, params map[string]any, dry bool, ids ...string) map[string]any {
	return map[string]any{"action": action, "publicIds": ids, "params": params, "dryRun": dry, "reason": "test"}
}

// TestHardening_AdminLockoutGuardOnAccountChanges: with the provider the
// only enabled way in, no account change (role, status, delete, unlink;
// single and bulk) may take away the last administrator who can use it.
func TestHardening_AdminLockoutGuardOnAccountChanges(t *testing.T) {
	t.Parallel()
	w, ana := providerOnlyAdmin(t)
	rc := w.rc
	id := ana.PublicID
	expectError(t, rc.PATCH("/api/admin/users/"+id, map[string]any{"role": "user"}), 409, "would_lock_out_admins")
	for _, st := range []string{"suspended", "deactivated", "pending"} {
		expectError(t, rc.POST("/api/admin/users/"+id+"/status", map[string]any{"status": st, "reason": "x"}), 409, "would_lock_out_admins")
	}
	expectError(t, rc.DELETE("/api/admin/users/"+id+"?confirm=ana"), 409, "would_lock_out_admins")
	var idents struct {
		Items []map[string]any `json:"items"`
	}
	rc.GET("/api/admin/users/" + id + "/identities").Expect(200).JSON(&idents)
	if len(idents.Items) != 1 {
		t.Fatalf("identities %v", idents.Items)
	}
	r := rc.POST("/api/admin/users/"+id+"/identities/"+itoa(int64(idents.Items[0]["id"].(float64)))+"/unlink", map[string]any{"reason": "x"})
	if r.Status != 409 {
		t.Fatalf("unlink: %d %s", r.Status, r.Body)
	}

	// Bulk: the dry run names ana as refused with the reason; the real run
	// refuses, and "apply to the others" changes the others only.
	bob := w.app.Admin("bob") // an admin without any usable way in
	for _, b := range []struct {
		action string
		params map[string]any
	}{
		{"set_role", map[string]any{"role": "user"}},
		{"set_status", map[string]any{"status": "suspended"}},
		{"delete", nil},
	} {
		var res struct {
			Changed int `json:"changed"`
			Refused []struct {
				PublicID string `json:"publicId"`
				Code     string `json:"code"`
				Message  string `json:"message"`
			} `json:"refused"`
		}
		rc.POST("/api/admin/users/bulk", bulkBody(b.action, b.params, true, id, bob.PublicID)).Expect(200).JSON(&res)
		if res.Changed != 1 || len(res.Refused) != 1 || res.Refused[0].PublicID != id || res.Refused[0].Code != "would_lock_out_admins" || res.Refused[0].Message == "" {
			t.Fatalf("%s dry run %+v", b.action, res)
		}
		expectError(t, rc.POST("/api/admin/users/bulk", bulkBody(b.action, b.params, false, id, bob.PublicID)), 409, "bulk_refused")
	}
	body := bulkBody("set_status", map[string]any{"status": "suspended"}, false, id, bob.PublicID)
	body["skipRefused"] = true
	rc.POST("/api/admin/users/bulk", body).Expect(200)
	if u := userByUsername(t, w.app, "bob"); u.Status != models.StatusSuspended {
		t.Fatalf("bob %s", u.Status)
	}
	// By filter too.
	f := map[string]any{"action": "set_role", "filter": map[string]any{"role": "admin"}, "params": map[string]any{"role": "user"}, "dryRun": true}
	var res map[string]any
	rc.POST("/api/admin/users/bulk", f).Expect(200).JSON(&res)
	if refused := res["refused"].([]any); len(refused) != 1 || refused[0].(map[string]any)["code"] != "would_lock_out_admins" {
		t.Fatalf("filter dry run %v", res)
	}
	if u := userByUsername(t, w.app, "ana"); u.Role != models.RoleAdmin || u.Status != models.StatusActive || len(identitiesOf(t, w.app, u.ID)) != 1 {
		t.Fatalf("ana changed: %s %s", u.Role, u.Status)
	}
	// ana still signs in through the provider.
	c := w.app.Client()
	location(t, w.roundTrip(c, verified("p-ana", "ana", "ana@example.com"), ""))
	if c.GET("/api/me").Expect(200).Map()["username"] != "ana" {
		t.Fatal("ana not signed in")
	}

	// Once another administrator can sign in, ana may be demoted.
	link := rc.POST("/api/me/identities/mock/link", map[string]string{"password": w.root.Password}).Expect(200).Map()
	location(t, w.fromProvider(rc, verified("p-root", "root", "root@example.com"), link["redirectUrl"].(string)))
	rc.PATCH("/api/admin/users/"+id, map[string]any{"role": "user"}).Expect(200)
}

// TestHardening_AdminLockoutGuardEmailPath: with only email sign-in on,
// removing the address of the last administrator who has one is refused.
func TestHardening_AdminLockoutGuardEmailPath(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	boss := app.CreateUser(testkit.UserSpec{Username: "boss", Role: models.RoleSuperAdmin}) // no email
	bc := app.LoginAs(boss)
	ana := app.Admin("ana")
	setSignin(t, app, false, true)
	expectError(t, bc.PATCH("/api/admin/users/"+ana.PublicID, map[string]any{"email": ""}), 409, "would_lock_out_admins")
	bc.PATCH("/api/admin/users/"+ana.PublicID, map[string]any{"email": "ana2@example.com"}).Expect(200)
	expectError(t, bc.POST("/api/admin/users/"+ana.PublicID+"/status", map[string]any{"status": "suspended"}), 409, "would_lock_out_admins")
}

// TestHardening_AdminLockoutGuardConcurrent: two administrators, each the
// other's only fallback, suspended at the same moment by two requests:
// one wins, the other is refused (SQLite serialises the transactions,
// PostgreSQL takes the guard's lock).
func TestHardening_AdminLockoutGuardConcurrent(t *testing.T) {
	t.Parallel()
	for round := 0; round < 5; round++ {
		// A subtest per round: its app and database connections are closed
		// when the round ends.
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) { adminLockoutGuardRound(t, round) })
	}
}

func adminLockoutGuardRound(t *testing.T, round int) {
	app := testkit.NewApp(t)
	boss := app.CreateUser(testkit.UserSpec{Username: "boss", Role: models.RoleSuperAdmin})
	bc := app.LoginAs(boss)
	ana, ben := app.Admin("ana"), app.Admin("ben")
	// boss has no email: with only email sign-in on, ana and ben are
	// the two administrators who can sign in.
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("email = NULL, email_lower = NULL").Where("id = ?", boss.ID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	setSignin(t, app, false, true)
	var wg sync.WaitGroup
	codes := make([]int, 4)
	reqs := []func() int{
		func() int {
			return bc.POST("/api/admin/users/"+ana.PublicID+"/status", map[string]any{"status": "suspended"}).Status
		},
		func() int {
			return bc.PATCH("/api/admin/users/"+ben.PublicID, map[string]any{"role": "user"}).Status
		},
		func() int {
			return bc.POST("/api/admin/users/bulk", bulkBody("delete", nil, false, ana.PublicID)).Status
		},
		func() int {
			return bc.DELETE("/api/admin/users/" + ben.PublicID + "?confirm=ben").Status
		},
	}
	for i, f := range reqs {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = f() }()
	}
	wg.Wait()
	var able int
	for _, name := range []string{"ana", "ben"} {
		u, err := models.UserByUsername(t.Context(), app.Svc.DB, name)
		if err == nil && u.Role == models.RoleAdmin && u.Status == models.StatusActive {
			able++
		}
	}
	if able != 1 {
		t.Fatalf("round %d: %d administrators can still sign in (answers %v)", round, able, codes)
	}
	for _, c := range codes {
		if c != http.StatusOK && c != http.StatusNoContent && c != http.StatusConflict && c != http.StatusNotFound {
			t.Fatalf("round %d: answers %v", round, codes)
		}
	}
}

// TestHardening_AdminLockoutGuardConcurrentWithSettings: turning username
// sign-in off (ana keeps email sign-in) and suspending ana (ben keeps
// username sign-in) are each fine alone; sent together, one of them is
// refused, never both applied.
func TestHardening_AdminLockoutGuardConcurrentWithSettings(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	boss := app.CreateUser(testkit.UserSpec{Username: "boss", Role: models.RoleSuperAdmin})
	bc := app.LoginAs(boss)
	// boss keeps the session but has no way in of its own.
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = NULL").Where("id = ?", boss.ID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	ana := app.Admin("ana")
	app.CreateUser(testkit.UserSpec{Username: "ben", Role: models.RoleAdmin}) // no email
	for round := 0; round < 40; round++ {
		if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("status = ?", models.StatusActive).Where("id = ?", ana.ID).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		setSignin(t, app, true, true)
		version := bc.GET("/api/admin/settings/signin").Expect(200).Map()["version"]
		var wg sync.WaitGroup
		var codes [2]int
		wg.Add(2)
		go func() {
			defer wg.Done()
			codes[0] = bc.PUT("/api/admin/settings/signin", map[string]any{"version": version, "usernameEnabled": false, "emailEnabled": true, "thirdPartyEnabled": false}).Status
		}()
		go func() {
			defer wg.Done()
			codes[1] = bc.POST("/api/admin/users/"+ana.PublicID+"/status", map[string]any{"status": "suspended"}).Status
		}()
		wg.Wait()
		if codes[0] == 200 && codes[1] == 200 {
			t.Fatalf("round %d: both applied; no administrator can sign in", round)
		}
		if codes[0]+codes[1] != 200+409 {
			t.Fatalf("round %d: answers %v", round, codes)
		}
	}
}

// TestHardening_AdminLockoutGuardEmptyPasswordHash: an empty password hash
// is no password (models.User.HasPassword; sign-in never accepts one), so
// an administrator holding one is no way in for the guard either, as for
// the super administrators' way-in rule (SuperAdminsWithoutWayIn): with
// root's hash empty, ana is the last administrator who can sign in, and
// suspending her, singly or in bulk, is refused.
func TestHardening_AdminLockoutGuardEmptyPasswordHash(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	rc := app.LoginAs(root)
	ana := app.Admin("ana")
	if _, err := app.Svc.DB.NewUpdate().Table("users").Set("password_hash = ''").Where("id = ?", root.ID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectError(t, rc.POST("/api/admin/users/"+ana.PublicID+"/status", map[string]any{"status": "suspended", "reason": "x"}), 409, "would_lock_out_admins")
	var res struct {
		Changed int `json:"changed"`
		Refused []struct {
			Code string `json:"code"`
		} `json:"refused"`
	}
	rc.POST("/api/admin/users/bulk", bulkBody("set_status", map[string]any{"status": "suspended"}, true, ana.PublicID)).Expect(200).JSON(&res)
	if res.Changed != 0 || len(res.Refused) != 1 || res.Refused[0].Code != "would_lock_out_admins" {
		t.Fatalf("bulk dry run %+v", res)
	}
	if u := userByUsername(t, app, "ana"); u.Status != models.StatusActive {
		t.Fatalf("ana %s", u.Status)
	}
}
