package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"gatehouse/models"
	"gatehouse/server/service"
)

func TestProviderSignInRegistersThenSignsIn(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app

	// The provider answer names the callback under the configured base
	// URL, whatever Host the request came with; the secret stays inside.
	p := w.rc.GET("/api/admin/identity-providers/"+itoa(w.id), "Host", "evil.example").Expect(200).Map()
	if p["callbackUrl"] != "http://gatehouse.test/api/auth/oidc/mock/callback" || p["clientSecretSet"] != true {
		t.Fatalf("provider: %v", p)
	}
	if _, has := p["clientSecret"]; has {
		t.Fatal("client secret in the answer")
	}
	var row models.IdentityProvider
	if err := app.Svc.DB.NewSelect().Model(&row).Where("id = ?", w.id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if row.ClientSecretSealed == "" || strings.Contains(row.ClientSecretSealed, w.mock.ClientSecret) {
		t.Fatal("client secret not sealed at rest")
	}

	c := app.Client()
	start := c.GET("/api/auth/oidc/mock/start?next=" + url.QueryEscape("/account/profile")).Expect(http.StatusFound)
	auth, _ := url.Parse(start.Header.Get("Location"))
	q := auth.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || len(q.Get("state")) < 40 {
		t.Fatalf("authorization request lacks PKCE, nonce or state: %s", auth)
	}
	if q.Get("redirect_uri") != "http://gatehouse.test/api/auth/oidc/mock/callback" {
		t.Fatalf("redirect_uri %q", q.Get("redirect_uri"))
	}
	flow := start.SetCookie("gatehouse_oidc")
	if flow == nil || !flow.HttpOnly || flow.MaxAge != 600 || flow.SameSite != http.SameSiteLaxMode {
		t.Fatalf("flow cookie %+v", flow)
	}

	r := w.fromProvider(c, verified("sub-dana", "dana", "dana@example.org"), start.Header.Get("Location"))
	if got := location(t, r); got != "/account/profile" {
		t.Fatalf("landed on %q", got)
	}
	me := c.GET("/api/me").Expect(200).Map()
	if me["username"] != "dana" || me["email"] != "dana@example.org" || me["emailVerified"] != true || me["hasPassword"] != false || me["role"] != "user" {
		t.Fatalf("registered account: %v", me)
	}
	dana := userByUsername(t, app, "dana")
	if ids := identitiesOf(t, app, dana.ID); len(ids) != 1 || ids[0].Subject != "sub-dana" {
		t.Fatalf("identities %+v", ids)
	}
	sessions := mySessions(c)
	if len(sessions) != 1 || sessions[0].Method != "provider:mock" {
		t.Fatalf("sessions %+v", sessions)
	}
	acts := strings.Join(app.AuditActions(dana.PublicID), ",")
	if !strings.Contains(acts, "user.registered_via_provider") || !strings.Contains(acts, "account.identity_linked") || !strings.Contains(acts, "auth.login_succeeded") {
		t.Fatalf("audit: %s", acts)
	}

	// The second time the identity signs the same account in; a person
	// with the same username elsewhere gets a new, unique username.
	c2 := app.Client()
	location(t, w.roundTrip(c2, verified("sub-dana", "dana", "dana@example.org"), ""))
	if c2.GET("/api/me").Expect(200).Map()["publicId"] != dana.PublicID {
		t.Fatal("second sign-in reached another account")
	}
	c3 := app.Client()
	location(t, w.roundTrip(c3, &person{sub: "other-dana", extra: map[string]any{"preferred_username": "dana"}}, ""))
	other := c3.GET("/api/me").Expect(200).Map()
	if other["username"] != "dana-2" || other["email"] != nil || other["publicId"] == dana.PublicID {
		t.Fatalf("second dana: %v", other)
	}
}

func TestProviderStateIsSingleUseBoundAndExpiring(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	c := app.Client()
	start := c.GET("/api/auth/oidc/mock/start").Expect(http.StatusFound)
	cb := w.authorize(c, verified("s1", "erin", "erin@example.org"), start.Header.Get("Location"))
	browser := start.SetCookie("gatehouse_oidc").Value

	// Another browser (no flow cookie, or a wrong one) cannot use the state.
	wantRefused(t, app.Client().GET(cb.RequestURI()), "state_invalid")
	stranger := app.Client()
	stranger.Header.Set("Cookie", "gatehouse_oidc=forged-value")
	wantRefused(t, stranger.GET(cb.RequestURI()), "state_invalid")
	// The browser that started it can, once.
	if got := location(t, c.GET(cb.RequestURI())); got != "/" {
		t.Fatalf("landed on %q", got)
	}
	replay := app.Client()
	replay.Header.Set("Cookie", "gatehouse_oidc="+browser)
	wantRefused(t, replay.GET(cb.RequestURI()), "state_invalid")

	// Parallel replays of a fresh state: exactly one gets through.
	d := app.Client()
	start = d.GET("/api/auth/oidc/mock/start").Expect(http.StatusFound)
	cb = w.authorize(d, verified("s1", "erin", "erin@example.org"), start.Header.Get("Location"))
	value := start.SetCookie("gatehouse_oidc").Value
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := app.Client()
			b.Header.Set("Cookie", "gatehouse_oidc="+value)
			if r := b.GET(cb.RequestURI()); r.Status == http.StatusFound && r.Header.Get("Location") == "/" {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d parallel uses of one state succeeded", ok.Load())
	}

	// After ten minutes the state is void.
	e := app.Client()
	start = e.GET("/api/auth/oidc/mock/start").Expect(http.StatusFound)
	cb = w.authorize(e, verified("s1", "erin", "erin@example.org"), start.Header.Get("Location"))
	app.Clock.Advance(service.StateLifetime + time.Second)
	wantRefused(t, e.GET(cb.RequestURI()), "state_invalid")

	// A state is good only at the provider that started it.
	if len(auditRows(t, app, service.ActionLoginFailed, "")) < 4 {
		t.Fatal("refusals not audited")
	}
}

func TestProviderTokenChecks(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	// An ID token minted for another sign-in (its nonce is not ours).
	wrongNonce := verified("s-n", "nina", "nina@example.org")
	wrongNonce.tweak = func(c *mockoidc.IDTokenClaims) { c.Nonce = "someone-elses-nonce" }
	wantRefused(t, w.roundTrip(app.Client(), wrongNonce, ""), "nonce_mismatch")
	noNonce := verified("s-n", "nina", "nina@example.org")
	noNonce.tweak = func(c *mockoidc.IDTokenClaims) { c.Nonce = "" }
	wantRefused(t, w.roundTrip(app.Client(), noNonce, ""), "nonce_mismatch")
	// An ID token issued to another client.
	wrongAud := verified("s-a", "abe", "abe@example.org")
	wrongAud.tweak = func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }
	wantRefused(t, w.roundTrip(app.Client(), wrongAud, ""), "id_token_invalid")
	// An ID token from another issuer.
	wrongIss := verified("s-i", "ivy", "ivy@example.org")
	wrongIss.tweak = func(c *mockoidc.IDTokenClaims) { c.Issuer = "https://evil.example" }
	wantRefused(t, w.roundTrip(app.Client(), wrongIss, ""), "id_token_invalid")
	// An expired ID token.
	expired := verified("s-e", "eve", "eve@example.org")
	expired.tweak = func(c *mockoidc.IDTokenClaims) { c.ExpiresAt = jwt.NewNumericDate(app.Clock.Now().Add(-time.Hour)) }
	wantRefused(t, w.roundTrip(app.Client(), expired, ""), "id_token_invalid")
	// The provider refusing (the person pressed "cancel").
	c := app.Client()
	start := c.GET("/api/auth/oidc/mock/start").Expect(http.StatusFound)
	auth, _ := url.Parse(start.Header.Get("Location"))
	wantRefused(t, c.GET("/api/auth/oidc/mock/callback?error=access_denied&state="+url.QueryEscape(auth.Query().Get("state"))), "provider_denied")

	n, err := app.Svc.DB.NewSelect().Model((*models.User)(nil)).Count(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("%d accounts exist (want only root): %v", n, err)
	}
	rows := auditRows(t, app, service.ActionLoginFailed, "")
	if len(rows) < 6 || details(t, rows[0])["provider"] != "mock" {
		t.Fatalf("refusals not audited with the provider: %d rows", len(rows))
	}
}

