package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/security"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// keyRace arms an instance's secret box so that the first value it seals
// sets `gatehouse key rotate` going on the database (another process with
// a new key) and waits up to a second for it. The request that sealed the
// value had passed the instance's once-per-request key check
// (Settings.Sync) before the rotation: the race of an instance still on
// the old key writing a secret while, or just after, the key changes.
type keyRace struct {
	old, next    *security.SecretBox
	db           *bun.DB
	done         chan error
	mu           sync.Mutex
	fired        bool
	rotatedFirst bool // the rotation committed before the request went on
}

func armKeyRace(t *testing.T, app *testkit.App) *keyRace {
	t.Helper()
	r := newKeyRace(t, app)
	app.Svc.Box.SetAfterSeal(r.fire)
	t.Cleanup(func() { app.Svc.Box.SetAfterSeal(nil) })
	return r
}

// armKeyRaceBeforeUpdate is armKeyRace for a request that seals nothing
// new but writes back a secret it read: the rotation starts when the
// request is about to run its UPDATE of table (after it read the row,
// inside its transaction). On PostgreSQL the rotation's table locks do
// not wait for a reader, so it can commit between the read and the write,
// and the write would put the old key's secret back over the re-encrypted
// one; the key check after the write (sealedStored) must refuse it. On
// SQLite the request's transaction holds the database and the rotation
// comes after it.
func armKeyRaceBeforeUpdate(t *testing.T, app *testkit.App, table string) *keyRace {
	t.Helper()
	r := newKeyRace(t, app)
	app.Svc.DB.AddQueryHook(updateHook{prefix: `UPDATE "` + table + `"`, fire: r.fire})
	return r
}

// updateHook calls fire before every query that starts with prefix.
type updateHook struct {
	prefix string
	fire   func()
}

func (h updateHook) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if strings.HasPrefix(e.Query, h.prefix) {
		h.fire()
	}
	return ctx
}

func (updateHook) AfterQuery(context.Context, *bun.QueryEvent) {}

func newKeyRace(t *testing.T, app *testkit.App) *keyRace {
	t.Helper()
	next, _ := newSecretKey(t)
	r := &keyRace{next: next, done: make(chan error, 1), old: app.Svc.Box, db: app.Svc.DB}
	return r
}

// fire sets the rotation going, once, and waits up to a second for it.
func (r *keyRace) fire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fired {
		return
	}
	r.fired = true
	rotated := make(chan error, 1)
	go func() {
		_, err := service.RotateKey(context.Background(), r.db, r.old, r.next, nil)
		rotated <- err
	}()
	select {
	case err := <-rotated:
		r.rotatedFirst = err == nil
		r.done <- err
	case <-time.After(time.Second):
		// The request holds a lock the rotation waits for.
		go func() { r.done <- <-rotated }()
	}
}

