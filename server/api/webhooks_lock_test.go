package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// failLockedEvents makes every insert of an account.locked webhook event
// fail (a write that breaks in the middle of the lock's transaction).
func failLockedEvents(t *testing.T, app *testkit.App) func() {
	t.Helper()
	ctx := context.Background()
	db := app.Svc.DB
	stmts, undo := []string{
		`CREATE TRIGGER fail_locked BEFORE INSERT ON webhook_events WHEN NEW.type = 'account.locked' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
	}, []string{`DROP TRIGGER fail_locked`}
	if !models.IsSQLite(db) {
		stmts = []string{
			`CREATE FUNCTION fail_locked() RETURNS trigger AS $$ BEGIN IF NEW.type = 'account.locked' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER fail_locked BEFORE INSERT ON webhook_events FOR EACH ROW EXECUTE FUNCTION fail_locked()`,
		}
		undo = []string{`DROP TRIGGER fail_locked ON webhook_events`, `DROP FUNCTION fail_locked()`}
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for _, s := range undo {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func lockedEvents(t *testing.T, app *testkit.App, u *testkit.User) int {
	t.Helper()
	n, err := app.Svc.DB.NewSelect().Model((*models.WebhookEvent)(nil)).Where("account_id = ?", u.ID).Where("type = ?", service.EventAccountLocked).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestWebhooks_LockedWrittenWithTheLock: account.locked is written in the
// transaction that sets the lock. Parallel failures that reach the
// threshold lock once and raise exactly one event (delivered once); when
// that transaction fails, neither the lock nor the event nor its audit row
// remains, and the lock that follows (the stuck count) raises its one event.
func TestWebhooks_LockedWrittenWithTheLock(t *testing.T) {
	app := testkit.NewApp(t, testkit.WithHTTPWebhooks())
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 3; s.LockDurationSeconds = 600 })
	rcv := newReceiver(t, http.StatusNoContent)
	ac := app.LoginAs(app.SuperAdmin("root"))
	_, secret := createEndpoint(t, ac, rcv.srv.URL, []string{service.EventAccountLocked}, nil)
	rcv.set(func(r *receiver) { r.secrets = []string{secret} })
	alice, bob := app.Member("alice"), app.Member("bob")

	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1")).Expect(http.StatusUnauthorized)
		}()
	}
	wg.Wait()
	if app.Reload(alice).LockedUntil == nil {
		t.Fatal("alice is not locked after 10 failures")
	}
	if n := lockedEvents(t, app, alice); n != 1 {
		t.Fatalf("%d account.locked events for one lock", n)
	}
	waitWebhooks(t, app)
	rcv.mu.Lock()
	if len(rcv.got) != 1 || rcv.got[0].Type != service.EventAccountLocked || rcv.got[0].Account != alice.PublicID || len(rcv.bad) > 0 {
		t.Errorf("received %+v (bad %v), want one account.locked for alice", rcv.got, rcv.bad)
	}
	rcv.mu.Unlock()

	// The lock's transaction fails at its event: nothing of it remains.
	restore := failLockedEvents(t, app)
	for i := range 3 {
		c := app.Client()
		c.SkipSpec = true // the injected failure answers 500, which the document does not list for sign-in
		r := c.POST("/api/auth/login", creds("bob", "wrong-password-1"))
		if i < 2 {
			r.Expect(http.StatusUnauthorized)
		} else if r.Status < 500 {
			t.Fatalf("the sign-in whose lock could not be written answered %d %s", r.Status, r.Body)
		}
	}
	if lu := app.Reload(bob).LockedUntil; lu != nil {
		t.Fatalf("bob is locked until %v though the lock's transaction failed (its event was never written)", lu)
	}
	if n := lockedEvents(t, app, bob); n != 0 {
		t.Fatalf("%d account.locked events for a rolled-back lock", n)
	}
	if rows := auditRows(t, app, service.ActionAccountLocked, bob.PublicID); len(rows) != 0 {
		t.Fatalf("audit rows for a rolled-back lock: %d", len(rows))
	}
	restore()
	// The count stays at the threshold: once it has seen no attempt for a
	// minute, the next attempt locks and that lock raises its event.
	app.Clock.Advance(stuckAfter)
	app.Client().POST("/api/auth/login", creds("bob", bob.Password)).Expect(http.StatusUnauthorized)
	if app.Reload(bob).LockedUntil == nil {
		t.Fatal("bob is not locked after the stuck count")
	}
	if n := lockedEvents(t, app, bob); n != 1 {
		t.Fatalf("%d account.locked events for the stuck-count lock", n)
	}
	if rows := auditRows(t, app, service.ActionAccountLocked, bob.PublicID); len(rows) != 1 {
		t.Fatalf("%d audit rows for the stuck-count lock", len(rows))
	}
}
