package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/security"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

func TestSessionCookieOverHTTP(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	r := app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	ck := r.SetCookie(cookieName)
	if ck == nil {
		t.Fatalf("no %s cookie; Set-Cookie: %v", cookieName, r.Header.Values("Set-Cookie"))
	}
	if r.SetCookie("__Host-"+cookieName) != nil {
		t.Fatal("__Host- cookie over plain HTTP (browsers drop it without Secure)")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || ck.Domain != "" {
		t.Fatalf("cookie attributes: HttpOnly=%v SameSite=%v Path=%q Secure=%v Domain=%q", ck.HttpOnly, ck.SameSite, ck.Path, ck.Secure, ck.Domain)
	}
	// The cookie lives as long as the session (7 days by default).
	if ck.MaxAge != 7*86400 {
		t.Fatalf("cookie Max-Age %d, want %d", ck.MaxAge, 7*86400)
	}
	// The cookie carries an opaque token; the database holds only its hash.
	token := sessionToken(t, app, ck.Value)
	if strings.Contains(ck.Value, token) {
		t.Fatal("the cookie carries the session token in clear")
	}
	var rows []models.Session
	if err := app.Svc.DB.NewSelect().Model(&rows).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].TokenHash != security.HashToken(token) || rows[0].TokenHash == token || rows[0].ID == token {
		t.Fatalf("session rows %+v do not store the token hashed", rows)
	}
	if len(token) < 40 {
		t.Fatalf("session token %q is too short for 256 bits", token)
	}
}

func TestSessionCookieOverHTTPS(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithBaseURL("https://gatehouse.test"))
	alice := app.Member("alice")
	r := app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	if r.SetCookie(cookieName) != nil {
		t.Fatal("bare cookie name over HTTPS")
	}
	ck := r.SetCookie("__Host-" + cookieName)
	if ck == nil {
		t.Fatalf("no __Host- cookie; Set-Cookie: %v", r.Header.Values("Set-Cookie"))
	}
	// __Host- requires Secure, Path=/ and no Domain.
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("cookie attributes: Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q", ck.Secure, ck.HttpOnly, ck.SameSite, ck.Path, ck.Domain)
	}
	// Logout clears the same cookie name.
	c := app.Client()
	c.Header.Set("Cookie", ck.Name+"="+ck.Value)
	out := c.POST("/api/auth/logout", nil).Expect(http.StatusNoContent)
	if cl := out.SetCookie("__Host-" + cookieName); cl == nil || cl.MaxAge >= 0 || !cl.Secure {
		t.Fatalf("logout did not clear the __Host- cookie: %v", out.Header.Values("Set-Cookie"))
	}
}

func TestLoginByUsernameCaseInsensitive(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.CreateUser(testkit.UserSpec{Username: "Alice.Liddell", Email: "alice@example.com"})
	for _, ident := range []string{"Alice.Liddell", "alice.liddell", "ALICE.LIDDELL", "  alice.liddell  ", "ALICE@EXAMPLE.COM"} {
		c := app.Client()
		var body struct {
			User struct {
				PublicID string `json:"publicId"`
				Username string `json:"username"`
			} `json:"user"`
		}
		c.POST("/api/auth/login", creds(ident, alice.Password)).Expect(http.StatusOK).JSON(&body)
		if body.User.PublicID != alice.PublicID || body.User.Username != "Alice.Liddell" {
			t.Errorf("%q signed in as %+v", ident, body.User)
		}
		c.GET("/api/me").Expect(http.StatusOK)
	}
	// The password is case-sensitive.
	app.Client().POST("/api/auth/login", creds("alice.liddell", strings.ToUpper(alice.Password))).Expect(http.StatusUnauthorized)
}

