package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// newKey creates a service API key as super and returns its secret.
func newKey(t *testing.T, app *testkit.App, super *testkit.User, in service.NewAPIKey) (string, *models.APIKey) {
	t.Helper()
	if in.Name == "" {
		in.Name = "billing service"
	}
	out, err := app.Svc.APIKeys.Create(context.Background(), service.Actor{User: super.User}, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.Secret, out.Key
}

// keyClient is a client that sends the key as its bearer token.
func keyClient(app *testkit.App, secret string) *testkit.Client {
	c := app.Client()
	c.Header.Set("Authorization", "Bearer "+secret)
	return c
}

func TestAPIKeys_CreateListRevoke(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	adm := app.Admin("ada")
	sc, ac := app.LoginAs(super), app.LoginAs(adm)

	// Administrators read; only super administrators create and revoke.
	ac.POST("/api/admin/api-keys", map[string]any{"name": "x", "scopes": []string{"users:read"}}).Expect(403)
	sc.POST("/api/admin/api-keys", map[string]any{"name": "", "scopes": []string{"nope"}, "allowedIps": []string{"not-an-ip"}}).Expect(422)
	sc.POST("/api/admin/api-keys", map[string]any{"name": "x", "scopes": []string{"users:read"}, "expiresAt": app.Clock.Now().Add(-time.Hour)}).Expect(422)

	var created struct {
		Key struct {
			ID         int64    `json:"id"`
			Prefix     string   `json:"prefix"`
			Scopes     []string `json:"scopes"`
			AllowedIPs []string `json:"allowedIps"`
			CreatedBy  string   `json:"createdBy"`
		} `json:"key"`
		Secret string `json:"secret"`
	}
	r := sc.POST("/api/admin/api-keys", map[string]any{"name": "metering", "scopes": []string{"billing:charge", "billing:read", "billing:read"}, "allowedIps": []string{"127.0.0.1", "10.0.0.0/8"}}).Expect(201)
	r.JSON(&created)
	if !strings.HasPrefix(created.Secret, created.Key.Prefix+"_") || len(created.Secret) != 56 || !strings.HasPrefix(created.Secret, "ghk_") {
		t.Fatalf("secret %q, prefix %q", created.Secret, created.Key.Prefix)
	}
	if strings.Join(created.Key.Scopes, " ") != "billing:read billing:charge" || created.Key.CreatedBy != "root" || strings.Join(created.Key.AllowedIPs, ",") != "127.0.0.1/32,10.0.0.0/8" {
		t.Fatalf("key %+v", created.Key)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the secret's answer may be cached: %q", r.Header.Get("Cache-Control"))
	}
	// The secret is never stored or listed.
	list := ac.GET("/api/admin/api-keys").Expect(200)
	if strings.Contains(string(list.Body), created.Secret[len(created.Key.Prefix)+1:]) {
		t.Fatal("the list shows the secret")
	}
	var stored models.APIKey
	if err := app.Svc.DB.NewSelect().Model(&stored).Where("id = ?", created.Key.ID).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored.SecretHash, created.Secret) || len(stored.SecretHash) != 64 {
		t.Fatalf("stored %q", stored.SecretHash)
	}

	kc := keyClient(app, created.Secret)
	member := app.Member("mia")
	kc.GET("/api/service/entitlements/" + member.PublicID).Expect(200)

	// Revoked: 401 at once.
	ac.POST(fmt.Sprintf("/api/admin/api-keys/%d/revoke", created.Key.ID), nil).Expect(403)
	sc.POST(fmt.Sprintf("/api/admin/api-keys/%d/revoke", created.Key.ID), map[string]string{"reason": "leaked"}).Expect(200)
	if kc.GET("/api/service/entitlements/"+member.PublicID).Expect(401).ErrorCode() != "invalid_api_key" {
		t.Fatal("a revoked key is not invalid_api_key")
	}
	sc.POST("/api/admin/api-keys/999/revoke", nil).Expect(404)
	acts := strings.Join(app.AuditActionsAll(), " ")
	if !strings.Contains(acts, service.ActionAPIKeyCreated) || !strings.Contains(acts, service.ActionAPIKeyRevoked) {
		t.Fatalf("audit: %s", acts)
	}
}

