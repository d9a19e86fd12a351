package api_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// rotateBeforeOpen arms an instance's secret box so that the first value
// it opens after this call sets `gatehouse key rotate` going on the
// database (another process with a new key) and waits for it: the request
// passed the instance's once-per-request key check (Settings.Sync) before
// the rotation, and then reads a secret the rotation re-encrypted. It
// reports whether the rotation ran.
func rotateBeforeOpen(t *testing.T, app *testkit.App) func() bool {
	t.Helper()
	next, _ := newSecretKey(t)
	var fired atomic.Bool
	old := app.Svc.Box
	old.SetBeforeOpen(func() {
		// The rotation opens every stored value with this box too:
		// those calls find the hook spent.
		if !fired.CompareAndSwap(false, true) {
			return
		}
		if _, err := service.RotateKey(context.Background(), app.Svc.DB, old, next, nil); err != nil {
			t.Errorf("key rotate: %v", err)
		}
	})
	t.Cleanup(func() { old.SetBeforeOpen(nil) })
	return fired.Load
}

// A request on an instance still running with the old key, when another
// process rotates the key while the request runs, answers 503
// secret_key_changed (restart the instance with the new key), never a 500:
// the second sign-in step, with the rotation committed as it opens the
// TOTP secret; and the TOTP enrolment's confirmation, which reads the
// pending secret inside its transaction after its key check passed
// (checked through the service, the rotation committed just before it:
// seen failing first, "secret cannot be decrypted with this key", a 500).
func TestHardening_KeyRotatedBeforeASecretIsRead(t *testing.T) {
	t.Parallel()
	want503 := func(t *testing.T, r *testkit.Response, fired func() bool) {
		t.Helper()
		if !fired() {
			t.Fatal("the request opened no secret: the scenario does not reach one")
		}
		if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "secret_key_changed" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %s after the key changed under it: %d %s (Retry-After %q)", r.Req.Method, r.Req.URL.Path, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
	}

	t.Run("second sign-in step", func(t *testing.T) {
		t.Parallel()
		app := testkit.NewApp(t)
		alice := app.Member("alice")
		secret, _ := enrol(t, app, app.LoginAs(alice), alice.Password)
		b := app.Client()
		b.POST("/api/auth/login", map[string]string{"identifier": "alice", "password": alice.Password}).Expect(200)
		app.Clock.Advance(30 * time.Second)
		fired := rotateBeforeOpen(t, app)
		want503(t, b.POST("/api/auth/mfa", map[string]string{"code": codeAt(t, secret, app.Clock.Now())}), fired)
	})

	t.Run("2fa enable", func(t *testing.T) {
		t.Parallel()
		app := testkit.NewApp(t)
		alice := app.Member("alice")
		c := app.LoginAs(alice)
		setup := c.POST("/api/me/2fa/setup", map[string]string{"password": alice.Password}).Expect(200).Map()
		code := codeAt(t, setup["secret"].(string), app.Clock.Now())
		next, _ := newSecretKey(t)
		if _, err := service.RotateKey(context.Background(), app.Svc.DB, app.Svc.Box, next, nil); err != nil {
			t.Fatal(err)
		}
		_, err := app.Svc.Account.EnableTwoFactor(context.Background(), service.Actor{User: app.Reload(alice)}, alice.Password, code)
		if err != service.ErrSecretKeyChanged {
			t.Fatalf("EnableTwoFactor after the key changed: %v, want ErrSecretKeyChanged", err)
		}
	})
}
