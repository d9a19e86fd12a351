package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Item 10: a self-service email change obeys the registration rules
// (allowed domains, subdomains, plus aliases) with field errors, and a
// confirmed change is told to the old address with a link to the
// account's security page built from the configured base URL.
func TestHardening_EmailChangeFollowsRegistrationRules(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithBaseURL("https://accounts.example.org"))
	sink := app.Mailbox()
	app.SetRegistration(func(r *service.RegistrationSettings) {
		r.AllowedDomains, r.AllowSubdomains, r.BlockPlusAliases = []string{"corp.example"}, false, true
	})
	alice := app.CreateUser(testkit.UserSpec{Username: "alice", Email: "alice@corp.example"})
	c := app.LoginAs(alice)
	for _, bad := range []string{"alice+1@corp.example", "alice@other.example", "alice@eu.corp.example"} {
		r := c.POST("/api/me/email", map[string]string{"email": bad, "password": alice.Password})
		expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
		if r.Fields()["email"] == "" {
			t.Fatalf("%s: no email field error: %s", bad, r.Body)
		}
	}
	app.SetRegistration(func(r *service.RegistrationSettings) { r.AllowSubdomains = true })
	c.POST("/api/me/email", map[string]string{"email": "alice@eu.corp.example", "password": alice.Password}).Expect(202)
	token := tokenFrom(t, testkit.WaitMail(t, sink, "alice@eu.corp.example", "new email"), "https://accounts.example.org/verify-email")
	app.Client().POST("/api/auth/verify-email", map[string]string{"token": token}, "Host", "evil.example").Expect(200)
	m := testkit.WaitMail(t, sink, "alice@corp.example", "was changed")
	if !strings.Contains(m.Text, "https://accounts.example.org/account/security") || !strings.Contains(m.Text, "alice@eu.corp.example") || strings.Contains(m.Text, "evil.example") {
		t.Fatalf("old-address notice: %s", m.Text)
	}
}

// Item 11: registering with an existing address tells its owner at most
// once an hour, however often it is tried; the limit lives in the
// database.
func TestHardening_ExistingAccountNoticeOncePerHour(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	app.SetRegistration(func(r *service.RegistrationSettings) {
		r.EmailRegistrationEnabled, r.RequireEmailVerification = true, true
	})
	app.Member("alice")
	try := func(n int) {
		for i := 0; i < n; i++ {
			app.Client().POST("/api/auth/register", map[string]any{"username": "someone", "email": "Alice@Example.com", "password": "A-Fine-Passphrase-7"}).Expect(202)
		}
		app.FlushMail(sink)
	}
	try(10)
	if n := len(testkit.MailsTo(sink, "alice@example.com", "Someone tried")); n != 1 {
		t.Fatalf("%d notices in a burst, want 1", n)
	}
	app.Clock.Advance(59 * time.Minute)
	try(3)
	if n := len(testkit.MailsTo(sink, "alice@example.com", "Someone tried")); n != 1 {
		t.Fatalf("%d notices within the hour, want 1", n)
	}
	var count int
	if err := app.Svc.DB.NewRaw("SELECT count(*) FROM registration_notices").Scan(t.Context(), &count); err != nil || count != 1 {
		t.Fatalf("notice row: %d %v", count, err)
	}
	app.Clock.Advance(2 * time.Minute)
	try(3)
	if n := len(testkit.MailsTo(sink, "alice@example.com", "Someone tried")); n != 2 {
		t.Fatalf("%d notices after the hour, want 2", n)
	}
}