func TestAPIKeys_ExpiredUnknownRevoked401(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	member := app.Member("mia")
	exp := app.Clock.Now().Add(time.Hour)
	secret, _ := newKey(t, app, super, service.NewAPIKey{Scopes: []string{service.ScopeBillingRead}, ExpiresAt: &exp})
	path := "/api/service/entitlements/" + member.PublicID
	keyClient(app, secret).GET(path).Expect(200)
	app.Clock.Advance(time.Hour)
	keyClient(app, secret).GET(path).Expect(401)
	// A wrong secret with a real prefix, a malformed key, no key.
	good, _ := newKey(t, app, super, service.NewAPIKey{Scopes: []string{service.ScopeBillingRead}})
	forged := good[:13] + strings.Repeat("A", 43)
	for _, s := range []string{forged, "ghk_short", good + "x"} {
		if code := keyClient(app, s).GET(path).Expect(401).ErrorCode(); code != "invalid_api_key" {
			t.Errorf("%q: %s", s, code)
		}
	}
	app.Client().GET(path).Expect(401)
	// A signed-in administrator is not a key either.
	app.LoginAs(super).GET(path).Expect(401)
}

func TestAPIKeys_IPAllowList(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	member := app.Member("mia")
	path := "/api/service/entitlements/" + member.PublicID
	elsewhere, _ := newKey(t, app, super, service.NewAPIKey{Scopes: []string{service.ScopeBillingRead}, AllowedIPs: []string{"10.0.0.0/8", "2001:db8::/32"}})
	if code := keyClient(app, elsewhere).GET(path).Expect(403).ErrorCode(); code != "ip_not_allowed" {
		t.Fatalf("code %s", code)
	}
	here, _ := newKey(t, app, super, service.NewAPIKey{Scopes: []string{service.ScopeBillingRead}, AllowedIPs: []string{"10.0.0.0/8", "127.0.0.0/8"}})
	keyClient(app, here).GET(path).Expect(200)
}

// TestAPIKeys_RefusedOnConsoleRoutes walks the whole route table with a key
// that holds every scope: every route that keyRoutes does not open answers
// 403 api_key_not_allowed, and the opened ones never that.
func TestAPIKeys_RefusedOnConsoleRoutes(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	victim := app.Member("victim")
	setBilling(t, app, "usage")
	secret, _ := newKey(t, app, super, service.NewAPIKey{Scopes: service.Scopes})
	kc := keyClient(app, secret)
	kc.SkipSpec = true
	open := map[string]bool{}
	for k := range server.KeyRouteScopes() {
		open[k] = true
	}
	walked := 0
	for _, rt := range app.Server.Routes() {
		key := rt.Method + " " + rt.Path
		if rt.Path == "/api/health" || rt.Path == "/api/ready" || rt.Path == "/api/openapi.json" || !strings.HasPrefix(rt.Path, "/api/") {
			continue // before authentication: no caller at all
		}
		if rt.Path == "/api/forward-auth" {
			// Forward auth sits before the key gate on purpose: it reads only
			// the session cookie, and an Authorization header belongs to the
			// protected app. A key must never pass it as a person.
			if res := kc.Do(rt.Method, rt.Path, nil); res.Status != 401 {
				t.Errorf("%s with a key: %d %.200s, want 401 (a key is no session)", key, res.Status, res.Body)
			}
			continue
		}
		path := routeParam.ReplaceAllStringFunc(rt.Path, func(p string) string {
			switch p {
			case ":publicId", ":account":
				return victim.PublicID
			case ":group":
				return "security"
			}
			return "1"
		})
		var body any
		if rt.Method != http.MethodGet && rt.Method != http.MethodDelete {
			body = map[string]any{}
		}
		res := kc.Do(rt.Method, path, body)
		walked++
		refused := res.Status == 403 && res.ErrorCode() == "api_key_not_allowed"
		if open[key] == refused {
			t.Errorf("%s: %d %.200s (opened to keys: %v)", key, res.Status, res.Body, open[key])
		}
		if res.Status >= 500 {
			t.Errorf("%s: %d", key, res.Status)
		}
	}
	if walked < 60 || len(open) != 10 {
		t.Fatalf("walked %d routes, %d open", walked, len(open))
	}
}

