package api_test

import (
	"testing"

	"gatehouse/server/testkit"
)

func TestSignInHistory_OwnAndInTheEditor(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	alice := app.Member("alice")
	anon := app.Client()
	anon.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36")
	anon.POST("/api/auth/login", map[string]string{"identifier": "alice", "password": "wrong-password-1"}).Expect(401)
	c := app.LoginAs(alice)
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, c, auth, alice.Password, "Key")
	passwordless(t, app.Client(), auth).Expect(200)

	var list struct {
		Items []map[string]any `json:"items"`
	}
	c = app.Client()
	passwordless(t, c, auth).Expect(200)
	c.GET("/api/me/sign-ins").Expect(200).JSON(&list)
	if len(list.Items) != 4 {
		t.Fatalf("%d entries: %v", len(list.Items), list.Items)
	}
	newest, oldest := list.Items[0], list.Items[3]
	if newest["succeeded"] != true || newest["method"] != "passkey" {
		t.Fatalf("newest: %v", newest)
	}
	if oldest["succeeded"] != false || oldest["method"] != "password" || oldest["reason"] != "wrong_password" || oldest["userAgent"] == "" {
		t.Fatalf("oldest: %v", oldest)
	}
	var other struct {
		Items []map[string]any `json:"items"`
	}
	app.LoginAs(root).GET("/api/admin/users/" + alice.PublicID + "/sign-ins").Expect(200).JSON(&other)
	if len(other.Items) != 4 {
		t.Fatalf("editor: %d entries", len(other.Items))
	}
	app.LoginAs(root).GET("/api/admin/users/nosuch/sign-ins").Expect(404)
}