func TestProviderAutoLinkOnlyOnVerifiedEmailBothSides(t *testing.T) {
	t.Parallel()
	w := newIdP(t, map[string]any{"autoLinkByEmail": true})
	app := w.app
	bob := app.Member("bob") // bob@example.com, verified below
	verifyEmail(t, app, bob)
	carol := app.Member("carol") // carol@example.com, never verified

	claims := func(v any, present bool) *person {
		p := &person{sub: "p-bob", extra: map[string]any{"preferred_username": "bobby", "email": "bob@example.com"}}
		if present {
			p.extra["email_verified"] = v
		}
		return p
	}
	// email_verified false, the string "true", or missing: never a link.
	// (Registration would reuse bob's address, which is refused too.)
	for name, p := range map[string]*person{"false": claims(false, true), "string": claims("true", true), "missing": claims(nil, false), "one": claims(1, true)} {
		r := w.roundTrip(app.Client(), p, "")
		if got := location(t, r); got != "/login?error=email_in_use" {
			t.Fatalf("email_verified %s: redirect %q", name, got)
		}
	}
	if ids := identitiesOf(t, app, bob.ID); len(ids) != 0 {
		t.Fatalf("linked without a verified email: %+v", ids)
	}
	// Verified by the provider, but the local address is unverified: no link.
	r := w.roundTrip(app.Client(), &person{sub: "p-carol", extra: map[string]any{"email": "carol@example.com", "email_verified": true}}, "")
	if got := location(t, r); got != "/login?error=email_in_use" {
		t.Fatalf("unverified local email: %q", got)
	}
	if ids := identitiesOf(t, app, carol.ID); len(ids) != 0 {
		t.Fatal("linked to an unverified local address")
	}
	// Verified on both sides: linked and signed in as bob.
	c := app.Client()
	location(t, w.roundTrip(c, claims(true, true), ""))
	if c.GET("/api/me").Expect(200).Map()["username"] != "bob" {
		t.Fatal("not signed in as bob")
	}
	if ids := identitiesOf(t, app, bob.ID); len(ids) != 1 {
		t.Fatalf("identities %+v", ids)
	}
	if rows := auditRows(t, app, service.ActionIdentityLinked, bob.PublicID); len(rows) != 1 || details(t, rows[0])["via"] != "verified_email" {
		t.Fatal("auto-link not audited")
	}

	// With auto-link off, even a doubly verified address does not link.
	w.patch(map[string]any{"autoLinkByEmail": false}).Expect(200)
	dan := app.Member("dan")
	verifyEmail(t, app, dan)
	wantRefused(t, w.roundTrip(app.Client(), &person{sub: "p-dan", extra: map[string]any{"email": "dan@example.com", "email_verified": true}}, ""), "email_in_use")
	if len(identitiesOf(t, app, dan.ID)) != 0 {
		t.Fatal("linked with auto-link off")
	}
	// Never by username: a provider username equal to a local one is a new account.
	c = app.Client()
	location(t, w.roundTrip(c, &person{sub: "p-x", extra: map[string]any{"preferred_username": "dan"}}, ""))
	if me := c.GET("/api/me").Expect(200).Map(); me["username"] == "dan" || me["publicId"] == dan.PublicID {
		t.Fatalf("matched by username: %v", me)
	}
}

