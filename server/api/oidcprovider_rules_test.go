package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Issue 16's account rules, claims and application settings, each seen
// through a relying party (go-oidc + x/oauth2).

// claimsOf answers the verified ID token's claims of a token response.
func (r *rp) claimsOf(tok *oauth2.Token) map[string]any {
	r.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]any{}
	if err := idt.Claims(&out); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// userinfoClaims answers the userinfo endpoint's claims for an access token.
func (r *rp) userinfoClaims(tok *oauth2.Token) map[string]any {
	r.t.Helper()
	ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]any{}
	if err := ui.Claims(&out); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// startCode runs the authorization for c up to the callback and answers
// its code and the PKCE verifier, unredeemed.
func (r *rp) startCode(c *testkit.Client) (string, string) {
	r.t.Helper()
	verifier := oauth2.GenerateVerifier()
	cb := browse(r.t, r.app, c, r.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1")))
	code := cb.Query().Get("code")
	if code == "" {
		r.t.Fatalf("no code: %s", cb)
	}
	return code, verifier
}

// TestOIDCProvider_ClaimsPerScope: sub is the public ID; profile adds
// name, preferred_username, locale and zoneinfo; email adds email and
// email_verified; gatehouse adds the role, status and plan under the
// "gatehouse" claim; a scope not asked for adds nothing, in the ID token
// and at userinfo alike.
func TestOIDCProvider_ClaimsPerScope(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.CreateUser(testkit.UserSpec{Username: "mia", Email: "mia@example.com"})
	c := app.LoginAs(mia)
	c.PATCH("/api/me", map[string]any{"displayName": "Mia Example", "language": "zh-CN", "timezone": "Asia/Shanghai"}).Expect(http.StatusOK)
	setBilling(t, app, "period")
	plan := root.POST("/api/admin/plans", map[string]any{"name": "Pro", "periodDays": 30}).Expect(http.StatusCreated).Map()
	root.PATCH("/api/admin/users/"+mia.PublicID, map[string]any{"planId": plan["id"]}).Expect(http.StatusOK)
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})

	all := newRP(t, app, id, secret)
	tok, _ := all.login(c)
	for where, claims := range map[string]map[string]any{"ID token": all.claimsOf(tok), "userinfo": all.userinfoClaims(tok)} {
		want := map[string]any{"sub": mia.PublicID, "email": "mia@example.com", "email_verified": false, "name": "Mia Example",
			"preferred_username": "mia", "locale": "zh-CN", "zoneinfo": "Asia/Shanghai"}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("%s: %s = %v, want %v", where, k, claims[k], v)
			}
		}
		gh, _ := claims[service.GatehouseClaim].(map[string]any)
		if gh["role"] != "user" || gh["status"] != "active" || gh["plan"] != "Pro" || gh["planExpiresAt"] == nil {
			t.Errorf("%s: %s claim %v", where, service.GatehouseClaim, claims[service.GatehouseClaim])
		}
	}

	only := newRP(t, app, id, secret, gooidc.ScopeOpenID)
	tok, _ = only.login(c)
	for where, claims := range map[string]map[string]any{"ID token": only.claimsOf(tok), "userinfo": only.userinfoClaims(tok)} {
		if claims["sub"] != mia.PublicID {
			t.Errorf("%s: sub %v", where, claims["sub"])
		}
		for _, k := range []string{"email", "email_verified", "name", "preferred_username", "locale", "zoneinfo", service.GatehouseClaim} {
			if v, ok := claims[k]; ok {
				t.Errorf("%s with the openid scope alone: %s = %v", where, k, v)
			}
		}
	}
	if tok.RefreshToken != "" {
		t.Error("a refresh token without offline_access")
	}
}

// refused checks that an account's refresh token, access token and a code
// issued before the change are all refused now.
func refused(t *testing.T, r *rp, what string, tok *oauth2.Token, code, verifier string) {
	t.Helper()
	if _, err := r.refresh(tok.RefreshToken); err == nil {
		t.Errorf("%s: the refresh token still works", what)
	}
	if st := r.userinfoStatus(tok.AccessToken); st == http.StatusOK {
		t.Errorf("%s: the access token still works", what)
	}
	if code != "" {
		if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); err == nil {
			t.Errorf("%s: a code issued before got tokens", what)
		}
	}
}

