package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"gatehouse/server/testkit"
)

func TestCrossSiteRequestsAreRefused(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	anon := app.Client()
	other := app.LoginAs(alice)
	before := snapshot(t, app)

	crossSite := [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
		{"Origin", "null"},
		{"Origin", "http://" + strings.Replace(strings.TrimPrefix(app.URL, "http://"), "127.0.0.1", "localhost", 1)},
		{"Sec-Fetch-Site", "cross-site", "Origin", app.URL},
	}
	requests := []struct {
		client       *testkit.Client
		method, path string
		body         any
	}{
		{anon, "POST", "/api/auth/login", creds("alice", alice.Password)},
		{c, "POST", "/api/auth/logout", nil},
		{c, "POST", "/api/auth/tokens", nil},
		{c, "PATCH", "/api/me", map[string]any{"displayName": "Pwned"}},
		{c, "POST", "/api/me/password", map[string]string{"currentPassword": alice.Password, "newPassword": "Attacker-Chosen-Pass-1"}},
		{c, "DELETE", "/api/me/sessions", nil},
		{c, "DELETE", "/api/me/sessions/" + currentSessionID(t, other), nil},
		{anon, "POST", "/api/setup", map[string]string{"token": "x", "username": "evil", "password": "Attacker-Chosen-Pass-1"}},
	}
	for _, h := range crossSite {
		for _, req := range requests {
			r := req.client.Do(req.method, req.path, req.body, h...)
			if r.Status != http.StatusForbidden || r.ErrorCode() != "cross_origin_refused" {
				t.Errorf("%s %s with %v: %d %s", req.method, req.path, h, r.Status, r.Body)
			}
			if r.SetCookie(cookieName) != nil {
				t.Errorf("%s %s with %v set a cookie", req.method, req.path, h)
			}
		}
	}
	if after := snapshot(t, app); after != before {
		t.Fatalf("refused cross-site requests wrote something:\nbefore %s\nafter  %s", before, after)
	}
	c.GET("/api/me").Expect(http.StatusOK)
	other.GET("/api/me").Expect(http.StatusOK)

	// Same-origin requests pass, whether the browser says so with
	// Sec-Fetch-Site or with Origin (or not at all, as non-browser clients do).
	c.PATCH("/api/me", map[string]any{"displayName": "A"}, "Sec-Fetch-Site", "same-origin").Expect(http.StatusOK)
	c.PATCH("/api/me", map[string]any{"displayName": "B"}, "Origin", app.URL).Expect(http.StatusOK)
	c.PATCH("/api/me", map[string]any{"displayName": "C"}, "Sec-Fetch-Site", "none").Expect(http.StatusOK)
	c.PATCH("/api/me", map[string]any{"displayName": "D"}).Expect(http.StatusOK)
	// Safe methods are not refused (they change nothing, see below).
	c.GET("/api/me", "Sec-Fetch-Site", "cross-site", "Origin", "http://evil.example").Expect(http.StatusOK)
}

// TestTextPlainJSONIsRefused covers the "simple request" a foreign page can
// send without a preflight: a form or fetch with a text/plain JSON body.
func TestTextPlainJSONIsRefused(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	before := snapshot(t, app)
	for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		r := c.Do("PATCH", "/api/me", `{"displayName":"Pwned"}`, "Content-Type", ct)
		expectError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
		fresh := app.Client()
		r = fresh.Do("POST", "/api/auth/login", `{"identifier":"alice","password":"`+alice.Password+`"}`, "Content-Type", ct)
		expectError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
		if r.SetCookie(cookieName) != nil {
			t.Fatalf("text/plain sign-in (%s) set a cookie", ct)
		}
	}
	if after := snapshot(t, app); after != before {
		t.Fatalf("refused requests wrote something:\nbefore %s\nafter  %s", before, after)
	}
	// The media type is matched exactly, with parameters allowed.
	c.Do("PATCH", "/api/me", `{"displayName":"Fine"}`, "Content-Type", "application/json; charset=utf-8").Expect(http.StatusOK)
}

// TestGETNeverChangesState sends GET and HEAD to the path of every
// state-changing route: they must not reach the handler, and nothing may
// be written.
func TestGETNeverChangesState(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	bob := app.Member("bob")
	c := app.LoginAs(root)
	c.SkipSpec = true
	bobClient := app.LoginAs(bob)

	param := regexp.MustCompile(`:([A-Za-z0-9_]+)|\*([A-Za-z0-9_]+)`)
	gets := map[string]bool{}
	for _, r := range app.Server.Routes() {
		if r.Method == http.MethodGet {
			gets[r.Path] = true
		}
	}
	before := snapshot(t, app)
	n := 0
	for _, r := range app.Server.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			continue
		}
		n++
		url := param.ReplaceAllStringFunc(r.Path, func(p string) string {
			switch p {
			case ":publicId":
				return bob.PublicID
			case ":group":
				return "security"
			case ":id":
				return currentSessionID(t, bobClient)
			}
			return "1"
		})
		for _, m := range []string{"GET", "HEAD"} {
			res := c.Do(m, url+"?token=x&identifier=root&password=x&role=super_admin", nil)
			if !gets[r.Path] && res.Status != http.StatusNotFound {
				t.Errorf("%s %s (route is %s): status %d", m, url, r.Method, res.Status)
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d state-changing routes found", n)
	}
	if after := snapshot(t, app); after != before {
		t.Fatalf("GET/HEAD changed state:\nbefore %s\nafter  %s", before, after)
	}
	c.GET("/api/me").Expect(http.StatusOK)
	bobClient.GET("/api/me").Expect(http.StatusOK)
}