func TestProviderControlsAndAccountStatus(t *testing.T) {
	t.Parallel()
	w := newIdP(t, map[string]any{"registrationEnabled": false})
	app := w.app
	// Registration off: an unknown identity is refused.
	wantRefused(t, w.roundTrip(app.Client(), verified("new", "newbie", "newbie@example.org"), ""), "registration_disabled")

	w.patch(map[string]any{"registrationEnabled": true}).Expect(200)
	location(t, w.roundTrip(app.Client(), verified("fay", "fay", "fay@example.org"), ""))
	fay := userByUsername(t, app, "fay")

	// Login off: an existing identity is refused.
	w.patch(map[string]any{"loginEnabled": false}).Expect(200)
	wantRefused(t, w.roundTrip(app.Client(), verified("fay", "fay", "fay@example.org"), ""), "login_disabled")
	w.patch(map[string]any{"loginEnabled": true}).Expect(200)

	// Third-party sign-in off: start is refused.
	w.setSignin(true, true, false).Expect(200)
	wantRefused(t, app.Client().GET("/api/auth/oidc/mock/start"), "provider_unavailable")
	if opts := app.Client().GET("/api/auth/options").Expect(200).Map(); len(opts["providers"].([]any)) != 0 {
		t.Fatal("providers offered while third-party sign-in is off")
	}
	w.setSignin(true, true, true).Expect(200)

	// A suspended account is refused, and the callback does not revive it.
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("status = ?", models.StatusSuspended).Where("id = ?", fay.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, w.roundTrip(app.Client(), verified("fay", "fay", "fay@example.org"), ""), "account_suspended")
	if got := userByUsername(t, app, "fay"); got.Status != models.StatusSuspended {
		t.Fatal("the callback changed the status")
	}
	// A locked account too.
	until := app.Clock.Now().Add(time.Hour)
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("status = ?", models.StatusActive).Set("locked_until = ?", until).Where("id = ?", fay.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, w.roundTrip(app.Client(), verified("fay", "fay", "fay@example.org"), ""), "account_unavailable")
	// Unknown provider.
	wantRefused(t, app.Client().GET("/api/auth/oidc/nope/start"), "provider_unavailable")
}

