package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// ceremony is an options answer of the passkey endpoints.
type ceremony struct {
	Ceremony  string         `json:"ceremony"`
	PublicKey map[string]any `json:"publicKey"`
}

func ceremonyOf(r *testkit.Response) ceremony {
	var c ceremony
	r.JSON(&c)
	if c.Ceremony == "" || c.PublicKey["challenge"] == nil {
		r.T.Fatalf("no ceremony in %s", r.Body)
	}
	return c
}

// addPasskey registers a passkey of auth for the signed-in client.
func addPasskey(t *testing.T, c *testkit.Client, auth *testkit.Authenticator, password, name string) map[string]any {
	t.Helper()
	opts := ceremonyOf(c.POST("/api/me/passkeys/options", map[string]string{"password": password}).Expect(200))
	return c.POST("/api/me/passkeys", map[string]any{"ceremony": opts.Ceremony, "name": name, "credential": auth.Create(t, opts.PublicKey)}).Expect(201).Map()
}

// passwordless signs c in with auth's passkey and returns the answer.
func passwordless(t *testing.T, c *testkit.Client, auth *testkit.Authenticator) *testkit.Response {
	t.Helper()
	opts := ceremonyOf(c.POST("/api/auth/passkey/options", nil).Expect(200))
	return c.POST("/api/auth/passkey", map[string]any{"ceremony": opts.Ceremony, "credential": auth.Get(t, opts.PublicKey)})
}

func TestPasskey_RegisterListAndPasswordlessSignIn(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	other := app.LoginAs(alice)
	auth := testkit.NewAuthenticator("http://gatehouse.test")

	// Adding a passkey needs the current password.
	if r := c.POST("/api/me/passkeys/options", map[string]string{"password": "wrong"}).Expect(422); r.Fields()["password"] == "" {
		t.Fatalf("no field error: %s", r.Body)
	}
	opts := ceremonyOf(c.POST("/api/me/passkeys/options", map[string]string{"password": alice.Password}).Expect(200))
	if rp, _ := opts.PublicKey["rp"].(map[string]any); rp["id"] != "gatehouse.test" {
		t.Fatalf("RP ID from --base-url: %v", opts.PublicKey["rp"])
	}
	cred := auth.Create(t, opts.PublicKey)
	c.POST("/api/me/passkeys", map[string]any{"ceremony": opts.Ceremony, "name": " ", "credential": cred}).Expect(422)
	added := c.POST("/api/me/passkeys", map[string]any{"ceremony": opts.Ceremony, "name": "Laptop", "credential": cred}).Expect(201).Map()
	if added["name"] != "Laptop" || added["discoverable"] != true || added["lastUsedAt"] != nil {
		t.Fatalf("added: %v", added)
	}
	// The ceremony served once.
	if r := c.POST("/api/me/passkeys", map[string]any{"ceremony": opts.Ceremony, "name": "Again", "credential": cred}).Expect(401); r.ErrorCode() != "passkey_expired" {
		t.Fatal(r.ErrorCode())
	}
	other.GET("/api/me").Expect(401) // adding a way in ends other sessions
	me := c.GET("/api/me").Expect(200).Map()
	if me["twoFactorEnabled"] != true || me["authenticatorAppEnabled"] != false || me["passkeyCount"] != float64(1) {
		t.Fatalf("me: %v", me)
	}

	// Passwordless: a fresh browser, no name typed.
	b := app.Client()
	r := passwordless(t, b, auth).Expect(200)
	if r.SetCookie("gatehouse_session") == nil {
		t.Fatal("no session cookie")
	}
	b.GET("/api/me").Expect(200)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	b.GET("/api/me/passkeys").Expect(200).JSON(&list)
	if len(list.Items) != 1 || list.Items[0]["lastUsedAt"] == nil {
		t.Fatalf("last use not recorded: %v", list.Items)
	}
	acts := app.AuditActions(alice.PublicID)
	for _, want := range []string{"account.passkey_added", "auth.passkey_used", "auth.login_succeeded"} {
		if !slices.Contains(acts, want) {
			t.Fatalf("audit lacks %s: %v", want, acts)
		}
	}
	var sess models.Session
	if err := app.Svc.DB.NewSelect().Model(&sess).Where("user_id = ?", alice.ID).Where("method = ?", "passkey").Limit(1).Scan(context.Background()); err != nil {
		t.Fatalf("no passkey session: %v", err)
	}

	// Signing in again from a signed-in browser rotates its session.
	old := b.Cookie("gatehouse_session").Value
	passwordless(t, b, auth).Expect(200)
	if b.Cookie("gatehouse_session").Value == old {
		t.Fatal("session not rotated")
	}
	stale := app.Client()
	stale.HTTP.Jar.SetCookies(mustURL(app.URL), []*http.Cookie{{Name: "gatehouse_session", Value: old, Path: "/"}})
	stale.GET("/api/me").Expect(401)
}

