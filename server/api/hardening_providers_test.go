package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gatehouse/models"
	"gatehouse/server/mail/mailsink"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Issue 13 item 1: identity providers are configured by super
// administrators only; a plain administrator reads them.
func TestHardening_ProviderWritesNeedSuperAdmin(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	adm := app.LoginAs(app.Admin("adam"))
	id := itoa(w.id)
	body := map[string]any{"slug": "evil", "name": "Evil", "clientId": "x", "issuerUrl": "https://id.example.com",
		"authorizationUrl": "https://id.example.com/a", "tokenUrl": "https://id.example.com/t", "jwksUrl": "https://id.example.com/k",
		"autoLinkByEmail": true, "loginEnabled": true}
	before := auditCount(t, app)
	expectError(t, adm.POST("/api/admin/identity-providers", body), 403, "super_admin_required")
	expectError(t, adm.PATCH("/api/admin/identity-providers/"+id, map[string]any{"name": "Renamed"}), 403, "super_admin_required")
	expectError(t, adm.PATCH("/api/admin/identity-providers/"+id, map[string]any{"autoLinkByEmail": true}), 403, "super_admin_required")
	expectError(t, adm.DELETE("/api/admin/identity-providers/"+id+"?confirm=true"), 403, "super_admin_required")
	expectError(t, adm.POST("/api/admin/identity-providers/order", map[string]any{"ids": []int64{w.id}}), 403, "super_admin_required")
	expectError(t, adm.POST("/api/admin/identity-providers/discover", map[string]string{"issuerUrl": w.mock.Issuer()}), 403, "super_admin_required")
	if n := auditCount(t, app); n != before {
		t.Fatalf("refused provider writes left %d audit rows", n-before)
	}
	// Reading stays open to administrators.
	adm.GET("/api/admin/identity-providers").Expect(200)
	if p := adm.GET("/api/admin/identity-providers/" + id).Expect(200).Map(); p["name"] != "Mock ID" || p["autoLinkByEmail"] != false {
		t.Fatalf("provider changed: %v", p)
	}

	// Turning third-party sign-in on is a super-administrator action;
	// turning it off, or saving the group unchanged, is not.
	w.setSignin(true, true, false).Expect(200)
	cur := adm.GET("/api/admin/settings/signin").Expect(200).Map()
	expectError(t, adm.PUT("/api/admin/settings/signin", map[string]any{"version": cur["version"], "usernameEnabled": true, "emailEnabled": true, "thirdPartyEnabled": true}), 403, "super_admin_required")
	adm.PUT("/api/admin/settings/signin", map[string]any{"version": cur["version"], "usernameEnabled": true, "emailEnabled": true, "thirdPartyEnabled": false}).Expect(200)
	w.setSignin(true, true, true).Expect(200)
	cur = adm.GET("/api/admin/settings/signin").Expect(200).Map()
	adm.PUT("/api/admin/settings/signin", map[string]any{"version": cur["version"], "usernameEnabled": true, "emailEnabled": true, "thirdPartyEnabled": true}).Expect(200)
	cur = adm.GET("/api/admin/settings/signin").Expect(200).Map()
	adm.PUT("/api/admin/settings/signin", map[string]any{"version": cur["version"], "usernameEnabled": true, "emailEnabled": true, "thirdPartyEnabled": false}).Expect(200)
}