func TestProviderSignInStillAsksForTwoFactor(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	gil := app.Member("gil")
	c := app.LoginAs(gil)
	// Link from the account page (POST, bound to this session).
	link := c.POST("/api/me/identities/mock/link", map[string]string{"password": gil.Password}).Expect(200).Map()
	r := w.fromProvider(c, verified("p-gil", "gil", "gil@example.com"), link["redirectUrl"].(string))
	if got := location(t, r); got != "/account/providers?linked=mock" {
		t.Fatalf("link landed on %q", got)
	}
	secret, _ := enrol(t, app, c, gil.Password)

	b := app.Client()
	r = w.roundTrip(b, verified("p-gil", "gil", "gil@example.com"), "/account/security")
	if got := location(t, r); got != "/login?mfa=1&next="+url.QueryEscape("/account/security") {
		t.Fatalf("2FA account landed on %q", got)
	}
	if r.SetCookie(cookieName) != nil || r.SetCookie("gatehouse_mfa") == nil {
		t.Fatal("provider sign-in skipped the second factor")
	}
	b.GET("/api/me").Expect(401)
	app.Clock.Advance(30 * time.Second)
	b.POST("/api/auth/mfa", map[string]string{"code": codeAt(t, secret, app.Clock.Now())}).Expect(200)
	for _, s := range mySessions(b) {
		if s.Current && s.Method != "provider:mock+totp" {
			t.Fatalf("session method %q", s.Method)
		}
	}
}

func TestProviderNextOnlySameOrigin(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	for _, next := range []string{"//evil.example", "/\\evil.example", "https:evil.example", "%2F%2Fevil.example", "\t//evil.example", "https://evil.example/x", "/%2F%2Fevil.example"} {
		r := w.roundTrip(app.Client(), verified("p-h", "hal", "hal@example.org"), next)
		if got := location(t, r); got != "/" {
			t.Errorf("next %q landed on %q", next, got)
		}
	}
	r := w.roundTrip(app.Client(), verified("p-h", "hal", "hal@example.org"), "/admin/users?q=a")
	if got := location(t, r); got != "/admin/users?q=a" {
		t.Errorf("a good next was lost: %q", got)
	}
}

