package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/security"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

type meBody struct {
	PublicID    string         `json:"publicId"`
	Username    string         `json:"username"`
	DisplayName string         `json:"displayName"`
	Phone       string         `json:"phone"`
	Language    string         `json:"language"`
	Timezone    string         `json:"timezone"`
	Preferences map[string]any `json:"preferences"`
	Role        string         `json:"role"`
	Status      string         `json:"status"`
	Balance     int64          `json:"balance"`
	HasPassword bool           `json:"hasPassword"`
}

func TestGetMe(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Admin("alice")
	var me meBody
	app.LoginAs(alice).GET("/api/me").Expect(http.StatusOK).JSON(&me)
	if me.PublicID != alice.PublicID || me.Username != "alice" || me.Role != models.RoleAdmin || me.Status != models.StatusActive ||
		me.Language != "en" || me.Timezone != "UTC" || me.Preferences == nil || !me.HasPassword {
		t.Fatalf("GET /api/me = %+v", me)
	}
	expectError(t, app.Client().GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
}

func TestUpdateMe(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	app.Clock.Advance(time.Hour)
	patch := map[string]any{
		"displayName": "  Alice Liddell  ",
		"phone":       "+49 (30) 123-456",
		"language":    "zh-CN",
		"timezone":    "Asia/Kathmandu",
		"preferences": map[string]any{"theme": "dark", "pageSize": 50, "nested": map[string]any{"a": []any{1, "b"}}},
	}
	var me meBody
	c.PATCH("/api/me", patch).Expect(http.StatusOK).JSON(&me)
	if me.DisplayName != "Alice Liddell" || me.Phone != "+49 (30) 123-456" || me.Language != "zh-CN" || me.Timezone != "Asia/Kathmandu" || me.Preferences["theme"] != "dark" {
		t.Fatalf("answer after PATCH: %+v", me)
	}
	row := app.Reload(alice)
	if row.DisplayName != "Alice Liddell" || row.Phone != "+49 (30) 123-456" || row.Language != "zh-CN" || row.Timezone != "Asia/Kathmandu" {
		t.Fatalf("row after PATCH: %+v", row)
	}
	var prefs map[string]any
	if err := json.Unmarshal([]byte(row.Preferences), &prefs); err != nil || prefs["pageSize"] != float64(50) {
		t.Fatalf("stored preferences %q", row.Preferences)
	}
	if !row.UpdatedAt.Equal(app.Clock.Now()) {
		t.Fatalf("updated_at %v, want %v", row.UpdatedAt, app.Clock.Now())
	}
	rows := auditRows(t, app, service.ActionProfileUpdated, alice.PublicID)
	if len(rows) != 1 || rows[0].ActorPublicID != alice.PublicID {
		t.Fatalf("profile audit rows %+v", rows)
	}
	d := details(t, rows[0])
	before, _ := d["before"].(map[string]any)
	after, _ := d["after"].(map[string]any)
	if before["displayName"] != "alice" || after["displayName"] != "Alice Liddell" || before["timezone"] != "UTC" || after["timezone"] != "Asia/Kathmandu" ||
		before["language"] != "en" || after["language"] != "zh-CN" || after["phone"] != "+49 (30) 123-456" || after["preferences"] == nil {
		t.Fatalf("audit details %s", rows[0].Details)
	}

	// A partial patch leaves the other fields alone and records only what changed.
	c.PATCH("/api/me", map[string]any{"phone": "112", "timezone": "Asia/Kathmandu"}).Expect(http.StatusOK).JSON(&me)
	if me.Phone != "112" || me.DisplayName != "Alice Liddell" || me.Language != "zh-CN" || me.Preferences["theme"] != "dark" {
		t.Fatalf("after partial patch: %+v", me)
	}
	rows = auditRows(t, app, service.ActionProfileUpdated, alice.PublicID)
	if len(rows) != 2 {
		t.Fatalf("%d profile audit rows", len(rows))
	}
	if after, _ := details(t, rows[1])["after"].(map[string]any); len(after) != 1 || after["phone"] != "112" {
		t.Fatalf("second audit row records %s", rows[1].Details)
	}
	// A patch that changes nothing writes no audit row; null means unchanged.
	c.PATCH("/api/me", map[string]any{}).Expect(http.StatusOK)
	c.PATCH("/api/me", map[string]any{"phone": "112", "displayName": nil}).Expect(http.StatusOK)
	if n := len(auditRows(t, app, service.ActionProfileUpdated, alice.PublicID)); n != 2 {
		t.Fatalf("no-op patches wrote audit rows (%d)", n)
	}
	// Preferences are replaced as a whole, and can be emptied.
	var emptied meBody
	c.PATCH("/api/me", map[string]any{"preferences": map[string]any{}}).Expect(http.StatusOK).JSON(&emptied)
	if emptied.Preferences == nil || len(emptied.Preferences) != 0 || app.Reload(alice).Preferences != "{}" {
		t.Fatalf("preferences after emptying: %v", emptied.Preferences)
	}
}

func TestUpdateMeRefusesProtectedFields(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	before := app.Reload(alice)
	audits := auditCount(t, app)
	for _, body := range []map[string]any{
		{"role": "super_admin"},
		{"status": "suspended"},
		{"balance": 5},
		{"displayName": "Sneaky", "role": "admin"},
		{"Role": "super_admin"},
		{"publicId": "aaaaaaaaaaaaaaaa"},
		{"username": "root"},
		{"email": "root@example.com"},
		{"emailVerified": true},
		{"passwordHash": "$argon2id$v=19$m=64,t=1,p=1$AAAA$AAAA"},
		{"lockedUntil": nil},
		{"mustChangePassword": true},
		{"subscription": map[string]any{"planId": 1}},
	} {
		r := c.PATCH("/api/me", body)
		expectError(t, r, http.StatusBadRequest, "unknown_field")
		if len(r.Fields()) != 1 {
			t.Errorf("%v: fields %v, want the refused field named", body, r.Fields())
		}
	}
	after := app.Reload(alice)
	if after.Role != before.Role || after.Status != before.Status || after.Balance != before.Balance || after.DisplayName != before.DisplayName ||
		after.Username != before.Username || *after.Email != *before.Email || !after.UpdatedAt.Equal(before.UpdatedAt) || after.PublicID != before.PublicID {
		t.Fatalf("row changed: before %+v after %+v", before, after)
	}
	if n := auditCount(t, app); n != audits {
		t.Fatalf("refused patches wrote %d audit rows", n-audits)
	}
	var me meBody
	c.GET("/api/me").Expect(http.StatusOK).JSON(&me)
	if me.Role != models.RoleUser {
		t.Fatalf("role is %s", me.Role)
	}
}

func TestUpdateMeValidation(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	before := app.Reload(alice)
	big := map[string]any{"blob": strings.Repeat("x", 8*1024)}
	cases := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"timezone": "Mars/Olympus_Mons"}, "timezone"},
		{map[string]any{"timezone": "Local"}, "timezone"},
		{map[string]any{"timezone": ""}, "timezone"},
		{map[string]any{"timezone": "../../../../etc/passwd"}, "timezone"},
		{map[string]any{"language": "not a language!!"}, "language"},
		{map[string]any{"language": ""}, "language"},
		{map[string]any{"language": strings.Repeat("a", 40)}, "language"},
		{map[string]any{"displayName": ""}, "displayName"},
		{map[string]any{"displayName": "   "}, "displayName"},
		{map[string]any{"displayName": "two\nlines"}, "displayName"},
		{map[string]any{"displayName": strings.Repeat("é", 201)}, "displayName"},
		{map[string]any{"phone": "call me maybe"}, "phone"},
		{map[string]any{"phone": strings.Repeat("1", 41)}, "phone"},
		{map[string]any{"preferences": big}, "preferences"},
	}
	for _, tc := range cases {
		r := c.PATCH("/api/me", tc.body)
		expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
		if r.Fields()[tc.field] == "" {
			t.Errorf("%v: no %s field error: %s", tc.body, tc.field, r.Body)
		}
	}
	// Every bad field is reported at once, and nothing is half-applied.
	r := c.PATCH("/api/me", map[string]any{"timezone": "Nowhere/City", "language": "!!", "phone": "abc", "displayName": "Fine Name"})
	expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
	for _, f := range []string{"timezone", "language", "phone"} {
		if r.Fields()[f] == "" {
			t.Errorf("combined patch: %s not reported: %s", f, r.Body)
		}
	}
	// Preferences must be an object.
	for _, v := range []any{[]any{1, 2}, "dark", 5, true} {
		r := c.PATCH("/api/me", map[string]any{"preferences": v})
		expectError(t, r, http.StatusBadRequest, "invalid_type")
		if r.Fields()["preferences"] == "" {
			t.Errorf("preferences %v: %s", v, r.Body)
		}
	}
	after := app.Reload(alice)
	if after.DisplayName != before.DisplayName || after.Timezone != before.Timezone || after.Language != before.Language || after.Phone != before.Phone || after.Preferences != before.Preferences {
		t.Fatalf("refused patches changed the row: %+v", after)
	}
	// Just under the preferences limit is fine.
	c.PATCH("/api/me", map[string]any{"preferences": map[string]any{"blob": strings.Repeat("x", 8*1024-20)}}).Expect(http.StatusOK)
}

