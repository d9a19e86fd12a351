package api_test

import (
	"fmt"
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

// TestSettings_DryRunPreviewsWithoutStoring: PUT ?dryRun=true runs every
// check of the write (fields, the administrator sign-in guard, the version)
// and answers what the write would answer — the group and the
// adminSignInPaths counted under it — but stores and audits nothing; its
// version stays the stored one.
func TestSettings_DryRunPreviewsWithoutStoring(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.LoginAs(app.SuperAdmin("alice"))
	bob := app.LoginAs(app.Member("bob"))
	before := len(app.AuditActionsAll())
	var got struct {
		Version          int64 `json:"version"`
		UsernameEnabled  bool  `json:"usernameEnabled"`
		AdminSignInPaths struct {
			Total int64 `json:"total"`
			Paths []struct {
				Path   string `json:"path"`
				Admins int64  `json:"admins"`
			} `json:"paths"`
		} `json:"adminSignInPaths"`
	}
	c.PUT("/api/admin/settings/signin?dryRun=true", map[string]any{"version": 0, "usernameEnabled": false, "emailEnabled": true, "thirdPartyEnabled": false}).Expect(200).JSON(&got)
	if got.Version != 0 || got.UsernameEnabled || got.AdminSignInPaths.Total != 1 || len(got.AdminSignInPaths.Paths) != 1 || got.AdminSignInPaths.Paths[0].Path != "email" || got.AdminSignInPaths.Paths[0].Admins != 1 {
		t.Fatalf("dry run answer %+v: want email only, 1 administrator, version 0", got)
	}
	// The refusals of the write, with their codes.
	expectError(t, c.PUT("/api/admin/settings/signin?dryRun=true", map[string]any{"version": 0, "usernameEnabled": false, "emailEnabled": false, "thirdPartyEnabled": true}), 409, "password_signin_required")
	expectError(t, c.PUT("/api/admin/settings/signin?dryRun=true", map[string]any{"version": 7, "usernameEnabled": true, "emailEnabled": true, "thirdPartyEnabled": false}), 409, "stale_version")
	r := c.PUT("/api/admin/settings/password-policy?dryRun=true", map[string]any{"version": 0, "minLength": 4, "blockCommon": true, "blockPersonalInfo": true})
	expectError(t, r, 422, "validation_failed")
	if r.Fields()["minLength"] == "" {
		t.Fatalf("dry run field errors: %v", r.Fields())
	}
	expectError(t, c.PUT("/api/admin/settings/signin?dryRun=maybe", map[string]any{"version": 0, "usernameEnabled": true, "emailEnabled": true, "thirdPartyEnabled": false}), 400, "invalid_query")
	// Nothing was stored or audited.
	c.GET("/api/admin/settings/signin").Expect(200).JSON(&got)
	if got.Version != 0 || !got.UsernameEnabled {
		t.Fatalf("after dry runs: %+v", got)
	}
	if after := app.AuditActionsAll(); len(after) != before {
		t.Fatalf("dry runs were audited: %v", after[before:])
	}
	// The same body without dryRun is stored.
	c.PUT("/api/admin/settings/signin", map[string]any{"version": 0, "usernameEnabled": false, "emailEnabled": true, "thirdPartyEnabled": false}).Expect(200).JSON(&got)
	if got.Version != 1 || got.UsernameEnabled {
		t.Fatalf("write after dry run: %+v", got)
	}
	// An administrator who may not write may not preview either.
	bob.PUT("/api/admin/settings/signin?dryRun=true", map[string]any{"version": 1, "usernameEnabled": true, "emailEnabled": true, "thirdPartyEnabled": false}).Expect(http.StatusForbidden)
}

// TestSettings_DryRunAgreesWithTheWriteWhenAProviderIsTheWayIn: with both
// password methods off and an administrator linked to an enabled provider,
// the preview accepts what the write accepts (the console once predicted a
// refusal here and showed it beside "Settings saved").
func TestSettings_DryRunAgreesWithTheWriteWhenAProviderIsTheWayIn(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	link := w.rc.POST("/api/me/identities/mock/link", map[string]string{"password": w.root.Password}).Expect(200).Map()
	location(t, w.fromProvider(w.rc, verified("p-root", "root", "root@example.com"), link["redirectUrl"].(string)))
	cur := w.rc.GET("/api/admin/settings/signin").Expect(200).Map()
	body := map[string]any{"version": cur["version"], "usernameEnabled": false, "emailEnabled": false, "thirdPartyEnabled": true}
	preview := w.rc.PUT("/api/admin/settings/signin?dryRun=true", body).Expect(200).Map()
	stored := w.rc.PUT("/api/admin/settings/signin", body).Expect(200).Map()
	if fmt.Sprint(preview["adminSignInPaths"]) != fmt.Sprint(stored["adminSignInPaths"]) {
		t.Fatalf("preview %v, write %v", preview["adminSignInPaths"], stored["adminSignInPaths"])
	}
	if preview["version"] != cur["version"] || stored["version"] == cur["version"] {
		t.Fatalf("versions: read %v, preview %v, stored %v", cur["version"], preview["version"], stored["version"])
	}
}

// TestAuthOptions_PasswordPolicyAndVerification: the public options answer
// the password policy (shown beside every new-password field before the
// first error) and whether email verification is on (the sign-in page's
// static hint for people who have not confirmed yet), from the settings.
func TestAuthOptions_PasswordPolicyAndVerification(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	var o struct {
		EmailVerificationRequired bool `json:"emailVerificationRequired"`
		PasswordPolicy            struct {
			MinLength         int  `json:"minLength"`
			MaxLength         int  `json:"maxLength"`
			BlockCommon       bool `json:"blockCommon"`
			BlockPersonalInfo bool `json:"blockPersonalInfo"`
		} `json:"passwordPolicy"`
	}
	app.Client().GET("/api/auth/options").Expect(200).JSON(&o)
	if o.EmailVerificationRequired || o.PasswordPolicy.MinLength != 10 || o.PasswordPolicy.MaxLength != 128 || !o.PasswordPolicy.BlockCommon || !o.PasswordPolicy.BlockPersonalInfo {
		t.Fatalf("defaults: %+v", o)
	}
	c := app.LoginAs(app.SuperAdmin("alice"))
	c.PUT("/api/admin/settings/password-policy", map[string]any{"version": 0, "minLength": 14, "blockCommon": true, "blockPersonalInfo": false}).Expect(200)
	c.PUT("/api/admin/settings/email", map[string]any{"version": 0, "host": "smtp.example.com", "port": 587, "username": "", "password": "",
		"senderName": "Gatehouse", "senderAddress": "noreply@example.com", "tlsMode": "starttls"}).Expect(200)
	c.PUT("/api/admin/settings/registration", map[string]any{"version": 0, "emailRegistrationEnabled": true, "requireEmailVerification": true, "allowedDomains": []string{}, "allowSubdomains": false, "blockPlusAliases": false}).Expect(200)
	app.Client().GET("/api/auth/options").Expect(200).JSON(&o)
	if !o.EmailVerificationRequired || o.PasswordPolicy.MinLength != 14 || o.PasswordPolicy.BlockPersonalInfo {
		t.Fatalf("after the change: %+v", o)
	}
}