func TestLinkAndUnlinkProviders(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	ann := app.Member("ann")
	c := app.LoginAs(ann)
	var list struct {
		Items     []map[string]any `json:"items"`
		Available []map[string]any `json:"available"`
	}
	c.GET("/api/me/identities").Expect(200).JSON(&list)
	if len(list.Items) != 0 || len(list.Available) != 1 || list.Available[0]["slug"] != "mock" {
		t.Fatalf("identities %+v", list)
	}
	// Linking is never a bare GET: the link endpoint is POST only, and its
	// callback must come back in the session that started it.
	link := c.POST("/api/me/identities/mock/link", map[string]string{"password": ann.Password}).Expect(200).Map()
	cb := w.authorize(c, verified("p-ann", "ann", "ann@example.com"), link["redirectUrl"].(string))
	other := app.LoginAs(ann) // ann, but another session
	flow := ""
	for _, ck := range c.HTTP.Jar.Cookies(mustURL(app.URL)) {
		if ck.Name == "gatehouse_oidc" {
			flow = ck.Value
		}
	}
	other.Header.Set("Cookie", "gatehouse_oidc="+flow+"; "+cookieName+"="+cookieValue(t, other))
	if got := location(t, other.GET(cb.RequestURI())); got != "/account/providers?error=link_session_mismatch" {
		t.Fatalf("link finished in another session: %q", got)
	}
	if len(identitiesOf(t, app, ann.ID)) != 0 {
		t.Fatal("linked from another session")
	}
	link = c.POST("/api/me/identities/mock/link", map[string]string{"password": ann.Password}).Expect(200).Map()
	location(t, w.fromProvider(c, verified("p-ann", "ann", "ann@example.com"), link["redirectUrl"].(string)))
	c.GET("/api/me/identities").Expect(200).JSON(&list)
	if len(list.Items) != 1 || list.Items[0]["canUnlink"] != true || len(list.Available) != 0 {
		t.Fatalf("identities %+v", list)
	}
	expectError(t, c.POST("/api/me/identities/mock/link", map[string]string{"password": ann.Password}), 409, "already_linked")

	// The same provider account cannot be linked to a second account.
	bea := app.Member("bea")
	bc := app.LoginAs(bea)
	link = bc.POST("/api/me/identities/mock/link", map[string]string{"password": bea.Password}).Expect(200).Map()
	if got := location(t, w.fromProvider(bc, verified("p-ann", "ann", "ann@example.com"), link["redirectUrl"].(string))); got != "/account/providers?error=identity_in_use" {
		t.Fatalf("second link: %q", got)
	}

	// Unlink: ann has a password, so it is allowed.
	id := itoa(int64(list.Items[0]["id"].(float64)))
	expectError(t, bc.DELETE("/api/me/identities/"+id), 404, "not_found") // not bea's
	c.DELETE("/api/me/identities/" + id).Expect(204)
	if rows := auditRows(t, app, service.ActionIdentityUnlinked, ann.PublicID); len(rows) != 1 || details(t, rows[0])["provider"] != "mock" {
		t.Fatal("unlink not audited")
	}

	// An account made by the provider has no password: its only identity
	// cannot be unlinked.
	d := app.Client()
	location(t, w.roundTrip(d, verified("p-dee", "dee", "dee@example.org"), ""))
	d.GET("/api/me/identities").Expect(200).JSON(&list)
	if list.Items[0]["canUnlink"] != false {
		t.Fatal("canUnlink on the last way in")
	}
	expectError(t, d.DELETE("/api/me/identities/"+itoa(int64(list.Items[0]["id"].(float64)))), 409, "last_signin_method")
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestDeleteProviderReportsDependentAccounts(t *testing.T) {
	t.Parallel()
	w := newIdP(t, map[string]any{"defaultRole": "admin"}) // root is a super administrator
	app := w.app
	location(t, w.roundTrip(app.Client(), verified("p-ike", "ike", "ike@example.org"), "")) // admin, provider only
	w.patch(map[string]any{"defaultRole": "user"}).Expect(200)
	location(t, w.roundTrip(app.Client(), verified("p-jo", "jo-user", "jo@example.org"), "")) // user, provider only
	kim := app.Member("kim")                                                                  // has a password too
	kc := app.LoginAs(kim)
	link := kc.POST("/api/me/identities/mock/link", map[string]string{"password": kim.Password}).Expect(200).Map()
	location(t, w.fromProvider(kc, verified("p-kim", "kim", "kim@example.com"), link["redirectUrl"].(string)))

	r := w.rc.DELETE("/api/admin/identity-providers/" + itoa(w.id))
	expectError(t, r, 409, "provider_in_use")
	var body struct {
		Error struct {
			Impact struct {
				LinkedAccounts    int64 `json:"linkedAccounts"`
				DependentAdmins   int64 `json:"dependentAdmins"`
				DependentAccounts []struct {
					Username, Role string
				} `json:"dependentAccounts"`
			} `json:"impact"`
		} `json:"error"`
	}
	r.JSON(&body)
	im := body.Error.Impact
	if im.LinkedAccounts != 3 || im.DependentAdmins != 1 || len(im.DependentAccounts) != 2 ||
		im.DependentAccounts[0].Username != "ike" || im.DependentAccounts[0].Role != "admin" || im.DependentAccounts[1].Username != "jo-user" {
		t.Fatalf("impact %+v", im)
	}
	w.rc.GET("/api/admin/identity-providers/" + itoa(w.id)).Expect(200) // still there
	w.rc.DELETE("/api/admin/identity-providers/" + itoa(w.id) + "?confirm=true").Expect(204)
	w.rc.GET("/api/admin/identity-providers/" + itoa(w.id)).Expect(404)
	if len(identitiesOf(t, app, kim.ID)) != 0 {
		t.Fatal("identities survived their provider")
	}
	rows := auditRows(t, app, service.ActionProviderDeleted, "")
	if len(rows) != 1 || rows[0].TargetPublicID != "mock" || details(t, rows[0])["dependentAccounts"] != float64(2) {
		t.Fatalf("delete audit %+v", rows)
	}
	// A provider nobody uses goes without confirmation.
	id := w.rc.POST("/api/admin/identity-providers", map[string]any{"slug": "spare", "name": "Spare", "clientId": "x",
		"issuerUrl": "https://id.example.com", "authorizationUrl": "https://id.example.com/a", "tokenUrl": "https://id.example.com/t", "jwksUrl": "https://id.example.com/k"}).Expect(201).Map()["id"]
	w.rc.DELETE("/api/admin/identity-providers/" + itoa(int64(id.(float64)))).Expect(204)
}

func TestProviderAdminLockoutGuard(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	// Password sign-in cannot go while no administrator has a provider.
	expectError(t, w.setSignin(false, false, true), 409, "password_signin_required")

	// Root links the provider.
	link := w.rc.POST("/api/me/identities/mock/link", map[string]string{"password": w.root.Password}).Expect(200).Map()
	location(t, w.fromProvider(w.rc, verified("p-root", "root", "root@example.com"), link["redirectUrl"].(string)))
	r := w.setSignin(false, false, true).Expect(200).Map()
	paths := r["adminSignInPaths"].(map[string]any)
	if paths["total"] != float64(1) {
		t.Fatalf("paths %v", paths)
	}
	pp := paths["paths"].([]any)
	if len(pp) != 1 || pp[0].(map[string]any)["path"] != "provider" || pp[0].(map[string]any)["slug"] != "mock" || pp[0].(map[string]any)["admins"] != float64(1) {
		t.Fatalf("paths %v", pp)
	}
	// Now the provider is the only way in for administrators.
	expectError(t, w.patch(map[string]any{"loginEnabled": false}), 409, "would_lock_out_admins")
	expectError(t, w.rc.DELETE("/api/admin/identity-providers/"+itoa(w.id)+"?confirm=true"), 409, "would_lock_out_admins")
	expectError(t, w.setSignin(false, false, false), 409, "password_signin_required")
	var list struct {
		Items []map[string]any `json:"items"`
	}
	w.rc.GET("/api/me/identities").Expect(200).JSON(&list)
	expectError(t, w.rc.DELETE("/api/me/identities/"+itoa(int64(list.Items[0]["id"].(float64)))), 409, "last_signin_method")
	if p := w.rc.GET("/api/admin/identity-providers/" + itoa(w.id)).Expect(200).Map(); p["loginEnabled"] != true {
		t.Fatal("login turned off anyway")
	}
	// And it works: root signs in through the provider.
	c := app.Client()
	location(t, w.roundTrip(c, verified("p-root", "root", "root@example.com"), ""))
	if c.GET("/api/me").Expect(200).Map()["username"] != "root" {
		t.Fatal("root not signed in")
	}
	// With password sign-in back on, the provider may go.
	w.setSignin(true, false, true).Expect(200)
	w.rc.DELETE("/api/admin/identity-providers/" + itoa(w.id) + "?confirm=true").Expect(204)
}

func TestProviderAdminAPI(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	base := func(slug string) map[string]any {
		return map[string]any{"slug": slug, "name": "P " + slug, "clientId": "cid", "issuerUrl": "https://id.example.com",
			"authorizationUrl": "https://id.example.com/a", "tokenUrl": "https://id.example.com/t", "jwksUrl": "https://id.example.com/k"}
	}
	with := func(slug string, kv ...any) map[string]any {
		b := base(slug)
		for i := 0; i+1 < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return b
	}
	bad := map[string]map[string]any{
		"slug":                 with("Bad Slug"),
		"slug ":                with("mock"), // taken
		"issuerUrl":            with("a", "issuerUrl", "http://id.example.com"),
		"userinfoUrl":          with("b", "type", "oauth2"),
		"logoUrl":              with("c", "logoUrl", "data:image/png;base64,"+b64("<svg></svg>")),
		"logoUrl ":             with("d", "logoUrl", "data:text/html;base64,"+b64("<script>")),
		"logoUrl  ":            with("e", "logoUrl", "data:image/svg+xml;base64,"+b64("<svg>"+strings.Repeat(" ", 70000)+"</svg>")),
		"logoUrl   ":           with("f", "logoUrl", "http://img.example.com/x.png"),
		"scopes":               with("g", "scopes", []string{"bad scope"}),
		"fieldMapping.subject": with("h", "fieldMapping", map[string]string{"subject": "", "username": "", "displayName": "", "email": "", "emailVerified": ""}),
		"defaultRole":          with("i", "defaultRole", "super_admin"),
	}
	for field, body := range bad {
		r := w.rc.POST("/api/admin/identity-providers", body)
		if r.Status != 422 || r.Fields()[strings.TrimSpace(field)] == "" {
			t.Errorf("%s: %d %s", field, r.Status, r.Body)
		}
	}
	// Good logos: https, and small data: images of the declared type.
	png := "data:image/png;base64," + b64("\x89PNG\r\n\x1a\n0000")
	svg := "data:image/svg+xml;base64," + b64(`<svg xmlns="http://www.w3.org/2000/svg"/>`)
	p := w.rc.POST("/api/admin/identity-providers", with("good", "logoUrl", png, "type", "oauth2", "userinfoUrl", "https://id.example.com/u", "sortOrder", 0)).Expect(201).Map()
	if p["scopes"].([]any) == nil || p["fieldMapping"].(map[string]any)["subject"] != "id" || p["logoUrl"] != png {
		t.Fatalf("oauth2 defaults: %v", p)
	}
	w.rc.PATCH("/api/admin/identity-providers/"+itoa(int64(p["id"].(float64))), map[string]any{"logoUrl": svg}).Expect(200)

	// Only a super administrator may make new accounts administrators.
	admin := app.LoginAs(app.Admin("adam"))
	expectError(t, admin.POST("/api/admin/identity-providers", with("x1", "defaultRole", "admin")), 403, "super_admin_required")
	expectError(t, admin.PATCH("/api/admin/identity-providers/"+itoa(w.id), map[string]any{"defaultRole": "admin"}), 403, "super_admin_required")
	expectError(t, admin.PATCH("/api/admin/identity-providers/"+itoa(w.id), map[string]any{"name": "Mock Renamed"}), 403, "super_admin_required")
	w.rc.PATCH("/api/admin/identity-providers/"+itoa(w.id), map[string]any{"name": "Mock Renamed"}).Expect(200)
	app.Client().GET("/api/admin/identity-providers").Expect(401)
	app.LoginAs(app.Member("moe")).GET("/api/admin/identity-providers").Expect(403)

	// Order: the list, the sign-in page and the reorder endpoint agree.
	var list struct {
		Items []map[string]any `json:"items"`
	}
	w.rc.GET("/api/admin/identity-providers").Expect(200).JSON(&list)
	if len(list.Items) != 2 || list.Items[0]["slug"] != "mock" { // equal sortOrder: oldest first
		t.Fatalf("order %v", list.Items)
	}
	ids := []int64{int64(p["id"].(float64)), w.id}
	expectError(t, w.rc.POST("/api/admin/identity-providers/order", map[string]any{"ids": ids[:1]}), 422, "validation_failed")
	expectError(t, w.rc.POST("/api/admin/identity-providers/order", map[string]any{"ids": []int64{w.id, w.id}}), 422, "validation_failed")
	w.rc.POST("/api/admin/identity-providers/order", map[string]any{"ids": ids}).Expect(200).JSON(&list)
	if list.Items[0]["slug"] != "good" || list.Items[1]["slug"] != "mock" {
		t.Fatalf("after reorder %v", list.Items)
	}
	opts := app.Client().GET("/api/auth/options").Expect(200).Map()
	provs := opts["providers"].([]any)
	if len(provs) != 2 || provs[0].(map[string]any)["slug"] != "good" || provs[0].(map[string]any)["logoUrl"] != svg || provs[1].(map[string]any)["name"] != "Mock Renamed" {
		t.Fatalf("options %v", provs)
	}
	w.rc.PATCH("/api/admin/identity-providers/"+itoa(w.id), map[string]any{"loginEnabled": false}).Expect(200)
	if provs := app.Client().GET("/api/auth/options").Expect(200).Map()["providers"].([]any); len(provs) != 1 {
		t.Fatalf("a provider with login off is offered: %v", provs)
	}

	// Every change is audited, without the secret.
	w.rc.PATCH("/api/admin/identity-providers/"+itoa(w.id), map[string]any{"clientSecret": "new-secret-value"}).Expect(200)
	for _, a := range []string{service.ActionProviderCreated, service.ActionProviderUpdated, service.ActionProviderReordered} {
		rows := auditRows(t, app, a, "")
		if len(rows) == 0 {
			t.Fatalf("no %s audit", a)
		}
		for _, r := range rows {
			if strings.Contains(r.Details, "new-secret-value") || strings.Contains(r.Details, w.mock.ClientSecret) {
				t.Fatalf("secret in audit: %s", r.Details)
			}
		}
	}
	w.rc.GET("/api/admin/identity-providers/no-such-id").Expect(404)
	w.rc.GET("/api/admin/identity-providers/999").Expect(404)
}

func b64(s string) string { return base64Std(s) }

func TestProviderDiscoveryErrorsInWords(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	r := w.rc.POST("/api/admin/identity-providers/discover", map[string]string{"issuerUrl": w.mock.Issuer() + "/"})
	expectError(t, r, 422, "discovery_failed")
	if !strings.Contains(r.Fields()["issuerUrl"], "names a different issuer") || r.Map()["error"].(map[string]any)["reason"] != "issuer_mismatch" {
		t.Fatalf("mismatch message: %s", r.Body)
	}
	r = w.rc.POST("/api/admin/identity-providers/discover", map[string]string{"issuerUrl": "http://127.0.0.1:1/nothing"})
	expectError(t, r, 422, "discovery_failed")
	if !strings.Contains(r.Fields()["issuerUrl"], "could not be reached") || r.Map()["error"].(map[string]any)["reason"] != "unreachable" {
		t.Fatalf("unreachable message: %s", r.Body)
	}
	expectError(t, w.rc.POST("/api/admin/identity-providers/discover", map[string]string{"issuerUrl": "ftp://x"}), 422, "validation_failed")
}

func TestPlainOAuth2ProviderUsesUserinfo(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	m := w.mock
	p := w.rc.POST("/api/admin/identity-providers", map[string]any{"slug": "plain", "name": "Plain", "type": "oauth2",
		"clientId": m.ClientID, "clientSecret": m.ClientSecret, "authorizationUrl": m.AuthorizationEndpoint(), "tokenUrl": m.TokenEndpoint(),
		"userinfoUrl": m.UserinfoEndpoint(), "scopes": []string{"email", "profile"}, "registrationEnabled": true,
		"fieldMapping": map[string]string{"subject": "sub", "username": "profile.login", "displayName": "", "email": "email", "emailVerified": ""}}).Expect(201).Map()
	if p["type"] != "oauth2" {
		t.Fatal(p)
	}
	w.slug = "plain"
	c := app.Client()
	start := c.GET("/api/auth/oidc/plain/start").Expect(http.StatusFound)
	auth, _ := url.Parse(start.Header.Get("Location"))
	if auth.Query().Get("code_challenge_method") != "S256" {
		t.Fatal("no PKCE on a plain OAuth2 flow")
	}
	who := &person{sub: "4711", extra: map[string]any{"profile": map[string]any{"login": "octo"}, "email": "octo@example.org", "email_verified": true}}
	location(t, w.fromProvider(c, who, start.Header.Get("Location")))
	me := c.GET("/api/me").Expect(200).Map()
	// No emailVerified mapping: the address is kept but not verified.
	if me["username"] != "octo" || me["email"] != "octo@example.org" || me["emailVerified"] != false {
		t.Fatalf("me %v", me)
	}
}

// An administrator sees which providers are linked to an account (with the
// subject each is keyed by) and can unlink one, under the same "a way in
// must remain" rule as the owner and the usual admin rules.
func TestAdminSeesAndUnlinksIdentities(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	ann := app.Member("ann")
	c := app.LoginAs(ann)
	link := c.POST("/api/me/identities/mock/link", map[string]string{"password": ann.Password}).Expect(200).Map()
	location(t, w.fromProvider(c, verified("p-ann", "ann", "ann@example.com"), link["redirectUrl"].(string)))
	// zed's account is made by the provider: no password.
	location(t, w.roundTrip(app.Client(), verified("p-zed", "zed", "zed@example.com"), ""))
	zed := userByUsername(t, app, "zed")
	adm := app.Admin("adm")
	ac := app.LoginAs(adm)

	type item struct {
		ID        int64  `json:"id"`
		Subject   string `json:"subject"`
		Email     string `json:"email"`
		CanUnlink bool   `json:"canUnlink"`
		Provider  struct {
			Slug string `json:"slug"`
		} `json:"provider"`
	}
	var annList, zedList struct {
		Items []item `json:"items"`
	}
	ac.GET("/api/admin/users/" + ann.PublicID + "/identities").Expect(200).JSON(&annList)
	if len(annList.Items) != 1 || annList.Items[0].Subject != "p-ann" || annList.Items[0].Provider.Slug != "mock" || !annList.Items[0].CanUnlink || annList.Items[0].Email != "ann@example.com" {
		t.Fatalf("ann's identities %+v", annList)
	}
	ac.GET("/api/admin/users/" + zed.PublicID + "/identities").Expect(200).JSON(&zedList)
	if len(zedList.Items) != 1 || zedList.Items[0].CanUnlink {
		t.Fatalf("zed's identities %+v", zedList)
	}
	expectError(t, ac.GET("/api/admin/users/nobody/identities"), 404, "not_found")
	expectError(t, c.GET("/api/admin/users/"+zed.PublicID+"/identities"), 403, "forbidden")

	annID, zedID := itoa(annList.Items[0].ID), itoa(zedList.Items[0].ID)
	// The only way in of zed's account stays.
	expectError(t, ac.POST("/api/admin/users/"+zed.PublicID+"/identities/"+zedID+"/unlink", nil), 409, "last_signin_method")
	// An identity is found only under its own account.
	expectError(t, ac.POST("/api/admin/users/"+ann.PublicID+"/identities/"+zedID+"/unlink", nil), 404, "not_found")
	// A plain administrator cannot touch a super administrator's account.
	expectError(t, ac.POST("/api/admin/users/"+w.root.PublicID+"/identities/1/unlink", nil), 403, "super_admin_protected")
	if len(identitiesOf(t, app, zed.ID)) != 1 || len(identitiesOf(t, app, ann.ID)) != 1 {
		t.Fatal("a refused unlink removed an identity")
	}

	ac.POST("/api/admin/users/"+ann.PublicID+"/identities/"+annID+"/unlink", map[string]string{"reason": "linked by mistake"}).Expect(204)
	if len(identitiesOf(t, app, ann.ID)) != 0 {
		t.Fatal("identity still linked")
	}
	rows := auditRows(t, app, service.ActionIdentityUnlinked, ann.PublicID)
	if len(rows) != 1 || rows[0].Reason != "linked by mistake" || rows[0].ActorUsername != "adm" || details(t, rows[0])["provider"] != "mock" || details(t, rows[0])["subject"] != "p-ann" {
		t.Fatalf("unlink audit %+v", rows)
	}
	// Her sessions stay (ending them is its own action); the identity can be linked again.
	c.GET("/api/me").Expect(200)
	ac.GET("/api/admin/users/" + ann.PublicID + "/identities").Expect(200).JSON(&annList)
	if len(annList.Items) != 0 {
		t.Fatalf("after unlink %+v", annList)
	}
}
