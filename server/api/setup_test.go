package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

func setupToken(t *testing.T, app *testkit.App) string {
	t.Helper()
	tok, err := app.Svc.Setup.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 32 {
		t.Fatalf("setup token %q: empty or too short on an empty database", tok)
	}
	return tok
}

func pending(t *testing.T, app *testkit.App) bool {
	t.Helper()
	var body struct {
		Pending bool `json:"pending"`
	}
	app.Client().GET("/api/setup/status").Expect(http.StatusOK).JSON(&body)
	return body.Pending
}

func userCount(t *testing.T, app *testkit.App) int {
	t.Helper()
	n, err := models.CountUsers(context.Background(), app.Svc.DB)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestSetupCreatesTheFirstSuperAdmin(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	if !pending(t, app) {
		t.Fatal("setup is not pending on an empty database")
	}
	token := setupToken(t, app)
	c := app.Client()
	good := map[string]string{"token": token, "username": "root", "password": "Vivid-Orbit-Tangerine-42", "email": "root@example.com", "displayName": "Root"}

	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	// Wrong token: 403, nothing created.
	for _, bad := range []string{"wrong", token + "x", token[:len(token)-1]} {
		expectError(t, c.POST("/api/setup", with("token", bad)), http.StatusForbidden, "setup_token_invalid")
	}
	// Missing fields: 422 naming every one.
	r := c.POST("/api/setup", map[string]string{})
	expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
	for _, f := range []string{"token", "username", "password"} {
		if r.Fields()[f] == "" {
			t.Errorf("missing %s not reported: %s", f, r.Body)
		}
	}
	// Weak, common and personal passwords: 422 on "password".
	for _, pw := range []string{"short", "password123", "Qwertyuiop", "root-root-root-1", "x"} {
		r := c.POST("/api/setup", with("password", pw))
		expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
		if r.Fields()["password"] == "" {
			t.Errorf("password %q: no password field error: %s", pw, r.Body)
		}
	}
	// Other field checks.
	for field, v := range map[string]string{"username": "a b", "email": "not-an-email"} {
		r := c.POST("/api/setup", with(field, v))
		expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
		if r.Fields()[field] == "" {
			t.Errorf("%s %q: no field error: %s", field, v, r.Body)
		}
	}
	if n := userCount(t, app); n != 0 || !pending(t, app) {
		t.Fatalf("refused attempts created %d accounts", n)
	}

	var body struct {
		User struct {
			PublicID    string `json:"publicId"`
			Username    string `json:"username"`
			Role        string `json:"role"`
			Status      string `json:"status"`
			DisplayName string `json:"displayName"`
			Email       string `json:"email"`
		} `json:"user"`
	}
	c.POST("/api/setup", good).Expect(http.StatusCreated).JSON(&body)
	if body.User.Role != models.RoleSuperAdmin || body.User.Status != models.StatusActive || body.User.Username != "root" || body.User.DisplayName != "Root" || body.User.Email != "root@example.com" {
		t.Fatalf("setup created %+v", body.User)
	}
	if pending(t, app) {
		t.Fatal("setup still pending after success")
	}
	// Setup signs the new administrator in (TestSetup_SignsInTheNewSuperAdmin);
	// signing in again works as for anyone.
	c.GET("/api/me").Expect(http.StatusOK)
	admin := app.LoginAs(&testkit.User{User: &models.User{Username: "root"}, Password: good["password"]})
	admin.GET("/api/admin/audit").Expect(http.StatusOK)

	// The token is spent: a second attempt, even with the same token, is 409.
	expectError(t, c.POST("/api/setup", with("username", "second")), http.StatusConflict, "setup_done")
	expectError(t, c.POST("/api/setup", with("token", "anything")), http.StatusConflict, "setup_done")
	if n := userCount(t, app); n != 1 {
		t.Fatalf("%d accounts after setup", n)
	}
	rows := auditRows(t, app, service.ActionSetupCompleted, body.User.PublicID)
	if len(rows) != 1 || rows[0].ActorPublicID != body.User.PublicID || rows[0].IP != "127.0.0.1" {
		t.Fatalf("setup.completed audit rows: %+v", rows)
	}
}

func TestSetupIsRefusedOnceAccountsExist(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	token := setupToken(t, app)
	app.SuperAdmin("alice") // e.g. created with "gatehouse admin create" meanwhile
	if pending(t, app) {
		t.Fatal("pending with an account in the database")
	}
	r := app.Client().POST("/api/setup", map[string]string{"token": token, "username": "mallory", "password": "Vivid-Orbit-Tangerine-42"})
	expectError(t, r, http.StatusConflict, "setup_done")
	if n := userCount(t, app); n != 1 {
		t.Fatalf("%d accounts", n)
	}
	if tok, _ := app.Svc.Setup.Begin(context.Background()); tok != "" {
		t.Fatal("Begin handed out a token although accounts exist")
	}
}

func TestSetupWithoutBeginIsRefused(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	// No token was ever issued: an empty or guessed token must not work.
	for _, tok := range []string{"", "x", "null"} {
		r := app.Client().POST("/api/setup", map[string]string{"token": tok, "username": "mallory", "password": "Vivid-Orbit-Tangerine-42"})
		if r.Status != http.StatusForbidden && r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("token %q: %d %s", tok, r.Status, r.Body)
		}
	}
	if n := userCount(t, app); n != 0 {
		t.Fatalf("%d accounts created without a token", n)
	}
}

