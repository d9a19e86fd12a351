package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

const rpCallback = "https://rp.example.com/cb"

// rp is a relying party (go-oidc + x/oauth2) talking to the provider of
// a test app, whose issuer is http://gatehouse.test: its HTTP client sends
// every request to the test server.
type rp struct {
	t        testing.TB
	app      *testkit.App
	ctx      context.Context
	http     *http.Client
	provider *gooidc.Provider
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func newRP(t testing.TB, app *testkit.App, clientID, secret string, scopes ...string) *rp {
	t.Helper()
	target, _ := url.Parse(app.URL)
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, target.Host)
	}}
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(tr.CloseIdleConnections)
	ctx := gooidc.ClientContext(context.Background(), hc)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	p, err := gooidc.NewProvider(ctx, app.Cfg.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess, "gatehouse"}
	}
	conf := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpCallback, Scopes: scopes}
	return &rp{t: t, app: app, ctx: ctx, http: hc, provider: p, conf: conf, verifier: p.Verifier(&gooidc.Config{ClientID: clientID})}
}

// browse follows the provider's redirects with the browser c (a signed-in
// testkit client) until they leave Gatehouse (the RP's callback) or reach
// a console page (/login, /consent); it answers that location.
func browse(t testing.TB, app *testkit.App, c *testkit.Client, start string) *url.URL {
	t.Helper()
	next := start
	for i := 0; i < 10; i++ {
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		if u.Host != "" && u.Host != "gatehouse.test" {
			return u
		}
		if p := u.Path; p == "/login" || p == "/consent" || p == "/" {
			return u
		}
		req, _ := http.NewRequest(http.MethodGet, app.URL+u.RequestURI(), nil)
		res, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET %s: %d %s", u.RequestURI(), res.StatusCode, body)
		}
		next = res.Header.Get("Location")
	}
	t.Fatal("too many redirects")
	return nil
}

// login runs the code flow with PKCE for the browser c and answers the
// tokens and the verified ID token.
func (r *rp) login(c *testkit.Client) (*oauth2.Token, *gooidc.IDToken) {
	r.t.Helper()
	verifier := oauth2.GenerateVerifier()
	start := r.conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1"))
	cb := browse(r.t, r.app, c, start)
	code := cb.Query().Get("code")
	if code == "" || cb.Query().Get("state") != "st-1" {
		r.t.Fatalf("callback %s", cb)
	}
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		r.t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		r.t.Fatal(err)
	}
	if id.Nonce != "n-1" {
		r.t.Fatalf("nonce %q", id.Nonce)
	}
	return tok, id
}

// userinfo answers the userinfo status for an access token.
func (r *rp) userinfoStatus(access string) int {
	req, _ := http.NewRequest(http.MethodGet, r.app.Cfg.BaseURL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := r.http.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (r *rp) refresh(rt string) (*oauth2.Token, error) {
	return r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: rt}).Token()
}

func (r *rp) post(path string, form url.Values, basic bool) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodPost, r.app.Cfg.BaseURL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(r.conf.ClientID), url.QueryEscape(r.conf.ClientSecret))
	}
	res, err := r.http.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func registerApp(t testing.TB, root *testkit.Client, body map[string]any) (string, string) {
	t.Helper()
	if body["redirectUris"] == nil {
		body["redirectUris"] = []string{rpCallback}
	}
	a := createApp(t, root, body)
	secret := ""
	if a.ClientSecret != nil {
		secret = *a.ClientSecret
	}
	return a.Application.ClientID, secret
}

