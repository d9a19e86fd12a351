package api_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// wrongCode is a six-digit code that is not the current one of secret.
func wrongCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	for _, c := range []string{"000000", "111111", "222222"} {
		if c != codeAt(t, secret, at) && c != codeAt(t, secret, at.Add(-30*time.Second)) && c != codeAt(t, secret, at.Add(30*time.Second)) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// Issue 13 item 14: with the shortest idle timeout a session used every 15
// seconds (and every 50) lives on; it ends once it really idles.
func TestHardening_ActiveSessionOutlivesShortIdleTimeout(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	app.SetSecurity(func(s *service.SecuritySettings) { s.SessionIdleTimeoutSeconds = 60 })
	c := app.LoginAs(alice)
	for i := 0; i < 20; i++ { // five minutes, a request every 15 s
		app.Clock.Advance(15 * time.Second)
		if r := c.GET("/api/me"); r.Status != http.StatusOK {
			t.Fatalf("request %d at +%ds: %d", i, 15*(i+1), r.Status)
		}
	}
	for i := 0; i < 6; i++ { // then one every 50 s
		app.Clock.Advance(50 * time.Second)
		if r := c.GET("/api/me"); r.Status != http.StatusOK {
			t.Fatalf("50 s step %d: %d", i, r.Status)
		}
	}
	app.Clock.Advance(61 * time.Second)
	expectError(t, c.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
}

// Issue 13 item 2: rounds of "right password, 9 wrong codes" lock the
// account; the password step never clears the count of a 2FA account.
func TestHardening_SecondFactorGuessesLockTheAccount(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 10; s.LockDurationSeconds = 900 })
	alice := app.Member("alice")
	secret, _ := enrol(t, app, app.LoginAs(alice), alice.Password)
	wrong := wrongCode(t, secret, app.Clock.Now())
	sent, refusedPassword := 0, false
	for round := 0; round < 5; round++ {
		c := app.Client()
		r := c.POST("/api/auth/login", creds("alice", alice.Password))
		if r.Status == http.StatusUnauthorized {
			expectError(t, r, http.StatusUnauthorized, "invalid_credentials")
			refusedPassword = true
			break
		}
		if r.Expect(http.StatusOK).Map()["mfaRequired"] != true {
			t.Fatalf("round %d: %s", round, r.Body)
		}
		for i := 0; i < 9; i++ {
			c.POST("/api/auth/mfa", map[string]string{"code": wrong}).Expect(http.StatusUnauthorized)
			sent++
		}
	}
	if !refusedPassword || !app.Reload(alice).LockedAt(app.Clock.Now()) {
		t.Fatalf("%d wrong codes in rounds of 9 with threshold 10 did not lock the account (failed_logins %d)", sent, app.Reload(alice).FailedLogins)
	}
	if rows := auditRows(t, app, service.ActionAccountLocked, alice.PublicID); len(rows) != 1 {
		t.Fatalf("%d lock audit rows", len(rows))
	}
	// Locked: the right password and the right code do not get in.
	app.Clock.Advance(30 * time.Second)
	expectError(t, app.Client().POST("/api/auth/login", creds("alice", alice.Password)), http.StatusUnauthorized, "invalid_credentials")
}

// A correct password step keeps the count of a 2FA account; only the
// completed sign-in clears it.
func TestHardening_PasswordStepKeepsTheCountUntilSignInCompletes(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 10 })
	alice := app.Member("alice")
	secret, _ := enrol(t, app, app.LoginAs(alice), alice.Password)
	for i := 0; i < 3; i++ {
		app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")).Expect(http.StatusUnauthorized)
	}
	c := app.Client()
	c.POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	if n := app.Reload(alice).FailedLogins; n != 3 {
		t.Fatalf("failed_logins %d after a correct password step, want 3", n)
	}
	app.Clock.Advance(30 * time.Second)
	c.POST("/api/auth/mfa", map[string]string{"code": codeAt(t, secret, app.Clock.Now())}).Expect(http.StatusOK)
	if n := app.Reload(alice).FailedLogins; n != 0 {
		t.Fatalf("failed_logins %d after a completed sign-in", n)
	}
}

// A challenge dies after five wrong codes: the sixth is refused unchecked,
// even when it is right, and does not count toward the lock.
func TestHardening_ChallengeDiesAfterFiveWrongCodes(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 50 })
	alice := app.Member("alice")
	secret, _ := enrol(t, app, app.LoginAs(alice), alice.Password)
	app.Clock.Advance(30 * time.Second)
	c := app.Client()
	c.POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	wrong := wrongCode(t, secret, app.Clock.Now())
	for i := 0; i < 5; i++ {
		expectError(t, c.POST("/api/auth/mfa", map[string]string{"code": wrong}), http.StatusUnauthorized, "invalid_code")
	}
	right := codeAt(t, secret, app.Clock.Now())
	expectError(t, c.POST("/api/auth/mfa", map[string]string{"code": right}), http.StatusUnauthorized, "mfa_expired")
	if n := app.Reload(alice).FailedLogins; n != 5 {
		t.Fatalf("failed_logins %d, want 5", n)
	}
	// A new password step gets a new challenge; the unchecked code still works.
	c.POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	c.POST("/api/auth/mfa", map[string]string{"code": right}).Expect(http.StatusOK)
}

