package api_test

import (
	"testing"
	"time"

	"gatehouse/server/testkit"
)

// TestAccountChanges_AddressChangeKeepsUpdatedAt: an administrator's
// change of an account's address (or only its verified mark) moves
// updated_at to the time of the change. The address is written by its
// own statement after the shared one; it once wrote the zero time.
func TestAccountChanges_AddressChangeKeepsUpdatedAt(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	c := app.LoginAs(root)
	bob := app.Member("bob")
	for _, body := range []map[string]any{
		{"emailVerified": true},
		{"email": "bob.new@example.com"},
		{"displayName": "Bob", "email": "bob.other@example.com", "emailVerified": true},
	} {
		app.Clock.Advance(time.Minute)
		c.PATCH("/api/admin/users/"+bob.PublicID, body).Expect(200)
		got := c.GET("/api/admin/users/" + bob.PublicID).Expect(200).Map()["user"].(map[string]any)["updatedAt"].(string)
		at, err := time.Parse(time.RFC3339Nano, got)
		if err != nil {
			t.Fatal(err)
		}
		if !at.Equal(app.Clock.Now()) {
			t.Fatalf("after PATCH %v: updatedAt %s, want %s", body, got, app.Clock.Now().Format(time.RFC3339Nano))
		}
	}
}