// TestOIDCProvider_CodeFlowWithPKCE: a real RP signs a person in with the
// code flow and PKCE; the ID token carries the documented claims, userinfo
// and introspection answer; an unregistered redirect URI is refused
// without a redirect; a public client without PKCE is refused.
func TestOIDCProvider_CodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.CreateUser(testkit.UserSpec{Username: "mia", Email: "mia@example.com"})
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)

	// Not signed in: to the sign-in page, with a same-origin way back.
	anon := app.Client()
	loc := browse(t, app, anon, r.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if loc.Path != "/login" || !strings.HasPrefix(loc.Query().Get("next"), "/oauth/resume?id=") {
		t.Fatalf("anonymous authorize went to %s", loc)
	}

	c := app.LoginAs(mia)
	tok, idt := r.login(c)
	if idt.Subject != mia.PublicID {
		t.Fatalf("sub %q, want the public ID %q", idt.Subject, mia.PublicID)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims["email"] != "mia@example.com" || claims["preferred_username"] != "mia" {
		t.Fatalf("claims %v", claims)
	}
	gh, _ := claims["gatehouse"].(map[string]any)
	if gh["role"] != "user" || gh["status"] != "active" {
		t.Fatalf("gatehouse claim %v", claims["gatehouse"])
	}
	if tok.RefreshToken == "" {
		t.Fatal("offline_access gave no refresh token")
	}
	ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != mia.PublicID || ui.Email != "mia@example.com" {
		t.Fatalf("userinfo %+v %v", ui, err)
	}
	st, in := r.post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, true)
	if st != 200 || in["active"] != true || in["sub"] != mia.PublicID {
		t.Fatalf("introspect %d %v", st, in)
	}
	if st, in := r.post("/oauth/introspect", url.Values{"token": {"nonsense"}}, true); st != 200 || in["active"] == true {
		t.Fatalf("introspect of nonsense %d %v", st, in)
	}

	// A redirect URI that is not registered exactly: refused at the
	// provider, never sent there.
	bad := r.conf
	bad.RedirectURL = rpCallback + "/evil"
	req, _ := http.NewRequest(http.MethodGet, strings.Replace(bad.AuthCodeURL("s", oauth2.S256ChallengeOption("x")), "http://gatehouse.test", app.URL, 1), nil)
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusFound && strings.HasPrefix(res.Header.Get("Location"), rpCallback) {
		t.Fatalf("unregistered redirect URI was used: %s", res.Header.Get("Location"))
	}

	// A public client must use PKCE (S256).
	pubID, _ := registerApp(t, root, map[string]any{"name": "SPA", "clientType": "public", "firstParty": true})
	pub := newRP(t, app, pubID, "")
	cb := browse(t, app, c, pub.conf.AuthCodeURL("s"))
	if cb.Query().Get("error") != "invalid_request" || cb.Query().Get("code") != "" {
		t.Fatalf("public client without PKCE: %s", cb)
	}
	cb = browse(t, app, c, pub.conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", "abc"), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	if cb.Query().Get("error") != "invalid_request" {
		t.Fatalf("plain PKCE accepted: %s", cb)
	}
	if _, idt := pub.login(c); idt.Subject != mia.PublicID {
		t.Fatal("public client with PKCE failed")
	}
}

// TestOIDCProvider_CodeReplayRevokes: a code works once; presented again
// it is refused and the tokens issued from it are revoked.
func TestOIDCProvider_CodeReplayRevokes(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.Member("mia")
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	c := app.LoginAs(mia)
	verifier := oauth2.GenerateVerifier()
	cb := browse(t, app, c, r.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	code := cb.Query().Get("code")
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if st := r.userinfoStatus(tok.AccessToken); st != 200 {
		t.Fatalf("userinfo %d", st)
	}
	if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code was accepted twice")
	}
	if st := r.userinfoStatus(tok.AccessToken); st == http.StatusOK {
		t.Fatalf("access token from a replayed code still works: %d", st)
	}
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Fatal("refresh token from a replayed code still works")
	}
}

// TestOIDCProvider_RefreshRotationAndReuse: each refresh answers a new
// refresh token; presenting a rotated one again revokes the whole family.
func TestOIDCProvider_RefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	tok, _ := r.login(app.LoginAs(app.Member("mia")))
	t2, err := r.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if t2.RefreshToken == "" || t2.RefreshToken == tok.RefreshToken {
		t.Fatal("the refresh token did not rotate")
	}
	if raw, _ := t2.Extra("id_token").(string); raw == "" {
		t.Fatal("no ID token on refresh")
	} else if _, err := r.verifier.Verify(r.ctx, raw); err != nil {
		t.Fatal(err)
	}
	t3, err := r.refresh(t2.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// Reuse of a rotated token: refused, and the family is gone.
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Fatal("a rotated refresh token was accepted")
	}
	if _, err := r.refresh(t3.RefreshToken); err == nil {
		t.Fatal("the family's newest refresh token survived a reuse")
	}
	if st := r.userinfoStatus(t3.AccessToken); st == http.StatusOK {
		t.Fatalf("the family's access token survived a reuse: %d", st)
	}
	// RFC 7009 revocation of a fresh grant.
	t4, _ := r.login(app.LoginAs(app.Member("max")))
	if st, _ := r.post("/oauth/revoke", url.Values{"token": {t4.RefreshToken}}, true); st != 200 {
		t.Fatalf("revoke %d", st)
	}
	if _, err := r.refresh(t4.RefreshToken); err == nil {
		t.Fatal("a revoked refresh token was accepted")
	}
}