// TestAPIKeys_ScopeMatrix: every route opened to keys refuses a key without
// its scope (403 insufficient_scope) and lets one with it through.
func TestAPIKeys_ScopeMatrix(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	victim := app.Member("victim")
	setBilling(t, app, "usage")
	bodies := map[string]any{
		"PATCH /api/admin/users/:publicId":                map[string]any{"displayName": "Renamed"},
		"POST /api/admin/users/:publicId/status":          map[string]any{"status": "active", "reason": "check"},
		"POST /api/admin/users/:publicId/revoke-sessions": map[string]any{"reason": "check"},
		"POST /api/service/usage/charges":                 map[string]any{"account": victim.PublicID, "amount": 1, "idempotencyKey": "k", "type": "credit"},
		"POST /api/service/usage/batch":                   map[string]any{"events": []any{map[string]any{"account": victim.PublicID, "amount": 1, "idempotencyKey": "b", "type": "credit"}}},
	}
	for route, scope := range server.KeyRouteScopes() {
		method, ginPath, _ := strings.Cut(route, " ")
		path := strings.NewReplacer(":publicId", victim.PublicID, ":account", victim.Username).Replace(ginPath)
		for _, s := range service.Scopes {
			secret, _ := newKey(t, app, super, service.NewAPIKey{Scopes: []string{s}})
			res := keyClient(app, secret).Do(method, path, bodies[route])
			if s == scope {
				if res.Status >= 300 {
					t.Errorf("%s with %s: %d %.200s", route, s, res.Status, res.Body)
				}
			} else if res.Status != 403 || res.ErrorCode() != "insufficient_scope" {
				t.Errorf("%s with %s: %d %.200s, want 403 insufficient_scope", route, s, res.Status, res.Body)
			}
		}
	}
}

// TestAPIKeys_ChangesAuditedAsKey: a users:write key changes an account
// through the engine, audited with the key as actor; it cannot touch a
// super administrator or grant that role.
func TestAPIKeys_ChangesAuditedAsKey(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	member := app.Member("mia")
	secret, key := newKey(t, app, super, service.NewAPIKey{Name: "crm", Scopes: []string{service.ScopeUsersWrite, service.ScopeUsersRead}})
	kc := keyClient(app, secret)
	kc.PATCH("/api/admin/users/"+member.PublicID, map[string]any{"displayName": "Mia K"}).Expect(200)
	var ev models.AuditEvent
	if err := app.Svc.DB.NewSelect().Model(&ev).Where("target_public_id = ?", member.PublicID).Where("action = ?", "user.updated").Order("id DESC").Limit(1).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ev.ActorUsername != "key:crm" || ev.ActorPublicID != key.Prefix || ev.ActorID != nil {
		t.Fatalf("audit actor %q %q %v", ev.ActorUsername, ev.ActorPublicID, ev.ActorID)
	}
	kc.PATCH("/api/admin/users/"+member.PublicID, map[string]any{"role": "super_admin"}).Expect(403, 422)
	kc.POST("/api/admin/users/"+super.PublicID+"/status", map[string]any{"status": "suspended", "reason": "x"}).Expect(403, 409)
	kc.GET("/api/admin/users").Expect(200)
}