// TestOIDCProvider_AccountStatesGetNoTokens: deactivated, deleted and
// locked accounts (suspended: TestOIDCProvider_SuspendedRefused) get no
// tokens for a code issued before, no refresh, and their access tokens
// stop working; a locked account's session is sent back with
// access_denied.
func TestOIDCProvider_AccountStatesGetNoTokens(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 3 })
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)

	dee := app.Member("dee")
	c := app.LoginAs(dee)
	tok, _ := r.login(c)
	code, verifier := r.startCode(c)
	root.POST("/api/admin/users/"+dee.PublicID+"/status", map[string]any{"status": "deactivated", "reason": "left"}).Expect(http.StatusOK)
	refused(t, r, "deactivated", tok, code, verifier)

	del := app.Member("del")
	c = app.LoginAs(del)
	tok, _ = r.login(c)
	code, verifier = r.startCode(c)
	root.DELETE("/api/admin/users/" + del.PublicID + "?confirm=del").Expect(http.StatusNoContent)
	refused(t, r, "deleted", tok, code, verifier)

	lou := app.Member("lou")
	c = app.LoginAs(lou)
	tok, _ = r.login(c)
	code, verifier = r.startCode(c)
	for i := 0; i < 3; i++ {
		app.Client().POST("/api/auth/login", creds("lou", "wrong-password-1"))
	}
	if !app.Reload(lou).LockedAt(app.Clock.Now()) {
		t.Fatal("lou is not locked")
	}
	refused(t, r, "locked", tok, code, verifier)
	if cb := browse(t, app, c, r.conf.AuthCodeURL("s", oauth2.S256ChallengeOption("x"))); cb.Query().Get("error") != "access_denied" {
		t.Errorf("a locked account's session signed in to the application: %s", cb)
	}
}

// TestOIDCProvider_ResetsEndRefreshTokens: an administrator's password
// reset and second-factor reset, and the person's own password change,
// end the account's application tokens.
func TestOIDCProvider_ResetsEndRefreshTokens(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)

	pat := app.Member("pat")
	tok, _ := r.login(app.LoginAs(pat))
	root.POST("/api/admin/users/"+pat.PublicID+"/reset-password", map[string]any{"generate": true, "reason": "ticket 1"}).Expect(http.StatusOK)
	refused(t, r, "password reset", tok, "", "")

	tess := app.Member("tess")
	tok, _ = r.login(app.LoginAs(tess))
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("totp_enabled_at = ?", app.Clock.Now()).Where("id = ?", tess.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	root.POST("/api/admin/users/"+tess.PublicID+"/reset-2fa", map[string]any{"reason": "lost phone"}).Expect(http.StatusOK)
	refused(t, r, "second-factor reset", tok, "", "")

	ole := app.Member("ole")
	c := app.LoginAs(ole)
	tok, _ = r.login(c)
	c.POST("/api/me/password", map[string]any{"currentPassword": ole.Password, "newPassword": "Another-Passphrase-77!"}).Expect(http.StatusNoContent)
	refused(t, r, "own password change", tok, "", "")
}

// TestOIDCProvider_ApplicationSettingsApply: the roles and statuses an
// application admits, its token lifetimes (and no refresh token when its
// refresh lifetime is 0), a rotated secret's overlap, and introspection
// only for confidential clients, about their own tokens.
func TestOIDCProvider_ApplicationSettingsApply(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	member := app.LoginAs(app.Member("mia"))
	admin := app.LoginAs(app.Admin("adam"))

	// Roles: an application for administrators refuses a member.
	opsID, opsSecret := registerApp(t, root, map[string]any{"name": "Ops", "firstParty": true, "allowedRoles": []string{"admin", "super_admin"},
		"accessTokenLifetime": 120, "idTokenLifetime": 300, "refreshTokenLifetime": 0})
	ops := newRP(t, app, opsID, opsSecret)
	if cb := browse(t, app, member, ops.conf.AuthCodeURL("s", oauth2.S256ChallengeOption("x"))); cb.Query().Get("error") != "access_denied" || cb.Query().Get("code") != "" {
		t.Fatalf("a member signed in to an application for administrators: %s", cb)
	}
	tok, idt := ops.login(admin)
	// Lifetimes: the ID token's and the access token's; no refresh token.
	if life := idt.Expiry.Sub(idt.IssuedAt); life != 300*time.Second {
		t.Errorf("ID token lifetime %s, want 5m", life)
	}
	if in := time.Until(tok.Expiry); in < 100*time.Second || in > 121*time.Second {
		t.Errorf("access token expires in %s, want 2m", in)
	}
	if tok.RefreshToken != "" {
		t.Error("a refresh token from an application whose refresh lifetime is 0")
	}
	if st := ops.userinfoStatus(tok.AccessToken); st != http.StatusOK {
		t.Fatalf("userinfo %d", st)
	}
	app.Clock.Advance(121 * time.Second)
	if st := ops.userinfoStatus(tok.AccessToken); st == http.StatusOK {
		t.Error("the access token works past its lifetime")
	}

	// Statuses: an account that becomes pending (its address to confirm
	// again) keeps an application that admits pending accounts and loses
	// one that admits active accounts only.
	strictID, strictSecret := registerApp(t, root, map[string]any{"name": "Strict", "firstParty": true})
	looseID, looseSecret := registerApp(t, root, map[string]any{"name": "Loose", "firstParty": true, "allowedStatuses": []string{"active", "pending"}})
	strict, loose := newRP(t, app, strictID, strictSecret), newRP(t, app, looseID, looseSecret)
	pen := app.Member("pen")
	pc := app.LoginAs(pen)
	st, _ := strict.login(pc)
	lt, _ := loose.login(pc)
	if err := models.SetUserStatusRaw(context.Background(), app.Svc.DB, pen.ID, models.StatusPending); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.refresh(st.RefreshToken); err == nil {
		t.Error("a pending account refreshed at an application for active accounts only")
	}
	if _, err := loose.refresh(lt.RefreshToken); err != nil {
		t.Errorf("a pending account at an application that admits pending accounts: %v", err)
	}

	// A rotated secret: the old one works during the overlap, not after.
	wikiID, oldSecret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	wikiApp := appByClientID(t, root, wikiID)
	var rotated appAnswer
	root.POST("/api/admin/applications/"+itoa(wikiApp)+"/secret", map[string]any{"overlapSeconds": 3600}).Expect(http.StatusOK).JSON(&rotated)
	withOld := newRP(t, app, wikiID, oldSecret)
	withNew := newRP(t, app, wikiID, *rotated.ClientSecret)
	withOld.login(member)
	tok, _ = withNew.login(member)
	app.Clock.Advance(3601 * time.Second)
	if _, err := withOld.refresh(tok.RefreshToken); err == nil {
		t.Error("the previous secret works after the overlap")
	}
	if _, err := withNew.refresh(tok.RefreshToken); err != nil {
		t.Errorf("the new secret: %v", err)
	}

	// Introspection: a public client is refused; a confidential client
	// learns nothing about another application's token.
	pubID, _ := registerApp(t, root, map[string]any{"name": "SPA", "clientType": "public", "firstParty": true})
	pub := newRP(t, app, pubID, "")
	tok, _ = withNew.login(member)
	if st, in := pub.post("/oauth/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {pubID}}, false); st == http.StatusOK && in["active"] == true {
		t.Errorf("a public client introspected a token: %d %v", st, in)
	}
	otherID, otherSecret := registerApp(t, root, map[string]any{"name": "Other", "firstParty": true})
	other := newRP(t, app, otherID, otherSecret)
	if st, in := other.post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, true); st != http.StatusOK || in["active"] == true {
		t.Errorf("another application introspected Wiki's token: %d %v", st, in)
	}
	if st, in := withNew.post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, true); st != http.StatusOK || in["active"] != true {
		t.Errorf("Wiki introspecting its own token: %d %v", st, in)
	}
}