// TestOIDCProvider_KeyRotation: a client that caches the JWKS verifies
// tokens signed with the new key after a rotation (it fetches the set
// again for an unknown kid), and the old key stays published.
func TestOIDCProvider_KeyRotation(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	c := app.LoginAs(app.Member("mia"))
	tok1, _ := r.login(c)
	rot, err := app.Svc.OIDC.RotateSigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := r.login(c) // verified with the same cached verifier
	raw1, _ := tok1.Extra("id_token").(string)
	raw2, _ := tok2.Extra("id_token").(string)
	if kid(t, raw1) != rot.OldKeyID || kid(t, raw2) != rot.NewKeyID {
		t.Fatalf("kids %s %s, rotation %+v", kid(t, raw1), kid(t, raw2), rot)
	}
	if _, err := r.verifier.Verify(r.ctx, raw1); err != nil {
		t.Fatalf("a token signed with the old key no longer verifies: %v", err)
	}
	res, err := r.http.Get(app.Cfg.BaseURL + "/oauth/keys")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	_ = json.NewDecoder(res.Body).Decode(&set)
	res.Body.Close()
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want the new and the old", len(set.Keys))
	}
	// Past the retention the old key leaves the set.
	app.Clock.Advance(25 * 3600 * 1e9)
	if _, err := app.Svc.OIDC.RotateSigningKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys, err := app.Svc.OIDC.KeySet(context.Background())
	if err != nil || len(keys) != 2 {
		t.Fatalf("after a second rotation: %d keys %v", len(keys), err)
	}
	for _, k := range keys {
		if k.ID() == rot.OldKeyID {
			t.Fatal("an expired key is still published")
		}
	}
}

func kid(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	b, err := base64URL(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Kid
}

// TestOIDCProvider_Logout: RP-initiated logout with an id_token_hint
// ends the Gatehouse session and the application's tokens and returns to
// a registered post-logout URI; an unregistered one is refused.
func TestOIDCProvider_Logout(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true, "postLogoutRedirectUris": []string{"https://rp.example.com/bye"}})
	r := newRP(t, app, id, secret)
	c := app.LoginAs(app.Member("mia"))
	tok, _ := r.login(c)
	hint, _ := tok.Extra("id_token").(string)

	req, _ := http.NewRequest(http.MethodGet, app.URL+"/oauth/end_session?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example.com/"}}.Encode(), nil)
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("unregistered post-logout URI: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	c.GET("/api/me").Expect(http.StatusOK)

	out := browse(t, app, c, app.Cfg.BaseURL+"/oauth/end_session?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://rp.example.com/bye"}, "state": {"z"}}.Encode())
	if out.Host != "rp.example.com" || out.Path != "/bye" || out.Query().Get("state") != "z" {
		t.Fatalf("logout went to %s", out)
	}
	c.GET("/api/me").Expect(http.StatusUnauthorized)
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Fatal("refresh token survived the logout")
	}
}

// TestOIDCProvider_SuspendedRefused: a suspended account gets no tokens
// at the token endpoint (code issued before) nor by refresh; an account
// whose sessions an administrator revokes loses its refresh tokens.
func TestOIDCProvider_SuspendedRefused(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	mia := app.Member("mia")
	c := app.LoginAs(mia)
	tok, _ := r.login(c)

	verifier := oauth2.GenerateVerifier()
	cb := browse(t, app, c, r.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	root.POST("/api/admin/users/"+mia.PublicID+"/status", map[string]any{"status": "suspended", "reason": "test"}).Expect(http.StatusOK)
	if _, err := r.conf.Exchange(r.ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a suspended account got tokens for a code")
	}
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Fatal("a suspended account refreshed")
	}
	if st := r.userinfoStatus(tok.AccessToken); st == http.StatusOK {
		t.Fatalf("a suspended account's access token works: %d", st)
	}

	max := app.Member("max")
	tm, _ := r.login(app.LoginAs(max))
	root.POST("/api/admin/users/"+max.PublicID+"/revoke-sessions", nil).Expect(http.StatusOK)
	if _, err := r.refresh(tm.RefreshToken); err == nil {
		t.Fatal("refresh token survived revoke-sessions")
	}
}

