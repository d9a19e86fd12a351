package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/server/testkit"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestForwardAuth_BrowserRefusalIsAPageInTheUsersLanguage: a browser
// (Accept: text/html) refused by forward auth sees a small page in its
// language explaining the refusal, with a way to sign in as someone else
// and to the account page, instead of raw English JSON; API clients keep
// the JSON answer, and every status (and the 401 sign-in offer) stays.
func TestForwardAuth_BrowserRefusalIsAPageInTheUsersLanguage(t *testing.T) {
	t.Parallel()
	app, root := forwardApp(t)
	createProtectedApp(t, root, "Grafana", []string{"grafana.gatehouse.test"}, []string{"admin", "super_admin"})
	createProtectedApp(t, root, "Wiki", []string{appHost}, []string{"user"})
	alice := proxyClient(t, app, app.Member("alice"))

	page := func(r *testkit.Response) string {
		t.Helper()
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("Content-Type %q, body %s", ct, r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
		return string(r.Body)
	}

	// Signed in with the role refused: the account's language (en), not the
	// browser's.
	body := page(check(alice, "grafana.gatehouse.test", "/d/1", "Accept", browserAccept, "Accept-Language", "zh-CN,zh;q=0.9").Expect(http.StatusForbidden))
	rd := url.QueryEscape("https://grafana.gatehouse.test/d/1")
	for _, want := range []string{
		`<html lang="en">`,
		"alice",
		"grafana.gatehouse.test",
		"role",
		`href="http://auth.gatehouse.test/login?prompt=login&amp;next=` + url.QueryEscape("/api/forward-auth/sign-in?rd="+rd) + `"`,
		`href="http://auth.gatehouse.test/account/profile"`,
		"Sign in as someone else",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the English page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `"error"`) {
		t.Errorf("the page is JSON: %s", body)
	}

	// The account's language set to 简体中文: the page follows it.
	alice.PATCH("/api/me", map[string]any{"language": "zh-CN"}).Expect(http.StatusOK)
	body = page(check(alice, "grafana.gatehouse.test", "/d/1", "Accept", browserAccept, "Accept-Language", "en-US").Expect(http.StatusForbidden))
	for _, want := range []string{`<html lang="zh-CN">`, "以其他账户登录", "alice"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Chinese page lacks %q:\n%s", want, body)
		}
	}

	// A host no app names, signed in: a page too.
	body = page(check(alice, "other.gatehouse.test", "/", "Accept", browserAccept).Expect(http.StatusForbidden))
	if !strings.Contains(body, "other.gatehouse.test") {
		t.Errorf("the unknown-host page does not name the host:\n%s", body)
	}

	// API clients keep the JSON answer.
	for _, accept := range []string{"application/json", "", "*/*"} {
		r := check(alice, "grafana.gatehouse.test", "/", "Accept", accept).Expect(http.StatusForbidden)
		if code := errorCode(t, r); code != "forward_auth_role_refused" {
			t.Errorf("Accept %q: code %q", accept, code)
		}
	}

	// Anonymous on an unknown host: no sign-in to offer, a page in the
	// browser's language.
	body = page(check(app.Client(), "other.gatehouse.test", "/", "Accept", browserAccept, "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5").Expect(http.StatusUnauthorized))
	if !strings.Contains(body, `<html lang="zh-CN">`) {
		t.Errorf("the anonymous page is not in the browser's language:\n%s", body)
	}

	// The 401 sign-in offer is unchanged for browsers too.
	r := check(app.Client(), appHost, "/x", "Accept", browserAccept).Expect(http.StatusUnauthorized)
	if !strings.HasPrefix(r.Header.Get("Location"), "http://auth.gatehouse.test/api/forward-auth/sign-in?rd=") {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	if code := errorCode(t, r); code == "" {
		t.Errorf("the 401 with a sign-in offer changed: %s", r.Body)
	}
}
