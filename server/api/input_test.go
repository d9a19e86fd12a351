package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"gatehouse/internal/openapidoc"
	"gatehouse/models"
	"gatehouse/server/api"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// snapshot summarises everything a request could write.
func snapshot(t *testing.T, app *testkit.App) string {
	t.Helper()
	ctx := context.Background()
	var users []models.User
	if err := app.Svc.DB.NewSelect().Model(&users).Order("id").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	var settings []models.Setting
	if err := app.Svc.DB.NewSelect().Model(&settings).Order("group_name").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	sessions, _ := app.Svc.DB.NewSelect().Model((*models.Session)(nil)).Count(ctx)
	tokens, _ := app.Svc.DB.NewSelect().Model((*models.AccessToken)(nil)).Count(ctx)
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%d %s %s %s %s %s %s %v %d %v|", u.ID, u.Role, u.Status, u.DisplayName, u.Preferences, u.Timezone, *u.PasswordHash, u.UpdatedAt, u.FailedLogins, u.LockedUntil)
	}
	for _, s := range settings {
		fmt.Fprintf(&b, "%s %d %s|", s.Group, s.Version, s.Value)
	}
	fmt.Fprintf(&b, "audit=%d sessions=%d tokens=%d", auditCount(t, app), sessions, tokens)
	return b.String()
}

type badBody struct {
	name   string
	body   string
	ctype  string
	status int
	code   string
	field  string // a field the error must name, if any
}

