package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/models"
	"gatehouse/server/config"
	"gatehouse/server/testkit"
)

// Forward auth through the real router: the test client plays the reverse
// proxy (127.0.0.1, trusted) and passes the browser's cookie and the
// original request's X-Forwarded-* headers.

const appHost = "app.gatehouse.test"

// forwardApp is Gatehouse at http://auth.gatehouse.test sharing its
// session cookie with gatehouse.test, trusting the test client as proxy,
// with a super administrator (root) signed in.
func forwardApp(t *testing.T, opts ...testkit.Option) (*testkit.App, *testkit.Client) {
	t.Helper()
	opts = append([]testkit.Option{
		testkit.WithBaseURL("http://auth.gatehouse.test"),
		testkit.WithTrustedProxies("127.0.0.1"),
		func(c *config.Config) { c.CookieDomain = "gatehouse.test" },
	}, opts...)
	app := testkit.NewApp(t, opts...)
	root := app.SuperAdmin("root")
	return app, proxyClient(t, app, root)
}

// proxyClient signs u in and answers a client that sends the session
// cookie by hand (the jar keeps no cookie whose Domain is not the test
// server's 127.0.0.1).
func proxyClient(t *testing.T, app *testkit.App, u *testkit.User) *testkit.Client {
	t.Helper()
	r := app.Client().POST("/api/auth/login", creds(u.Username, u.Password)).Expect(http.StatusOK)
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if strings.HasSuffix(c.Name, cookieName) {
			ck = c
		}
	}
	if ck == nil {
		t.Fatalf("no session cookie: %v", r.Header.Values("Set-Cookie"))
	}
	c := app.Client()
	c.Header.Set("Cookie", ck.Name+"="+ck.Value)
	return c
}

func createProtectedApp(t *testing.T, root *testkit.Client, name string, hosts, roles []string) map[string]any {
	t.Helper()
	var out map[string]any
	root.POST("/api/admin/protected-apps", map[string]any{"name": name, "hosts": hosts, "allowedRoles": roles}).Expect(http.StatusCreated).JSON(&out)
	return out
}

