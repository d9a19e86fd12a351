package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// dropPassword makes u an account without a password (as after a
// provider registration).
func dropPassword(t *testing.T, app *testkit.App, u *testkit.User) {
	t.Helper()
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = NULL").Where("id = ?", u.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Issue 13 item 3: wrong current passwords on every re-authentication
// count toward the one sign-in lock, are audited with their purpose, and
// the lock then refuses sign-in and re-authentication alike.
func TestHardening_ReauthenticationIsCountedAndLocks(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 5; s.LockDurationSeconds = 900 })
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	bad := "Not-Her-Password-1"
	r := c.POST("/api/me/password", map[string]string{"currentPassword": bad, "newPassword": "Brand-New-Pass-2026"})
	expectError(t, r, http.StatusUnprocessableEntity, "wrong_password")
	if r.Fields()["currentPassword"] == "" {
		t.Fatalf("no field error: %s", r.Body)
	}
	c.POST("/api/me/password", map[string]string{"currentPassword": bad, "newPassword": "Brand-New-Pass-2026"}).Expect(422)
	r = c.POST("/api/me/email", map[string]string{"email": "alice@new.example", "password": bad})
	expectError(t, r, http.StatusUnprocessableEntity, "wrong_password")
	if r.Fields()["password"] == "" {
		t.Fatalf("no field error: %s", r.Body)
	}
	c.POST("/api/me/2fa/setup", map[string]string{"password": bad}).Expect(422)
	if n := app.Reload(alice).FailedLogins; n != 4 {
		t.Fatalf("failed_logins %d after four wrong re-authentications", n)
	}
	c.POST("/api/me/identities/none/link", map[string]string{"password": bad}).Expect(404) // no such provider: nothing checked
	c.POST("/api/me/2fa/setup", map[string]string{"password": bad}).Expect(422)
	if !app.Reload(alice).LockedAt(app.Clock.Now()) {
		t.Fatal("five wrong current passwords did not lock the account")
	}
	if rows := auditRows(t, app, service.ActionAccountLocked, alice.PublicID); len(rows) != 1 {
		t.Fatalf("%d lock audit rows", len(rows))
	}
	rows := auditRows(t, app, service.ActionReauthFailed, alice.PublicID)
	if len(rows) != 5 {
		t.Fatalf("%d reauth_failed rows, want 5", len(rows))
	}
	purposes := map[string]int{}
	for _, e := range rows {
		d := details(t, e)
		purposes[d["purpose"].(string)]++
		if d["reason"] != "wrong_password" || e.ActorPublicID != alice.PublicID {
			t.Fatalf("audit row %+v %v", e, d)
		}
	}
	if purposes[service.ReauthPasswordChange] != 2 || purposes[service.ReauthEmailChange] != 1 || purposes[service.Reauth2FASetup] != 2 {
		t.Fatalf("purposes %v", purposes)
	}
	// Locked: the right password is refused too, here and at sign-in.
	expectError(t, c.POST("/api/me/password", map[string]string{"currentPassword": alice.Password, "newPassword": "Brand-New-Pass-2026"}), http.StatusTooManyRequests, "account_locked")
	expectError(t, app.Client().POST("/api/auth/login", creds("alice", alice.Password)), http.StatusUnauthorized, "invalid_credentials")
	if d := details(t, auditRows(t, app, service.ActionReauthFailed, alice.PublicID)[5]); d["reason"] != "locked" {
		t.Fatalf("locked refusal audited as %v", d)
	}
}

// A right current password on a 2FA account does not clear wrong codes;
// disable and new recovery codes check password and code under the lock.
func TestHardening_ReauthenticationKeepsTheCodeCount(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 10 })
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	secret, _ := enrol(t, app, c, alice.Password)
	wrong := wrongCode(t, secret, app.Clock.Now())
	for i := 0; i < 3; i++ {
		expectError(t, c.POST("/api/me/2fa/disable", map[string]string{"password": alice.Password, "code": wrong}), http.StatusUnprocessableEntity, "invalid_password_or_code")
	}
	c.POST("/api/me/email", map[string]string{"email": "alice@new.example", "password": alice.Password}) // right password, whatever the answer
	if n := app.Reload(alice).FailedLogins; n != 3 {
		t.Fatalf("failed_logins %d after a right password on a 2FA account, want 3", n)
	}
	expectError(t, c.POST("/api/me/2fa/recovery-codes", map[string]string{"code": wrong}), http.StatusUnprocessableEntity, "validation_failed")
	app.Clock.Advance(30 * time.Second)
	c.POST("/api/me/2fa/recovery-codes", map[string]string{"password": alice.Password, "code": codeAt(t, secret, app.Clock.Now())}).Expect(200)
	if n := app.Reload(alice).FailedLogins; n != 0 {
		t.Fatalf("failed_logins %d after password and code", n)
	}
	if rows := auditRows(t, app, service.ActionReauthFailed, alice.PublicID); len(rows) != 3 || details(t, rows[0])["purpose"] != service.Reauth2FADisable {
		t.Fatalf("reauth audit %+v", rows)
	}
}