func badBodies(wrongType, unknown string) []badBody {
	huge := `{"x":"` + strings.Repeat("a", 1<<20) + `"}`
	return []badBody{
		{"malformed", `{"identifier": "a",`, "application/json", 400, "invalid_json", ""},
		{"not JSON", `hello`, "application/json", 400, "invalid_json", ""},
		{"single quotes", `{'a': 1}`, "application/json", 400, "invalid_json", ""},
		{"array", `[]`, "application/json", 400, "invalid_json", ""},
		{"string", `"text"`, "application/json", 400, "invalid_json", ""},
		{"trailing garbage", `{} xyz`, "application/json", 400, "invalid_json", ""},
		{"two objects", `{}{}`, "application/json", 400, "invalid_json", ""},
		{"trailing bracket", `{}]`, "application/json", 400, "invalid_json", ""},
		{"deep nesting", `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "application/json", 400, "", ""},
		{"wrong type", wrongType, "application/json", 400, "invalid_type", "*"},
		{"unknown field", unknown, "application/json", 400, "unknown_field", "*"},
		{"over 1 MiB", huge, "application/json", 413, "body_too_large", ""},
		{"text/plain JSON", `{}`, "text/plain", 415, "unsupported_media_type", ""},
		{"form encoded", `a=b`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
		{"no content type", `{}`, "", 415, "unsupported_media_type", ""},
	}
}

// TestBadJSONOnFoundationEndpoints checks the exact answer to bad bodies on
// each JSON endpoint of the foundation.
func TestBadJSONOnFoundationEndpoints(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	c := app.LoginAs(root)
	endpoints := []struct {
		method, path string
		wrongType    string
		wrongField   string
		emptyOK      bool
	}{
		{"POST", "/api/setup", `{"token": 5, "username": "x", "password": "y"}`, "token", false},
		{"POST", "/api/auth/login", `{"identifier": 5, "password": "x"}`, "identifier", false},
		{"POST", "/api/auth/login", `{"identifier": "root", "password": ["x"]}`, "password", false},
		{"POST", "/api/auth/tokens", `{"name": true}`, "name", true},
		{"PATCH", "/api/me", `{"displayName": 5}`, "displayName", false},
		{"PATCH", "/api/me", `{"timezone": {"a": 1}}`, "timezone", false},
		{"POST", "/api/me/password", `{"currentPassword": [], "newPassword": "x"}`, "currentPassword", false},
	}
	before := snapshot(t, app)
	for _, ep := range endpoints {
		for _, bb := range badBodies(ep.wrongType, `{"nope": 1}`) {
			r := c.Do(ep.method, ep.path, bb.body, "Content-Type", bb.ctype)
			where := ep.method + " " + ep.path + " " + bb.name
			if r.Status != bb.status || (bb.code != "" && r.ErrorCode() != bb.code) {
				t.Errorf("%s: %d %q, want %d %q; body %.300s", where, r.Status, r.ErrorCode(), bb.status, bb.code, r.Body)
				continue
			}
			expectError(t, r, bb.status, r.ErrorCode())
			if bb.field == "*" {
				want := ep.wrongField
				if bb.name == "unknown field" {
					want = "nope"
				}
				if r.Fields()[want] == "" {
					t.Errorf("%s: field %q not named: %s", where, want, r.Body)
				}
			}
		}
		if !ep.emptyOK {
			r := c.Do(ep.method, ep.path, "", "Content-Type", "application/json")
			expectError(t, r, http.StatusBadRequest, "invalid_json")
			r = c.Do(ep.method, ep.path, "  \n ", "Content-Type", "application/json")
			expectError(t, r, http.StatusBadRequest, "invalid_json")
		}
	}
	if after := snapshot(t, app); after != before {
		t.Fatalf("bad input wrote something:\nbefore %s\nafter  %s", before, after)
	}
	c.GET("/api/me").Expect(http.StatusOK)
}

// TestBadJSONOnEveryDocumentedBody sends bad bodies to every operation the
// document says takes a JSON body (including ones added after the
// foundation): never a 2xx or a 5xx, and nothing written.
func TestBadJSONOnEveryDocumentedBody(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	bob := app.Member("bob")
	c := app.LoginAs(root)
	// The service API takes a service API key, not a session.
	secret, _ := newKey(t, app, root, service.NewAPIKey{Scopes: service.Scopes})
	kc := keyClient(app, secret)
	doc, err := openapidoc.Load(api.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	param := regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)
	for _, r := range app.Server.Routes() {
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	fill := regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)
	tested := 0
	before := snapshot(t, app)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			if !routed[method+" "+path] {
				continue // documented ahead of its handler; TestRoutesMatchOpenAPI reports it
			}
			tested++
			url := fill.ReplaceAllStringFunc(path, func(p string) string {
				switch p {
				case "{publicId}":
					return bob.PublicID
				case "{group}":
					return "security"
				}
				return "1"
			})
			cl := c
			if strings.HasPrefix(path, "/api/service/") {
				cl = kc
			}
			for _, bb := range badBodies(`{"x": 1}`, `{"surely_not_a_field": 1}`) {
				r := cl.Do(method, url, bb.body, "Content-Type", bb.ctype)
				if r.Status < 400 || r.Status >= 500 {
					t.Errorf("%s %s %s: status %d; body %.300s", method, url, bb.name, r.Status, r.Body)
					continue
				}
				if r.ErrorCode() == "" {
					t.Errorf("%s %s %s: not in the error shape: %.300s", method, url, bb.name, r.Body)
				}
				if bb.status == 413 && path == "/api/service/usage/batch" {
					continue // a batch of usage events may take 6 MiB
				}
				if bb.status == 413 || bb.status == 415 {
					if r.Status != bb.status && r.Status != http.StatusNotFound {
						t.Errorf("%s %s %s: %d, want %d", method, url, bb.name, r.Status, bb.status)
					}
				}
			}
		}
	}
	if tested < 5 {
		t.Fatalf("only %d JSON operations found: the walk is broken", tested)
	}
	if after := snapshot(t, app); after != before {
		t.Fatalf("bad input wrote something:\nbefore %s\nafter  %s", before, after)
	}
}

func TestLoginValidation(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.Member("alice")
	c := app.Client()
	for _, tc := range []struct {
		body   map[string]string
		fields []string
	}{
		{map[string]string{}, []string{"identifier", "password"}},
		{map[string]string{"identifier": "   ", "password": "x"}, []string{"identifier"}},
		{map[string]string{"identifier": "alice", "password": ""}, []string{"password"}},
		{map[string]string{"identifier": strings.Repeat("a", 255), "password": "x"}, []string{"identifier"}},
		{map[string]string{"identifier": "alice", "password": strings.Repeat("密", 200)}, []string{"password"}},
	} {
		r := c.POST("/api/auth/login", tc.body)
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
			t.Errorf("%v: status %d", tc.body, r.Status)
		}
		for _, f := range tc.fields {
			if r.Fields()[f] == "" {
				t.Errorf("%v: %s not named: %s", tc.body, f, r.Body)
			}
		}
	}
	if n := len(auditRows(t, app, "auth.login_failed", "")); n != 0 {
		t.Fatalf("invalid sign-in requests were audited as attempts (%d)", n)
	}
}