func TestSignInMethodsFollowSettings(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	unknown := app.Client().POST("/api/auth/login", creds("nobody", "whatever-pass")).Expect(http.StatusUnauthorized)

	options := func() map[string]any { return app.Client().GET("/api/auth/options").Expect(http.StatusOK).Map() }
	if o := options(); o["usernameEnabled"] != true || o["emailEnabled"] != true {
		t.Fatalf("default options %v", o)
	}

	setSignin(t, app, false, true)
	if o := options(); o["usernameEnabled"] != false || o["emailEnabled"] != true {
		t.Fatalf("options %v after username sign-in was turned off", o)
	}
	r := app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusUnauthorized)
	if string(r.Body) != string(unknown.Body) || r.SetCookie(cookieName) != nil {
		t.Fatalf("username sign-in while disabled: %s", r.Body)
	}
	app.Client().POST("/api/auth/login", creds("alice@example.com", alice.Password)).Expect(http.StatusOK)

	setSignin(t, app, true, false)
	r = app.Client().POST("/api/auth/login", creds("alice@example.com", alice.Password)).Expect(http.StatusUnauthorized)
	if string(r.Body) != string(unknown.Body) || r.SetCookie(cookieName) != nil {
		t.Fatalf("email sign-in while disabled: %s", r.Body)
	}
	app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
}

