package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

func TestParallelCorrectSignInsAreNeverLockedOut(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 3 })
	alice := app.Member("alice")
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("sign-in %d: status %d", i, s)
		}
	}
	row := app.Reload(alice)
	if row.FailedLogins != 0 || row.LockedUntil != nil {
		t.Fatalf("after %d correct sign-ins: failed_logins=%d locked_until=%v", n, row.FailedLogins, row.LockedUntil)
	}
	if rows := auditRows(t, app, service.ActionAccountLocked, alice.PublicID); len(rows) != 0 {
		t.Fatalf("correct sign-ins locked the account: %+v", rows)
	}
	if n := sessionCount(t, app, alice.ID); n != 20 {
		t.Fatalf("%d sessions", n)
	}
}

func TestSuccessResetsTheFailureCount(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 3 })
	alice := app.Member("alice")
	wrong := func() {
		t.Helper()
		expectError(t, app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")), http.StatusUnauthorized, "invalid_credentials")
	}
	for round := 0; round < 3; round++ {
		wrong()
		wrong()
		if n := app.Reload(alice).FailedLogins; n != 2 {
			t.Fatalf("round %d: failed_logins %d after two failures", round, n)
		}
		app.LoginAs(alice)
		if n := app.Reload(alice).FailedLogins; n != 0 {
			t.Fatalf("round %d: failed_logins %d after a success", round, n)
		}
	}
	if rows := auditRows(t, app, service.ActionAccountLocked, alice.PublicID); len(rows) != 0 {
		t.Fatalf("locked although no three failures were in a row: %+v", rows)
	}
}

func TestLockingIsAuditedAndExpires(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 3; s.LockDurationSeconds = 600 })
	alice := app.Member("alice")
	bob := app.Member("bob")
	for i := 0; i < 3; i++ {
		app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")).Expect(http.StatusUnauthorized)
	}
	rows := auditRows(t, app, service.ActionAccountLocked, alice.PublicID)
	if len(rows) != 1 {
		t.Fatalf("%d auth.account_locked rows after reaching the threshold", len(rows))
	}
	d := details(t, rows[0])
	if d["threshold"] != float64(3) || d["lockedUntil"] == nil {
		t.Fatalf("lock audit details %s", rows[0].Details)
	}
	row := app.Reload(alice)
	if row.LockedUntil == nil || !row.LockedUntil.Equal(app.Clock.Now().Add(10*time.Minute)) {
		t.Fatalf("locked_until %v", row.LockedUntil)
	}
	// While locked: the right password gets the same refusal, and it is
	// recorded as "locked", not verified.
	r := app.Client().POST("/api/auth/login", creds("alice", alice.Password))
	expectError(t, r, http.StatusUnauthorized, "invalid_credentials")
	if r.SetCookie(cookieName) != nil {
		t.Fatal("a locked account got a cookie")
	}
	fails := auditRows(t, app, service.ActionLoginFailed, alice.PublicID)
	if last := details(t, fails[len(fails)-1]); last["reason"] != "locked" {
		t.Fatalf("sign-in during the lock recorded as %v", last["reason"])
	}
	// Further failures do not extend the lock or log it again.
	app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")).Expect(http.StatusUnauthorized)
	if n := len(auditRows(t, app, service.ActionAccountLocked, alice.PublicID)); n != 1 {
		t.Fatalf("%d lock rows", n)
	}
	// Other accounts are unaffected.
	app.LoginAs(bob)
	// The lock expires on its own.
	app.Clock.Advance(10*time.Minute - time.Second)
	app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusUnauthorized)
	app.Clock.Advance(time.Second)
	app.LoginAs(alice)
	if row := app.Reload(alice); row.FailedLogins != 0 || row.LockedUntil != nil {
		t.Fatalf("after the lock: failed_logins=%d locked_until=%v", row.FailedLogins, row.LockedUntil)
	}
	// A fresh count starts after an expired lock: one failure does not re-lock.
	app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")).Expect(http.StatusUnauthorized)
	app.LoginAs(alice)
}

func TestLockoutCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 0 })
	alice := app.Member("alice")
	for i := 0; i < 15; i++ {
		app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")).Expect(http.StatusUnauthorized)
	}
	app.LoginAs(alice)
}

func TestExistingSessionsSurviveALockOfTheAccount(t *testing.T) {
	t.Parallel()
	// The lock throttles password guessing; it is not a suspension. A
	// signed-in device keeps working while someone guesses elsewhere.
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 2 })
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	for i := 0; i < 3; i++ {
		app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")).Expect(http.StatusUnauthorized)
	}
	c.GET("/api/me").Expect(http.StatusOK)
	var me struct {
		LockedUntil *time.Time `json:"lockedUntil"`
	}
	c.GET("/api/me").JSON(&me)
	if me.LockedUntil == nil {
		t.Fatal("lockedUntil not shown to the account owner")
	}
}