// check asks forward auth as the proxy would for https://host+uri.
func check(c *testkit.Client, host, uri string, extra ...string) *testkit.Response {
	h := append([]string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", host, "X-Forwarded-Uri", uri, "X-Forwarded-Method", "GET"}, extra...)
	return c.GET("/api/forward-auth", h...)
}

func errorCode(t *testing.T, r *testkit.Response) string {
	t.Helper()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	r.JSON(&body)
	return body.Error.Code
}

func TestForwardAuth_ActiveSessionPassesWithIdentityHeaders(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user", "admin", "super_admin"})
	alice := app.CreateUser(testkit.UserSpec{Username: "alice", Email: "alice@example.com"})
	c := proxyClient(t, app, alice)
	// A client's own identity headers reach Gatehouse and are ignored.
	r := check(c, appHost, "/page?x=1", "X-Gatehouse-User", "someone-else", "X-Gatehouse-Role", "super_admin").Expect(http.StatusOK)
	want := map[string]string{"X-Gatehouse-User": alice.PublicID, "X-Gatehouse-Username": "alice", "X-Gatehouse-Email": "alice@example.com", "X-Gatehouse-Name": alice.DisplayName, "X-Gatehouse-Role": "user"}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	// The host may carry the default port, upper case or a trailing dot.
	check(c, "APP.gatehouse.test.:443", "/").Expect(http.StatusOK)
	// Authorization of the app's own is not Gatehouse's to judge.
	check(c, appHost, "/", "Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l").Expect(http.StatusOK)
}

// An account without an address or a display name still gets every
// identity header, empty: a proxy that copies only the headers Gatehouse
// answers (Caddy's copy_headers, Traefik's authResponseHeaders) then
// replaces a visitor's own X-Gatehouse-Email instead of passing it on.
func TestForwardAuth_EveryIdentityHeaderIsAnswered(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user", "admin", "super_admin"})
	nomail := app.CreateUser(testkit.UserSpec{Username: "nomail"})
	if nomail.Email != nil {
		t.Fatalf("the account has an address: %s", *nomail.Email)
	}
	r := check(proxyClient(t, app, nomail), appHost, "/", "X-Gatehouse-Email", "boss@example.com").Expect(http.StatusOK)
	for _, k := range []string{"X-Gatehouse-User", "X-Gatehouse-Username", "X-Gatehouse-Email", "X-Gatehouse-Name", "X-Gatehouse-Role"} {
		if _, ok := r.Header[k]; !ok {
			t.Errorf("no %s header: %v", k, r.Header)
		}
	}
	if v := r.Header.Get("X-Gatehouse-Email"); v != "" {
		t.Errorf("X-Gatehouse-Email %q for an account without an address", v)
	}
}

func TestForwardAuth_WithoutSessionSignInIsOffered(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user"})
	anon := app.Client()
	signIn := "http://auth.gatehouse.test/api/forward-auth/sign-in?rd=" + url.QueryEscape("https://"+appHost+"/docs/a?b=c&d=e")
	// nginx: 401, the sign-in start in Location (its config turns it into a redirect).
	r := check(anon, appHost, "/docs/a?b=c&d=e").Expect(http.StatusUnauthorized)
	if r.Header.Get("Location") != signIn {
		t.Fatalf("Location %q, want %q", r.Header.Get("Location"), signIn)
	}
	// Caddy and Traefik: a redirect the browser follows.
	r = anon.Do("GET", "/api/forward-auth?redirect=true", nil, "X-Forwarded-Proto", "https", "X-Forwarded-Host", appHost, "X-Forwarded-Uri", "/docs/a?b=c&d=e").Expect(http.StatusFound)
	if r.Header.Get("Location") != signIn {
		t.Fatalf("redirect to %q, want %q", r.Header.Get("Location"), signIn)
	}
	// A cookie that opens no session is anonymous; so is a signed-out one.
	garbage := app.Client()
	garbage.Header.Set("Cookie", cookieName+"=garbage")
	check(garbage, appHost, "/").Expect(http.StatusUnauthorized)
	alice := app.Member("alice")
	c := proxyClient(t, app, alice)
	check(c, appHost, "/").Expect(http.StatusOK)
	c.POST("/api/auth/logout", nil).Expect(http.StatusNoContent)
	check(c, appHost, "/").Expect(http.StatusUnauthorized)
}

func TestForwardAuth_RolesPerApp(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Grafana", []string{"grafana.gatehouse.test", "metrics.gatehouse.test:8443"}, []string{"admin", "super_admin"})
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user", "admin"})
	alice := proxyClient(t, app, app.Member("alice"))
	bob := proxyClient(t, app, app.Admin("bob"))
	if code := errorCode(t, check(alice, "grafana.gatehouse.test", "/").Expect(http.StatusForbidden)); code != "forward_auth_role_refused" {
		t.Fatalf("code %q", code)
	}
	check(alice, "metrics.gatehouse.test:8443", "/").Expect(http.StatusForbidden)
	check(alice, appHost, "/").Expect(http.StatusOK)
	check(bob, "grafana.gatehouse.test", "/").Expect(http.StatusOK)
	check(bob, "metrics.gatehouse.test:8443", "/").Expect(http.StatusOK)
	// The super administrator is not on the wiki's list: roles are not ranks.
	check(root, appHost, "/").Expect(http.StatusForbidden)
	// A port the app does not name is another host.
	check(bob, "metrics.gatehouse.test", "/").Expect(http.StatusForbidden)
}

func TestForwardAuth_UnknownHostAndUntrustedPeerAreRefused(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user", "admin", "super_admin"})
	if code := errorCode(t, check(root, "other.gatehouse.test", "/").Expect(http.StatusForbidden)); code != "forward_auth_host_unknown" {
		t.Fatalf("code %q", code)
	}
	// No forwarded host at all: nothing to judge.
	root.GET("/api/forward-auth").Expect(http.StatusForbidden)
	// Malformed forwarded hosts are unknown hosts.
	for _, h := range []string{appHost + ", evil.test", "evil.test/" + appHost, "user@" + appHost, appHost + ":0", "*.gatehouse.test"} {
		check(root, h, "/").Expect(http.StatusForbidden)
	}
	// Anonymous on an unknown host: 401 without a sign-in offer.
	r := check(app.Client(), "other.gatehouse.test", "/").Expect(http.StatusUnauthorized)
	if r.Header.Get("Location") != "" {
		t.Fatalf("sign-in offered for a host no app names: %q", r.Header.Get("Location"))
	}

	// Without --trusted-proxy the X-Forwarded-* headers are not believed.
	untrusted := testkit.NewApp(t, testkit.WithBaseURL("http://auth.gatehouse.test"), func(c *config.Config) { c.CookieDomain = "gatehouse.test" })
	uroot := proxyClient(t, untrusted, untrusted.SuperAdmin("root"))
	createProtectedApp(t, uroot, "Wiki", []string{appHost}, []string{"user", "admin", "super_admin"})
	check(uroot, appHost, "/").Expect(http.StatusForbidden)
	r = check(untrusted.Client(), appHost, "/").Expect(http.StatusUnauthorized)
	if r.Header.Get("Location") != "" {
		t.Fatalf("an untrusted peer's forwarded host got a sign-in offer: %q", r.Header.Get("Location"))
	}
}

func TestForwardAuth_SuspendedAccountIsRefused(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user"})
	alice := app.Member("alice")
	c := proxyClient(t, app, alice)
	check(c, appHost, "/").Expect(http.StatusOK)
	root.POST("/api/admin/users/"+alice.PublicID+"/status", map[string]any{"status": models.StatusSuspended, "reason": "test"}).Expect(http.StatusOK)
	check(c, appHost, "/").Expect(http.StatusUnauthorized)
	// Its sign-in start does not send it back either.
	r := c.GET("/api/forward-auth/sign-in?rd=" + url.QueryEscape("https://"+appHost+"/")).Expect(http.StatusFound)
	if !strings.HasPrefix(r.Header.Get("Location"), "http://auth.gatehouse.test/login?next=") {
		t.Fatalf("suspended session sent to %q", r.Header.Get("Location"))
	}
}

func TestForwardAuth_HeldSessionsGoToTheConsole(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user"})
	alice := app.Member("alice")
	const pw = "Reset-Passphrase-4417"
	root.POST("/api/admin/users/"+alice.PublicID+"/reset-password", map[string]any{"password": pw, "requireChange": true}).Expect(http.StatusOK)
	c := proxyClient(t, app, &testkit.User{User: alice.User, Password: pw})
	c.GET("/api/me").Expect(http.StatusOK)
	// Signed in, but held by the required password change: the app does
	// not let it pass, and its sign-in start sends it to the console
	// (back to the app would loop).
	check(c, appHost, "/").Expect(http.StatusUnauthorized)
	r := c.GET("/api/forward-auth/sign-in?rd=" + url.QueryEscape("https://"+appHost+"/")).Expect(http.StatusFound)
	if got := r.Header.Get("Location"); got != "http://auth.gatehouse.test/" {
		t.Fatalf("held session sent to %q", got)
	}
}

func TestForwardAuth_ReturnURLsStayOnProtectedHosts(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Wiki", []string{appHost, "wiki.gatehouse.test:8080"}, []string{"user", "admin", "super_admin"})
	anon := app.Client()
	good := []string{
		"https://" + appHost + "/",
		"https://" + appHost + "/a/b?c=d#e",
		"http://" + appHost + "/plain-http-while-gatehouse-is-http",
		"https://APP.gatehouse.test:443/x",
		"http://wiki.gatehouse.test:8080/x",
	}
	for _, rd := range good {
		r := anon.GET("/api/forward-auth/sign-in?rd=" + url.QueryEscape(rd)).Expect(http.StatusFound)
		loc, _ := url.Parse(r.Header.Get("Location"))
		next := loc.Query().Get("next")
		if loc.Host != "auth.gatehouse.test" || loc.Path != "/login" || !strings.HasPrefix(next, "/api/forward-auth/sign-in?rd=") {
			t.Fatalf("rd %q: anonymous sent to %q", rd, loc)
		}
		// Signed in, the same start returns to rd.
		r = root.GET(next).Expect(http.StatusFound)
		if got := r.Header.Get("Location"); !strings.EqualFold(got, rd) {
			t.Fatalf("rd %q: signed in sent to %q", rd, got)
		}
	}
	bad := []string{
		"", "/", "/relative", "//evil.test/", "https://evil.test/", "https:evil.test", "https:/evil.test",
		"https://" + appHost + ".evil.test/", "https://evil.test/" + appHost, "https://evil.test?" + appHost,
		"https://" + appHost + "@evil.test/", "https://user:pw@" + appHost + "/", "https://evil.test\\@" + appHost + "/",
		"https://" + appHost + "\\@evil.test/", "\thttps://evil.test/", "https://evil.test\t/", " https://" + appHost + "/",
		"javascript:alert(1)//" + appHost, "data:text/html,x", "ftp://" + appHost + "/",
		"https://wiki.gatehouse.test/", "https://wiki.gatehouse.test:8081/", "https://auth.gatehouse.test/",
		"https://%65vil.test/", "https://" + appHost + "%2F@evil.test/", "https://[::1]/", "https://127.0.0.1/",
		"https://" + appHost + ":99999/",
	}
	for _, rd := range bad {
		for _, c := range []*testkit.Client{anon, root} {
			r := c.GET("/api/forward-auth/sign-in?rd=" + url.QueryEscape(rd))
			if r.Status != http.StatusBadRequest || errorCode(t, r) != "invalid_return_url" {
				t.Fatalf("rd %q: status %d Location %q, want 400 invalid_return_url", rd, r.Status, r.Header.Get("Location"))
			}
		}
	}
	// Over HTTPS, a return to plain http is refused (no downgrade).
	secure, sroot := forwardApp(t, testkit.WithBaseURL("https://auth.gatehouse.test"))
	_ = secure
	createProtectedApp(t, sroot, "Wiki", []string{appHost}, []string{"super_admin"})
	sroot.GET("/api/forward-auth/sign-in?rd=" + url.QueryEscape("http://"+appHost+"/")).Expect(http.StatusBadRequest)
	sroot.GET("/api/forward-auth/sign-in?rd=" + url.QueryEscape("https://"+appHost+"/")).Expect(http.StatusFound)
}

func TestForwardAuth_CookieDomain(t *testing.T) {
	t.Parallel()
	// Over HTTPS with a cookie domain: __Secure- (a __Host- cookie may not
	// carry a Domain), Domain set, still Secure, HttpOnly, Lax.
	app := testkit.NewApp(t, testkit.WithBaseURL("https://auth.gatehouse.test"), func(c *config.Config) { c.CookieDomain = ".Gatehouse.test" })
	alice := app.Member("alice")
	r := app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	if r.SetCookie("__Host-"+cookieName) != nil || r.SetCookie(cookieName) != nil {
		t.Fatalf("wrong cookie name with a cookie domain: %v", r.Header.Values("Set-Cookie"))
	}
	ck := r.SetCookie("__Secure-" + cookieName)
	if ck == nil || ck.Domain != "gatehouse.test" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Fatalf("cookie %+v", ck)
	}
	// The second-factor challenge and device cookies stay on Gatehouse's host.
	c := app.Client()
	c.Header.Set("Cookie", ck.Name+"="+ck.Value)
	c.GET("/api/me").Expect(http.StatusOK)
	out := c.POST("/api/auth/logout", nil).Expect(http.StatusNoContent)
	if cl := out.SetCookie("__Secure-" + cookieName); cl == nil || cl.MaxAge >= 0 || cl.Domain != "gatehouse.test" {
		t.Fatalf("logout did not clear the shared cookie: %v", out.Header.Values("Set-Cookie"))
	}

	// Without a cookie domain the cookie stays __Host- (TestSessionCookieOverHTTPS),
	// and a protected host must be Gatehouse's own host name (any port).
	plain, proot := func() (*testkit.App, *testkit.Client) {
		a := testkit.NewApp(t, testkit.WithBaseURL("https://auth.gatehouse.test"))
		return a, proxyClient(t, a, a.SuperAdmin("root"))
	}()
	_ = plain
	var e struct {
		Error struct {
			Code   string
			Fields map[string]struct{ Code string } `json:"fieldErrors"`
		} `json:"error"`
	}
	proot.POST("/api/admin/protected-apps", map[string]any{"name": "Wiki", "hosts": []string{appHost}, "allowedRoles": []string{"user"}}).Expect(http.StatusUnprocessableEntity).JSON(&e)
	if e.Error.Fields["hosts"].Code != "host_outside_cookie_domain" {
		t.Fatalf("%+v", e)
	}
	createProtectedApp(t, proot, "Same host", []string{"auth.gatehouse.test:8443"}, []string{"user"})

	// A cookie domain the base URL's host is not under is a start error.
	for _, d := range []string{"example.com", "other.gatehouse.test", "auth.gatehouse.test.evil", "127.0.0.1"} {
		cfg := &config.Config{DataDir: t.TempDir(), BaseURL: "https://auth.gatehouse.test", CookieDomain: d}
		if err := cfg.Normalize(); err == nil {
			t.Errorf("cookie domain %q accepted for auth.gatehouse.test", d)
		}
	}
	cfg := &config.Config{DataDir: t.TempDir(), BaseURL: "https://127.0.0.1:8080", CookieDomain: "0.0.1"}
	if err := cfg.Normalize(); err == nil {
		t.Error("a cookie domain accepted for an IP base URL")
	}
}