func TestSignInRotatesTheSession(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	first := currentSessionID(t, c)
	oldCookie := cookieValue(t, c)

	c.POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	second := currentSessionID(t, c)
	if second == first {
		t.Fatal("signing in again kept the session ID")
	}
	if cookieValue(t, c) == oldCookie {
		t.Fatal("signing in again kept the cookie")
	}
	if list := mySessions(c); len(list) != 1 || list[0].ID != second {
		t.Fatalf("sessions after a second sign-in from one browser: %+v", list)
	}
	expectError(t, replay(app, oldCookie).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	c.GET("/api/me").Expect(http.StatusOK)

	// A failed sign-in from a signed-in browser does not end or replace its session.
	c.POST("/api/auth/login", creds("alice", "wrong-password-1")).Expect(http.StatusUnauthorized)
	if id := currentSessionID(t, c); id != second {
		t.Fatalf("a failed sign-in changed the session: %s", id)
	}
}

func TestLogoutEndsTheSessionAndReplayFails(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	stolen := cookieValue(t, c)
	replay(app, stolen).GET("/api/me").Expect(http.StatusOK) // the copy works while signed in

	r := c.POST("/api/auth/logout", nil).Expect(http.StatusNoContent)
	if ck := r.SetCookie(cookieName); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %v", r.Header.Values("Set-Cookie"))
	}
	expectError(t, c.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	expectError(t, replay(app, stolen).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	expectError(t, replay(app, stolen).GET("/api/me/sessions"), http.StatusUnauthorized, "unauthenticated")
	if n := sessionCount(t, app, alice.ID); n != 0 {
		t.Fatalf("%d session rows left after logout", n)
	}
	if rows := auditRows(t, app, service.ActionLogout, alice.PublicID); len(rows) != 1 {
		t.Fatalf("%d logout audit rows", len(rows))
	}
	// Logging out again, or anonymously, is harmless.
	replay(app, stolen).POST("/api/auth/logout", nil).Expect(http.StatusNoContent)
	app.Client().POST("/api/auth/logout", nil).Expect(http.StatusNoContent)
}

func TestTamperedCookieIsAnonymous(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	v := cookieValue(t, c)
	flipped := []byte(v)
	flipped[len(flipped)/2] ^= 0x01
	for _, bad := range []string{string(flipped), v[:len(v)-4], "garbage", ""} {
		expectError(t, replay(app, bad).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	}
	// A cookie signed by another installation is worthless here.
	other := testkit.NewApp(t)
	otherAlice := other.Member("alice")
	foreign := cookieValue(t, other.LoginAs(otherAlice))
	expectError(t, replay(app, foreign).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
}

func issueToken(t *testing.T, c *testkit.Client) (string, time.Time) {
	t.Helper()
	var body struct {
		Token     string    `json:"token"`
		TokenType string    `json:"tokenType"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	c.POST("/api/auth/tokens", map[string]string{"name": "cli"}).Expect(http.StatusCreated).JSON(&body)
	if !strings.HasPrefix(body.Token, "gha_") || len(body.Token) < 40 || body.TokenType != "Bearer" {
		t.Fatalf("token answer %+v", body)
	}
	return body.Token, body.ExpiresAt
}

func bearer(app *testkit.App, token string) *testkit.Client {
	c := app.Client()
	c.Header.Set("Authorization", "Bearer "+token)
	return c
}

func TestAccessTokens(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	token, expires := issueToken(t, c)
	if want := app.Clock.Now().Add(15 * time.Minute); !expires.Equal(want) {
		t.Fatalf("token expires %v, want %v (15 minutes)", expires, want)
	}
	// Stored hashed, bound to the session, audited.
	var rows []models.AccessToken
	if err := app.Svc.DB.NewSelect().Model(&rows).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].TokenHash != security.HashToken(token) || rows[0].SessionID != currentSessionID(t, c) {
		t.Fatalf("access token rows %+v", rows)
	}
	if len(auditRows(t, app, service.ActionTokenIssued, alice.PublicID)) != 1 {
		t.Fatal("no auth.token_issued audit row")
	}

	b := bearer(app, token)
	var me struct {
		PublicID string `json:"publicId"`
	}
	b.GET("/api/me").Expect(http.StatusOK).JSON(&me)
	if me.PublicID != alice.PublicID {
		t.Fatalf("bearer is %s", me.PublicID)
	}
	if b.Cookie(cookieName) != nil {
		t.Fatal("a bearer request got a session cookie")
	}
	// The scheme name is case-insensitive (RFC 9110).
	lower := app.Client()
	lower.Header.Set("Authorization", "bearer "+token)
	lower.GET("/api/me").Expect(http.StatusOK)

	// A bearer cannot mint tokens, with or without a body.
	expectError(t, b.POST("/api/auth/tokens", nil), http.StatusForbidden, "session_required")
	expectError(t, b.POST("/api/auth/tokens", map[string]string{"name": "x"}), http.StatusForbidden, "session_required")

	// Logging the session out kills its token at once.
	c.POST("/api/auth/logout", nil).Expect(http.StatusNoContent)
	expectError(t, b.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	if n, _ := app.Svc.DB.NewSelect().Model((*models.AccessToken)(nil)).Count(context.Background()); n != 0 {
		t.Fatalf("%d access tokens left after logout", n)
	}
}

func TestAccessTokenExpires(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	token, _ := issueToken(t, c)
	b := bearer(app, token)
	app.Clock.Advance(15*time.Minute - time.Second)
	b.GET("/api/me").Expect(http.StatusOK)
	app.Clock.Advance(time.Second)
	expectError(t, b.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	c.GET("/api/me").Expect(http.StatusOK) // the session outlives its token

	// The lifetime follows the setting.
	app.SetSecurity(func(s *service.SecuritySettings) { s.AccessTokenLifetimeSeconds = 60 })
	token2, exp2 := issueToken(t, c)
	if want := app.Clock.Now().Add(time.Minute); !exp2.Equal(want) {
		t.Fatalf("token expires %v, want %v", exp2, want)
	}
	app.Clock.Advance(time.Minute)
	expectError(t, bearer(app, token2).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
}

func TestAccessTokenNeverOutlivesItsSession(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	app.Clock.Advance(7*24*time.Hour - 5*time.Minute)
	token, exp := issueToken(t, c)
	if want := app.Clock.Now().Add(5 * time.Minute); !exp.Equal(want) {
		t.Fatalf("token expires %v, after its session (%v)", exp, want)
	}
	b := bearer(app, token)
	b.GET("/api/me").Expect(http.StatusOK)
	app.Clock.Advance(5 * time.Minute)
	expectError(t, b.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
}

func TestAccessTokenDiesWithRevokedSessionOrSuspension(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	laptop := app.LoginAs(alice)
	phone := app.LoginAs(alice)
	token, _ := issueToken(t, laptop)
	b := bearer(app, token)
	b.GET("/api/me").Expect(http.StatusOK)
	phone.DELETE("/api/me/sessions/" + currentSessionID(t, laptop)).Expect(http.StatusNoContent)
	expectError(t, b.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")

	token2, _ := issueToken(t, phone)
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("status = ?", models.StatusSuspended).Where("id = ?", alice.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectError(t, bearer(app, token2).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	expectError(t, phone.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
}

func TestBadAuthorizationHeaders(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	token, _ := issueToken(t, c)
	for _, h := range []string{
		"Bearer garbage",
		"Bearer gha_garbage",
		"Bearer ",
		"Bearer",
		"Bearer " + token + "x",
		"Bearer " + strings.TrimPrefix(token, "gha_"),
		"Bearer " + security.HashToken(token),
		"Basic " + token,
		"Basic YWxpY2U6VGVzdC1QYXNzcGhyYXNlLTkxIQ==", // alice:Test-Passphrase-91!
		"Token " + token,
		token,
		"Bearer " + strings.Repeat("a", 10000),
	} {
		anon := app.Client()
		anon.Header.Set("Authorization", h)
		expectError(t, anon.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
		// A bad Authorization header is refused even with a valid cookie:
		// it never falls back to the cookie silently.
		withCookie := replay(app, cookieValue(t, c))
		withCookie.Header.Set("Authorization", h)
		expectError(t, withCookie.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	}
	expectError(t, app.Client().GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	// The session cookie's token is not a bearer token.
	expectError(t, bearer(app, sessionToken(t, app, cookieValue(t, c))).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
}

func TestTokenNameLimit(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	c.POST("/api/auth/tokens", nil).Expect(http.StatusCreated) // the body is optional
	c.POST("/api/auth/tokens", map[string]string{"name": strings.Repeat("n", 100)}).Expect(http.StatusCreated)
	r := c.POST("/api/auth/tokens", map[string]string{"name": strings.Repeat("n", 101)})
	if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest || r.Fields()["name"] == "" {
		t.Fatalf("101-character name: %d %s", r.Status, r.Body)
	}
	expectError(t, app.Client().POST("/api/auth/tokens", nil), http.StatusUnauthorized, "unauthenticated")
}

func TestAbsoluteSessionLifetime(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	app.Clock.Advance(7*24*time.Hour - time.Minute)
	c.GET("/api/me").Expect(http.StatusOK) // activity does not extend the absolute lifetime
	app.Clock.Advance(time.Minute + time.Second)
	expectError(t, c.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	if n := sessionCount(t, app, alice.ID); n != 0 {
		t.Fatalf("the expired session row is still there (%d)", n)
	}
	app.LoginAs(alice).GET("/api/me").Expect(http.StatusOK)
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	app.SetSecurity(func(s *service.SecuritySettings) { s.SessionIdleTimeoutSeconds = 30 * 60 })
	c := app.LoginAs(alice)
	for i := 0; i < 4; i++ { // two hours of activity, never idle for 30 minutes
		app.Clock.Advance(29 * time.Minute)
		c.GET("/api/me").Expect(http.StatusOK)
	}
	app.Clock.Advance(30*time.Minute + time.Second)
	expectError(t, c.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")

	// Without an idle timeout, a long pause is fine.
	app.SetSecurity(func(s *service.SecuritySettings) { s.SessionIdleTimeoutSeconds = 0 })
	d := app.LoginAs(alice)
	app.Clock.Advance(3 * 24 * time.Hour)
	d.GET("/api/me").Expect(http.StatusOK)
}

func TestShorterLifetimeCutsExistingSessions(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	old := app.LoginAs(alice)
	app.Clock.Advance(2 * time.Hour)
	young := app.LoginAs(alice)
	app.Clock.Advance(10 * time.Minute)
	old.GET("/api/me").Expect(http.StatusOK)

	app.SetSecurity(func(s *service.SecuritySettings) { s.SessionLifetimeSeconds = 3600 })
	expectError(t, old.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	young.GET("/api/me").Expect(http.StatusOK)
	app.Clock.Advance(50 * time.Minute)
	expectError(t, young.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")

	// New sessions get the new lifetime, in the cookie too.
	r := app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	if ck := r.SetCookie(cookieName); ck == nil || ck.MaxAge != 3600 {
		t.Fatalf("cookie after shortening: %+v", ck)
	}
}
