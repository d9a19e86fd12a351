package api_test

import (
	"net/http"
	"testing"

	"gatehouse/server/testkit"
)

func TestSettingsGetPutVersioned(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.SuperAdmin("alice")
	c := app.LoginAs(alice)

	got := c.GET("/api/admin/settings/password-policy").Expect(200).Map()
	if got["minLength"] != float64(10) || got["version"] != float64(0) {
		t.Fatalf("defaults: %v", got)
	}
	body := map[string]any{"version": 0, "minLength": 12, "blockCommon": true, "blockPersonalInfo": false}
	put := c.PUT("/api/admin/settings/password-policy", body).Expect(200).Map()
	if put["minLength"] != float64(12) || put["version"] != float64(1) {
		t.Fatalf("after put: %v", put)
	}
	// The same version again is stale.
	if r := c.PUT("/api/admin/settings/password-policy", body).Expect(409); r.ErrorCode() != "stale_version" {
		t.Fatal(r.ErrorCode())
	}
	// Missing fields are named, not taken as false.
	r := c.PUT("/api/admin/settings/password-policy", map[string]any{"version": 1, "minLength": 12}).Expect(422)
	if f := r.Fields(); f["blockCommon"] == "" || f["blockPersonalInfo"] == "" {
		t.Fatalf("fields: %v", f)
	}
	r = c.PUT("/api/admin/settings/password-policy", map[string]any{"version": 1, "minLength": 4, "blockCommon": true, "blockPersonalInfo": true}).Expect(422)
	if r.Fields()["minLength"] == "" {
		t.Fatal(r.Fields())
	}
	c.GET("/api/admin/settings/nope").Expect(404)
	c.PUT("/api/admin/settings/nope", map[string]any{}).Expect(404)
	if acts := app.AuditActionsAll(); !contains(acts, "settings.updated") {
		t.Fatalf("audit: %v", acts)
	}
	app.LoginAs(app.Member("bob")).GET("/api/admin/settings/security").Expect(http.StatusForbidden)
}

func TestSigninGuardKeepsAdminsAbleToSignIn(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.LoginAs(app.SuperAdmin("alice"))
	got := c.GET("/api/admin/settings/signin").Expect(200).Map()
	paths := got["adminSignInPaths"].(map[string]any)
	if paths["total"] != float64(1) {
		t.Fatalf("paths: %v", paths)
	}
	r := c.PUT("/api/admin/settings/signin", map[string]any{"version": 0, "usernameEnabled": false, "emailEnabled": false, "thirdPartyEnabled": true}).Expect(409)
	if r.ErrorCode() != "password_signin_required" {
		t.Fatal(r.ErrorCode())
	}
	// Email only: alice has an email, so this is allowed.
	c.PUT("/api/admin/settings/signin", map[string]any{"version": 0, "usernameEnabled": false, "emailEnabled": true, "thirdPartyEnabled": false}).Expect(200)
	r = c.POST("/api/auth/login", map[string]string{"identifier": "alice", "password": "Test-Passphrase-91!"}).Expect(401)
	c.POST("/api/auth/login", map[string]string{"identifier": "alice@example.com", "password": "Test-Passphrase-91!"}).Expect(200)
}

func TestSecretsAreWriteOnly(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.LoginAs(app.SuperAdmin("alice"))
	email := map[string]any{"version": 0, "host": "smtp.example.com", "port": 587, "username": "mailer", "password": "smtp-secret-value",
		"senderName": "Gatehouse", "senderAddress": "noreply@example.com", "tlsMode": "starttls"}
	r := c.PUT("/api/admin/settings/email", email).Expect(200)
	if got := r.Map(); got["passwordSet"] != true || got["password"] != nil {
		t.Fatalf("answer: %v", got)
	}
	// Sending the answer back keeps the password.
	back := r.Map()
	delete(back, "password")
	r = c.PUT("/api/admin/settings/email", back).Expect(200)
	if r.Map()["passwordSet"] != true {
		t.Fatal("password lost")
	}
	for _, path := range []string{"/api/admin/settings/email", "/api/admin/audit"} {
		if b := string(c.GET(path).Expect(200).Body); containsStr(b, "smtp-secret-value") {
			t.Fatalf("%s leaks the secret: %s", path, b)
		}
	}
	// Turnstile needs registration on and both keys.
	r = c.PUT("/api/admin/settings/human-verification", map[string]any{"version": 0, "turnstileEnabled": true, "siteKey": "", "secret": nil}).Expect(422)
	if f := r.Fields(); f["turnstileEnabled"] == "" || f["siteKey"] == "" || f["secret"] == "" {
		t.Fatal(f)
	}
}