func TestForwardAuth_ProtectedAppsAreManagedBySuperAdmins(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	bob := proxyClient(t, app, app.Admin("bob"))
	alice := proxyClient(t, app, app.Member("alice"))
	body := map[string]any{"name": "Wiki", "hosts": []string{appHost}, "allowedRoles": []string{"user"}}
	bob.POST("/api/admin/protected-apps", body).Expect(http.StatusForbidden)
	alice.GET("/api/admin/protected-apps").Expect(http.StatusForbidden)
	created := createProtectedApp(t, root, "Wiki", []string{"App.Gatehouse.test", appHost + ":443"}, []string{"admin", "user", "user"})
	id := int64(created["id"].(float64))
	if h := created["hosts"].([]any); len(h) != 1 || h[0] != appHost {
		t.Fatalf("hosts %v", h)
	}
	if r := created["allowedRoles"].([]any); len(r) != 2 || r[0] != "user" || r[1] != "admin" {
		t.Fatalf("roles %v", r)
	}
	var list struct {
		Items          []map[string]any
		ForwardAuthURL string `json:"forwardAuthUrl"`
		CookieDomain   string
	}
	bob.GET("/api/admin/protected-apps").Expect(http.StatusOK).JSON(&list)
	if len(list.Items) != 1 || list.ForwardAuthURL != "http://auth.gatehouse.test/api/forward-auth" || list.CookieDomain != "gatehouse.test" {
		t.Fatalf("%+v", list)
	}
	path := "/api/admin/protected-apps/" + itoa(id)
	bob.GET(path).Expect(http.StatusOK)
	bob.PATCH(path, map[string]any{"allowedRoles": []string{"admin"}}).Expect(http.StatusForbidden)
	bob.DELETE(path).Expect(http.StatusForbidden)

	// Field errors, all at once.
	var e struct {
		Error struct {
			Fields map[string]struct{ Code string } `json:"fieldErrors"`
		} `json:"error"`
	}
	root.POST("/api/admin/protected-apps", map[string]any{"name": " ", "hosts": []string{"https://x.gatehouse.test/"}, "allowedRoles": []string{"owner"}}).Expect(http.StatusUnprocessableEntity).JSON(&e)
	if e.Error.Fields["name"].Code != "length_range_line" || e.Error.Fields["hosts"].Code != "invalid_protected_host" || e.Error.Fields["allowedRoles"].Code != "one_of" {
		t.Fatalf("%+v", e)
	}
	root.POST("/api/admin/protected-apps", map[string]any{"name": "Other", "hosts": []string{"x.gatehouse.test", appHost}, "allowedRoles": []string{"user"}}).Expect(http.StatusUnprocessableEntity).JSON(&e)
	if e.Error.Fields["hosts"].Code != "host_taken" {
		t.Fatalf("%+v", e)
	}
	root.POST("/api/admin/protected-apps", map[string]any{"name": "Empty", "hosts": []string{}, "allowedRoles": []string{}}).Expect(http.StatusUnprocessableEntity)

	// A change applies to the next check.
	check(alice, appHost, "/").Expect(http.StatusOK)
	root.PATCH(path, map[string]any{"allowedRoles": []string{"admin"}}).Expect(http.StatusOK)
	check(alice, appHost, "/").Expect(http.StatusForbidden)
	check(bob, appHost, "/").Expect(http.StatusOK)
	root.PATCH(path, map[string]any{"hosts": []string{"wiki.gatehouse.test"}}).Expect(http.StatusOK)
	check(bob, appHost, "/").Expect(http.StatusForbidden)
	check(bob, "wiki.gatehouse.test", "/").Expect(http.StatusOK)
	root.DELETE(path).Expect(http.StatusNoContent)
	check(bob, "wiki.gatehouse.test", "/").Expect(http.StatusForbidden)
	root.GET(path).Expect(http.StatusNotFound)

	for _, action := range []string{"protected_app.created", "protected_app.updated", "protected_app.deleted"} {
		if len(auditRows(t, app, action, "")) == 0 {
			t.Errorf("no %s audit row", action)
		}
	}
}

