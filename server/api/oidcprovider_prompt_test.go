package api_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// authTimeOf answers the auth_time claim of a verified ID token.
func authTimeOf(t *testing.T, idt *gooidc.IDToken) time.Time {
	t.Helper()
	var claims struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.AuthTime == 0 {
		t.Fatal("the ID token has no auth_time")
	}
	return time.Unix(claims.AuthTime, 0).UTC()
}

// exchange redeems the code of a callback URL and verifies the ID token.
func (r *rp) exchange(cb *url.URL, verifier string) (*oauth2.Token, *gooidc.IDToken) {
	r.t.Helper()
	code := cb.Query().Get("code")
	if code == "" {
		r.t.Fatalf("callback without a code: %s", cb)
	}
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		r.t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		r.t.Fatal(err)
	}
	return tok, idt
}

// signInAgain signs the browser c in again as u (the sign-in page's
// request), ending its previous session.
func signInAgain(c *testkit.Client, u *testkit.User) {
	c.POST("/api/auth/login", map[string]string{"identifier": u.Username, "password": u.Password}).Expect(http.StatusOK)
}

// wantReauth checks that an authorization went to the sign-in page asking
// for a fresh sign-in (prompt=login), with the way back; it answers the
// way back.
func wantReauth(t *testing.T, loc *url.URL) string {
	t.Helper()
	next := loc.Query().Get("next")
	if loc.Path != "/login" || loc.Query().Get("prompt") != "login" || !strings.HasPrefix(next, "/oauth/resume?id=") {
		t.Fatalf("authorization went to %s, want the sign-in page with prompt=login", loc)
	}
	return next
}

// TestOIDCProvider_PromptLogin: prompt=login sends a signed-in browser to
// the sign-in page (which shows the form although a session exists); the
// old session does not complete the request, a fresh sign-in does, and
// auth_time is the fresh sign-in's.
func TestOIDCProvider_PromptLogin(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.Member("mia")
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	c := app.LoginAs(mia)
	first := app.Clock.Now().Truncate(time.Second)
	app.Clock.Advance(10 * time.Minute)

	verifier := oauth2.GenerateVerifier()
	start := r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1"), oauth2.SetAuthURLParam("prompt", "login"))
	next := wantReauth(t, browse(t, app, c, start))
	// Coming back without signing in again asks again.
	wantReauth(t, browse(t, app, c, next))

	app.Clock.Advance(time.Minute)
	again := app.Clock.Now().Truncate(time.Second)
	signInAgain(c, mia)
	cb := browse(t, app, c, next)
	if cb.Query().Get("state") != "st" {
		t.Fatalf("callback %s", cb)
	}
	_, idt := r.exchange(cb, verifier)
	if at := authTimeOf(t, idt); !at.Equal(again) {
		t.Fatalf("auth_time %s, want the fresh sign-in's %s (first sign-in %s)", at, again, first)
	}

	// Without prompt, the same session goes straight through, and
	// auth_time stays that sign-in's.
	app.Clock.Advance(5 * time.Minute)
	_, idt = r.login(c)
	if at := authTimeOf(t, idt); !at.Equal(again) {
		t.Fatalf("auth_time %s, want %s", at, again)
	}
}