// Issue 13 item 1: a provider asserting the verified email of an
// administrator or super administrator never links to (or signs into)
// that account; the refusal is audited and tells the person to link from
// the account page. Linking from there works, and the audit row names
// the provider.
func TestHardening_AutoLinkNeverOpensPrivilegedAccount(t *testing.T) {
	t.Parallel()
	w := newIdP(t, map[string]any{"autoLinkByEmail": true})
	app := w.app
	verifyEmail(t, app, w.root) // root@example.com, super administrator
	adm := app.Admin("ada")
	verifyEmail(t, app, adm)
	for _, who := range []struct {
		sub, name, email, publicID string
		userID                     int64
	}{{"p-root", "root", "root@example.com", w.root.PublicID, w.root.ID}, {"p-ada", "ada", "ada@example.com", adm.PublicID, adm.ID}} {
		c := app.Client()
		wantRefused(t, w.roundTrip(c, verified(who.sub, who.name, who.email), ""), "privileged_account_link")
		c.GET("/api/me").Expect(401)
		if ids := identitiesOf(t, app, who.userID); len(ids) != 0 {
			t.Fatalf("%s: linked by email: %+v", who.name, ids)
		}
		var found bool
		for _, r := range auditRows(t, app, service.ActionLoginFailed, who.publicID) {
			if d := details(t, r); d["reason"] == "provider_privileged_account_link" && d["provider"] == "mock" {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: refusal not audited", who.name)
		}
	}
	// A plain user with a verified address is still linked.
	bob := app.Member("bob")
	verifyEmail(t, app, bob)
	c := app.Client()
	location(t, w.roundTrip(c, verified("p-bob", "bob", "bob@example.com"), ""))
	if c.GET("/api/me").Expect(200).Map()["username"] != "bob" {
		t.Fatal("bob not signed in")
	}

	// The super administrator links from the account page, signed in.
	link := w.rc.POST("/api/me/identities/mock/link", map[string]string{"password": w.root.Password}).Expect(200).Map()
	if got := location(t, w.fromProvider(w.rc, verified("p-root", "root", "root@example.com"), link["redirectUrl"].(string))); got != "/account/providers?linked=mock" {
		t.Fatalf("link landed on %q", got)
	}
	rows := auditRows(t, app, service.ActionIdentityLinked, w.root.PublicID)
	if len(rows) != 1 {
		t.Fatalf("link audit rows %+v", rows)
	}
	d := details(t, rows[0])
	if d["provider"] != "mock" || d["providerName"] != "Mock ID" || d["via"] != "link" {
		t.Fatalf("identity_linked does not name the provider: %v", d)
	}
	if !strings.Contains(rows[0].Details, "Mock ID") {
		t.Fatal("provider name missing")
	}
}

// tokenListener is a local token endpoint that records what it is sent
// and refuses every exchange.
type tokenListener struct {
	mu   sync.Mutex
	seen []string // Authorization header and form body of each request
	srv  *httptest.Server
}

func newTokenListener(t *testing.T) *tokenListener {
	l := &tokenListener{}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.seen = append(l.seen, r.Header.Get("Authorization")+" "+string(body))
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *tokenListener) received() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// Issue 13 item 7: moving any destination of a provider clears its
// stored client secret unless the same change sends a new one, so the
// secret never reaches an endpoint it was not entered for.
func TestHardening_ProviderSecretDoesNotFollowMovedEndpoint(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	secret := w.mock.ClientSecret
	basic := base64Std(w.mock.ClientID + ":" + secret)
	get := func() map[string]any {
		return w.rc.GET("/api/admin/identity-providers/" + itoa(w.id)).Expect(200).Map()
	}
	if get()["clientSecretSet"] != true {
		t.Fatal("fixture: no secret stored")
	}
	// Changes that move nothing keep the secret, and so does sending a
	// destination unchanged.
	w.patch(map[string]any{"name": "Mock Two", "tokenUrl": get()["tokenUrl"]}).Expect(200)
	if get()["clientSecretSet"] != true {
		t.Fatal("an unmoved provider lost its secret")
	}

	l := newTokenListener(t)
	r := w.patch(map[string]any{"tokenUrl": l.srv.URL + "/token"}).Expect(200).Map()
	if r["clientSecretSet"] != false || get()["clientSecretSet"] != false {
		t.Fatalf("the secret survived a moved token endpoint: %v", r)
	}
	rows := auditRows(t, app, service.ActionProviderUpdated, "")
	if d := details(t, rows[len(rows)-1]); d["clientSecretCleared"] != true {
		t.Fatalf("clearing not audited: %v", d)
	}
	// A sign-in now exchanges its code at the listener: without the old secret.
	wantRefused(t, w.roundTrip(app.Client(), verified("p-x", "xavier", "x@example.org"), ""), "token_exchange_failed")
	seen := l.received()
	if len(seen) == 0 {
		t.Fatal("the listener was never called")
	}
	for _, s := range seen {
		if strings.Contains(s, secret) || strings.Contains(s, basic) || strings.Contains(s, url.QueryEscape(secret)) {
			t.Fatalf("the old client secret reached the moved token endpoint: %q", s)
		}
	}

	// Each destination field clears it; a new secret in the same change is kept.
	for _, field := range []string{"issuerUrl", "authorizationUrl", "userinfoUrl", "jwksUrl", "tokenUrl"} {
		w.patch(map[string]any{"clientSecret": "fresh-" + field}).Expect(200)
		if get()["clientSecretSet"] != true {
			t.Fatal("secret not set")
		}
		w.patch(map[string]any{field: "https://moved.example.com/" + field}).Expect(200)
		if get()["clientSecretSet"] != false {
			t.Fatalf("moving %s kept the secret", field)
		}
		w.patch(map[string]any{field: "https://again.example.com/" + field, "clientSecret": "new-" + field}).Expect(200)
		if get()["clientSecretSet"] != true {
			t.Fatalf("moving %s with a new secret dropped it", field)
		}
	}
}

// Issue 13 item 7: moving the SMTP server (host, port or TLS mode) clears
// the stored password unless the same change sends a new one.
func TestHardening_SMTPPasswordDoesNotFollowMovedHost(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	first := app.Mailbox()
	rc := app.LoginAs(app.SuperAdmin("root"))
	const password = "old-smtp-password-7"
	put := func(change map[string]any) *testkit.Response {
		t.Helper()
		cur := rc.GET("/api/admin/settings/email").Expect(200).Map()
		body := map[string]any{}
		for k, v := range cur {
			body[k] = v
		}
		delete(body, "passwordSet")
		for k, v := range change {
			body[k] = v
		}
		return rc.PUT("/api/admin/settings/email", body)
	}
	put(map[string]any{"username": "mailer", "password": password}).Expect(200)
	rc.POST("/api/admin/settings/email/test", map[string]string{"to": "a@example.com"}).Expect(200)
	if logins := first.Logins(); len(logins) != 1 || logins[0].Password != password {
		t.Fatalf("fixture: logins %+v", logins)
	}
	// Unmoved: kept.
	if put(map[string]any{"senderName": "Gate"}).Expect(200).Map()["passwordSet"] != true {
		t.Fatal("an unmoved SMTP server lost its password")
	}

	second, err := mailsink.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	if put(map[string]any{"host": "localhost", "port": second.Port()}).Expect(200).Map()["passwordSet"] != false {
		t.Fatal("the password survived a moved host")
	}
	rc.POST("/api/admin/settings/email/test", map[string]string{"to": "b@example.com"})
	for _, l := range second.Logins() {
		if l.Password == password {
			t.Fatal("the old SMTP password reached the moved host")
		}
	}
	// Port and TLS mode alone clear it too; a new password in the same change stays.
	put(map[string]any{"password": "pw-2"}).Expect(200)
	if put(map[string]any{"port": first.Port()}).Expect(200).Map()["passwordSet"] != false {
		t.Fatal("moving the port kept the password")
	}
	put(map[string]any{"password": "pw-3"}).Expect(200)
	if put(map[string]any{"tlsMode": "starttls"}).Expect(200).Map()["passwordSet"] != false {
		t.Fatal("changing the TLS mode kept the password")
	}
	if put(map[string]any{"tlsMode": "none", "password": "pw-4"}).Expect(200).Map()["passwordSet"] != true {
		t.Fatal("a moved server with a new password dropped it")
	}
	rows := auditRows(t, app, "settings.updated", "")
	found := false
	for _, r := range rows {
		if d := details(t, r); d["passwordCleared"] == true {
			found = true
		}
		if strings.Contains(r.Details, password) {
			t.Fatal("password in the audit log")
		}
	}
	if !found {
		t.Fatal("clearing the password not audited")
	}
}

// Issue 13 item 6 (providers): turning a provider's login off or deleting
// it is refused while it is some super administrator's only way in, even
// when other administrators can still sign in; the refusal names them.
func TestHardening_ProviderChangeKeepsEverySuperAdminAWayIn(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	ctx := context.Background()
	// sam, a second super administrator, signs in only through the provider.
	sam := app.SuperAdmin("sam")
	sc := app.LoginAs(sam)
	link := sc.POST("/api/me/identities/mock/link", map[string]string{"password": sam.Password}).Expect(200).Map()
	location(t, w.fromProvider(sc, verified("p-sam", "sam", "sam@example.com"), link["redirectUrl"].(string)))
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = NULL").Where("id = ?", sam.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// A suspended super administrator on the provider only does not count.
	sue := app.SuperAdmin("sue")
	suc := app.LoginAs(sue)
	link = suc.POST("/api/me/identities/mock/link", map[string]string{"password": sue.Password}).Expect(200).Map()
	location(t, w.fromProvider(suc, verified("p-sue", "sue", "sue@example.com"), link["redirectUrl"].(string)))
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = NULL").Set("status = ?", models.StatusSuspended).Where("id = ?", sue.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	check := func(r *testkit.Response) {
		t.Helper()
		expectError(t, r, 409, "would_cut_off_super_admins")
		var body struct {
			Error struct {
				Message  string `json:"message"`
				Accounts []struct {
					Username string `json:"username"`
					Role     string `json:"role"`
				} `json:"accounts"`
			} `json:"error"`
		}
		r.JSON(&body)
		if len(body.Error.Accounts) != 1 || body.Error.Accounts[0].Username != "sam" || !strings.Contains(body.Error.Message, "sam") {
			t.Fatalf("refusal does not name sam: %s", r.Body)
		}
	}
	check(w.patch(map[string]any{"loginEnabled": false}))
	check(w.rc.DELETE("/api/admin/identity-providers/" + itoa(w.id) + "?confirm=true"))
	if p := w.rc.GET("/api/admin/identity-providers/" + itoa(w.id)).Expect(200).Map(); p["loginEnabled"] != true {
		t.Fatal("login turned off anyway")
	}
	if len(identitiesOf(t, app, sam.ID)) != 1 {
		t.Fatal("sam's identity removed anyway")
	}
	// Other changes to the provider go through.
	w.patch(map[string]any{"name": "Mock Renamed"}).Expect(200)
	// With password sign-in, sam has another way in once he has a password.
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = ?", "x").Where("id = ?", sam.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	w.patch(map[string]any{"loginEnabled": false}).Expect(200)
	w.patch(map[string]any{"loginEnabled": true}).Expect(200)
	// But not when no password method is on: then the provider is his only way.
	link = w.rc.POST("/api/me/identities/mock/link", map[string]string{"password": w.root.Password}).Expect(200).Map()
	location(t, w.fromProvider(w.rc, verified("p-root", "root", "root@example.com"), link["redirectUrl"].(string)))
	w.setSignin(false, false, true).Expect(200)
	expectError(t, w.patch(map[string]any{"loginEnabled": false}), 409, "would_lock_out_admins")
}