func TestPasskey_ReplayedAssertionRefused(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, app.LoginAs(alice), auth, alice.Password, "Key")

	b := app.Client()
	opts := ceremonyOf(b.POST("/api/auth/passkey/options", nil).Expect(200))
	assertion := auth.Get(t, opts.PublicKey)
	b.POST("/api/auth/passkey", map[string]any{"ceremony": opts.Ceremony, "credential": assertion}).Expect(200)
	// The same answer to the same ceremony: the ceremony is gone.
	if r := app.Client().POST("/api/auth/passkey", map[string]any{"ceremony": opts.Ceremony, "credential": assertion}).Expect(401); r.ErrorCode() != "passkey_expired" {
		t.Fatal(r.ErrorCode())
	}
	// The same answer to a new ceremony: the challenge does not match.
	c := app.Client()
	fresh := ceremonyOf(c.POST("/api/auth/passkey/options", nil).Expect(200))
	if r := c.POST("/api/auth/passkey", map[string]any{"ceremony": fresh.Ceremony, "credential": assertion}).Expect(401); r.ErrorCode() != "passkey_invalid" {
		t.Fatal(r.ErrorCode())
	}
	c.GET("/api/me").Expect(401)
}

func TestPasskey_WrongOriginOrRPIDRefused(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)

	for _, bad := range []func(a *testkit.Authenticator){
		func(a *testkit.Authenticator) { a.Origin = "http://gatehouse.test.evil.example" },
		func(a *testkit.Authenticator) { a.RPID = "evil.example" },
	} {
		// Registration through a phishing origin or for another RP.
		phish := testkit.NewAuthenticator("http://gatehouse.test")
		bad(phish)
		opts := ceremonyOf(c.POST("/api/me/passkeys/options", map[string]string{"password": alice.Password}).Expect(200))
		if r := c.POST("/api/me/passkeys", map[string]any{"ceremony": opts.Ceremony, "name": "Phished", "credential": phish.Create(t, opts.PublicKey)}).Expect(422); r.ErrorCode() != "passkey_not_added" {
			t.Fatal(r.ErrorCode())
		}
	}
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, c, auth, alice.Password, "Key")
	for _, bad := range []func(){
		func() { auth.Origin = "http://evil.example" },
		func() { auth.Origin, auth.RPID = "http://gatehouse.test", "evil.example" },
	} {
		bad()
		b := app.Client()
		if r := passwordless(t, b, auth).Expect(401); r.ErrorCode() != "passkey_invalid" {
			t.Fatal(r.ErrorCode())
		}
		b.GET("/api/me").Expect(401)
	}
	auth.Origin, auth.RPID = "http://gatehouse.test", "gatehouse.test"
	passwordless(t, app.Client(), auth).Expect(200)
}

