package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

type role int

const (
	anonymous role = iota
	member
	admin
	superAdmin
	suspendedAdmin // signed in as an admin, then suspended
)

var roleNames = map[role]string{anonymous: "anonymous", member: "user", admin: "admin", superAdmin: "super_admin", suspendedAdmin: "suspended admin"}

// walkOrder runs the read-only roles before the ones whose requests may succeed.
var walkOrder = []role{anonymous, member, suspendedAdmin, admin, superAdmin}

// all gives every role the same answer.
func all(status int) map[role]int {
	return map[role]int{anonymous: status, member: status, admin: status, superAdmin: status, suspendedAdmin: status}
}

// signedIn answers 401 to anonymous callers and dead sessions, ok to the rest.
func signedIn(ok int) map[role]int {
	return map[role]int{anonymous: 401, member: ok, admin: ok, superAdmin: ok, suspendedAdmin: 401}
}

// adminOnly adds the 403 for plain users.
func adminOnly(ok int) map[role]int {
	return map[role]int{anonymous: 401, member: 403, admin: ok, superAdmin: ok, suspendedAdmin: 401}
}

// superOnly refuses administrators too (403): super-administrator actions.
func superOnly(ok int) map[role]int {
	return map[role]int{anonymous: 401, member: 403, admin: 403, superAdmin: ok, suspendedAdmin: 401}
}

// accessTable is the expected answer of every foundation route for every
// role. Routes not listed here are still walked with the rules of their
// prefix (see TestAccessWalk).
var accessTable = map[string]struct {
	body any
	want map[role]int
}{
	"GET /api/health":                     {nil, all(200)},
	"GET /api/ready":                      {nil, all(200)},
	"GET /api/openapi.json":               {nil, all(200)},
	"GET /api/setup/status":               {nil, all(200)},
	"POST /api/setup":                     {map[string]string{"token": "x", "username": "intruder", "password": "Vivid-Orbit-Tangerine-42"}, all(409)},
	"GET /api/auth/options":               {nil, all(200)},
	"POST /api/auth/login":                {creds("nobody", "whatever-password"), all(401)},
	"POST /api/auth/logout":               {nil, all(204)},
	"POST /api/auth/tokens":               {nil, signedIn(201)},
	"GET /api/me":                         {nil, signedIn(200)},
	"PATCH /api/me":                       {map[string]string{"displayName": "Renamed"}, signedIn(200)},
	"POST /api/me/password":               {map[string]string{"currentPassword": "not-the-password", "newPassword": "Vivid-Orbit-Tangerine-42"}, signedIn(422)},
	"GET /api/me/sessions":                {nil, signedIn(200)},
	"DELETE /api/me/sessions":             {nil, signedIn(200)},
	"DELETE /api/me/sessions/:id":         {nil, signedIn(404)},
	"GET /api/admin/audit":                {nil, adminOnly(200)},
	"GET /api/admin/settings/:group":      {nil, adminOnly(200)},
	"PUT /api/admin/settings/:group":      {map[string]any{}, adminOnly(-1)},
	"POST /api/admin/settings/email/test": {map[string]any{}, adminOnly(-1)},
	// Identity providers: administrators read, super administrators change.
	"GET /api/admin/identity-providers":           {nil, adminOnly(200)},
	"GET /api/admin/identity-providers/:id":       {nil, adminOnly(404)},
	"POST /api/admin/identity-providers":          {map[string]any{}, superOnly(422)},
	"POST /api/admin/identity-providers/order":    {map[string]any{"ids": []int64{}}, superOnly(-1)},
	"POST /api/admin/identity-providers/discover": {map[string]any{"issuerUrl": "ftp://x"}, superOnly(422)},
	"PATCH /api/admin/identity-providers/:id":     {map[string]any{}, superOnly(404)},
	"DELETE /api/admin/identity-providers/:id":    {nil, superOnly(404)},
	// The mail outbox: administrators read, super administrators act.
	"GET /api/admin/outbox":              {nil, adminOnly(200)},
	"POST /api/admin/outbox/:id/retry":   {nil, superOnly(404)},
	"POST /api/admin/outbox/:id/discard": {nil, superOnly(404)},
}