// A header that names an identity header with underscores (X-Gatehouse_Email,
// x_gatehouse_role) is refused. Caddy and Traefik pass such headers on to
// the app untouched (they are other names to them), and apps behind CGI,
// PHP or WSGI read X-Gatehouse_Email and X-Gatehouse-Email as the same
// HTTP_X_GATEHOUSE_EMAIL, so a visitor could name herself. Both proxies
// hand the visitor's headers to forward auth, which refuses them here, for
// every proxy configuration. The hyphenated names stay harmless: the
// proxies overwrite them with the answer's.
func TestForwardAuth_UnderscoreIdentityHeadersAreRefused(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user", "admin", "super_admin"})
	alice := app.CreateUser(testkit.UserSpec{Username: "alice", Email: "alice@example.com"})
	c := proxyClient(t, app, alice)
	for _, name := range []string{"X-Gatehouse_Email", "x_gatehouse_role", "X_GATEHOUSE-USERNAME", "X-Gatehouse_Anything"} {
		r := check(c, appHost, "/", name, "root")
		if r.Status != http.StatusForbidden || errorCode(t, r) != "forward_auth_header_refused" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
		if r.Header.Get("X-Gatehouse-User") != "" {
			t.Errorf("%s: answered identity headers", name)
		}
	}
	// Signed out too: no sign-in is offered to a forged request.
	r := check(app.Client(), appHost, "/", "X-Gatehouse_Role", "super_admin")
	if r.Status != http.StatusForbidden || r.Header.Get("Location") != "" {
		t.Errorf("signed out: %d, Location %q", r.Status, r.Header.Get("Location"))
	}
	// Other underscore headers are the app's business.
	check(c, appHost, "/", "X_Request_Id", "abc", "X-Gatehouse", "x").Expect(http.StatusOK)
}
