package api_test

import (
	"net/http"
	"strings"
	"testing"

	"gatehouse/server/testkit"
)

type appAnswer struct {
	Application struct {
		ID                      int64    `json:"id"`
		ClientID                string   `json:"clientId"`
		ClientType              string   `json:"clientType"`
		RedirectURIs            []string `json:"redirectUris"`
		AllowedStatuses         []string `json:"allowedStatuses"`
		ClientSecretSet         bool     `json:"clientSecretSet"`
		PreviousSecretExpiresAt *string  `json:"previousSecretExpiresAt"`
	} `json:"application"`
	ClientSecret *string `json:"clientSecret"`
}

// createApp registers an application as a super administrator.
func createApp(t testing.TB, c *testkit.Client, body map[string]any) appAnswer {
	t.Helper()
	var out appAnswer
	c.POST("/api/admin/applications", body).Expect(http.StatusCreated).JSON(&out)
	return out
}

// TestOIDCProvider_ApplicationsAdminAPI: super administrators register,
// change, rotate and delete applications; administrators only read; the
// secret is shown once and never again; every change is audited.
func TestOIDCProvider_ApplicationsAdminAPI(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	adm := app.LoginAs(app.Admin("adam"))
	member := app.LoginAs(app.Member("mia"))

	before := auditCount(t, app)
	created := createApp(t, root, map[string]any{"name": "Wiki", "redirectUris": []string{"https://wiki.example.com/cb"}})
	if created.ClientSecret == nil || !strings.HasPrefix(*created.ClientSecret, "ghs_") || created.Application.ClientType != "confidential" || !created.Application.ClientSecretSet {
		t.Fatalf("created: %+v", created)
	}
	if got := created.Application.AllowedStatuses; len(got) != 1 || got[0] != "active" {
		t.Fatalf("default statuses %v", got)
	}
	id := itoa(created.Application.ID)
	// Read: admins yes, members no; the secret is never answered again.
	for _, c := range []*testkit.Client{root, adm} {
		r := c.GET("/api/admin/applications/" + id).Expect(http.StatusOK)
		if strings.Contains(string(r.Body), *created.ClientSecret) || strings.Contains(string(r.Body), "ghs_") {
			t.Fatal("the secret was answered after creation")
		}
		c.GET("/api/admin/applications").Expect(http.StatusOK)
	}
	member.GET("/api/admin/applications").Expect(http.StatusForbidden)
	// Writes: super administrators only.
	n := auditCount(t, app)
	expectError(t, adm.POST("/api/admin/applications", map[string]any{"name": "X", "redirectUris": []string{"https://x.example.com/cb"}}), 403, "super_admin_required")
	expectError(t, adm.PATCH("/api/admin/applications/"+id, map[string]any{"name": "Y"}), 403, "super_admin_required")
	expectError(t, adm.POST("/api/admin/applications/"+id+"/secret", nil), 403, "super_admin_required")
	expectError(t, adm.DELETE("/api/admin/applications/"+id), 403, "super_admin_required")
	if auditCount(t, app) != n {
		t.Fatal("refused writes were audited as changes")
	}

	// Validation answers field errors, never a 500.
	r := root.POST("/api/admin/applications", map[string]any{"name": "", "clientType": "weird",
		"redirectUris": []string{"https://*.example.com/cb", "http://example.com/cb", "https://ok.example.com/cb#frag", "javascript:alert(1)"},
		"allowedRoles": []string{"god"}, "allowedStatuses": []string{"suspended"}, "accessTokenLifetime": 5, "idTokenLifetime": 999999, "refreshTokenLifetime": 10,
		"logoUrl": "http://insecure.example.com/logo.png"})
	expectError(t, r, 422, "validation_failed")
	for _, f := range []string{"name", "clientType", "redirectUris", "allowedRoles", "allowedStatuses", "accessTokenLifetime", "idTokenLifetime", "refreshTokenLifetime", "logoUrl"} {
		if r.Fields()[f] == "" {
			t.Errorf("no field error for %s: %s", f, r.Body)
		}
	}
	expectError(t, root.POST("/api/admin/applications", map[string]any{"name": "No URIs"}), 422, "validation_failed")
	expectError(t, root.PATCH("/api/admin/applications/"+id, map[string]any{"clientType": "public"}), 422, "validation_failed")
	expectError(t, root.GET("/api/admin/applications/999999"), 404, "not_found")

	// Change and rotate with overlap.
	root.PATCH("/api/admin/applications/"+id, map[string]any{"name": "Team wiki", "firstParty": true,
		"redirectUris": []string{"https://wiki.example.com/cb", "com.example.wiki:/cb", "http://127.0.0.1:8123/cb"}}).Expect(http.StatusOK)
	var rotated appAnswer
	root.POST("/api/admin/applications/"+id+"/secret", map[string]any{"overlapSeconds": 3600}).Expect(http.StatusOK).JSON(&rotated)
	if rotated.ClientSecret == nil || *rotated.ClientSecret == *created.ClientSecret || rotated.Application.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotated: %+v", rotated)
	}
	expectError(t, root.POST("/api/admin/applications/"+id+"/secret", map[string]any{"overlapSeconds": -1}), 422, "validation_failed")

	// Public clients have no secret.
	pub := createApp(t, root, map[string]any{"name": "SPA", "clientType": "public", "redirectUris": []string{"https://spa.example.com/cb"}})
	if pub.ClientSecret != nil || pub.Application.ClientSecretSet {
		t.Fatalf("public client got a secret: %+v", pub)
	}
	expectError(t, root.POST("/api/admin/applications/"+itoa(pub.Application.ID)+"/secret", nil), 409, "public_client")

	root.DELETE("/api/admin/applications/" + id).Expect(http.StatusNoContent)
	root.GET("/api/admin/applications/" + id).Expect(http.StatusNotFound)

	got := app.AuditActionsAll()
	want := map[string]bool{"application.created": false, "application.updated": false, "application.secret_rotated": false, "application.deleted": false}
	for _, a := range got {
		if _, ok := want[a]; ok {
			want[a] = true
		}
	}
	for a, seen := range want {
		if !seen {
			t.Errorf("no %s audit row (have %v)", a, got)
		}
	}
	if auditCount(t, app)-before < 5 {
		t.Fatal("too few audit rows")
	}
}
