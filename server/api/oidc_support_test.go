package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// idp is a test world with a real in-process OIDC provider (mockoidc)
// configured in Gatehouse through the admin API.
type idp struct {
	t    *testing.T
	app  *testkit.App
	mock *mockoidc.MockOIDC
	root *testkit.User
	rc   *testkit.Client // signed in as root, the super administrator
	slug string
	id   int64
}

// newIdP starts Gatehouse and mockoidc, turns third-party sign-in on and
// adds a provider "mock" found by discovery; extra overrides its fields.
func newIdP(t *testing.T, extra map[string]any) *idp {
	t.Helper()
	app := testkit.NewApp(t)
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	// The provider's clock follows the app's test clock, so that token
	// expiry and not-before checks (made with the server clock) line up.
	m.FastForward(app.Clock.Now().Sub(time.Now()))
	w := &idp{t: t, app: app, mock: m, slug: "mock"}
	w.root = app.SuperAdmin("root")
	w.rc = app.LoginAs(w.root)
	w.setSignin(true, true, true)

	ep := w.rc.POST("/api/admin/identity-providers/discover", map[string]string{"issuerUrl": m.Issuer()}).Expect(200).Map()
	body := map[string]any{
		"slug": "mock", "name": "Mock ID", "type": "oidc", "clientId": m.ClientID, "clientSecret": m.ClientSecret,
		"issuerUrl": ep["issuerUrl"], "authorizationUrl": ep["authorizationUrl"], "tokenUrl": ep["tokenUrl"],
		"userinfoUrl": ep["userinfoUrl"], "jwksUrl": ep["jwksUrl"], "scopes": []string{"openid", "email", "profile"},
		"loginEnabled": true, "registrationEnabled": true,
	}
	for k, v := range extra {
		body[k] = v
	}
	p := w.rc.POST("/api/admin/identity-providers", body).Expect(201).Map()
	w.id = int64(p["id"].(float64))
	return w
}

// setSignin writes the sign-in methods through the settings API.
func (w *idp) setSignin(username, email, thirdParty bool) *testkit.Response {
	w.t.Helper()
	cur := w.rc.GET("/api/admin/settings/signin").Expect(200).Map()
	return w.rc.PUT("/api/admin/settings/signin", map[string]any{"version": cur["version"], "usernameEnabled": username, "emailEnabled": email, "thirdPartyEnabled": thirdParty})
}

// patch changes the provider.
func (w *idp) patch(body map[string]any) *testkit.Response {
	w.t.Helper()
	return w.rc.PATCH("/api/admin/identity-providers/"+itoa(w.id), body)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// person is a provider account: its subject and extra claims (added to
// the ID token and the userinfo answer). tweak, when set, changes the ID
// token's registered claims (nonce, audience) to forge bad tokens.
type person struct {
	sub   string
	extra map[string]any
	tweak func(*mockoidc.IDTokenClaims)
}

func (p *person) ID() string { return p.sub }

func (p *person) Userinfo([]string) ([]byte, error) {
	m := map[string]any{"sub": p.sub}
	for k, v := range p.extra {
		m[k] = v
	}
	return json.Marshal(m)
}

func (p *person) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if p.tweak != nil {
		p.tweak(base)
	}
	c := jwt.MapClaims{"iss": base.Issuer, "sub": base.Subject, "aud": base.Audience, "jti": base.ID,
		"exp": base.ExpiresAt.Unix(), "iat": base.IssuedAt.Unix(), "nbf": base.NotBefore.Unix()}
	if base.Nonce != "" {
		c["nonce"] = base.Nonce
	}
	for k, v := range p.extra {
		c[k] = v
	}
	return c, nil
}

// verified is a provider account whose email the provider vouches for.
func verified(sub, username, email string) *person {
	return &person{sub: sub, extra: map[string]any{"preferred_username": username, "name": strings.ToUpper(username[:1]) + username[1:], "email": email, "email_verified": true}}
}

// roundTrip drives the browser through start, the provider (mockoidc signs
// the queued person in without a page) and back to the callback; it
// returns the callback's answer. who nil uses mockoidc's default user.
func (w *idp) roundTrip(c *testkit.Client, who mockoidc.User, next string) *testkit.Response {
	w.t.Helper()
	start := "/api/auth/oidc/" + w.slug + "/start"
	if next != "" {
		start += "?next=" + url.QueryEscape(next)
	}
	r := c.GET(start).Expect(http.StatusFound)
	return w.fromProvider(c, who, r.Header.Get("Location"))
}

// fromProvider visits the provider's authorization URL and follows it back.
func (w *idp) fromProvider(c *testkit.Client, who mockoidc.User, authURL string) *testkit.Response {
	w.t.Helper()
	cb := w.authorize(c, who, authURL)
	return c.GET(cb.RequestURI())
}

// authorize visits the provider and returns the callback URL it sends the
// browser to (without following it).
func (w *idp) authorize(c *testkit.Client, who mockoidc.User, authURL string) *url.URL {
	w.t.Helper()
	if !strings.HasPrefix(authURL, w.mock.Addr()) {
		w.t.Fatalf("start did not go to the provider: %q", authURL)
	}
	if who != nil {
		w.mock.QueueUser(who)
	}
	res, err := c.HTTP.Get(authURL)
	if err != nil {
		w.t.Fatal(err)
	}
	res.Body.Close()
	cb, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		w.t.Fatalf("provider answered %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	// The callback URL names the configured base URL, never the test server.
	if cb.Host != "gatehouse.test" || cb.Path != "/api/auth/oidc/"+w.slug+"/callback" {
		w.t.Fatalf("callback URL %s", cb)
	}
	return cb
}

// location is the redirect target of a 302.
func location(t *testing.T, r *testkit.Response) string {
	t.Helper()
	if r.Status != http.StatusFound {
		t.Fatalf("%s %s: status %d, want 302; body %s", r.Req.Method, r.Req.URL.Path, r.Status, r.Body)
	}
	return r.Header.Get("Location")
}

// wantRefused checks that a flow ended on the sign-in page with code.
func wantRefused(t *testing.T, r *testkit.Response, code string) {
	t.Helper()
	if got := location(t, r); got != "/login?error="+code {
		t.Fatalf("redirect %q, want /login?error=%s", got, code)
	}
	if r.SetCookie(cookieName) != nil && r.SetCookie(cookieName).MaxAge >= 0 {
		t.Fatal("a refused flow set a session cookie")
	}
}

// identities lists the identity rows of a user.
func identitiesOf(t *testing.T, app *testkit.App, userID int64) []models.Identity {
	t.Helper()
	var rows []models.Identity
	if err := app.Svc.DB.NewSelect().Model(&rows).Where("user_id = ?", userID).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rows
}

// verifyEmail marks a test account's email verified.
func verifyEmail(t *testing.T, app *testkit.App, u *testkit.User) {
	t.Helper()
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("email_verified_at = ?", app.Clock.Now()).Where("id = ?", u.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// userByUsername loads an account.
func userByUsername(t *testing.T, app *testkit.App, name string) *models.User {
	t.Helper()
	u, err := models.UserByUsername(context.Background(), app.Svc.DB, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return u
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