// Re-authentication is under the strict auth rate limit.
func TestHardening_ReauthenticationIsRateLimited(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithTrustedProxies("127.0.0.1"))
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	app.SetSecurity(func(s *service.SecuritySettings) {
		s.RateLimitEnabled = true
		s.AuthRateLimitPerMinute = 3
		s.LockThreshold = 100
	})
	for i, path := range []string{"/api/me/password", "/api/me/2fa/setup", "/api/me/identities/mock/link"} {
		ip := "198.51.100." + strconv.Itoa(i+1) // a budget of its own for each route
		body := map[string]string{"password": "x"}
		if path == "/api/me/password" {
			body = map[string]string{"currentPassword": "x", "newPassword": "y"}
		}
		for j := 0; j < 3; j++ {
			if r := c.POST(path, body, "X-Forwarded-For", ip); r.Status == http.StatusTooManyRequests {
				t.Fatalf("%s: limited after %d", path, j)
			}
		}
		expectError(t, c.POST(path, body, "X-Forwarded-For", ip), http.StatusTooManyRequests, "rate_limited")
	}
}

// Issue 13 item 4: a stolen cookie alone cannot enrol an authenticator or
// start a provider link; the current password can.
func TestHardening_AddingAWayInNeedsThePassword(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	alice := app.Member("alice")
	c := app.LoginAs(alice)

	r := c.POST("/api/me/2fa/setup", nil)
	expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if r.Fields()["password"] == "" {
		t.Fatalf("no password field error: %s", r.Body)
	}
	expectError(t, c.POST("/api/me/2fa/setup", map[string]string{"password": "Wrong-Password-9"}), http.StatusUnprocessableEntity, "wrong_password")
	setup := c.POST("/api/me/2fa/setup", map[string]string{"password": alice.Password}).Expect(200).Map()
	code := codeAt(t, setup["secret"].(string), app.Clock.Now())
	r = c.POST("/api/me/2fa/enable", map[string]string{"code": code})
	if r.Status != http.StatusUnprocessableEntity || r.Fields()["password"] == "" {
		t.Fatalf("enable without the password: %d %s", r.Status, r.Body)
	}
	if app.Reload(alice).TwoFactorEnabled() {
		t.Fatal("enabled without the password")
	}

	r = c.POST("/api/me/identities/mock/link", nil)
	if r.Status != http.StatusUnprocessableEntity || r.Fields()["password"] == "" {
		t.Fatalf("link without the password: %d %s", r.Status, r.Body)
	}
	expectError(t, c.POST("/api/me/identities/mock/link", map[string]string{"password": "Wrong-Password-9"}), http.StatusUnprocessableEntity, "wrong_password")
	if ck := r.SetCookie("gatehouse_oidc"); ck != nil && ck.MaxAge > 0 {
		t.Fatal("a flow cookie was set for a refused link")
	}
	link := c.POST("/api/me/identities/mock/link", map[string]string{"password": alice.Password}).Expect(200).Map()
	if got := location(t, w.fromProvider(c, verified("p-alice", "alice", "alice@example.com"), link["redirectUrl"].(string))); got != "/account/providers?linked=mock" {
		t.Fatalf("link landed on %q", got)
	}
	c.POST("/api/me/2fa/enable", map[string]string{"code": code, "password": alice.Password}).Expect(200)
}

// An account without a password adds a way in only within five minutes of
// signing in (server clock).
func TestHardening_PasswordlessAccountsNeedARecentSignIn(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	dropPassword(t, app, alice)
	c.POST("/api/me/2fa/setup", nil).Expect(200)
	app.Clock.Advance(5*time.Minute + time.Second)
	expectError(t, c.POST("/api/me/2fa/setup", nil), http.StatusForbidden, "recent_sign_in_required")
	expectError(t, c.POST("/api/me/identities/mock/link", nil), http.StatusForbidden, "recent_sign_in_required")
	rows := auditRows(t, app, service.ActionReauthFailed, alice.PublicID)
	if len(rows) != 2 || details(t, rows[0])["reason"] != "sign_in_not_recent" {
		t.Fatalf("audit %+v", rows)
	}
}
