package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// requireSecondFactor sets the login-security rule through the admin API.
func requireSecondFactor(t *testing.T, admin *testkit.Client, who string, graceDays int) {
	t.Helper()
	cur := admin.GET("/api/admin/settings/security").Expect(200).Map()
	body := map[string]any{}
	for k, v := range cur {
		if k != "adminSignInPaths" {
			body[k] = v
		}
	}
	body["requireSecondFactor"], body["secondFactorGraceDays"] = who, graceDays
	admin.PUT("/api/admin/settings/security", body).Expect(200)
}

func TestRequiredSecondFactor_EveryOtherRouteRefusedUntilEnrolment(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	admin := app.LoginAs(root)
	// The root account enrols first, so that the rule does not stop it.
	rootAuth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, admin, rootAuth, root.Password, "Root key")
	helen := app.Admin("helen")
	bob := app.Member("bob")
	requireSecondFactor(t, admin, "admins", 0)

	// A member is not covered by "admins".
	bc := app.LoginAs(bob)
	bc.GET("/api/me/sessions").Expect(200)
	if me := bc.GET("/api/me").Expect(200).Map(); me["secondFactorRequired"] == true {
		t.Fatal("member covered by the admins rule")
	}

	// An administrator without a second factor may only read herself,
	// sign out and enrol; every other route is refused.
	hc := app.LoginAs(helen)
	if me := hc.GET("/api/me").Expect(200).Map(); me["secondFactorRequired"] != true || me["secondFactorDeadline"] == nil {
		t.Fatalf("me: %v", me)
	}
	allowed := map[string]bool{
		"GET /api/me": true, "POST /api/auth/logout": true, "POST /api/me/2fa/setup": true, "POST /api/me/2fa/enable": true,
		"GET /api/me/passkeys": true, "POST /api/me/passkeys/options": true, "POST /api/me/passkeys": true,
	}
	checked := 0
	for _, r := range app.Server.Routes() {
		if !strings.HasPrefix(r.Path, "/api/me") && !strings.HasPrefix(r.Path, "/api/admin") && r.Path != "/api/auth/tokens" {
			continue
		}
		if allowed[r.Method+" "+r.Path] {
			continue
		}
		path := strings.NewReplacer(":publicId", bob.PublicID, ":id", "x", ":slug", "x", ":group", "security").Replace(r.Path)
		var body any
		if r.Method != http.MethodGet && r.Method != http.MethodDelete {
			body = map[string]any{}
		}
		hc.SkipSpec = true
		res := hc.Do(r.Method, path, body)
		if res.Status != http.StatusForbidden || res.ErrorCode() != "second_factor_required" {
			t.Errorf("%s %s: %d %s, want 403 second_factor_required", r.Method, r.Path, res.Status, res.Body)
		}
		checked++
	}
	if checked < 40 {
		t.Fatalf("only %d routes checked", checked)
	}
	hc.SkipSpec = false

	// Enrolling a passkey is allowed, and then everything is.
	addPasskey(t, hc, testkit.NewAuthenticator("http://gatehouse.test"), helen.Password, "Key")
	hc.GET("/api/me/sessions").Expect(200)
	hc.GET("/api/admin/users").Expect(200)
	if me := hc.GET("/api/me").Expect(200).Map(); me["secondFactorRequired"] == true {
		t.Fatal("still required after enrolment")
	}
}

func TestRequiredSecondFactor_GracePeriodAndEveryone(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	admin := app.LoginAs(root)
	rootAuth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, admin, rootAuth, root.Password, "Root key")
	bob := app.Member("bob")
	requireSecondFactor(t, admin, "everyone", 7)
	var sec service.SecuritySettings
	admin.GET("/api/admin/settings/security").Expect(200).JSON(&sec)
	if sec.RequireSecondFactor != "everyone" || sec.SecondFactorGraceDays != 7 || sec.SecondFactorRequiredSince == nil {
		t.Fatalf("settings: %+v", sec)
	}
	bc := app.LoginAs(bob)
	bc.GET("/api/me/sessions").Expect(200) // within the grace period
	if me := bc.GET("/api/me").Expect(200).Map(); me["secondFactorRequired"] == true || me["secondFactorDeadline"] == nil {
		t.Fatalf("me in grace: %v", me)
	}
	app.Clock.Advance(8 * 24 * time.Hour)
	bc = app.LoginAs(bob)
	if r := bc.GET("/api/me/sessions").Expect(403); r.ErrorCode() != "second_factor_required" {
		t.Fatal(r.ErrorCode())
	}
	// TOTP enrolment is allowed too, and lifts the rule.
	enrol(t, app, bc, bob.Password)
	bc.GET("/api/me/sessions").Expect(200)

	// Bad values are field errors; "nobody" lifts the rule.
	admin = app.Client()
	passwordless(t, admin, rootAuth).Expect(200)
	cur := admin.GET("/api/admin/settings/security").Expect(200).Map()
	delete(cur, "adminSignInPaths")
	cur["requireSecondFactor"] = "some"
	cur["secondFactorGraceDays"] = -1
	if f := admin.PUT("/api/admin/settings/security", cur).Expect(422).Fields(); f["requireSecondFactor"] == "" || f["secondFactorGraceDays"] == "" {
		t.Fatalf("fields: %v", f)
	}
	requireSecondFactor(t, admin, "nobody", 0)
	carol := app.Member("carol")
	app.LoginAs(carol).GET("/api/me/sessions").Expect(200)
}