// appByClientID answers the ID of the application with clientID.
func appByClientID(t *testing.T, c *testkit.Client, clientID string) int64 {
	t.Helper()
	var list struct {
		Items []struct {
			ID       int64  `json:"id"`
			ClientID string `json:"clientId"`
		} `json:"items"`
	}
	c.GET("/api/admin/applications").Expect(http.StatusOK).JSON(&list)
	for _, a := range list.Items {
		if a.ClientID == clientID {
			return a.ID
		}
	}
	t.Fatalf("no application %s", clientID)
	return 0
}

// TestOIDCProvider_SigningKeyMadeAtStartAndSealed: the first start makes
// one signing key; its private half is stored sealed (the secret box of
// the other secrets), opens to the key whose public half the JWKS
// publishes, and the JWKS carries no private part.
func TestOIDCProvider_SigningKeyMadeAtStartAndSealed(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	var rows []models.SigningKey
	if err := app.Svc.DB.NewSelect().Model(&rows).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d signing keys after the first start, want 1", len(rows))
	}
	k := rows[0]
	if der, err := base64.StdEncoding.DecodeString(k.PrivateKeySealed); err == nil {
		if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
			t.Fatal("the private key is stored in the clear")
		}
	}
	plain, err := app.Svc.Box.Open(k.PrivateKeySealed)
	if err != nil {
		t.Fatalf("the stored key does not open with the secret box: %v", err)
	}
	der, _ := base64.StdEncoding.DecodeString(plain)
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	body := string(app.Client().GET("/oauth/keys").Expect(http.StatusOK).Body)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(body), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].KeyID != k.ID || !set.Keys[0].IsPublic() || strings.Contains(body, `"d"`) {
		t.Fatalf("JWKS %s", body)
	}
	if !priv.(*ecdsa.PrivateKey).PublicKey.Equal(set.Keys[0].Key) {
		t.Fatal("the published key is not the stored key's public half")
	}
}

// TestOIDCProvider_PKCEForConfidentialClients: a confidential client may
// leave PKCE out, and when it sends it, only S256 is accepted.
func TestOIDCProvider_PKCEForConfidentialClients(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	mia := app.Member("mia")
	c := app.LoginAs(mia)
	id, secret := registerApp(t, root, map[string]any{"name": "Wiki", "firstParty": true})
	r := newRP(t, app, id, secret)
	cb := browse(t, app, c, r.conf.AuthCodeURL("s", gooidc.Nonce("n-1")))
	tok, err := r.conf.Exchange(r.ctx, cb.Query().Get("code"))
	if err != nil {
		t.Fatalf("a confidential client without PKCE: %v (callback %s)", err, cb)
	}
	if r.claimsOf(tok)["sub"] != mia.PublicID {
		t.Fatal("wrong subject")
	}
	cb = browse(t, app, c, r.conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", "abc"), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	if cb.Query().Get("error") != "invalid_request" || cb.Query().Get("code") != "" {
		t.Fatalf("plain PKCE from a confidential client: %s", cb)
	}
}