// Issue 13 item 8: discovery goes through the outbound client: no
// redirect to another origin, a fixed message per failure class (nothing
// the remote server sent is echoed), and every attempt is audited.
func TestHardening_DiscoveryOutboundRules(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	const leak = "internal-only-marker-4711"
	// Another origin that would answer a valid discovery document.
	other := w.mock.Issuer()
	var otherHits int
	var mu sync.Mutex
	hits := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherHits++
		mu.Unlock()
		http.Redirect(rw, r, other+"/.well-known/openid-configuration", http.StatusFound)
	}))
	t.Cleanup(hits.Close)
	var self *httptest.Server
	self = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same/.well-known/openid-configuration": // a same-origin redirect is followed
			http.Redirect(rw, r, "/real/doc", http.StatusFound)
		case "/real/doc":
			_, _ = io.WriteString(rw, `{"issuer":"`+self.URL+`/same","authorization_endpoint":"`+self.URL+`/a","token_endpoint":"`+self.URL+`/t","jwks_uri":"`+self.URL+`/k"}`)
		case "/wrong/.well-known/openid-configuration":
			_, _ = io.WriteString(rw, `{"issuer":"https://`+leak+`/","authorization_endpoint":"x","token_endpoint":"y","jwks_uri":"z"}`)
		case "/broken/.well-known/openid-configuration":
			rw.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(rw, "stack trace: "+leak)
		case "/html/.well-known/openid-configuration":
			_, _ = io.WriteString(rw, "<html>"+leak+"</html>")
		case "/partial/.well-known/openid-configuration":
			_, _ = io.WriteString(rw, `{"issuer":"`+self.URL+`/partial"}`)
		default:
			http.NotFound(rw, r)
		}
	}))
	t.Cleanup(self.Close)
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
	t.Cleanup(tlsSrv.Close)

	discover := func(issuer string) *testkit.Response {
		return w.rc.POST("/api/admin/identity-providers/discover", map[string]string{"issuerUrl": issuer})
	}
	if ep := discover(self.URL + "/same").Expect(200).Map(); ep["tokenUrl"] != self.URL+"/t" {
		t.Fatalf("same-origin redirect: %v", ep)
	}
	messages := map[string]string{}
	for issuer, reason := range map[string]string{
		hits.URL + "/x":           "redirect_refused",
		self.URL + "/wrong":       "issuer_mismatch",
		self.URL + "/broken":      "bad_response",
		self.URL + "/html":        "bad_response",
		self.URL + "/partial":     "incomplete_document",
		"http://127.0.0.1:1/none": "unreachable",
		"http://localhost:1/none": "unreachable",
		tlsSrv.URL:                "tls",
	} {
		r := discover(issuer)
		expectError(t, r, 422, "discovery_failed")
		e := r.Map()["error"].(map[string]any)
		if e["reason"] != reason {
			t.Errorf("%s: reason %v, want %s", issuer, e["reason"], reason)
		}
		if strings.Contains(string(r.Body), leak) || strings.Contains(string(r.Body), "refused") && reason != "redirect_refused" ||
			strings.Contains(string(r.Body), "x509") || strings.Contains(string(r.Body), "dial tcp") {
			t.Errorf("%s: the answer echoes remote or internal text: %s", issuer, r.Body)
		}
		if m, ok := messages[reason]; ok && m != e["message"] {
			t.Errorf("%s: message differs within class %s: %q vs %q", issuer, reason, m, e["message"])
		}
		messages[reason] = e["message"].(string)
	}
	// The refused redirect was never followed to the other origin beyond the first hop.
	mu.Lock()
	if otherHits != 1 {
		t.Errorf("redirector called %d times", otherHits)
	}
	mu.Unlock()
	// Audited: who, which issuer, the outcome and its class; no remote text.
	rows := auditRows(t, app, service.ActionProviderDiscovered, "")
	if len(rows) < 10 { // newIdP's own discovery, the same-origin one and the 8 failures
		t.Fatalf("%d discovery audit rows", len(rows))
	}
	last := details(t, rows[len(rows)-1])
	if rows[len(rows)-1].ActorUsername != "root" || last["ok"] != false || last["reason"] == nil || last["issuerUrl"] == nil {
		t.Fatalf("discovery audit %+v %v", rows[len(rows)-1], last)
	}
	for _, r := range rows {
		if strings.Contains(r.Details, leak) {
			t.Fatalf("remote text in the audit log: %s", r.Details)
		}
	}
}