// TestAPIKeys_LastUsedOncePerMinute: a busy key writes its last use at
// most once a minute.
func TestAPIKeys_LastUsedOncePerMinute(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	member := app.Member("mia")
	secret, key := newKey(t, app, super, service.NewAPIKey{Scopes: []string{service.ScopeBillingRead}})
	kc := keyClient(app, secret)
	lastUsed := func() *time.Time {
		app.Svc.Background.Wait()
		k, err := models.APIKeyByID(context.Background(), app.Svc.DB, key.ID)
		if err != nil {
			t.Fatal(err)
		}
		return k.LastUsedAt
	}
	kc.GET("/api/service/entitlements/" + member.PublicID).Expect(200)
	first := lastUsed()
	if first == nil || !first.Equal(app.Clock.Now()) {
		t.Fatalf("last used %v", first)
	}
	app.Clock.Advance(30 * time.Second)
	kc.GET("/api/service/entitlements/" + member.PublicID).Expect(200)
	if got := lastUsed(); !got.Equal(*first) {
		t.Fatalf("written again within the minute: %v", got)
	}
	app.Clock.Advance(31 * time.Second)
	kc.GET("/api/service/entitlements/" + member.PublicID).Expect(200)
	if got := lastUsed(); !got.Equal(app.Clock.Now()) {
		t.Fatalf("not written after a minute: %v", got)
	}
}

// keep sync imported for the usage tests in this package.
var _ sync.Mutex

// TestAPIKeys_RevokedWhileTheChangeWaits: a change made with a service API
// key that authenticated before the key was revoked, and that waited for
// the database while the revocation committed, changes nothing and
// answers 401 invalid_api_key, as the next request with the key does: a
// status change and a profile change (the account-change engine; bulk
// changes and new accounts are for the console only). The revocation
// commits while it holds the database (SQLite: BEGIN IMMEDIATE; PostgreSQL:
// the targets' rows), so the request's transaction starts after it.
func TestAPIKeys_RevokedWhileTheChangeWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	uma, ulf := app.Member("uma"), app.Member("ulf")
	for _, c := range []struct {
		what string
		req  func(kc *testkit.Client) *testkit.Response
	}{
		{"status change", func(kc *testkit.Client) *testkit.Response {
			return kc.POST("/api/admin/users/"+uma.PublicID+"/status", map[string]any{"status": "suspended", "reason": "x"})
		}},
		{"profile change", func(kc *testkit.Client) *testkit.Response {
			return kc.PATCH("/api/admin/users/"+ulf.PublicID, map[string]any{"displayName": "Renamed"})
		}},
	} {
		secret, key := newKey(t, app, super, service.NewAPIKey{Name: "crm " + c.what, Scopes: []string{service.ScopeUsersWrite, service.ScopeUsersRead}})
		kc := keyClient(app, secret)
		kc.GET("/api/admin/users").Expect(200) // authenticated (and cached)
		since := lastAuditID(t, app)
		tx, err := app.Svc.DB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.NewUpdate().Model((*models.APIKey)(nil)).Set("revoked_at = ?", time.Now()).Where("id = ?", key.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if !models.IsSQLite(app.Svc.DB) {
			// Hold the targets' rows, so that the change waits for the
			// revocation on PostgreSQL too.
			if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set("updated_at = updated_at").Where("id IN (?)", bun.In([]int64{uma.ID, ulf.ID})).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan *testkit.Response, 1)
		go func() { done <- c.req(kc) }()
		time.Sleep(time.Second) // the request authenticates, then waits for the database
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_api_key" {
			t.Fatalf("%s with a key revoked while it waited: %d %s", c.what, r.Status, r.Body)
		}
		if u := app.Reload(uma); u.Status != models.StatusActive {
			t.Fatalf("%s: uma is %s", c.what, u.Status)
		}
		if u := app.Reload(ulf); u.Status != models.StatusActive {
			t.Fatalf("%s: ulf is %s", c.what, u.Status)
		}
		if u := app.Reload(ulf); u.DisplayName == "Renamed" {
			t.Fatalf("%s: ulf renamed", c.what)
		}
		if n, err := app.Svc.DB.NewSelect().Model((*models.AuditEvent)(nil)).Where("id > ?", since).Where("action LIKE 'user.%'").Count(ctx); err != nil || n != 0 {
			t.Fatalf("%s: %d account audit rows (%v)", c.what, n, err)
		}
		kc.GET("/api/admin/users").Expect(401)
	}
}