// TestAccessWalk signs in every role and sends every route of the router.
// Listed routes must answer exactly; unlisted ones must at least follow the
// rule of their prefix: /api/me* needs a live session, /api/admin/* needs
// an administrator, nobody ever gets a 5xx.
func TestAccessWalk(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	routes := app.Server.Routes()
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt.Method+" "+rt.Path] = true
	}
	var stale []string
	for k := range accessTable {
		if !seen[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("accessTable lists routes the router does not have: %v", stale)
	}
	if len(routes) < 15 {
		t.Fatalf("only %d routes walked", len(routes))
	}
	for i, rt := range routes {
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			t.Parallel()
			sub := *app // the same server, reporting to this subtest
			sub.T = t
			walkRoute(t, &sub, fmt.Sprint(i), rt.Method, rt.Path)
		})
	}
}

var routeParam = regexp.MustCompile(`[:*][A-Za-z0-9_]+`)

// walkRoute signs in fresh accounts (suffixed n) for each role, since a
// route may end sessions, change its caller or delete its target.
func walkRoute(t *testing.T, app *testkit.App, n, method, ginPath string) {
	key := method + " " + ginPath
	victim := app.Member("victim" + n)
	clients := map[role]*testkit.Client{anonymous: app.Client()}
	clients[member] = app.LoginAs(app.Member("user" + n))
	clients[admin] = app.LoginAs(app.Admin("admin" + n))
	clients[superAdmin] = app.LoginAs(app.SuperAdmin("super" + n))
	susp := app.Admin("suspended" + n)
	clients[suspendedAdmin] = app.LoginAs(susp)
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("status = ?", models.StatusSuspended).Where("id = ?", susp.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := routeParam.ReplaceAllStringFunc(ginPath, func(p string) string {
		switch p {
		case ":publicId":
			return victim.PublicID
		case ":group":
			return "security"
		case ":id":
			return "no-such-id"
		case ":slug":
			return "no-such-provider"
		}
		return "1"
	})

	entry, listed := accessTable[key]
	var body any = entry.body
	if !listed && method != http.MethodGet && method != http.MethodDelete {
		body = map[string]any{}
	}
	isAdmin := strings.HasPrefix(ginPath, "/api/admin/")
	isMe := ginPath == "/api/me" || strings.HasPrefix(ginPath, "/api/me/")
	for _, r := range walkOrder {
		c := clients[r]
		c.SkipSpec = !listed // placeholder requests to unlisted routes need not be documented answers
		res := c.Do(method, path, body)
		where := fmt.Sprintf("%s as %s", key, roleNames[r])
		if res.Status >= 500 {
			t.Errorf("%s: %d %s", where, res.Status, res.Body)
			continue
		}
		if listed {
			if want := entry.want[r]; want > 0 && res.Status != want {
				t.Errorf("%s: %d, want %d; %.200s", where, res.Status, want, res.Body)
			} else if want < 0 && (res.Status == 401 || res.Status == 403) {
				t.Errorf("%s: %d, want the administrator let through; %.200s", where, res.Status, res.Body)
			}
			continue
		}
		switch {
		case (isAdmin || isMe) && (r == anonymous || r == suspendedAdmin):
			if res.Status != 401 {
				t.Errorf("%s: %d, want 401", where, res.Status)
			}
		case isAdmin && r == member:
			if res.Status != 403 {
				t.Errorf("%s: %d, want 403", where, res.Status)
			}
		case isAdmin && r == admin:
			if res.Status == 401 {
				t.Errorf("%s: %d, want the administrator signed in", where, res.Status)
			}
		case (isAdmin && r == superAdmin) || (isMe && r != anonymous && r != suspendedAdmin):
			if res.Status == 401 || res.Status == 403 {
				t.Errorf("%s: %d, want it let through", where, res.Status)
			}
		}
	}
	if !listed {
		t.Logf("%s is not in accessTable; checked by its prefix only", key)
	}
}

// TestNoSecretInAnyResponse exercises the API end to end and then searches
// every response body for password hashes, session and access tokens and
// their hashes, and the setup token.
func TestNoSecretInAnyResponse(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	var responses []*testkit.Response
	rec := func(r *testkit.Response) *testkit.Response { responses = append(responses, r); return r }

	setup, err := app.Svc.Setup.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	anon := app.Client()
	rec(anon.GET("/api/setup/status"))
	rec(anon.POST("/api/setup", map[string]string{"token": setup, "username": "root", "password": "Vivid-Orbit-Tangerine-42", "email": "root@example.com"})).Expect(http.StatusCreated)
	root := &testkit.User{User: &models.User{Username: "root"}, Password: "Vivid-Orbit-Tangerine-42"}
	alice := app.Member("alice")
	bob := app.Admin("bob")

	rootC := app.Client()
	rec(rootC.POST("/api/auth/login", creds("root", root.Password))).Expect(http.StatusOK)
	aliceC := app.Client()
	rec(aliceC.POST("/api/auth/login", creds("alice@example.com", alice.Password))).Expect(http.StatusOK)
	aliceC2 := app.LoginAs(alice)
	bobC := app.LoginAs(bob)
	rec(app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")))
	rec(app.Client().POST("/api/auth/login", creds("nobody", "wrong-password-1")))

	var tok struct {
		Token string `json:"token"`
	}
	issued := aliceC.POST("/api/auth/tokens", map[string]string{"name": "cli"}).Expect(http.StatusCreated)
	issued.JSON(&tok)
	b := bearer(app, tok.Token)
	for _, c := range []*testkit.Client{aliceC, b, rootC, bobC} {
		rec(c.GET("/api/me"))
		rec(c.GET("/api/me/sessions"))
		rec(c.PATCH("/api/me", map[string]any{"preferences": map[string]any{"theme": "dark"}}))
		rec(c.GET("/api/auth/options"))
	}
	rec(aliceC.POST("/api/me/password", map[string]string{"currentPassword": "nope-nope-nope", "newPassword": "Another-Pass-456"}))
	rec(aliceC.POST("/api/me/password", map[string]string{"currentPassword": alice.Password, "newPassword": "Another-Pass-456"}))
	rec(b.POST("/api/auth/tokens", nil))
	for _, c := range []*testkit.Client{rootC, bobC} {
		rec(c.GET("/api/admin/audit?perPage=100"))
		for _, g := range []string{"signin", "registration", "email", "human-verification", "security", "billing", "password-policy"} {
			rec(c.GET("/api/admin/settings/" + g))
		}
	}
	rec(aliceC.GET("/api/admin/audit"))

	// What must never appear.
	secrets := map[string]string{"setup token": setup, "access token (outside its issuing answer)": tok.Token}
	for _, p := range []string{root.Password, alice.Password, bob.Password, "Another-Pass-456"} {
		secrets["password "+p] = p
	}
	var users []models.User
	if err := app.Svc.DB.NewSelect().Model(&users).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.PasswordHash != nil {
			secrets["password hash of "+u.Username] = *u.PasswordHash
			parts := strings.Split(*u.PasswordHash, "$")
			secrets["hash salt of "+u.Username] = parts[len(parts)-2]
		}
	}
	var sessions []models.Session
	if err := app.Svc.DB.NewSelect().Model(&sessions).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		secrets["session token hash "+s.ID] = s.TokenHash
	}
	var tokens []models.AccessToken
	if err := app.Svc.DB.NewSelect().Model(&tokens).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	for _, at := range tokens {
		secrets["access token hash "+at.ID] = at.TokenHash
	}
	for i, c := range []*testkit.Client{rootC, aliceC, bobC} {
		v := cookieValue(t, c)
		secrets[fmt.Sprintf("cookie %d", i)] = v
		secrets[fmt.Sprintf("session token %d", i)] = sessionToken(t, app, v)
	}
	_ = aliceC2
	if len(sessions) < 3 || len(tokens) < 1 {
		t.Fatalf("fixture: %d sessions, %d tokens", len(sessions), len(tokens))
	}
	for i, r := range responses {
		body := string(r.Body)
		for _, marker := range []string{"$argon2", "argon2id", "passwordHash", "password_hash", "tokenHash", "token_hash", "totpSecret"} {
			if strings.Contains(body, marker) {
				t.Errorf("response %d (%s %s) contains %q: %.300s", i, r.Req.Method, r.Req.URL.Path, marker, body)
			}
		}
		for name, s := range secrets {
			if s != "" && strings.Contains(body, s) {
				t.Errorf("response %d (%s %s) contains the %s", i, r.Req.Method, r.Req.URL.Path, name)
			}
		}
	}
	if len(responses) < 30 {
		t.Fatalf("only %d responses checked", len(responses))
	}
	// The issuing answer holds the token itself, and nothing else secret.
	for name, s := range secrets {
		if s != tok.Token && strings.Contains(string(issued.Body), s) {
			t.Errorf("the token answer contains the %s", name)
		}
	}
}