func TestPasskey_SecondFactorAfterPassword(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, app.LoginAs(alice), auth, alice.Password, "Key")

	b := app.Client()
	if r := b.POST("/api/auth/login", map[string]string{"identifier": "alice", "password": alice.Password}).Expect(200); r.Map()["mfaRequired"] != true {
		t.Fatalf("a passkey is a second factor: %s", r.Body)
	}
	var m struct {
		Methods []string `json:"methods"`
	}
	b.GET("/api/auth/mfa").Expect(200).JSON(&m)
	if !slices.Equal(m.Methods, []string{"passkey"}) {
		t.Fatalf("methods %v", m.Methods)
	}
	b.GET("/api/me").Expect(401)
	// A TOTP code cannot pass for an account without TOTP.
	b.POST("/api/auth/mfa", map[string]string{"code": "123456"}).Expect(401)
	opts := ceremonyOf(b.POST("/api/auth/mfa/passkey/options", nil).Expect(200))
	if allow, _ := opts.PublicKey["allowCredentials"].([]any); len(allow) != 1 {
		t.Fatalf("allowCredentials: %v", opts.PublicKey["allowCredentials"])
	}
	b.POST("/api/auth/mfa/passkey", map[string]any{"ceremony": opts.Ceremony, "credential": auth.Get(t, opts.PublicKey)}).Expect(200)
	b.GET("/api/me").Expect(200)
	var sess models.Session
	if err := app.Svc.DB.NewSelect().Model(&sess).Where("user_id = ?", alice.ID).Where("method = ?", "password+passkey").Limit(1).Scan(context.Background()); err != nil {
		t.Fatalf("no password+passkey session: %v", err)
	}
	// Without the password step there is no second step to take.
	c := app.Client()
	if r := c.POST("/api/auth/mfa/passkey/options", nil).Expect(401); r.ErrorCode() != "mfa_expired" {
		t.Fatal(r.ErrorCode())
	}
	// A ceremony of one password step does not serve another.
	d := app.Client()
	d.POST("/api/auth/login", map[string]string{"identifier": "alice", "password": alice.Password}).Expect(200)
	e := app.Client()
	e.POST("/api/auth/login", map[string]string{"identifier": "alice", "password": alice.Password}).Expect(200)
	dOpts := ceremonyOf(d.POST("/api/auth/mfa/passkey/options", nil).Expect(200))
	if r := e.POST("/api/auth/mfa/passkey", map[string]any{"ceremony": dOpts.Ceremony, "credential": auth.Get(t, dOpts.PublicKey)}).Expect(401); r.ErrorCode() != "passkey_expired" {
		t.Fatal(r.ErrorCode())
	}
	e.GET("/api/me").Expect(401)
}

func TestPasskey_PasswordlessRefusesInactiveAndLockedAccountsAlike(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, app.LoginAs(alice), auth, alice.Password, "Key")
	unknown := testkit.NewAuthenticator("http://gatehouse.test")
	bob := app.Member("bob")
	addPasskey(t, app.LoginAs(bob), unknown, bob.Password, "Key")
	if _, err := app.Svc.DB.NewDelete().Model((*models.Passkey)(nil)).Where("user_id = ?", bob.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := passwordless(t, app.Client(), unknown).Expect(401)

	ctx := context.Background()
	for _, set := range []string{"status = 'suspended'", "status = 'deactivated'", "locked_until = ?"} {
		q := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Where("id = ?", alice.ID)
		if set == "locked_until = ?" {
			q = q.Set("status = 'active'").Set(set, app.Clock.Now().Add(time.Hour)).Set("failed_logins = 5")
		} else {
			q = q.Set(set)
		}
		if _, err := q.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		b := app.Client()
		r := passwordless(t, b, auth).Expect(401)
		if r.ErrorCode() != want.ErrorCode() || r.Map()["error"].(map[string]any)["message"] != want.Map()["error"].(map[string]any)["message"] {
			t.Fatalf("%s: %s, unknown passkey: %s", set, r.Body, want.Body)
		}
		b.GET("/api/me").Expect(401)
	}
}

func TestPasskey_FailuresCountTowardTheLock(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, app.LoginAs(alice), auth, alice.Password, "Key")
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 3 })
	auth.Origin = "http://evil.example"
	for range 3 {
		passwordless(t, app.Client(), auth).Expect(401)
	}
	if row := app.Reload(alice); !row.LockedAt(app.Clock.Now()) {
		t.Fatalf("not locked after 3 bad assertions: failed=%d", row.FailedLogins)
	}
	auth.Origin = "http://gatehouse.test"
	passwordless(t, app.Client(), auth).Expect(401)
}

func TestPasskey_CloneWarningRefusesAndMarks(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	auth.Counter = 10
	addPasskey(t, c, auth, alice.Password, "Key")
	passwordless(t, app.Client(), auth).Expect(200) // counter 10
	auth.Counter = 5                                // a copy that lags behind
	passwordless(t, app.Client(), auth).Expect(401)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	c.GET("/api/me/passkeys").Expect(200).JSON(&list)
	if list.Items[0]["cloneWarning"] != true {
		t.Fatalf("no clone warning: %v", list.Items)
	}
	if !slices.Contains(app.AuditActions(alice.PublicID), "auth.login_failed") {
		t.Fatal("clone not audited")
	}
}