// TestOIDCProvider_MaxAge: a session younger than max_age completes the
// request (auth_time: its sign-in); an older one asks for a fresh sign-in;
// with prompt=none an older one answers login_required.
func TestOIDCProvider_MaxAge(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.Member("mia")
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	c := app.LoginAs(mia)
	first := app.Clock.Now().Truncate(time.Second)
	app.Clock.Advance(10 * time.Minute)

	verifier := oauth2.GenerateVerifier()
	cb := browse(t, app, c, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1"), oauth2.SetAuthURLParam("max_age", "3600")))
	_, idt := r.exchange(cb, verifier)
	if at := authTimeOf(t, idt); !at.Equal(first) {
		t.Fatalf("auth_time %s, want the sign-in's %s", at, first)
	}

	// 300 s: the 10-minute-old session is too old.
	cb = browse(t, app, c, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("max_age", "300"), oauth2.SetAuthURLParam("prompt", "none")))
	if cb.Host != "rp.example.com" || cb.Query().Get("error") != "login_required" || cb.Query().Get("state") != "st" || cb.Query().Get("code") != "" {
		t.Fatalf("max_age exceeded with prompt=none went to %s", cb)
	}
	next := wantReauth(t, browse(t, app, c, r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1"), oauth2.SetAuthURLParam("max_age", "300"))))
	wantReauth(t, browse(t, app, c, next))
	app.Clock.Advance(2 * time.Minute) // signing in may take longer than max_age
	again := app.Clock.Now().Truncate(time.Second)
	signInAgain(c, mia)
	app.Clock.Advance(6 * time.Minute)
	_, idt = r.exchange(browse(t, app, c, next), verifier)
	if at := authTimeOf(t, idt); !at.Equal(again) {
		t.Fatalf("auth_time %s, want the fresh sign-in's %s", at, again)
	}
}

// TestOIDCProvider_PromptNone: prompt=none never shows a page: without a
// session login_required, without remembered consent consent_required, a
// session held by a required password change or second factor
// interaction_required; a signed-in person with nothing to ask gets the
// code.
func TestOIDCProvider_PromptNone(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.Member("mia")
	wiki, wikiSecret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	partner, partnerSecret := registerApp(t, root, map[string]any{"name": "Partner"})
	w := newRP(t, app, wiki, wikiSecret)
	p := newRP(t, app, partner, partnerSecret)
	none := oauth2.SetAuthURLParam("prompt", "none")
	wantError := func(who string, cb *url.URL, code string) {
		t.Helper()
		if cb.Host != "rp.example.com" || cb.Query().Get("error") != code || cb.Query().Get("state") != "st" || cb.Query().Get("code") != "" {
			t.Fatalf("%s: prompt=none went to %s, want error=%s", who, cb, code)
		}
	}

	wantError("signed out", browse(t, app, app.Client(), w.conf.AuthCodeURL("st", oauth2.S256ChallengeOption("x"), none)), "login_required")

	c := app.LoginAs(mia)
	verifier := oauth2.GenerateVerifier()
	cb := browse(t, app, c, w.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), none))
	if _, idt := w.exchange(cb, verifier); idt.Subject != mia.PublicID {
		t.Fatalf("sub %s", idt.Subject)
	}
	wantError("no consent", browse(t, app, c, p.conf.AuthCodeURL("st", oauth2.S256ChallengeOption("x"), none)), "consent_required")

	// A password change is due: no page, interaction_required.
	ctx := context.Background()
	bo := app.Member("bob")
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("must_change_password = ?", true).Where("id = ?", bo.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	bc := app.LoginAs(bo)
	wantError("password change due", browse(t, app, bc, w.conf.AuthCodeURL("st", oauth2.S256ChallengeOption("x"), none)), "interaction_required")

	// A required second factor not yet added: no code, with or without
	// prompt=none (the console asks for it first, as for forward auth).
	app.SetSecurity(func(s *service.SecuritySettings) {
		s.RequireSecondFactor = service.RequireSecondFactorEveryone
		s.SecondFactorGraceDays = 0
	})
	wantError("second factor due", browse(t, app, c, w.conf.AuthCodeURL("st", oauth2.S256ChallengeOption("x"), none)), "interaction_required")
	if loc := browse(t, app, c, w.conf.AuthCodeURL("st", oauth2.S256ChallengeOption("x"))); loc.Path != "/" {
		t.Fatalf("second factor due: authorization went to %s, want the console", loc)
	}
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	formInput  = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)"`)
	scriptTag  = regexp.MustCompile(`<script nonce="([^"]+)">`)
)