// check waits for the rotation and then requires that every secret stored
// anywhere in the database opens with the new key. It answers whether the
// rotation had committed before the request stored its secret.
func (r *keyRace) check(t *testing.T, app *testkit.App) bool {
	t.Helper()
	r.mu.Lock()
	fired := r.fired
	r.mu.Unlock()
	if !fired {
		t.Fatal("the request sealed nothing: the scenario does not reach a secret")
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("key rotate: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("key rotate did not finish")
	}
	values := testkit.SealedInDatabase(t, app.Svc.DB)
	if len(values) == 0 {
		t.Fatal("no sealed values in the database")
	}
	for _, v := range values {
		if _, err := r.next.Open(v.Sealed); err != nil {
			t.Errorf("%s does not open with the new key (sealed with the old one after the rotation?): %v", v.Where, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rotatedFirst
}

// A request on an instance still running with the old key that seals a
// secret while another process runs `gatehouse key rotate` either stores
// it before the rotation (which then re-encrypts it) or is refused with
// 503 secret_key_changed and stores nothing: never a secret sealed with a
// key the database no longer uses. Every way a request stores a secret is
// raced: the TOTP enrolment and its confirmation (which queues an alert
// email), webhook endpoint creation, secret rotation and update (which
// writes the secrets it read back), the SMTP password
// and the Turnstile secret, an identity provider's client secret (set,
// and written back by an update), a
// provider sign-in's PKCE verifier, a queued email (forgot password), and
// the OpenID Provider's signing key rotation.
func TestHardening_KeyRotateRacesOldKeyWrites(t *testing.T) {
	t.Parallel()
	type scenario struct {
		name string
		// run sets the world up, arms the race and makes the request; it
		// answers the response, or nil for work that answers before it
		// stores (then err, if it is a direct call).
		run func(t *testing.T) (app *testkit.App, race *keyRace, r *testkit.Response, err error)
	}
	signedIn := func(t *testing.T) (*testkit.App, *testkit.User, *testkit.Client) {
		app := testkit.NewApp(t, testkit.WithHTTPWebhooks())
		root := app.SuperAdmin("root")
		return app, root, app.LoginAs(root)
	}
	scenarios := []scenario{
		{"2fa setup", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app, root, c := signedIn(t)
			race := armKeyRace(t, app)
			return app, race, c.POST("/api/me/2fa/setup", map[string]string{"password": root.Password}), nil
		}},
		{"2fa enable", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app, root, c := signedIn(t)
			secret, _ := c.POST("/api/me/2fa/setup", map[string]string{"password": root.Password}).Expect(200).Map()["secret"].(string)
			code, err := security.TOTPCode(secret, security.TOTPStep(app.Clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			race := armKeyRace(t, app)
			return app, race, c.POST("/api/me/2fa/enable", map[string]string{"code": code, "password": root.Password}), nil
		}},
		{"webhook create", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app, _, c := signedIn(t)
			race := armKeyRace(t, app)
			return app, race, c.POST("/api/admin/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{service.EventAccountStatusChanged}}), nil
		}},
		{"webhook rotate secret", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app, _, c := signedIn(t)
			id, _ := createEndpoint(t, c, "http://127.0.0.1:9/hook", []string{service.EventAccountStatusChanged}, nil)
			race := armKeyRace(t, app)
			return app, race, c.POST("/api/admin/webhooks/"+id+"/rotate-secret", nil), nil
		}},
		{"webhook update (its secrets written back)", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app, _, c := signedIn(t)
			id, _ := createEndpoint(t, c, "http://127.0.0.1:9/hook", []string{service.EventAccountStatusChanged}, nil)
			race := armKeyRaceBeforeUpdate(t, app, "webhook_endpoints")
			return app, race, c.PATCH("/api/admin/webhooks/"+id, map[string]any{"enabled": false}), nil
		}},
		{"smtp password", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app, _, c := signedIn(t)
			body := c.GET("/api/admin/settings/email").Expect(200).Map()
			delete(body, "passwordSet")
			body["username"], body["password"] = "mailer", "smtp-password-1"
			race := armKeyRace(t, app)
			return app, race, c.PUT("/api/admin/settings/email", body), nil
		}},
		{"turnstile secret", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app, _, c := signedIn(t)
			app.SetRegistration(func(r *service.RegistrationSettings) { r.EmailRegistrationEnabled = true })
			race := armKeyRace(t, app)
			return app, race, c.PUT("/api/admin/settings/human-verification", map[string]any{"version": 0, "turnstileEnabled": true, "siteKey": "site-key-1", "secret": "ts-secret"}), nil
		}},
		{"identity provider client secret", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			w := newIdP(t, nil)
			m := w.mock
			race := armKeyRace(t, w.app)
			return w.app, race, w.rc.POST("/api/admin/identity-providers", map[string]any{"slug": "plain", "name": "Plain", "type": "oauth2",
				"clientId": m.ClientID, "clientSecret": "another-client-secret", "authorizationUrl": m.AuthorizationEndpoint(), "tokenUrl": m.TokenEndpoint(),
				"userinfoUrl": m.UserinfoEndpoint(), "scopes": []string{"email"}, "fieldMapping": map[string]string{"subject": "sub"}}), nil
		}},
		{"identity provider update (its client secret written back)", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			w := newIdP(t, nil)
			race := armKeyRaceBeforeUpdate(t, w.app, "identity_providers")
			return w.app, race, w.patch(map[string]any{"name": "Renamed"}), nil
		}},
		{"provider sign-in verifier", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			w := newIdP(t, nil)
			race := armKeyRace(t, w.app)
			return w.app, race, w.app.Client().GET("/api/auth/oidc/mock/start"), nil
		}},
		{"queued email", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app := testkit.NewApp(t)
			app.CreateUser(testkit.UserSpec{Username: "alice", Email: "alice@example.com"})
			race := armKeyRace(t, app)
			app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "alice@example.com"}).Expect(http.StatusAccepted)
			app.Drain() // the email is queued after the answer
			return app, race, nil, nil
		}},
		{"signing key rotation", func(t *testing.T) (*testkit.App, *keyRace, *testkit.Response, error) {
			app := testkit.NewApp(t)
			race := armKeyRace(t, app)
			_, err := app.Svc.OIDC.RotateSigningKey(context.Background())
			return app, race, nil, err
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			app, race, r, err := sc.run(t)
			rotatedFirst := race.check(t, app)
			switch {
			case r != nil:
				refused := r.Status == http.StatusServiceUnavailable && r.ErrorCode() == "secret_key_changed"
				if rotatedFirst && !refused {
					t.Fatalf("the key was rotated before the request stored its secret, and it answered %d %s", r.Status, r.Body)
				}
				if !refused && r.Status >= 300 && r.Status != http.StatusFound {
					t.Fatalf("answer %d %s", r.Status, r.Body)
				}
			case err != nil:
				if !rotatedFirst || !errors.Is(err, service.ErrSecretKeyChanged) {
					t.Fatalf("direct call: %v (rotated first: %v)", err, rotatedFirst)
				}
			case rotatedFirst && sc.name == "signing key rotation":
				t.Fatal("the signing key rotation stored a key after the secret key was rotated")
			}
			if n, err := app.Svc.DB.NewSelect().Model((*models.SecretKeyRow)(nil)).Where("rotated_at IS NOT NULL").Count(context.Background()); err != nil || n != 1 {
				t.Fatalf("rotation recorded: %d %v", n, err)
			}
		})
	}
}