// TestOIDCProvider_ConsentRememberedAndRevoked: a third-party application
// asks consent once; it is remembered, listed on the account and revoked
// there (with the tokens); a denial returns access_denied.
func TestOIDCProvider_ConsentRememberedAndRevoked(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Partner"})
	r := newRP(t, app, id, secret)
	c := app.LoginAs(app.Member("mia"))

	start := r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption("x"))
	loc := browse(t, app, c, start)
	if loc.Path != "/consent" {
		t.Fatalf("third-party app went to %s", loc)
	}
	reqID := loc.Query().Get("request")
	// Someone else cannot read or answer it.
	other := app.LoginAs(app.Member("eve"))
	other.GET("/api/oauth/consent/" + reqID).Expect(http.StatusNotFound)
	var cr struct {
		Application struct{ Name string } `json:"application"`
		Scopes      []string              `json:"scopes"`
	}
	c.GET("/api/oauth/consent/" + reqID).Expect(http.StatusOK).JSON(&cr)
	if cr.Application.Name != "Partner" || len(cr.Scopes) == 0 {
		t.Fatalf("consent request %+v", cr)
	}
	var deny struct {
		RedirectURL string `json:"redirectUrl"`
	}
	c.POST("/api/oauth/consent/"+reqID, map[string]any{"approve": false}).Expect(http.StatusOK).JSON(&deny)
	if u := browse(t, app, c, deny.RedirectURL); u.Host != "rp.example.com" || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "st" {
		t.Fatalf("deny went to %s", u)
	}

	// Approve: the flow goes on to the code.
	verifier := oauth2.GenerateVerifier()
	loc = browse(t, app, c, r.conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1")))
	var ok struct {
		RedirectURL string `json:"redirectUrl"`
	}
	c.POST("/api/oauth/consent/"+loc.Query().Get("request"), map[string]any{"approve": true}).Expect(http.StatusOK).JSON(&ok)
	cb := browse(t, app, c, ok.RedirectURL)
	tok, err := r.conf.Exchange(r.ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	// Remembered: the next sign-in goes straight through.
	r.login(c)
	var grants struct {
		Items []struct {
			ClientID string   `json:"clientId"`
			Scopes   []string `json:"scopes"`
		} `json:"items"`
	}
	c.GET("/api/me/app-grants").Expect(http.StatusOK).JSON(&grants)
	if len(grants.Items) != 1 || grants.Items[0].ClientID != id {
		t.Fatalf("grants %+v", grants)
	}
	c.DELETE("/api/me/app-grants/" + id).Expect(http.StatusNoContent)
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Fatal("refresh token survived the revoked grant")
	}
	if loc := browse(t, app, c, start); loc.Path != "/consent" {
		t.Fatalf("after revoking, sign-in went to %s", loc)
	}
	c.DELETE("/api/me/app-grants/" + id).Expect(http.StatusNotFound)
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// The schedule: RotateIfDue (run by every instance's background loop)
// leaves a key younger than KeyRotationInterval alone and replaces an
// older one, and the replaced key stays published beside the new one.
func TestOIDCProvider_ScheduledKeyRotation(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	if err := app.Svc.OIDC.RotateIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := app.Svc.OIDC.KeySet(ctx)
	if err != nil || len(first) != 1 {
		t.Fatalf("keys at start: %d, %v", len(first), err)
	}
	app.Clock.Advance(service.KeyRotationInterval - time.Hour)
	if err := app.Svc.OIDC.RotateIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, _ := app.Svc.OIDC.KeySet(ctx); len(keys) != 1 {
		t.Fatalf("a key younger than the interval was rotated: %d keys", len(keys))
	}
	app.Clock.Advance(2 * time.Hour)
	if err := app.Svc.OIDC.RotateIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := app.Svc.OIDC.KeySet(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("after the interval: %d keys, %v; want the new key and the old one", len(keys), err)
	}
	// A second instance's check right after finds the new key young.
	if err := app.Svc.OIDC.RotateIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := app.Svc.OIDC.KeySet(ctx); len(again) != 2 {
		t.Fatalf("rotated twice: %d keys", len(again))
	}
}

// RP-Initiated Logout 1.0 §2: the logout endpoint takes GET and POST. A
// relying party's page posts it cross-site, where the browser leaves out
// Gatehouse's SameSite=Lax cookie; the POST is turned into the same GET
// (303), a top-level navigation that carries the session, so the logout
// ends the Gatehouse session as the GET does.
func TestOIDCProvider_LogoutByPOST(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true, "postLogoutRedirectUris": []string{"https://rp.example.com/bye"}})
	r := newRP(t, app, id, secret)
	c := app.LoginAs(app.Member("mia"))
	tok, _ := r.login(c)
	hint, _ := tok.Extra("id_token").(string)

	form := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://rp.example.com/bye"}, "state": {"z"}}
	res, body := crossSitePost(t, app.URL+"/oauth/end_session", form.Encode())
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc == nil || loc.Host != "" || loc.Path != "/oauth/end_session" {
		t.Fatalf("POST /oauth/end_session: %d %s %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	c.GET("/api/me").Expect(http.StatusOK)
	out := browse(t, app, c, loc.String())
	if out.Host != "rp.example.com" || out.Path != "/bye" || out.Query().Get("state") != "z" {
		t.Fatalf("logout went to %s", out)
	}
	c.GET("/api/me").Expect(http.StatusUnauthorized)
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Fatal("refresh token survived the logout")
	}
}

// crossSitePost posts form as a browser does from the application's page
// (another site, without the SameSite=Lax session cookie) and answers the
// response without following its redirect.
func crossSitePost(t *testing.T, target, form string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://rp.example.com")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, body
}