func changePassword(c *testkit.Client, current, next string) *testkit.Response {
	return c.POST("/api/me/password", map[string]string{"currentPassword": current, "newPassword": next})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	bob := app.Member("bob")
	laptop := app.LoginAs(alice)
	phone := app.LoginAs(alice)
	phoneToken, _ := issueToken(t, phone)
	laptopToken, _ := issueToken(t, laptop)
	bobClient := app.LoginAs(bob)
	oldHash := *app.Reload(alice).PasswordHash

	r := changePassword(laptop, "wrong-current-pass", "Brand-New-Passphrase-7")
	expectError(t, r, http.StatusUnprocessableEntity, "wrong_password")
	if r.Fields()["currentPassword"] == "" {
		t.Fatalf("wrong current password: %s", r.Body)
	}
	for _, weak := range []string{"short", "password123", "alice-is-my-name", alice.Password} {
		r := changePassword(laptop, alice.Password, weak)
		expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
		if r.Fields()["newPassword"] == "" {
			t.Errorf("new password %q: %s", weak, r.Body)
		}
	}
	r = laptop.POST("/api/me/password", map[string]string{})
	expectError(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if r.Fields()["currentPassword"] == "" || r.Fields()["newPassword"] == "" {
		t.Fatalf("empty body: %s", r.Body)
	}
	if *app.Reload(alice).PasswordHash != oldHash || sessionCount(t, app, alice.ID) != 2 {
		t.Fatal("a refused change touched the password or the sessions")
	}

	next := long128Password
	changePassword(laptop, alice.Password, next).Expect(http.StatusNoContent)

	laptop.GET("/api/me").Expect(http.StatusOK)
	bearer(app, laptopToken).GET("/api/me").Expect(http.StatusOK)
	expectError(t, phone.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	expectError(t, bearer(app, phoneToken).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	bobClient.GET("/api/me").Expect(http.StatusOK)
	if n := sessionCount(t, app, alice.ID); n != 1 {
		t.Fatalf("%d sessions after the change", n)
	}

	expectError(t, app.Client().POST("/api/auth/login", creds("alice", alice.Password)), http.StatusUnauthorized, "invalid_credentials")
	app.Client().POST("/api/auth/login", creds("alice", next)).Expect(http.StatusOK)

	row := app.Reload(alice)
	if row.PasswordChangedAt == nil || !row.PasswordChangedAt.Equal(app.Clock.Now()) {
		t.Fatalf("password_changed_at %v", row.PasswordChangedAt)
	}
	rows := auditRows(t, app, service.ActionPasswordChanged, alice.PublicID)
	if len(rows) != 1 || details(t, rows[0])["otherSessionsEnded"] != float64(1) {
		t.Fatalf("password audit rows %+v", rows)
	}
	if strings.Contains(rows[0].Details, "Passphrase") || strings.Contains(rows[0].Details, "argon2") {
		t.Fatalf("audit row holds a secret: %s", rows[0].Details)
	}
}

// long128Password is 128 characters with multi-byte runes and spaces.
var long128Password = string([]rune(strings.Repeat(" pâss wörd 密码", 10))[:127]) + " "

func TestLongUnicodePasswordEndToEnd(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.CreateUser(testkit.UserSpec{Username: "alice", Password: long128Password})
	app.LoginAs(alice).GET("/api/me").Expect(http.StatusOK)
	for _, wrong := range []string{string([]rune(long128Password)[:127]), strings.TrimSpace(long128Password)} {
		expectError(t, app.Client().POST("/api/auth/login", creds("alice", wrong)), http.StatusUnauthorized, "invalid_credentials")
	}
}

func TestMySessions(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	bob := app.Member("bob")
	laptop := app.LoginAs(alice)
	phone := app.LoginAs(alice)
	tablet := app.LoginAs(alice)
	bobClient := app.LoginAs(bob)

	list := mySessions(laptop)
	if len(list) != 3 {
		t.Fatalf("%d sessions listed", len(list))
	}
	current := 0
	for _, s := range list {
		if s.Current {
			current++
		}
		if s.IP != "127.0.0.1" || s.Method != "password" || s.ID == "" {
			t.Errorf("session %+v", s)
		}
	}
	if current != 1 {
		t.Fatalf("%d sessions marked current", current)
	}
	laptopID, phoneID, bobID := currentSessionID(t, laptop), currentSessionID(t, phone), currentSessionID(t, bobClient)
	if laptopID == phoneID {
		t.Fatal("two devices share a session ID")
	}
	for _, s := range mySessions(bobClient) {
		if s.ID == laptopID || s.ID == phoneID {
			t.Fatal("bob sees alice's sessions")
		}
	}

	// Another user's session, or one that does not exist, is not found.
	expectError(t, laptop.DELETE("/api/me/sessions/"+bobID), http.StatusNotFound, "not_found")
	expectError(t, laptop.DELETE("/api/me/sessions/no-such-session"), http.StatusNotFound, "not_found")
	bobClient.GET("/api/me").Expect(http.StatusOK)

	// Ending one other device.
	laptop.DELETE("/api/me/sessions/" + phoneID).Expect(http.StatusNoContent)
	expectError(t, phone.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	laptop.GET("/api/me").Expect(http.StatusOK)
	if rows := auditRows(t, app, service.ActionSessionRevoked, alice.PublicID); len(rows) != 1 || details(t, rows[0])["sessionId"] != phoneID {
		t.Fatalf("session.revoked rows %+v", rows)
	}

	// Signing out every other device.
	app.LoginAs(alice)
	var out struct {
		Revoked int `json:"revoked"`
	}
	laptop.DELETE("/api/me/sessions").Expect(http.StatusOK).JSON(&out)
	if out.Revoked != 2 {
		t.Fatalf("revoked %d, want 2", out.Revoked)
	}
	expectError(t, tablet.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	laptop.GET("/api/me").Expect(http.StatusOK)
	bobClient.GET("/api/me").Expect(http.StatusOK)
	if list := mySessions(laptop); len(list) != 1 || !list[0].Current {
		t.Fatalf("sessions left: %+v", list)
	}
	if len(auditRows(t, app, service.ActionSessionsRevoked, alice.PublicID)) != 1 {
		t.Fatal("no session.revoked_others audit row")
	}
	laptop.DELETE("/api/me/sessions").Expect(http.StatusOK).JSON(&out)
	if out.Revoked != 0 {
		t.Fatalf("revoked %d with no other sessions", out.Revoked)
	}

	// Ending the current session signs this browser out.
	r := laptop.DELETE("/api/me/sessions/" + laptopID).Expect(http.StatusNoContent)
	if ck := r.SetCookie(cookieName); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("the cookie was not cleared: %v", r.Header.Values("Set-Cookie"))
	}
	expectError(t, laptop.GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
}

func TestSessionIDIsNotACredential(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	id := currentSessionID(t, c)
	expectError(t, replay(app, id).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	expectError(t, bearer(app, id).GET("/api/me"), http.StatusUnauthorized, "unauthenticated")
	var s models.Session
	if err := app.Svc.DB.NewSelect().Model(&s).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.TokenHash == security.HashToken(id) {
		t.Fatal("the session ID is the token")
	}
}