func TestPasskey_RenameRemoveFilterAndAdminReset(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	first := addPasskey(t, c, auth, alice.Password, "Laptop")
	addPasskey(t, c, auth, alice.Password, "Phone")
	id := first["id"].(string)

	if v := c.PATCH("/api/me/passkeys/"+id, map[string]string{"name": "Work laptop"}).Expect(200).Map(); v["name"] != "Work laptop" {
		t.Fatal(v)
	}
	c.PATCH("/api/me/passkeys/"+id, map[string]string{"name": ""}).Expect(422)
	c.PATCH("/api/me/passkeys/pk_nosuch", map[string]string{"name": "x"}).Expect(404)
	c.Do("DELETE", "/api/me/passkeys/"+id, map[string]string{"password": "wrong"}).Expect(422)
	c.Do("DELETE", "/api/me/passkeys/"+id, map[string]string{"password": alice.Password}).Expect(204)
	if me := c.GET("/api/me").Expect(200).Map(); me["passkeyCount"] != float64(1) || me["twoFactorEnabled"] != true {
		t.Fatal(me)
	}
	acts := app.AuditActions(alice.PublicID)
	for _, want := range []string{"account.passkey_renamed", "account.passkey_removed"} {
		if !slices.Contains(acts, want) {
			t.Fatalf("audit lacks %s: %v", want, acts)
		}
	}

	// "Has a second factor" counts passkeys in the account list.
	admin := app.LoginAs(root)
	var page struct {
		Items []map[string]any `json:"items"`
	}
	admin.GET("/api/admin/users?twoFactor=on").Expect(200).JSON(&page)
	if len(page.Items) != 1 || page.Items[0]["username"] != "alice" {
		t.Fatalf("twoFactor=on: %v", page.Items)
	}
	admin.GET("/api/admin/users?twoFactor=off").Expect(200).JSON(&page)
	for _, u := range page.Items {
		if u["username"] == "alice" {
			t.Fatal("alice listed without a second factor")
		}
	}

	// The editor shows the count; the administrator's reset clears
	// passkeys too and says how many.
	if u := admin.GET("/api/admin/users/" + alice.PublicID).Expect(200).Map()["user"].(map[string]any); u["passkeyCount"] != float64(1) {
		t.Fatalf("editor: %v", u)
	}
	d := admin.POST("/api/admin/users/"+alice.PublicID+"/reset-2fa", map[string]string{"reason": "lost phone"}).Expect(200).Map()
	if u, _ := d["user"].(map[string]any); u != nil && (u["passkeyCount"] != float64(0) || u["twoFactorEnabled"] != false) {
		t.Fatalf("after reset: %v", u)
	}
	if row := app.Reload(alice); row.PasskeyCount != 0 || row.TwoFactorEnabled() {
		t.Fatal("passkeys survived the reset")
	}
	var e models.AuditEvent
	if err := app.Svc.DB.NewSelect().Model(&e).Where("action = ?", "user.2fa_reset").Limit(1).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	var details map[string]any
	_ = json.Unmarshal([]byte(e.Details), &details)
	if details["passkeysRemoved"] != float64(1) {
		t.Fatalf("reset audit: %s", e.Details)
	}
	passwordless(t, app.Client(), auth).Expect(401)
}

func TestPasskey_CountsAsASuperAdminsWayIn(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	other := app.SuperAdmin("other")
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	pk := addPasskey(t, app.LoginAs(root), auth, root.Password, "Key")
	// root's passkey becomes the only way in.
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = NULL").Where("id = ?", root.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := app.Client()
	passwordless(t, c, auth).Expect(200)
	if r := c.Do("DELETE", "/api/me/passkeys/"+pk["id"].(string), map[string]string{}).Expect(409); r.ErrorCode() != "would_cut_off_super_admins" {
		t.Fatal(r.ErrorCode())
	}
	passwordless(t, app.Client(), auth).Expect(200)
	// The sign-in settings count the passkey as a way in.
	var s struct {
		AdminSignInPaths struct {
			Paths []map[string]any `json:"paths"`
		} `json:"adminSignInPaths"`
	}
	app.LoginAs(other).GET("/api/admin/settings/signin").Expect(200).JSON(&s)
	found := false
	for _, p := range s.AdminSignInPaths.Paths {
		found = found || p["path"] == "passkey" && p["admins"] == float64(1)
	}
	if !found {
		t.Fatalf("no passkey path: %v", s.AdminSignInPaths.Paths)
	}
}