// TestRequiredSecondFactor_SignInAnswerSaysSo: the console decides where
// to go after signing in from the sign-in answer; it sent an administrator
// who must enrol to the account list (every call of which was refused)
// because the answer did not say that a second factor was due.
func TestRequiredSecondFactor_SignInAnswerSaysSo(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	admin := app.LoginAs(root)
	addPasskey(t, admin, testkit.NewAuthenticator("http://gatehouse.test"), root.Password, "Root key")
	helen := app.Admin("helen")
	requireSecondFactor(t, admin, "admins", 0)

	var out struct {
		User map[string]any `json:"user"`
	}
	app.Client().POST("/api/auth/login", map[string]string{"identifier": helen.Username, "password": helen.Password}).Expect(200).JSON(&out)
	if out.User["secondFactorRequired"] != true || out.User["secondFactorDeadline"] == nil {
		t.Fatalf("sign-in answer: %v", out.User)
	}
	// Not for someone the rule does not cover.
	bob := app.Member("bob")
	out.User = nil
	app.Client().POST("/api/auth/login", map[string]string{"identifier": bob.Username, "password": bob.Password}).Expect(200).JSON(&out)
	if out.User["secondFactorRequired"] == true {
		t.Fatalf("member's sign-in answer: %v", out.User)
	}
}

// TestRequiredSecondFactor_RecoverResetsPasskeysThenEnrolment: the only
// super administrator, whose passkey was their second factor, loses it
// while the rule covers administrators. `gatehouse admin recover
// --reset-2fa` (the service call behind it) removes the passkey too and
// says so, and tells the person by email; the new password then signs in,
// the rule sends them to enrolment (everything else refused) and enrolling
// opens the console again.
func TestRequiredSecondFactor_RecoverResetsPasskeysThenEnrolment(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	root := app.SuperAdmin("root")
	admin := app.LoginAs(root)
	addPasskey(t, admin, testkit.NewAuthenticator("http://gatehouse.test"), root.Password, "Lost key")
	requireSecondFactor(t, admin, "admins", 0)

	const fresh = "Recovered-Passphrase-93"
	rec, err := app.Svc.RecoverAdminFromShell(context.Background(), "root", fresh, true)
	if err != nil {
		t.Fatal(err)
	}
	if said := strings.Join(rec.Changes, "; "); !strings.Contains(said, "1 passkey(s) cleared") {
		t.Fatalf("recover said: %s", said)
	}
	if row := app.Reload(root); row.PasskeyCount != 0 || row.TwoFactorEnabled() {
		t.Fatal("the passkey survived recover --reset-2fa")
	}
	admin.GET("/api/me").Expect(401) // recover ends every session
	app.FlushMail(sink)
	if n := len(testkit.MailsTo(sink, *root.Email, "An administrator reset the second factors")); n != 1 {
		t.Fatalf("%d reset emails; all: %v", n, subjects(sink.Messages()))
	}

	c := app.Client()
	var out struct {
		User map[string]any `json:"user"`
	}
	c.POST("/api/auth/login", map[string]string{"identifier": "root", "password": fresh}).Expect(200).JSON(&out)
	if out.User["secondFactorRequired"] != true {
		t.Fatalf("after recover: %v", out.User)
	}
	if r := c.GET("/api/admin/users").Expect(403); r.ErrorCode() != "second_factor_required" {
		t.Fatal(r.ErrorCode())
	}
	enrol(t, app, c, fresh)
	c.GET("/api/admin/users").Expect(200)
	if me := c.GET("/api/me").Expect(200).Map(); me["secondFactorRequired"] == true {
		t.Fatalf("still required after enrolment: %v", me)
	}
}