func TestSetupTokenIsSingleUseUnderConcurrency(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	token := setupToken(t, app)
	const n = 10
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := app.Client().POST("/api/setup", map[string]string{"token": token, "username": fmt.Sprintf("admin%d", i), "password": "Vivid-Orbit-Tangerine-42"})
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("attempt %d: status %d", i, s)
		}
	}
	if created != 1 {
		t.Fatalf("%d setups succeeded, want exactly 1 (statuses %v)", created, statuses)
	}
	if c := userCount(t, app); c != 1 {
		t.Fatalf("%d accounts", c)
	}
	if rows := auditRows(t, app, service.ActionSetupCompleted, ""); len(rows) != 1 {
		t.Fatalf("%d setup.completed rows", len(rows))
	}
}

// TestSetup_SignsInTheNewSuperAdmin: completing setup starts a session the
// way sign-in does — a new session row (never the identifier the browser
// arrived with), the __Host- cookie over HTTPS, a login_succeeded audit
// entry — so the new super administrator lands in the console.
func TestSetup_SignsInTheNewSuperAdmin(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithBaseURL("https://gatehouse.test"))
	token := setupToken(t, app)
	c := app.Client()
	const stale = "left-over-from-an-earlier-install"
	c.Header.Set("Cookie", "__Host-"+cookieName+"="+stale)
	r := c.POST("/api/setup", map[string]string{"token": token, "username": "root", "password": "Vivid-Orbit-Tangerine-42", "email": "root@example.com"}).Expect(http.StatusCreated)
	var body struct {
		SignedIn bool `json:"signedIn"`
		User     struct {
			Username string `json:"username"`
			Role     string `json:"role"`
		} `json:"user"`
	}
	r.JSON(&body)
	if !body.SignedIn || body.User.Username != "root" || body.User.Role != "super_admin" {
		t.Fatalf("setup answer %s: want the super administrator, signed in", r.Body)
	}
	ck := r.SetCookie("__Host-" + cookieName)
	if ck == nil {
		t.Fatalf("no __Host- session cookie after setup; Set-Cookie: %v", r.Header.Values("Set-Cookie"))
	}
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.Value == stale {
		t.Fatalf("cookie attributes: Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q value reused=%v", ck.Secure, ck.HttpOnly, ck.SameSite, ck.Path, ck.Domain, ck.Value == stale)
	}
	me := app.Client()
	me.Header.Set("Cookie", ck.Name+"="+ck.Value)
	var who struct {
		Username string `json:"username"`
	}
	me.GET("/api/me").Expect(http.StatusOK).JSON(&who)
	if who.Username != "root" {
		t.Fatalf("the setup cookie signs in %q, want root", who.Username)
	}
	var sessions []models.Session
	if err := app.Svc.DB.NewSelect().Model(&sessions).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || sessions[0].Method != "password" {
		t.Fatalf("sessions after setup: %+v, want one password session", sessions)
	}
	n, err := app.Svc.DB.NewSelect().Table("audit_events").Where("action = ?", service.ActionLoginSucceeded).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d login_succeeded audit entries after setup, want 1", n)
	}
}

// The first super administrator's language is the one setup ran in (the
// console sends its own), so the administrator's emails follow it; en
// when absent, and a bad tag is a field error.
func TestSetup_KeepsTheLanguageOfTheSetupPage(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	token := setupToken(t, app)
	c := app.Client()
	body := map[string]string{"token": token, "username": "root", "password": "Vivid-Orbit-Tangerine-42", "language": "not a tag"}
	r := c.POST("/api/setup", body)
	expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if r.Fields()["language"] == "" {
		t.Fatalf("a bad language is not a field error: %s", r.Body)
	}
	body["language"] = "zh-CN"
	var created struct {
		User struct {
			Language string `json:"language"`
		} `json:"user"`
	}
	c.POST("/api/setup", body).Expect(http.StatusCreated).JSON(&created)
	if created.User.Language != "zh-CN" {
		t.Fatalf("setup in zh-CN made an account in %q", created.User.Language)
	}
}