// Issue 13 item 8: during sign-in the token endpoint's redirect to another
// origin is not followed (the code and the secret go nowhere else), and
// the audit row records the failure class, not the remote answer.
func TestHardening_TokenExchangeRefusesCrossOriginRedirect(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	l := newTokenListener(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, l.srv.URL+"/token", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	w.patch(map[string]any{"tokenUrl": redirector.URL + "/token", "clientSecret": "brand-new-secret"}).Expect(200)
	wantRefused(t, w.roundTrip(app.Client(), verified("p-y", "yan", "yan@example.org"), ""), "token_exchange_failed")
	if seen := l.received(); len(seen) != 0 {
		t.Fatalf("the redirect to another origin was followed: %q", seen)
	}
	rows := auditRows(t, app, service.ActionLoginFailed, "")
	d := details(t, rows[len(rows)-1])
	if d["reason"] != "provider_token_exchange_failed" || d["failure"] != "redirect_refused" || d["error"] != nil {
		t.Fatalf("refusal audit %v", d)
	}
	// A provider's own error parameter is kept only as an error code.
	c := app.Client()
	start := c.GET("/api/auth/oidc/mock/start").Expect(http.StatusFound)
	auth, _ := url.Parse(start.Header.Get("Location"))
	wantRefused(t, c.GET("/api/auth/oidc/mock/callback?error="+url.QueryEscape("<b>"+"phish me</b>")+"&state="+url.QueryEscape(auth.Query().Get("state"))), "provider_denied")
	rows = auditRows(t, app, service.ActionLoginFailed, "")
	if d := details(t, rows[len(rows)-1]); d["providerError"] != "other" {
		t.Fatalf("provider error kept as sent: %v", d)
	}
}

// Issue 13 item 8: a test email's failure is a fixed message per class,
// and every test email is audited with its outcome.
func TestHardening_TestEmailFixedErrorsAudited(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	rc := app.LoginAs(app.SuperAdmin("root"))
	put := func(change map[string]any) {
		t.Helper()
		cur := rc.GET("/api/admin/settings/email").Expect(200).Map()
		delete(cur, "passwordSet")
		for k, v := range change {
			cur[k] = v
		}
		rc.PUT("/api/admin/settings/email", cur).Expect(200)
	}
	rc.POST("/api/admin/settings/email/test", map[string]string{"to": "ok@example.com"}).Expect(200)
	for _, tc := range []struct {
		change map[string]any
		reason string
	}{
		{map[string]any{"host": "127.0.0.1", "port": 1, "tlsMode": "none"}, "unreachable"},
		{map[string]any{"host": sink.Host(), "port": sink.Port(), "tlsMode": "tls"}, "tls"},
		{map[string]any{"host": sink.Host(), "port": sink.Port(), "tlsMode": "starttls"}, "tls"},
	} {
		put(tc.change)
		r := rc.POST("/api/admin/settings/email/test", map[string]string{"to": "x@example.com"})
		expectError(t, r, 422, "smtp_failed")
		e := r.Map()["error"].(map[string]any)
		if e["reason"] != tc.reason {
			t.Errorf("%v: reason %v, want %s (%s)", tc.change, e["reason"], tc.reason, r.Body)
		}
		for _, bad := range []string{"dial tcp", "127.0.0.1:1", "record", "STARTTLS", "502", "connection refused"} {
			if strings.Contains(e["message"].(string), bad) {
				t.Errorf("%v: message echoes %q: %s", tc.change, bad, e["message"])
			}
		}
	}
	rows := auditRows(t, app, service.ActionEmailTest, "")
	if len(rows) != 4 {
		t.Fatalf("%d test email audit rows, want 4", len(rows))
	}
	if d := details(t, rows[0]); d["ok"] != true || d["to"] != "ok@example.com" {
		t.Fatalf("first test email audit %v", d)
	}
	if d := details(t, rows[1]); d["ok"] != false || d["reason"] != "unreachable" || d["error"] != nil {
		t.Fatalf("failed test email audit %v", d)
	}
}

// Issue 13 item 6 (providers): turning third-party sign-in off is refused
// while a provider is an active super administrator's only way in.
func TestHardening_ThirdPartyOffKeepsEverySuperAdminAWayIn(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	sam := app.SuperAdmin("sam")
	sc := app.LoginAs(sam)
	link := sc.POST("/api/me/identities/mock/link", map[string]string{"password": sam.Password}).Expect(200).Map()
	location(t, w.fromProvider(sc, verified("p-sam", "sam", "sam@example.com"), link["redirectUrl"].(string)))
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = NULL").Where("id = ?", sam.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := w.setSignin(true, true, false)
	expectError(t, r, 409, "would_cut_off_super_admins")
	if !strings.Contains(string(r.Body), `"username":"sam"`) {
		t.Fatalf("refusal does not name sam: %s", r.Body)
	}
	if cur := w.rc.GET("/api/admin/settings/signin").Expect(200).Map(); cur["thirdPartyEnabled"] != true {
		t.Fatal("third-party sign-in turned off anyway")
	}
	w.setSignin(true, false, true).Expect(200) // other changes go through
}

// An administrator's "email verified" on a super administrator keeps the
// address naming that account: a provider asserting it is refused (not
// registered as a second account holding the same verified address).
// (Found by the Playwright test of item 1: the emailVerified-only change
// blanked email_lower.)
func TestHardening_AdminVerifiedEmailStillNamesPrivilegedAccount(t *testing.T) {
	t.Parallel()
	w := newIdP(t, map[string]any{"autoLinkByEmail": true})
	app := w.app
	made := w.rc.POST("/api/admin/users", map[string]any{"username": "boss", "password": "meadow-copper-4417", "email": "Boss@example.com", "role": "super_admin"}).Expect(201).Map()
	w.rc.PATCH("/api/admin/users/"+made["publicId"].(string), map[string]any{"emailVerified": true}).Expect(200)
	if _, err := models.UserByEmail(context.Background(), app.Svc.DB, "boss@example.com"); err != nil {
		t.Fatalf("the verified address no longer names its account: %v", err)
	}
	c := app.Client()
	wantRefused(t, w.roundTrip(c, verified("boss-idp", "boss", "boss@example.com"), ""), "privileged_account_link")
	c.GET("/api/me").Expect(401)
}