// TestEveryRefusalLooksTheSame extends TestLoginFailuresLookTheSame to
// locked, pending and password-less accounts, and compares headers too.
func TestEveryRefusalLooksTheSame(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	alice := app.Member("alice")
	locked := app.Member("lockedlarry")
	until := app.Clock.Now().Add(time.Hour)
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("locked_until = ?", until).Set("failed_logins = 10").Where("id = ?", locked.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	pending := app.CreateUser(testkit.UserSpec{Username: "penny", Email: "penny@example.com", Status: models.StatusPending})
	suspended := app.CreateUser(testkit.UserSpec{Username: "sam", Status: models.StatusSuspended})
	deactivated := app.CreateUser(testkit.UserSpec{Username: "dan", Status: models.StatusDeactivated})
	nopw := app.Member("oidconly")
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = NULL").Where("id = ?", nopw.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	cases := map[string]map[string]string{
		"unknown user":          creds("nobody", "whatever-password"),
		"unknown email":         creds("nobody@example.com", "whatever-password"),
		"wrong password":        creds("alice", "wrong-password-1"),
		"wrong password, email": creds("alice@example.com", "wrong-password-1"),
		"locked, right pw":      creds("lockedlarry", locked.Password),
		// A right password on these says why (TestHardening_AccountStateAfterRightPassword).
		"pending, wrong pw":     creds("penny", pending.Password+"x"),
		"suspended, wrong pw":   creds("sam", suspended.Password+"x"),
		"deactivated, wrong pw": creds("dan", deactivated.Password+"x"),
		"no password, empty":    creds("oidconly", " "),
		"no password, any":      creds("oidconly", nopw.Password),
	}
	var first *testkit.Response
	for name, body := range cases {
		r := app.Client().POST("/api/auth/login", body)
		expectError(t, r, http.StatusUnauthorized, "invalid_credentials")
		if r.SetCookie(cookieName) != nil {
			t.Errorf("%s: a cookie was set", name)
		}
		if first == nil {
			first = r
			continue
		}
		if string(r.Body) != string(first.Body) {
			t.Errorf("%s: body %s differs from %s", name, r.Body, first.Body)
		}
		for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control", "Retry-After", "WWW-Authenticate"} {
			if r.Header.Get(h) != first.Header.Get(h) {
				t.Errorf("%s: header %s %q differs from %q", name, h, r.Header.Get(h), first.Header.Get(h))
			}
		}
	}
	// The lock is untouched by a sign-in attempt against it.
	if row := app.Reload(locked); row.LockedUntil == nil || !row.LockedUntil.Equal(until) {
		t.Fatalf("locked_until %v", row.LockedUntil)
	}
	app.LoginAs(alice)
}

// Checks still running past the wait for them (a server stalled for
// seconds) must not turn a right password into a lock: the attempt that
// found the count full is refused as a locked one is, but nothing is
// locked, and the account signs in as soon as the checks end. Only a count
// that has seen no attempt for a minute (checks that never ended) becomes
// a lock, which expires like any other.
func TestSlowChecksInFlightNeverLockTheAccount(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 3; s.LockDurationSeconds = 600 })
	alice := app.Member("alice")
	ctx := context.Background()
	inFlight := func() {
		t.Helper()
		for range 3 { // what three sign-ins do before they check their secrets
			if ok, err := models.ReserveSignInAttempt(ctx, app.Svc.DB, alice.ID, 3, app.Clock.Now()); err != nil || !ok {
				t.Fatalf("reserve: %v %v", ok, err)
			}
		}
	}

	inFlight()
	expectError(t, app.Client().POST("/api/auth/login", creds("alice", alice.Password)), http.StatusUnauthorized, "invalid_credentials")
	row := app.Reload(alice)
	if row.LockedUntil != nil || row.FailedLogins != 3 {
		t.Fatalf("after a sign-in that outwaited three checks in flight: locked_until=%v failed_logins=%d", row.LockedUntil, row.FailedLogins)
	}
	if rows := auditRows(t, app, service.ActionAccountLocked, alice.PublicID); len(rows) != 0 {
		t.Fatalf("checks in flight locked the account: %+v", rows)
	}
	// The checks end (right passwords clear the count): alice signs in.
	if err := models.ClearFailedSignIns(ctx, app.Svc.DB, alice.ID); err != nil {
		t.Fatal(err)
	}
	app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)

	// Checks that never end: a minute later the full count is a lock.
	inFlight()
	app.Clock.Advance(stuckAfter)
	expectError(t, app.Client().POST("/api/auth/login", creds("alice", alice.Password)), http.StatusUnauthorized, "invalid_credentials")
	if app.Reload(alice).LockedUntil == nil {
		t.Fatal("a count full for a minute with no attempt did not lock")
	}
	if rows := auditRows(t, app, service.ActionAccountLocked, alice.PublicID); len(rows) != 1 {
		t.Fatalf("%d account.locked audit rows for the stuck count", len(rows))
	}
	app.Clock.Advance(601 * time.Second)
	app.Client().POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
}

// stuckAfter is a little more than service.stuckAttemptAge.
const stuckAfter = time.Minute + time.Second