// Item 13: forgot-password and resend-verification answer before doing
// any work: with the background workers stopped, the answer still comes
// at once and nothing (token, audit row, email) has happened.
func TestHardening_ForgotAndResendAnswerBeforeWork(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	alice := app.Member("alice")
	pending := app.CreateUser(testkit.UserSpec{Username: "penny", Email: "penny@example.com", Status: "pending"})
	_ = pending
	// Work done after the answer still happens (and tests can wait for it).
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "alice@example.com"}).Expect(202)
	app.Client().POST("/api/auth/resend-verification", map[string]string{"email": "penny@example.com"}).Expect(202)
	app.Drain()
	if len(auditRows(t, app, service.ActionPasswordResetAsked, alice.PublicID)) != 1 {
		t.Fatal("reset request not done after the answer")
	}
	testkit.WaitMail(t, sink, "alice@example.com", "Reset")
	testkit.WaitMail(t, sink, "penny@example.com", "Confirm")

	app.Svc.Background.Close()
	app.Clock.Advance(2 * time.Minute)
	start := time.Now()
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "alice@example.com"}).Expect(202)
	app.Client().POST("/api/auth/resend-verification", map[string]string{"email": "penny@example.com"}).Expect(202)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("answers took %s", d)
	}
	if n := len(auditRows(t, app, service.ActionPasswordResetAsked, alice.PublicID)); n != 1 {
		t.Fatalf("the request did the work itself (%d reset requests)", n)
	}
	var tokens int
	if err := app.Svc.DB.NewRaw("SELECT count(*) FROM one_time_tokens WHERE created_at > ?", app.Clock.Now().Add(-time.Minute)).Scan(t.Context(), &tokens); err != nil || tokens != 0 {
		t.Fatalf("tokens issued in the request: %d %v", tokens, err)
	}
}

// Item 16: email registration and "no password sign-in method" exclude
// each other, refused from both sides with field errors; a database that
// holds the combination anyway refuses registration with a clear 403.
func TestHardening_RegistrationNeedsPasswordSignin(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	// Root links the provider so that password sign-in may go at all.
	link := w.rc.POST("/api/me/identities/mock/link", map[string]string{"password": w.root.Password}).Expect(200).Map()
	location(t, w.fromProvider(w.rc, verified("p-root", "root", "root@example.com"), link["redirectUrl"].(string)))
	putReg := func(on bool) *testkit.Response {
		cur := w.rc.GET("/api/admin/settings/registration").Expect(200).Map()
		return w.rc.PUT("/api/admin/settings/registration", map[string]any{"version": cur["version"], "emailRegistrationEnabled": on,
			"requireEmailVerification": false, "allowedDomains": []string{}, "allowSubdomains": false, "blockPlusAliases": false})
	}
	putReg(true).Expect(200)
	// Turning the last password method off while registration is on.
	r := w.setSignin(false, false, true)
	expectError(t, r, http.StatusUnprocessableEntity, "registration_needs_password_signin")
	if f := r.Fields(); f["usernameEnabled"] == "" || f["emailEnabled"] == "" {
		t.Fatalf("fields %v", f)
	}
	putReg(false).Expect(200)
	w.setSignin(false, false, true).Expect(200)
	// Turning registration on while no password method is.
	r = putReg(true)
	expectError(t, r, http.StatusUnprocessableEntity, "registration_needs_password_signin")
	if r.Fields()["emailRegistrationEnabled"] == "" {
		t.Fatalf("fields %v", r.Fields())
	}
	// Stored anyway (from before the rule): registration answers 403.
	app.SetRegistration(func(r *service.RegistrationSettings) { r.EmailRegistrationEnabled = true })
	r = app.Client().POST("/api/auth/register", map[string]any{"username": "newbie", "email": "newbie@example.com", "password": "A-Fine-Passphrase-7"})
	expectError(t, r, http.StatusForbidden, "registration_closed")
	if !strings.Contains(r.Map()["error"].(map[string]any)["message"].(string), "sign-in") {
		t.Fatalf("unclear refusal: %s", r.Body)
	}
	// One password method back on: registration works again.
	w.setSignin(true, false, true).Expect(200)
	app.Client().POST("/api/auth/register", map[string]any{"username": "newbie", "email": "newbie@example.com", "password": "A-Fine-Passphrase-7"}).Expect(202)
}