// Parallel codes against one challenge: at most five are checked, and a
// correct code replayed in parallel signs in once.
func TestHardening_ParallelCodesOnOneChallenge(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 100 })
	alice := app.Member("alice")
	secret, _ := enrol(t, app, app.LoginAs(alice), alice.Password)
	app.Clock.Advance(30 * time.Second)
	wrong := wrongCode(t, secret, app.Clock.Now())

	c := app.Client()
	c.POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.POST("/api/auth/mfa", map[string]string{"code": wrong}).Expect(http.StatusUnauthorized)
		}()
	}
	wg.Wait()
	if n := app.Reload(alice).FailedLogins; n != 5 {
		t.Fatalf("20 parallel wrong codes on one challenge: %d checked, want 5", n)
	}

	d := app.Client()
	d.POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	right := codeAt(t, secret, app.Clock.Now())
	var ok atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d.POST("/api/auth/mfa", map[string]string{"code": right}).Status == http.StatusOK {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d parallel replays of one code signed in", ok.Load())
	}
}

// Issue 13 item 17: after a right password an inactive account hears its
// state (what Keycloak does: "Account is disabled" only after correct
// credentials); a wrong password, an unknown or a locked account keep the
// one generic answer.
func TestHardening_AccountStateAfterRightPassword(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 3 })
	bob := app.CreateUser(testkit.UserSpec{Username: "bob", Email: "bob@example.com", Status: models.StatusSuspended})
	carol := app.CreateUser(testkit.UserSpec{Username: "carol", Email: "carol@example.com", Status: models.StatusDeactivated})
	dan := app.CreateUser(testkit.UserSpec{Username: "dan", Email: "dan@example.com", Status: models.StatusPending})
	for _, tc := range []struct {
		user *testkit.User
		code string
	}{{bob, "account_suspended"}, {carol, "account_deactivated"}, {dan, "email_unverified"}} {
		r := app.Client().POST("/api/auth/login", creds(tc.user.Username, tc.user.Password))
		expectError(t, r, http.StatusForbidden, tc.code)
		if r.SetCookie(cookieName) != nil {
			t.Fatalf("%s: a session cookie was set", tc.user.Username)
		}
		rows := auditRows(t, app, service.ActionLoginFailed, tc.user.PublicID)
		if len(rows) != 1 || details(t, rows[0])["reason"] != "status_"+tc.user.Status {
			t.Fatalf("%s: audit %+v", tc.user.Username, rows)
		}
	}
	generic := app.Client().POST("/api/auth/login", creds("nobody", "whatever-password"))
	expectError(t, generic, http.StatusUnauthorized, "invalid_credentials")
	for _, body := range []map[string]string{creds("bob", "wrong-password-1"), creds("carol", "wrong-password-1"), creds("dan@example.com", "wrong-password-1")} {
		if r := app.Client().POST("/api/auth/login", body); r.Status != http.StatusUnauthorized || string(r.Body) != string(generic.Body) {
			t.Fatalf("%v: %d %s", body, r.Status, r.Body)
		}
	}
	// Locked (three wrong passwords in a row): the right password gets the
	// generic answer, the state stays hidden.
	for i := 0; i < 2; i++ {
		app.Client().POST("/api/auth/login", creds("bob", "wrong-password-1")).Expect(http.StatusUnauthorized)
	}
	if r := app.Client().POST("/api/auth/login", creds("bob", bob.Password)); r.Status != http.StatusUnauthorized || string(r.Body) != string(generic.Body) {
		t.Fatalf("locked, right password: %d %s", r.Status, r.Body)
	}
}

// An existing account signing in by a method that is turned off gets the
// generic answer, and the audit log says method_disabled, not
// unknown_account.
func TestHardening_DisabledMethodIsAuditedAsSuch(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.LoginAs(app.SuperAdmin("root"))
	alice := app.Member("alice")
	cur := root.GET("/api/admin/settings/signin").Expect(200).Map()
	root.PUT("/api/admin/settings/signin", map[string]any{"version": cur["version"], "usernameEnabled": false, "emailEnabled": true, "thirdPartyEnabled": false}).Expect(200)
	expectError(t, app.Client().POST("/api/auth/login", creds("alice", alice.Password)), http.StatusUnauthorized, "invalid_credentials")
	rows := auditRows(t, app, service.ActionLoginFailed, alice.PublicID)
	if len(rows) != 1 || details(t, rows[0])["reason"] != "method_disabled" {
		t.Fatalf("audit %+v", rows)
	}
	expectError(t, app.Client().POST("/api/auth/login", creds("nobody", alice.Password)), http.StatusUnauthorized, "invalid_credentials")
	var unknown []models.AuditEvent
	for _, e := range auditRows(t, app, service.ActionLoginFailed, "") {
		if details(t, e)["reason"] == "unknown_account" {
			unknown = append(unknown, e)
		}
	}
	if len(unknown) != 1 {
		t.Fatalf("%d unknown_account rows", len(unknown))
	}
	app.Client().POST("/api/auth/login", creds("alice@example.com", alice.Password)).Expect(http.StatusOK)
}
