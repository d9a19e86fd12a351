package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestAPIKeys_RevocationReachesEveryInstanceAtOnce: instances keep the keys
// they verified in memory; a revocation on one instance, or straight in
// the database (the shell, an operator), is refused on the very next
// request on every instance, well within the cache's lifetime.
func TestAPIKeys_RevocationReachesEveryInstanceAtOnce(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	other := app.Instance()
	super := app.SuperAdmin("root")
	member := app.Member("mia")
	path := "/api/service/entitlements/" + member.PublicID

	secret, key := newKey(t, app, super, service.NewAPIKey{Scopes: []string{service.ScopeBillingRead}})
	a, b := keyClient(app, secret), keyClient(other, secret)
	a.GET(path).Expect(200)
	b.GET(path).Expect(200) // both instances have it cached now
	app.LoginAs(super).POST(fmt.Sprintf("/api/admin/api-keys/%d/revoke", key.ID), nil).Expect(200)
	if code := b.GET(path).Expect(401).ErrorCode(); code != "invalid_api_key" {
		t.Fatalf("the other instance after the revocation: %s", code)
	}
	a.GET(path).Expect(401)

	// Revoked in the database by something that is no instance.
	secret2, key2 := newKey(t, app, super, service.NewAPIKey{Scopes: []string{service.ScopeBillingRead}})
	a, b = keyClient(app, secret2), keyClient(other, secret2)
	a.GET(path).Expect(200)
	b.GET(path).Expect(200)
	if _, err := app.Svc.DB.NewRaw("UPDATE api_keys SET revoked_at = ? WHERE id = ?", app.Clock.Now(), key2.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.GET(path).Expect(401)
	b.GET(path).Expect(401)

	// Expiry is checked on every request, cached or not.
	exp := app.Clock.Now().Add(time.Minute)
	secret3, _ := newKey(t, app, super, service.NewAPIKey{Scopes: []string{service.ScopeBillingRead}, ExpiresAt: &exp})
	c := keyClient(other, secret3)
	c.GET(path).Expect(200)
	app.Clock.Advance(time.Minute)
	c.GET(path).Expect(401)
}