// formPost reads an authorization answer in response_mode=form_post: an
// HTML page whose form posts the answer to the redirect URI, which the
// page's policy lets it submit (form-action) with its one script.
func formPost(t *testing.T, app *testkit.App, c *testkit.Client, path string) url.Values {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s %s", path, res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	m := formAction.FindSubmatch(body)
	if m == nil || string(m[1]) != rpCallback {
		t.Fatalf("form action %q in %s", m, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action https://rp.example.com") || strings.Contains(csp, "form-action 'self'") {
		t.Fatalf("the page's policy does not let it post to the application: %q", csp)
	}
	s := scriptTag.FindSubmatch(body)
	if s == nil || !strings.Contains(csp, "script-src 'nonce-"+string(s[1])+"'") {
		t.Fatalf("the page's submit script is not allowed by %q: %s", csp, body)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	out := url.Values{}
	for _, in := range formInput.FindAllSubmatch(body, -1) {
		out.Set(string(in[1]), html.UnescapeString(string(in[2])))
	}
	return out
}

// TestOIDCProvider_FormPost: response_mode=form_post answers with a page
// that posts the code and state (or an error) to the redirect URI; its
// policy allows exactly that; the code is redeemed as usual.
func TestOIDCProvider_FormPost(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.Member("mia")
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	c := app.LoginAs(mia)
	fp := oauth2.SetAuthURLParam("response_mode", "form_post")

	verifier := oauth2.GenerateVerifier()
	// The flow's redirects end at the callback, which answers the page.
	loc := browseUntil(t, app, c, r.conf.AuthCodeURL("st&<x>", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1"), fp), "/oauth/authorize/callback")
	v := formPost(t, app, c, loc.RequestURI())
	if v.Get("state") != "st&<x>" || v.Get("code") == "" || v.Get("error") != "" {
		t.Fatalf("form fields %v", v)
	}
	cb, _ := url.Parse(rpCallback + "?code=" + url.QueryEscape(v.Get("code")))
	if _, idt := r.exchange(cb, verifier); idt.Subject != mia.PublicID {
		t.Fatalf("sub %s", idt.Subject)
	}

	// An error in form_post mode is posted too.
	loc = browseUntil(t, app, app.Client(), r.conf.AuthCodeURL("st2", oauth2.S256ChallengeOption("x"), fp, oauth2.SetAuthURLParam("prompt", "none")), "/oauth/resume")
	v = formPost(t, app, app.Client(), loc.RequestURI())
	if v.Get("error") != "login_required" || v.Get("state") != "st2" || v.Get("code") != "" {
		t.Fatalf("form fields %v", v)
	}
}

// browseUntil follows redirects like browse but stops before requesting
// a path (answered with a page rather than a redirect).
func browseUntil(t *testing.T, app *testkit.App, c *testkit.Client, start, stop string) *url.URL {
	t.Helper()
	next := start
	for i := 0; i < 10; i++ {
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path == stop {
			return u
		}
		if u.Host != "" && u.Host != "gatehouse.test" {
			t.Fatalf("left Gatehouse for %s before %s", u, stop)
		}
		req, _ := http.NewRequest(http.MethodGet, app.URL+u.RequestURI(), nil)
		res, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusFound {
			t.Fatalf("GET %s: %d %s", u.RequestURI(), res.StatusCode, body)
		}
		next = res.Header.Get("Location")
	}
	t.Fatal("too many redirects")
	return nil
}

// TestOIDCProvider_RefreshSeesAccountChanges: the refresh grant reads the
// account from a cache checked against auth_epoch; a change made after a
// refresh (on this instance or another) is seen by the next one: a new
// name is in the next ID token, a suspension refuses it.
func TestOIDCProvider_RefreshSeesAccountChanges(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	other := app.Instance()
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	mia := app.Member("mia")
	tok, _ := r.login(app.LoginAs(mia))
	name := func(tok *oauth2.Token) string {
		t.Helper()
		raw, _ := tok.Extra("id_token").(string)
		idt, err := r.verifier.Verify(r.ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Name string `json:"name"`
		}
		_ = idt.Claims(&c)
		return c.Name
	}
	tok, err := r.refresh(tok.RefreshToken) // the account is cached now
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("display_name = ?", "Mia Two").Where("id = ?", mia.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tok, err = r.refresh(tok.RefreshToken); err != nil || name(tok) != "Mia Two" {
		t.Fatalf("after the rename: %v, name %q", err, name(tok))
	}
	otherRoot := other.LoginAs(app.SuperAdmin("root2"))
	otherRoot.POST("/api/admin/users/"+mia.PublicID+"/status", map[string]any{"status": "suspended", "reason": "test"}).Expect(http.StatusOK)
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Fatal("a refresh after the suspension (on another instance) succeeded")
	}
}

// The discovery document names the response modes the provider answers
// (query, the default, fragment and form_post), which op leaves out.
func TestOIDCProvider_DiscoveryNamesResponseModes(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	var d struct {
		Issuer        string   `json:"issuer"`
		ResponseModes []string `json:"response_modes_supported"`
		TokenEndpoint string   `json:"token_endpoint"`
	}
	app.Client().GET("/.well-known/openid-configuration").Expect(http.StatusOK).JSON(&d)
	if !slices.Equal(d.ResponseModes, []string{"query", "fragment", "form_post"}) {
		t.Fatalf("response_modes_supported %q", d.ResponseModes)
	}
	if d.Issuer == "" || !strings.HasSuffix(d.TokenEndpoint, "/oauth/token") {
		t.Fatalf("discovery %+v", d)
	}
}

// TestOIDCProvider_ResponseModesInEveryAnswer: each mode discovery names
// carries every answer: the code and a consent denial in the fragment with
// response_mode=fragment; a denial, and an error op finds in the request
// itself (a public client without PKCE), posted with form_post.
func TestOIDCProvider_ResponseModesInEveryAnswer(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.Member("mia")
	c := app.LoginAs(mia)
	frag := oauth2.SetAuthURLParam("response_mode", "fragment")
	fp := oauth2.SetAuthURLParam("response_mode", "form_post")
	fragment := func(u *url.URL) url.Values {
		t.Helper()
		if u.RawQuery != "" {
			t.Fatalf("fragment mode answered in the query: %s", u)
		}
		v, err := url.ParseQuery(u.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// The code, in the fragment.
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	wiki := newRP(t, app, id, secret)
	verifier := oauth2.GenerateVerifier()
	v := fragment(browse(t, app, c, wiki.conf.AuthCodeURL("st-f", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1"), frag)))
	if v.Get("state") != "st-f" || v.Get("code") == "" {
		t.Fatalf("fragment %v", v)
	}
	cb, _ := url.Parse(rpCallback + "?code=" + url.QueryEscape(v.Get("code")))
	if _, idt := wiki.exchange(cb, verifier); idt.Subject != mia.PublicID {
		t.Fatalf("sub %s", idt.Subject)
	}

	// A consent denial, in the mode the request asked for.
	pid, psecret := registerApp(t, root, map[string]any{"name": "Partner"})
	partner := newRP(t, app, pid, psecret)
	deny := func(mode oauth2.AuthCodeOption, state string) string {
		t.Helper()
		loc := browse(t, app, c, partner.conf.AuthCodeURL(state, oauth2.S256ChallengeOption("x"), mode))
		if loc.Path != "/consent" {
			t.Fatalf("third-party app went to %s", loc)
		}
		var out struct {
			RedirectURL string `json:"redirectUrl"`
		}
		c.POST("/api/oauth/consent/"+loc.Query().Get("request"), map[string]any{"approve": false}).Expect(http.StatusOK).JSON(&out)
		return out.RedirectURL
	}
	if v := fragment(browse(t, app, c, deny(frag, "st-d"))); v.Get("error") != "access_denied" || v.Get("state") != "st-d" {
		t.Fatalf("denial in fragment mode: %v", v)
	}
	next := deny(fp, "st-p")
	if u, _ := url.Parse(next); u.Host != "" {
		t.Fatalf("denial in form_post mode sent the browser to %s, not to the page that posts it", next)
	}
	if v := formPost(t, app, c, next); v.Get("error") != "access_denied" || v.Get("state") != "st-p" || v.Get("code") != "" {
		t.Fatalf("denial in form_post mode: %v", v)
	}
	// In query mode (the default) it is still in the query.
	if u := browse(t, app, c, deny(oauth2.SetAuthURLParam("response_mode", "query"), "st-q")); u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "st-q" {
		t.Fatalf("denial in query mode: %s", u)
	}

	// An error op finds in the request, posted too.
	pubID, _ := registerApp(t, root, map[string]any{"name": "SPA", "clientType": "public", "firstParty": true})
	pub := newRP(t, app, pubID, "")
	start, _ := url.Parse(pub.conf.AuthCodeURL("st-e", fp))
	if v := formPost(t, app, c, start.RequestURI()); v.Get("error") != "invalid_request" || v.Get("state") != "st-e" {
		t.Fatalf("request error in form_post mode: %v", v)
	}
}

// OpenID Connect Core 3.1.2.1: the authorization endpoint takes GET and
// POST. A relying party that posts its request from its own page does so
// cross-site, without Gatehouse's (SameSite=Lax) cookie; the browser then
// follows the redirect to the sign-in step as usual.
func TestOIDCProvider_AuthorizeByPOST(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.Member("mia")
	c := app.LoginAs(mia)
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	wiki := newRP(t, app, id, secret)
	verifier := oauth2.GenerateVerifier()
	start, err := url.Parse(wiki.conf.AuthCodeURL("st-post", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-post")))
	if err != nil {
		t.Fatal(err)
	}
	res, body := crossSitePost(t, app.URL+start.Path, start.RawQuery)
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: %d %s", start.Path, res.StatusCode, body)
	}
	cb := browse(t, app, c, res.Header.Get("Location"))
	if cb.Query().Get("state") != "st-post" {
		t.Fatalf("callback %s", cb)
	}
	_, idt := wiki.exchange(cb, verifier)
	if idt.Subject != mia.PublicID || idt.Nonce != "n-post" {
		t.Fatalf("sub %s nonce %q", idt.Subject, idt.Nonce)
	}
}
