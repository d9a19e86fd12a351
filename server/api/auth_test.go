package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

func TestLoginFailuresLookTheSame(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	bob := app.CreateUser(testkit.UserSpec{Username: "bob", Status: models.StatusSuspended})
	carol := app.CreateUser(testkit.UserSpec{Username: "carol", Status: models.StatusDeactivated})

	// A right password on an inactive account gets its state instead
	// (TestHardening_AccountStateAfterRightPassword); a wrong one does not.
	cases := map[string]map[string]string{
		"unknown user":          {"identifier": "nobody", "password": "whatever-password"},
		"unknown email":         {"identifier": "nobody@example.com", "password": "whatever-password"},
		"wrong password":        {"identifier": "alice", "password": "wrong-password-1"},
		"suspended, wrong pw":   {"identifier": "bob", "password": bob.Password + "x"},
		"deactivated, wrong pw": {"identifier": "carol", "password": carol.Password + "x"},
	}
	var first *testkit.Response
	for name, body := range cases {
		r := app.Client().POST("/api/auth/login", body).Expect(http.StatusUnauthorized)
		if r.ErrorCode() != "invalid_credentials" {
			t.Errorf("%s: code %q", name, r.ErrorCode())
		}
		if first == nil {
			first = r
		} else if string(r.Body) != string(first.Body) {
			t.Errorf("%s: body %s differs from %s", name, r.Body, first.Body)
		}
		if r.SetCookie("gatehouse_session") != nil {
			t.Errorf("%s: a session cookie was set", name)
		}
	}
	app.LoginAs(alice)
}

func TestLoginByEmailCaseInsensitive(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.Client()
	r := c.POST("/api/auth/login", map[string]string{"identifier": "ALICE@Example.com", "password": alice.Password}).Expect(200)
	var body struct {
		User struct{ Username string } `json:"user"`
	}
	r.JSON(&body)
	if body.User.Username != "alice" {
		t.Fatalf("signed in as %q", body.User.Username)
	}
	c.GET("/api/me").Expect(200)
}

func TestLockoutParallelGuesses(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app.Client().POST("/api/auth/login", map[string]string{"identifier": "alice", "password": "wrong-guess-123"}).Expect(401)
		}()
	}
	wg.Wait()
	var wrong, locked int
	var rows []models.AuditEvent
	if err := app.Svc.DB.NewSelect().Model(&rows).Where("action = ?", "auth.login_failed").Where("target_public_id = ?", alice.PublicID).Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		switch {
		case strings.Contains(r.Details, `"wrong_password"`):
			wrong++
		case strings.Contains(r.Details, `"locked"`):
			locked++
		}
	}
	if wrong != 10 || locked != 40 {
		t.Fatalf("verified %d wrong passwords and refused %d as locked; want 10 and 40", wrong, locked)
	}
	// The right password during the lock gets the same answer.
	r := app.Client().POST("/api/auth/login", map[string]string{"identifier": "alice", "password": alice.Password}).Expect(401)
	if r.ErrorCode() != "invalid_credentials" {
		t.Fatal(r.ErrorCode())
	}
	// The lock expires.
	app.Clock.Advance(16 * time.Minute)
	app.LoginAs(alice)
}
